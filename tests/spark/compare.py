"""Comparing a local engine's run directory with a Spark engine's."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from mmrwe.io.output import RunLayout
from mmrwe.pipeline import tables_of


def sorted_rows(df: pl.DataFrame) -> pl.DataFrame:
    """A table's rows in a stable order (every column, nulls last)."""
    return df.sort(df.columns, nulls_last=True, maintain_order=True)


def spark_table(run: Path, name: str, schema: pl.Schema) -> pl.DataFrame:
    """A patient-level table the Spark engine wrote (a folder of Parquet parts in
    ``patient_level/``)."""
    folder = RunLayout(run).patient_level / name
    parts = sorted(folder.glob("part-*.parquet"))
    assert parts, f"{folder} has no Parquet parts"
    return pl.concat([pl.read_parquet(p) for p in parts]).select(schema.names()).cast(schema)


def assert_same_run(local: Path, spark: Path) -> list[str]:
    """Assert: every aggregate table (and analysis_lines) byte-identical, Parquet and CSV;
    every patient-level table the same rows after a stable sort. Returns the tables compared."""
    patient_level = set(tables_of("population"))
    compared = []
    for path in sorted(local.glob("*/*.parquet")):
        name = path.stem
        if name in patient_level:
            ours = pl.read_parquet(path)
            theirs = spark_table(spark, name, ours.schema)
            assert theirs.height == ours.height, f"{name}: {theirs.height} != {ours.height} rows"
            assert sorted_rows(theirs).equals(sorted_rows(ours)), f"{name}: rows differ"
        else:
            for suffix in (".parquet", ".csv"):
                a = path.with_suffix(suffix)
                b = spark / path.parent.name / f"{name}{suffix}"
                if not a.exists():  # analysis_lines is patient-level: Parquet only
                    continue
                assert b.read_bytes() == a.read_bytes(), f"{name}{suffix} differs"
        compared.append(name)
    assert patient_level <= set(compared)
    return compared
