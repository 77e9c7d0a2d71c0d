"""Reading partition by partition straight from the source (``mmrwe.io.stream``) gives the
tables, the problems (with the rows of the input files) and the attrition that reading the
whole cohort gives, whatever the format and the row order of the input."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from mmrwe.errors import InvalidDataError
from mmrwe.io import read_cohort, validate_cohort
from mmrwe.io.cohort import COHORT_SCHEMAS
from mmrwe.io.output import PATIENT_LEVEL_MANIFEST, run_file
from mmrwe.io.stream import FileCohortSource
from mmrwe.simulate import simulate_cohort
from mmrwe.study import run_study

N_PATIENTS = 300
#: divides no count evenly: 9 partitions, the last of 4 patients
SIZE = 37


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sim") / "cohort"
    simulate_cohort(path, n_patients=N_PATIENTS, seed=5)
    return path


def _tables(path: Path) -> dict[str, pl.DataFrame]:
    return {n: pl.read_parquet(path / f"{n}.parquet") for n in COHORT_SCHEMAS}


def as_shuffled(cohort: Path, out: Path) -> Path:
    """Every table's rows in random order, in row groups of 50 rows (not sorted by patient)."""
    out.mkdir()
    for name, df in _tables(cohort).items():
        df.sample(fraction=1.0, shuffle=True, seed=3).write_parquet(
            out / f"{name}.parquet", row_group_size=50
        )
    return out


def as_sorted_groups(cohort: Path, out: Path) -> Path:
    """Row groups of 64 rows, sorted by patient (the fast path: groups read one at a time)."""
    out.mkdir()
    for name, df in _tables(cohort).items():
        df.write_parquet(out / f"{name}.parquet", row_group_size=64)
    return out


def as_csv(cohort: Path, out: Path) -> Path:
    out.mkdir()
    for name, df in _tables(cohort).items():
        df.write_csv(out / f"{name}.csv")
    return out


def as_parts(cohort: Path, out: Path) -> Path:
    """A folder of parts per table, the parts cutting through patients, in reverse order."""
    out.mkdir()
    for name, df in _tables(cohort).items():
        (out / name).mkdir()
        rows = max(df.height // 5, 1)
        for i, start in enumerate(range(0, df.height, rows)):
            df.slice(start, rows).write_parquet(out / name / f"part-{99 - i:03d}.parquet")
    return out


def as_duckdb(cohort: Path, out: Path) -> Path:
    out.mkdir()
    path = out / "cohort.duckdb"
    with duckdb.connect(str(path)) as con:
        for name, df in _tables(cohort).items():
            shuffled = df.sample(fraction=1.0, shuffle=True, seed=2)  # noqa: F841
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM shuffled")
    return path


def _problems(report) -> Counter:  # type: ignore[no-untyped-def]
    return Counter(
        (p.severity, p.check, p.file, p.column, p.row, p.value) for p in report.all_problems()
    )


@pytest.mark.parametrize("convert", [as_shuffled, as_sorted_groups, as_csv, as_parts, as_duckdb])
def test_partitions_are_the_tables_read_whole(cohort: Path, tmp_path: Path, convert) -> None:
    """Concatenated partitions equal the whole cohort as read_cohort reads it (rows, order,
    source rows), with the same problems and attrition."""
    path = convert(cohort, tmp_path / "input")
    whole = read_cohort(path)
    with FileCohortSource(path) as source:
        parts = list(source.partitions(SIZE))
        assert len(parts) == -(-N_PATIENTS // SIZE)
        for name in COHORT_SCHEMAS:
            got = pl.concat([p[name] for p in parts])
            assert_frame_equal(got, whole.table(name), check_dtypes=True)
        assert _problems(source.report) == _problems(whole.report)
        assert_frame_equal(source.attrition(), whole.attrition)
        assert source.row_counts() == whole.row_counts()
        assert source.inputs == whole.inputs


def test_problems_of_every_partition_are_reported_together(cohort: Path, tmp_path: Path) -> None:
    """Bad values in the first and the last partition are both reported, numbered as in the
    input file, and the run writes nothing."""
    path = as_csv(cohort, tmp_path / "input")
    treatments = pl.read_csv(path / "treatments.csv", infer_schema=False)
    last = treatments.height  # the last row belongs to the last patient
    bad = pl.int_range(1, pl.len() + 1).is_in([2, last])
    treatments.with_columns(
        pl.when(bad).then(pl.lit("2020-13-45")).otherwise(pl.col("start_date")).alias("start_date")
    ).write_csv(path / "treatments.csv")
    _, expected = validate_cohort(path)
    with pytest.raises(InvalidDataError) as info:
        run_study(path, tmp_path / "out", stop_after="lines", partition_size=SIZE)
    report = info.value.report
    rows = {(p.file, p.row) for p in report.errors if p.check == "bad_date"}
    assert rows == {("treatments.csv", 2), ("treatments.csv", last)}
    assert _problems(report) == _problems(expected)
    assert not (tmp_path / "out").exists()


def test_a_streamed_run_equals_a_run_on_sorted_input(cohort: Path, tmp_path: Path) -> None:
    """Shuffled input (sorted once by DuckDB) and the simulator's sorted file give the same
    lines and responses, partition size apart (source rows differ only by the shuffle)."""
    shuffled = as_shuffled(cohort, tmp_path / "shuffled")
    a = run_study(cohort, tmp_path / "a", stop_after="response", partition_size=SIZE)
    b = run_study(shuffled, tmp_path / "b", stop_after="response", partition_size=100)
    for name in ("line_response", "assessments"):
        assert_frame_equal(
            pl.read_parquet(run_file(a.out, f"{name}.parquet")),
            pl.read_parquet(run_file(b.out, f"{name}.parquet")),
        )
    exact = [json.loads(run_file(r.out, PATIENT_LEVEL_MANIFEST).read_text()) for r in (a, b)]
    assert exact[0]["input_rows"] == exact[1]["input_rows"]
