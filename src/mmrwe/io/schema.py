"""The native cohort schema: tables, columns, types and allowed values.

One declarative description used by the reader, the validator, the simulator's writer and the
documentation (``docs/data-model.md``). Column names are lower case; extra columns are kept and
ignored; column order is free.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["string", "date", "int", "float", "bool", "code", "labvalue"]

#: Lab tests of the native format and their canonical unit ("" for qualitative results).
LAB_TESTS: dict[str, str] = {
    "serum_m_protein": "g/dL",
    "urine_m_protein": "mg/24h",
    "kappa_flc": "mg/L",
    "lambda_flc": "mg/L",
    "serum_ife": "",
    "urine_ife": "",
    "bm_plasma_cells": "%",
    "bm_clonal_cells": "",
}

#: Qualitative lab tests: results are words (``positive``/``negative``).
QUALITATIVE_TESTS = frozenset({"serum_ife", "urine_ife", "bm_clonal_cells"})

#: Accepted units per test, with the factor that converts a value to the canonical unit.
UNIT_FACTORS: dict[str, dict[str, float]] = {
    "serum_m_protein": {"g/dl": 1.0, "g/l": 0.1},
    "urine_m_protein": {"mg/24h": 1.0, "g/24h": 1000.0},
    "kappa_flc": {"mg/l": 1.0, "mg/dl": 10.0},
    "lambda_flc": {"mg/l": 1.0, "mg/dl": 10.0},
    "bm_plasma_cells": {"%": 1.0},
    "serum_ife": {"": 1.0},
    "urine_ife": {"": 1.0},
    "bm_clonal_cells": {"": 1.0},
}

#: IMWG response categories, best first (Kumar 2016); NE: not evaluable. The one definition:
#: stages, statistics and figures import it.
RESPONSE_CODES = ("sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE")


def _unknown(what: str) -> str:
    return f"{what} is unknown for every patient (empty in the baseline table and subgroups)"


@dataclass(frozen=True)
class Column:
    """One column of a native table."""

    name: str
    kind: Kind
    required: bool
    meaning: str
    codes: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    #: What the analysis does when this optional column is absent ("" when nothing changes);
    #: said once by ``validate`` (check ``absent_column``).
    absent: str = ""


@dataclass(frozen=True)
class Table:
    """One table of the native cohort format."""

    name: str
    required: bool
    meaning: str
    columns: tuple[Column, ...] = field(default_factory=tuple)
    #: What cannot be derived when this optional table is absent (check ``absent_table``).
    absent: str = ""

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


PATIENTS = Table(
    "patients",
    True,
    "one row per patient",
    (
        Column(
            "patient_id", "string", True, "unique, non-empty; never printed in aggregate outputs"
        ),
        Column("diagnosis_date", "date", True, "date of multiple myeloma diagnosis"),
        Column("last_contact_date", "date", True, "last date known alive (or the death date)"),
        Column(
            "death_date",
            "date",
            False,
            "empty if alive",
            absent="no patient is known to have died: OS and every other endpoint count no "
            "death, each patient is censored at the last contact",
        ),
        Column("sex", "code", False, "sex", codes=("F", "M", "U"), absent=_unknown("sex")),
        Column(
            "birth_year",
            "int",
            False,
            "year of birth",
            minimum=1880,
            maximum=2100,
            absent=_unknown("age (from birth_year)"),
        ),
        Column(
            "iss_stage",
            "code",
            False,
            "ISS at diagnosis",
            codes=("I", "II", "III"),
            absent=_unknown("ISS stage"),
        ),
        Column(
            "r_iss_stage",
            "code",
            False,
            "R-ISS at diagnosis",
            codes=("I", "II", "III"),
            absent=_unknown("R-ISS stage"),
        ),
        Column(
            "cytogenetic_risk",
            "code",
            False,
            "high = del(17p), t(4;14) or t(14;16) (IMWG)",
            codes=("high", "standard", "unknown"),
            absent=_unknown("cytogenetic risk"),
        ),
        Column(
            "ecog",
            "int",
            False,
            "ECOG performance status at diagnosis",
            minimum=0,
            maximum=4,
            absent=_unknown("ECOG performance status"),
        ),
        Column(
            "prior_lines_before_data",
            "int",
            False,
            "lines given before this data source begins",
            minimum=0,
            maximum=30,
            absent="every patient's first line in the data is numbered line 1 (no line was "
            "given before the data begin)",
        ),
    ),
)

TREATMENTS = Table(
    "treatments",
    True,
    "one row per drug or procedure episode",
    (
        Column("patient_id", "string", True, "must exist in patients"),
        Column("drug", "string", True, "generic, brand or abbreviated name, any case"),
        Column("start_date", "date", True, "first administration (infusion for CAR-T)"),
        Column(
            "end_date",
            "date",
            False,
            "last administration; empty = ongoing",
            absent="exposures run to the next record or last contact (every treatment is read "
            "as ongoing)",
        ),
        Column("dose", "float", False, "kept, not used by any rule", minimum=0),
        Column("dose_unit", "string", False, "kept, not used by any rule"),
        Column("route", "string", False, "kept, not used by any rule"),
    ),
)

LABS = Table(
    "labs",
    False,
    "long format, one row per result",
    absent="IMWG response and progression cannot be derived from laboratory values: best "
    "response and progression come from the recorded responses only",
    columns=(
        Column("patient_id", "string", True, "must exist in patients"),
        Column("date", "date", True, "date of the sample"),
        Column("test", "code", True, "lab test", codes=tuple(LAB_TESTS)),
        Column("value", "labvalue", True, "number, censored number (<0.1) or word"),
        Column("unit", "string", False, "unit; empty for qualitative tests"),
    ),
)

RESPONSES = Table(
    "responses",
    False,
    "physician- or investigator-assessed responses",
    absent="recorded (physician-assessed) responses and progression are not used: response and "
    "progression are derived from the labs only",
    columns=(
        Column("patient_id", "string", True, "must exist in patients"),
        Column("date", "date", True, "date of the assessment"),
        Column("response", "code", True, "IMWG category", codes=RESPONSE_CODES),
    ),
)

ADVERSE_EVENTS = Table(
    "adverse_events",
    False,
    "adverse events",
    absent="no adverse event is known: the safety table is empty",
    columns=(
        Column("patient_id", "string", True, "must exist in patients"),
        Column("term", "string", True, "event term (CRS and ICANS graded by ASTCT)"),
        Column("onset_date", "date", True, "onset date"),
        Column("grade", "int", True, "grade 1-5", minimum=1, maximum=5),
        Column(
            "grading",
            "code",
            False,
            "grading system",
            codes=("CTCAE", "ASTCT"),
            absent="CRS and ICANS are read as graded by ASTCT, every other event by CTCAE",
        ),
        Column("serious", "bool", False, "serious adverse event"),
    ),
)

TABLES: dict[str, Table] = {
    t.name: t for t in (PATIENTS, TREATMENTS, LABS, RESPONSES, ADVERSE_EVENTS)
}
