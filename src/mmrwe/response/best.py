"""Best overall response and progression per line (Kumar 2016), labs and physician combined.

- A line is *lab-evaluable* when a component is measurable at its baseline and it has at least
  two evaluable assessments after the index date (a single PD-level assessment is not enough);
  then labs decide the best response: the best category held at two consecutive assessments
  before progression or the next line (:func:`mmrwe.response.kernel.best_response`); ``SD``
  when none is held and there is no progression; ``PD`` when the line progressed without a
  confirmed category.
- Otherwise the best physician-recorded response of the line (``responses`` dated after the
  index and before the next line, up to the progression: the first recorded PD or the lab PD),
  used as recorded (or confirmed first, ``ResponseRules.confirm_recorded``);
- otherwise, when the line progressed (lab or recorded PD) before any response was established,
  ``PD`` with ``response_source`` the source of that progression; otherwise ``NE`` (no
  evidence at all).
- Progression = the earliest of the lab PD and the recorded PD of the line, whether or not
  the line is lab-evaluable.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from mmrwe.contract import TableContract
from mmrwe.response import kernel as K
from mmrwe.response.categories import CATEGORY_RANK, category_name
from mmrwe.response.lines import group_pointers, line_frame, next_in_group
from mmrwe.response.rules import ResponseRules

LINE_RESPONSE_SCHEMA: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "line": pl.Int64(),
    "best_response": pl.String(),
    "best_response_date": pl.Date(),
    "first_response_date": pl.Date(),
    "progression_date": pl.Date(),
    "relapse_from_cr_date": pl.Date(),
    "response_source": pl.String(),
    "measurable_by": pl.String(),
    "progression_source": pl.String(),
}
LINE_RESPONSE_TABLE = TableContract("line_response", LINE_RESPONSE_SCHEMA)
_OWNER = "derive_line_response"


def derive_line_response(
    assessments: pl.DataFrame,
    lines: pl.DataFrame,
    responses: pl.DataFrame | None = None,
    patients: pl.DataFrame | None = None,
    rules: ResponseRules | None = None,
    *,
    car_t_index: str = "infusion",
) -> pl.DataFrame:
    """One row per patient and line: best response, its dates, progression and their sources.

    ``assessments``: the table of :func:`derive_assessments`; ``lines``: the lines table;
    ``responses``: physician-recorded ``patient_id, date, response`` (optional); ``patients``:
    ``patient_id, death_date`` for the unconfirmed-PD rule (optional). Columns
    :data:`LINE_RESPONSE_SCHEMA`; ``progression_source`` is ``labs``, ``physician`` or ``none``.
    """
    rules = rules or ResponseRules()
    ln = line_frame(lines, car_t_index, _OWNER).with_row_index("line_row")
    death = _death_days(ln, patients)
    rec, rec_pd = _recorded(ln, responses)
    if rules.confirm_recorded:
        end = _line_end_days(ln, death)
        rec, rec_pd = _confirmed_progression(rec, end, rules.unconfirmed_pd_window_days)
    used = ["patient_id", "line", "date", "category", "serum_m", "urine_m", "ife_serum"]
    used += ["ife_urine", "bm_plasma_cells"]  # not the reasons: filtering them costs
    on = assessments.select(*used, "role").filter(pl.col("role") == "on_line")
    if not _in_order(on):
        on = on.sort("patient_id", "line", "date")
    keys = on.select("patient_id", "line").with_columns(
        pl.struct("patient_id", "line").rle_id().alias("run")
    )
    run = keys["run"].to_numpy()
    g_ptr = group_pointers(run)
    first = keys.gather(g_ptr[:-1]).join(
        ln.select("patient_id", "line", "line_row", "next_day"),
        on=["patient_id", "line"],
        how="left",
        maintain_order="left",  # rows stay aligned with g_ptr
    )
    first = first.join(rec_pd, on="line_row", how="left", maintain_order="left")
    rows = first["line_row"].to_numpy()
    reappear = on.select(
        (
            (pl.col("serum_m") > 0)
            | (pl.col("urine_m") > 0)
            | (pl.col("ife_serum") == "positive")
            | (pl.col("ife_urine") == "positive")
            | (pl.col("bm_plasma_cells") >= rules.cr_marrow_below_pct)
        ).fill_null(False)
    ).to_series()
    code = (
        on["category"].replace_strict(CATEGORY_RANK, default=K.NOT_EVALUABLE).cast(pl.Int64)
    ).to_numpy()
    best, best_day, first_resp, pd_day, relapse, n_eval = K.best_response(
        g_ptr,
        code,
        on["date"].cast(pl.Int64).to_numpy(),
        reappear.to_numpy(),
        first["next_day"].to_numpy(),
        death[rows] if rows.size else np.zeros(0, np.int64),
        first["rec_pd"].cast(pl.Int64).fill_null(K.FAR).to_numpy(),
        rules.unconfirmed_pd_window_days,
    )

    lab = pl.DataFrame(
        {
            "line_row": first["line_row"],
            "lab_best": best,
            "lab_best_date": _dates(best_day),
            "lab_first_response": _dates(first_resp),
            "lab_pd": _dates(pd_day),
            "relapse_from_cr_date": _dates(relapse),
            "n_eval": n_eval,
        }
    )
    measurable = (
        assessments.lazy()  # select before filtering: the reasons are not copied
        .filter(pl.col("role") == "baseline")
        .select("patient_id", "line", "measurable_by")
        .collect()
    )
    recorded = _recorded_best(
        rec, rec_pd, lab.select("line_row", "lab_pd"), confirm=rules.confirm_recorded
    )
    out = (
        ln.join(lab, on="line_row", how="left")
        .join(recorded, on="line_row", how="left")
        .join(measurable, on=["patient_id", "line"], how="left")
        .with_columns(pl.col("measurable_by").fill_null("none"), pl.col("n_eval").fill_null(0))
    )
    return _combine(out).sort("patient_id", "line").select(list(LINE_RESPONSE_SCHEMA))


def _dates(days: np.ndarray) -> pl.Series:
    """Kernel days as dates (``NO_DAY``: null)."""
    return (
        pl.Series(np.where(days == K.NO_DAY, 0, days))
        .cast(pl.Date)
        .scatter(np.flatnonzero(days == K.NO_DAY), None)
    )


def _in_order(df: pl.DataFrame) -> bool:
    """Whether rows are sorted by patient, line and date (as derive_assessments returns them)."""
    pid, line, date = pl.col("patient_id"), pl.col("line"), pl.col("date")
    same_pid, same_line = pid == pid.shift(), line == line.shift()
    ok = (pid > pid.shift()) | (
        same_pid & ((line > line.shift()) | (same_line & (date > date.shift())))
    )
    return bool(df.select(ok.fill_null(True).all()).item())


def _death_days(ln: pl.DataFrame, patients: pl.DataFrame | None) -> np.ndarray:
    if patients is None or "death_date" not in patients.columns:
        return np.full(ln.height, K.FAR, np.int64)
    return (
        ln.select("patient_id")
        .join(
            patients.select("patient_id", "death_date"),
            on="patient_id",
            how="left",
            maintain_order="left",  # one value per line row, indexed by line_row
        )
        .select(pl.col("death_date").cast(pl.Int64).fill_null(K.FAR))
        .to_series()
        .to_numpy()
    )


def _recorded(
    ln: pl.DataFrame, responses: pl.DataFrame | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Physician records per line: ``line_row, date, rank`` sorted, and ``line_row, rec_pd`` (the first
    recorded PD). Records belong to a line when dated after its index date and before the next
    line's start."""
    rows = pl.DataFrame(schema={"line_row": pl.UInt32(), "date": pl.Date(), "rank": pl.Int64()})
    first_pd = pl.DataFrame(schema={"line_row": pl.UInt32(), "rec_pd": pl.Date()})
    if responses is None or responses.height == 0:
        return rows, first_pd
    idx = ln.select("patient_id", "line_row", "index_date", "next_start").sort("index_date")
    rec = (
        responses.select("patient_id", "date", "response")
        .filter(pl.col("date").is_not_null())
        .sort("date")
        .join_asof(
            idx,
            left_on="date",
            right_on="index_date",
            by="patient_id",
            strategy="backward",
            allow_exact_matches=False,
            check_sortedness=False,  # sorted by date overall, hence within each patient
        )
        .filter(
            pl.col("line_row").is_not_null()
            & (pl.col("next_start").is_null() | (pl.col("date") < pl.col("next_start")))
        )
        .with_columns(pl.col("response").replace_strict(CATEGORY_RANK, default=None).alias("rank"))
        .filter(pl.col("rank").is_not_null())
        .sort("line_row", "date")
        .select(list(rows.schema))
        .cast(rows.schema)
    )
    pd = (
        rec.filter(pl.col("rank") == K.PD)
        .group_by("line_row")
        .agg(pl.col("date").min().alias("rec_pd"))
    )
    return rec, pd.cast(first_pd.schema)


def recorded_progression_dates(
    lines: pl.DataFrame,
    responses: pl.DataFrame | None,
    patients: pl.DataFrame | None = None,
    rules: ResponseRules | None = None,
    *,
    car_t_index: str = "infusion",
) -> pl.DataFrame:
    """``patient_id, date`` of physician-recorded progression, for refractoriness: every PD call
    as recorded, or with ``rules.confirm_recorded`` only the PD calls confirmed as the lines'
    best responses read them (a second PD call, or the next line or death within
    ``unconfirmed_pd_window_days``); an unconfirmed per-visit PD call makes no drug refractory."""
    from mmrwe.lines import recorded_progression

    rules = rules or ResponseRules()
    if responses is None or not rules.confirm_recorded:
        return recorded_progression(
            responses if responses is not None else pl.DataFrame(schema=_CALLS_SCHEMA)
        )
    ln = line_frame(lines, car_t_index, _OWNER).with_row_index("line_row")
    rec, _ = _recorded(ln, responses)
    end = _line_end_days(ln, _death_days(ln, patients))
    calls, _ = _confirmed_progression(rec, end, rules.unconfirmed_pd_window_days)
    return (
        calls.filter("pd_confirmed")
        .join(ln.select("line_row", "patient_id"), on="line_row")
        .select("patient_id", "date")
        .unique()
        .sort("patient_id", "date")
    )


_CALLS_SCHEMA = {"patient_id": pl.String(), "date": pl.Date(), "response": pl.String()}


def _line_end_days(ln: pl.DataFrame, death: np.ndarray) -> pl.DataFrame:
    """``line_row, end_day``: the day a line's follow-up for PD confirmation ends (the next
    line's start or death, whichever first)."""
    return pl.DataFrame(
        {"line_row": ln["line_row"], "end_day": np.minimum(ln["next_day"].to_numpy(), death)}
    )


def _confirmed_progression(
    rec: pl.DataFrame, end: pl.DataFrame, pd_window: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per-visit calls (``confirm_recorded``): ``rec`` without NE calls, one call per day (the
    worst of the day: one visit, one sample), with ``pd_confirmed``; and ``line_row, rec_pd``,
    the first confirmed PD. A PD call is confirmed by the line's next call being PD or, as the
    line's last call, by the next line or death (``end``: ``line_row, end_day``) within
    ``pd_window`` days (as the lab rule; admiralonco's IMWG ADRS vignette: PD confirmed by a
    second PD or death due to PD)."""
    calls = (
        rec.filter(pl.col("rank") >= K.PD)
        .group_by("line_row", "date")
        .agg(pl.col("rank").min())
        .sort("line_row", "date")
        .join(end, on="line_row", how="left", maintain_order="left")
    )
    next_rank = next_in_group("rank", "line_row")
    followed = (pl.col("end_day") - pl.col("date").cast(pl.Int64)) <= pd_window
    confirmed = (pl.col("rank") == K.PD) & ((next_rank == K.PD) | (next_rank.is_null() & followed))
    calls = calls.with_columns(confirmed.fill_null(False).alias("pd_confirmed")).drop("end_day")
    first_pd = (
        calls.filter("pd_confirmed")
        .group_by("line_row")
        .agg(pl.col("date").min().alias("rec_pd"))
        .cast({"line_row": pl.UInt32(), "rec_pd": pl.Date()})
    )
    return calls, first_pd


def _confirmed_levels(upto: pl.DataFrame) -> pl.DataFrame:
    """``upto`` (one call per day up to the progression) with ``rank`` replaced by the confirmed
    level of each call (admiralonco's IMWG ADRS vignette, derive_confirmed_response): a response
    (MR or better) is confirmed at the lower of itself and the line's next call when that is SD or
    better (VGPR then CR: VGPR; sCR then PR: PR); followed by PD or by nothing it counts as SD;
    SD needs no confirmation; a confirmed PD stays PD, an unconfirmed one counts for nothing."""
    rank, next_rank = pl.col("rank"), next_in_group("rank", "line_row")
    level = (
        pl.when(rank >= K.MR)
        .then(
            pl.when(next_rank.is_null() | (next_rank == K.PD))
            .then(K.SD)
            .otherwise(pl.min_horizontal(rank, next_rank))
        )
        .when(rank == K.SD)
        .then(K.SD)
        .when(pl.col("pd_confirmed"))
        .then(K.PD)
    )
    return upto.sort("line_row", "date").with_columns(level.alias("rank"))


def _recorded_best(
    rec: pl.DataFrame, rec_pd: pl.DataFrame, lab_pd: pl.DataFrame, *, confirm: bool = False
) -> pl.DataFrame:
    """Per line (``line_row``): physician best response up to the progression (the earlier of
    the first recorded PD and the lab PD ``lab_pd``), its date, first ≥ PR date and ``rec_pd``;
    with ``confirm``, of the confirmed levels of the calls (:func:`_confirmed_levels`)."""
    schema = {
        "line_row": pl.UInt32(),
        "rec_best": pl.Int64(),
        "rec_best_date": pl.Date(),
        "rec_first_response": pl.Date(),
        "rec_pd": pl.Date(),
    }
    stop = pl.min_horizontal("rec_pd", "lab_pd")
    upto = (
        rec.join(rec_pd, on="line_row", how="left")
        .join(lab_pd, on="line_row", how="left")
        .filter(stop.is_null() | (pl.col("date") <= stop))
    )
    if confirm:
        upto = _confirmed_levels(upto).filter(pl.col("rank").is_not_null())
    best = upto.group_by("line_row").agg(
        pl.col("rank").max().alias("rec_best"),
        pl.col("date").filter(pl.col("rank") == pl.col("rank").max()).min().alias("rec_best_date"),
        pl.col("date").filter(pl.col("rank") >= K.PR).min().alias("rec_first_response"),
    )
    out = best.join(rec_pd, on="line_row", how="full", coalesce=True)  # keep a PD after the bound
    return out.select(list(schema)).cast(schema)


def _combine(df: pl.DataFrame) -> pl.DataFrame:
    """Labs, physician, or the progression alone; progression the earlier of lab and recorded
    PD (module docstring)."""
    lab_pd, rec_pd = pl.col("lab_pd"), pl.col("rec_pd")
    progression = pl.min_horizontal(lab_pd, rec_pd)
    progression_source = (
        pl.when(lab_pd.is_not_null() & (rec_pd.is_null() | (lab_pd <= rec_pd)))
        .then(pl.lit("labs"))
        .when(rec_pd.is_not_null())
        .then(pl.lit("physician"))
        .otherwise(pl.lit("none"))
    )
    lab_ok = (pl.col("measurable_by") != "none") & (pl.col("n_eval") >= 2)
    lab_code = (
        pl.when(pl.col("lab_best") >= K.SD)
        .then(pl.col("lab_best"))
        .when(progression.is_not_null())
        .then(K.PD)
        .otherwise(K.SD)
    )
    # neither labs nor records establish a category, but the line progressed: PD, named by the
    # source of that progression (Kumar 2016: PD is a response category, NE is no evidence)
    source = (
        pl.when(lab_ok)
        .then(pl.lit("labs"))
        .when(pl.col("rec_best").is_not_null())
        .then(pl.lit("physician"))
        .otherwise(progression_source)
    )
    df = df.with_columns(
        source.alias("response_source"),
        progression.alias("progression_date"),
        progression_source.alias("progression_source"),
    )
    labs = lab_ok
    phys = ~lab_ok & pl.col("rec_best").is_not_null()
    progressed_only = ~labs & ~phys & progression.is_not_null()
    code = (
        pl.when(labs)
        .then(lab_code)
        .when(phys)
        .then(pl.col("rec_best"))
        .when(progressed_only)
        .then(K.PD)
        .otherwise(K.NOT_EVALUABLE)
    )
    return df.with_columns(
        category_name(code, "NE").alias("best_response"),
        pl.when(labs)
        .then(
            pl.when(pl.col("lab_best") >= K.SD)
            .then(pl.col("lab_best_date"))
            .when(progression.is_not_null())
            .then(progression)
        )
        .when(phys)
        .then(pl.col("rec_best_date"))
        .when(progressed_only)
        .then(progression)
        .alias("best_response_date"),
        pl.when(labs)
        .then(pl.col("lab_first_response"))
        .when(phys)
        .then(pl.col("rec_first_response"))
        .alias("first_response_date"),
    )


def progression_dates(line_response: pl.DataFrame) -> pl.DataFrame:
    """``patient_id, date`` of every line's progression, for
    :func:`mmrwe.lines.derive_refractoriness`."""
    return (
        line_response.filter(pl.col("progression_date").is_not_null())
        .select("patient_id", pl.col("progression_date").alias("date"))
        .unique()
        .sort("patient_id", "date")
    )
