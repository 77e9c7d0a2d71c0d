"""Hazard ratios of one endpoint across the levels of each study subgroup (the forest plot).

For each subgroup variable a Cox model with the level as a factor, R's
``coxph(Surv(time, event) ~ factor(level), ties = "efron")`` on the analysed patient-lines with
a known level (Cox, 1972, J R Stat Soc B; Efron, 1977, J Am Stat Assoc): one hazard ratio per
level against the reference level, with its Wald confidence interval and p-value. Beside each
level its KM median (months). Counts below the small-cell threshold are written ``<11`` and
complementary cells ``withheld`` (``mmrwe.privacy``), so that no suppressed count follows by
subtraction from the overall row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from mmrwe.errors import InvalidDataError, check_parameter
from mmrwe.privacy import SMALL_CELL_THRESHOLD, WITHHELD, AtMost, Relation, Same, protect
from mmrwe.stats.cox import CoxPH
from mmrwe.stats.km import KaplanMeier
from mmrwe.stats.summary_by_line import check_threshold, endpoint_rows

OVERALL = "overall"
ALL = "all"
PREFIX = "subgroup_"


def _columns(subgroups: Sequence[str]) -> list[tuple[str, str]]:
    """(name, column) per subgroup; ``age`` and ``subgroup_age`` both mean column subgroup_age."""
    out = []
    for s in subgroups:
        name = s.removeprefix(PREFIX)
        out.append((name, PREFIX + name))
    return out


def _medians(rows: pl.DataFrame, conf_level: float) -> pl.DataFrame:
    km = KaplanMeier("log", conf_level).fit(rows["months"], rows["event"], group=rows["level"])
    return km.summary_.select(
        pl.col("group").alias("level"),
        pl.col("median").alias("median_months"),
        "median_lower",
        "median_upper",
    )


#: a log hazard ratio whose standard error exceeds this is infinite in effect (monotone
#: likelihood: R's coxph warns "coefficient may be infinite", e.g. se 4497); not published
MAX_LOG_HR_SE = 10.0


def _cox(rows: pl.DataFrame, levels: list[str], ref: str, conf_level: float) -> pl.DataFrame:
    """HR, limits and Wald p of every non-reference level (null where not estimable)."""
    others = [lv for lv in levels if lv != ref]
    events = rows.group_by("level").agg(pl.col("event").sum().alias("e"))
    has_events = dict(events.iter_rows())
    estimable = [lv for lv in others if has_events.get(lv, 0) > 0]
    empty = pl.DataFrame(
        {"level": others, "hr": None, "lower": None, "upper": None, "p": None},
        schema_overrides={"level": pl.String}
        | {c: pl.Float64 for c in ("hr", "lower", "upper", "p")},
    )
    if not estimable or has_events.get(ref, 0) == 0:
        return empty
    # a level without events has an infinite log hazard ratio: left out of the model, whose
    # other coefficients are then those of the model on the remaining levels
    fit_rows = rows.filter(pl.col("level").is_in([ref, *estimable]))
    x = fit_rows.select([(pl.col("level") == lv).cast(pl.Float64).alias(lv) for lv in estimable])
    try:
        with np.errstate(over="ignore"):
            fit = CoxPH(ties="efron", conf_level=conf_level).fit(
                x, fit_rows["months"], fit_rows["event"]
            )
    except np.linalg.LinAlgError:  # a degenerate model (monotone likelihood, Heinze 2001)
        return empty
    if not fit.converged_ or not np.all(np.isfinite(fit.se_) & (fit.se_ < MAX_LOG_HR_SE)):
        return empty
    est = fit.summary_.select(pl.col("term").alias("level"), "hr", "lower", "upper", "p")
    return empty.select("level").join(est, on="level", how="left")


def _one_subgroup(
    rows: pl.DataFrame, name: str, column: str, reference: str | None, conf_level: float
) -> pl.DataFrame:
    """Unsuppressed rows of one subgroup: integer counts, estimates, ``missing_events``."""
    known = rows.filter(pl.col(column).is_not_null()).with_columns(
        pl.col(column).cast(pl.String).alias("level")
    )
    n_missing = rows.height - known.height
    missing_events = int(rows.filter(pl.col(column).is_null())["event"].sum())
    levels = sorted(known["level"].unique().to_list())
    if reference is not None and reference not in levels:
        raise InvalidDataError(
            f"The reference level {reference!r} of subgroup '{name}' does not occur in column "
            f"'{column}' (levels: {', '.join(levels) or 'none'}). Give one of these levels."
        )
    common = {"subgroup": name, "n_missing": n_missing, "missing_events": missing_events}
    if not levels:
        return pl.DataFrame({**common, "note": "no patient-line has a known level"}, strict=False)
    ref = reference if reference is not None else levels[0]
    counts = known.group_by("level").agg(
        pl.len().alias("n_patients"),
        pl.col("patient_id").n_unique().alias("n_distinct"),
        pl.col("event").cast(pl.Int64).sum().alias("n_events"),
    )
    table = (
        pl.DataFrame({"level": levels})
        .join(counts, on="level")
        .join(_medians(known, conf_level), on="level")
        .join(_cox(known, levels, ref, conf_level), on="level", how="left")
    )
    is_ref = pl.col("level") == ref
    return table.with_columns(
        pl.when(is_ref & (pl.col("n_events") > 0)).then(1.0).otherwise(pl.col("hr")).alias("hr"),
        pl.when(is_ref)
        .then(pl.lit("reference"))
        .when(pl.col("hr").is_null())
        .then(
            pl.lit(
                "not estimable: no events in this level or the reference, or a degenerate "
                "(singular) model"
            )
        )
        .otherwise(None)
        .alias("note"),
        *[pl.lit(v).alias(k) for k, v in common.items()],
        pl.lit(ref).alias("reference"),
    )


def _overall(rows: pl.DataFrame, conf_level: float) -> pl.DataFrame:
    med = _medians(rows.with_columns(pl.lit(ALL).alias("level")), conf_level)
    return med.with_columns(
        pl.lit(OVERALL).alias("subgroup"),
        pl.lit(rows.height).alias("n_patients"),
        pl.lit(rows["patient_id"].n_unique()).alias("n_distinct"),
        pl.lit(int(rows["event"].sum())).alias("n_events"),
        pl.lit(0).alias("n_missing"),
        pl.lit(0).alias("missing_events"),
    )


def _relations(table: pl.DataFrame) -> list:
    """overall = sum of a subgroup's levels + its missing rows, for patient-lines and, when no
    row is missing (the missing rows' events are not published), for events."""
    relations: list = [Same("n_missing", ("subgroup",))]
    indexed = table.with_row_index("_row")
    overall = int(indexed.filter(pl.col("subgroup") == OVERALL)["_row"][0])
    for _, sub in indexed.filter(pl.col("subgroup") != OVERALL).group_by(
        "subgroup", maintain_order=True
    ):
        rows = sub.filter(pl.col("level").is_not_null())["_row"].to_list()
        if not rows:
            continue
        parts = [(r, "n_patients") for r in rows] + [(rows[0], "n_missing")]
        relations.append(Relation((overall, "n_patients"), tuple(parts)))
        if sub["n_missing"][0] == 0:
            relations.append(Relation((overall, "n_events"), tuple((r, "n_events") for r in rows)))
    return relations


def _publish(table: pl.DataFrame, threshold: int) -> pl.DataFrame:
    """Small counts ``<N`` and complementary cells ``withheld`` (``mmrwe.privacy.protect``);
    estimates of levels with fewer than ``threshold`` patient-lines or patients withheld."""
    counts = ["n_patients", "n_events", "n_missing"]
    table = table.with_columns(pl.col(counts).cast(pl.Int64))
    relations = [*_relations(table), AtMost("n_patients", ("n_events",))]
    out = protect(table, counts, threshold=threshold, relations=relations)
    if threshold == 0:
        return out.with_columns(pl.col(counts).cast(pl.String))
    few_people = (pl.col("n_distinct") < threshold) & (pl.col("n_distinct") > 0)
    few = pl.col("n_patients").str.starts_with("<") | few_people
    estimates = ["hr", "lower", "upper", "p", "median_months", "median_lower", "median_upper"]
    # a hidden event count is not published through its estimates either (issue 20): its own
    # median, and the hazard ratios of its subgroup (each level's against the reference's)
    events = pl.col("n_events").str.starts_with("<")
    hidden = {c: few | events for c in estimates[4:]}
    hidden |= {c: few | events.any().over("subgroup") for c in estimates[:4]}
    return out.with_columns(
        *[pl.when(hidden[c]).then(None).otherwise(pl.col(c)).alias(c) for c in estimates],
        *[
            pl.when(few_people & ~pl.col(c).str.starts_with("<") & (pl.col(c) != "0"))
            .then(pl.lit(WITHHELD))
            .otherwise(pl.col(c))
            .alias(c)
            for c in ("n_patients", "n_events")
        ],
        pl.when(few)
        .then(pl.lit(f"withheld: fewer than {threshold} patients"))
        .otherwise(pl.col("note"))
        .alias("note"),
    )


def subgroup_hazard_ratios(
    analysis_lines: pl.DataFrame,
    endpoints: pl.DataFrame,
    *,
    endpoint: str = "PFS",
    subgroups: Sequence[str],
    reference: Mapping[str, str] | None = None,
    threshold: int = SMALL_CELL_THRESHOLD,
    conf_level: float = 0.95,
) -> pl.DataFrame:
    """Hazard ratio of ``endpoint`` for every level of every subgroup, against its reference.

    Parameters
    ----------
    analysis_lines : the analysed patient-lines with one column ``subgroup_<name>`` per
        subgroup (text level, null when unknown).
    endpoints : ``mmrwe.endpoints.derive_endpoints`` output.
    endpoint : PFS, OS, TTNT (or another endpoint of the table).
    subgroups : subgroup names (``"age"`` or ``"subgroup_age"``), in the order of the rows.
    reference : subgroup name → its reference level; otherwise the first level in sorted order.
    threshold : small-cell threshold (CMS: 11); 0 turns suppression off.
    conf_level : level of the hazard-ratio and median intervals.

    Returns one "overall" row (all analysed patient-lines: counts and KM median), then per
    subgroup and level (sorted): subgroup, level, reference, n_patients, n_events (text),
    hr, lower, upper, p (Wald), median_months with limits, n_missing (patient-lines with an
    unknown level, left out of that model) and note (reference, withheld, not estimable).
    The reference row has hr = 1 and no interval. A level with fewer than ``threshold``
    patient-lines shows ``<11`` and its estimates are null; a level without events has no
    finite hazard ratio (null, noted) and is left out of the model of the other levels.
    """
    owner = "subgroup_hazard_ratios"
    check_threshold(threshold, owner)
    ok = isinstance(conf_level, float | int) and 0 < float(conf_level) < 1
    check_parameter(ok, "conf_level", owner, "a number strictly between 0 and 1", conf_level)
    check_parameter(
        isinstance(subgroups, Sequence) and not isinstance(subgroups, str),
        "subgroups",
        owner,
        "a list of subgroup names such as ['age', 'iss_stage']",
        subgroups,
    )
    refs = dict(reference or {})
    names = _columns(subgroups)
    unknown = sorted(set(k.removeprefix(PREFIX) for k in refs) - {n for n, _ in names})
    check_parameter(not unknown, "reference", owner, "a mapping of listed subgroups", refs)
    refs = {k.removeprefix(PREFIX): v for k, v in refs.items()}
    rows = endpoint_rows(analysis_lines, endpoints, [endpoint], [c for _, c in names])
    if rows.is_empty():
        raise InvalidDataError(
            f"No {endpoint} rows of 'endpoints' belong to the analysed lines; check the endpoint "
            "name and that both tables come from the same run."
        )
    parts = [_overall(rows, conf_level)]
    parts += [_one_subgroup(rows, n, c, refs.get(n), conf_level) for n, c in names]
    table = pl.concat(parts, how="diagonal_relaxed")
    for c in ("hr", "lower", "upper", "p", "median_months", "median_lower", "median_upper"):
        if c not in table.columns:
            table = table.with_columns(pl.lit(None, pl.Float64).alias(c))
    for c in ("level", "reference", "note"):
        if c not in table.columns:
            table = table.with_columns(pl.lit(None, pl.String).alias(c))
    out = _publish(table, threshold)
    return out.select(
        "subgroup",
        "level",
        "reference",
        "n_patients",
        "n_events",
        *[pl.col(c).cast(pl.Float64) for c in ("hr", "lower", "upper", "p")],
        *[pl.col(c).cast(pl.Float64) for c in ("median_months", "median_lower", "median_upper")],
        "n_missing",
        "note",
    )
