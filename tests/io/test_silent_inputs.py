"""Inputs that used to pass without a word (issue 14, items 4-8): a misspelt optional column,
implausible dates, an absent optional table, unknown drug names, and problem totals that the
console and the JSON capped."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from mmrwe.cli.app import main
from mmrwe.errors import InvalidDataError
from mmrwe.io import read_cohort, validate_cohort
from mmrwe.io.checks import CHECKS
from mmrwe.io.output import run_file
from tests.conftest import TABLES, write_cohort


def _with(table: str, old: str, new: str, count: int = 1) -> dict[str, str]:
    tables = dict(TABLES)
    assert tables[table].count(old) == count, f"{old!r} must occur {count} time(s) in {table}"
    tables[table] = tables[table].replace(old, new)
    return tables


def _checks(report, check: str) -> list:
    return [p for p in report.problems if p.check == check]


# ------------------------------------------------------------------ item 4: columns
def test_misspelt_optional_column_is_reported_with_did_you_mean(tmp_path: Path) -> None:
    """`End Date` for `end_date`: every treatment would read as ongoing; the header is named,
    the schema column suggested, and the consequence of the absent end_date said once."""
    tables = _with("treatments", "start_date,end_date,", "start_date,End Date,")
    _, report = validate_cohort(write_cohort(tmp_path / "c", tables))
    (unknown,) = _checks(report, "unknown_column")
    assert unknown.severity == "warning" == CHECKS["unknown_column"].severity
    assert (unknown.file, unknown.column, unknown.row) == ("treatments.csv", "End Date", None)
    assert "did you mean 'end_date'" in unknown.fix.lower()
    (absent,) = _checks(report, "absent_column")
    assert (absent.file, absent.column) == ("treatments.csv", "end_date")
    assert "exposures run to the next record or last contact" in absent.what


def test_extra_column_far_from_the_schema_gets_no_suggestion(tmp_path: Path) -> None:
    tables = dict(TABLES, responses=TABLES["responses"].replace("response\n", "response,site\n"))
    tables["responses"] = tables["responses"].replace("VGPR\n", "VGPR,Leiden\n")
    tables["responses"] = tables["responses"].replace("PR\n", "PR,Leiden\n")
    _, report = validate_cohort(write_cohort(tmp_path / "c", tables))
    (p,) = _checks(report, "unknown_column")
    assert p.column == "site" and "did you mean" not in p.fix.lower()
    assert report.ok


def test_absent_optional_column_without_consequence_is_not_reported(tmp_path: Path) -> None:
    """`route` is kept but used by no rule: leaving it out changes nothing, says nothing."""
    lines = [",".join(r.split(",")[:-1]) for r in TABLES["treatments"].splitlines()]
    tables = dict(TABLES, treatments="\n".join(lines) + "\n")
    _, report = validate_cohort(write_cohort(tmp_path / "c", tables))
    assert report.problems == []


def test_absent_death_date_column_says_nobody_died(tmp_path: Path) -> None:
    rows = [r.split(",") for r in TABLES["patients"].splitlines()]
    text = "\n".join(",".join(f for i, f in enumerate(r) if i != 3) for r in rows) + "\n"
    tables = dict(TABLES, patients=text)
    _, report = validate_cohort(write_cohort(tmp_path / "c", tables))
    (p,) = _checks(report, "absent_column")
    assert p.column == "death_date" and "no death" in p.what


# ------------------------------------------------------------------ item 5: dates
@pytest.mark.parametrize(
    ("table", "old", "new", "column", "row", "value"),
    [
        (
            "patients",
            "P001,2015-03-02,2020-01-01",
            "P001,2015-03-02,9999-12-31",
            "last_contact_date",
            1,
            "9999-12-31",
        ),
        (
            "labs",
            "P001,2015-03-20,serum_m_protein",
            "P001,1900-03-20,serum_m_protein",
            None,
            None,
            None,
        ),
        ("labs", "P002,2016-06-01,urine", "P002,1899-12-31,urine", "date", 5, "1899-12-31"),
        # 1900-01-01 is the zero date of spreadsheets and databases: a missing date, not a lab
        ("labs", "P002,2016-06-01,urine", "P002,1900-01-01,urine", "date", 5, "1900-01-01"),
        (
            "treatments",
            "2016-06-01,2016-10-01",
            "2016-06-01,2216-10-01",
            "end_date",
            3,
            "2216-10-01",
        ),
        ("adverse_events", "2016-08-01", "1016-08-01", "onset_date", 1, "1016-08-01"),
        ("patients", "P003,2017-01-10", "P003,1899", "diagnosis_date", 3, "1899"),
    ],
    ids=[
        "last contact 9999",
        "lab in 1900",
        "lab in 1899",
        "lab on 1900-01-01",
        "end in 2216",
        "AE in 1016",
        "1899",
    ],
)
def test_implausible_dates_are_errors_naming_the_row(
    tmp_path: Path, table, old, new, column, row, value
) -> None:
    _, report = validate_cohort(write_cohort(tmp_path / "c", _with(table, old, new)))
    found = [p for p in report.errors if p.check == "implausible_date"]
    if column is None:  # 1900-03-20 passes (only dates up to 1900-01-01 are out)
        assert not found
        return
    (p,) = found
    assert (p.file, p.column, p.row) == (f"{table}.csv", column, row)
    assert value is None or p.value == value
    assert "1900-01-01" in p.fix and p.what and CHECKS["implausible_date"].severity == "error"
    with pytest.raises(InvalidDataError, match=f"{table}.csv, column '{column}', row {row}"):
        read_cohort(tmp_path / "c")  # every command that reads the cohort stops


def test_dates_after_the_extract_date_are_errors(tmp_path: Path) -> None:
    """The data cut-off of the extract (default: today) bounds every date."""
    path = write_cohort(tmp_path / "c")
    _, report = validate_cohort(path, extract_date=dt.date(2020, 6, 30))
    rows = {(p.file, p.column, p.row) for p in report.errors if p.check == "implausible_date"}
    assert ("patients.csv", "last_contact_date", 3) in rows  # 2021-01-01
    assert ("treatments.csv", "start_date", 5) in rows  # 2020-07-01
    assert all("2020-06-30" in p.fix for p in report.errors)
    _, report = validate_cohort(path)
    assert report.ok


def test_last_contact_after_death_is_an_error(tmp_path: Path) -> None:
    tables = _with("patients", "2019-06-30,2019-06-30", "2019-07-30,2019-06-30")
    _, report = validate_cohort(write_cohort(tmp_path / "c", tables))
    (p,) = [p for p in report.errors if p.check == "contact_after_death"]
    assert (p.file, p.column, p.row, p.value) == (
        "patients.csv",
        "last_contact_date",
        2,
        "2019-07-30",
    )
    assert "death_date" in p.fix


# ------------------------------------------------------------------ item 6: absent tables
def test_absent_optional_tables_say_what_cannot_be_derived(tmp_path: Path) -> None:
    tables = {k: TABLES[k] for k in ("patients", "treatments", "adverse_events")}
    _, report = validate_cohort(write_cohort(tmp_path / "c", tables))
    absent = {p.file: p for p in _checks(report, "absent_table")}
    assert set(absent) == {"labs", "responses"}
    assert "response" in absent["labs"].what and "progression" in absent["labs"].what
    assert "recorded" in absent["responses"].what
    assert report.ok  # warnings


def test_a_table_not_asked_for_is_not_reported_absent(tmp_path: Path) -> None:
    tables = {k: TABLES[k] for k in ("patients", "treatments")}
    _, report = validate_cohort(write_cohort(tmp_path / "c", tables), tables=[])
    assert not _checks(report, "absent_table")


# ------------------------------------------------------------------ item 7: drug names
def test_validate_lists_unmapped_drug_names_with_row_counts(tmp_path: Path, capsys) -> None:
    extra = "P003,BMS-986393,2020-08-01,,,,\nP003,bms-986393 ,2020-09-01,,,,\n"
    tables = dict(TABLES, treatments=TABLES["treatments"] + extra)
    path = write_cohort(tmp_path / "c", tables)
    out = tmp_path / "p.json"
    assert main(["validate", str(path), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "BMS-986393" in printed and "--drug-map" in printed
    problems = [p for p in json.loads(out.read_text())["problems"] if p["check"] == "unmapped_drug"]
    assert {p["value"] for p in problems} == {"BMS-986393", "bms-986393"}
    first = next(p for p in problems if p["value"] == "BMS-986393")
    assert (first["file"], first["column"], first["row"]) == ("treatments.csv", "drug", 6)
    assert "1 row" in first["what"] and "--drug-map" in first["fix"]
    drug_map = tmp_path / "map.csv"
    drug_map.write_text("name,generic_name,class\nBMS-986393,arlocabtagene,car_t\n")
    assert main(["validate", str(path), "--drug-map", str(drug_map), "--json", str(out)]) == 1
    (bad,) = [p for p in json.loads(out.read_text())["problems"] if p["check"] == "drug_map"]
    assert "unknown drug class" in bad["what"] and bad["severity"] == "error"
    drug_map.write_text("name,generic_name,class\nBMS-986393,arlocabtagene,investigational\n")
    assert main(["validate", str(path), "--drug-map", str(drug_map), "--json", str(out)]) == 0
    assert not [p for p in json.loads(out.read_text())["problems"] if p["check"] == "unmapped_drug"]


def test_run_console_names_the_unmapped_drugs() -> None:
    from mmrwe.cli.validate import unmapped_drugs_text

    table = pl.DataFrame(
        {
            "drug": ["BMS-986393", "acyclovir", "x"],
            "rows": ["25", "<11", "<11"],
            "patients": ["12", "<11", "<11"],
        }
    )
    text = unmapped_drugs_text(table)
    assert text.startswith("3 drug names are not in the vocabulary")
    assert "BMS-986393 (25 rows)" in text and "--drug-map" in text
    assert unmapped_drugs_text(table.head(0)) is None


# ------------------------------------------------------------------ item 8: totals
def test_totals_are_true_and_the_json_holds_every_problem(tmp_path: Path, capsys) -> None:
    """45 labs after an alive patient's last contact: 45 warnings, not the 20 listed."""
    extra = "".join(f"P001,2020-02-{d:02d},serum_m_protein,5,g/dL\n" for d in range(1, 29))
    extra += "".join(f"P001,2020-03-{d:02d},kappa_flc,5,mg/L\n" for d in range(1, 18))
    tables = dict(TABLES, labs=TABLES["labs"] + extra)
    path = write_cohort(tmp_path / "c", tables)
    _, report = validate_cohort(path)
    assert len(report.warnings) == 20  # listed one by one
    assert report.n_warnings() == 45
    out = tmp_path / "p.json"
    assert main(["validate", str(path), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "45 warning(s)" in printed and "20 listed" in printed
    doc = json.loads(out.read_text())
    assert doc["warnings"] == 45
    rows = [p["row"] for p in doc["problems"] if p["check"] == "after_last_contact"]
    assert rows == list(range(10, 55))


def test_run_prints_the_count_and_top_unmapped_names(tmp_path: Path, capsys) -> None:
    """The simulator writes a few names that are not myeloma therapy (herbal tea, ...)."""
    from mmrwe.simulate import simulate_cohort

    simulate_cohort(tmp_path / "c", n_patients=300, seed=3)
    out = tmp_path / "run"
    assert main(["--quiet", "run", str(tmp_path / "c"), "--out", str(out), "--no-report"]) == 0
    err = capsys.readouterr().err
    unmapped = pl.read_csv(run_file(out, "unmapped_drugs.csv"), infer_schema=False)
    assert unmapped.height > 0
    assert f"{unmapped.height} drug names are not in the vocabulary" in " ".join(err.split())
    assert f"{unmapped['drug'][0]} ({unmapped['rows'][0]} rows)" in " ".join(err.split())


def test_a_table_given_twice_is_not_also_reported_absent(tmp_path: Path) -> None:
    path = write_cohort(tmp_path / "c")
    pl.read_csv(path / "labs.csv").write_parquet(path / "labs.parquet")
    _, report = validate_cohort(path)
    assert [p.check for p in report.problems] == ["ambiguous_table"]
