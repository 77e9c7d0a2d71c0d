"""Opt-in: rerun tests/r/make_reference.R with the installed R and compare with the committed
expected values. Deselected unless chosen with ``pytest -m r`` (see tests/conftest.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest

from tests.stats.survival_reference import R_DIR

pytestmark = pytest.mark.r

TABLES = [
    "km_curve",
    "km_at_times",
    "km_quantiles",
    "km_rmst",
    "km_followup",
    "logrank",
    "logrank_groups",
    "cox",
    "clopper_pearson",
]


def test_rerun_r_reproduces_committed_values(tmp_path: Path) -> None:
    assert shutil.which("Rscript"), "pytest -m r needs R: apt-get install r-cran-survival"
    subprocess.run(
        ["Rscript", str(R_DIR / "make_reference.R"), str(tmp_path)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    for name in TABLES:
        fresh = pl.read_csv(tmp_path / "expected" / f"{name}.csv", infer_schema_length=None)
        kept = pl.read_csv(R_DIR / "expected" / f"{name}.csv", infer_schema_length=None)
        assert fresh.columns == kept.columns, name
        assert fresh.height == kept.height, name
        for col in fresh.columns:
            a, b = fresh[col], kept[col]
            if a.dtype.is_float() or b.dtype.is_float():
                a, b = a.cast(pl.Float64).to_numpy(), b.cast(pl.Float64).to_numpy()
                assert ((abs(a - b) <= 1e-9 * abs(b)) | ((a != a) & (b != b))).all(), (name, col)
            else:
                assert a.to_list() == b.to_list(), (name, col)
