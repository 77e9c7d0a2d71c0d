"""OMOP CDM locations: ``omop+duckdb:///ABS/PATH/cdm.duckdb``,
``omop+postgresql://USER:PASSWORD@HOST:PORT/DB`` and ``omop+spark://`` (tables of the active
SparkSession's catalog), each with ``?cdm_schema=…&vocab_schema=…`` and the mapping's rule options
(:class:`~mmrwe.omop.rules.OmopRules`, e.g. ``&ecog_window_days=28``).

The URL is parsed here, the database opened through ibis (one expression API over DuckDB,
PostgreSQL, Spark and the other ibis backends: the mapping is written once, for all of them) and the CDM checked before anything is read: the schemas
exist, the CDM tables mmrwe reads are there, the vocabulary tables are there, and the CDM is v5.4.
Every refusal names what is missing and how to point mmrwe at it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from pydantic import ValidationError

from mmrwe.errors import InvalidDataError
from mmrwe.omop.rules import RULE_OPTIONS, OmopRules

#: The URL prefixes of an OMOP CDM (a Path turns ``///`` into ``/``: both are read).
URL_PATTERN = re.compile(r"^omop\+(duckdb|postgresql|spark):/+(.*)$")
#: CDM tables mmrwe reads (person-level), and the vocabulary tables it resolves codes with.
CDM_TABLES = (
    "person",
    "observation_period",
    "death",
    "condition_occurrence",
    "drug_exposure",
    "procedure_occurrence",
    "measurement",
    "observation",
    "cdm_source",
)
VOCAB_TABLES = ("concept", "concept_ancestor", "vocabulary")
DEFAULT_SCHEMA = {"duckdb": "main", "postgresql": "public", "spark": "default"}


def is_omop_url(source: object) -> bool:
    """Whether ``source`` (a str or Path) is an OMOP CDM URL rather than a cohort path."""
    return bool(URL_PATTERN.match(str(source)))


@dataclass(frozen=True)
class OmopLocation:
    """A parsed OMOP URL. ``target`` is the DuckDB file path or the PostgreSQL ``user:pw@host:
    port/db`` part (empty for Spark: the active session's catalog); :attr:`label` is the URL without its password (for messages and manifests)."""

    backend: str
    target: str
    cdm_schema: str
    vocab_schema: str
    rules: OmopRules = field(default_factory=OmopRules)

    @property
    def label(self) -> str:
        target = re.sub(r":[^:@/]*@", ":***@", self.target)
        rules = "".join(
            f"&{k}={v}" for k, v in self.rules.model_dump(exclude_defaults=True).items()
        )
        if self.backend == "duckdb":
            target = "/" + target.lstrip("/")
            return f"omop+duckdb://{target}?cdm_schema={self.cdm_schema}{rules}"
        return (
            f"omop+{self.backend}://{target}?cdm_schema={self.cdm_schema}"
            f"&vocab_schema={self.vocab_schema}{rules}"
        )


def parse_url(source: str | Path) -> OmopLocation:
    """Parse an OMOP URL (see the module docstring); unknown query keys are an error."""
    m = URL_PATTERN.match(str(source))
    if not m:
        raise InvalidDataError(
            f"'{source}' is not an OMOP URL. Write omop+duckdb:///ABSOLUTE/PATH/cdm.duckdb or "
            "omop+postgresql://USER:PASSWORD@HOST:PORT/DB or omop+spark:// (the SparkSession's "
            "catalog), optionally with ?cdm_schema=…&vocab_schema=…"
        )
    backend, rest = m.group(1), m.group(2)
    target, _, query = rest.partition("?")
    params = {k: v[-1] for k, v in parse_qs(query).items()}
    options = ("cdm_schema", "vocab_schema", "concept_map", *RULE_OPTIONS)
    unknown = set(params) - set(options)
    if unknown:
        raise InvalidDataError(
            f"unknown option(s) {', '.join(sorted(unknown))} in the OMOP URL; the options are "
            f"{', '.join(options)}"
        )
    if backend == "spark" and target.strip("/"):
        raise InvalidDataError(
            f"'{source}': omop+spark:// names no host or path (the CDM tables are in the active "
            "SparkSession's catalog); write omop+spark://?cdm_schema=DATABASE&vocab_schema=DATABASE"
        )
    cdm = params.get("cdm_schema", DEFAULT_SCHEMA[backend])
    rules = _rules(params)
    return OmopLocation(backend, unquote(target), cdm, params.get("vocab_schema", cdm), rules)


def _rules(params: dict[str, str]) -> OmopRules:
    """The :class:`OmopRules` set by the URL's options; a bad value names its option."""
    try:
        return OmopRules(**{k: v for k, v in params.items() if k in RULE_OPTIONS})
    except ValidationError as exc:
        err = exc.errors()[0]
        raise InvalidDataError(
            f"OMOP URL option {err['loc'][0]}={params[str(err['loc'][0])]!r}: {err['msg']} "
            f"({OmopRules.model_fields[str(err['loc'][0])].description})"
        ) from None


def connect(location: OmopLocation) -> Any:
    """An ibis connection to the CDM (read-only for DuckDB; for Spark the active SparkSession,
    else one started as the Spark engine starts it)."""
    import ibis

    if location.backend == "spark":
        from mmrwe.engine.spark import start_session

        return ibis.pyspark.connect(start_session(None))
    if location.backend == "duckdb":
        path = Path("/" + location.target.lstrip("/"))
        if not path.is_file():
            raise InvalidDataError(
                f"The OMOP DuckDB file '{path}' does not exist. Give its absolute path: "
                "omop+duckdb:///ABSOLUTE/PATH/cdm.duckdb"
            )
        import duckdb

        raw = duckdb.connect(str(path), read_only=True)
        if hasattr(raw, "fetch_arrow_table"):
            return ibis.duckdb.from_connection(raw)
        return ibis.duckdb.from_connection(_DuckDB2(raw))  # type: ignore[arg-type]
    m = re.match(r"^(?:([^:@/]*)(?::([^@/]*))?@)?([^:/]*)(?::(\d+))?/([^/]+)$", location.target)
    if not m:
        raise InvalidDataError(
            f"cannot read the PostgreSQL location '{location.label}': write "
            "omop+postgresql://USER:PASSWORD@HOST:PORT/DB"
        )
    user, password, host, port, database = m.groups()
    try:
        return ibis.postgres.connect(
            user=unquote(user or ""),
            password=unquote(password or ""),
            host=host or "localhost",
            port=int(port or 5432),
            database=database,
        )
    except Exception as exc:  # the driver's own error names the cause (refused, auth, no db)
        raise InvalidDataError(
            f"cannot connect to the OMOP database {location.label}: {exc}".strip()
        ) from exc


def _tables(con: Any, schema: str) -> set[str]:
    return {t.lower() for t in con.list_tables(database=schema)}


def _schemas(con: Any) -> list[str]:
    try:
        return sorted(con.list_databases())
    except Exception:  # a backend without schema listing
        return []


def check_cdm(con: Any, location: OmopLocation) -> dict[str, str]:
    """Refuse a database that is not an OMOP CDM v5.4 as the URL names it; return the CDM's
    ``cdm_source`` facts (``cdm_version``, ``vocabulary_version``, ``cdm_source_name``)."""
    schemas = _schemas(con)
    for kind, schema in (
        ("cdm_schema", location.cdm_schema),
        ("vocab_schema", location.vocab_schema),
    ):
        if schemas and schema not in schemas:
            raise InvalidDataError(
                f"The schema '{schema}' ({kind}) does not exist in {location.label}. Schemas "
                f"found: {', '.join(schemas)}. Point mmrwe at the CDM with ?{kind}=NAME."
            )
    missing = [t for t in CDM_TABLES if t not in _tables(con, location.cdm_schema)]
    if missing:
        raise InvalidDataError(
            f"{location.label} is not an OMOP CDM in schema '{location.cdm_schema}': the CDM "
            f"table(s) {', '.join(missing)} are missing. If the CDM lives in another schema, "
            "add ?cdm_schema=NAME to the URL."
        )
    missing = [t for t in VOCAB_TABLES if t not in _tables(con, location.vocab_schema)]
    if missing:
        raise InvalidDataError(
            f"The OMOP vocabulary table(s) {', '.join(missing)} are missing from schema "
            f"'{location.vocab_schema}' of {location.label}: mmrwe resolves every code through "
            "them. Load the vocabulary (OHDSI Athena) or add ?vocab_schema=NAME to the URL."
        )
    return _cdm_source(con, location)


def _cdm_source(con: Any, location: OmopLocation) -> dict[str, str]:
    rows = con.table("cdm_source", database=location.cdm_schema).to_pyarrow().to_pylist()
    if not rows:
        raise InvalidDataError(
            f"cdm_source in schema '{location.cdm_schema}' of {location.label} is empty: mmrwe "
            "needs its cdm_version (5.4) to know the CDM's layout."
        )
    row = rows[0]
    version = str(row.get("cdm_version") or "")
    if not re.match(r"^v?5\.4", version.strip()):
        raise InvalidDataError(
            f"{location.label} is an OMOP CDM version '{version}' (cdm_source.cdm_version); "
            "mmrwe reads CDM v5.4. Migrate the CDM to v5.4 (OHDSI CDM 5.3 → 5.4 migration "
            "script) before reading it."
        )
    return {
        "cdm_version": version,
        "vocabulary_version": str(row.get("vocabulary_version") or ""),
        "cdm_source_name": str(row.get("cdm_source_name") or ""),
    }


class _DuckDB2:
    """DuckDB ≥ 2 renamed ``fetch_arrow_table``/``fetch_record_batch`` (``to_arrow_table``,
    ``to_arrow_reader``) that ibis 12 calls: this wrapper offers both names, and wraps every
    connection a call returns."""

    def __init__(self, con: Any) -> None:
        self._con = con

    def fetch_arrow_table(self) -> Any:
        import warnings

        with warnings.catch_warnings():  # "an extra copy of the rows": the rows are few
            warnings.simplefilter("ignore", UserWarning)
            return self._con.to_arrow_table()

    def fetch_record_batch(self, rows_per_batch: int = 1_000_000) -> Any:
        return self._con.to_arrow_reader(rows_per_batch)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._con, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            out = attr(*args, **kwargs)
            return _DuckDB2(out) if type(out) is type(self._con) else out

        return call

    def __enter__(self) -> _DuckDB2:
        return self

    def __exit__(self, *exc: object) -> None:
        return None
