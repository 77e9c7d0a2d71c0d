"""``native+spark://?schema=NAME``: a native cohort held as tables of the SparkSession's catalog
reads as the same tables in a folder: the Spark engine's run on it equals the local engine's run
on the folder (aggregate tables byte-identical, patient-level rows the same after a sort)."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest

from mmrwe.engine.catalog import NATIVE_TABLES
from mmrwe.engine.spark import SparkEngine
from mmrwe.errors import InvalidDataError
from mmrwe.io.output import run_file
from mmrwe.study import run_study
from tests.spark.compare import assert_same_run

pytestmark = pytest.mark.spark


def test_catalog_cohort_same_as_folder(
    spark, cohort: Path, local_run: Path, tmp_path: Path
) -> None:
    database = f"cohort_{uuid.uuid4().hex[:8]}"
    spark.sql(f"CREATE DATABASE {database} LOCATION '{tmp_path / database}'")
    for name in NATIVE_TABLES:
        folder = tmp_path / "tables" / name
        folder.mkdir(parents=True)
        shutil.copy(cohort / f"{name}.parquet", folder / "part-0.parquet")
        spark.sql(f"CREATE TABLE {database}.{name} USING parquet LOCATION '{folder}'")
    out = tmp_path / "run"
    url = f"native+spark://?schema={database}"
    run_study(url, out, report=False, engine=SparkEngine(session=spark))
    assert_same_run(local_run, out)
    inputs = json.loads(run_file(out, "manifest.json").read_text())["inputs"]
    assert {i["file"] for i in inputs} == {
        f"{database}.{name} (Spark catalog)" for name in NATIVE_TABLES
    }


def test_catalog_without_the_database(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidDataError, match="no database 'nowhere'"):
        run_study("native+spark://?schema=nowhere", tmp_path / "out", report=False)
