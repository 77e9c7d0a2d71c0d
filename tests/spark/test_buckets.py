"""Buckets of whole patients: a patient whose rows lie in several input files (and several of
Spark's input partitions) reaches the chain whole, in one call."""

from __future__ import annotations

import uuid
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from mmrwe.engine.spark import SparkEngine, cohort_frame
from mmrwe.engine.wire import BUCKET, TAG, column, input_schemas
from mmrwe.io.read import read_cohort

pytestmark = pytest.mark.spark

ROWS_PER_FILE = 500


def _calls(table: pa.Table) -> pa.Table:
    """Rows per patient and table in one call, with the call's id."""
    df = pl.from_arrow(table)
    assert isinstance(df, pl.DataFrame)
    patient = pl.coalesce([pl.col(column(name, "patient_id")) for name in input_schemas()])
    counts = df.group_by(patient.alias("patient_id"), TAG).agg(pl.len().cast(pl.Int64).alias("n"))
    return (
        counts.with_columns(call=pl.lit(uuid.uuid4().hex))
        .to_arrow()
        .cast(
            pa.schema(
                [
                    ("patient_id", pa.string()),
                    (TAG, pa.string()),
                    ("n", pa.int64()),
                    ("call", pa.string()),
                ]
            )
        )
    )


def test_patients_split_across_files_arrive_whole(spark, cohort: Path, tmp_path: Path) -> None:
    data = read_cohort(cohort)
    ids = data.treatments["patient_id"]
    cut = [i for i in range(ROWS_PER_FILE, ids.len(), ROWS_PER_FILE) if ids[i - 1] == ids[i]]
    assert cut, "no patient's treatments straddle two input files: the test would prove nothing"
    previous = spark.conf.get("spark.sql.files.maxPartitionBytes")
    spark.conf.set("spark.sql.files.maxPartitionBytes", "2048")  # many input partitions
    try:
        engine = SparkEngine(session=spark, rows_per_file=ROWS_PER_FILE)
        frame = cohort_frame(spark, data, tmp_path / "input", 3, engine)
        assert frame.rdd.getNumPartitions() > 5
        schema = "patient_id string, table string, n long, call string"
        seen = pl.from_arrow(frame.groupBy(BUCKET).applyInArrow(_calls, schema).toArrow())
    finally:
        spark.conf.set("spark.sql.files.maxPartitionBytes", previous)
    assert isinstance(seen, pl.DataFrame)
    calls = seen.group_by("patient_id").agg(pl.col("call").n_unique())
    assert calls.height == data.patients.height
    assert calls["call"].max() == 1, "a patient's rows were cut between calls"
    for name in input_schemas():
        expected = data.table(name).group_by("patient_id").len().sort("patient_id")
        got = seen.filter(pl.col(TAG) == name).select("patient_id", pl.col("n").alias("len"))
        assert got.sort("patient_id").cast(expected.schema).equals(expected), name
    straddling = ids[cut[0]]
    assert seen.filter(pl.col("patient_id") == straddling)["call"].n_unique() == 1
