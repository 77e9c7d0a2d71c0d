"""Outcomes by line of therapy: median PFS, OS, time to next treatment, duration of response, time
to response and time to treatment discontinuation with their confidence intervals, landmark rates
and median follow-up, one row per analysis group and endpoint, each with its denominator (every
analysed line, or the responders for DOR and TTR).

The table behind the "each relapse shortens remission" picture (Kumar, 2004, Mayo Clin Proc;
Jagannath, 2016, Clin Lymphoma Myeloma Leuk). Times are in months, ``time_days / 30.4375``;
every estimate is R's ``survfit`` on those times (``mmrwe.stats.KaplanMeier``). Counts below the
small-cell threshold are written as text ``<11`` and the estimates of such a group are withheld.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from mmrwe.errors import InvalidDataError, check_parameter, require_columns
from mmrwe.privacy import SMALL_CELL_THRESHOLD, WITHHELD, protect
from mmrwe.stats.confint import check_conf
from mmrwe.stats.km import KaplanMeier, median_followup

#: Days per month (365.25 / 12), the conversion of every month figure.
DAYS_PER_MONTH = 30.4375
#: Endpoints of ``mmrwe.endpoints.derive_endpoints``.
ENDPOINTS = ("PFS", "OS", "TTNT", "DOR", "TTR", "TTD")
#: ``denominator`` of each endpoint: whose lines it is estimated on (``mmrwe.endpoints``: DOR
#: and TTR exist for responders only, the study's ``EndpointRules.responder_categories``)
DENOMINATORS: dict[str, str] = dict.fromkeys(ENDPOINTS, "analysed lines") | {
    "DOR": "responders",
    "TTR": "responders",
}
MISSING_GROUP = "(missing)"


def _require_unique(df: pl.DataFrame, table: str, keys: list[str]) -> None:
    dup = df.filter(pl.struct(keys).is_duplicated())
    if dup.height:
        first = dup.row(0, named=True)
        where = ", ".join(f"{k}={first[k]!r}" for k in keys)
        raise InvalidDataError(
            f"Table '{table}' has {dup.height} rows sharing ({', '.join(keys)}), first {where}; "
            "each key must appear once. Drop the duplicate rows."
        )


def endpoint_rows(
    analysis_lines: pl.DataFrame,
    endpoints: pl.DataFrame,
    names: Sequence[str],
    extra: Sequence[str] = (),
) -> pl.DataFrame:
    """The ``endpoints`` rows of the analysed lines for the endpoints ``names``, with
    ``months`` = time_days / 30.4375 and the ``analysis_lines`` columns ``extra``."""
    require_columns(analysis_lines, "analysis_lines", ["patient_id", "line", *extra])
    require_columns(
        endpoints, "endpoints", ["patient_id", "line", "endpoint", "time_days", "event"]
    )
    _require_unique(analysis_lines, "analysis_lines", ["patient_id", "line"])
    ep = endpoints.filter(pl.col("endpoint").is_in(list(names)))
    _require_unique(ep, "endpoints", ["patient_id", "line", "endpoint"])
    keep = analysis_lines.select("patient_id", "line", *dict.fromkeys(extra))
    out = keep.join(ep, on=["patient_id", "line"], how="inner")
    return out.with_columns(
        (pl.col("time_days").cast(pl.Float64) / DAYS_PER_MONTH).alias("months"),
        pl.col("event").cast(pl.Int8),
    )


def check_threshold(threshold: object, owner: str) -> None:
    """The small-cell threshold: a whole number >= 0."""
    ok = isinstance(threshold, int) and not isinstance(threshold, bool) and threshold >= 0
    check_parameter(ok, "threshold", owner, "an integer >= 0 (0 turns suppression off)", threshold)


def _group_columns(rows: pl.DataFrame, by: str) -> pl.DataFrame:
    """``group`` (text) and ``group_order``: the study's order, else the values sorted (numbers
    as numbers: line 2 before line 10), missing last."""
    label = pl.col(by).cast(pl.String).fill_null(MISSING_GROUP).alias("group")
    if by == "group" and "group_order" in rows.columns:
        order = pl.col("group_order").cast(pl.Int64)
        return rows.with_columns(label, order.fill_null(order.max() + 1).alias("group_order"))
    order = pl.col(by).rank("dense").cast(pl.Int64)
    return rows.with_columns(label, order.fill_null(order.max() + 1).alias("group_order"))


def _landmark_columns(km: KaplanMeier, landmarks: Sequence[float]) -> pl.DataFrame:
    """S(t) with limits at each landmark per group, null past the group's last follow-up time
    (R's ``summary(fit, times=)`` drops such times)."""
    if not landmarks:
        return pl.DataFrame({"code": km.groups_})
    last = pl.DataFrame({"group": km.groups_, "last": [float(c.time[-1]) for c in km.curves_]})
    at = km.at_times(list(landmarks)).join(last, on="group")
    beyond = pl.col("time") > pl.col("last")
    cols = []
    for m in landmarks:
        name = f"rate_{m:g}m"
        for src, suffix in (("surv", ""), ("lower", "_lower"), ("upper", "_upper")):
            value = pl.when(beyond).then(None).otherwise(pl.col(src))
            cols.append(value.filter(pl.col("time") == float(m)).first().alias(name + suffix))
    return at.group_by("group", maintain_order=True).agg(cols).rename({"group": "code"})


def _estimates(
    rows: pl.DataFrame, landmarks: Sequence[float], conf_type: str, conf_level: float
) -> pl.DataFrame:
    """KM median with limits and landmark rates per group code of one endpoint."""
    km = KaplanMeier(conf_type, conf_level).fit(rows["months"], rows["event"], group=rows["code"])
    med = km.summary_.select(
        pl.col("group").alias("code"),
        pl.col("median").alias("median_months"),
        pl.col("median_lower").alias("median_lower"),
        pl.col("median_upper").alias("median_upper"),
    )
    return med.join(_landmark_columns(km, landmarks), on="code", how="left")


def summary_by_line(
    analysis_lines: pl.DataFrame,
    endpoints: pl.DataFrame | pl.LazyFrame,
    *,
    by: str = "group",
    endpoint_names: Sequence[str] = ENDPOINTS,
    landmarks_months: Sequence[float] = (12, 24),
    threshold: int = SMALL_CELL_THRESHOLD,
    conf_level: float = 0.95,
    conf_type: str = "log",
) -> pl.DataFrame:
    """One row per analysis group and endpoint: its denominator, counts, KM median (months) with
    its confidence interval, landmark rates and median follow-up.

    Parameters
    ----------
    analysis_lines : the analysed patient-lines (patient_id, line, ``by``; ``group_order``
        orders the groups when ``by = "group"``).
    endpoints : ``mmrwe.endpoints.derive_endpoints`` output (patient_id, line, endpoint,
        time_days, event); a lazy frame (e.g. a Parquet scan) is read one endpoint at a time.
    by : column of ``analysis_lines`` splitting the summary; a missing value is its own group,
        "(missing)", placed last.
    endpoint_names : endpoints summarised, in this order (PFS, OS, TTNT, DOR, TTR, TTD).
    landmarks_months : times (months) of the landmark rates ``rate_<t>m`` (+ ``_lower``,
        ``_upper``); null past the group's last follow-up time.
    threshold : small-cell threshold (CMS: 11); 0 turns suppression off.
    conf_level, conf_type : of the median and rate intervals, as R's ``survfit``.

    ``denominator`` names the lines an endpoint is estimated on (:data:`DENOMINATORS`:
    ``analysed lines``, or ``responders`` for DOR and TTR). ``n_patients`` counts those
    patient-lines (patients when each enters a group once) and ``n_events`` the events; both are
    text. A group with fewer than ``threshold`` patient-lines
    shows ``<11`` and its estimates are null (with enough lines but fewer patients: counts
    ``withheld``, estimates null); fewer events than ``threshold`` show ``<11``.
    ``median_followup_months`` is the reverse Kaplan–Meier median of OS (Schemper & Smith,
    1996, Control Clin Trials), the same on every endpoint row of a group.
    """
    owner = "summary_by_line"
    check_conf(conf_type, conf_level, owner)
    check_threshold(threshold, owner)
    names = list(endpoint_names)
    check_parameter(
        bool(names) and all(n in ENDPOINTS for n in names) and len(set(names)) == len(names),
        "endpoint_names",
        owner,
        f"a non-empty list of distinct endpoints from {ENDPOINTS}",
        endpoint_names,
    )
    marks = [float(m) for m in landmarks_months]
    check_parameter(
        all(np.isfinite(m) and m > 0 for m in marks) and len(set(marks)) == len(marks),
        "landmarks_months",
        owner,
        "a list of distinct positive times in months",
        landmarks_months,
    )
    extra = (
        [by, "group_order"] if by == "group" and "group_order" in analysis_lines.columns else [by]
    )
    rows = _endpoint_source(analysis_lines, endpoints, [*names, "OS"], extra, by)
    groups = rows.select("group", "group_order").unique().sort("group_order", "group").collect()
    if groups.is_empty():
        raise InvalidDataError(
            "No endpoint rows belong to the analysed lines: the (patient_id, line) keys of "
            "'analysis_lines' and 'endpoints' do not meet. Derive both from the same run."
        )
    groups = groups.with_row_index("code").with_columns(pl.col("code").cast(pl.Int64))

    def one(name: str) -> pl.DataFrame:  # one endpoint's rows at a time (memory: issue 18)
        ep = rows.filter(pl.col("endpoint") == name).collect()
        _require_unique(ep, "endpoints", ["patient_id", "line", "endpoint"])
        return ep.join(groups, on=["group", "group_order"])

    parts = []
    for name in names:
        ep = one(name)
        if ep.is_empty():
            continue
        counts = ep.group_by("code").agg(
            pl.len().alias("n"),
            pl.col("patient_id").n_unique().alias("n_distinct"),
            pl.col("event").cast(pl.Int64).sum().alias("events"),
        )
        est = _estimates(ep, marks, conf_type, conf_level)
        parts.append(counts.join(est, on="code").with_columns(pl.lit(name).alias("endpoint")))
    if not parts:
        raise InvalidDataError(
            f"The endpoints table has no rows for {', '.join(names)} on the analysed lines."
        )
    out = pl.concat(parts, how="diagonal_relaxed").join(_followup(one("OS")), on="code", how="left")
    return _publish(out, groups, names, marks, threshold)


def _endpoint_source(
    analysis_lines: pl.DataFrame,
    endpoints: pl.DataFrame | pl.LazyFrame,
    names: list[str],
    extra: list[str],
    by: str,
) -> pl.LazyFrame:
    """:func:`endpoint_rows` with :func:`_group_columns`, as a lazy frame read one endpoint at
    a time (a lazy ``endpoints``, e.g. a Parquet scan, is never read whole). The missing
    group's order is fixed on all rows first, as :func:`_group_columns` does."""
    if isinstance(endpoints, pl.DataFrame) or by != "group" or "group_order" not in extra:
        whole = endpoints.collect() if isinstance(endpoints, pl.LazyFrame) else endpoints
        return _group_columns(endpoint_rows(analysis_lines, whole, names, extra), by).lazy()
    require_columns(analysis_lines, "analysis_lines", ["patient_id", "line", *extra])
    require_columns(
        pl.DataFrame(schema=endpoints.collect_schema()),
        "endpoints",
        ["patient_id", "line", "endpoint", "time_days", "event"],
    )
    _require_unique(analysis_lines, "analysis_lines", ["patient_id", "line"])
    keep = analysis_lines.select("patient_id", "line", *dict.fromkeys(extra)).lazy()
    rows = keep.join(
        endpoints.filter(pl.col("endpoint").is_in(names)), on=["patient_id", "line"], how="inner"
    )
    order = pl.col("group_order").cast(pl.Int64)
    top = rows.select(order.max()).collect().item()
    return rows.with_columns(
        (pl.col("time_days").cast(pl.Float64) / DAYS_PER_MONTH).alias("months"),
        pl.col("event").cast(pl.Int8),
        pl.col(by).cast(pl.String).fill_null(MISSING_GROUP).alias("group"),
        order.fill_null(None if top is None else top + 1).alias("group_order"),
    )


def _followup(rows: pl.DataFrame) -> pl.DataFrame:
    """Reverse-KM median follow-up of OS (months) per group code."""
    os_rows = rows.filter(pl.col("endpoint") == "OS")
    if os_rows.is_empty():
        return pl.DataFrame(schema={"code": pl.Int64, "median_followup_months": pl.Float64})
    fu = median_followup(os_rows["months"], os_rows["event"], group=os_rows["code"])
    return fu.select(
        pl.col("group").alias("code"), pl.col("estimate").alias("median_followup_months")
    )


def _publish(
    out: pl.DataFrame,
    groups: pl.DataFrame,
    names: list[str],
    marks: list[float],
    threshold: int,
) -> pl.DataFrame:
    """Order the rows, apply small-cell suppression and fix the column order."""
    estimates = ["median_months", "median_lower", "median_upper"]
    for m in marks:
        estimates += [f"rate_{m:g}m", f"rate_{m:g}m_lower", f"rate_{m:g}m_upper"]
    estimates.append("median_followup_months")
    order = pl.col("endpoint").replace_strict(names, list(range(len(names))))
    out = (
        out.join(groups, on="code")
        .sort("group_order", "group", order)
        .select(
            "group",
            pl.col("group_order").cast(pl.Int64),
            "endpoint",
            pl.col("endpoint").replace_strict(DENOMINATORS).alias("denominator"),
            pl.col("n").cast(pl.Int64).alias("n_patients"),
            pl.col("events").cast(pl.Int64).alias("n_events"),
            "n_distinct",
            *[pl.col(c).cast(pl.Float64) for c in estimates],
        )
    )
    counts = ["n_patients", "n_events"]
    # no count of this table is a sum of others (groups are not added up): primary suppression
    out = protect(out, counts, threshold=threshold)
    out = out.with_columns(pl.col(counts).cast(pl.String))
    if threshold > 0:
        few_people = (pl.col("n_distinct") < threshold) & (pl.col("n_distinct") > 0)
        few = pl.col("n_patients").str.starts_with("<") | few_people
        # a hidden event count is not published through its curve either: S(12 months) = 0.6
        # of 20 patient-lines without earlier censoring says 8 events by then (issue 20)
        hidden = few | pl.col("n_events").str.starts_with("<")
        out = out.with_columns(
            *[pl.when(hidden).then(None).otherwise(pl.col(c)).alias(c) for c in estimates],
            *[
                pl.when(few_people & ~pl.col(c).str.starts_with("<") & (pl.col(c) != "0"))
                .then(pl.lit(WITHHELD))
                .otherwise(pl.col(c))
                .alias(c)
                for c in counts
            ],
        )
    return out.drop("n_distinct")
