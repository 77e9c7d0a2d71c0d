"""Derived lines of therapy written back as OMOP CDM v5.4 oncology episodes (``--write-omop``).

Each line is one ``episode`` row and each CDM row it was derived from one ``episode_event`` row
(docs/omop.md, "Lines written back as OMOP episodes"):

- ``episode``: ``episode_concept_id`` = "Treatment Regimen" (Episode vocabulary, concept code
  ``OMOP4822256``, concept 32531 in OHDSI's vocabulary), ``episode_number`` = the line number,
  start and end = the line's, ``episode_object_concept_id`` = the line's regimen as a HemOnc
  Regimen concept when a concept map names it and the CDM's vocabulary holds it, else 0,
  ``episode_type_concept_id`` = "Episode algorithmically derived from EHR" (Type Concept
  vocabulary, 32545), ``episode_source_value`` = mmrwe's regimen name (first 50 characters).
- ``episode_event``: ``event_id`` = the ``drug_exposure_id`` or ``procedure_occurrence_id`` of
  every exposure the line holds (``line_exposures``), with ``episode_event_field_concept_id`` =
  the CDM Field concept ``drug_exposure.drug_exposure_id`` / ``procedure_occurrence.
  procedure_occurrence_id``.

Every concept is resolved through the CDM's own ``concept`` table (by vocabulary and code or name,
never by an id written here); a CDM whose vocabulary lacks one is refused before the run starts.
The tables go to the run's patient-level files and, with a target schema, into the database
(never into the CDM or vocabulary schema).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from mmrwe.contract import TableContract
from mmrwe.errors import InvalidDataError, ParameterError
from mmrwe.omop.url import OmopLocation, parse_url

#: ``episode`` in the CDM v5.4 DDL's column order, with the DDL's integer widths
EPISODE_TABLE = TableContract(
    "episode",
    {
        "episode_id": pl.Int64(),
        "person_id": pl.Int64(),
        "episode_concept_id": pl.Int32(),
        "episode_start_date": pl.Date(),
        "episode_start_datetime": pl.Datetime("us"),
        "episode_end_date": pl.Date(),
        "episode_end_datetime": pl.Datetime("us"),
        "episode_parent_id": pl.Int64(),
        "episode_number": pl.Int32(),
        "episode_object_concept_id": pl.Int32(),
        "episode_type_concept_id": pl.Int32(),
        "episode_source_value": pl.String(),
        "episode_source_concept_id": pl.Int32(),
    },
)
#: ``episode_event`` in the CDM v5.4 DDL's column order
EPISODE_EVENT_TABLE = TableContract(
    "episode_event",
    {
        "episode_id": pl.Int64(),
        "event_id": pl.Int64(),
        "episode_event_field_concept_id": pl.Int32(),
    },
)
#: CDM v5.4 DDL types of the two tables (``inst/ddl/5.4`` of OHDSI CommonDataModel)
EPISODE_DDL = {
    "episode": (
        "episode_id BIGINT NOT NULL, person_id BIGINT NOT NULL, episode_concept_id INTEGER NOT "
        "NULL, episode_start_date DATE NOT NULL, episode_start_datetime TIMESTAMP NULL, "
        "episode_end_date DATE NULL, episode_end_datetime TIMESTAMP NULL, episode_parent_id "
        "BIGINT NULL, episode_number INTEGER NULL, episode_object_concept_id INTEGER NOT NULL, "
        "episode_type_concept_id INTEGER NOT NULL, episode_source_value VARCHAR(50) NULL, "
        "episode_source_concept_id INTEGER NULL"
    ),
    "episode_event": (
        "episode_id BIGINT NOT NULL, event_id BIGINT NOT NULL, episode_event_field_concept_id "
        "INTEGER NOT NULL"
    ),
}


@dataclass(frozen=True)
class EpisodeConcept:
    """How one concept the write-back needs is found in the CDM's ``concept`` table."""

    role: str
    vocabulary_id: str
    column: str  # concept_code or concept_name
    value: str


#: The concepts of the write-back (docs/omop.md cites each): the episode and its type by the
#: Episode and Type Concept vocabularies; the event fields by the CDM vocabulary's Field concepts
#: (the CDM documentation of episode_event_field_concept_id: vocabulary CDM, class Field).
EPISODE_CONCEPTS = (
    EpisodeConcept("treatment_regimen", "Episode", "concept_code", "OMOP4822256"),
    EpisodeConcept(
        "algorithmically_derived", "Type Concept", "concept_name",
        "Episode algorithmically derived from EHR",
    ),
    EpisodeConcept("drug_exposure", "CDM", "concept_name", "drug_exposure.drug_exposure_id"),
    EpisodeConcept(
        "procedure_occurrence", "CDM", "concept_name",
        "procedure_occurrence.procedure_occurrence_id",
    ),
)  # fmt: skip


@dataclass(frozen=True)
class WriteOmop:
    """``--write-omop`` settings: the CDM's URL and the schema to write into (``None``: files)."""

    url: str
    target_schema: str | None = None
    #: replace ``episode``/``episode_event`` already in the target schema (``--overwrite``)
    replace: bool = False


def check_target(settings: WriteOmop) -> None:
    """Refuse a target schema that is the CDM's or the vocabulary's (the source is read-only to
    mmrwe), before anything runs."""
    loc = parse_url(settings.url)
    target = settings.target_schema
    if target is None:
        return
    if target.lower() in {loc.cdm_schema.lower(), loc.vocab_schema.lower()}:
        raise ParameterError(
            f"The OMOP target schema '{target}' is the source CDM's own schema "
            f"(cdm_schema={loc.cdm_schema}, vocab_schema={loc.vocab_schema}): mmrwe never writes "
            "into the data it reads. Give a separate schema, e.g. --omop-target-schema "
            f"{loc.cdm_schema}_mmrwe."
        )
    if not target.replace("_", "").isalnum():
        raise ParameterError(
            f"The OMOP target schema '{target}' is not a plain name: use letters, digits and _."
        )


def resolve_episode_concepts(con: Any, loc: OmopLocation) -> dict[str, int]:
    """``role → concept_id`` of :data:`EPISODE_CONCEPTS` in the CDM's ``concept`` table; a CDM
    whose vocabulary lacks one is refused, naming it."""
    concept = con.table("concept", database=loc.vocab_schema)
    out: dict[str, int] = {}
    for c in EPISODE_CONCEPTS:
        hit = concept.filter(
            (concept.vocabulary_id == c.vocabulary_id) & (concept[c.column] == c.value)
        ).concept_id.to_pyarrow()
        if len(hit) == 0:
            raise InvalidDataError(
                f"--write-omop: the concept {c.column} '{c.value}' of vocabulary "
                f"'{c.vocabulary_id}' is not in the concept table of schema "
                f"'{loc.vocab_schema}' of {loc.label}. Load the Episode, Type Concept and CDM "
                "vocabularies (OHDSI Athena) into it."
            )
        out[c.role] = int(hit[0].as_py())
    return out


def regimen_concepts(con: Any, loc: OmopLocation, sets: pl.DataFrame) -> dict[str, int]:
    """``regimen name → concept_id`` of the concept map's ``regimen`` rows (a HemOnc code per
    mmrwe regimen name) that the CDM's vocabulary holds."""
    from mmrwe.omop.concepts import resolve

    rows = sets.filter(pl.col("domain") == "regimen")
    if rows.is_empty():
        return {}
    found, _ = resolve(con, loc.vocab_schema, rows)
    return dict(zip(found["mmrwe_name"], found["concept_id"], strict=True))


def episode_tables(
    lines: pl.DataFrame,
    line_exposures: pl.DataFrame,
    events: pl.DataFrame,
    concepts: dict[str, int],
    regimens: dict[str, int] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``episode`` and ``episode_event`` of the derived ``lines``: one episode per line
    (``episode_id`` 1, 2, … by person and line), one event per CDM row a line's exposures were
    read from (``events``: ``source_row → event_table, event_id``)."""
    regimens = regimens or {}
    lines = lines.with_columns(person_id=pl.col("patient_id").cast(pl.Int64))
    lines = lines.sort("person_id", "line").with_row_index("episode_id", offset=1)
    episode = lines.select(
        pl.col("episode_id").cast(pl.Int64),
        "person_id",
        episode_concept_id=pl.lit(concepts["treatment_regimen"]),
        episode_start_date="start_date",
        episode_start_datetime=pl.lit(None, pl.Datetime("us")),
        episode_end_date="end_date",
        episode_end_datetime=pl.lit(None, pl.Datetime("us")),
        episode_parent_id=pl.lit(None, pl.Int64),
        episode_number="line",
        episode_object_concept_id=pl.col("regimen").replace_strict(
            regimens, default=0, return_dtype=pl.Int32
        ),
        episode_type_concept_id=pl.lit(concepts["algorithmically_derived"]),
        episode_source_value=pl.col("regimen").str.slice(0, 50),
        episode_source_concept_id=pl.lit(0),
    ).cast(EPISODE_TABLE.schema)  # type: ignore[arg-type]
    field = {t: concepts[t] for t in ("drug_exposure", "procedure_occurrence")}
    linked = (
        line_exposures.select("patient_id", "line", "source_row")
        .join(events.select("source_row", "event_table", "event_id"), on="source_row")
        .join(lines.select("patient_id", "line", "episode_id"), on=["patient_id", "line"])
    )
    episode_event = (
        linked.select(
            pl.col("episode_id").cast(pl.Int64),
            "event_id",
            episode_event_field_concept_id=pl.col("event_table").replace_strict(
                field, return_dtype=pl.Int32
            ),
        )
        .unique()
        .sort("episode_id", "episode_event_field_concept_id", "event_id")
        .cast(EPISODE_EVENT_TABLE.schema)  # type: ignore[arg-type]
    )
    return episode, episode_event


def write_episodes_to_database(
    con: Any, schema: str, tables: dict[str, pl.DataFrame], *, replace: bool
) -> None:
    """Create ``schema`` if absent and load ``episode`` and ``episode_event`` into it with the
    DDL's types; existing tables are refused unless ``replace``."""
    existing = set()
    if schema in _schemas(con):
        existing = {t.lower() for t in con.list_tables(database=schema)}
    else:
        con.raw_sql(f"CREATE SCHEMA {schema}")
    if not replace:
        _refuse_existing(con, schema)
    for name, columns in EPISODE_DDL.items():
        if name in existing:
            con.raw_sql(f"DROP TABLE {schema}.{name}")
        con.raw_sql(f"CREATE TABLE {schema}.{name} ({columns})")
        if tables[name].height:
            con.insert(name, tables[name].to_arrow(), database=schema)


def _schemas(con: Any) -> set[str]:
    return set(con.list_databases())


def _refuse_existing(con: Any, schema: str) -> None:
    """Refuse a target schema that already holds ``episode`` or ``episode_event``."""
    if schema not in _schemas(con):
        return
    clash = sorted({t.lower() for t in con.list_tables(database=schema)} & set(EPISODE_DDL))
    if clash:
        raise InvalidDataError(
            f"--write-omop: the table(s) {', '.join(clash)} already exist in schema '{schema}'. "
            "Choose another --omop-target-schema, or replace them with --overwrite."
        )


def write_connection(loc: OmopLocation) -> Any:
    """A writable ibis connection to the CDM's database (the reader's DuckDB is read-only)."""
    if loc.backend != "duckdb":
        from mmrwe.omop.url import connect

        return connect(loc)
    import duckdb
    import ibis

    from mmrwe.omop.url import _DuckDB2

    raw = duckdb.connect(str(Path("/" + loc.target.lstrip("/"))))
    if hasattr(raw, "fetch_arrow_table"):
        return ibis.duckdb.from_connection(raw)
    return ibis.duckdb.from_connection(_DuckDB2(raw))  # type: ignore[arg-type]


@dataclass(frozen=True)
class PreparedWriteBack:
    """What the write-back needs from the CDM, read before the run: its concepts."""

    settings: WriteOmop
    concepts: dict[str, int]
    regimens: dict[str, int]


def prepare_write_back(settings: WriteOmop) -> PreparedWriteBack:
    """Check the target (:func:`check_target`) and resolve the concepts in the CDM before the
    run starts, so that a refusal leaves nothing written."""
    from mmrwe.omop.concepts import concept_sets
    from mmrwe.omop.source import _url_concept_map, _without_map
    from mmrwe.omop.url import connect

    check_target(settings)
    loc = parse_url(_without_map(settings.url))
    con = connect(loc)
    try:
        concepts = resolve_episode_concepts(con, loc)
        regimens = regimen_concepts(con, loc, concept_sets(_url_concept_map(settings.url)))
        if settings.target_schema is not None and not settings.replace:
            _refuse_existing(con, settings.target_schema)
    finally:
        con.disconnect()
    return PreparedWriteBack(settings, concepts, regimens)


def write_back(
    prepared: PreparedWriteBack, run_dir: Path, events: pl.DataFrame | None
) -> dict[str, pl.DataFrame]:
    """Build ``episode`` and ``episode_event`` from the run's ``lines`` and ``line_exposures``
    (Parquet files of the run directory ``run_dir``, being written) and, with a target schema,
    load them into the database; return the tables (the caller writes them as patient-level
    files)."""
    from mmrwe.io.output import run_file

    if events is None:
        raise ParameterError(
            "--write-omop needs an OMOP CDM source (omop+duckdb://…, omop+postgresql://…)"
        )
    lines = pl.read_parquet(run_file(run_dir, "lines.parquet"))
    exposures = pl.read_parquet(run_file(run_dir, "line_exposures.parquet"))
    episode, episode_event = episode_tables(
        lines, exposures, events, prepared.concepts, prepared.regimens
    )
    tables = {"episode": episode, "episode_event": episode_event}
    target = prepared.settings.target_schema
    if target is not None:
        loc = parse_url(_strip_map(prepared.settings.url))
        con = write_connection(loc)
        try:
            write_episodes_to_database(con, target, tables, replace=prepared.settings.replace)
        finally:
            con.disconnect()
    return tables


def _strip_map(url: str) -> str:
    from mmrwe.omop.source import _without_map

    return _without_map(url)
