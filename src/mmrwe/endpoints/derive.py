"""Time-to-event endpoints per line: one generic evaluator over the declared definitions.

For each definition (:mod:`mmrwe.endpoints.definitions`) and each line of its population:

1. start = the line's index date (its start; a CAR-T line's infusion by default) or the first
   response (DOR);
2. end = the earliest qualifying event date (ties: the source listed first), event = 1; an
   event date before the start is kept, and raises at rule 5;
3. else end = the censoring date, event = 0;
4. with a data cutoff, an end after it becomes a censoring at the cutoff (``data_cutoff``), and
   so does a censoring at last contact on the cutoff day (a cohort truncated at the cut-off by
   :func:`mmrwe.study.apply_data_cutoff` has its last contacts moved there);
5. time_days = end − start (a negative time raises, naming the line: the inputs contradict);
   time_months = time_days / ``days_per_month``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import polars as pl

from mmrwe.contract import TableContract
from mmrwe.endpoints.definitions import (
    ENDPOINT_ORDER,
    EndpointDefinition,
    endpoint_definitions,
)
from mmrwe.endpoints.frame import check_tables, line_frame
from mmrwe.endpoints.rules import EndpointRules
from mmrwe.errors import InvalidDataError, check_parameter

ENDPOINTS_SCHEMA: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "line": pl.Int64(),
    "endpoint": pl.String(),
    "start_date": pl.Date(),
    "end_date": pl.Date(),
    "time_days": pl.Int64(),
    "time_months": pl.Float64(),
    "event": pl.Int8(),
    "event_or_censor_reason": pl.String(),
}
ENDPOINTS_TABLE = TableContract("endpoints", ENDPOINTS_SCHEMA)
#: The per-line frame column each event source reads.
SOURCE_COLUMNS: dict[str, str] = {
    "progression": "progression_date",
    "death": "death_date",
    "next_line": "next_start",
    "discontinuation": "last_drug_date",
    "response": "first_response_date",
}
_OWNER = "derive_endpoints"
_DAY = pl.duration(days=1)


def derive_endpoints(
    lines: pl.DataFrame,
    line_exposures: pl.DataFrame,
    line_response: pl.DataFrame,
    assessments: pl.DataFrame,
    responses: pl.DataFrame | None,
    patients: pl.DataFrame,
    rules: EndpointRules | None = None,
    *,
    car_t_index: str = "infusion",
    data_cutoff: date | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> pl.DataFrame:
    """PFS, OS, TTNT, DOR, TTR and TTD of every line (``endpoints`` table, docs/endpoints.md).

    Inputs are the tables of ``mmrwe response`` and the cohort (``responses`` may be None).
    Returns :data:`ENDPOINTS_SCHEMA` rows sorted by patient_id, line and endpoint (PFS, OS,
    TTNT, DOR, TTR, TTD); DOR and TTR only for responders. Times in days and months.
    """
    rules = rules if rules is not None else EndpointRules()
    check_parameter(
        isinstance(rules, EndpointRules), "rules", _OWNER, "an EndpointRules", type(rules).__name__
    )
    check_parameter(
        car_t_index in ("infusion", "line_start"),
        "car_t_index",
        _OWNER,
        "'infusion' or 'line_start'",
        car_t_index,
    )
    check_parameter(
        data_cutoff is None or isinstance(data_cutoff, date),
        "data_cutoff",
        _OWNER,
        "a datetime.date or None",
        data_cutoff,
    )
    check_tables(
        {
            "lines": lines,
            "line_exposures": line_exposures,
            "line_response": line_response,
            "assessments": assessments,
            "responses": responses,
            "patients": patients,
        }
    )
    ln = line_frame(
        lines, line_exposures, line_response, assessments, responses, patients, rules, car_t_index
    )
    ln = ln.sort("patient_id", "line").with_row_index("_row")
    if data_cutoff is not None:
        cut = pl.lit(data_cutoff, pl.Date)
        ln = ln.filter(pl.col("index_date") <= cut).with_columns(
            pl.col("responder") & (pl.col("first_response_date") <= cut).fill_null(False)
        )
    if on_progress is not None:
        on_progress(1)
    parts = []
    for d in endpoint_definitions(rules):
        parts.append(evaluate(ln, d, data_cutoff))
        if on_progress is not None:
            on_progress(1)
    out = (
        pl.concat(parts)
        .sort("_row", "_order")
        .with_columns(
            (pl.col("end_date") - pl.col("start_date"))
            .dt.total_days()
            .cast(pl.Int64)
            .alias("time_days")
        )
    )
    _check_times(out)
    out = out.with_columns(
        (pl.col("time_days") / rules.days_per_month).alias("time_months"),
    )
    return out.select(list(ENDPOINTS_SCHEMA)).cast(ENDPOINTS_SCHEMA)


def evaluate(ln: pl.DataFrame, d: EndpointDefinition, data_cutoff: date | None) -> pl.DataFrame:
    """Rows ``patient_id, line, _row, _order, endpoint, start_date, end_date, event,
    event_or_censor_reason`` of one endpoint (rules 1-4 of the module docstring) from the
    per-line frame (with its row number ``_row``)."""
    frame = ln if d.population == "all" else ln.filter(pl.col("responder"))
    start = pl.col("index_date" if d.start == "index" else "first_response_date")
    candidates = [_qualified(source, d.within_line) for source in d.events]
    event_date = pl.min_horizontal(candidates) if candidates else pl.lit(None, pl.Date)
    event_reason: pl.Expr = pl.lit(None, pl.String)
    for source, cand in reversed(list(zip(d.events, candidates, strict=True))):
        event_reason = pl.when(cand == event_date).then(pl.lit(source)).otherwise(event_reason)
    censor_date, censor_reason = _censoring(d, start)
    is_event = event_date.is_not_null()
    end = pl.when(is_event).then(event_date).otherwise(censor_date)
    reason = pl.when(is_event).then(event_reason).otherwise(censor_reason)
    out = frame.select(
        "patient_id",
        "line",
        "_row",
        pl.lit(ENDPOINT_ORDER[d.code], pl.Int64).alias("_order"),
        pl.lit(d.code).alias("endpoint"),
        start.alias("start_date"),
        end.alias("end_date"),
        is_event.cast(pl.Int8).alias("event"),
        reason.alias("event_or_censor_reason"),
    )
    if data_cutoff is None:
        return out
    cut = pl.lit(data_cutoff, pl.Date)
    at_cut = (
        (pl.col("event") == 0)
        & (pl.col("end_date") == cut)
        & (pl.col("event_or_censor_reason") == "last_contact")
    )
    after = (pl.col("end_date") > cut) | at_cut
    return out.with_columns(
        pl.when(after).then(pl.lit(data_cutoff, pl.Date)).otherwise("end_date").alias("end_date"),
        pl.when(after).then(pl.lit(0, pl.Int8)).otherwise("event").alias("event"),
        pl.when(after)
        .then(pl.lit("data_cutoff"))
        .otherwise("event_or_censor_reason")
        .alias("event_or_censor_reason"),
    )


def _qualified(source: str, within_line: bool) -> pl.Expr:
    """The source's date when it counts as this endpoint's event, else null.

    A date before the start is not filtered out: it contradicts the inputs and raises.
    """
    value = pl.col(SOURCE_COLUMNS[source])
    ok = pl.lit(True)
    if within_line:
        ok = pl.col("next_start").is_null() | (value < pl.col("next_start"))
    if source == "discontinuation":  # drug still given at last contact: not a discontinuation
        ok = ok & (value < pl.col("last_contact_date"))
    return pl.when(ok).then(value)


def _censoring(d: EndpointDefinition, start: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Censoring date and reason of an endpoint without an event."""
    if d.censor == "last_assessment":
        last = pl.col("last_assessment_date")
        ok = last >= start  # the frame keeps only assessments after the index date
        return (
            pl.when(ok).then(last).otherwise(start),
            pl.when(ok).then(pl.lit("last_assessment")).otherwise(pl.lit("no_assessment")),
        )
    contact = pl.col("last_contact_date")
    if not d.within_line:
        return contact, pl.lit("last_contact")
    before_next = pl.col("next_start") - _DAY
    earlier = (before_next < contact).fill_null(False)
    return (
        pl.when(earlier).then(before_next).otherwise(contact),
        pl.when(earlier).then(pl.lit("next_line")).otherwise(pl.lit("last_contact")),
    )


def _check_times(out: pl.DataFrame) -> None:
    """Raise naming the lines whose end precedes their start (contradictory input dates)."""
    bad = out.filter(pl.col("time_days").is_null() | (pl.col("time_days") < 0))
    if bad.height == 0:
        return
    rows = "; ".join(
        f"{r['endpoint']} of patient {r['patient_id']} line {r['line']}: start "
        f"{r['start_date']}, end {r['end_date']} ({r['event_or_censor_reason']})"
        for r in bad.head(5).iter_rows(named=True)
    )
    raise InvalidDataError(
        f"{bad.height} endpoint(s) end before they start or have no date: {rows}. "
        "Check that each patient's death_date and last_contact_date (patients table) are on or "
        "after the line's start (or CAR-T infusion_date), and derive lines, response and "
        "endpoints from the same cohort with the same car_t_index."
    )
