"""Shared small cohorts (simulated once per test session)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from mmrwe.simulate import simulate_cohort

N = 1200


@pytest.fixture(scope="session")
def cohort(tmp_path_factory) -> Path:
    return simulate_cohort(tmp_path_factory.mktemp("sim") / "c", N, seed=7).path


@pytest.fixture(scope="session")
def tables(cohort) -> dict[str, pl.DataFrame]:
    names = ("patients", "treatments", "labs", "responses", "adverse_events")
    out = {n: pl.read_parquet(cohort / f"{n}.parquet") for n in names}
    for n in ("lines", "progression", "best_response"):
        out[f"truth/{n}"] = pl.read_parquet(cohort / "truth" / f"{n}.parquet")
    return out
