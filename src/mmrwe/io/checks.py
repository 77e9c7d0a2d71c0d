"""Checks across rows and tables, and the read stage's attrition.

:data:`CHECKS` is the documented table of every validation check (code, severity, what happens);
``docs/validation.md`` restates it for users.
"""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl

from mmrwe.io.cohort import COHORT_SCHEMAS, empty_table, sort_cohort_table
from mmrwe.io.parse import MONTH_DATE, YEAR_DATE, TableContext
from mmrwe.io.problems import Severity

#: code -> (severity, meaning, consequence)
CHECKS: dict[str, tuple[str, str, str]] = {
    "missing_table": ("error", "a required table (patients, treatments) is absent", "run stops"),
    "ambiguous_table": ("error", "a table is given twice (e.g. CSV and Parquet)", "run stops"),
    "empty_file": ("error", "a file with no header, or a required table with no rows", "run stops"),
    "unreadable_file": ("error", "a file that cannot be parsed as its format", "run stops"),
    "encoding": ("error", "bytes that are not UTF-8", "run stops"),
    "ragged_row": (
        "error",
        "a CSV row with fewer or more fields than the header (e.g. a truncated export)",
        "run stops",
    ),
    "duplicate_column": (
        "error",
        "a column given twice once case and spaces are forgiven (drug, Drug)",
        "run stops",
    ),
    "missing_column": ("error", "a required column is absent", "run stops"),
    "empty_value": (
        "error",
        "a required value is empty (including an empty patient_id)",
        "run stops",
    ),
    "bad_date": ("error", "a date that cannot be read", "run stops"),
    "partial_date": (
        "warning",
        "a partial date (YYYY-MM or YYYY)",
        "imputed by the documented rule",
    ),
    "bad_number": ("error", "a number that cannot be read", "run stops"),
    "out_of_range": ("error", "a number outside its range (ECOG 0-4, grade 1-5, ...)", "run stops"),
    "negative_value": ("error", "a negative dose or laboratory quantity", "run stops"),
    "bad_code": (
        "error",
        "a code outside its list (sex, ISS, response, grading, ...)",
        "run stops",
    ),
    "unknown_lab_test": ("error", "a lab test outside the native list", "run stops"),
    "missing_unit": ("error", "a quantitative lab result without a unit", "run stops"),
    "unknown_unit": ("error", "a unit not accepted for the test", "run stops"),
    "bad_lab_value": (
        "error",
        "a lab result that is no number, censored number or known word",
        "run stops",
    ),
    "duplicate_patient": ("error", "a patient_id given on more than one patients row", "run stops"),
    "unknown_patient": ("error", "a row whose patient_id is not in patients", "run stops"),
    "end_before_start": ("error", "a treatment ending before it starts", "run stops"),
    "death_before_diagnosis": ("error", "death_date before diagnosis_date", "run stops"),
    "contact_before_diagnosis": ("error", "last_contact_date before diagnosis_date", "run stops"),
    "birth_after_diagnosis": ("error", "birth_year after the year of diagnosis", "run stops"),
    "after_death": (
        "error",
        "a treatment, lab, response or adverse event dated after death",
        "run stops",
    ),
    "death_after_contact": (
        "warning",
        "death_date after last_contact_date",
        "the death date is used as the last contact",
    ),
    "after_last_contact": (
        "warning",
        "a treatment start, lab, response or adverse event after last contact (alive patient)",
        "row excluded, counted in attrition",
    ),
    "ends_after_last_contact": (
        "warning",
        "a treatment ending after the last contact",
        "kept; derivations stop at the last contact",
    ),
    "before_diagnosis": (
        "warning",
        "a treatment, response or adverse event before diagnosis_date",
        "kept as recorded",
    ),
}

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


def _fix(code: str) -> str:
    return {
        "duplicate_patient": "keep one row per patient in patients",
        "unknown_patient": "add the patient to patients, or correct the patient_id",
        "end_before_start": "correct start_date or end_date (end_date is the last administration)",
        "death_before_diagnosis": "correct death_date or diagnosis_date",
        "contact_before_diagnosis": "correct last_contact_date or diagnosis_date",
        "birth_after_diagnosis": "correct birth_year or diagnosis_date",
        "after_death": "correct the date or the patient's death_date",
        "death_after_contact": "set last_contact_date to the death date",
        "after_last_contact": "extend the patient's last_contact_date if the patient was seen then",
        "ends_after_last_contact": "extend last_contact_date, or end the treatment at the last contact",
        "before_diagnosis": "check diagnosis_date; the record is kept as it is",
    }[code]


def followup_table(patients: pl.DataFrame) -> pl.DataFrame:
    """Each patient's follow-up dates, one row per patient_id (first given), sorted by id."""
    return (
        patients.select("patient_id", "diagnosis_date", "last_contact_date", "death_date")
        .filter(pl.col("patient_id").is_not_null())
        .unique("patient_id", keep="first", maintain_order=True)
        .sort("patient_id")
    )


def patient_index(ids: pl.Series, known: pl.Series) -> pl.Series:
    """Row of each ``ids`` value in the sorted ``known`` ids (null when absent).

    Looked up once per run of equal ids (rows come grouped by patient), by binary search.
    """
    runs = ids.rle().struct.unnest()
    values = runs["value"]
    if known.len() == 0:
        idx = np.full(values.len(), -1, dtype=np.int64)
    else:
        pos = known.search_sorted(values, side="left").clip(upper_bound=known.len() - 1)
        hit = (known.gather(pos) == values).fill_null(False).to_numpy()
        idx = np.where(hit, pos.to_numpy().astype(np.int64), -1)
    rows = np.repeat(idx, runs["len"].to_numpy())
    s = pl.Series("__pidx", rows, dtype=pl.Int32)
    return pl.select(pl.when(s >= 0).then(s)).to_series().alias("__pidx")


def check_patients(df: pl.DataFrame, ctx: TableContext) -> pl.DataFrame:
    """Checks within patients; the death date becomes the last contact when later (warning)."""
    frame = df
    repeated = pl.col("patient_id").is_not_null() & ~pl.col("patient_id").is_first_distinct()
    ctx.rows(
        "error",
        "duplicate_patient",
        "patient_id",
        frame.filter(repeated),
        "patient_id",
        "the patient_id was already given on an earlier row",
        _fix("duplicate_patient"),
    )
    for code, col, cond in (
        ("death_before_diagnosis", "death_date", pl.col("death_date") < pl.col("diagnosis_date")),
        (
            "contact_before_diagnosis",
            "last_contact_date",
            pl.col("last_contact_date") < pl.col("diagnosis_date"),
        ),
        (
            "birth_after_diagnosis",
            "birth_year",
            pl.col("birth_year") > pl.col("diagnosis_date").dt.year(),
        ),
    ):
        ctx.rows("error", code, col, frame.filter(cond), col, CHECKS[code][1], _fix(code))
    late_death = pl.col("death_date") > pl.col("last_contact_date")
    ctx.rows(
        "warning",
        "death_after_contact",
        "death_date",
        frame.filter(late_death),
        "death_date",
        CHECKS["death_after_contact"][1] + "; " + CHECKS["death_after_contact"][2],
        _fix("death_after_contact"),
    )
    frame = frame.with_columns(
        pl.when(late_death)
        .then(pl.col("death_date"))
        .otherwise(pl.col("last_contact_date"))
        .alias("last_contact_date"),
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
    pidx = patient_index(df["patient_id"], followup["patient_id"])
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
    # (check, severity, column, condition, what): every condition evaluated in one pass
    checks: list[tuple[str, Severity, str, pl.Expr, str]] = [
        (
            "unknown_patient",
            "error",
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
                "error",
                "end_date",
                end < date,
                "the treatment ends before it starts",
            ),
            (
                "after_death",
                "error",
                "end_date",
                end > death,
                "the treatment ends after the patient's death",
            ),
            (
                "ends_after_last_contact",
                "warning",
                "end_date",
                death.is_null() & (end > contact) & (date <= contact),
                CHECKS["ends_after_last_contact"][1] + "; " + CHECKS["ends_after_last_contact"][2],
            ),
        ]
    checks += [
        (
            "after_death",
            "error",
            date_col,
            date > death,
            f"the {table} row is dated after the patient's death",
        ),
        (
            "after_last_contact",
            "warning",
            date_col,
            death.is_null() & (date > contact),
            f"the {table} row is dated after the patient's last contact; it is excluded",
        ),
    ]
    if table in BEFORE_DIAGNOSIS_CHECKED:
        checks.append(
            (
                "before_diagnosis",
                "warning",
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
    for i, (code, severity, col, _, what) in enumerate(checks):
        mask = masks[str(i)]
        if not mask.any():
            continue
        n = ctx.rows(severity, code, col, frame.filter(mask), col, what, _fix(code))
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


def _chunk_keys(c: pl.DataFrame, date_col: str, with_test: bool) -> np.ndarray:
    """One integer per row ordering (patient, day), with the test in the low byte for labs."""
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
    key = _chunk_keys(c, date_col, with_test)
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
        key = int(_chunk_keys(row, date_col, with_test)[0])
        test = int(_test_codes(row)[0]) if with_test else 0
        return (key, test, int(row["__row"][0]))

    nonempty = [c for c in chunks if c.height]
    return all(edge(a, -1) <= edge(b, 0) for a, b in itertools.pairwise(nonempty))


def _default_grading(df: pl.DataFrame) -> pl.DataFrame:
    """Grading system when empty: ASTCT for CRS and ICANS, CTCAE for everything else."""
    astct = pl.col("term").str.to_lowercase().str.strip_chars().is_in(list(ASTCT_TERMS))
    return df.with_columns(
        pl.when(pl.col("grading").is_null())
        .then(pl.when(astct).then(pl.lit("ASTCT")).otherwise(pl.lit("CTCAE")))
        .otherwise(pl.col("grading"))
        .alias("grading")
    )
