"""The Spark engine gives the local engine's results: byte-identical aggregate tables and the
same patient-level rows (after a stable sort), on the default study and on a shipped one; a task
that fails once and is retried duplicates no row; an error inside a task reaches the user as the
local engine's error, with its message."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from mmrwe.engine import LocalEngine
from mmrwe.engine.call import FailOnce
from mmrwe.engine.spark import SparkEngine
from mmrwe.errors import InvalidDataError
from mmrwe.io.output import OutputDirectory, run_file
from mmrwe.io.read import read_cohort
from mmrwe.pipeline import tables_of
from mmrwe.study import run_study
from mmrwe.study.config import load_config
from mmrwe.vocab import load_vocabulary
from tests.spark.compare import assert_same_run, spark_table

pytestmark = pytest.mark.spark


def _spark_run(spark, cohort: Path, out: Path, **engine) -> Path:  # type: ignore[no-untyped-def]
    run_study(cohort, out, report=False, engine=SparkEngine(session=spark, **engine), **{})
    return out


# 2,000 patients in the default suite: 41-59 s on this project's 2-core machine at load 10-14
# (78 s when it is the session's first Spark job, which starts the Python workers)
def test_default_study_same_as_local(spark, cohort_2000: Path, tmp_path: Path) -> None:
    """2,000 simulated patients, eight buckets, input files of 9,973 rows (patients cut across
    files): the same aggregate tables byte for byte, patient-level rows, SAS transport files
    and manifest counts as the local engine."""
    local = tmp_path / "local"
    run_study(cohort_2000, local, report=False)
    out = _spark_run(spark, cohort_2000, tmp_path / "run", buckets=8, rows_per_file=9_973)
    compared = assert_same_run(local, out)
    assert {"summary_by_line", "response_rates", "baseline", "attrition"} <= set(compared)
    assert {"adsl.xpt", "adrs.xpt", "adtte.xpt"} <= set(compared)
    manifest = json.loads((run_file(out, "manifest.json")).read_text())
    assert manifest["engine"] == "spark"
    assert manifest["spark_version"] == spark.version
    assert manifest["spark_master"] == "local[2,2]"
    assert manifest["spark_buckets"] == 8
    local_manifest = json.loads((run_file(local, "manifest.json")).read_text())
    assert local_manifest["engine"] == "local"
    assert manifest["outputs"] == local_manifest["outputs"]
    assert not (out / "_spark").exists() and not (out / "patient_level" / "_spark").exists()


@pytest.mark.slow
def test_shipped_study_same_as_local(spark, cohort_2000: Path, tmp_path: Path) -> None:
    """isa-pd (its own population criteria and groups) on 2,000 patients: same results."""
    local = tmp_path / "local"
    run_study(cohort_2000, local, config="isa-pd", report=False)
    out = tmp_path / "spark"
    run_study(cohort_2000, out, config="isa-pd", report=False, engine=SparkEngine(session=spark))
    assert_same_run(local, out)


@pytest.mark.parametrize("after_write", [False, True], ids=["before-writing", "after-writing"])
def test_task_failing_once_duplicates_nothing(
    spark, cohort: Path, local_run: Path, tmp_path: Path, after_write: bool
) -> None:
    """The first attempt on bucket 1 raises, as a killed task would: before writing anything,
    or after writing all its files (killed before it reported success); Spark retries it
    (maxFailures 2); the retry replaces the bucket's files, so no row is duplicated."""
    marker = tmp_path / "failed-once"
    fault = FailOnce(bucket=1, marker=marker, after_write=after_write)
    out = _spark_run(spark, cohort, tmp_path / "run", buckets=3, fail_once=fault)
    assert marker.exists(), "the injected fault did not fire"
    assert_same_run(local_run, out)
    lines = spark_table(out, "lines", pl.read_parquet(run_file(local_run, "lines.parquet")).schema)
    assert lines.select("patient_id", "line").is_duplicated().sum() == 0
    for name in tables_of("population"):  # one file per bucket, no attempt's file left
        parts = sorted(p.name for p in (out / "patient_level" / name).iterdir())
        assert parts == [f"part-{b:05d}.parquet" for b in range(3)], name


def _contradictory(cohort_path: Path):  # type: ignore[no-untyped-def]
    """The cohort with one patient's last contact a month before their first treatment: it
    passes reading (that check is not the reader's) but the endpoints stage refuses it."""
    cohort = read_cohort(cohort_path)
    pid = cohort.patients["patient_id"][7]
    first = cohort.treatments.filter(pl.col("patient_id") == pid)["start_date"].min()
    is_pid = pl.col("patient_id") == pid
    patients = cohort.patients.with_columns(
        last_contact_date=pl.when(is_pid)
        .then(pl.lit(first - dt.timedelta(days=30)))
        .otherwise(pl.col("last_contact_date")),
        death_date=pl.when(is_pid).then(None).otherwise(pl.col("death_date")),
    )
    return dataclasses.replace(cohort, patients=patients), pid


def test_error_in_a_task_is_the_local_error(spark, cohort: Path, tmp_path: Path) -> None:
    """A validation error raised inside an executor reaches the caller as the local engine's
    error: same class, same message (patient, line, dates and the fix), no JVM stack trace."""
    bad, pid = _contradictory(cohort)
    config, vocabulary = load_config(None), load_vocabulary()
    messages = []
    for name, engine in (("local", LocalEngine()), ("spark", SparkEngine(session=spark))):
        with (
            pytest.raises(InvalidDataError) as raised,
            OutputDirectory(tmp_path / name) as output,
        ):
            engine.analyse(bad, config, vocabulary, output)
        messages.append(str(raised.value))
    assert messages[0] == messages[1]
    assert f"patient {pid} line 1" in messages[1]
    assert "last_contact_date (patients table)" in messages[1]
    assert "Traceback" not in messages[1] and "org.apache" not in messages[1]
