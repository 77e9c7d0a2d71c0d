"""Where a run keeps its temporary files: inside its own staging folder (``.NAME.partial``),
never in the system's temporary directory, so that a run killed mid-way leaves nothing behind
that the next run into the same directory does not remove (issue 18)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import polars as pl
import pytest

from mmrwe.io.output import run_file
from mmrwe.simulate import simulate_cohort
from mmrwe.study import run_study

#: a run killed while the summaries are made (the kept rows and sorted copies exist then)
KILLED = """
import os, signal, sys
from pathlib import Path
import mmrwe.study.run as run

def killed(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

run._summaries = killed
run.run_study(Path(sys.argv[1]), Path(sys.argv[2]), partition_size=40, report=False)
"""


@pytest.fixture(scope="module")
def shuffled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulated cohort whose tables are not sorted by patient (sorted once by DuckDB)."""
    base = tmp_path_factory.mktemp("sim")
    simulate_cohort(base / "cohort", n_patients=120, seed=8)
    out = base / "shuffled"
    out.mkdir()
    for table in ("patients", "treatments", "labs", "responses", "adverse_events"):
        df = pl.read_parquet(base / "cohort" / f"{table}.parquet")
        df.sample(fraction=1.0, shuffle=True, seed=2).write_parquet(
            out / f"{table}.parquet", row_group_size=50
        )
    return out


def _mmrwe_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("mmrwe-"))


def test_a_killed_run_leaves_its_temporary_files_in_its_staging_folder(
    shuffled: Path, tmp_path: Path
) -> None:
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    out = tmp_path / "runs" / "study"
    out.parent.mkdir()
    env = dict(os.environ, TMPDIR=str(system_tmp))
    done = subprocess.run([sys.executable, "-c", KILLED, str(shuffled), str(out)], env=env)
    assert done.returncode == -signal.SIGKILL
    assert _mmrwe_files(system_tmp) == []  # before: mmrwe-kept-* and mmrwe-sorted-* here
    staging = out.parent / ".study.partial"
    left = _mmrwe_files(staging)
    assert all(any(n.startswith(p) for n in left) for p in ("mmrwe-kept-", "mmrwe-sorted-"))
    # the next run into the same directory starts from a clean staging folder
    tempfile.tempdir, saved = str(system_tmp), tempfile.tempdir
    try:
        run_study(shuffled, out, partition_size=40, report=False)
    finally:
        tempfile.tempdir = saved
    assert not staging.exists()
    assert _mmrwe_files(system_tmp) == []
    assert not [p for p in out.rglob("mmrwe-*")]  # the kept rows do not end up in the run
    assert pl.read_parquet(run_file(out, "analysis_lines.parquet")).height > 0
