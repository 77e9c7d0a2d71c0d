"""Checks across rows and tables, and the read stage's attrition.

:data:`CHECKS` (defined in :mod:`mmrwe.io.catalog`, below the parsers that use it too) is the
table of every validation check: code, severity, what it finds, what happens and the fix;
``docs/validation.md`` restates it for users.
"""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl

from mmrwe.io.catalog import CHECKS
from mmrwe.io.cohort import (
    COHORT_SCHEMAS,
    NO_PATIENT,
    empty_table,
    patient_index,
    sort_cohort_table,
)
from mmrwe.io.parse import MONTH_DATE, YEAR_DATE, TableContext

#: Date column of each event table checked against follow-up.
EVENT_DATE = {
    "treatments": "start_date",
    "labs": "date",
    "responses": "date",
    "adverse_events": "onset_date",
}
BEFORE_DIAGNOSIS_CHECKED = ("treatments", "responses", "adverse_events")

ASTCT_TERMS = (
    "crs",
    "cytokine release syndrome",
    "icans",
    "immune effector cell-associated neurotoxicity syndrome",
    "neurotoxicity",
)


def followup_table(patients: pl.DataFrame) -> pl.DataFrame:
    """Each patient's follow-up dates, one row per patient_id (first given), sorted by id."""
    return (
        patients.select("patient_id", "diagnosis_date", "last_contact_date", "death_date")
        .filter(pl.col("patient_id").is_not_null())
        .unique("patient_id", keep="first", maintain_order=True)
        .sort("patient_id")
    )


def followup_row(ids: pl.Series, known: pl.Series) -> pl.Series:
    """Row of each ``ids`` value in the sorted ``known`` ids (``__pidx``, null when absent):
    :func:`mmrwe.io.cohort.patient_index`, the one patient-id → integer mapping."""
    rows = pl.Series("__pidx", patient_index(known, ids), dtype=pl.Int32)
    return pl.select(pl.when(rows != NO_PATIENT).then(rows)).to_series().alias("__pidx")


def check_patients(df: pl.DataFrame, ctx: TableContext) -> pl.DataFrame:
    """Checks within patients; the death date becomes the last contact when later (warning)."""
    frame = df
    repeated = pl.col("patient_id").is_not_null() & ~pl.col("patient_id").is_first_distinct()
    ctx.rows(
        "duplicate_patient",
        "patient_id",
        frame.filter(repeated),
        "patient_id",
        "the patient_id was already given on an earlier row",
    )
    death, contact = pl.col("death_date"), pl.col("last_contact_date")
    for code, col, cond in (
        ("death_before_diagnosis", "death_date", death < pl.col("diagnosis_date")),
        ("contact_before_diagnosis", "last_contact_date", contact < pl.col("diagnosis_date")),
        ("contact_after_death", "last_contact_date", contact > death),
        (
            "birth_after_diagnosis",
            "birth_year",
            pl.col("birth_year") > pl.col("diagnosis_date").dt.year(),
        ),
    ):
        ctx.rows(code, col, frame.filter(cond), col, CHECKS[code].finds)
    late_death = death > contact
    ctx.rows(
        "death_after_contact",
        "death_date",
        frame.filter(late_death),
        "death_date",
        CHECKS["death_after_contact"].finds + "; " + CHECKS["death_after_contact"].consequence,
    )
    frame = frame.with_columns(
        pl.when(late_death).then(death).otherwise(contact).alias("last_contact_date"),
        pl.col("prior_lines_before_data").fill_null(0),
    ).rename({"__row": "source_row"})
    return frame.select(list(COHORT_SCHEMAS["patients"]))


def _period_bounds(date: pl.Expr, period: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """First and last day of the month or year a partial date was written as."""
    start = pl.when(period == MONTH_DATE).then(date.dt.month_start()).when(period == YEAR_DATE)
    start = start.then(pl.date(date.dt.year(), 1, 1))
    end = pl.when(period == MONTH_DATE).then(date.dt.month_end()).when(period == YEAR_DATE)
    end = end.then(pl.date(date.dt.year(), 12, 31))
    return start, end


def _keep_partial_dates_in_followup(
    frame: pl.DataFrame, table: str, ctx: TableContext
) -> pl.DataFrame:
    """Imputed dates kept within the patient's follow-up when the period allows it.

    An imputed end-type date (``end_date``: last day of the period) is moved back to the last
    contact (the death date for a patient who died) when that falls within the same period; an
    imputed start-type date (first day of the period) is moved forward to the diagnosis date when
    that falls within the same period. Each move is counted in the report.
    """
    date_col = EVENT_DATE[table]
    out = []
    if f"period_{date_col}" in frame.columns:
        date, period = pl.col(date_col), pl.col(f"period_{date_col}")
        _, end = _period_bounds(date, period)
        diag = pl.col("diagnosis_date")
        move = (period > 0) & (diag > date) & (diag <= end)
        if table == "treatments":
            move = move & (pl.col("end_date").is_null() | (diag <= pl.col("end_date")))
        out.append((date_col, move, diag, f"partial_date_at_diagnosis:{table}.{date_col}"))
    if "period_end_date" in frame.columns:
        date, period = pl.col("end_date"), pl.col("period_end_date")
        start, _ = _period_bounds(date, period)
        cap = pl.min_horizontal("last_contact_date", "death_date")
        move = (period > 0) & (cap < date) & (cap >= start) & (cap >= pl.col("start_date"))
        out.append(("end_date", move, cap, f"partial_date_at_last_contact:{table}.end_date"))
    for col, move, to, key in out:
        moved = frame.select(move.fill_null(False)).to_series()
        n = int(moved.sum())
        if n:
            ctx.report.count(key, n)
            frame = frame.with_columns(pl.when(moved).then(to).otherwise(pl.col(col)).alias(col))
    return frame


def check_events(
    df: pl.DataFrame, table: str, followup: pl.DataFrame, ctx: TableContext
) -> tuple[pl.DataFrame, int]:
    """Checks of one chunk of an event table against its patients.

    Returns the kept rows (with ``__pidx``, the patient's row in ``followup``) and how many rows
    were excluded as outside follow-up.
    """
    date_col = EVENT_DATE[table]
    pidx = followup_row(df["patient_id"], followup["patient_id"])
    frame = df.with_columns(
        pidx,
        *(followup[c].gather(pidx) for c in ("diagnosis_date", "last_contact_date", "death_date")),
    )
    frame = _keep_partial_dates_in_followup(frame, table, ctx)
    date = pl.col(date_col)
    death, contact, diagnosis = (
        pl.col("death_date"),
        pl.col("last_contact_date"),
        pl.col("diagnosis_date"),
    )
    # (check, column, condition, what): every condition evaluated in one pass
    checks: list[tuple[str, str, pl.Expr, str]] = [
        (
            "unknown_patient",
            "patient_id",
            pl.col("patient_id").is_not_null() & pl.col("__pidx").is_null(),
            f"the {table} row's patient_id is not in patients",
        )
    ]
    if table == "treatments":
        end = pl.col("end_date")
        checks += [
            (
                "end_before_start",
                "end_date",
                end < date,
                "the treatment ends before it starts",
            ),
            (
                "after_death",
                "end_date",
                end > death,
                "the treatment ends after the patient's death",
            ),
            (
                "ends_after_last_contact",
                "end_date",
                death.is_null() & (end > contact) & (date <= contact),
                CHECKS["ends_after_last_contact"].finds
                + "; "
                + CHECKS["ends_after_last_contact"].consequence,
            ),
        ]
    checks += [
        (
            "after_death",
            date_col,
            date > death,
            f"the {table} row is dated after the patient's death",
        ),
        (
            "after_last_contact",
            date_col,
            death.is_null() & (date > contact),
            f"the {table} row is dated after the patient's last contact; it is excluded",
        ),
    ]
    if table in BEFORE_DIAGNOSIS_CHECKED:
        checks.append(
            (
                "before_diagnosis",
                date_col,
                date < diagnosis,
                f"the {table} row is dated before the patient's diagnosis; it is kept",
            )
        )
    masks = frame.select(
        cond.fill_null(False).alias(str(i)) for i, (*_, cond, _) in enumerate(checks)
    )
    excluded = 0
    outside = None
    for i, (code, col, _, what) in enumerate(checks):
        mask = masks[str(i)]
        if not mask.any():
            continue
        n = ctx.rows(code, col, frame.filter(mask), col, what)
        if code == "after_last_contact":
            excluded, outside = n, mask
    keep = [c for c in COHORT_SCHEMAS[table] if c != "source_row"] + ["__row", "__pidx"]
    kept = frame.filter(~outside) if outside is not None else frame
    kept = kept.select(keep)
    if table == "adverse_events":
        kept = _default_grading(kept)
    return kept, excluded


def finish_table(table: str, chunks: list[pl.DataFrame]) -> pl.DataFrame:
    """The checked chunks of an event table, each sorted by :func:`sort_chunk`, as one table
    sorted by patient and date: the order of :func:`sort_cohort_table`, exactly.

    The chunks are only concatenated when each starts after the previous one ends (parts written
    patient by patient); otherwise the table is sorted again on the integer keys. Rows of unknown
    patients or without a date fall back to :func:`sort_cohort_table`.
    """
    if not chunks:
        return empty_table(table)
    date_col = EVENT_DATE[table]
    with_test = table == "labs"
    exact = all(_exact(c, date_col) for c in chunks)
    in_order = exact and _in_order(chunks, date_col, with_test)
    frame = pl.concat(chunks, rechunk=False)
    chunks.clear()
    if not exact:
        frame = sort_cohort_table(table, frame.rename({"__row": "source_row"}))
        return frame.select(list(COHORT_SCHEMAS[table]))
    if not in_order:
        keys = ["__pidx", date_col] + (["test"] if with_test else []) + ["__row"]
        frame = frame.sort(keys)
    return frame.rename({"__row": "source_row"}).select(list(COHORT_SCHEMAS[table]))


def _exact(c: pl.DataFrame, date_col: str) -> bool:
    """Whether the integer sort keys order the chunk as the documented sort does."""
    return c["__pidx"].null_count() == 0 and c[date_col].null_count() == 0


def _chunk_keys(c: pl.DataFrame, date_col: str) -> np.ndarray:
    """One integer per row ordering (patient, day); labs' tests are ordered apart
    (:func:`_test_codes`)."""
    p = c["__pidx"].to_numpy().astype(np.int64)
    d = c[date_col].to_physical().to_numpy().astype(np.int64) + (1 << 31)
    return (p << 32) | d


def _test_codes(c: pl.DataFrame) -> np.ndarray:
    return c["test"].to_physical().fill_null(255).to_numpy().astype(np.int64)


def sort_chunk(table: str, c: pl.DataFrame) -> pl.DataFrame:
    """A checked chunk (rows in file order) sorted by patient, date (and test for labs), then
    row, on integer keys; what is already in order is not moved. Chunks with rows the integer
    keys cannot order (unknown patient, no date) are left for :func:`finish_table`."""
    date_col = EVENT_DATE[table]
    with_test = table == "labs"
    if c.height < 2 or not _exact(c, date_col):
        return c
    key = _chunk_keys(c, date_col)
    step = np.diff(key)
    if (step >= 0).all():
        if not with_test:
            return c  # rows of one patient and day are already in file order
        group = np.concatenate(([0], np.cumsum(step > 0)))
        key2 = (group << 8) | _test_codes(c)
        if (np.diff(key2) >= 0).all():
            return c
        return c[np.argsort(key2, kind="stable")]
    keys = [key] if not with_test else [_test_codes(c), key]
    return c[np.lexsort(keys)]


def _in_order(chunks: list[pl.DataFrame], date_col: str, with_test: bool) -> bool:
    """True when each chunk's first row comes after the previous chunk's last row."""

    def edge(c: pl.DataFrame, i: int) -> tuple[int, ...]:
        row = c.slice(i, 1)
        key = int(_chunk_keys(row, date_col)[0])
        test = int(_test_codes(row)[0]) if with_test else 0
        return (key, test, int(row["__row"][0]))

    nonempty = [c for c in chunks if c.height]
    return all(edge(a, -1) <= edge(b, 0) for a, b in itertools.pairwise(nonempty))


def check_drug_names(treatments: pl.DataFrame, ctx: TableContext, vocabulary: object) -> int:
    """One ``unmapped_drug`` warning per drug name (as written) outside ``vocabulary`` (a
    :class:`mmrwe.vocab.Vocabulary`, with any user drug map), naming its first row and its row
    and patient counts, most rows first; returns how many names. Their rows are not therapy
    (lines rule 10): an investigational drug left unmapped vanishes from the lines."""
    from mmrwe.vocab import map_drugs

    names = (
        treatments.filter(pl.col("drug").is_not_null())
        .group_by("drug")
        .agg(
            rows=pl.len(),
            patients=pl.col("patient_id").n_unique(),
            __row=pl.col("source_row").min(),
        )
        .sort(["rows", "drug"], descending=[True, False])
    )
    mapped, _ = map_drugs(names.select("drug", patient_id=pl.lit("")), vocabulary)  # type: ignore[arg-type]
    unmapped = names.filter(mapped["generic_name"].is_null())
    for one in unmapped.iter_slices(1):
        rows, patients = one["rows"][0], one["patients"][0]
        what = (
            f"{rows} row(s) of {patients} patient(s) name a drug that is not in the vocabulary; "
            "those rows are not therapy (they open no line of therapy)"
        )
        ctx.rows("unmapped_drug", "drug", one, "drug", what)
    return unmapped.height


def _default_grading(df: pl.DataFrame) -> pl.DataFrame:
    """Grading system when empty: ASTCT for CRS and ICANS, CTCAE for everything else."""
    astct = pl.col("term").str.to_lowercase().str.strip_chars().is_in(list(ASTCT_TERMS))
    return df.with_columns(
        pl.when(pl.col("grading").is_null())
        .then(pl.when(astct).then(pl.lit("ASTCT")).otherwise(pl.lit("CTCAE")))
        .otherwise(pl.col("grading"))
        .alias("grading")
    )
