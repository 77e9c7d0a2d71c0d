"""``mmrwe run --engine spark``: the command line runs the Spark engine (the active session when
no ``--spark-master`` is given) and refuses an unknown engine or a master without Spark."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmrwe.cli.app import main
from mmrwe.io.output import run_file


@pytest.mark.spark
def test_run_engine_spark(spark, cohort: Path, local_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["run", str(cohort), "--out", str(out), "--no-report", "--engine", "spark"]) == 0
    manifest = json.loads((run_file(out, "manifest.json")).read_text())
    assert (manifest["engine"], manifest["spark_master"]) == ("spark", spark.sparkContext.master)
    for name in ("summary_by_line.csv", "attrition.csv", "analysis_lines.parquet"):
        assert run_file(out, name).read_bytes() == run_file(local_run, name).read_bytes(), name
    assert sorted(p.name for p in (out / "patient_level" / "lines").glob("*.parquet"))
    assert sorted(p.name for p in out.iterdir()) == ["patient_level", "shareable"]


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--engine", "dask"], "Got 'dask' instead"),
        (["--spark-master", "local[2]"], "--spark-master only with --engine spark"),
    ],
)
def test_run_refuses_engine_flags(
    flags: list[str], words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Refused before anything is read (no Spark, no Java needed)."""
    code = main(["run", str(tmp_path / "absent"), "--out", str(tmp_path / "out"), *flags])
    assert code == 1
    err = " ".join(capsys.readouterr().err.split())
    assert words in err
    assert not (tmp_path / "out").exists()
