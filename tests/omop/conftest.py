"""OMOP fixtures: a small simulated cohort with its CDM rendering, hand-made CDM fragments, and
the PostgreSQL server of ``.ci/run`` (``MMRWE_TEST_POSTGRES_URL``)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import polars as pl
import pytest

from mmrwe.omop.render import render_cohort, write_cdm, write_duckdb
from mmrwe.simulate import simulate_cohort


@pytest.fixture(scope="session")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, pl.DataFrame]]:
    """A 150-patient simulated native cohort and its OMOP CDM tables."""
    folder = tmp_path_factory.mktemp("omop_sim") / "cohort"
    simulate_cohort(folder, n_patients=150, seed=7)
    return folder, render_cohort(folder)


@pytest.fixture(scope="session")
def simulated_duckdb(simulated, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("omop_cdm") / "cdm.duckdb"
    write_duckdb(simulated[1], path)
    return f"omop+duckdb://{path}"


def postgres_url() -> str:
    """The test server's URL; without one the test is skipped locally and FAILS under CI=true
    (CI starts a server in .ci/run: a missing server must not pass silently)."""
    url = os.environ.get("MMRWE_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but MMRWE_TEST_POSTGRES_URL is not set: .ci/run starts PostgreSQL")
        pytest.skip("no PostgreSQL: set MMRWE_TEST_POSTGRES_URL (omop+postgresql://…)")
    return url


def load_postgres(tables: dict[str, pl.DataFrame]) -> str:
    """Load CDM ``tables`` into a fresh schema of the test server; return its OMOP URL."""
    import psycopg

    url = postgres_url()
    schema = f"cdm_{uuid.uuid4().hex[:8]}"
    dsn = "postgresql://" + url.split("://", 1)[1].split("?")[0]
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
        write_cdm(tables, con, schema)
    return f"{url}?cdm_schema={schema}"
