"""``derive_assessments``: IMWG assessments per line from laboratory results (Kumar 2016).

Data flow: labs → assessment windows (:func:`~mmrwe.response.kernel.open_days`) → one row per
assessment, the highest value of each test (:func:`~mmrwe.response.kernel.aggregate`) → the line
each assessment is on and each line's baseline (:func:`~mmrwe.response.kernel.place`) →
measurability, dFLC, nadirs, the marrow carried forward → category
(:mod:`mmrwe.response.categories`) → confirmation → reason in words.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from mmrwe.contract import TableContract
from mmrwe.io.cohort import NO_PATIENT, patient_index
from mmrwe.response import kernel as K
from mmrwe.response import text as T
from mmrwe.response.categories import category_columns, category_name
from mmrwe.response.lines import group_pointers, line_frame, patient_pointers
from mmrwe.response.reasons import assessment_pieces, baseline_reason
from mmrwe.response.rules import ResponseRules

TEST_CODES = {
    "serum_m_protein": K.SERUM_M,
    "urine_m_protein": K.URINE_M,
    "kappa_flc": K.KAPPA,
    "lambda_flc": K.LAMBDA,
    "serum_ife": K.SERUM_IFE,
    "urine_ife": K.URINE_IFE,
    "bm_plasma_cells": K.BM_PC,
    "bm_clonal_cells": K.BM_CLONAL,
}
ASSESSMENT_SCHEMA: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "line": pl.Int64(),
    "date": pl.Date(),
    "role": pl.String(),
    "measured": pl.String(),
    "incomplete": pl.Boolean(),
    "serum_m": pl.Float64(),
    "urine_m": pl.Float64(),
    "dflc": pl.Float64(),
    "ife_serum": pl.String(),
    "ife_urine": pl.String(),
    "bm_plasma_cells": pl.Float64(),
    "category": pl.String(),
    "confirmed": pl.Boolean(),
    "reason": pl.String(),
    "measurable_by": pl.String(),
}
ASSESSMENTS_TABLE = TableContract("assessments", ASSESSMENT_SCHEMA)


def derive_assessments(
    labs: pl.DataFrame,
    lines: pl.DataFrame,
    rules: ResponseRules | None = None,
    *,
    car_t_index: str = "infusion",
) -> pl.DataFrame:
    """IMWG assessments of every line: its baseline row and its on-line assessments.

    ``labs``: the typed labs table of :func:`mmrwe.io.read_cohort` (canonical units);
    ``lines``: the ``lines`` table of :func:`mmrwe.lines.derive_lines_of_therapy`. Returns one
    row per patient, line and assessment date (columns :data:`ASSESSMENT_SCHEMA`; ``role`` is
    ``baseline`` or ``on_line``), sorted by patient, line and date. ``measurable_by`` (the
    components measurable at the line's baseline) is repeated on every row of the line.
    Patients are independent: a large cohort is run in partitions of whole patients by
    :mod:`mmrwe.pipeline`.
    """
    rules = rules or ResponseRules()
    ln = line_frame(lines, car_t_index, "derive_assessments")
    ids = ln["patient_id"].unique(maintain_order=True)
    if ids.is_empty():
        return ASSESSMENTS_TABLE.empty()
    ln = ln.with_columns(pl.Series("pidx", patient_index(ids, ln["patient_id"]), pl.Int64))
    return _partition(_prepare_labs(labs, ids), ln, ids, 0, rules)


def _prepare_labs(labs: pl.DataFrame, ids: pl.Series) -> pl.DataFrame:
    """Labs of the patients with lines: ``pidx, day, test, value, positive, rule``, sorted
    (``rule``: the value rule as :data:`mmrwe.response.kernel.EXACT`, ``BELOW`` or ``ABOVE``)."""
    lab = labs.select(
        "patient_id",
        pl.col("date").cast(pl.Int64).alias("day"),
        _test_code(labs.schema["test"]).alias("test"),
        pl.col("value").cast(pl.Float64).fill_null(float("nan")),
        pl.when(pl.col("result") == "positive")
        .then(1)
        .when(pl.col("result") == "negative")
        .then(0)
        .otherwise(-1)
        .cast(pl.Int8)
        .alias("positive"),
        pl.when(pl.col("value_rule") == "below_limit")
        .then(K.BELOW)
        .when(pl.col("value_rule") == "above_limit")
        .then(K.ABOVE)
        .otherwise(K.EXACT)
        .cast(pl.Int8)
        .alias("rule"),
    ).filter(pl.col("test").is_not_null() & pl.col("day").is_not_null())
    pidx = patient_index(ids, lab["patient_id"])
    lab = lab.drop("patient_id").with_columns(pl.Series("pidx", pidx, pl.Int64))
    if (pidx == NO_PATIENT).any():  # labs of patients without lines
        lab = lab.filter(pl.col("pidx") != NO_PATIENT)
    key = lab.select(pl.col("pidx") * (1 << 32) + pl.col("day"))["pidx"].to_numpy()
    if key.size and np.any(key[1:] < key[:-1]):
        lab = lab.sort("pidx", "day", maintain_order=True)
    return lab


def _test_code(dtype: pl.DataType) -> pl.Expr:
    """The kernel's code of each row's test (:data:`TEST_CODES`; null for other tests): from
    the Enum's integer codes when ``test`` is an Enum (no string comparisons)."""
    if isinstance(dtype, pl.Enum):
        table = [TEST_CODES.get(name) for name in dtype.categories.to_list()]
        return pl.lit(pl.Series(table, dtype=pl.Int8)).gather(pl.col("test").to_physical())
    return pl.col("test").replace_strict(TEST_CODES, default=None, return_dtype=pl.Int8)


def _partition(
    lab: pl.DataFrame, ln: pl.DataFrame, ids: pl.Series, lo: int, rules: ResponseRules
) -> pl.DataFrame:
    n_p = ids.len()
    lab_pat = lab["pidx"].to_numpy() - lo
    ln_pat = ln["pidx"].to_numpy() - lo
    # --- windows close at every line start and index date (a visit never spans them); an
    # assessment belongs to a baseline window when any of its results does (``a_last``)
    brk = (
        pl.concat(
            [
                ln.select(pl.col("pidx") - lo, pl.col("start_date").cast(pl.Int64).alias("d")),
                ln.select(pl.col("pidx") - lo, pl.col("index_day").alias("d")),
            ]
        )
        .unique()
        .sort("pidx", "d")
    )
    brk_ptr = patient_pointers(brk["pidx"].to_numpy(), n_p)
    aday = K.open_days(
        lab_pat, lab["day"].to_numpy(), brk_ptr, brk["d"].to_numpy(), rules.assessment_window_days
    )
    a_pat, a_day, qty, qual = K.aggregate(
        lab_pat,
        aday,
        lab["test"].to_numpy(),
        lab["value"].to_numpy(),
        lab["positive"].to_numpy(),
        lab["rule"].to_numpy(),
        rules.cr_marrow_below_pct,
    )
    days = lab["day"].to_numpy()
    run_end = np.flatnonzero(np.r_[(lab_pat[1:] != lab_pat[:-1]) | (aday[1:] != aday[:-1]), True])
    a_last = days[run_end] if days.size else np.empty(0, np.int64)
    assert a_last.size == a_day.size  # one assessment per run of (patient, opening day)
    line_of, base, base_row, base_day = K.place(
        patient_pointers(a_pat, n_p),
        a_day,
        a_last,
        qty,
        patient_pointers(ln_pat, n_p),
        ln["index_day"].to_numpy(),
        ln["next_day"].to_numpy(),
        rules.baseline_window_days,
    )
    line = _line_table(ln, base, base_row, a_day, base_day, rules)
    frame = _online_table(line_of, a_day, qty, qual, line, rules)
    return _merge(_baseline_rows(line, rules), _online_rows(frame), frame, line, rules)


def _merge(
    baseline: pl.DataFrame,
    online: pl.DataFrame,
    frame: pl.DataFrame,
    line: pl.DataFrame,
    rules: ResponseRules,
) -> pl.DataFrame:
    """Baseline and on-line rows in patient, line and date order, with the reasons.

    Each line's baseline row precedes its on-line rows (dated on or before the index, they are
    after it); on-line rows are already in order. The reasons are assembled in final order
    (:func:`mmrwe.response.text.join_groups`) and the text columns made from codes after
    ordering, instead of sorting long strings.
    """
    n_lines = line.height
    li_b, li_o = baseline["li"].to_numpy(), online["li"].to_numpy()
    n_b, n_o = li_b.size, li_o.size
    has_b = np.zeros(n_lines, np.int64)
    has_b[li_b] = 1
    count_o = np.bincount(li_o, minlength=n_lines).astype(np.int64)
    first = np.concatenate([[0], np.cumsum(count_o + has_b)[:-1]]).astype(np.int64)
    start_o = np.concatenate([[0], np.cumsum(count_o)[:-1]]).astype(np.int64)
    pos_b = first[li_b]
    pos_o = first[li_o] + has_b[li_o] + (np.arange(n_o) - start_o[li_o])
    order = np.empty(n_b + n_o, np.int64)
    order[pos_b] = np.arange(n_b)
    order[pos_o] = n_b + np.arange(n_o)
    out = pl.concat([baseline.drop("reason"), online])[order]
    groups = [([T.Piece(baseline["reason"], np.arange(n_b, dtype=np.int32))], pos_b)]
    if n_o:
        groups.append((assessment_pieces(frame, rules), pos_o))
    reason = T.join_groups(n_b + n_o, groups) if n_b + n_o else pl.Series([], dtype=pl.String)
    ife = {1: "positive", 0: "negative"}
    li = pl.col("li")
    return out.select(
        pl.lit(line["patient_id"]).gather(li).alias("patient_id"),
        pl.lit(line["line"]).gather(li).alias("line"),
        pl.col("day").cast(pl.Date).alias("date"),
        pl.col("role").replace_strict({0: "baseline", 1: "on_line"}, return_dtype=pl.String),
        _measured_text(pl.col("measured")).alias("measured"),
        "incomplete",
        "serum_m",
        "urine_m",
        "dflc",
        pl.col("sife").replace_strict(ife, default=None, return_dtype=pl.String).alias("ife_serum"),
        pl.col("uife").replace_strict(ife, default=None, return_dtype=pl.String).alias("ife_urine"),
        "bm_plasma_cells",
        category_name(pl.col("code")).alias("category"),
        "confirmed",
        pl.lit(reason).alias("reason"),
        pl.lit(line["measurable_by"]).gather(li).alias("measurable_by"),
    )


def _line_table(ln, base, base_row, a_day, base_day, rules: ResponseRules) -> pl.DataFrame:
    """Per line: baseline values and dates, involved light chain, measurability."""

    def date_of(rows: np.ndarray) -> pl.Series:
        days = a_day[np.maximum(rows, 0)] if a_day.size else np.zeros(rows.size, np.int64)
        return (
            pl.Series(np.where(rows >= 0, days, 0))
            .cast(pl.Date)
            .scatter(np.flatnonzero(rows < 0), None)
        )

    k0, l0 = pl.col("k0"), pl.col("l0")
    ratio0 = k0 / l0
    kappa_involved = pl.when(k0.is_null()).then(-1).when(k0 >= l0).then(1).otherwise(0)
    out = ln.with_columns(
        pl.Series("s0", base[0], nan_to_null=True),
        pl.Series("u0", base[1], nan_to_null=True),
        pl.Series("k0", base[2], nan_to_null=True),
        pl.Series("l0", base[3], nan_to_null=True),
        date_of(base_row[0]).alias("s0_date"),
        date_of(base_row[1]).alias("u0_date"),
        date_of(base_row[2]).alias("f0_date"),
        pl.Series("base_day", base_day),
    ).with_columns(
        kappa_involved.alias("kappa_involved"),
        (pl.max_horizontal(k0, l0) - pl.min_horizontal(k0, l0)).alias("f0"),
        pl.max_horizontal(k0, l0).alias("inv0"),
        ratio0.alias("ratio0"),
    )
    ms = (pl.col("s0") >= rules.serum_measurable_g_dl).fill_null(False)
    mu = (pl.col("u0") >= rules.urine_measurable_mg_24h).fill_null(False)
    abnormal = ~pl.col("ratio0").is_between(rules.flc_ratio_low, rules.flc_ratio_high)
    mf = (~ms & ~mu & (pl.col("inv0") >= rules.flc_measurable_mg_l) & abnormal).fill_null(False)
    out = out.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("li"))
    return out.with_columns(ms.alias("ms"), mu.alias("mu"), mf.alias("mf")).with_columns(
        pl.when(pl.col("mf"))
        .then(pl.lit("flc"))
        .otherwise(
            pl.concat_str(
                [
                    pl.when(pl.col("ms")).then(pl.lit("serum")),
                    pl.when(pl.col("mu")).then(pl.lit("urine")),
                ],
                separator=";",
                ignore_nulls=True,
            )
        )
        .replace("", "none")
        .alias("measurable_by")
    )


def _online_table(
    line_of, a_day, qty, qual, line: pl.DataFrame, rules: ResponseRules
) -> pl.DataFrame:
    """On-line assessments with their line's baseline, nadirs, carried marrow and category."""
    on = np.flatnonzero(line_of >= 0)  # already ordered by patient, line, day
    li = line_of[on]
    g_ptr = group_pointers(li)
    gl = li[g_ptr[:-1]]
    kappa, lam = qty[2, on], qty[3, on]
    inv = line["kappa_involved"].to_numpy()[li]
    k_inv, l_inv = inv == 1, inv == 0
    dflc = np.where(k_inv, kappa - lam, np.where(l_inv, lam - kappa, np.abs(kappa - lam)))
    s0 = line["s0"].fill_null(np.nan).to_numpy()
    u0 = line["u0"].fill_null(np.nan).to_numpy()
    d0 = line["f0"].fill_null(np.nan).to_numpy()
    s, u = qty[0, on], qty[1, on]
    ns = K.nadir_before(g_ptr, s, s0[gl])
    nu = K.nadir_before(g_ptr, u, u0[gl])
    nf = K.nadir_before(g_ptr, dflc, d0[gl])
    bm = qty[4, on]
    bm_last = K.last_present(g_ptr, ~np.isnan(bm))
    has_bm = bm_last >= 0
    cl = qual[2, on]
    cl_last = K.last_present(g_ptr, cl >= 0)
    last = np.zeros(on.size, np.bool_)
    last[g_ptr[1:][g_ptr[1:] > 0] - 1] = True
    frame = pl.DataFrame(
        {
            "li": li,
            "day": a_day[on],
            "s": pl.Series(s, nan_to_null=True),
            "u": pl.Series(u, nan_to_null=True),
            "kappa": pl.Series(kappa, nan_to_null=True),
            "lambda": pl.Series(lam, nan_to_null=True),
            "f": pl.Series(dflc, nan_to_null=True),
            "sife": qual[0, on],
            "uife": qual[1, on],
            "bm": pl.Series(bm, nan_to_null=True),
            "bm_c": pl.Series(
                np.where(has_bm, bm[np.maximum(bm_last, 0)], np.nan), nan_to_null=True
            ),
            "bm_lt": np.where(has_bm, qual[3, on][np.maximum(bm_last, 0)], -1).astype(np.int8),
            "bm_day": np.where(has_bm, a_day[on][np.maximum(bm_last, 0)], 0),
            "has_bm": has_bm,
            "clonal": np.where(cl_last >= 0, cl[np.maximum(cl_last, 0)], -1).astype(np.int8),
            "ns": pl.Series(ns, nan_to_null=True),
            "nu": pl.Series(nu, nan_to_null=True),
            "nf": pl.Series(nf, nan_to_null=True),
            "last": last,
        }
    )
    per_line = line.select("s0", "u0", "f0", "ms", "mu", "mf")
    # lazily, so that the category expressions' common parts are computed once
    frame = (
        pl.concat([frame, per_line[li]], how="horizontal")
        .lazy()
        .with_columns((pl.col("kappa") / pl.col("lambda")).alias("ratio"))
        .with_columns(category_columns(rules))
        .collect()
    )
    confirmed = K.confirm(g_ptr, frame["code"].to_numpy())
    # the last evaluable assessment of each line, for "unconfirmed: last assessment"
    evaluable = frame["code"].to_numpy() != K.NOT_EVALUABLE
    last_ev = np.zeros(on.size, np.bool_)
    idx = K.last_present(g_ptr, evaluable)
    ends = g_ptr[1:][g_ptr[1:] > g_ptr[:-1]] - 1
    last_ev[idx[ends][idx[ends] >= 0]] = True
    return frame.with_columns(pl.Series("confirmed", confirmed), pl.Series("last", last_ev))


def _measured(ms: pl.Expr, mu: pl.Expr, mf: pl.Expr) -> pl.Expr:
    """Bits of the measured components: 1 serum, 2 urine, 4 FLC."""
    return (ms.cast(pl.Int8) + 2 * mu.cast(pl.Int8) + 4 * mf.cast(pl.Int8)).cast(pl.Int8)


def _measured_text(bits: pl.Expr) -> pl.Expr:
    """``serum;urine;flc`` for the bits of :func:`_measured` (empty string if none)."""
    names = {1: "serum", 2: "urine", 4: "flc"}
    return bits.replace_strict(
        {k: ";".join(v for b, v in names.items() if k & b) for k in range(8)},
        return_dtype=pl.String,
    )


#: the numeric columns of baseline and on-line rows before :func:`_merge`
ROW_SCHEMA: dict[str, pl.DataType] = {
    "li": pl.Int64(),
    "day": pl.Int64(),
    "role": pl.Int8(),
    "measured": pl.Int8(),
    "incomplete": pl.Boolean(),
    "serum_m": pl.Float64(),
    "urine_m": pl.Float64(),
    "dflc": pl.Float64(),
    "sife": pl.Int8(),
    "uife": pl.Int8(),
    "bm_plasma_cells": pl.Float64(),
    "code": pl.Int64(),
    "confirmed": pl.Boolean(),
}


def _online_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """On-line rows as codes and numbers (text columns and reasons are added by :func:`_merge`)."""
    if frame.height == 0:
        return pl.DataFrame(schema=ROW_SCHEMA)
    incomplete = (
        (pl.col("ms") & pl.col("s").is_null())
        | (pl.col("mu") & pl.col("u").is_null())
        | (pl.col("mf") & pl.col("f").is_null())
    )
    return frame.select(
        pl.col("li"),
        pl.col("day"),
        pl.lit(1, pl.Int8).alias("role"),
        _measured(
            pl.col("s").is_not_null(), pl.col("u").is_not_null(), pl.col("f").is_not_null()
        ).alias("measured"),
        incomplete.alias("incomplete"),
        pl.col("s").alias("serum_m"),
        pl.col("u").alias("urine_m"),
        pl.col("f").alias("dflc"),
        pl.col("sife"),
        pl.col("uife"),
        pl.col("bm").alias("bm_plasma_cells"),
        pl.col("code"),
        pl.col("confirmed"),
    ).cast(ROW_SCHEMA)


def _baseline_rows(line: pl.DataFrame, rules: ResponseRules) -> pl.DataFrame:
    """One ``baseline`` row per line with any baseline value, dated at its latest value, with
    its reason."""
    has = line.filter(pl.col("base_day") != K.NO_DAY)
    return has.select(
        "li",
        pl.col("base_day").alias("day"),
        pl.lit(0, pl.Int8).alias("role"),
        _measured(
            pl.col("s0").is_not_null(), pl.col("u0").is_not_null(), pl.col("k0").is_not_null()
        ).alias("measured"),
        pl.lit(False).alias("incomplete"),
        pl.col("s0").alias("serum_m"),
        pl.col("u0").alias("urine_m"),
        pl.col("f0").alias("dflc"),
        pl.lit(-1, pl.Int8).alias("sife"),
        pl.lit(-1, pl.Int8).alias("uife"),
        pl.lit(None, pl.Float64).alias("bm_plasma_cells"),
        pl.lit(K.NOT_EVALUABLE, pl.Int64).alias("code"),
        pl.lit(False).alias("confirmed"),
        baseline_reason(rules).alias("reason"),
    ).cast(ROW_SCHEMA)
