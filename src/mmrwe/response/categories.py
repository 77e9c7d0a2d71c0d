"""The IMWG category of one assessment, as column expressions (Kumar 2016).

Works on a frame with one row per on-line assessment and these columns (quantities null when
not measured): ``s, u, f, ratio`` (serum M g/dL, urine M mg/24h, dFLC mg/L, κ/λ), ``sife,
uife`` (1 positive, 0 negative, -1 not done), ``bm_lt`` and ``clonal`` (the marrow carried
forward: 1/0/-1), the baseline ``s0, u0, f0``, the measurability flags ``ms, mu, mf`` (serum,
urine, FLC-only) and the nadirs ``ns, nu, nf``.

Rules (``docs/response.md``): a category is met when every measurable component measured at the
assessment meets it; criteria that name a component (urine < 100 mg/24h for VGPR, negative IFE
for CR) apply whenever it is measured; the category is the best one met, PD over all.
"""

from __future__ import annotations

import polars as pl

from mmrwe.io.schema import RESPONSE_CODES
from mmrwe.response.kernel import CR, MR, NOT_EVALUABLE, PD, PR, SCR, SD, VGPR
from mmrwe.response.rules import ResponseRules

CATEGORY_NAMES = {SCR: "sCR", CR: "CR", VGPR: "VGPR", PR: "PR", MR: "MR", SD: "SD", PD: "PD"}
#: every category, best first (NE: not evaluable, only in ``line_response``)
CATEGORIES = RESPONSE_CODES
#: rank of each category for comparisons (higher is better; NE lowest)
CATEGORY_RANK = {"sCR": 6, "CR": 5, "VGPR": 4, "PR": 3, "MR": 2, "SD": 1, "PD": 0, "NE": -1}

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
    """Expressions adding ``pd_s, pd_u, pd_f, cr_blocked_by_marrow, code``."""
    s, u, d = pl.col("s"), pl.col("u"), pl.col("f")
    s0, u0, d0 = pl.col("s0"), pl.col("u0"), pl.col("f0")
    ms, mu, mf = pl.col("ms"), pl.col("mu"), pl.col("mf")
    ev_s, ev_u, ev_f = ms & s.is_not_null(), mu & u.is_not_null(), mf & d.is_not_null()
    u_measured = u.is_not_null()
    ratio_normal = (
        pl.col("ratio").is_between(rules.flc_ratio_low, rules.flc_ratio_high).fill_null(False)
    )

    pr = (
        _unless(ev_s, _at_most(s, s0 * (1 - rules.pr_serum_reduction)))
        & _unless(
            ev_u,
            _at_most(u, u0 * (1 - rules.pr_urine_reduction)) | (u < rules.pr_urine_below_mg_24h),
        )
        & _unless(ev_f, _at_most(d, d0 * (1 - rules.pr_flc_reduction)))
    )
    # VGPR's serum and urine clauses name their component: they apply whenever it is measured
    # (an M-spike still seen on electrophoresis is not VGPR, measurable at baseline or not)
    vgpr_m_protein = _unless(
        s.is_not_null(), (s == 0) | _at_most(s, s0 * (1 - rules.vgpr_serum_reduction))
    ) & _unless(u_measured, u < rules.vgpr_urine_below_mg_24h)
    vgpr = vgpr_m_protein & _unless(ev_f, _at_most(d, d0 * (1 - rules.vgpr_flc_reduction)))
    mr = (
        ~mf
        & _unless(ev_s, _at_most(s, s0 * (1 - rules.mr_serum_reduction)))
        & _unless(ev_u, _at_most(u, u0 * (1 - rules.mr_urine_reduction)))
    )
    sife, uife = pl.col("sife"), pl.col("uife")
    serum_seen = s.is_not_null() | (sife >= 0)
    urine_seen = u_measured | (uife >= 0)
    # CR's "negative serum and urine IFE" applies to every component measured at the
    # assessment, measurable at baseline or not: a detectable M-spike, a positive IFE or a
    # measured component without a negative IFE blocks CR.
    ife_negative = (
        (sife != 1)
        & (uife != 1)
        & ((sife == 0) | (uife == 0))
        & _unless(serum_seen, (sife == 0) & (s.fill_null(0) <= 0))
        & _unless(urine_seen, (uife == 0) & (u.fill_null(0) <= 0))
    )
    marrow_ok = (pl.col("bm_lt") == 1) if rules.require_marrow_for_cr else (pl.col("bm_lt") != 0)
    # CR in FLC-only disease needs a normal ratio (Kumar 2016), not VGPR's dFLC reduction
    cr_but_marrow = vgpr_m_protein & ife_negative & _unless(mf, ratio_normal)
    cr = cr_but_marrow & marrow_ok
    clonal_ok = (pl.col("clonal") == 0) if rules.scr_requires_clonality else (pl.col("clonal") != 1)
    scr = cr & ratio_normal & clonal_ok

    ns, nu, nf = pl.col("ns"), pl.col("nu"), pl.col("nf")
    rise = rules.pd_increase
    pd_serum = (
        s.is_not_null()
        & ns.is_not_null()
        & (
            (_at_least(s - ns, rules.pd_serum_absolute_g_dl) & _at_least(s, ns * (1 + rise)))
            | (
                _at_least(ns, rules.pd_serum_high_nadir_g_dl)
                & _at_least(s - ns, rules.pd_serum_high_nadir_increase_g_dl)
            )
        )
    ).fill_null(False)
    pd_urine = (
        u_measured
        & nu.is_not_null()
        & _at_least(u - nu, rules.pd_urine_absolute_mg_24h)
        & _at_least(u, nu * (1 + rise))
    ).fill_null(False)
    pd_flc = (
        ev_f
        & nf.is_not_null()
        & (d - nf > rules.pd_flc_absolute_mg_l + _EPS)
        & _at_least(d, nf * (1 + rise))
    ).fill_null(False)
    measurable = ms | mu | mf
    code = (
        pl.when(~measurable)
        .then(NOT_EVALUABLE)
        .when(pd_serum | pd_urine | pd_flc)
        .then(PD)
        .when(~(ev_s | ev_u | ev_f))
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
        pd_serum.alias("pd_s"),
        pd_urine.alias("pd_u"),
        pd_flc.alias("pd_f"),
        (cr_but_marrow & ~marrow_ok).fill_null(False).alias("cr_blocked_by_marrow"),
        (cr & ratio_normal & ~clonal_ok).fill_null(False).alias("scr_blocked_by_clonality"),
        code.cast(pl.Int64).alias("code"),
    ]


def category_name(code: pl.Expr) -> pl.Expr:
    """The category name of a code (null when not evaluable)."""
    return code.replace_strict(CATEGORY_NAMES, default=None, return_dtype=pl.String)
