"""ADSL and ADRS from small hand-written run tables (CDISC ADaM IG v1.3; admiralonco's IMWG
ADRS vignette): one ADSL record per patient with the index line's variables, ADRS per-assessment
and per-line records with the vignette's AVAL order."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from mmrwe.adam import schema, to_adrs, to_adsl
from mmrwe.errors import InvalidDataError

D = dt.date


def patients() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "patient_id": ["P1", "P2"],
            "diagnosis_date": [D(2015, 3, 2), D(2016, 5, 10)],
            "last_contact_date": [D(2021, 1, 1), D(2019, 6, 30)],
            "death_date": [D(2021, 1, 1), None],
            "sex": ["F", "M"],
            "iss_stage": ["II", None],
            "r_iss_stage": ["II", None],
            "cytogenetic_risk": ["high", "unknown"],
            "ecog": [1, None],
        }
    )


def analysis_lines() -> pl.DataFrame:
    """P1 is analysed at lines 3 and 2 (given out of order); P2 has no analysed line."""
    return pl.DataFrame(
        {
            "patient_id": ["P1", "P1"],
            "line": [3, 2],
            "start_date": [D(2019, 2, 1), D(2017, 6, 1)],
            "index_date": [D(2019, 3, 15), D(2017, 6, 1)],
            "regimen": ["Cilta-cel", "DRd"],
            "prior_lines": [2, 1],
            "age_at_index": [70, 64],
            "prior_asct": [True, True],
            "len_refractory": [True, False],
            "pi_refractory": [True, True],
            "anti_cd38_refractory": [True, None],
            "triple_class_refractory": [True, False],
            "penta_refractory": [False, False],
            "triple_class_exposed": [True, False],
            "penta_exposed": [False, False],
        }
    )


def test_adsl_one_record_per_patient_with_the_first_analysed_line() -> None:
    adsl = to_adsl(patients(), analysis_lines(), study_id="RWE", data_cutoff=D(2021, 6, 30))
    assert adsl.schema == pl.Schema(schema("ADSL"))
    assert adsl["USUBJID"].to_list() == ["P1", "P2"]
    p1, p2 = adsl.rows(named=True)
    # index line = the first analysed line (2), not the first row given (3)
    assert (p1["INDXLINE"], p1["TRTSDT"], p1["TRT01A"], p1["PRIORLN"]) == (
        2,
        D(2017, 6, 1),
        "DRd",
        1,
    )
    assert (p1["AGE"], p1["AGEU"], p1["AGEGR1"]) == (64, "YEARS", "<65")
    assert (p1["PRASCTFL"], p1["LENREFFL"], p1["PIREFFL"], p1["CD38RFFL"]) == ("Y", "N", "Y", None)
    assert (p1["NANLINES"], p1["FASFL"], p1["DTHFL"], p1["DTHDT"]) == (2, "Y", "Y", D(2021, 1, 1))
    assert (p1["DIAGDT"], p1["ISSSTG"], p1["CYTORISK"], p1["ECOGDX"]) == (
        D(2015, 3, 2),
        "II",
        "high",
        1,
    )
    assert p1["DCUTDT"] == D(2021, 6, 30) and p1["STUDYID"] == "RWE"
    # a patient without an analysed line: in ADSL, outside the analysis set
    assert (p2["FASFL"], p2["NANLINES"], p2["INDXLINE"], p2["AGEGR1"], p2["DTHFL"]) == (
        "N",
        0,
        None,
        None,
        None,
    )


def test_adsl_names_a_missing_column() -> None:
    with pytest.raises(InvalidDataError, match=r"'analysis_lines' .* 'index_date'"):
        to_adsl(patients(), analysis_lines().drop("index_date"), study_id="S")


def assessments() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "patient_id": ["P1"] * 4,
            "line": [1] * 4,
            "date": [D(2020, 1, 1), D(2020, 2, 1), D(2020, 3, 1), D(2020, 4, 1)],
            "role": ["baseline", "on_line", "on_line", "on_line"],
            "category": [None, "PR", "VGPR", None],
            "confirmed": [False, True, False, False],
        }
    )


def line_response() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "patient_id": ["P1", "P2"],
            "line": [1, 1],
            "best_response": ["PR", "SD"],
            "best_response_date": [D(2020, 2, 1), None],
            "first_response_date": [D(2020, 2, 1), None],
            "progression_date": [None, D(2020, 9, 1)],
            "response_source": ["labs", "physician"],
            "progression_source": [None, "physician"],
        }
    )


def test_adrs_records_per_assessment_and_per_line() -> None:
    adrs = to_adrs(assessments(), line_response(), study_id="RWE")
    assert adrs.schema == pl.Schema(schema("ADRS"))
    got = adrs.select("USUBJID", "PARAMCD", "ADT", "AVALC", "AVAL", "CNFRMFL", "RSSRC").rows()
    assert got == [
        ("P1", "OVR", D(2020, 2, 1), "PR", 4, "Y", "labs"),
        ("P1", "OVR", D(2020, 3, 1), "VGPR", 5, "N", "labs"),
        # an assessment that supports no category is NE (AVAL 8, after the categories)
        ("P1", "OVR", D(2020, 4, 1), "NE", 8, "N", "labs"),
        ("P1", "BOR", D(2020, 2, 1), "PR", 4, None, "labs"),
        ("P1", "RSP", D(2020, 2, 1), "Y", 1, None, "labs"),
        ("P1", "PD", None, "N", 0, None, None),
        ("P2", "BOR", None, "SD", 2, None, "physician"),
        ("P2", "RSP", None, "N", 0, None, "physician"),
        ("P2", "PD", D(2020, 9, 1), "Y", 1, None, "physician"),
    ]
    assert set(adrs["PARCAT1"]) == {"IMWG"}
    assert adrs.filter(pl.col("PARAMCD") == "RSP")["PARAM"][0] == (
        "Response (IMWG, sCR or CR or VGPR or PR)"
    )


def test_adrs_responders_follow_the_rules() -> None:
    """A study that counts MR as response (EndpointRules.responder_categories) says so."""
    adrs = to_adrs(assessments(), line_response(), study_id="S", responders=("PR", "MR", "SD"))
    rsp = adrs.filter(pl.col("PARAMCD") == "RSP")
    assert rsp["AVALC"].to_list() == ["Y", "Y"]
    assert rsp["PARAM"][0] == "Response (IMWG, PR or MR or SD)"
