"""The follow-up cut-off: nothing dated after it reaches the analysis, every drop counted."""

from __future__ import annotations

import datetime as dt

import polars as pl

from mmrwe.io.cohort import COHORT_SCHEMAS, Cohort
from mmrwe.study import apply_data_cutoff

D = dt.date
CUT = D(2022, 6, 30)


def table(name: str, rows: list[dict]) -> pl.DataFrame:
    schema = COHORT_SCHEMAS[name]
    full = [{c: r.get(c) for c in schema} for r in rows]
    return pl.DataFrame(full, schema=schema)


def cohort() -> Cohort:
    patients = table(
        "patients",
        [
            # A: alive at last contact after the cut-off -> alive, followed to the cut-off
            {
                "patient_id": "A",
                "diagnosis_date": D(2020, 1, 1),
                "last_contact_date": D(2023, 5, 1),
            },
            # B: died after the cut-off -> death unknown at the cut-off
            {
                "patient_id": "B",
                "diagnosis_date": D(2020, 1, 1),
                "last_contact_date": D(2022, 9, 1),
                "death_date": D(2022, 9, 1),
            },
            # C: died before the cut-off -> unchanged
            {
                "patient_id": "C",
                "diagnosis_date": D(2021, 1, 1),
                "last_contact_date": D(2022, 1, 1),
                "death_date": D(2022, 1, 1),
            },
            # E: diagnosed after the cut-off -> excluded
            {
                "patient_id": "E",
                "diagnosis_date": D(2022, 8, 1),
                "last_contact_date": D(2023, 1, 1),
            },
        ],
    )
    treatments = table(
        "treatments",
        [
            {
                "patient_id": "A",
                "drug": "lenalidomide",
                "start_date": D(2020, 2, 1),
                "end_date": D(2022, 12, 1),
            },
            {
                "patient_id": "A",
                "drug": "daratumumab",
                "start_date": D(2022, 7, 1),
                "end_date": D(2022, 12, 1),
            },
            {
                "patient_id": "B",
                "drug": "bortezomib",
                "start_date": D(2020, 2, 1),
                "end_date": D(2021, 1, 1),
            },
            {"patient_id": "E", "drug": "bortezomib", "start_date": D(2022, 8, 2)},
        ],
    )
    labs = table(
        "labs",
        [
            {"patient_id": "A", "date": D(2022, 6, 30), "test": "serum_m_protein", "value": 1.0},
            {"patient_id": "A", "date": D(2022, 7, 1), "test": "serum_m_protein", "value": 2.0},
        ],
    )
    responses = table("responses", [{"patient_id": "B", "date": D(2022, 8, 1), "response": "PD"}])
    events = table(
        "adverse_events",
        [{"patient_id": "C", "term": "pneumonia", "onset_date": D(2021, 6, 1), "grade": 3}],
    )
    return Cohort(patients, treatments, labs, responses, events)


def test_cutoff_truncates_follow_up_and_drops_later_records() -> None:
    out, attrition = apply_data_cutoff(cohort(), CUT)
    p = {r["patient_id"]: r for r in out.patients.iter_rows(named=True)}
    assert set(p) == {"A", "B", "C"}
    assert p["A"]["last_contact_date"] == CUT and p["A"]["death_date"] is None
    assert p["B"]["last_contact_date"] == CUT and p["B"]["death_date"] is None
    assert p["C"]["last_contact_date"] == D(2022, 1, 1) and p["C"]["death_date"] == D(2022, 1, 1)
    # lenalidomide still given at the cut-off becomes ongoing; daratumumab started after it is gone
    assert out.treatments.select("patient_id", "drug", "end_date").rows() == [
        ("A", "lenalidomide", None),
        ("B", "bortezomib", D(2021, 1, 1)),
    ]
    assert out.labs["date"].to_list() == [CUT]  # a result on the cut-off day is kept
    assert out.responses.is_empty() and out.adverse_events.height == 1
    assert attrition.select("patients_excluded", "rows_excluded").rows() == [
        (1, 0),
        (0, 2),
        (0, 1),
        (0, 1),
        (0, 0),
    ]
    assert attrition["patients_before"].to_list() == [4, 3, 3, 3, 3]


def test_no_cutoff_is_the_identity() -> None:
    original = cohort()
    out, attrition = apply_data_cutoff(original, None)
    assert out is original and attrition.is_empty()
