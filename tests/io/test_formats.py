"""The same cohort as CSV, Parquet, a folder of Parquet parts and a DuckDB file reads identically."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from mmrwe.io import read_cohort, validate_cohort
from tests.conftest import TABLES, write_cohort

NAMES = list(TABLES)


def as_parquet(csv_dir: Path, out: Path) -> Path:
    out.mkdir()
    for name in NAMES:
        pl.read_csv(csv_dir / f"{name}.csv", infer_schema=False).write_parquet(
            out / f"{name}.parquet"
        )
    return out


def as_parts(csv_dir: Path, out: Path, rows_per_part: int = 2) -> Path:
    out.mkdir()
    for name in NAMES:
        df = pl.read_csv(csv_dir / f"{name}.csv", infer_schema=False)
        (out / name).mkdir()
        for i, start in enumerate(range(0, df.height, rows_per_part)):
            df.slice(start, rows_per_part).write_parquet(out / name / f"part-{i:05d}.parquet")
    return out


def as_duckdb(csv_dir: Path, out: Path) -> Path:
    path = out / "cohort.duckdb"
    out.mkdir()
    with duckdb.connect(str(path)) as con:
        for name in NAMES:
            df = pl.read_csv(csv_dir / f"{name}.csv", infer_schema=False)  # noqa: F841
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM df")
    return path


def as_typed_parquet(csv_dir: Path, out: Path) -> Path:
    """Parquet written with native types (dates as dates, numbers as numbers)."""
    out.mkdir()
    for name in NAMES:
        df = pl.read_csv(csv_dir / f"{name}.csv", try_parse_dates=True)
        if name == "labs":
            df = df.with_columns(pl.col("value").cast(pl.String))
        df.write_parquet(out / f"{name}.parquet")
    return out


@pytest.mark.parametrize("convert", [as_parquet, as_parts, as_duckdb, as_typed_parquet])
def test_round_trip_reads_identical_tables(small_cohort: Path, tmp_path: Path, convert) -> None:
    reference = read_cohort(small_cohort)
    other = read_cohort(convert(small_cohort, tmp_path / "other"))
    for name in NAMES:
        assert_frame_equal(reference.table(name), other.table(name), check_column_order=True)
    assert other.report.ok


def test_problems_in_parts_name_the_part_and_its_row(tmp_path: Path) -> None:
    tables = dict(TABLES)
    tables["treatments"] = tables["treatments"].replace("P003,dara", "P099,dara")  # data row 4
    csv_dir = write_cohort(tmp_path / "csv", tables)
    parts = as_parts(csv_dir, tmp_path / "parts", rows_per_part=3)
    _, report = validate_cohort(parts)
    (p,) = [p for p in report.errors if p.check == "unknown_patient"]
    assert (p.file, p.row, p.value) == ("treatments/part-00001.parquet", 1, "P099")


def test_problems_in_duckdb_name_the_table(tmp_path: Path) -> None:
    tables = dict(TABLES)
    tables["labs"] = tables["labs"].replace("12.5,mg/dL", "12.5,mg/mL")
    path = as_duckdb(write_cohort(tmp_path / "csv", tables), tmp_path / "db")
    _, report = validate_cohort(path)
    (p,) = report.errors
    assert (p.file, p.column, p.row) == ("cohort.duckdb:labs", "unit", 6)


NUMERIC_LABS = """patient_id,date,test,value,unit
P001,2015-03-20,serum_m_protein,3.1,g/dL
P001,2015-05-20,serum_m_protein,15,g/L
P002,2016-06-01,kappa_flc,12.5,mg/dL
P002,2016-06-01,lambda_flc,8.0,mg/L
"""


@pytest.mark.parametrize("dtype", [pl.Float64, pl.Float32])
def test_numeric_lab_values_read_as_numbers(tmp_path: Path, dtype) -> None:
    """A lab value column stored as numbers (typed Parquet) is read as the same numbers as their
    text (a float32 3.1 is 3.1, not 3.0999999); a non-finite number is an error naming its
    row."""
    tables = dict(TABLES, labs=NUMERIC_LABS)
    csv_dir = write_cohort(tmp_path / "csv", tables)
    typed = as_parquet(csv_dir, tmp_path / "typed")
    labs = pl.read_csv(csv_dir / "labs.csv", infer_schema=False)
    labs.with_columns(pl.col("value").cast(dtype)).write_parquet(typed / "labs.parquet")
    reference, other = read_cohort(csv_dir), read_cohort(typed)
    assert_frame_equal(reference.labs, other.labs)
    assert other.labs["value"].to_list() == [3.1, 1.5, 125.0, 8.0]  # 15 g/L, 12.5 mg/dL
    bad = labs.with_columns(pl.col("value").cast(dtype)).with_columns(
        value=pl.when(pl.int_range(pl.len()) == 2).then(float("nan")).otherwise("value")
    )
    bad.write_parquet(typed / "labs.parquet")
    _, report = validate_cohort(typed)
    (p,) = report.errors
    assert (p.check, p.file, p.column, p.row, p.value) == (
        "bad_lab_value",
        "labs.parquet",
        "value",
        3,
        "NaN",
    )
