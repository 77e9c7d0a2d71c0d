"""Adverse events (CRS, ICANS by ICD-10-CM grade codes) and ECOG at diagnosis from a hand-made
CDM fragment, one test per mapping path (docs/omop.md, "Adverse events and ECOG").

Codes as published: ICD-10-CM D89.832 "Cytokine release syndrome, grade 2", D89.839 "…, grade
unspecified", G92.03 "Immune effector cell-associated neurotoxicity syndrome, grade 3" (the
ICD-10-CM code book), LOINC 89247-1 "ECOG Performance Status score" (HL7 FHIR mCODE). Concept
ids are the fixture's own. Expected values are adjudicated by hand from the rows below and the
documented rules: the grade is the code's; an ungraded code cannot fill the native grade (1-5)
and is counted; ECOG at diagnosis is the value nearest the diagnosis within 30 days.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from mmrwe.errors import InvalidDataError
from mmrwe.omop import parse_url, read_omop
from mmrwe.omop.render import write_duckdb

from .fragments import D, fragment

CRS, ICANS = "Cytokine release syndrome", "Immune effector cell-associated neurotoxicity syndrome"
CLINICAL_CONCEPTS = [
    (91, "Cytokine release syndrome, grade 2", "Condition", "ICD10CM", "7-char", None, "D89.832"),
    (
        92,
        "Cytokine release syndrome, grade unspecified",
        "Condition",
        "ICD10CM",
        "7-char",
        None,
        "D89.839",
    ),
    (93, f"{ICANS}, grade 3", "Condition", "ICD10CM", "6-char", None, "G92.03"),
    (94, "ECOG Performance Status score", "Measurement", "LOINC", "Clinical Observation", "S",
     "89247-1"),
]  # fmt: skip


def clinical_fragment() -> dict[str, pl.DataFrame]:
    """:func:`fragment` (person 1 diagnosed 2020-01-10, observed 2020-01-01 to 2022-12-31;
    person 2 diagnosed 2021-04-01, observed from 2021-01-01) with: person 1 CRS grade 2 on
    2020-03-05 (source concept, standard concept 0), CRS grade unspecified on 2020-03-06, CRS
    grade 2 on 2019-06-01 (before observation); person 2 ICANS grade 3 on 2021-05-10. ECOG:
    person 1 1 on 2020-01-05 (5 days before diagnosis) and 2 on 2020-01-20 (10 days after);
    person 2 5 on 2021-04-02 (not a native ECOG) and 0 on 2021-06-15 (75 days after)."""
    tables = fragment()
    tables["concept"] = pl.concat(
        [
            tables["concept"],
            pl.DataFrame(CLINICAL_CONCEPTS, schema=tables["concept"].schema, orient="row"),
        ]
    )
    conditions = [
        (10, 1, 0, D(2020, 3, 5), 91),
        (11, 1, 0, D(2020, 3, 6), 92),
        (12, 2, 0, D(2021, 5, 10), 93),
        (13, 1, 0, D(2019, 6, 1), 91),
    ]
    co = tables["condition_occurrence"]
    tables["condition_occurrence"] = pl.concat(
        [co, pl.DataFrame(conditions, schema=co.schema, orient="row")]
    )
    ecog = [
        (10, 1, 94, D(2020, 1, 5), 1.0, None, None),
        (11, 1, 94, D(2020, 1, 20), 2.0, None, None),
        (12, 2, 94, D(2021, 6, 15), 0.0, None, None),
        (13, 2, 94, D(2021, 4, 2), 5.0, None, None),
    ]
    me = tables["measurement"]
    tables["measurement"] = pl.concat([me, pl.DataFrame(ecog, schema=me.schema, orient="row")])
    return tables


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("clinical") / "cdm.duckdb"
    write_duckdb(clinical_fragment(), path)
    return read_omop(f"omop+duckdb://{path}", tables=["labs", "adverse_events"])


def _excluded(cohort, reason: str) -> int:
    step = cohort.attrition.filter(pl.col("reason").str.starts_with(reason)).row(0, named=True)
    return step["rows_excluded"]


def test_crs_and_icans_grade_codes_are_adverse_events_with_their_grade(cohort) -> None:
    ae = cohort.adverse_events.select("patient_id", "term", "onset_date", "grade", "grading")
    assert ae.rows() == [
        ("1", CRS, dt.date(2020, 3, 5), 2, "ASTCT"),
        ("2", ICANS, dt.date(2021, 5, 10), 3, "ASTCT"),
    ]


def test_ungraded_code_is_excluded_and_counted(cohort) -> None:
    assert _excluded(cohort, "adverse-event conditions without a grade") == 1


def test_adverse_event_outside_observation_is_excluded_and_counted(cohort) -> None:
    assert _excluded(cohort, "condition_occurrence rows (adverse events) dated outside") == 1


def test_ecog_nearest_the_diagnosis_within_30_days(cohort) -> None:
    # person 1: 1 (5 days before) beats 2 (10 days after); person 2: 5 is not a native ECOG
    # (counted) and 0 is 75 days after the diagnosis
    assert cohort.patients.select("patient_id", "ecog").rows() == [("1", 1), ("2", None)]
    assert _excluded(cohort, "ECOG measurements whose value is not a whole number 0-4") == 1


def test_ecog_is_not_read_as_a_lab(cohort) -> None:
    assert cohort.labs.filter(pl.col("date") == dt.date(2020, 1, 5)).height == 0
    assert _excluded(cohort, "measurement rows whose unit cannot be converted") == 1  # mmol/L


def test_adverse_event_problem_names_the_condition_row_and_person(tmp_path) -> None:
    """A CRS coded 2020-01-05, before person 1's diagnosis (2020-01-10) but inside observation:
    the native warning names the CDM row, not the extract's row number."""
    tables = clinical_fragment()
    co = tables["condition_occurrence"]
    early = pl.DataFrame([(14, 1, 0, D(2020, 1, 5), 91)], schema=co.schema, orient="row")
    tables["condition_occurrence"] = pl.concat([co, early])
    path = tmp_path / "cdm.duckdb"
    write_duckdb(tables, path)
    cohort = read_omop(f"omop+duckdb://{path}", tables=["adverse_events"])
    (p,) = [p for p in cohort.report.problems if p.check == "before_diagnosis"]
    assert p.file == "condition_occurrence (condition_occurrence_id 14, person_id 1)"
    assert p.column == "condition_start_date"


def test_check_counts_the_adverse_events_and_ecog_read(tmp_path) -> None:
    from mmrwe.omop.check import omop_check

    path = tmp_path / "cdm.duckdb"
    write_duckdb(clinical_fragment(), path)
    n = omop_check(f"omop+duckdb://{path}")
    # conditions of persons 1 and 2: 2 myeloma + 4 adverse-event rows; 2 graded, in observation
    assert n["rows"]["condition_occurrence"] == {"myeloma_persons": 6, "mapped": 2}
    # measurements of persons 1 and 2: 3 labs + 4 ECOG; mapped: 3 labs + 3 ECOG values 0-4
    assert n["rows"]["measurement"] == {"myeloma_persons": 7, "mapped": 6}
    assert (n["excluded"]["condition_no_grade"], n["excluded"]["measurement_ecog_value"]) == (1, 1)


@pytest.mark.parametrize(("window", "expected"), [(3, [None, None]), (75, [1, 0])])
def test_ecog_window_is_a_url_option(tmp_path, window: int, expected: list) -> None:
    # 3 days: person 1's values (5 days before, 10 after) fall outside; 75 days: person 2's 0,
    # measured 75 days after the diagnosis, counts
    path = tmp_path / "cdm.duckdb"
    write_duckdb(clinical_fragment(), path)
    url = f"omop+duckdb://{path}?ecog_window_days={window}"
    cohort = read_omop(url, tables=["labs", "adverse_events"])
    assert cohort.patients.sort("patient_id")["ecog"].to_list() == expected
    assert f"ecog_window_days={window}" in cohort.inputs[0]["file"]


def test_ecog_window_out_of_range_is_refused_naming_the_option(tmp_path) -> None:
    with pytest.raises(InvalidDataError, match=r"ecog_window_days='-1'.*ECOG performance"):
        parse_url(f"omop+duckdb://{tmp_path}/cdm.duckdb?ecog_window_days=-1")
