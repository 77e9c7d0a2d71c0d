"""The in-memory cohort: typed Polars tables in canonical units.

Column contract of :class:`Cohort` (every table also carries ``source_row``: the 1-based data
row of the input file the row came from, header excluded; for a folder of Parquet parts, rows are
counted across the parts in file-name order):

- ``patients``: patient_id (str), diagnosis_date, last_contact_date, death_date (date),
  sex, iss_stage, r_iss_stage, cytogenetic_risk (str), birth_year, ecog,
  prior_lines_before_data (int; empty read as 0).
- ``treatments``: patient_id, drug (as written), start_date, end_date (date; null = ongoing at
  last contact), dose (float), dose_unit, route (str), start_date_imputed, end_date_imputed (bool).
- ``labs``: patient_id, date, test (Enum of the native test names), value (float in the
  canonical unit: serum M g/dL, urine M mg/24h, FLC mg/L, marrow %; null for qualitative tests),
  result (Enum ``negative``/``positive``: qualitative tests and M-protein words, else null), unit
  (Enum, canonical; ``""`` for qualitative tests), value_raw (str as written, kept only where the
  value was not a plain number: censored values, words and unreadable values; null for plain
  numbers, whose text ``value`` already holds), value_rule (Enum: how the value was read:
  ``number``, ``below_limit``, ``above_limit``, ``word``).

Low-cardinality lab columns are ``pl.Enum`` (one byte a row instead of a string): they compare
with string literals (``pl.col("test") == "kappa_flc"``) and sort in the order of their text.
- ``responses``: patient_id, date, response (sCR, CR, VGPR, PR, MR, SD, PD, NE).
- ``adverse_events``: patient_id, term, onset_date, grade (1-5), grading (CTCAE or ASTCT),
  serious (bool or null).

Rows are sorted by patient_id and date so that later stages can work on patient-sorted arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from mmrwe.contract import TableContract
from mmrwe.io.problems import ValidationReport
from mmrwe.io.schema import LAB_TESTS

#: Lab tests, in the order of their text (sorting by test sorts as text would).
LAB_TEST_DTYPE = pl.Enum(sorted(LAB_TESTS))
#: Canonical lab units ("" for qualitative tests).
LAB_UNIT_DTYPE = pl.Enum(sorted(set(LAB_TESTS.values())))
#: How a lab value was read.
VALUE_RULE_DTYPE = pl.Enum(["above_limit", "below_limit", "number", "word"])
#: A qualitative result.
LAB_RESULT_DTYPE = pl.Enum(["negative", "positive"])

PATIENTS_SCHEMA: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "diagnosis_date": pl.Date(),
    "last_contact_date": pl.Date(),
    "death_date": pl.Date(),
    "sex": pl.String(),
    "birth_year": pl.Int32(),
    "iss_stage": pl.String(),
    "r_iss_stage": pl.String(),
    "cytogenetic_risk": pl.String(),
    "ecog": pl.Int32(),
    "prior_lines_before_data": pl.Int32(),
    "source_row": pl.Int64(),
}

TREATMENTS_SCHEMA: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "drug": pl.String(),
    "start_date": pl.Date(),
    "end_date": pl.Date(),
    "dose": pl.Float64(),
    "dose_unit": pl.String(),
    "route": pl.String(),
    "start_date_imputed": pl.Boolean(),
    "end_date_imputed": pl.Boolean(),
    "source_row": pl.Int64(),
}

LABS_SCHEMA: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "date": pl.Date(),
    "test": LAB_TEST_DTYPE,
    "value": pl.Float64(),
    "result": LAB_RESULT_DTYPE,
    "unit": LAB_UNIT_DTYPE,
    "value_raw": pl.String(),
    "value_rule": VALUE_RULE_DTYPE,
    "source_row": pl.Int64(),
}

RESPONSES_SCHEMA: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "date": pl.Date(),
    "response": pl.String(),
    "source_row": pl.Int64(),
}

ADVERSE_EVENTS_SCHEMA: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "term": pl.String(),
    "onset_date": pl.Date(),
    "grade": pl.Int32(),
    "grading": pl.String(),
    "serious": pl.Boolean(),
    "source_row": pl.Int64(),
}

COHORT_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "patients": PATIENTS_SCHEMA,
    "treatments": TREATMENTS_SCHEMA,
    "labs": LABS_SCHEMA,
    "responses": RESPONSES_SCHEMA,
    "adverse_events": ADVERSE_EVENTS_SCHEMA,
}
#: the cohort's tables as the contracts the stages check their input against
PATIENTS_TABLE = TableContract("patients", PATIENTS_SCHEMA)
TREATMENTS_TABLE = TableContract("treatments", TREATMENTS_SCHEMA)
LABS_TABLE = TableContract("labs", LABS_SCHEMA)
RESPONSES_TABLE = TableContract("responses", RESPONSES_SCHEMA)
ADVERSE_EVENTS_TABLE = TableContract("adverse_events", ADVERSE_EVENTS_SCHEMA)


SORT_KEYS: dict[str, list[str]] = {
    "patients": ["patient_id"],
    "treatments": ["patient_id", "start_date", "source_row"],
    "labs": ["patient_id", "date", "test", "source_row"],
    "responses": ["patient_id", "date", "source_row"],
    "adverse_events": ["patient_id", "onset_date", "source_row"],
}


def sort_cohort_table(name: str, df: pl.DataFrame) -> pl.DataFrame:
    """Sort a typed cohort table by patient and date (the order every stage relies on)."""
    return df.sort(SORT_KEYS[name], nulls_last=True, maintain_order=True)


#: :func:`patient_index` of an id that is not among the patients
NO_PATIENT = -1


def patient_index(ids: pl.Series, patient_id: pl.Series) -> np.ndarray:
    """Each ``patient_id``'s position among the sorted, distinct ``ids`` (int64;
    :data:`NO_PATIENT` for an id not among them): the one patient-id → integer mapping inside
    the stages, which sort, join and window on integers instead of strings. Computed on runs of
    equal ids, so a column sorted by patient costs one search per patient."""
    runs = patient_id.rle().struct.unnest()
    if ids.is_empty():
        return np.full(patient_id.len(), NO_PATIENT, np.int64)
    if runs.height == ids.len() and runs["value"].equals(ids):  # sorted, every patient present
        return np.repeat(np.arange(ids.len(), dtype=np.int64), runs["len"].to_numpy())
    pos = ids.search_sorted(runs["value"]).cast(pl.Int64)
    found = (ids.gather(pos.clip(0, ids.len() - 1)) == runs["value"]).fill_null(False)
    index = np.where(found.to_numpy(), pos.to_numpy(), NO_PATIENT)
    return np.repeat(index, runs["len"].to_numpy()).astype(np.int64)


def empty_table(name: str) -> pl.DataFrame:
    """An empty table with the typed columns of cohort table ``name``."""
    return pl.DataFrame(schema=COHORT_SCHEMAS[name])


@dataclass
class Cohort:
    """A validated cohort: typed tables, the problems found and the rows excluded.

    Optional tables that were absent are empty tables with the documented columns.
    ``attrition`` is a table ``step, patients_before, patients_excluded, patients_after,
    rows_excluded, reason``; ``inputs`` lists each file read with its SHA-256 and row count.
    """

    patients: pl.DataFrame
    treatments: pl.DataFrame
    labs: pl.DataFrame = field(default_factory=lambda: empty_table("labs"))
    responses: pl.DataFrame = field(default_factory=lambda: empty_table("responses"))
    adverse_events: pl.DataFrame = field(default_factory=lambda: empty_table("adverse_events"))
    report: ValidationReport = field(default_factory=ValidationReport)
    attrition: pl.DataFrame | None = None
    inputs: list[dict[str, object]] = field(default_factory=list)
    present: frozenset[str] = frozenset({"patients", "treatments"})
    #: an OMOP CDM source only: the CDM row (``event_table``, ``event_id``) of each
    #: ``treatments.source_row`` (:data:`mmrwe.omop.source.TREATMENT_EVENTS_SCHEMA`), which
    #: ``--write-omop`` links the derived lines to (docs/omop.md)
    omop_events: pl.DataFrame | None = None

    def table(self, name: str) -> pl.DataFrame:
        """The typed table ``name`` (one of patients, treatments, labs, responses, adverse_events)."""
        return getattr(self, name)

    @property
    def n_patients(self) -> int:
        return self.patients.height

    def row_counts(self) -> dict[str, int]:
        """Rows per table read, as written in manifests (a table absent from the input or not
        asked for is left out, not reported as empty)."""
        return {name: self.table(name).height for name in COHORT_SCHEMAS if name in self.present}
