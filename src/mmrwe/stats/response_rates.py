"""Response rates per analysis group: ORR, ≥VGPR, ≥CR with exact confidence intervals.

One row per group. The denominator is every patient-line starting the line (``n_patients``,
intention to treat); lines without a best response (no ``line_response`` row) count as NE.
``pct_evaluable_*`` divides by the patient-lines with an assessable response (best response not
NE). Categories are the IMWG uniform response criteria (Kumar et al., 2016, Lancet Oncol):
ORR = sCR + CR + VGPR + PR. Percentages in % (one decimal); limits Clopper–Pearson exact
(Clopper & Pearson, 1934, Biometrika), as R ``binom.test(x, n)$conf.int``.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from mmrwe.errors import InvalidDataError, check_parameter, require_columns
from mmrwe.io.schema import RESPONSE_CODES
from mmrwe.privacy import SMALL_CELL_THRESHOLD, Sum, protect
from mmrwe.stats.proportions import clopper_pearson

#: Best response categories, best first (IMWG 2016); NE: not evaluable.
CATEGORIES = RESPONSE_CODES

#: Composite rates: name -> the categories they add up.
RATES = {
    "orr": ("sCR", "CR", "VGPR", "PR"),
    "vgpr_or_better": ("sCR", "CR", "VGPR"),
    "cr_or_better": ("sCR", "CR"),
}


#: Label of the group of patient-lines whose ``by`` value is missing (listed last).
MISSING_GROUP = "(missing)"


def analysis_groups(analysis_lines: pl.DataFrame, by: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``analysis_lines`` with a missing ``by`` value labelled ``(missing)``, and the groups in
    report order: ``group_order`` for the analysis group, else sorted; missing last."""
    require_columns(analysis_lines, "analysis_lines", [by])
    if by == "group" and "group_order" in analysis_lines.columns:
        levels = (
            analysis_lines.group_by(by)
            .agg(pl.col("group_order").min())
            .sort("group_order", by, nulls_last=True)
            .select(by)
        )
    else:
        levels = analysis_lines.select(pl.col(by).unique()).sort(by, nulls_last=True)
    if not analysis_lines[by].null_count():
        return analysis_lines, levels
    label = pl.col(by).cast(pl.String).fill_null(MISSING_GROUP)
    return analysis_lines.with_columns(label), levels.with_columns(label)


def _pct(n: pl.Expr, d: pl.Expr) -> pl.Expr:
    return pl.when(d > 0).then((100 * n / d).round(1))


def _counts(analysis_lines: pl.DataFrame, line_response: pl.DataFrame, by: str) -> pl.DataFrame:
    """Patient-lines per group and best response (n_sCR … n_NE), n_patients, n_evaluable."""
    best = line_response.select("patient_id", "line", "best_response")
    bad = best.filter(
        ~pl.col("best_response").is_in(CATEGORIES) | pl.col("best_response").is_null()
    )
    if bad.height:
        raise InvalidDataError(
            f"line_response, column 'best_response': {bad.height} rows hold a value outside "
            f"{', '.join(CATEGORIES)} (first: {bad['best_response'][0]!r}); derive it with "
            "mmrwe response."
        )
    analysis_lines, levels = analysis_groups(analysis_lines, by)
    joined = analysis_lines.select(by, "patient_id", "line").join(
        best, on=["patient_id", "line"], how="left"
    )
    counts = joined.group_by(by).agg(
        pl.len().cast(pl.Int64).alias("n_patients"),
        *[
            (pl.col("best_response").fill_null("NE") == c).sum().cast(pl.Int64).alias(f"n_{c}")
            for c in CATEGORIES
        ],
    )
    counts = levels.join(counts, on=by, how="left")
    return counts.with_columns(
        (pl.col("n_patients") - pl.col("n_NE")).alias("n_evaluable"),
        *[pl.sum_horizontal(f"n_{c}" for c in cats).alias(f"n_{r}") for r, cats in RATES.items()],
    )


def _rates(counts: pl.DataFrame, conf_level: float) -> pl.DataFrame:
    """Percentages of every count and the exact limits of the composite rates."""
    limits = {}
    for r in RATES:
        _, lower, upper = clopper_pearson(counts[f"n_{r}"], counts["n_patients"], conf_level)
        limits[f"lower_{r}"] = pl.Series(np.round(100 * lower, 1)).fill_nan(None)
        limits[f"upper_{r}"] = pl.Series(np.round(100 * upper, 1)).fill_nan(None)
    return counts.with_columns(
        *[_pct(pl.col(f"n_{r}"), pl.col("n_patients")).alias(f"pct_{r}") for r in RATES],
        *[_pct(pl.col(f"n_{r}"), pl.col("n_evaluable")).alias(f"pct_evaluable_{r}") for r in RATES],
        *[_pct(pl.col(f"n_{c}"), pl.col("n_patients")).alias(f"pct_{c}") for c in CATEGORIES],
        **limits,
        conf_level=pl.lit(conf_level),
    )


def response_relations() -> list[Sum]:
    """The additive structure of the table, for complementary suppression."""
    dist = tuple(f"n_{c}" for c in CATEGORIES)
    return [
        Sum("n_patients", dist),
        Sum("n_patients", ("n_evaluable", "n_NE")),
        *[Sum(f"n_{r}", tuple(f"n_{c}" for c in cats)) for r, cats in RATES.items()],
    ]


def response_columns(by: str) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """(all columns in order, count columns, derived column -> the counts it is computed from)."""
    counts = ["n_patients", "n_evaluable"]
    columns = [by, *counts]
    derived: dict[str, list[str]] = {}
    for r in RATES:
        counts.append(f"n_{r}")
        columns += [f"n_{r}", f"pct_{r}", f"lower_{r}", f"upper_{r}", f"pct_evaluable_{r}"]
        for d in (f"pct_{r}", f"lower_{r}", f"upper_{r}"):
            derived[d] = [f"n_{r}", "n_patients"]
        derived[f"pct_evaluable_{r}"] = [f"n_{r}", "n_evaluable"]
    for c in CATEGORIES:
        counts.append(f"n_{c}")
        columns += [f"n_{c}", f"pct_{c}"]
        derived[f"pct_{c}"] = [f"n_{c}", "n_patients"]
    return [*columns, "conf_level"], counts, derived


def response_rates(
    analysis_lines: pl.DataFrame,
    line_response: pl.DataFrame,
    *,
    by: str = "group",
    threshold: int = SMALL_CELL_THRESHOLD,
    conf_level: float = 0.95,
) -> pl.DataFrame:
    """Best-response distribution and ORR, ≥VGPR, ≥CR per group, small cells protected.

    Columns: ``by``, n_patients, n_evaluable; for orr, vgpr_or_better, cr_or_better: ``n_``,
    ``pct_`` (of n_patients), ``lower_``/``upper_`` (exact limits, %), ``pct_evaluable_``; then
    ``n_``/``pct_`` of sCR, CR, VGPR, PR, MR, SD, PD, NE; conf_level. Counts are text
    (``<11``/``withheld`` when protected, docs/privacy.md).
    """
    owner = "response_rates"
    check_parameter(0 < conf_level < 1, "conf_level", owner, "strictly between 0 and 1", conf_level)
    require_columns(analysis_lines, "analysis_lines", [by, "patient_id", "line"])
    require_columns(line_response, "line_response", ["patient_id", "line", "best_response"])
    table = _rates(_counts(analysis_lines, line_response, by), conf_level)
    columns, counts, derived = response_columns(by)
    return protect(
        table.select(columns),
        counts,
        threshold=threshold,
        relations=response_relations(),
        derived=derived,
    )
