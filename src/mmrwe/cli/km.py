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
from typing import TYPE_CHECKING, Any

import polars as pl
import typer
from rich.table import Table

from mmrwe.cli.app import app
from mmrwe.cli.common import info, stdout, warn
from mmrwe.errors import InvalidDataError

if TYPE_CHECKING:  # the statistics (SciPy) are imported only when the command runs
    from mmrwe.stats import KaplanMeier, LogRankTest

QUANTILES = (0.25, 0.5, 0.75)


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


def _num(x: Any) -> Any:
    """JSON value: None for undefined (NaN/None), int for whole counts, else float."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return x


def _time(x: Any) -> Any:
    """A time for JSON: whole numbers as integers (days), None when undefined."""
    x = _num(x)
    return int(x) if isinstance(x, float) and x.is_integer() else x


def _group_value(x: Any) -> Any:
    return x if x is None or isinstance(x, str | int | float | bool) else str(x)


def km_result(
    km: KaplanMeier, times: list[float] | None, tau: float | None, logrank: LogRankTest | None
) -> dict[str, Any]:
    """The ``--json`` document (docs/cli.md) of a fitted estimator."""
    quants = km.quantiles(QUANTILES)
    at = km.at_times(times) if times else None
    rm = km.rmst(tau) if tau is not None else None
    groups = []
    for i, (label, curve) in enumerate(zip(km.groups_, km.curves_, strict=True)):
        q = quants.slice(i * len(QUANTILES), len(QUANTILES))
        qd = {
            str(p): {k: _time(q[k][j]) for k in ("estimate", "lower", "upper")}
            for j, p in enumerate(QUANTILES)
        }
        entry: dict[str, Any] = {
            "group": _group_value(label),
            "n": curve.n,
            "events": round(float(curve.n_event.sum())),
            "median": qd["0.5"],
            "quantiles": qd,
        }
        if at is not None and times is not None:
            rows = at.slice(i * len(times), len(times))
            entry["at_times"] = [
                {
                    "time": _time(r["time"]),
                    "surv": _num(r["surv"]),
                    "lower": _num(r["lower"]),
                    "upper": _num(r["upper"]),
                    "std_err": _num(r["std_err"]),
                    "n_risk": round(r["n_risk"]),
                }
                for r in rows.iter_rows(named=True)
            ]
        if rm is not None:
            r = rm.row(i, named=True)
            entry["rmst"] = {
                "tau": _time(r["tau"]),
                "estimate": _num(r["estimate"]),
                "std_err": _num(r["std_err"]),
            }
        groups.append(entry)
    doc: dict[str, Any] = {"conf_type": km.conf_type, "conf_level": km.conf_level, "groups": groups}
    if logrank is not None:
        doc["logrank"] = {
            "chisq": _num(logrank.chisq_),
            "df": logrank.df_,
            "p": _num(logrank.p_value_),
        }
    return doc


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


@app.command("km")
def km_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or Parquet table."),
    time: str = typer.Option(..., "--time", help="Column of times to event or censoring."),
    event: str = typer.Option(..., "--event", help="Column of event codes: 1/0 or true/false."),
    entry: str | None = typer.Option(None, "--entry", help="Column of delayed-entry times."),
    by: str | None = typer.Option(None, "--by", help="Column of groups (one curve each)."),
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
    json_out: Path | None = typer.Option(None, "--json", help="Write the results as JSON."),
    plot: Path | None = typer.Option(None, "--plot", help="Write the figure as PNG."),
) -> None:
    """Kaplan–Meier curves, quantiles, survival at times, RMST and log-rank, as R's survival."""
    from mmrwe.stats import CONF_TYPES, KaplanMeier, LogRankTest
    from mmrwe.stats._input import check_entry, check_events, check_times

    assert {c.value for c in ConfTypeChoice} == set(CONF_TYPES)
    conf = conf_type.value
    at = _times(times)
    if tau is not None and tau <= 0:
        raise typer.BadParameter("must be > 0.", param_hint="--tau")
    df = read_table(file)
    t = _column(df, time, "--time", file)
    e = _column(df, event, "--event", file)
    ent = _column(df, entry, "--entry", file)
    grp = _column(df, by, "--by", file)
    assert t is not None and e is not None
    # validate every row first, so that messages give the row of the file
    t_arr = check_times(t, t.name)
    e_arr = check_events(e, e.name)
    ent_arr = None if ent is None else check_entry(ent, t_arr, ent.name)
    if grp is not None:
        missing = grp.is_null()
        if missing.any():
            info(f"{int(missing.sum())} rows with a missing '{by}' were dropped.")
            keep = (~missing).to_numpy()
            t_arr, e_arr, grp = t_arr[keep], e_arr[keep], grp.filter(~missing)
            ent_arr = None if ent_arr is None else ent_arr[keep]
    if t_arr.size == 0:
        raise InvalidDataError(f"No rows of '{file}' are left to analyse.")
    km = KaplanMeier(conf, conf_level).fit(t_arr, e_arr, entry=ent_arr, group=grp)
    logrank = None
    if grp is not None and ent_arr is not None:
        warn(
            "the log-rank test is omitted with --entry (delayed entry): survdiff has no "
            "left-truncated form. Drop --entry to get it."
        )
    elif grp is not None:
        logrank = LogRankTest().fit(t_arr, e_arr, grp)
    doc = km_result(km, at, tau, logrank)
    _print(doc, by)
    if json_out is not None:
        json_out.write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n")
        info(f"JSON written to {json_out}")
    if plot is not None:
        from mmrwe.report.figures import plot_km, risk_table_times

        ticks = risk_table_times(float(t_arr.max()))
        ci = f"{conf_level:.0%} CI, {conf}"
        plot_km(km.table_, km.at_times(ticks), by=by, conf_label=ci, path=plot)
        info(f"Figure written to {plot}")
