"""Bad OMOP input: each refusal names what is missing and how to point mmrwe at it, and a run
writes nothing."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from mmrwe.errors import InvalidDataError
from mmrwe.omop import parse_url, read_omop
from mmrwe.omop.render import write_duckdb
from mmrwe.study import run_study

from .conftest import load_postgres
from .fragments import fragment


def _cdm(tmp_path: Path, sql: str | None = None) -> str:
    path = tmp_path / "cdm.duckdb"
    write_duckdb(fragment(), path)
    if sql:
        with duckdb.connect(str(path)) as con:
            con.execute(sql)
    return f"omop+duckdb://{path}"


def test_database_without_cdm_tables(tmp_path: Path) -> None:
    path = tmp_path / "other.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE patients (id INTEGER)")
    with pytest.raises(InvalidDataError, match=r"not an OMOP CDM.*person.*cdm_schema=NAME"):
        read_omop(f"omop+duckdb://{path}")


def test_missing_vocabulary_table(tmp_path: Path) -> None:
    url = _cdm(tmp_path, "DROP TABLE concept_ancestor")
    with pytest.raises(InvalidDataError, match=r"concept_ancestor.*missing.*vocab_schema=NAME"):
        read_omop(url)


def test_wrong_schema_name(tmp_path: Path) -> None:
    url = _cdm(tmp_path) + "?cdm_schema=cdm54"
    with pytest.raises(InvalidDataError, match=r"'cdm54' \(cdm_schema\) does not exist.*main"):
        read_omop(url)


def test_cdm_5_3_is_refused(tmp_path: Path) -> None:
    url = _cdm(tmp_path, "UPDATE cdm_source SET cdm_version = 'v5.3.1'")
    with pytest.raises(InvalidDataError, match=r"version 'v5\.3\.1'.*reads CDM v5\.4"):
        read_omop(url)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(InvalidDataError, match=r"does not exist.*ABSOLUTE/PATH"):
        read_omop(f"omop+duckdb://{tmp_path}/nope.duckdb")


def test_unknown_url_option(tmp_path: Path) -> None:
    with pytest.raises(InvalidDataError, match=r"unknown option.*schema"):
        read_omop(_cdm(tmp_path) + "?schema=main")


def test_a_refused_cdm_writes_nothing(tmp_path: Path) -> None:
    url = _cdm(tmp_path, "DROP TABLE concept")
    with pytest.raises(InvalidDataError):
        run_study(url, tmp_path / "run")
    assert not (tmp_path / "run").exists()


@pytest.mark.postgres
def test_postgres_wrong_schema_lists_the_schemas() -> None:
    url = load_postgres(fragment())
    bad = url.split("?")[0] + "?cdm_schema=no_such_schema"
    with pytest.raises(InvalidDataError, match=r"'no_such_schema' \(cdm_schema\) does not exist"):
        read_omop(bad)


def test_omop_spark_url_refuses_a_host() -> None:
    """The catalog is the session's: a host or path in the URL is refused, saying so."""
    with pytest.raises(InvalidDataError, match="names no host or path"):
        parse_url("omop+spark://cluster1/cdm?cdm_schema=cdm")
    location = parse_url("omop+spark://?cdm_schema=cdm&vocab_schema=vocab")
    assert (location.backend, location.cdm_schema, location.vocab_schema) == (
        "spark",
        "cdm",
        "vocab",
    )
