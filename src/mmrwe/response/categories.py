"""The IMWG category of one assessment, as column expressions (Kumar 2016).

Works on a frame with one row per on-line assessment and these columns (quantities null when
not measured): ``serum_m`` (g/dL), ``urine_m`` (mg/24h), ``dflc`` (involved − uninvolved FLC,
mg/L), ``flc_ratio`` (κ/λ); ``ife_serum, ife_urine`` (1 positive, 0 negative, -1 not done);
``marrow_below_limit`` and ``clonal_cells`` (the marrow carried forward: 1/0/-1); the line's
baseline ``serum_m_baseline, urine_m_baseline, dflc_baseline``; its measurability
``serum_measurable, urine_measurable, flc_only`` (FLC-only disease); and the nadirs
``serum_m_nadir, urine_m_nadir, dflc_nadir``.

Rules (``docs/response.md``): a category is met when every measurable component measured at the
assessment meets it; criteria that name a component (urine < 100 mg/24h for VGPR, negative IFE
for CR) apply whenever it is measured; the category is the best one met, PD over all.
"""

from __future__ import annotations

import polars as pl

from mmrwe.io.schema import RESPONSE_CODES
from mmrwe.response.kernel import CR, MR, NOT_EVALUABLE, PD, PR, SCR, SD, VGPR
from mmrwe.response.rules import ResponseRules

#: the name of each category code of :mod:`mmrwe.response.kernel`, best first (the names are
#: :data:`mmrwe.io.schema.RESPONSE_CODES`; NE: not evaluable, only in ``line_response``)
CATEGORY_NAMES = dict(
    zip((SCR, CR, VGPR, PR, MR, SD, PD, NOT_EVALUABLE), RESPONSE_CODES, strict=True)
)
#: every category, best first
CATEGORIES = RESPONSE_CODES
#: rank of each category for comparisons: its kernel code (higher is better; NE lowest)
CATEGORY_RANK = {name: code for code, name in CATEGORY_NAMES.items()}

_EPS = 1e-9  # tolerance of floating-point unit conversion (15 g/L → 1.5000000000000002 g/dL)


def _at_most(x: pl.Expr, limit: pl.Expr) -> pl.Expr:
    return x <= limit + _EPS * limit.abs() + _EPS


def _at_least(x: pl.Expr, limit: pl.Expr | float) -> pl.Expr:
    limit = limit if isinstance(limit, pl.Expr) else pl.lit(limit)
    return x >= limit - _EPS * limit.abs() - _EPS


def _unless(active: pl.Expr, condition: pl.Expr) -> pl.Expr:
    """True where ``active`` is false, else ``condition`` (null counts as not met)."""
    return pl.when(active).then(condition.fill_null(False)).otherwise(True)


def category_columns(rules: ResponseRules) -> list[pl.Expr]:
    """Expressions adding ``pd_serum, pd_urine, pd_flc`` (which component met PD),
    ``cr_blocked_by_marrow``, ``scr_blocked_by_clonality`` and ``category_code``."""
    r = rules
    serum, urine, dflc = pl.col("serum_m"), pl.col("urine_m"), pl.col("dflc")
    serum0, urine0, dflc0 = (
        pl.col("serum_m_baseline"),
        pl.col("urine_m_baseline"),
        pl.col("dflc_baseline"),
    )
    serum_measurable, urine_measurable = pl.col("serum_measurable"), pl.col("urine_measurable")
    flc_only = pl.col("flc_only")
    # evaluable here: measurable at baseline and measured at this assessment
    ev_serum = serum_measurable & serum.is_not_null()
    ev_urine = urine_measurable & urine.is_not_null()
    ev_flc = flc_only & dflc.is_not_null()
    urine_measured = urine.is_not_null()
    ratio_normal = (
        pl.col("flc_ratio").is_between(r.flc_ratio_low, r.flc_ratio_high).fill_null(False)
    )

    pr = (
        _unless(ev_serum, _at_most(serum, serum0 * (1 - r.pr_serum_reduction)))
        & _unless(
            ev_urine,
            _at_most(urine, urine0 * (1 - r.pr_urine_reduction))
            | (urine < r.pr_urine_below_mg_24h),
        )
        & _unless(ev_flc, _at_most(dflc, dflc0 * (1 - r.pr_flc_reduction)))
    )
    # VGPR's serum and urine clauses name their component: they apply whenever it is measured
    # (an M-spike still seen on electrophoresis is not VGPR, measurable at baseline or not)
    vgpr_m_protein = _unless(
        serum.is_not_null(), (serum == 0) | _at_most(serum, serum0 * (1 - r.vgpr_serum_reduction))
    ) & _unless(urine_measured, urine < r.vgpr_urine_below_mg_24h)
    vgpr = vgpr_m_protein & _unless(ev_flc, _at_most(dflc, dflc0 * (1 - r.vgpr_flc_reduction)))
    mr = (
        ~flc_only
        & _unless(ev_serum, _at_most(serum, serum0 * (1 - r.mr_serum_reduction)))
        & _unless(ev_urine, _at_most(urine, urine0 * (1 - r.mr_urine_reduction)))
    )
    ife_serum, ife_urine = pl.col("ife_serum"), pl.col("ife_urine")
    serum_seen = serum.is_not_null() | (ife_serum >= 0)
    urine_seen = urine_measured | (ife_urine >= 0)
    # CR's "negative serum and urine IFE" applies to every component measured at the
    # assessment, measurable at baseline or not: a detectable M-spike, a positive IFE or a
    # measured component without a negative IFE blocks CR.
    ife_negative = (
        (ife_serum != 1)
        & (ife_urine != 1)
        & ((ife_serum == 0) | (ife_urine == 0))
        & _unless(serum_seen, (ife_serum == 0) & (serum.fill_null(0) <= 0))
        & _unless(urine_seen, (ife_urine == 0) & (urine.fill_null(0) <= 0))
    )
    below = pl.col("marrow_below_limit")
    marrow_ok = (below == 1) if r.require_marrow_for_cr else (below != 0)
    # CR in FLC-only disease needs a normal ratio (Kumar 2016), not VGPR's dFLC reduction
    cr_but_marrow = vgpr_m_protein & ife_negative & _unless(flc_only, ratio_normal)
    cr = cr_but_marrow & marrow_ok
    clonal = pl.col("clonal_cells")
    clonal_ok = (clonal == 0) if r.scr_requires_clonality else (clonal != 1)
    scr = cr & ratio_normal & clonal_ok

    pd_serum, pd_urine, pd_flc = _progression(r, ev_flc)
    code = (
        pl.when(~(serum_measurable | urine_measurable | flc_only))
        .then(NOT_EVALUABLE)
        .when(pd_serum | pd_urine | pd_flc)
        .then(PD)
        .when(~(ev_serum | ev_urine | ev_flc))
        .then(NOT_EVALUABLE)
        .when(scr)
        .then(SCR)
        .when(cr)
        .then(CR)
        .when(vgpr)
        .then(VGPR)
        .when(pr)
        .then(PR)
        .when(mr)
        .then(MR)
        .otherwise(SD)
    )
    return [
        pd_serum.alias("pd_serum"),
        pd_urine.alias("pd_urine"),
        pd_flc.alias("pd_flc"),
        (cr_but_marrow & ~marrow_ok).fill_null(False).alias("cr_blocked_by_marrow"),
        (cr & ratio_normal & ~clonal_ok).fill_null(False).alias("scr_blocked_by_clonality"),
        code.cast(pl.Int64).alias("category_code"),
    ]


def _progression(r: ResponseRules, ev_flc: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """PD of serum, urine and (FLC-only disease, evaluable: ``ev_flc``) dFLC from the nadir:
    ≥ 25 % and ≥ 0.5 g/dL / ≥ 200 mg/24h / > 100 mg/L; from a serum nadir ≥ 5 g/dL a rise of
    ≥ 1 g/dL suffices. Serum and urine count measurable at baseline or not (escape)."""
    serum, urine, dflc = pl.col("serum_m"), pl.col("urine_m"), pl.col("dflc")
    nadir_s, nadir_u, nadir_f = (
        pl.col("serum_m_nadir"),
        pl.col("urine_m_nadir"),
        pl.col("dflc_nadir"),
    )
    rise = r.pd_increase
    pd_serum = (
        serum.is_not_null()
        & nadir_s.is_not_null()
        & (
            (
                _at_least(serum - nadir_s, r.pd_serum_absolute_g_dl)
                & _at_least(serum, nadir_s * (1 + rise))
            )
            | (
                _at_least(nadir_s, r.pd_serum_high_nadir_g_dl)
                & _at_least(serum - nadir_s, r.pd_serum_high_nadir_increase_g_dl)
            )
        )
    ).fill_null(False)
    pd_urine = (
        urine.is_not_null()
        & nadir_u.is_not_null()
        & _at_least(urine - nadir_u, r.pd_urine_absolute_mg_24h)
        & _at_least(urine, nadir_u * (1 + rise))
    ).fill_null(False)
    pd_flc = (
        ev_flc
        & nadir_f.is_not_null()
        & (dflc - nadir_f > r.pd_flc_absolute_mg_l + _EPS)
        & _at_least(dflc, nadir_f * (1 + rise))
    ).fill_null(False)
    return pd_serum, pd_urine, pd_flc


def category_name(code: pl.Expr, not_evaluable: str | None = None) -> pl.Expr:
    """The category name of a code; ``not_evaluable`` (default null) for ``NOT_EVALUABLE``."""
    names = {**CATEGORY_NAMES, NOT_EVALUABLE: not_evaluable}
    return code.replace_strict(names, default=None, return_dtype=pl.String)
