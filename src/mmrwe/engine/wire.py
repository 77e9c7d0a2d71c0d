"""The tables that cross between Spark and :func:`~mmrwe.pipeline.analyse_partition`, as one
long table.

Spark's ``applyInArrow`` hands a function one Arrow table per group and takes one Arrow table
back, of one declared schema. The cohort's five tables (in) and the chain's outputs (out) are
therefore carried as a *tagged union*: a ``table`` column naming the table a row belongs to and
the columns of every table side by side, prefixed ``<group>__`` (``labs__date``); a row fills
its own table's columns and leaves the others null (Arrow stores a null column as a bitmap, so
the width costs little). This is simpler and sturdier than Spark's two-table ``cogroup``
(five tables would need nested cogroups) and than Arrow IPC blobs per group (the outputs stay
ordinary columns that Spark writes as Parquet, with types Spark and every reader know).

Every table crosses with its contract's columns and dtypes (:mod:`mmrwe.contract`); Polars
``Enum`` columns cross as strings and are typed again on arrival (``partition_cohort``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

from mmrwe.io.cohort import COHORT_SCHEMAS
from mmrwe.pipeline import Stage, tables_of

if TYPE_CHECKING:
    from pyspark.sql.types import DataType, StructType

    from mmrwe.study.config import StudyConfig

#: the union's own columns: which table a row belongs to, its patient bucket, its position
TAG, BUCKET, ROW = "table", "bucket", "row"
SEPARATOR = "__"
#: tables returned by the chain that are not patient-level outputs, and the columns group each
#: uses (kept_* are the rows of analysed lines the summaries read, as the local engine keeps)
KEPT_GROUPS = {"kept_endpoints": "endpoints", "kept_line_response": "line_response"}
#: per-call tallies and stage timings, summed on the driver
COUNTS_SCHEMA: dict[str, pl.DataType] = {"name": pl.String(), "n": pl.Int64()}
TIMINGS_SCHEMA: dict[str, pl.DataType] = {"stage": pl.String(), "seconds": pl.Float64()}
#: a mapping or validation error raised inside a call, carried back to the driver
ERROR_SCHEMA: dict[str, pl.DataType] = {"message": pl.String(), "pickled": pl.Binary()}


def column(group: str, name: str) -> str:
    """The union column of ``name`` in table group ``group``."""
    return f"{group}{SEPARATOR}{name}"


def wire_dtype(dtype: pl.DataType) -> pl.DataType:
    """How a Polars dtype crosses: Enum and Categorical as strings, the rest as they are."""
    return pl.String() if isinstance(dtype, pl.Enum | pl.Categorical) else dtype


def input_schemas() -> dict[str, dict[str, pl.DataType]]:
    """The cohort tables as they cross into a call (``source_row`` included)."""
    return {
        name: {c: wire_dtype(d) for c, d in schema.items()}
        for name, schema in COHORT_SCHEMAS.items()
    }


def output_schemas(config: StudyConfig, stop_after: Stage) -> dict[str, dict[str, pl.DataType]]:
    """Every table group a call returns, with its contract's columns and dtypes: the
    patient-level tables up to ``stop_after``, the analysed lines (before their analysis group,
    with one ``subgroup_<name>`` per study subgroup), unmapped drugs, attrition, tallies,
    timings and an error."""
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
    out |= {
        "unmapped_drugs": dict(UNMAPPED_DRUGS_TABLE.schema),
        "attrition": dict(ATTRITION_TABLE.schema),
        "counts": COUNTS_SCHEMA,
        "timings": TIMINGS_SCHEMA,
        "error": ERROR_SCHEMA,
    }
    return out


def union_schema(groups: Mapping[str, Mapping[str, pl.DataType]]) -> dict[str, pl.DataType]:
    """The union's Polars schema: tag, bucket, row, then every group's columns, prefixed."""
    out: dict[str, pl.DataType] = {TAG: pl.String(), BUCKET: pl.Int32(), ROW: pl.Int64()}
    for group, schema in groups.items():
        out |= {column(group, c): wire_dtype(d) for c, d in schema.items()}
    return out


def to_union(
    tables: Mapping[str, pl.DataFrame],
    groups: Mapping[str, Mapping[str, pl.DataType]],
    bucket: int,
) -> pl.DataFrame:
    """One call's tables (tag → frame; a kept_* tag uses its columns group) as union rows,
    each cast to its contract and numbered in its order."""
    parts = []
    for tag, df in tables.items():
        group = KEPT_GROUPS.get(tag, tag)
        schema = {c: wire_dtype(d) for c, d in groups[group].items()}
        typed = df.select(list(schema)).cast(schema)  # type: ignore[arg-type]
        parts.append(
            typed.select(pl.all().name.prefix(f"{group}{SEPARATOR}")).with_columns(
                pl.lit(tag).alias(TAG),
                pl.lit(bucket, pl.Int32()).alias(BUCKET),
                pl.int_range(typed.height, dtype=pl.Int64()).alias(ROW),
            )
        )
    full = union_schema(groups)
    stacked = pl.concat(parts, how="diagonal") if parts else pl.DataFrame(schema=full)
    missing = [pl.lit(None, d).alias(c) for c, d in full.items() if c not in stacked.columns]
    return stacked.with_columns(missing).select(list(full))


def from_union(union: pl.DataFrame, tag: str, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """The rows of ``tag`` in a union, with their own column names (those of ``schema`` the
    union carries: the chain reads fewer lab columns than the cohort has)."""
    group = KEPT_GROUPS.get(tag, tag)
    rows = union.filter(pl.col(TAG) == tag)
    present = [c for c in schema if column(group, c) in union.columns]
    return rows.select(pl.col(column(group, c)).alias(c) for c in present)


def split_input(table: pa.Table) -> dict[str, pa.Table]:
    """The cohort tables of one call, from the union rows Spark hands it."""
    union = pl.from_arrow(table)
    assert isinstance(union, pl.DataFrame)
    return {
        name: from_union(union, name, schema).to_arrow() for name, schema in input_schemas().items()
    }


_SPARK_TYPES = {
    pl.String: "StringType",
    pl.Date: "DateType",
    pl.Float64: "DoubleType",
    pl.Float32: "FloatType",
    pl.Int64: "LongType",
    pl.Int32: "IntegerType",
    pl.Int16: "ShortType",
    pl.Int8: "ByteType",
    pl.Boolean: "BooleanType",
    pl.Binary: "BinaryType",
}


def spark_type(dtype: pl.DataType) -> DataType:
    """The Spark SQL type of a (wire) Polars dtype."""
    from pyspark.sql import types

    name = _SPARK_TYPES.get(type(wire_dtype(dtype)))
    if name is None:
        raise TypeError(f"no Spark type for Polars dtype {dtype}")
    return getattr(types, name)()


def spark_schema(schema: Mapping[str, pl.DataType]) -> StructType:
    """A Spark ``StructType`` of a Polars schema (every column nullable)."""
    from pyspark.sql.types import StructField, StructType

    return StructType([StructField(c, spark_type(d), True) for c, d in schema.items()])
