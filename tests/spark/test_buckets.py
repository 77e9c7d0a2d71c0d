"""Buckets of whole patients: a patient whose rows lie in several input files reaches the
chain whole, in one call (one Spark task), and every patient in exactly one call."""

from __future__ import annotations

import itertools
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from mmrwe.engine.spark import write_buckets
from mmrwe.engine.wire import BucketFiles
from mmrwe.io.cohort import COHORT_SCHEMAS
from mmrwe.io.read import read_cohort

pytestmark = pytest.mark.spark

ROWS_PER_FILE = 500
BUCKETS = 3


def _rows_per_patient(files: BucketFiles):  # type: ignore[no-untyped-def]
    """A mapInArrow function: each bucket read as a call reads it; its rows per patient and
    table, with the bucket and the number of files read."""

    def run(batches):  # type: ignore[no-untyped-def]
        for batch in batches:
            for bucket in batch.column(0).to_pylist():
                tables = files.read_input(bucket)
                counts = [
                    table.group_by("patient_id").len().with_columns(table=pl.lit(name))
                    for name, table in tables.items()
                ]
                n_files = sum(
                    len(list(files.input(bucket, name).glob("part-*.parquet"))) for name in tables
                )
                out = pl.concat(counts).with_columns(bucket=pl.lit(bucket), files=pl.lit(n_files))
                yield from (
                    out.select("patient_id", "table", "len", "bucket", "files")
                    .to_arrow(compat_level=pl.CompatLevel.oldest())
                    .cast(
                        pa.schema(
                            [
                                ("patient_id", pa.string()),
                                ("table", pa.string()),
                                ("len", pa.int64()),
                                ("bucket", pa.int64()),
                                ("files", pa.int64()),
                            ]
                        )
                    )
                    .to_batches()
                )

    return run


def test_patients_split_across_files_arrive_whole(spark, cohort: Path, tmp_path: Path) -> None:
    """Input files of 500 rows cut patients' treatments between files; each patient's rows of
    every table reach exactly one call, all of them."""
    data = read_cohort(cohort)
    files = BucketFiles(tmp_path / "work", {})
    assert write_buckets(data, files, BUCKETS, ROWS_PER_FILE) == BUCKETS
    straddling = []
    for bucket in range(BUCKETS):
        parts = sorted(files.input(bucket, "treatments").glob("part-*.parquet"))
        for a, b in itertools.pairwise(parts):
            if pl.read_parquet(a)["patient_id"][-1] == pl.read_parquet(b)["patient_id"][0]:
                straddling.append(pl.read_parquet(b)["patient_id"][0])
    assert straddling, "no patient's treatments straddle two input files: the test proves nothing"
    schema = "patient_id string, table string, len long, bucket long, files long"
    numbers = spark.range(0, BUCKETS, 1, BUCKETS)
    seen = pl.from_arrow(numbers.mapInArrow(_rows_per_patient(files), schema).toArrow())
    assert isinstance(seen, pl.DataFrame)
    assert seen["files"].max() > len(COHORT_SCHEMAS), "no call read a table from several files"
    calls = seen.group_by("patient_id").agg(pl.col("bucket").n_unique())
    assert calls.height == data.patients.height
    assert calls["bucket"].max() == 1, "a patient's rows were cut between calls"
    for name in COHORT_SCHEMAS:
        expected = data.table(name).group_by("patient_id").len().sort("patient_id")
        got = seen.filter(pl.col("table") == name).select("patient_id", "len")
        assert got.sort("patient_id").cast(expected.schema).equals(expected), name
