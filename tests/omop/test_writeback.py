"""``--write-omop``: the lines of a hand-made CDM written back as OMOP episode/episode_event.

The expected rows are adjudicated by hand from tests/omop/fragments.episode_fragment and the
line rules (docs/lines.md), not read from mmrwe's output:
- person 1, line 1 opens 2020-02-01 with lenalidomide (exposure 1) and bortezomib (2), started
  the same day (rule 1, Rajkumar 2011); the ASCT (procedure 201) on 2020-08-01 is within 365 days
  of the line's start, so it belongs to it (rule 5, Rajkumar 2015); curcumin (3) is not myeloma
  therapy and belongs to no line. Daratumumab (7) from 2021-06-01 is a new drug more than 180 days
  after the ASCT: line 2 (rule 2), so line 1 ends 2021-05-31 (rule 8); line 2 ends at the last
  contact, the end of observation 2022-12-31.
- person 2, line 1: bortezomib (6) from 2021-05-01 to the last contact 2023-06-30.
Concepts: episode 32531 Treatment Regimen, type 32545 Episode algorithmically derived from EHR,
fields 1147094 drug_exposure.drug_exposure_id and 1147082 procedure_occurrence.
procedure_occurrence_id, as the fragment's vocabulary holds them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from mmrwe.errors import InvalidDataError, ParameterError
from mmrwe.omop.render import write_duckdb
from mmrwe.omop.writeback import WriteOmop
from mmrwe.study import run_study

from .conftest import load_postgres
from .fragments import episode_fragment

D = dt.date
EXPECTED_EPISODES = [
    # episode_id, person_id, episode_number, start, end
    (1, 1, 1, D(2020, 2, 1), D(2021, 5, 31)),
    (2, 1, 2, D(2021, 6, 1), D(2022, 12, 31)),
    (3, 2, 1, D(2021, 5, 1), D(2023, 6, 30)),
]
DRUG, PROCEDURE = 1147094, 1147082
EXPECTED_EVENTS = [(1, 1, DRUG), (1, 2, DRUG), (1, 201, PROCEDURE), (2, 7, DRUG), (3, 6, DRUG)]


def _duckdb(tmp_path: Path) -> str:
    path = tmp_path / "cdm.duckdb"
    write_duckdb(episode_fragment(), path)
    return f"omop+duckdb://{path}"


def _check(episode: pl.DataFrame, events: pl.DataFrame) -> None:
    got = episode.sort("episode_id").select(
        "episode_id", "person_id", "episode_number", "episode_start_date", "episode_end_date"
    )
    assert got.rows() == EXPECTED_EPISODES
    assert set(episode["episode_concept_id"]) == {32531}
    assert set(episode["episode_type_concept_id"]) == {32545}
    assert set(episode["episode_object_concept_id"]) == {0}  # no regimen mapped to HemOnc
    rows = events.select("episode_id", "event_id", "episode_event_field_concept_id").rows()
    assert sorted(rows) == sorted(EXPECTED_EVENTS)


def test_episodes_of_a_hand_made_cdm_as_files_and_in_duckdb(tmp_path: Path) -> None:
    url = _duckdb(tmp_path)
    out = tmp_path / "run"
    run_study(url, out, report=False, write_omop=WriteOmop(url, "results"))
    # patient-level: they hold person_ids (docs/privacy.md)
    assert sorted(f.name for f in out.rglob("episode*.parquet")) == [
        "episode.parquet",
        "episode_event.parquet",
    ]
    assert all(f.parent.name == "patient_level" for f in out.rglob("episode*"))
    files = {
        n: pl.read_parquet(next(out.rglob(f"{n}.parquet"))) for n in ("episode", "episode_event")
    }
    _check(files["episode"], files["episode_event"])
    import duckdb

    with duckdb.connect(url.split("://", 1)[1], read_only=True) as con:
        episode = con.sql("SELECT * FROM results.episode").pl()
        events = con.sql("SELECT * FROM results.episode_event").pl()
        types = dict(
            con.sql(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'results' AND table_name = 'episode'"
            ).fetchall()
        )
    _check(episode, events)
    assert list(episode.columns) == list(files["episode"].columns)  # the CDM v5.4 layout
    assert types["episode_id"] == "BIGINT" and types["episode_concept_id"] == "INTEGER"


@pytest.mark.postgres
def test_episodes_round_trip_on_postgresql(tmp_path: Path) -> None:
    url = load_postgres(episode_fragment())
    schema = url.rsplit("cdm_schema=", 1)[1]
    run_study(url, tmp_path / "run", report=False, write_omop=WriteOmop(url, f"{schema}_out"))
    import psycopg

    dsn = "postgresql://" + url.split("://", 1)[1].split("?")[0]
    with psycopg.connect(dsn) as con:
        ep = con.execute(
            f"SELECT episode_id, person_id, episode_number, episode_start_date, episode_end_date,"
            f" episode_concept_id, episode_type_concept_id, episode_object_concept_id"
            f" FROM {schema}_out.episode"
        ).fetchall()
        ev = con.execute(f"SELECT * FROM {schema}_out.episode_event").fetchall()
    episode = pl.DataFrame(
        ep,
        schema=[
            "episode_id",
            "person_id",
            "episode_number",
            "episode_start_date",
            "episode_end_date",
            "episode_concept_id",
            "episode_type_concept_id",
            "episode_object_concept_id",
        ],
        orient="row",
    )
    events = pl.DataFrame(
        ev, schema=["episode_id", "event_id", "episode_event_field_concept_id"], orient="row"
    )
    _check(episode, events)


@pytest.mark.parametrize("target", ["main", "MAIN"])
def test_the_source_schema_is_refused_before_anything_runs(tmp_path: Path, target: str) -> None:
    url = _duckdb(tmp_path)
    with pytest.raises(ParameterError, match="never writes into the data it reads"):
        run_study(url, tmp_path / "run", report=False, write_omop=WriteOmop(url, target))
    assert not (tmp_path / "run").exists()


def test_existing_episode_tables_are_refused_unless_replaced(tmp_path: Path) -> None:
    url = _duckdb(tmp_path)
    run_study(url, tmp_path / "a", report=False, write_omop=WriteOmop(url, "results"))
    with pytest.raises(InvalidDataError, match="already exist in schema 'results'"):
        run_study(url, tmp_path / "b", report=False, write_omop=WriteOmop(url, "results"))
    assert not (tmp_path / "b").exists()
    settings = WriteOmop(url, "results", replace=True)
    run_study(url, tmp_path / "c", report=False, write_omop=settings)


def test_a_mapped_regimen_gets_its_hemonc_concept(tmp_path: Path) -> None:
    """A concept-map row ``regimen,HemOnc,CODE,NAME`` names the regimen's HemOnc concept
    (the fixture's concept 81); an unmapped regimen stays 0."""
    url = _duckdb(tmp_path)
    cmap = tmp_path / "map.csv"
    cmap.write_text(
        "domain,vocabulary_id,concept_code,mmrwe_name,unit\n"
        "regimen,HemOnc,fixture-hemonc-1,daratumumab,\n"
    )
    mapped = f"{url}?concept_map={cmap}"
    run_study(mapped, tmp_path / "run", report=False, write_omop=WriteOmop(mapped))
    episode = pl.read_parquet(next((tmp_path / "run").rglob("episode.parquet")))
    assert episode.sort("episode_id")["episode_object_concept_id"].to_list() == [0, 81, 0]


def test_a_cdm_without_the_episode_concepts_is_refused(tmp_path: Path) -> None:
    tables = episode_fragment()
    tables["concept"] = tables["concept"].filter(pl.col("vocabulary_id") != "CDM")
    path = tmp_path / "cdm.duckdb"
    write_duckdb(tables, path)
    url = f"omop+duckdb://{path}"
    with pytest.raises(InvalidDataError, match=r"drug_exposure\.drug_exposure_id"):
        run_study(url, tmp_path / "run", report=False, write_omop=WriteOmop(url))
    assert not (tmp_path / "run").exists()


def test_cli_write_omop_refuses_a_native_cohort(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mmrwe.cli.app import main

    folder = tmp_path / "cohort"
    folder.mkdir()
    assert main(["run", str(folder), "--out", str(tmp_path / "o"), "--write-omop"]) != 0
    assert (
        "--write-omop writes OMOP episodes back for an OMOP CDM source" in capsys.readouterr().err
    )
    assert not (tmp_path / "o").exists()
