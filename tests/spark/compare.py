"""Comparing a local engine's run directory with a Spark engine's."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from mmrwe.io.output import RunLayout
from mmrwe.pipeline import Stage, tables_of


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


def run_table(run: Path, name: str) -> pl.DataFrame:
    """A table of a run directory, whichever engine wrote it (one Parquet file, or a folder of
    Parquet parts in ``patient_level/``)."""
    path = RunLayout(run).path(f"{name}.parquet")
    if path.exists():
        return pl.read_parquet(path)
    folder = RunLayout(run).patient_level / name
    parts = sorted(folder.glob("part-*.parquet"))
    assert parts, f"{folder} has no Parquet parts"
    return pl.concat([pl.read_parquet(p) for p in parts])


def assert_same_run(local: Path, spark: Path, stop_after: Stage = "population") -> list[str]:
    """Assert: every aggregate table (and analysis_lines) byte-identical, Parquet and CSV;
    every patient-level table of a chain stopped after ``stop_after`` the same rows after a
    stable sort; the SAS transport files of the ADaM datasets byte-identical. Returns the tables
    compared."""
    patient_level = set(tables_of(stop_after))
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
    for path in sorted(local.glob("*/*.xpt")):  # SAS transport: row order is part of the bytes
        theirs = spark / path.parent.name / path.name
        assert theirs.read_bytes() == path.read_bytes(), f"{path.name} differs"
        compared.append(path.name)
    assert patient_level <= set(compared)
    return compared
