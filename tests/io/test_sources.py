"""Reading the files themselves: column names, CSV field counts, DuckDB views, chunked reading,
choosing tables."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from mmrwe.errors import ParameterError
from mmrwe.io import read_cohort, sources, validate_cohort
from mmrwe.io.cohort import sort_cohort_table
from tests.conftest import TABLES, write_cohort

NAMES = list(TABLES)


def test_duplicate_column_in_csv_is_named(tmp_path: Path) -> None:
    """``drug`` and ``Drug`` are the same column once case is forgiven."""
    tables = dict(TABLES)
    tables["treatments"] = tables["treatments"].replace("dose_unit,route", "dose_unit,Drug ", 1)
    _, report = validate_cohort(write_cohort(tmp_path / "c", tables))
    (p,) = [p for p in report.errors if p.check == "duplicate_column"]
    assert (p.file, p.column, p.row, p.value) == ("treatments.csv", "drug", None, "drug, Drug ")
    assert "rename" in p.fix


def test_duplicate_column_in_parquet_is_named(tmp_path: Path) -> None:
    path = write_cohort(tmp_path / "c")
    labs = pl.read_csv(path / "labs.csv", infer_schema=False).with_columns(
        pl.col("unit").alias("UNIT")
    )
    labs.write_parquet(path / "labs.parquet")
    (path / "labs.csv").unlink()
    _, report = validate_cohort(path)
    assert [(p.check, p.file, p.column) for p in report.errors] == [
        ("duplicate_column", "labs.parquet", "unit")
    ]


def test_quoted_commas_and_line_breaks_are_not_ragged(tmp_path: Path) -> None:
    tables = dict(TABLES)
    tables["treatments"] = tables["treatments"].replace(
        "P001,dex,2015-04-01,2015-12-01,40,mg,oral",
        'P001,dex,2015-04-01,2015-12-01,40,"mg, ""oral""","by\nmouth"',
    )
    cohort = read_cohort(write_cohort(tmp_path / "c", tables))
    assert cohort.report.ok
    dex = cohort.treatments.filter(pl.col("drug") == "dex").row(0, named=True)
    assert (dex["dose_unit"], dex["route"]) == ('mg, "oral"', "by\nmouth")


def test_ragged_rows_are_all_listed_with_their_rows(tmp_path: Path) -> None:
    tables = dict(TABLES)
    lines = tables["labs"].splitlines()
    lines[2] = lines[2] + ",x"  # data row 2: one field too many
    lines[8] = lines[8].rsplit(",", 2)[0]  # data row 8: two fields missing
    tables["labs"] = "\n".join(lines)  # no line end after the last row
    _, report = validate_cohort(write_cohort(tmp_path / "c", tables))
    ragged = sorted((p.row, p.what) for p in report.errors if p.check == "ragged_row")
    assert [r for r, _ in ragged] == [2, 8]
    assert "more fields" in ragged[0][1] and "fewer fields" in ragged[1][1]


def test_duckdb_views_are_read(tmp_path: Path) -> None:
    """A view has no rowid: it is read in the order the view gives."""
    csv_dir = write_cohort(tmp_path / "csv")
    path = tmp_path / "cohort.duckdb"
    with duckdb.connect(str(path)) as con:
        for name in NAMES:
            df = pl.read_csv(csv_dir / f"{name}.csv", infer_schema=False)  # noqa: F841
            con.execute(f"CREATE TABLE raw_{name} AS SELECT * FROM df")
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM raw_{name}")
    cohort = read_cohort(path)
    reference = read_cohort(csv_dir)
    for name in NAMES:
        assert_frame_equal(cohort.table(name), reference.table(name))


def _shuffled_cohort(directory: Path) -> Path:
    """The fixture cohort with labs in reverse order and tests interleaved within a date."""
    tables = dict(TABLES)
    lines = tables["labs"].splitlines()
    extra = [
        "P001,2015-06-20,kappa_flc,20,mg/L",
        "P001,2015-06-20,bm_plasma_cells,10,%",
        "P003,2017-02-01,kappa_flc,<0.5,mg/L",
    ]
    tables["labs"] = "\n".join([lines[0], *reversed(lines[1:]), *extra]) + "\n"
    return write_cohort(directory, tables)


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 5, 1000])
def test_chunked_reading_gives_the_same_sorted_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk_rows: int
) -> None:
    path = _shuffled_cohort(tmp_path / "c")
    whole = read_cohort(path)
    monkeypatch.setattr(sources, "CHUNK_ROWS", chunk_rows)
    chunked = read_cohort(path)
    for name in NAMES:
        assert_frame_equal(chunked.table(name), whole.table(name))
        # the order of the documented sort, exactly
        assert_frame_equal(chunked.table(name), sort_cohort_table(name, chunked.table(name)))
    assert chunked.report.counts == whole.report.counts
    # within a patient and date, tests in the order of their names (as the documented sort)
    same_day = chunked.labs.filter(pl.col("patient_id") == "P001", pl.col("date").dt.day() == 20)
    assert same_day["test"].to_list()[2:] == [
        "bm_plasma_cells",
        "kappa_flc",
        "serum_ife",
        "serum_m_protein",
    ]


def test_chunked_reading_lists_at_most_20_rows_per_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = "".join(f"P001,2015-05-{d:02d},serum_m_protein,abc,g/dL\n" for d in range(1, 31))
    path = write_cohort(tmp_path / "c", dict(TABLES, labs=TABLES["labs"] + extra))
    monkeypatch.setattr(sources, "CHUNK_ROWS", 4)
    _, report = validate_cohort(path)
    assert len([p for p in report.errors if p.check == "bad_lab_value"]) == 20
    assert report.omitted[("bad_lab_value", "labs.csv", "value")] == 10


def test_tables_chooses_the_optional_tables(tmp_path: Path) -> None:
    tables = dict(TABLES)
    tables["labs"] = tables["labs"].replace("12.5,mg/dL", "12.5,mg/mL")  # an error in labs
    path = write_cohort(tmp_path / "c", tables)
    cohort = read_cohort(path, tables=["responses"])
    assert cohort.labs.height == 0 and cohort.adverse_events.height == 0
    assert cohort.responses.height == 2
    assert cohort.present == frozenset({"patients", "treatments", "responses"})
    assert {i["table"] for i in cohort.inputs} == {"patients", "treatments", "responses"}
    assert cohort.attrition.height == 5  # the same steps, labs with nothing excluded
    _, report = validate_cohort(path)  # default: every table
    assert [p.check for p in report.errors] == ["unknown_unit"]


def test_tables_rejects_unknown_names(small_cohort: Path) -> None:
    with pytest.raises(ParameterError, match="'tables' parameter of read_cohort"):
        read_cohort(small_cohort, tables=["lab"])


def test_non_finite_numbers_in_typed_parquet_are_errors(tmp_path: Path) -> None:
    """A Parquet float column may hold NaN or infinity: not numbers."""
    path = write_cohort(tmp_path / "c")
    df = pl.read_csv(path / "treatments.csv", infer_schema=False).with_columns(
        pl.col("dose").cast(pl.Float64)
    )
    df = df.with_columns(
        pl.when(pl.int_range(pl.len()) == 1)
        .then(float("nan"))
        .when(pl.int_range(pl.len()) == 3)
        .then(float("inf"))
        .otherwise(pl.col("dose"))
        .alias("dose")
    )
    df.write_parquet(path / "treatments.parquet")
    (path / "treatments.csv").unlink()
    _, report = validate_cohort(path)
    bad = [(p.check, p.file, p.column, p.row, p.value) for p in report.errors]
    assert bad == [
        ("bad_number", "treatments.parquet", "dose", 2, "NaN"),
        ("bad_number", "treatments.parquet", "dose", 4, "inf"),
    ]


def test_header_only_file_still_names_missing_columns(tmp_path: Path) -> None:
    path = write_cohort(tmp_path / "c", dict(TABLES, labs="patient_id,date,test,unit\n"))
    _, report = validate_cohort(path)
    found = {(p.check, p.severity, p.column) for p in report.problems if p.file == "labs.csv"}
    assert found == {("missing_column", "error", "value"), ("absent_table", "warning", None)}


def _semicolons(tables: dict[str, str]) -> dict[str, str]:
    """The tables as a spreadsheet in a comma-decimal locale saves them: ';' between fields."""
    import csv
    import io

    out = {}
    for name, text in tables.items():
        rows = list(csv.reader(io.StringIO(text)))
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=";", lineterminator="\n").writerows(rows)
        out[name] = buffer.getvalue()
    return out


def test_a_semicolon_delimited_csv_is_named_with_the_fix(tmp_path: Path) -> None:
    """Issue 19 item 6: not 'unknown column patient_id;diagnosis_date;...' but what to do."""
    _, report = validate_cohort(write_cohort(tmp_path / "c", _semicolons(TABLES)))
    found = [(p.check, p.file) for p in report.errors]
    assert ("wrong_delimiter", "patients.csv") in found
    problem = next(p for p in report.errors if p.file == "patients.csv")
    assert "looks semicolon-delimited" in problem.what
    assert problem.fix == "save as comma-separated or pass `--delimiter ';'`"
    assert not [p for p in report.problems if p.check == "unknown_column"]


def test_the_delimiter_reads_a_semicolon_cohort_as_the_comma_one(tmp_path: Path) -> None:
    commas = read_cohort(write_cohort(tmp_path / "a", TABLES))
    semis = read_cohort(write_cohort(tmp_path / "b", _semicolons(TABLES)), delimiter=";")
    for name in ("patients", "treatments", "labs", "responses"):
        assert_frame_equal(commas.table(name), semis.table(name))


def test_validate_takes_the_delimiter(tmp_path: Path, capsys) -> None:
    from mmrwe.cli.app import main

    cohort = write_cohort(tmp_path / "c", _semicolons(TABLES))
    assert main(["validate", str(cohort)]) == 1
    assert "--delimiter ';'" in " ".join(capsys.readouterr().out.split())
    assert main(["validate", str(cohort), "--delimiter", ";"]) == 0


@pytest.mark.parametrize("command", ["lines", "response", "run"])
def test_the_commands_that_read_a_cohort_take_the_delimiter(
    tmp_path: Path, capsys, command: str
) -> None:
    from mmrwe.cli.app import main

    cohort = write_cohort(tmp_path / "c", _semicolons(TABLES))
    args = [command, str(cohort), "--out"]
    assert main([*args, str(tmp_path / "a")]) == 1
    assert "looks semicolon-delimited" in " ".join(capsys.readouterr().err.split())
    assert main([*args, str(tmp_path / "b"), "--delimiter", ";"]) == 0
