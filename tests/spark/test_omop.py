"""``omop+spark://``: an OMOP CDM held as tables of the SparkSession's catalog, read through the
one OMOP mapping (``mmrwe.omop``, ibis expressions) on ibis's PySpark backend.

The oracle is the local engine's run on the native cohort the CDM was rendered from (as in
``tests/omop/test_roundtrip.py``): the CDM rendering keeps codes (LOINC, UCUM, RxNorm
ingredients, CPT) and the mapping must recover what the native reader read. Patient ids differ
by design (``person_id``), so they are translated through ``person_source_value``; tables that
depend on data the OMOP mapping does not carry (ISS, cytogenetics, ECOG, adverse events) are left
out, and suppression is off in both runs (the round trip checks the derivation).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import duckdb
import polars as pl
import pytest

from mmrwe.engine.spark import SparkEngine
from mmrwe.errors import InvalidDataError
from mmrwe.study import StudySettings, run_study
from mmrwe.study.config import StudyConfig
from tests.spark.compare import run_table, sorted_rows

pytestmark = pytest.mark.spark

#: suppression off (see the module docstring)
UNSUPPRESSED = StudyConfig(study=StudySettings(small_cell_threshold=0))
COMPARED = ("lines", "line_response", "endpoints", "adtte", "summary_by_line", "response_rates")


def load_catalog(spark, cdm: Path, where: Path) -> str:  # type: ignore[no-untyped-def]
    """Every table of the DuckDB CDM ``cdm`` as a table of a new Spark catalog database (Parquet
    under ``where``); return the database's name."""
    database = f"cdm_{uuid.uuid4().hex[:8]}"
    spark.sql(f"CREATE DATABASE {database} LOCATION '{where / database}'")
    with duckdb.connect(str(cdm), read_only=True) as con:
        names = con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()
        for (name,) in names:
            folder = where / "parquet" / name
            folder.mkdir(parents=True)
            con.execute(f"COPY main.{name} TO '{folder / 'part-0.parquet'}' (FORMAT parquet)")
            spark.sql(f"CREATE TABLE {database}.{name} USING parquet LOCATION '{folder}'")
    return database


def _catalog_cdm(spark, cohort: Path, where: Path):  # type: ignore[no-untyped-def]
    """The OMOP rendering of a simulated cohort (DuckDB, as ``mmrwe simulate --format omop``
    writes it) loaded into Spark catalog tables; its database and ``person`` table."""
    from mmrwe.omop.render import render_cohort, write_duckdb

    tables = render_cohort(cohort)
    where.mkdir(parents=True, exist_ok=True)
    write_duckdb(tables, where / "cdm.duckdb")
    return load_catalog(spark, where / "cdm.duckdb", where), tables["person"]


@pytest.fixture(scope="module")
def catalog_cdm(spark, cohort: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The 400-patient cohort's OMOP rendering in Spark's catalog."""
    return _catalog_cdm(spark, cohort, tmp_path_factory.mktemp("catalog"))


def _same_as_native(spark, cohort: Path, catalog, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The CDM in Spark's catalog, mapped on Spark and analysed by the Spark engine: the same
    patient-level rows and summary tables as the local engine on the native cohort."""
    database, person = catalog
    native = tmp_path / "native"
    run_study(cohort, native, config=UNSUPPRESSED, report=False)
    out = tmp_path / "omop"
    url = f"omop+spark://?cdm_schema={database}&vocab_schema={database}"
    result = run_study(
        url, out, config=UNSUPPRESSED, report=False, engine=SparkEngine(session=spark)
    )
    ids = dict(zip(person["person_id"].cast(pl.String), person["person_source_value"], strict=True))
    for name in COMPARED:
        a, b = run_table(native, name), run_table(out, name)
        for col in ("patient_id", "USUBJID"):
            if col in b.columns:
                b = b.with_columns(pl.col(col).replace_strict(ids))
        assert a.height > 0, name
        assert sorted_rows(a).equals(sorted_rows(b.select(a.columns))), f"{name} differs"
    (source,) = result.manifest["inputs"]
    assert source["file"] == f"omop+spark://?cdm_schema={database}&vocab_schema={database}"
    assert source["omop_mapping"]["persons_with_myeloma"] == person.height


def test_omop_on_spark_same_as_local_on_native(
    spark, cohort: Path, catalog_cdm, tmp_path: Path
) -> None:
    """400 patients: OMOP on Spark with the Spark engine gives the native cohort's tables."""
    _same_as_native(spark, cohort, catalog_cdm, tmp_path)


@pytest.mark.slow
def test_omop_on_spark_2000_same_as_local_on_native(
    spark, cohort_2000: Path, tmp_path: Path
) -> None:
    """2,000 patients (issue 17's size): the same."""
    catalog = _catalog_cdm(spark, cohort_2000, tmp_path / "catalog")
    _same_as_native(spark, cohort_2000, catalog, tmp_path)


def test_missing_catalog_database_names_the_schemas(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A database the catalog does not hold: the OMOP source's message, naming the schemas."""
    with pytest.raises(InvalidDataError, match="'nowhere' \\(cdm_schema\\) does not exist"):
        run_study("omop+spark://?cdm_schema=nowhere", tmp_path / "out", report=False)
