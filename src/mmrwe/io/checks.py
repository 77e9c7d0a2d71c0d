"""Checks across rows and tables, and the read stage's attrition.

:data:`CHECKS` is the documented table of every validation check (code, severity, what happens);
``docs/validation.md`` restates it for users.
"""

from __future__ import annotations

import polars as pl

from mmrwe.io.attrition import attrition_table
from mmrwe.io.cohort import sort_cohort_table
from mmrwe.io.parse import TableContext
from mmrwe.io.problems import ValidationReport
from mmrwe.io.sources import Source

#: code -> (severity, meaning, consequence)
CHECKS: dict[str, tuple[str, str, str]] = {
    "missing_table": ("error", "a required table (patients, treatments) is absent", "run stops"),
    "ambiguous_table": ("error", "a table is given twice (e.g. CSV and Parquet)", "run stops"),
    "empty_file": ("error", "a file with no header, or a required table with no rows", "run stops"),
    "unreadable_file": ("error", "a file that cannot be parsed as its format", "run stops"),
    "encoding": ("error", "bytes that are not UTF-8", "run stops"),
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


def _ctx(sources: dict[str, Source], report: ValidationReport, table: str) -> TableContext:
    return TableContext(sources[table], report)


def check_cohort(
    typed: dict[str, pl.DataFrame], sources: dict[str, Source], report: ValidationReport
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """Cross-row and cross-table checks; returns the cleaned tables and the attrition table."""
    patients = _check_patients(typed["patients"], _ctx(sources, report, "patients"))
    followup = patients.select(
        "patient_id", "diagnosis_date", "last_contact_date", "death_date"
    ).unique("patient_id", keep="first", maintain_order=True)
    n = patients.height
    attrition = [(n, 0, 0, "patients in the input cohort")]
    out = {"patients": patients}
    for table, date_col in EVENT_DATE.items():
        df = typed[table]
        if table in sources and df.height:
            df, excluded = _check_events(
                df, table, date_col, followup, _ctx(sources, report, table)
            )
        else:
            excluded = 0
        if table == "adverse_events":
            df = _default_grading(df)
        out[table] = df
        attrition.append(
            (
                n,
                0,
                excluded,
                f"{table} rows dated after the patient's last contact (outside follow-up)",
            )
        )
    out = {name: sort_cohort_table(name, df) for name, df in out.items()}
    return out, attrition_table(attrition)


def _check_patients(df: pl.DataFrame, ctx: TableContext) -> pl.DataFrame:
    frame = df.rename({"source_row": "__row"})
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
    return frame.with_columns(
        pl.when(late_death)
        .then(pl.col("death_date"))
        .otherwise(pl.col("last_contact_date"))
        .alias("last_contact_date"),
        pl.col("prior_lines_before_data").fill_null(0),
    ).rename({"__row": "source_row"})


def _check_events(
    df: pl.DataFrame,
    table: str,
    date_col: str,
    followup: pl.DataFrame,
    ctx: TableContext,
) -> tuple[pl.DataFrame, int]:
    """Checks of one event table against its patients; returns (kept rows, rows excluded)."""
    frame = df.rename({"source_row": "__row"}).join(
        followup, on="patient_id", how="left", maintain_order="left"
    )
    known = pl.col("diagnosis_date").is_not_null()
    ctx.rows(
        "error",
        "unknown_patient",
        "patient_id",
        frame.filter(pl.col("patient_id").is_not_null() & ~known),
        "patient_id",
        f"the {table} row's patient_id is not in patients",
        _fix("unknown_patient"),
    )
    date = pl.col(date_col)
    if table == "treatments":
        ctx.rows(
            "error",
            "end_before_start",
            "end_date",
            frame.filter(pl.col("end_date") < pl.col("start_date")),
            "end_date",
            "the treatment ends before it starts",
            _fix("end_before_start"),
        )
        ctx.rows(
            "error",
            "after_death",
            "end_date",
            frame.filter(pl.col("end_date") > pl.col("death_date")),
            "end_date",
            "the treatment ends after the patient's death",
            _fix("after_death"),
        )
        ctx.rows(
            "warning",
            "ends_after_last_contact",
            "end_date",
            frame.filter(
                pl.col("death_date").is_null()
                & (pl.col("end_date") > pl.col("last_contact_date"))
                & (date <= pl.col("last_contact_date"))
            ),
            "end_date",
            CHECKS["ends_after_last_contact"][1] + "; " + CHECKS["ends_after_last_contact"][2],
            _fix("ends_after_last_contact"),
        )
    ctx.rows(
        "error",
        "after_death",
        date_col,
        frame.filter(date > pl.col("death_date")),
        date_col,
        f"the {table} row is dated after the patient's death",
        _fix("after_death"),
    )
    outside = pl.col("death_date").is_null() & (date > pl.col("last_contact_date"))
    excluded = ctx.rows(
        "warning",
        "after_last_contact",
        date_col,
        frame.filter(outside),
        date_col,
        f"the {table} row is dated after the patient's last contact; it is excluded",
        _fix("after_last_contact"),
    )
    if table in BEFORE_DIAGNOSIS_CHECKED:
        ctx.rows(
            "warning",
            "before_diagnosis",
            date_col,
            frame.filter(date < pl.col("diagnosis_date")),
            date_col,
            f"the {table} row is dated before the patient's diagnosis; it is kept",
            _fix("before_diagnosis"),
        )
    kept = frame.filter(~outside.fill_null(False))
    return kept.rename({"__row": "source_row"}).select(df.columns), excluded


def _default_grading(df: pl.DataFrame) -> pl.DataFrame:
    """Grading system when empty: ASTCT for CRS and ICANS, CTCAE for everything else."""
    astct = pl.col("term").str.to_lowercase().str.strip_chars().is_in(list(ASTCT_TERMS))
    return df.with_columns(
        pl.when(pl.col("grading").is_null())
        .then(pl.when(astct).then(pl.lit("ASTCT")).otherwise(pl.lit("CTCAE")))
        .otherwise(pl.col("grading"))
        .alias("grading")
    )
