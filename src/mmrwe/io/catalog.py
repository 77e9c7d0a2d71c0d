"""The validation checks: for each code its severity, what it finds, what happens and the fix.

:data:`CHECKS` is the one source of a problem's severity and fix text: every check of the read
stage reports through it (:meth:`mmrwe.io.problems.ValidationReport.flag`), and
``docs/validation.md`` restates it for users. A fix is a template whose ``{fields}`` the check
fills with what it knows (the column, the codes allowed, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]

#: No date of a cohort is this day or earlier (an earlier one is a typing or export error;
#: this one is the zero date of spreadsheets and databases, written for a missing date).
EARLIEST_DATE = "1900-01-01"


@dataclass(frozen=True)
class Check:
    """One validation check: severity, what it finds, what happens, and the fix template."""

    severity: Severity
    finds: str
    consequence: str
    fix: str

    def fix_text(self, **values: object) -> str:
        """The fix with the check's ``{fields}`` filled in."""
        return self.fix.format(**values) if values else self.fix


_STOP = "run stops"

CHECKS: dict[str, Check] = {
    "missing_table": Check(
        "error",
        "a required table (patients, treatments) is absent",
        _STOP,
        "add {table}.csv or {table}.parquet ({meaning}) to the cohort",
    ),
    "ambiguous_table": Check(
        "error",
        "a table is given twice (e.g. CSV and Parquet)",
        _STOP,
        "keep exactly one of <table>.csv, <table>.parquet or a folder <table>/",
    ),
    "empty_file": Check(
        "error",
        "a file with no header, a Parquet folder with no parts, or a required table with no rows",
        _STOP,
        "write the {table} table: a header row with the column names, then one row per record "
        "(a Parquet folder holds the table's .parquet parts)",
    ),
    "absent_table": Check(
        "warning",
        "an optional table (labs, responses, adverse_events) is absent or has no rows",
        "what cannot be derived without it is said; the rest of the analysis runs",
        "add {table}.csv or {table}.parquet ({meaning}) if the source holds it",
    ),
    "unreadable_file": Check(
        "error",
        "a file that cannot be parsed as its format",
        _STOP,
        "check that the file is complete and in the format its name says (a CSV: balanced "
        "quotes, as many fields on every row as in the header)",
    ),
    "encoding": Check(
        "error",
        "bytes that are not UTF-8",
        _STOP,
        "save the file as UTF-8 (e.g. re-export from the source system with UTF-8 encoding)",
    ),
    "wrong_delimiter": Check(
        "error",
        "a CSV whose fields are separated by another character than the one expected (a "
        "spreadsheet saved with semicolons)",
        _STOP,
        "save as comma-separated or pass `--delimiter {delimiter}`",
    ),
    "ragged_row": Check(
        "error",
        "a CSV row with fewer or more fields than the header (e.g. a truncated export)",
        _STOP,
        "give every row exactly {n_fields} comma-separated fields (quote values that hold "
        "commas; leave empty fields empty between commas)",
    ),
    "duplicate_column": Check(
        "error",
        "a column given twice once case and spaces are forgiven (drug, Drug)",
        _STOP,
        "keep one column of that name; rename or remove the others",
    ),
    "missing_column": Check(
        "error",
        "a required column is absent",
        _STOP,
        "add a column '{col}' ({meaning}); columns present: {present}",
    ),
    "unknown_column": Check(
        "warning",
        "a column that is not in the table's schema (a misspelt header is read as absent)",
        "ignored; an absent optional column is reported as absent_column",
        "rename it if it is meant as a {table} column.{suggestion} The {table} columns: "
        "{columns}; any other column is ignored",
    ),
    "absent_column": Check(
        "warning",
        "an optional column whose absence changes the analysis (end_date, death_date, ...)",
        "the documented default is used, said once",
        "add the column '{col}' ({meaning}) if the source holds it",
    ),
    "empty_value": Check(
        "error",
        "a required value is empty (including an empty patient_id)",
        _STOP,
        "fill in '{col}' or remove the row",
    ),
    "bad_date": Check(
        "error",
        "a date that cannot be read",
        _STOP,
        "write dates as YYYY-MM-DD (partial dates YYYY-MM or YYYY are accepted and imputed)",
    ),
    "implausible_date": Check(
        "error",
        f"a date on or before {EARLIEST_DATE} or after the data cut-off of the extract "
        "(default today)",
        _STOP,
        "correct the date: dates run after " + EARLIEST_DATE + " up to the data cut-off, "
        "{latest}; a placeholder such as " + EARLIEST_DATE + " or 9999-12-31 is no date (give "
        "the last date known, or leave an optional date empty)",
    ),
    "partial_date": Check(
        "warning",
        "a partial date (YYYY-MM or YYYY)",
        "imputed by the documented rule",
        "give the full date if it is known",
    ),
    "bad_number": Check(
        "error",
        "a number that cannot be read",
        _STOP,
        "write {expected}, or leave it empty if unknown",
    ),
    "out_of_range": Check(
        "error",
        "a number outside its range (ECOG 0-4, grade 1-5, ...)",
        _STOP,
        "correct the value to be {allowed}, or leave it empty if unknown",
    ),
    "negative_value": Check(
        "error",
        "a negative dose or laboratory quantity",
        _STOP,
        "correct the value to be {allowed}, or leave it empty if unknown",
    ),
    "bad_code": Check(
        "error",
        "a code outside its list (sex, ISS, response, grading, ...)",
        _STOP,
        "use one of {allowed}, or leave it empty if unknown",
    ),
    "unknown_lab_test": Check(
        "error",
        "a lab test outside the native list",
        _STOP,
        "use one of {allowed} (map local test names before loading)",
    ),
    "missing_unit": Check(
        "error",
        "a quantitative lab result without a unit",
        _STOP,
        "give the unit: g/dL or g/L (serum M), mg/24h or g/24h (urine M), mg/L or mg/dL (FLC), "
        "% (marrow)",
    ),
    "unknown_unit": Check("error", "a unit not accepted for the test", _STOP, "use {allowed}"),
    "bad_lab_value": Check(
        "error",
        "a lab result that is no number, censored number or known word",
        _STOP,
        "write {expected}",
    ),
    "duplicate_patient": Check(
        "error",
        "a patient_id given on more than one patients row",
        _STOP,
        "keep one row per patient in patients",
    ),
    "unknown_patient": Check(
        "error",
        "a row whose patient_id is not in patients",
        _STOP,
        "add the patient to patients, or correct the patient_id",
    ),
    "end_before_start": Check(
        "error",
        "a treatment ending before it starts",
        _STOP,
        "correct start_date or end_date (end_date is the last administration)",
    ),
    "death_before_diagnosis": Check(
        "error",
        "death_date before diagnosis_date",
        _STOP,
        "correct death_date or diagnosis_date",
    ),
    "contact_before_diagnosis": Check(
        "error",
        "last_contact_date before diagnosis_date",
        _STOP,
        "correct last_contact_date or diagnosis_date",
    ),
    "contact_after_death": Check(
        "error",
        "last_contact_date after death_date (nobody is seen alive after death)",
        _STOP,
        "correct death_date, or set last_contact_date to the death date or earlier",
    ),
    "birth_after_diagnosis": Check(
        "error",
        "birth_year after the year of diagnosis",
        _STOP,
        "correct birth_year or diagnosis_date",
    ),
    "after_death": Check(
        "error",
        "a treatment, lab, response or adverse event dated after death",
        _STOP,
        "correct the date or the patient's death_date",
    ),
    "death_after_contact": Check(
        "warning",
        "death_date after last_contact_date",
        "the death date is used as the last contact",
        "set last_contact_date to the death date",
    ),
    "after_last_contact": Check(
        "warning",
        "a treatment start, lab, response or adverse event after last contact (alive patient)",
        "row excluded, counted in attrition",
        "extend the patient's last_contact_date if the patient was seen then",
    ),
    "ends_after_last_contact": Check(
        "warning",
        "a treatment ending after the last contact",
        "kept; derivations stop at the last contact",
        "extend last_contact_date, or end the treatment at the last contact",
    ),
    "before_diagnosis": Check(
        "warning",
        "a treatment, response or adverse event before diagnosis_date",
        "kept as recorded",
        "check diagnosis_date; the record is kept as it is",
    ),
    "unmapped_drug": Check(
        "warning",
        "a drug name not in the vocabulary (nor in the --drug-map given)",
        "its rows are not therapy: they open no line and join none (lines rule 10)",
        "map it with --drug-map (a CSV name,generic_name,class; docs/vocabulary.md) if it is "
        "myeloma therapy, e.g. an investigational drug; otherwise nothing to do",
    ),
    "drug_map": Check(
        "error",
        "a user drug map (--drug-map) that cannot be used",
        _STOP,
        "correct the drug map as the message says (docs/vocabulary.md)",
    ),
}
