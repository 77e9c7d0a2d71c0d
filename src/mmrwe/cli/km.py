"""``mmrwe km FILE --time COL --event COL ...``: Kaplan–Meier on any CSV/Parquet table.

Contract: ``docs/cli.md`` (JSON schema included). Estimates follow R's ``survfit``,
``quantile.survfit``, ``print(fit, rmean=)`` and ``survdiff``; the confidence-interval type is
stated with every result; undefined values are ``null`` in JSON and NR/NE on screen.
"""

from __future__ import annotations

import json
import math
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import typer
from rich.table import Table

from mmrwe.cli.app import app
from mmrwe.cli.common import info, stdout, warn
from mmrwe.errors import InvalidDataError


class ConfTypeChoice(StrEnum):
    """``--conf-type`` values (mmrwe.stats.CONF_TYPES)."""

    log = "log"
    log_log = "log-log"
    plain = "plain"


def read_table(path: Path) -> pl.DataFrame:
    """A CSV or Parquet file as a Polars table (by extension; CSV otherwise)."""
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pl.read_parquet(path)
        return pl.read_csv(path, infer_schema_length=None)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InvalidDataError(
            f"Could not read '{path}' as {'Parquet' if path.suffix == '.parquet' else 'CSV'}: "
            f"{exc}. Give a CSV file with a header row or a Parquet file."
        ) from exc


def _column(df: pl.DataFrame, name: str | None, option: str, path: Path) -> pl.Series | None:
    if name is None:
        return None
    if name not in df.columns:
        raise InvalidDataError(
            f"Column '{name}' (given to {option}) is not in '{path}'. "
            f"Its columns are: {', '.join(df.columns)}."
        )
    return df[name]


def _conf_level(value: float) -> float:
    if not 0 < value < 1:
        raise typer.BadParameter(f"must be strictly between 0 and 1, e.g. 0.95 (got {value}).")
    return value


def _times(value: str | None) -> list[float] | None:
    if value is None:
        return None
    try:
        times = [float(v) for v in value.split(",") if v.strip()]
    except ValueError:
        msg = f"give times as numbers separated by commas (got {value!r})."
        raise typer.BadParameter(msg) from None
    if not times or any(not math.isfinite(t) or t < 0 for t in times):
        raise typer.BadParameter(f"times must be finite numbers >= 0 (got {value!r}).")
    return times


def _fmt(x: Any, missing: str = "NE", digits: int = 4) -> str:
    if x is None:
        return missing
    return f"{x:.{digits}g}" if isinstance(x, float) and x != round(x) else f"{x:g}"


def _label(g: dict[str, Any]) -> str:
    return "all" if g["group"] is None else str(g["group"])


def _quantile_cell(q: dict[str, Any]) -> str:
    return f"{_fmt(q['estimate'], 'NR')} ({_fmt(q['lower'])}–{_fmt(q['upper'])})"


def _print(doc: dict[str, Any], by: str | None) -> None:
    """The document as R prints it: quantiles with limits, S(t), RMST, survdiff, coxph."""
    ci = f"{doc['conf_level']:.0%} CI, {doc['conf_type']}"
    head = by or "group"
    table = Table(
        title=f"Kaplan–Meier quantiles ({ci}; R: quantile(fit)); NR = not reached, "
        "NE = not estimable"
    )
    for col in (head, "n", "events", "25th pct", "median", "75th pct"):
        table.add_column(col, justify="left" if col == head else "right")
    for g in doc["groups"]:
        q = g["quantiles"]
        cells = [_quantile_cell(q[p]) for p in ("0.25", "0.5", "0.75")]
        table.add_row(_label(g), str(g["n"]), str(g["events"]), *cells)
    stdout.print(table)
    if "at_times" in doc["groups"][0]:
        _print_times(doc, head, ci)
    if "rmst" in doc["groups"][0]:
        _print_rmst(doc, head)
    if "logrank" in doc:
        _print_logrank(doc["logrank"], head)
    if "cox" in doc:
        _print_cox(doc["cox"], head, doc["conf_level"])


def _print_times(doc: dict[str, Any], head: str, ci: str) -> None:
    table = Table(
        title=f"Survival at times ({ci}; R: summary(fit, times=)); events and censorings since "
        "the previous time; std. error of S(t) by Greenwood"
    )
    for col in (head, "time", "at risk", "events", "censored", "survival", ci, "std err"):
        table.add_column(col, justify="left" if col == head else "right")
    for g in doc["groups"]:
        for r in g["at_times"]:
            table.add_row(
                _label(g),
                _fmt(r["time"]),
                str(r["n_risk"]),
                str(r["n_event"]),
                str(r["n_censor"]),
                _fmt(r["surv"]),
                f"{_fmt(r['lower'])}–{_fmt(r['upper'])}",
                _fmt(r["std_err"]),
            )
    stdout.print(table)


def _print_rmst(doc: dict[str, Any], head: str) -> None:
    table = Table(title="Restricted mean survival time (R: print(fit, rmean = tau))")
    for col in (head, "tau", "RMST", "std err"):
        table.add_column(col, justify="left" if col == head else "right")
    for g in doc["groups"]:
        r = g["rmst"]
        table.add_row(_label(g), _fmt(r["tau"]), _fmt(r["estimate"], digits=6), _fmt(r["std_err"]))
    stdout.print(table)


def _print_logrank(lr: dict[str, Any], head: str) -> None:
    strata = f", stratified by {lr['strata']}" if lr.get("strata") else ""
    table = Table(title=f"Log-rank test (R: survdiff{strata})")
    for col in (head, "N", "Observed", "Expected", "(O-E)^2/E", "(O-E)^2/V"):
        table.add_column(col, justify="left" if col == head else "right")
    for g in lr["groups"]:
        table.add_row(
            _label(g),
            str(g["n"]),
            _fmt(g["observed"]),
            _fmt(g["expected"], digits=5),
            _fmt(g["oe2_e"], digits=3),
            _fmt(g["oe2_v"], digits=3),
        )
    stdout.print(table)
    p = "NE" if lr["p"] is None else f"{lr['p']:.4g}"
    chisq = "NE (singular variance)" if lr["chisq"] is None else f"{lr['chisq']:.4f}"
    stdout.print(f"Log-rank test: chi-square {chisq} on {lr['df']} df, p = {p}")


def _print_cox(cox: dict[str, Any], head: str, level: float) -> None:
    table = Table(
        title=f"Cox model (R: summary(coxph), {cox['ties']} ties); hazard ratio against "
        f"{head} = {cox['reference']}"
    )
    for col in (head, "coef", "se(coef)", "HR", f"{level:.0%} CI", "z", "p"):
        table.add_column(col, justify="left" if col == head else "right")
    for t in cox["terms"]:
        table.add_row(
            _label(t),
            _fmt(t["coef"]),
            _fmt(t["se"]),
            _fmt(t["hr"]),
            f"{_fmt(t['lower'])}–{_fmt(t['upper'])}",
            _fmt(t["z"], digits=3),
            _fmt(t["p"], digits=3),
        )
    stdout.print(table)
    names = {"likelihood_ratio": "Likelihood ratio test", "wald": "Wald test",
             "score": "Score (logrank) test"}  # fmt: skip
    for key, name in names.items():
        t = cox["tests"][key]
        stdout.print(
            f"{name} = {_fmt(t['statistic'])} on {t['df']} df, p = {_fmt(t['p'], digits=4)}"
        )


class TimeUnit(StrEnum):
    """``--time-unit`` values: the unit of the time column (labels the figure's axis)."""

    days = "days"
    months = "months"
    years = "years"


#: above this share of rows marked as events, an event column is checked against CNSR
MOST_ROWS_EVENTS = 0.9


def event_coding_warnings(df: pl.DataFrame, event: str | None, events: np.ndarray) -> list[str]:
    """Warnings when the ``--event`` column looks like a censoring flag: it is named CNSR (ADaM:
    1 = censored), or it marks more than 90 % of rows as events while the table's CNSR column
    censors more than 10 %."""
    if event is None:
        return []
    n, n_events = events.size, int(events.sum())
    if event.upper() == "CNSR":
        return [
            f"'{event}' is the ADaM censoring flag (1 = censored), but --event counts its 1s as "
            f"events ({n_events} of {n} rows). Use --censor {event}."
        ]
    cnsr = next((c for c in df.columns if c.upper() == "CNSR"), None)
    if cnsr is None or n == 0 or n_events <= MOST_ROWS_EVENTS * n:
        return []
    from mmrwe.stats.km_analysis import check_censoring

    try:
        censored = int(check_censoring(df[cnsr]).sum())
    except InvalidDataError:
        return []
    if n - censored > MOST_ROWS_EVENTS * n:
        return []
    return [
        f"'{event}' marks {n_events} of {n} rows ({100 * n_events / n:.0f} %) as events"
        f" while the table's {cnsr} column (ADaM: 1 = censored) censors {censored} rows. "
        f"If {cnsr} is the censoring flag, use --censor {cnsr} instead of --event {event}."
    ]


@app.command("km")
def km_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or Parquet table."),
    time: str = typer.Option(..., "--time", help="Column of times to event or censoring."),
    event: str | None = typer.Option(
        None, "--event", help="Column of event codes: 1 = event, 0 = censored (or true/false)."
    ),
    censor: str | None = typer.Option(
        None,
        "--censor",
        help="Column of censoring codes instead of --event: 1 = censored, 0 = event (ADaM CNSR; "
        "any positive integer = censored).",
    ),
    entry: str | None = typer.Option(None, "--entry", help="Column of delayed-entry times."),
    by: str | None = typer.Option(
        None,
        "--by",
        help="Column of groups: one curve each, the log-rank test and the Cox hazard ratios "
        "against the first group.",
    ),
    strata: str | None = typer.Option(
        None,
        "--strata",
        help="Column of strata for a stratified log-rank test (R: survdiff(... + strata(s))).",
    ),
    conf_type: ConfTypeChoice = typer.Option(
        ConfTypeChoice.log,
        "--conf-type",
        help="Confidence-interval scale: log (R default), log-log (SAS default) or plain.",
    ),
    conf_level: float = typer.Option(
        0.95, "--conf-level", callback=_conf_level, help="Confidence level, between 0 and 1."
    ),
    times: str | None = typer.Option(None, "--times", help="Times for S(t), e.g. 365,730."),
    tau: float | None = typer.Option(None, "--tau", min=0, help="Horizon of the RMST."),
    time_unit: TimeUnit = typer.Option(
        TimeUnit.days, "--time-unit", help="Unit of the time column, for the figure's axis."
    ),
    json_out: Path | None = typer.Option(None, "--json", help="Write the results as JSON."),
    plot: Path | None = typer.Option(None, "--plot", help="Write the figure (PNG, or SVG)."),
) -> None:
    """Kaplan–Meier curves, quantiles, survival at times, RMST and log-rank, as R's survival."""
    from mmrwe.stats import CONF_TYPES
    from mmrwe.stats.km_analysis import KaplanMeierAnalysis, SurvivalColumns

    assert {c.value for c in ConfTypeChoice} == set(CONF_TYPES)
    if (event is None) == (censor is None):
        raise typer.BadParameter(
            "give either --event COLUMN (1 = event) or --censor COLUMN (1 = censored, as ADaM's "
            "CNSR), not both or neither.",
            param_hint="--event / --censor",
        )
    at = _times(times)
    if tau is not None and tau <= 0:
        raise typer.BadParameter("must be > 0.", param_hint="--tau")
    df = read_table(file)
    status = (
        _column(df, event, "--event", file)
        if event is not None
        else _column(df, censor, "--censor", file)
    )
    assert status is not None
    data = SurvivalColumns.check(
        _column(df, time, "--time", file),  # type: ignore[arg-type]
        status,
        status_is_censoring=censor is not None,
        entry=_column(df, entry, "--entry", file),
        group=_column(df, by, "--by", file),
        strata=_column(df, strata, "--strata", file),
    )
    if event is not None:
        from mmrwe.stats._input import check_events

        for message in event_coding_warnings(df, event, check_events(status, status.name)):
            warn(message)
    if strata is not None and by is None:
        raise typer.BadParameter("a stratified test compares groups: give --by too.")
    if data.dropped_missing_group:
        missing = " or ".join(f"'{c}'" for c in (by, strata) if c is not None)
        info(f"{data.dropped_missing_group} rows with a missing {missing} were dropped.")
    analysis = KaplanMeierAnalysis.fit(data, conf_type=conf_type.value, conf_level=conf_level)
    _say_omitted(analysis, by)
    doc = analysis.document(at, tau)
    _print(doc, by)
    if json_out is not None:
        json_out.write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n")
        info(f"JSON written to {json_out}")
    if plot is not None:
        ci = f"{conf_level:.0%} CI, {conf_type.value}"
        _plot(analysis, float(data.time.max()), by, ci, time_unit, plot)


def _say_omitted(analysis: Any, by: str | None) -> None:
    """Why the log-rank test or the Cox model is absent."""
    if analysis.logrank_omitted:
        warn(
            f"the log-rank test is omitted with --entry ({analysis.logrank_omitted}). "
            "Drop --entry to get it."
        )
    if analysis.cox_omitted and by is not None:
        info(f"no Cox model: {analysis.cox_omitted}.")


def _plot(
    analysis: Any, last_time: float, by: str | None, ci: str, time_unit: TimeUnit, path: Path
) -> None:
    """The Kaplan–Meier figure with its numbers at risk (private by default)."""
    from mmrwe.report.figures import plot_km, risk_table_times

    km = analysis.km
    ticks = risk_table_times(last_time)
    plot_km(
        km.table_, km.at_times(ticks), by=by, conf_label=ci, time_unit=time_unit.value, path=path
    )
    info(f"Figure written to {path}")
