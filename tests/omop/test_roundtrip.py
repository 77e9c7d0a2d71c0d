"""Round trip: a simulated cohort and its OMOP CDM rendering give identical patient-level and
summary tables (DuckDB and PostgreSQL).

The oracle is the native reading of the same patients (not the OMOP path's own output): the CDM
rendering keeps codes (LOINC, UCUM, RxNorm ingredients, CPT) and the mapping must recover exactly
what the native reader read. Patient ids differ by design (person_id), so they are translated
through person_source_value before comparing. Tables that depend on data the OMOP mapping does not
carry (ISS, R-ISS, cytogenetics, ECOG: baseline, analysis_lines; adverse events) are left out.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from mmrwe.study import run_study

from .conftest import load_postgres

COMPARED = ("lines", "line_response", "endpoints", "summary_by_line", "response_rates", "adtte")


@pytest.fixture(scope="module")
def native_run(simulated, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("native") / "run"
    run_study(simulated[0], out, report=False)
    return out


def _same_tables(native: Path, omop: Path, person: pl.DataFrame) -> None:
    ids = dict(zip(person["person_id"].cast(pl.String), person["person_source_value"], strict=True))
    for name in COMPARED:
        a = pl.read_parquet(native / f"{name}.parquet")
        b = pl.read_parquet(omop / f"{name}.parquet")
        for col in ("patient_id", "USUBJID"):
            if col in b.columns:
                b = b.with_columns(pl.col(col).replace_strict(ids))
        assert a.height > 0, name
        assert a.sort(a.columns).equals(b.sort(b.columns)), f"{name} differs after the round trip"


def test_round_trip_duckdb(simulated, simulated_duckdb, native_run, tmp_path: Path) -> None:
    run_study(simulated_duckdb, tmp_path / "omop", report=False)
    _same_tables(native_run, tmp_path / "omop", simulated[1]["person"])


@pytest.mark.postgres
def test_round_trip_postgres(simulated, native_run, tmp_path: Path) -> None:
    url = load_postgres(simulated[1])
    run_study(url, tmp_path / "omop", report=False)
    _same_tables(native_run, tmp_path / "omop", simulated[1]["person"])
