"""Every validation check, each with a failing input: the problem names file, column, row, value.

Rows are data rows counted from 1 (header excluded), as users count them in a spreadsheet.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from mmrwe.cli.app import main
from mmrwe.errors import InvalidDataError
from mmrwe.io import read_cohort, validate_cohort
from mmrwe.io.checks import CHECKS
from tests.conftest import TABLES, write_cohort

# (case id, table, old text, new text, check, file, column, row, value)
CASES = [
    (
        "bad date",
        "treatments",
        "2016-06-01,2016-10-01",
        "2016-06-31,2016-10-01",
        "bad_date",
        "treatments.csv",
        "start_date",
        3,
        "2016-06-31",
    ),
    (
        "bad date word",
        "patients",
        "P003,2017-01-10",
        "P003,Jan 10 2017",
        "bad_date",
        "patients.csv",
        "diagnosis_date",
        3,
        "Jan 10 2017",
    ),
    (
        "duplicate patient",
        "patients",
        "P003,2017-01-10",
        "P001,2017-01-10",
        "duplicate_patient",
        "patients.csv",
        "patient_id",
        3,
        "P001",
    ),
    (
        "empty patient id",
        "patients",
        "P003,2017-01-10",
        ",2017-01-10",
        "empty_value",
        "patients.csv",
        "patient_id",
        3,
        None,
    ),
    (
        "orphan treatment",
        "treatments",
        "P003,dara",
        "P099,dara",
        "unknown_patient",
        "treatments.csv",
        "patient_id",
        4,
        "P099",
    ),
    (
        "orphan lab",
        "labs",
        "P003,2017-02-01",
        "P777,2017-02-01",
        "unknown_patient",
        "labs.csv",
        "patient_id",
        8,
        "P777",
    ),
    (
        "end before start",
        "treatments",
        "2015-04-01,2016-01-01",
        "2015-04-01,2015-01-01",
        "end_before_start",
        "treatments.csv",
        "end_date",
        1,
        "2015-01-01",
    ),
    (
        "death before diagnosis",
        "patients",
        "2019-06-30,2019-06-30",
        "2019-06-30,2016-01-01",
        "death_before_diagnosis",
        "patients.csv",
        "death_date",
        2,
        "2016-01-01",
    ),
    (
        "contact before diagnosis",
        "patients",
        "P001,2015-03-02,2020-01-01",
        "P001,2015-03-02,2014-01-01",
        "contact_before_diagnosis",
        "patients.csv",
        "last_contact_date",
        1,
        "2014-01-01",
    ),
    (
        "treatment after death",
        "treatments",
        "P002,bortezomib,2016-06-01",
        "P002,bortezomib,2019-08-01",
        "after_death",
        "treatments.csv",
        "start_date",
        3,
        "2019-08-01",
    ),
    (
        "unknown lab test",
        "labs",
        "P002,2016-06-01,lambda_flc",
        "P002,2016-06-01,beta2m",
        "unknown_lab_test",
        "labs.csv",
        "test",
        7,
        "beta2m",
    ),
    (
        "unknown unit",
        "labs",
        "12.5,mg/dL",
        "12.5,mg/mL",
        "unknown_unit",
        "labs.csv",
        "unit",
        6,
        "mg/mL",
    ),
    (
        "missing unit",
        "labs",
        "15,g/L",
        "15,",
        "missing_unit",
        "labs.csv",
        "unit",
        2,
        "serum_m_protein",
    ),
    (
        "negative lab value",
        "labs",
        "3.1,g/dL",
        "-3.1,g/dL",
        "negative_value",
        "labs.csv",
        "value",
        1,
        "-3.1",
    ),
    (
        "negative dose",
        "treatments",
        ",25,mg",
        ",-25,mg",
        "negative_value",
        "treatments.csv",
        "dose",
        1,
        "-25",
    ),
    (
        "unreadable lab value",
        "labs",
        "3.1,g/dL",
        "3.1.2,g/dL",
        "bad_lab_value",
        "labs.csv",
        "value",
        1,
        "3.1.2",
    ),
    (
        "bad IFE word",
        "labs",
        "serum_ife,positive",
        "serum_ife,0.4",
        "bad_lab_value",
        "labs.csv",
        "value",
        4,
        "0.4",
    ),
    (
        "response code",
        "responses",
        "2016-09-01,PR",
        "2016-09-01,nCR",
        "bad_code",
        "responses.csv",
        "response",
        2,
        "nCR",
    ),
    (
        "grade 6",
        "adverse_events",
        "2016-08-01,2,CTCAE",
        "2016-08-01,6,CTCAE",
        "out_of_range",
        "adverse_events.csv",
        "grade",
        1,
        "6",
    ),
    (
        "grade 0",
        "adverse_events",
        "2017-03-01,3,,true",
        "2017-03-01,0,,true",
        "out_of_range",
        "adverse_events.csv",
        "grade",
        2,
        "0",
    ),
    (
        "ecog 5",
        "patients",
        "standard,1,",
        "standard,5,",
        "out_of_range",
        "patients.csv",
        "ecog",
        1,
        "5",
    ),
    (
        "sex code",
        "patients",
        "P001,2015-03-02,2020-01-01,,F",
        "P001,2015-03-02,2020-01-01,,female",
        "bad_code",
        "patients.csv",
        "sex",
        1,
        "female",
    ),
    (
        "not a number",
        "patients",
        "1950,II",
        "19x0,II",
        "bad_number",
        "patients.csv",
        "birth_year",
        1,
        "19x0",
    ),
    (
        "birth after diagnosis",
        "patients",
        "1950,II",
        "2016,II",
        "birth_after_diagnosis",
        "patients.csv",
        "birth_year",
        1,
        "2016",
    ),
    (
        "grading code",
        "adverse_events",
        "2,CTCAE,false",
        "2,CTC,false",
        "bad_code",
        "adverse_events.csv",
        "grading",
        1,
        "CTC",
    ),
    (
        "serious flag",
        "adverse_events",
        "CTCAE,false",
        "CTCAE,perhaps",
        "bad_code",
        "adverse_events.csv",
        "serious",
        1,
        "perhaps",
    ),
    (
        "lab value NaN",
        "labs",
        "3.1,g/dL",
        "NaN,g/dL",
        "bad_lab_value",
        "labs.csv",
        "value",
        1,
        "NaN",
    ),
    (
        "lab value inf",
        "labs",
        "8.0,mg/L",
        "inf,mg/L",
        "bad_lab_value",
        "labs.csv",
        "value",
        7,
        "inf",
    ),
    (
        "lab value beyond double range",
        "labs",
        "0.5,g/24h",
        "1e400,g/24h",
        "bad_lab_value",
        "labs.csv",
        "value",
        5,
        "1e400",
    ),
    (
        "censored lab value NaN",
        "labs",
        "<5,%",
        "<nan,%",
        "bad_lab_value",
        "labs.csv",
        "value",
        9,
        "<nan",
    ),
    (
        "dose NaN",
        "treatments",
        ",25,mg",
        ",NaN,mg",
        "bad_number",
        "treatments.csv",
        "dose",
        1,
        "NaN",
    ),
    (
        "dose 1e400",
        "treatments",
        "2016-10-01,1.3,",
        "2016-10-01,1e400,",
        "bad_number",
        "treatments.csv",
        "dose",
        3,
        "1e400",
    ),
    (
        "word for a free light chain",
        "labs",
        "12.5,mg/dL",
        "not detected,mg/dL",
        "bad_lab_value",
        "labs.csv",
        "value",
        6,
        "not detected",
    ),
    (
        "word for marrow plasma cells",
        "labs",
        "<5,%",
        "negative,%",
        "bad_lab_value",
        "labs.csv",
        "value",
        9,
        "negative",
    ),
    (
        "short CSV row (truncated export)",
        "treatments",
        "2020-07-01,,4,mg,oral",
        "2020-07-01",
        "ragged_row",
        "treatments.csv",
        None,
        5,
        "P003,pomalidomide,2020-07-01",
    ),
    (
        "long CSV row",
        "labs",
        "P002,2016-06-01,lambda_flc,8.0,mg/L",
        "P002,2016-06-01,lambda_flc,8.0,mg/L,extra",
        "ragged_row",
        "labs.csv",
        None,
        7,
        "P002,2016-06-01,lambda_flc,8.0,mg/L,extra",
    ),
]


def _mutate(table: str, old: str, new: str) -> dict[str, str]:
    tables = dict(TABLES)
    assert tables[table].count(old) == 1, f"fixture text {old!r} must occur once in {table}"
    tables[table] = tables[table].replace(old, new)
    return tables


@pytest.mark.parametrize(
    ("table", "old", "new", "check", "file", "column", "row", "value"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_each_check_names_file_column_row_value(
    tmp_path: Path, table, old, new, check, file, column, row, value
) -> None:
    path = write_cohort(tmp_path / "c", _mutate(table, old, new))
    _, report = validate_cohort(path)
    found = [p for p in report.errors if p.check == check]
    assert found, f"no {check} error; got {[p.sentence() for p in report.problems]}"
    p = found[0]
    assert (p.file, p.column, p.row, p.value) == (file, column, row, value)
    assert p.fix and p.what
    assert CHECKS[check].severity == "error"
    with pytest.raises(InvalidDataError) as info:
        read_cohort(path)
    assert file in str(info.value) and f"row {row}" in str(info.value)


def test_missing_column_is_named(tmp_path: Path) -> None:
    tables = dict(TABLES)
    tables["treatments"] = "\n".join(
        ",".join(f for i, f in enumerate(line.split(",")) if i != 2)
        for line in TABLES["treatments"].splitlines()
    )
    _, report = validate_cohort(write_cohort(tmp_path / "c", tables))
    (p,) = [p for p in report.errors if p.check == "missing_column"]
    assert (p.file, p.column, p.row) == ("treatments.csv", "start_date", None)
    assert "drug" in p.fix  # lists the columns present


def test_missing_required_table(tmp_path: Path) -> None:
    _, report = validate_cohort(write_cohort(tmp_path / "c", {"patients": TABLES["patients"]}))
    assert [p.check for p in report.errors] == ["missing_table"]
    assert "treatments" in report.errors[0].what


def test_empty_files(tmp_path: Path) -> None:
    tables = dict(TABLES, treatments="", labs="patient_id,date,test,value,unit\n")
    _, report = validate_cohort(write_cohort(tmp_path / "c", tables))
    empty = {
        (p.file, p.check, p.severity)
        for p in report.problems
        if p.check in ("empty_file", "absent_table")
    }
    assert empty == {
        ("treatments.csv", "empty_file", "error"),
        ("labs.csv", "absent_table", "warning"),  # optional: says what cannot be derived
    }


def test_non_utf8_bytes_are_located(tmp_path: Path) -> None:
    path = write_cohort(tmp_path / "c")
    text = TABLES["treatments"].replace("dara", "dara\udce9")  # lone byte 0xE9 (latin-1 é)
    (path / "treatments.csv").write_bytes(text.encode("utf-8", "surrogateescape"))
    _, report = validate_cohort(path)
    (p,) = [p for p in report.errors if p.check == "encoding"]
    assert (p.file, p.column, p.row) == ("treatments.csv", "drug", 4)


def test_all_problems_collected_not_first_only(tmp_path: Path) -> None:
    tables = _mutate("treatments", "2015-04-01,2016-01-01", "2015-04-01,2015-01-01")
    tables["labs"] = tables["labs"].replace("12.5,mg/dL", "12.5,mg/mL")
    tables["patients"] = tables["patients"].replace("P003,2017-01-10", "P001,2017-01-10")
    _, report = validate_cohort(write_cohort(tmp_path / "c", tables))
    checks = {p.check for p in report.errors}
    assert {"end_before_start", "unknown_unit", "duplicate_patient"} <= checks


def test_many_failing_rows_are_counted_beyond_the_listed_ones(tmp_path: Path) -> None:
    extra = "".join(f"P001,2015-05-{d:02d},serum_m_protein,abc,g/dL\n" for d in range(1, 31))
    tables = dict(TABLES, labs=TABLES["labs"] + extra)
    _, report = validate_cohort(write_cohort(tmp_path / "c", tables))
    listed = [p for p in report.errors if p.check == "bad_lab_value"]
    assert len(listed) == 20
    assert report.omitted[("bad_lab_value", "labs.csv", "value")] == 10
    assert report.n_errors() == 30


def test_every_documented_check_has_a_failing_case() -> None:
    """The CHECKS table and the tests move together."""
    tested = {c[4] for c in CASES} | {
        "missing_column",
        "missing_table",
        "empty_file",
        "encoding",
        "partial_date",
        "after_last_contact",
        "death_after_contact",
        "ends_after_last_contact",
        "before_diagnosis",
        "ambiguous_table",
        "unreadable_file",
        "duplicate_column",  # tests/io/test_sources.py
        "wrong_delimiter",  # tests/io/test_sources.py
        "unknown_column",  # tests/io/test_silent_inputs.py
        "absent_column",
        "absent_table",
        "implausible_date",
        "contact_after_death",
        "unmapped_drug",
        "drug_map",
    }
    assert set(CHECKS) == tested


def test_warnings_do_not_fail(tmp_path: Path) -> None:
    tables = _mutate("treatments", "P001,Revlimid,2015-04-01", "P001,Revlimid,2015-01-01")
    tables["patients"] = tables["patients"].replace(
        "P002,2016-05-10,2019-06-30,2019-06-30", "P002,2016-05-10,2019-05-30,2019-06-30"
    )
    tables["treatments"] = tables["treatments"].replace("2020-07-01,,4", "2020-07-01,2021-03-01,4")
    cohort = read_cohort(write_cohort(tmp_path / "c", tables))
    checks = sorted(p.check for p in cohort.report.warnings)
    assert checks == ["before_diagnosis", "death_after_contact", "ends_after_last_contact"]
    p2 = cohort.patients.filter(pl.col("patient_id") == "P002")
    assert str(p2["last_contact_date"].item()) == "2019-06-30"


def test_ambiguous_table(tmp_path: Path) -> None:
    path = write_cohort(tmp_path / "c")
    pl.read_csv(path / "labs.csv").write_parquet(path / "labs.parquet")
    _, report = validate_cohort(path)
    assert [p.check for p in report.errors] == ["ambiguous_table"]


def test_unreadable_file(tmp_path: Path) -> None:
    path = write_cohort(tmp_path / "c")
    (path / "labs.parquet").write_bytes(b"PAR1 not really parquet")
    (path / "labs.csv").unlink()
    _, report = validate_cohort(path)
    assert [(p.check, p.file) for p in report.errors] == [("unreadable_file", "labs.parquet")]


def test_cli_validate_exit_codes_and_json(tmp_path: Path, capsys) -> None:
    good = write_cohort(tmp_path / "good")
    assert main(["validate", str(good)]) == 0
    bad = write_cohort(tmp_path / "bad", _mutate("labs", "12.5,mg/dL", "12.5,mg/mL"))
    out = tmp_path / "problems.json"
    assert main(["validate", str(bad), "--json", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "labs.csv" in printed and "mg/mL" in printed
    doc = json.loads(out.read_text())
    assert doc["ok"] is False and doc["errors"] == 1
    assert doc["problems"][0] | {} == {
        "severity": "error",
        "check": "unknown_unit",
        "file": "labs.csv",
        "column": "unit",
        "row": 6,
        "value": "mg/mL",
        "what": doc["problems"][0]["what"],
        "fix": "use mg/L or mg/dL",
    }


def test_cli_usage_error_exits_2(tmp_path: Path) -> None:
    assert main(["validate"]) == 2
    assert main(["validate", str(tmp_path / "nowhere")]) == 1


def test_the_documented_table_restates_checks() -> None:
    """docs/validation.md lists every check of CHECKS with its severity, and no other."""
    import re

    text = (Path(__file__).parents[2] / "docs" / "validation.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([a-z_]+)` \| (error|warning) \|", text, flags=re.M)
    assert dict(rows) == {code: check.severity for code, check in CHECKS.items()}
    assert len(rows) == len(CHECKS)
