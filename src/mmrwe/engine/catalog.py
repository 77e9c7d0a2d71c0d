"""A native cohort held as tables of the SparkSession's catalog: ``native+spark://?schema=NAME``.

The database ``NAME`` holds the native tables under their native names (``patients``,
``treatments``, and optionally ``labs``, ``responses``, ``adverse_events``) with their native
columns (``docs/data-model.md``). Each table is read through Spark on the driver and staged as
one Parquet file, which then passes the native reader's every check (same messages, with the
table named as the file), unit rule and attrition step: a cohort in the catalog reads exactly as
the same tables in a folder. Like every source of the Spark engine today, the validated cohort
is held by the driver (``docs/scale.md``, Limits).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs

from mmrwe.errors import InvalidDataError

#: ``native+spark://?schema=NAME``
URL_PATTERN = re.compile(r"^native\+spark:/+(.*)$")
#: the native tables looked for in the catalog database, in reading order
NATIVE_TABLES = ("patients", "treatments", "labs", "responses", "adverse_events")


def is_catalog_url(source: object) -> bool:
    """Whether ``source`` names a native cohort in the SparkSession's catalog."""
    return bool(URL_PATTERN.match(str(source)))


def catalog_schema(source: str | Path) -> str:
    """The catalog database a ``native+spark://?schema=NAME`` URL names."""
    m = URL_PATTERN.match(str(source))
    target, _, query = (m.group(1) if m else "").partition("?")
    params = {k: v[-1] for k, v in parse_qs(query).items()}
    if m is None or target.strip("/") or set(params) != {"schema"}:
        raise InvalidDataError(
            f"'{source}' is not a native cohort in the Spark catalog: write "
            "native+spark://?schema=DATABASE (the database holding the tables patients, "
            "treatments, labs, responses, adverse_events)."
        )
    return params["schema"]


def stage_catalog(source: str | Path, folder: Path) -> dict[str, str]:
    """Write each native table of the catalog database that ``source`` names into ``folder`` as
    ``<table>.parquet``; return each staged table's catalog name (``schema.table``)."""
    import polars as pl

    from mmrwe.engine.spark import start_session

    schema = catalog_schema(source)
    spark = start_session(None)
    if not spark.catalog.databaseExists(schema):
        names = sorted(d.name for d in spark.catalog.listDatabases())
        raise InvalidDataError(
            f"The Spark catalog has no database '{schema}' (native+spark://?schema=…). "
            f"Databases found: {', '.join(names)}."
        )
    present = {t.name.lower() for t in spark.catalog.listTables(schema)}
    staged = {}
    for name in NATIVE_TABLES:
        if name not in present:
            continue  # a missing table is the native reader's to report, as for a folder
        rows = pl.from_arrow(spark.table(f"{schema}.{name}").toArrow())
        assert isinstance(rows, pl.DataFrame)
        rows.write_parquet(folder / f"{name}.parquet")
        staged[name] = f"{schema}.{name}"
    return staged
