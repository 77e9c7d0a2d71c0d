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
    li_b, li_o = baseline["line_row"].to_numpy(), online["line_row"].to_numpy()
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
    row = pl.col("line_row")
    return out.select(
        pl.lit(line["patient_id"]).gather(row).alias("patient_id"),
        pl.lit(line["line"]).gather(row).alias("line"),
        pl.col("day").cast(pl.Date).alias("date"),
        pl.col("role").replace_strict({0: "baseline", 1: "on_line"}, return_dtype=pl.String),
        _measured_text(pl.col("measured")).alias("measured"),
        "incomplete",
        "serum_m",
        "urine_m",
        "dflc",
        pl.col("ife_serum").replace_strict(ife, default=None, return_dtype=pl.String),
        pl.col("ife_urine").replace_strict(ife, default=None, return_dtype=pl.String),
        "bm_plasma_cells",
        category_name(pl.col("category_code")).alias("category"),
        "confirmed",
        pl.lit(reason).alias("reason"),
        pl.lit(line["measurable_by"]).gather(row).alias("measurable_by"),
    )


def _line_table(ln, base, base_row, a_day, base_day, rules: ResponseRules) -> pl.DataFrame:
    """Per line (``line_row`` 0…): baseline values and dates, involved light chain,
    measurability (``serum_measurable``, ``urine_measurable``, ``flc_only``: FLC-only disease)."""

    def date_of(rows: np.ndarray) -> pl.Series:
        days = a_day[np.maximum(rows, 0)] if a_day.size else np.zeros(rows.size, np.int64)
        return (
            pl.Series(np.where(rows >= 0, days, 0))
            .cast(pl.Date)
            .scatter(np.flatnonzero(rows < 0), None)
        )

    kappa0, lambda0 = pl.col("kappa_baseline"), pl.col("lambda_baseline")
    kappa_involved = pl.when(kappa0.is_null()).then(-1).when(kappa0 >= lambda0).then(1).otherwise(0)
    out = ln.with_columns(
        pl.Series("serum_m_baseline", base[K.QTY_SERUM], nan_to_null=True),
        pl.Series("urine_m_baseline", base[K.QTY_URINE], nan_to_null=True),
        pl.Series("kappa_baseline", base[K.QTY_KAPPA], nan_to_null=True),
        pl.Series("lambda_baseline", base[K.QTY_LAMBDA], nan_to_null=True),
        date_of(base_row[K.BASE_SERUM]).alias("serum_m_baseline_date"),
        date_of(base_row[K.BASE_URINE]).alias("urine_m_baseline_date"),
        date_of(base_row[K.BASE_FLC]).alias("flc_baseline_date"),
        pl.Series("baseline_day", base_day),
    ).with_columns(
        kappa_involved.alias("kappa_involved"),
        (pl.max_horizontal(kappa0, lambda0) - pl.min_horizontal(kappa0, lambda0)).alias(
            "dflc_baseline"
        ),
        pl.max_horizontal(kappa0, lambda0).alias("involved_flc_baseline"),
        (kappa0 / lambda0).alias("flc_ratio_baseline"),
    )
    serum = (pl.col("serum_m_baseline") >= rules.serum_measurable_g_dl).fill_null(False)
    urine = (pl.col("urine_m_baseline") >= rules.urine_measurable_mg_24h).fill_null(False)
    abnormal = ~pl.col("flc_ratio_baseline").is_between(rules.flc_ratio_low, rules.flc_ratio_high)
    involved = pl.col("involved_flc_baseline") >= rules.flc_measurable_mg_l
    flc_only = (~serum & ~urine & involved & abnormal).fill_null(False)
    out = out.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("line_row"))
    return out.with_columns(
        serum.alias("serum_measurable"),
        urine.alias("urine_measurable"),
        flc_only.alias("flc_only"),
    ).with_columns(
        pl.when(pl.col("flc_only"))
        .then(pl.lit("flc"))
        .otherwise(
            pl.concat_str(
                [
                    pl.when(pl.col("serum_measurable")).then(pl.lit("serum")),
                    pl.when(pl.col("urine_measurable")).then(pl.lit("urine")),
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
    """On-line assessments with their line's baseline, nadirs, carried marrow and category
    (the columns :mod:`mmrwe.response.categories` reads)."""
    on = np.flatnonzero(line_of >= 0)  # already ordered by patient, line, day
    line_row = line_of[on]
    g_ptr = group_pointers(line_row)
    first_row = line_row[g_ptr[:-1]]
    kappa, lam = qty[K.QTY_KAPPA, on], qty[K.QTY_LAMBDA, on]
    involved = line["kappa_involved"].to_numpy()[line_row]
    k_inv, l_inv = involved == 1, involved == 0
    dflc = np.where(k_inv, kappa - lam, np.where(l_inv, lam - kappa, np.abs(kappa - lam)))
    serum_m, urine_m = qty[K.QTY_SERUM, on], qty[K.QTY_URINE, on]

    def nadir(x: np.ndarray, baseline: str) -> pl.Series:
        base = line[baseline].fill_null(np.nan).to_numpy()[first_row]
        return pl.Series(K.nadir_before(g_ptr, x, base), nan_to_null=True)

    marrow = qty[K.QTY_MARROW, on]
    marrow_last = K.last_present(g_ptr, ~np.isnan(marrow))  # carried forward within the line
    has_marrow = marrow_last >= 0
    marrow_from = np.maximum(marrow_last, 0)
    clonal = qual[K.QUAL_CLONAL, on]
    clonal_last = K.last_present(g_ptr, clonal >= 0)
    frame = pl.DataFrame(
        {
            "line_row": line_row,
            "day": a_day[on],
            "serum_m": pl.Series(serum_m, nan_to_null=True),
            "urine_m": pl.Series(urine_m, nan_to_null=True),
            "kappa": pl.Series(kappa, nan_to_null=True),
            "lambda": pl.Series(lam, nan_to_null=True),
            "dflc": pl.Series(dflc, nan_to_null=True),
            "ife_serum": qual[K.QUAL_SERUM_IFE, on],
            "ife_urine": qual[K.QUAL_URINE_IFE, on],
            "bm_plasma_cells": pl.Series(marrow, nan_to_null=True),
            "bm_plasma_cells_carried": pl.Series(
                np.where(has_marrow, marrow[marrow_from], np.nan), nan_to_null=True
            ),
            "marrow_below_limit": np.where(
                has_marrow, qual[K.QUAL_MARROW_BELOW, on][marrow_from], -1
            ).astype(np.int8),
            "marrow_day": np.where(has_marrow, a_day[on][marrow_from], 0),
            "clonal_cells": np.where(
                clonal_last >= 0, clonal[np.maximum(clonal_last, 0)], -1
            ).astype(np.int8),
            "serum_m_nadir": nadir(serum_m, "serum_m_baseline"),
            "urine_m_nadir": nadir(urine_m, "urine_m_baseline"),
            "dflc_nadir": nadir(dflc, "dflc_baseline"),
        }
    )
    per_line = line.select(
        "serum_m_baseline",
        "urine_m_baseline",
        "dflc_baseline",
        "serum_measurable",
        "urine_measurable",
        "flc_only",
    )
    # lazily, so that the category expressions' common parts are computed once
    frame = (
        pl.concat([frame, per_line[line_row]], how="horizontal")
        .lazy()
        .with_columns((pl.col("kappa") / pl.col("lambda")).alias("flc_ratio"))
        .with_columns(category_columns(rules))
        .collect()
    )
    code = frame["category_code"].to_numpy()
    confirmed = K.confirm(g_ptr, code)
    # the last evaluable assessment of each line, for "unconfirmed: last assessment"
    last_evaluable = np.zeros(on.size, np.bool_)
    idx = K.last_present(g_ptr, code != K.NOT_EVALUABLE)
    ends = g_ptr[1:][g_ptr[1:] > g_ptr[:-1]] - 1
    last_evaluable[idx[ends][idx[ends] >= 0]] = True
    return frame.with_columns(
        pl.Series("confirmed", confirmed), pl.Series("last_evaluable", last_evaluable)
    )


def _measured(serum: pl.Expr, urine: pl.Expr, flc: pl.Expr) -> pl.Expr:
    """Bits of the measured components: 1 serum, 2 urine, 4 FLC."""
    return (serum.cast(pl.Int8) + 2 * urine.cast(pl.Int8) + 4 * flc.cast(pl.Int8)).cast(pl.Int8)


def _measured_text(bits: pl.Expr) -> pl.Expr:
    """``serum;urine;flc`` for the bits of :func:`_measured` (empty string if none)."""
    names = {1: "serum", 2: "urine", 4: "flc"}
    return bits.replace_strict(
        {k: ";".join(v for b, v in names.items() if k & b) for k in range(8)},
        return_dtype=pl.String,
    )


#: the numeric columns of baseline and on-line rows before :func:`_merge`
ROW_SCHEMA: dict[str, pl.DataType] = {
    "line_row": pl.Int64(),
    "day": pl.Int64(),
    "role": pl.Int8(),
    "measured": pl.Int8(),
    "incomplete": pl.Boolean(),
    "serum_m": pl.Float64(),
    "urine_m": pl.Float64(),
    "dflc": pl.Float64(),
    "ife_serum": pl.Int8(),
    "ife_urine": pl.Int8(),
    "bm_plasma_cells": pl.Float64(),
    "category_code": pl.Int64(),
    "confirmed": pl.Boolean(),
}


def _online_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """On-line rows as codes and numbers (text columns and reasons are added by :func:`_merge`)."""
    if frame.height == 0:
        return pl.DataFrame(schema=ROW_SCHEMA)
    serum, urine, dflc = pl.col("serum_m"), pl.col("urine_m"), pl.col("dflc")
    incomplete = (
        (pl.col("serum_measurable") & serum.is_null())
        | (pl.col("urine_measurable") & urine.is_null())
        | (pl.col("flc_only") & dflc.is_null())
    )
    return frame.select(
        "line_row",
        "day",
        pl.lit(1, pl.Int8).alias("role"),
        _measured(serum.is_not_null(), urine.is_not_null(), dflc.is_not_null()).alias("measured"),
        incomplete.alias("incomplete"),
        "serum_m",
        "urine_m",
        "dflc",
        "ife_serum",
        "ife_urine",
        "bm_plasma_cells",
        "category_code",
        "confirmed",
    ).cast(ROW_SCHEMA)


def _baseline_rows(line: pl.DataFrame, rules: ResponseRules) -> pl.DataFrame:
    """One ``baseline`` row per line with any baseline value, dated at its latest value, with
    its reason."""
    has = line.filter(pl.col("baseline_day") != K.NO_DAY)
    return has.select(
        "line_row",
        pl.col("baseline_day").alias("day"),
        pl.lit(0, pl.Int8).alias("role"),
        _measured(
            pl.col("serum_m_baseline").is_not_null(),
            pl.col("urine_m_baseline").is_not_null(),
            pl.col("kappa_baseline").is_not_null(),
        ).alias("measured"),
        pl.lit(False).alias("incomplete"),
        pl.col("serum_m_baseline").alias("serum_m"),
        pl.col("urine_m_baseline").alias("urine_m"),
        pl.col("dflc_baseline").alias("dflc"),
        pl.lit(-1, pl.Int8).alias("ife_serum"),
        pl.lit(-1, pl.Int8).alias("ife_urine"),
        pl.lit(None, pl.Float64).alias("bm_plasma_cells"),
        pl.lit(K.NOT_EVALUABLE, pl.Int64).alias("category_code"),
        pl.lit(False).alias("confirmed"),
        baseline_reason(rules).alias("reason"),
    ).cast(ROW_SCHEMA)
