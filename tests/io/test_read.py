"""Reading a valid cohort: types, canonical units, documented parsing rules, attrition."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from mmrwe.io import read_cohort, validate_cohort
from tests.conftest import TABLES, write_cohort


def lab(cohort, patient: str, test: str, date: str) -> dict:
    rows = cohort.labs.filter(
        (pl.col("patient_id") == patient)
        & (pl.col("test") == test)
        & (pl.col("date") == dt.date.fromisoformat(date))
    )
    assert rows.height == 1
    return rows.row(0, named=True)


def test_valid_cohort_reads_without_problems(small_cohort: Path) -> None:
    cohort = read_cohort(small_cohort)
    assert cohort.report.ok
    assert cohort.report.problems == []
    assert cohort.row_counts() == {
        "patients": 3,
        "treatments": 5,
        "labs": 9,
        "responses": 2,
        "adverse_events": 2,
    }
    assert cohort.patients.schema["diagnosis_date"] == pl.Date
    assert cohort.patients["prior_lines_before_data"].to_list() == [0, 0, 1]  # empty read as 0


@pytest.mark.parametrize(
    ("patient", "test", "date", "value", "unit", "rule"),
    [
        ("P001", "serum_m_protein", "2015-03-20", 3.1, "g/dL", "number"),
        ("P001", "serum_m_protein", "2015-05-20", 1.5, "g/dL", "number"),  # 15 g/L = 1.5 g/dL
        ("P001", "serum_m_protein", "2015-06-20", 0.0, "g/dL", "below_limit"),  # <0.1 counts as 0
        ("P002", "urine_m_protein", "2016-06-01", 500.0, "mg/24h", "number"),  # 0.5 g/24h
        ("P002", "kappa_flc", "2016-06-01", 125.0, "mg/L", "number"),  # 12.5 mg/dL
        ("P002", "lambda_flc", "2016-06-01", 8.0, "mg/L", "number"),
        ("P003", "serum_m_protein", "2017-02-01", 0.0, "g/dL", "word"),  # not detected
        ("P003", "bm_plasma_cells", "2017-03-01", 5.0, "%", "below_limit"),  # <5 keeps 5, flagged
    ],
)
def test_lab_values_in_canonical_units(
    small_cohort: Path, patient: str, test: str, date: str, value: float, unit: str, rule: str
) -> None:
    row = lab(read_cohort(small_cohort), patient, test, date)
    assert row["value"] == pytest.approx(value)
    assert row["unit"] == unit
    assert row["value_rule"] == rule


def test_qualitative_results_are_words(small_cohort: Path) -> None:
    row = lab(read_cohort(small_cohort), "P001", "serum_ife", "2015-06-20")
    assert row["result"] == "positive"
    assert row["value"] is None


def test_documented_rules_are_counted(small_cohort: Path) -> None:
    counts = read_cohort(small_cohort).report.counts
    assert counts == {"lab_value:below_limit": 2, "lab_value:word": 2}


@pytest.mark.parametrize(
    ("table", "old", "new", "column", "partial", "expected"),
    [
        # start-type dates take the first day of the period
        ("treatments", "2020-07-01,,4", "2020-07,,4", "start_date", "2020-07", "2020-07-01"),
        ("patients", "P001,2015-03-02", "P001,2015", "diagnosis_date", "2015", "2015-01-01"),
        # end-type dates take the last day of the period
        ("treatments", "2016-10-01,1.3", "2016-10,1.3", "end_date", "2016-10", "2016-10-31"),
        (
            "treatments",
            "2016-06-01,2016-10-01",
            "2016-06-01,2016",
            "end_date",
            "2016",
            "2016-12-31",
        ),
        ("patients", "2020-01-01,,F", "2020-02,,F", "last_contact_date", "2020-02", "2020-02-29"),
    ],
)
def test_partial_dates_are_imputed_and_flagged(
    tmp_path: Path, table: str, old: str, new: str, column: str, partial: str, expected: str
) -> None:
    tables = dict(TABLES)
    assert old in tables[table]
    tables[table] = tables[table].replace(old, new)
    cohort = read_cohort(write_cohort(tmp_path / "c", tables))
    values = cohort.table(table)[column].to_list()
    assert dt.date.fromisoformat(expected) in values
    warnings = [p for p in cohort.report.warnings if p.check == "partial_date"]
    assert len(warnings) == 1
    assert warnings[0].column == column
    assert warnings[0].value == partial
    if f"{column}_imputed" in cohort.table(table).columns:
        assert cohort.table(table)[f"{column}_imputed"].sum() == 1


def test_partial_death_date_not_before_last_contact(tmp_path: Path) -> None:
    """A death known only as 2019-06 with last contact 2019-06-20 is imputed to 2019-06-20."""
    tables = dict(TABLES)
    tables["patients"] = tables["patients"].replace(
        "P002,2016-05-10,2019-06-30,2019-06-30", "P002,2016-05-10,2019-06-20,2019-06"
    )
    cohort = read_cohort(write_cohort(tmp_path / "c", tables))
    p2 = cohort.patients.filter(pl.col("patient_id") == "P002").row(0, named=True)
    assert p2["death_date"] == dt.date(2019, 6, 20)
    assert p2["last_contact_date"] == dt.date(2019, 6, 20)


def test_rows_after_last_contact_are_excluded_and_counted(tmp_path: Path) -> None:
    tables = dict(TABLES)
    tables["labs"] += "P001,2020-03-01,serum_m_protein,1.0,g/dL\n"
    tables["responses"] += "P003,2022-01-01,PD\n"
    cohort = read_cohort(write_cohort(tmp_path / "c", tables))
    assert cohort.labs.height == 9
    assert cohort.responses.height == 2
    att = cohort.attrition
    assert att["rows_excluded"].to_list() == [0, 0, 1, 1, 0]
    # each step's patients_after is the next step's patients_before
    assert att["patients_after"].to_list()[:-1] == att["patients_before"].to_list()[1:]
    checks = sorted(p.check for p in cohort.report.warnings)
    assert checks == ["after_last_contact", "after_last_contact"]


def test_grading_defaults_to_astct_for_crs(tmp_path: Path) -> None:
    tables = dict(TABLES)
    tables["adverse_events"] += "P003,Cytokine release syndrome,2017-02-03,2,,\n"
    cohort = read_cohort(write_cohort(tmp_path / "c", tables))
    gradings = dict(
        zip(cohort.adverse_events["term"], cohort.adverse_events["grading"], strict=True)
    )
    assert gradings == {
        "peripheral neuropathy": "CTCAE",
        "neutropenia": "CTCAE",
        "Cytokine release syndrome": "ASTCT",
    }


def test_tables_are_sorted_by_patient_and_date(tmp_path: Path) -> None:
    tables = dict(TABLES)
    lines = tables["treatments"].splitlines()
    tables["treatments"] = "\n".join([lines[0], *reversed(lines[1:])]) + "\n"
    cohort = read_cohort(write_cohort(tmp_path / "c", tables))
    keys = cohort.treatments.select("patient_id", "start_date").rows()
    assert keys == sorted(keys)
    # source_row still names the row as written
    assert cohort.treatments.filter(pl.col("drug") == "pomalidomide")["source_row"].item() == 1


def test_optional_tables_may_be_absent(tmp_path: Path) -> None:
    cohort = read_cohort(
        write_cohort(
            tmp_path / "c", {"patients": TABLES["patients"], "treatments": TABLES["treatments"]}
        )
    )
    assert cohort.labs.height == 0
    assert "value" in cohort.labs.columns
    assert cohort.present == frozenset({"patients", "treatments"})


def test_partial_end_date_is_capped_at_death_in_the_same_month(tmp_path: Path) -> None:
    """Ended "2023-06", died 2023-06-15: the end is the death date, not 2023-06-30 (which would
    be after death)."""
    tables = {
        "patients": "patient_id,diagnosis_date,last_contact_date,death_date\n"
        "P1,2020-01-01,2023-06-15,2023-06-15\n",
        "treatments": "patient_id,drug,start_date,end_date\nP1,lenalidomide,2023-01-01,2023-06\n",
    }
    cohort = read_cohort(write_cohort(tmp_path / "c", tables))
    assert cohort.report.ok
    assert cohort.treatments["end_date"].to_list() == [dt.date(2023, 6, 15)]
    assert cohort.treatments["end_date_imputed"].to_list() == [True]
    assert cohort.report.counts["partial_date_at_last_contact:treatments.end_date"] == 1


@pytest.mark.parametrize(
    ("contact", "death", "end", "expected", "moved"),
    [
        # alive, last seen mid-month: capped at the last contact (no ends_after_last_contact)
        ("2023-06-15", "", "2023-06", "2023-06-15", 1),
        # year given: capped when the death falls within that year
        ("2023-06-15", "2023-06-15", "2023", "2023-06-15", 1),
        # death in a later month: the period's last day stands
        ("2023-08-15", "2023-08-15", "2023-06", "2023-06-30", 0),
        # year given, death the next year: 31 December stands
        ("2024-03-01", "2024-03-01", "2023", "2023-12-31", 0),
    ],
)
def test_partial_end_date_cap_applies_only_within_the_period(
    tmp_path: Path, contact: str, death: str, end: str, expected: str, moved: int
) -> None:
    tables = {
        "patients": "patient_id,diagnosis_date,last_contact_date,death_date\n"
        f"P1,2020-01-01,{contact},{death}\n",
        "treatments": f"patient_id,drug,start_date,end_date\nP1,len,2023-02-01,{end}\n",
    }
    cohort, report = validate_cohort(write_cohort(tmp_path / "c", tables))
    assert cohort is not None
    assert cohort.treatments["end_date"].to_list() == [dt.date.fromisoformat(expected)]
    assert report.counts.get("partial_date_at_last_contact:treatments.end_date", 0) == moved
    assert "after_death" not in {p.check for p in report.problems}


def test_partial_start_dates_are_not_before_diagnosis_in_the_same_period(tmp_path: Path) -> None:
    """Started "2020-01", diagnosed 2020-01-20: the start is the diagnosis date, not 2020-01-01;
    likewise a lab, response or adverse event dated by month or year only."""
    tables = {
        "patients": "patient_id,diagnosis_date,last_contact_date,death_date\n"
        "P1,2020-01-20,2021-06-15,\nP2,2020-03-10,2021-06-15,\n",
        "treatments": "patient_id,drug,start_date,end_date\n"
        "P1,len,2020-01,2020-05-01\nP2,len,2020-01,2020-05-01\n",
        "labs": "patient_id,date,test,value,unit\nP1,2020,kappa_flc,20,mg/L\n",
        "responses": "patient_id,date,response\nP1,2020-01,PR\n",
    }
    cohort = read_cohort(write_cohort(tmp_path / "c", tables))
    starts = dict(
        zip(cohort.treatments["patient_id"], cohort.treatments["start_date"], strict=True)
    )
    assert starts == {"P1": dt.date(2020, 1, 20), "P2": dt.date(2020, 1, 1)}  # P2: other month
    assert cohort.labs["date"].to_list() == [dt.date(2020, 1, 20)]
    assert cohort.responses["date"].to_list() == [dt.date(2020, 1, 20)]
    counts = cohort.report.counts
    assert counts["partial_date_at_diagnosis:treatments.start_date"] == 1
    assert counts["partial_date_at_diagnosis:labs.date"] == 1
    assert counts["partial_date_at_diagnosis:responses.date"] == 1
    # P2's treatment really started before diagnosis as written: still reported
    assert [p.check for p in cohort.report.warnings].count("before_diagnosis") == 1


def test_censored_free_light_chain_keeps_its_limit(tmp_path: Path) -> None:
    """'<x' still follows the documented rule for FLC (the limit, flagged); words do not."""
    tables = dict(TABLES)
    tables["labs"] = tables["labs"].replace("8.0,mg/L", "<0.5,mg/dL")
    row = lab(read_cohort(write_cohort(tmp_path / "c", tables)), "P002", "lambda_flc", "2016-06-01")
    assert (row["value"], row["value_rule"]) == (pytest.approx(5.0), "below_limit")
    assert row["value_raw"] == "<0.5"


def test_value_raw_kept_only_where_not_a_plain_number(small_cohort: Path) -> None:
    labs = read_cohort(small_cohort).labs
    kept = labs.filter(pl.col("value_raw").is_not_null())
    assert sorted(kept["value_raw"].to_list()) == ["<0.1", "<5", "not detected", "positive"]
    assert labs.filter(pl.col("value_rule") == "number")["value_raw"].null_count() == 5


@pytest.mark.parametrize(
    ("written", "value", "result", "unquantified"),
    [
        ("positive", None, "positive", 1),  # present, amount unknown: no number
        ("Detected", None, "positive", 1),
        ("present", None, "positive", 1),
        ("trace", 0.0, "positive", 0),  # too small to quantify: 0 by electrophoresis
        ("too small to quantify", 0.0, "positive", 0),
        ("not detected", 0.0, "negative", 0),
        ("negative", 0.0, "negative", 0),
    ],
)
def test_m_protein_words(
    tmp_path: Path, written: str, value: float | None, result: str, unquantified: int
) -> None:
    """A "present" word without a quantity leaves the M-protein missing (not 0); words that say
    it is too small to quantify, and absent words, are 0; all are counted as words."""
    tables = dict(TABLES)
    tables["labs"] = tables["labs"].replace("not detected,g/dl", f"{written},g/dl")
    cohort = read_cohort(write_cohort(tmp_path / "c", tables))
    row = lab(cohort, "P003", "serum_m_protein", "2017-02-01")
    assert (row["value"], row["result"], row["value_rule"]) == (value, result, "word")
    assert row["value_raw"] == written
    counts = cohort.report.counts
    assert counts["lab_value:word"] == 2  # this row and the serum IFE row
    assert counts.get("lab_value:m_protein_unquantified", 0) == unquantified
