"""Validation problems of an OMOP source told in the CDM's words.

The native checks run on the extracted tables (in memory); their problems name a
native table, a native column and a row number, which mean nothing to the owner of a CDM. Each
problem is rewritten here to name the CDM table and column the value came from and, for a row,
the CDM row's primary key and its ``person_id`` ("drug_exposure (drug_exposure_id 17, person_id
4), column 'drug_exposure_end_date'"); the fix text names the CDM columns too.
"""

from __future__ import annotations

import dataclasses
import re

import polars as pl

from mmrwe.io.problems import Problem, ValidationReport

#: native table → (CDM table, its primary key) when every row comes from one table
CDM_TABLE = {
    "patients": ("person", "person_id"),
    "labs": ("measurement", "measurement_id"),
    "responses": ("observation", "observation_id"),
    "adverse_events": ("condition_occurrence", "condition_occurrence_id"),
}
#: native column → CDM column, per CDM table (a patients column from outside ``person`` is named
#: with its table)
CDM_COLUMNS = {
    "person": {
        "patient_id": "person_id",
        "diagnosis_date": "condition_occurrence.condition_start_date (first myeloma condition)",
        "last_contact_date": "observation_period.observation_period_end_date",
        "death_date": "death.death_date",
        "sex": "gender_concept_id",
        "birth_year": "year_of_birth",
        "ecog": "measurement.value_as_number (ECOG, nearest the diagnosis)",
    },
    "drug_exposure": {
        "patient_id": "person_id",
        "drug": "drug_concept_id",
        "start_date": "drug_exposure_start_date",
        "end_date": "drug_exposure_end_date",
    },
    "procedure_occurrence": {
        "patient_id": "person_id",
        "drug": "procedure_concept_id",
        "start_date": "procedure_date",
        "end_date": "procedure_date",
    },
    "measurement": {
        "patient_id": "person_id",
        "date": "measurement_date",
        "test": "measurement_concept_id",
        "value": "value_as_number / value_as_concept_id",
        "unit": "unit_concept_id / unit_source_value",
    },
    "condition_occurrence": {
        "patient_id": "person_id",
        "term": "condition_source_concept_id",
        "onset_date": "condition_start_date",
        "grade": "condition_source_concept_id",
    },
    "observation": {
        "patient_id": "person_id",
        "date": "observation_date",
        "response": "observation_concept_id",
    },
}


def row_keys(keys: pl.DataFrame | None, rows: list[int]) -> dict[int, tuple[int, int]]:
    """``row → (person_id, primary key)`` of extracted ``patients``/``labs``/``responses`` rows
    (1-based, counted across the ranges as the native reader counts them); ``keys`` holds
    ``person_id, cdm_id`` in the rows' order."""
    if not rows or keys is None:
        return {}
    found = keys.with_row_index("row", offset=1).filter(pl.col("row").is_in(rows))
    return {
        int(r): (int(p), int(k))
        for r, p, k in found.select("row", "person_id", "cdm_id").iter_rows()
    }


def in_cdm_words(
    report: ValidationReport, keys: dict[str, pl.DataFrame], events: pl.DataFrame | None
) -> ValidationReport:
    """``report`` with every problem naming the CDM table, column and row (see the module)."""
    listed = {}
    for name in ("patients", "labs", "responses", "adverse_events"):
        rows = [p.row for p in report.problems if _native(p.file) == name and p.row]
        listed[name] = row_keys(keys.get(name), [int(r) for r in rows])
    treatments = {}
    if events is not None:
        rows = [p.row for p in report.problems if _native(p.file) == "treatments" and p.row]
        hit = events.filter(pl.col("source_row").is_in([int(r) for r in rows]))
        treatments = {
            int(r): (t, int(i), int(p))
            for r, t, i, p in hit.select(
                "source_row", "event_table", "event_id", pl.col("patient_id").cast(pl.Int64)
            ).iter_rows()
        }
    report.problems = [_translate(p, listed, treatments) for p in report.problems]
    report._more = [
        dataclasses.replace(m, file=_table(_native(m.file), None), column=_column(m, None))
        for m in report._more
    ]
    return report


def _native(file: str) -> str:
    """The native table a problem's file label names (``labs (OMOP CDM extract)`` → ``labs``)."""
    return file.split("/", 1)[0].split(".", 1)[0].split(" ", 1)[0]


def _table(native: str, event_table: str | None) -> str:
    if event_table:
        return event_table
    if native == "treatments":
        return "drug_exposure or procedure_occurrence"
    return CDM_TABLE.get(native, (native, ""))[0]


def _column(p: Problem | object, table: str | None) -> str | None:
    column = getattr(p, "column", None)
    if column is None:
        return None
    native = _native(getattr(p, "file", ""))
    table = table or _table(native, None)
    return CDM_COLUMNS.get(table, {}).get(column, column)


def _translate(
    p: Problem, listed: dict[str, dict[int, tuple[int, int]]], treatments: dict
) -> Problem:
    native = _native(p.file)
    table: str | None = None
    where = None
    if native == "treatments" and p.row in treatments:
        table, event_id, person = treatments[p.row]
        where = f"{table} ({table}_id {event_id}, person_id {person})"
    elif native in listed and p.row in listed[native]:
        person, key = listed[native][p.row]
        table, pk = CDM_TABLE[native]
        where = f"{table} ({pk} {key}, person_id {person})"
    cdm_table = table or _table(native, None)
    fix = _in_words(p.fix, cdm_table)
    if p.check in ABSENT:
        fix = (
            "map the observation concepts of recorded IMWG responses with --concept-map (domain "
            "observation; docs/omop.md)"
            if native == "responses"
            else "mmrwe does not read this from an OMOP CDM yet (docs/omop.md, 'Not mapped')"
        )
    return dataclasses.replace(
        p,
        file=where or (f"{cdm_table} (OMOP CDM)" if native in _NATIVE else p.file),
        column=_column(p, cdm_table),
        row=None if where else p.row,
        fix=fix,
    )


#: checks of a table or column the extraction did not fill: their native fix (add a file or a
#: column) does not apply to a CDM
ABSENT = ("absent_table", "absent_column", "empty_file")
_NATIVE = ("patients", "treatments", "labs", "responses", "adverse_events")


def _in_words(fix: str, table: str) -> str:
    """The fix text with native column names replaced by the CDM table's columns."""
    for native, cdm in CDM_COLUMNS.get(table, {}).items():
        fix = re.sub(rf"\b{native}\b", cdm, fix)
    return fix
