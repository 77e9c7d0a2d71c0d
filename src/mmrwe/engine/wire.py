"""What crosses between the Spark engine's driver and its calls of the chain: Parquet files,
not rows.

The driver writes each bucket of whole patients as Parquet files (``input/bucket-00003/labs/
part-00000.parquet``, at most ``rows_per_file`` rows each); Spark carries only the bucket
numbers to the calls and one status row per bucket back. Each call reads its bucket's files,
runs the chain and writes every table it returns as one Parquet file per bucket
(``part-00003.parquet``): the patient-level tables straight into their folders in the run
directory, the rest (analysed lines, kept rows, sums, tallies, timings) into the engine's
working folder, where the driver reads them.

Why files and not rows through Spark (an earlier version handed the five cohort tables to
``applyInArrow`` as one tagged union and got the results back the same way): measured on
10,000 simulated patients, converting the union's rows between the JVM and Arrow, shuffling
them and writing them as Parquet cost about 25 times the chain's own seconds (every row carried
every table's columns: 44 in, 173 out). A call now costs the chain plus reading and writing its
bucket's Parquet with Polars (``docs/scale.md``).

Every write is atomic: a call writes a file under a unique temporary name in the working
folder and renames it into place (the same file system). A retried or speculative attempt
replaces a bucket's file with the same rows; a failed attempt leaves only its temporary file,
deleted with the working folder. Every table is written with its contract's columns and
dtypes (:mod:`mmrwe.contract`); Polars ``Enum`` columns as strings, typed again on reading.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from mmrwe.io.cohort import COHORT_SCHEMAS
from mmrwe.pipeline import Stage, tables_of

if TYPE_CHECKING:
    from mmrwe.study.config import StudyConfig

#: tables returned by the chain that are not patient-level outputs, and the contract each uses
#: (kept_* are the rows of analysed lines the summaries read, as the local engine keeps them)
KEPT_GROUPS = {"kept_endpoints": "endpoints", "kept_line_response": "line_response"}
#: per-call tallies and stage timings, summed on the driver
COUNTS_SCHEMA: dict[str, pl.DataType] = {"name": pl.String(), "n": pl.Int64()}
TIMINGS_SCHEMA: dict[str, pl.DataType] = {"stage": pl.String(), "seconds": pl.Float64()}
#: a call's status, the one row per bucket Spark carries back: a mapping or validation error
#: raised inside the call (message and the error pickled), both null when the call succeeded
STATUS_SCHEMA: dict[str, pl.DataType] = {
    "bucket": pl.Int32(),
    "message": pl.String(),
    "pickled": pl.Binary(),
}
#: the status as Spark declares it
STATUS_DDL = "bucket int, message string, pickled binary"


def wire_dtype(dtype: pl.DataType) -> pl.DataType:
    """How a Polars dtype is written: Enum and Categorical as strings, the rest as they are."""
    return pl.String() if isinstance(dtype, pl.Enum | pl.Categorical) else dtype


def output_schemas(config: StudyConfig, stop_after: Stage) -> dict[str, dict[str, pl.DataType]]:
    """Every table a call writes, with its contract's columns and dtypes: the patient-level
    tables up to ``stop_after``, the analysed lines (before their analysis group, with one
    ``subgroup_<name>`` per study subgroup), unmapped drugs, attrition, tallies and timings."""
    from mmrwe.adam.metadata import contract
    from mmrwe.endpoints.adtte import ADTTE_TABLE
    from mmrwe.endpoints.derive import ENDPOINTS_TABLE
    from mmrwe.io.attrition import ATTRITION_TABLE
    from mmrwe.lines.derive import LINE_EXPOSURES_TABLE
    from mmrwe.lines.refractory import LINES_TABLE
    from mmrwe.response.assess import ASSESSMENTS_TABLE
    from mmrwe.response.best import LINE_RESPONSE_TABLE
    from mmrwe.study.select import ANALYSIS_LINES_TABLE, GROUP_COLUMNS
    from mmrwe.vocab.mapping import UNMAPPED_DRUGS_TABLE

    contracts = (LINES_TABLE, LINE_EXPOSURES_TABLE, ASSESSMENTS_TABLE, LINE_RESPONSE_TABLE)
    contracts += (ENDPOINTS_TABLE, ADTTE_TABLE, contract("ADRS"), contract("ADSL"))
    by_name = {c.name: dict(c.schema) for c in contracts}
    out = {name: by_name[name] for name in tables_of(stop_after)}
    if stop_after == "population":
        analysed = {c: d for c, d in ANALYSIS_LINES_TABLE.schema.items() if c not in GROUP_COLUMNS}
        analysed |= {f"subgroup_{name}": pl.String() for name in config.study.subgroups}
        out["analysis_lines"] = analysed
        out |= {tag: out[group] for tag, group in KEPT_GROUPS.items()}
    out |= {
        "unmapped_drugs": dict(UNMAPPED_DRUGS_TABLE.schema),
        "attrition": dict(ATTRITION_TABLE.schema),
        "counts": COUNTS_SCHEMA,
        "timings": TIMINGS_SCHEMA,
    }
    return out


def typed(df: pl.DataFrame, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """``df`` with its contract's columns, in order, with their written dtypes."""
    wire = {c: wire_dtype(d) for c, d in schema.items()}
    return df.select(list(wire)).cast(wire)  # type: ignore[arg-type]


@dataclass(frozen=True)
class BucketFiles:
    """Where the files of a run's buckets are: ``work`` is the engine's working folder (removed
    at the end), ``published`` each patient-level table's folder in the run directory. Paths
    are the same on the driver and every executor (a shared file system, ``/dbfs`` on
    Databricks)."""

    work: Path
    published: Mapping[str, Path]

    def input(self, bucket: int, table: str) -> Path:
        """The folder of one cohort table's Parquet parts in one bucket."""
        return self.work / "input" / f"bucket-{bucket:05d}" / table

    def folder(self, tag: str) -> Path:
        """The folder of a returned table's parts (one per bucket)."""
        return self.published.get(tag) or self.work / "returned" / tag

    def write_input(self, bucket: int, tables: Mapping[str, pl.DataFrame], rows: int) -> None:
        """One bucket's cohort tables, each in Parquet parts of at most ``rows`` rows."""
        for name, table in tables.items():
            folder = self.input(bucket, name)
            folder.mkdir(parents=True)
            for i in range(max(1, -(-table.height // rows))):
                table.slice(i * rows, rows).write_parquet(folder / f"part-{i:05d}.parquet")

    def read_input(self, bucket: int) -> dict[str, pl.DataFrame]:
        """One bucket's cohort tables (its parts in order, so rows keep the driver's order)."""
        return {
            name: pl.concat([pl.read_parquet(p) for p in sorted(folder.glob("part-*.parquet"))])
            for name in COHORT_SCHEMAS
            if (folder := self.input(bucket, name)).is_dir()
        }

    def write(self, tag: str, bucket: int, df: pl.DataFrame) -> None:
        """One bucket's part of a returned table, atomically: written aside, then renamed."""
        folder = self.folder(tag)
        folder.mkdir(parents=True, exist_ok=True)
        aside = self.work / "attempts" / f"{uuid.uuid4().hex}.parquet"
        aside.parent.mkdir(parents=True, exist_ok=True)
        df.write_parquet(aside, compression="zstd")
        os.replace(aside, folder / f"part-{bucket:05d}.parquet")

    def read(self, tag: str, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
        """A returned table, its buckets' parts in bucket order, typed to ``schema``."""
        parts = sorted(self.folder(tag).glob("part-*.parquet"))
        wire = {c: wire_dtype(d) for c, d in schema.items()}
        frames = [pl.read_parquet(p) for p in parts] or [pl.DataFrame(schema=wire)]
        return pl.concat(frames).cast(dict(schema))  # type: ignore[arg-type]
