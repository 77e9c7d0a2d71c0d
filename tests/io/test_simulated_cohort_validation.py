"""The foundation's acceptance check: a simulated cohort validates; the same cohort with one
defect each (removed column, bad date, duplicate patient, orphan treatment, unknown unit, end
before start) exits 1 naming the file, column, row and value of the problem."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from mmrwe.cli.app import main
from mmrwe.simulate import simulate_cohort


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim") / "cohort"
    simulate_cohort(out, n_patients=300, seed=1, format="csv")
    return out


def _copy(simulated: Path, tmp_path: Path) -> Path:
    target = tmp_path / "cohort"
    shutil.copytree(simulated, target, ignore=shutil.ignore_patterns("truth"))
    return target


def _edit(path: Path, table: str, fn) -> tuple[int, pl.DataFrame]:
    """Apply ``fn`` to the table as text; return the data row (from 1) that was changed."""
    df = pl.read_csv(path / f"{table}.csv", infer_schema=False)
    new, row = fn(df)
    new.write_csv(path / f"{table}.csv")
    return row, new


def test_simulated_cohort_validates(simulated: Path, capsys) -> None:
    assert main(["validate", str(simulated)]) == 0
    assert "0 error(s)" in capsys.readouterr().out


def _set(df: pl.DataFrame, column: str, index: int, value: str) -> pl.DataFrame:
    values = df[column].to_list()
    values[index] = value
    return df.with_columns(pl.Series(column, values))


CASES = {
    "removed column": ("treatments", lambda df: (df.drop("start_date"), None), "start_date", None),
    "bad date": (
        "treatments",
        lambda df: (_set(df, "start_date", 6, "2019-02-30"), 7),
        "start_date",
        "2019-02-30",
    ),
    "duplicate patient": (
        "patients",
        lambda df: (_set(df, "patient_id", 9, df["patient_id"][3]), 10),
        "patient_id",
        "<dup>",
    ),
    "orphan treatment": (
        "treatments",
        lambda df: (_set(df, "patient_id", 11, "NOBODY"), 12),
        "patient_id",
        "NOBODY",
    ),
    "unknown unit": (
        "labs",
        lambda df: (
            _set(
                df,
                "unit",
                int(df.with_row_index().filter(pl.col("test") == "serum_m_protein")["index"][0]),
                "mmol/L",
            ),
            int(df.with_row_index().filter(pl.col("test") == "serum_m_protein")["index"][0]) + 1,
        ),
        "unit",
        "mmol/L",
    ),
    "end before start": (
        "treatments",
        lambda df: (_set(df, "end_date", 2, "1999-01-01"), 3),
        "end_date",
        "1999-01-01",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_each_defect_exits_1_naming_it(simulated: Path, tmp_path: Path, name: str, capsys) -> None:
    table, fn, column, value = CASES[name]
    path = _copy(simulated, tmp_path)
    row, edited = _edit(path, table, fn)
    if value == "<dup>":
        value = edited["patient_id"][row - 1]
    json_out = tmp_path / "problems.json"
    assert main(["validate", str(path), "--json", str(json_out)]) == 1
    import json

    problems = [p for p in json.loads(json_out.read_text())["problems"] if p["severity"] == "error"]
    assert any(
        p["file"] == f"{table}.csv"
        and p["column"] == column
        and p["row"] == row
        and p["value"] == value
        for p in problems
    ), problems
    assert f"{table}.csv" in capsys.readouterr().out
