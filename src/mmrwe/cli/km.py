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


def _print(doc: dict[str, Any], by: str | None) -> None:
    ci = f"{doc['conf_level']:.0%} CI, {doc['conf_type']}"
    head = by or "group"
    table = Table(title=f"Kaplan–Meier ({ci}); NR = not reached, NE = not estimable")
    for col in (head, "n", "events", f"median ({ci})", "25th pct", "75th pct"):
        table.add_column(col, justify="left" if col == head else "right")
    for g in doc["groups"]:
        m, q = g["median"], g["quantiles"]
        table.add_row(
            "all" if g["group"] is None else str(g["group"]),
            str(g["n"]),
            str(g["events"]),
            f"{_fmt(m['estimate'], 'NR')} ({_fmt(m['lower'])}–{_fmt(m['upper'])})",
            _fmt(q["0.25"]["estimate"], "NR"),
            _fmt(q["0.75"]["estimate"], "NR"),
        )
    stdout.print(table)
    if "at_times" in doc["groups"][0]:
        table = Table(title=f"Survival at times ({ci}); std. error of S(t) by Greenwood")
        for col in (head, "time", "survival", ci, "std err", "at risk"):
            table.add_column(col, justify="left" if col == head else "right")
        for g in doc["groups"]:
            for r in g["at_times"]:
                table.add_row(
                    "all" if g["group"] is None else str(g["group"]),
                    _fmt(r["time"]),
                    _fmt(r["surv"]),
                    f"{_fmt(r['lower'])}–{_fmt(r['upper'])}",
                    _fmt(r["std_err"]),
                    str(r["n_risk"]),
                )
        stdout.print(table)
    if "rmst" in doc["groups"][0]:
        table = Table(title="Restricted mean survival time (R: print(fit, rmean = tau))")
        for col in (head, "tau", "RMST", "std err"):
            table.add_column(col, justify="left" if col == head else "right")
        for g in doc["groups"]:
            r = g["rmst"]
            table.add_row(
                "all" if g["group"] is None else str(g["group"]),
                _fmt(r["tau"]),
                _fmt(r["estimate"], digits=6),
                _fmt(r["std_err"]),
            )
        stdout.print(table)
    if "logrank" in doc:
        lr = doc["logrank"]
        p = "NE" if lr["p"] is None else f"{lr['p']:.4g}"
        chisq = "NE (singular variance)" if lr["chisq"] is None else f"{lr['chisq']:.4f}"
        stdout.print(f"Log-rank test: chi-square {chisq} on {lr['df']} df, p = {p}")


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
    by: str | None = typer.Option(None, "--by", help="Column of groups (one curve each)."),
    conf_type: ConfTypeChoice = typer.Option(
        ConfTypeChoice.log,
        "--conf-type",
        help="Confidence-interval scale: log (R default), log-log (SAS default) or plain.",
    ),
    conf_level: float = typer.Option(0.95, "--conf-level", callback=_conf_level),
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
    )
    if event is not None:
        from mmrwe.stats._input import check_events

        for message in event_coding_warnings(df, event, check_events(status, status.name)):
            warn(message)
    if data.dropped_missing_group:
        info(f"{data.dropped_missing_group} rows with a missing '{by}' were dropped.")
    analysis = KaplanMeierAnalysis.fit(data, conf_type=conf_type.value, conf_level=conf_level)
    if analysis.logrank_omitted:
        warn(
            f"the log-rank test is omitted with --entry ({analysis.logrank_omitted}). "
            "Drop --entry to get it."
        )
    doc = analysis.document(at, tau)
    _print(doc, by)
    if json_out is not None:
        json_out.write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n")
        info(f"JSON written to {json_out}")
    if plot is not None:
        from mmrwe.report.figures import plot_km, risk_table_times

        km = analysis.km
        ticks = risk_table_times(float(data.time.max()))
        ci = f"{conf_level:.0%} CI, {conf_type.value}"
        plot_km(
            km.table_,
            km.at_times(ticks),
            by=by,
            conf_label=ci,
            time_unit=time_unit.value,
            path=plot,
        )
        info(f"Figure written to {plot}")
