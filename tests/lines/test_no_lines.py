"""Cohorts in which no line opens: steroids alone are not a line (rule 3), unmapped names are not
therapy (rule 10), supportive drugs (G-CSF not before a transplant) are not therapy; every row
is counted in attrition and the tables keep their documented columns (IMWG, Rajkumar SV et al.,
Blood 2011;117:4691)."""

from __future__ import annotations

import polars as pl

from mmrwe.lines import derive_lines_of_therapy, derive_refractoriness
from mmrwe.lines.derive import LINE_EXPOSURES_TABLE
from mmrwe.lines.refractory import LINES_TABLE
from tests.lines.helpers import cohort_from_histories

NO_THERAPY = {
    "patient_id": "P0",
    "last_contact": 300,
    "treatments": [["dexamethasone", 0, 30], ["xyzzy", 0, 30], ["filgrastim", 5, 9]],
}
NO_PD = pl.DataFrame(schema={"patient_id": pl.String, "date": pl.Date})


def _check_empty(cohort) -> pl.DataFrame:
    result = derive_lines_of_therapy(cohort)
    lines = derive_refractoriness(result.lines, result.line_exposures, NO_PD)
    assert lines.height == 0 and result.line_exposures.height == 0
    assert LINES_TABLE.mismatches(lines) == []
    assert LINE_EXPOSURES_TABLE.mismatches(result.line_exposures) == []
    return result.attrition


def test_a_patient_without_anti_myeloma_therapy_has_no_line() -> None:
    attrition = _check_empty(cohort_from_histories([NO_THERAPY]))
    # one unmapped row (rule 10), one steroid row (rule 3), one supportive row; the patient
    # leaves at the last step
    assert attrition["rows_excluded"].to_list() == [1, 1, 1, 0]
    assert attrition["patients_excluded"].to_list() == [0, 0, 0, 1]


def test_a_cohort_without_treatment_rows_has_no_line() -> None:
    cohort = cohort_from_histories([NO_THERAPY])
    cohort.treatments = cohort.treatments.head(0)
    attrition = _check_empty(cohort)
    assert attrition["rows_excluded"].to_list() == [0, 0, 0, 0]
    assert attrition["patients_excluded"].to_list() == [0, 0, 0, 1]
