"""``simulate_cohort``: write a synthetic RRMM cohort directory with its ground truth.

Layout (``DIR``): ``patients``, ``treatments``, ``labs``, ``responses``, ``adverse_events`` in the
native format and ``truth/lines``, ``truth/progression``, ``truth/best_response``. Parquet: one
``<table>.parquet`` per table, or a folder ``<table>/part-00000.parquet …`` of parts of
``partition_size`` patients when the cohort is larger; CSV: one ``<table>.csv`` per table. The
directory is written aside (``.DIR.partial``) and moved into place at the end.

Patients are simulated in blocks of :data:`~mmrwe.simulate.block.BLOCK_SIZE` with one random
stream each (``SeedSequence(seed).spawn``), so the content is the same whatever
``partition_size``; the same seed and arguments give byte-identical files.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import polars as pl

from mmrwe.errors import check_parameter
from mmrwe.io.output import refuse_existing
from mmrwe.simulate.block import BLOCK_SIZE, PATIENT_ID, simulate_block
from mmrwe.simulate.parameters import Parameters

NATIVE_TABLES = ("patients", "treatments", "labs", "responses", "adverse_events")
TRUTH_TABLES = ("truth/lines", "truth/progression", "truth/best_response")
TABLES = NATIVE_TABLES + TRUTH_TABLES
OWNER = "simulate_cohort"


@dataclass(frozen=True)
class SimulationSummary:
    """What was written: the directory, its format and the row count of every table."""

    path: Path
    format: str
    n_patients: int
    seed: int
    rows: dict[str, int] = field(default_factory=dict)


class _Writer:
    """Appends partitions of every table to the staging directory."""

    def __init__(self, root: Path, fmt: str, partitioned: bool) -> None:
        self.root, self.fmt, self.partitioned = root, fmt, partitioned
        self.rows = dict.fromkeys(TABLES, 0)
        self.part = 0

    def write(self, tables: dict[str, pl.DataFrame]) -> None:
        for name in TABLES:
            df = tables[name]
            if "patient_id" not in df.columns:
                df = df.with_columns(PATIENT_ID)
            df = df.select("patient_id", pl.exclude("__p", "patient_id"))
            self.rows[name] += df.height
            if self.fmt == "csv":
                path = self.root / f"{name}.csv"
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("ab") as f:
                    df.write_csv(f, include_header=self.part == 0, date_format="%Y-%m-%d")
            elif self.partitioned:
                folder = self.root / name
                folder.mkdir(parents=True, exist_ok=True)
                df.write_parquet(folder / f"part-{self.part:05d}.parquet", compression="zstd")
            else:
                path = self.root / f"{name}.parquet"
                path.parent.mkdir(parents=True, exist_ok=True)
                df.write_parquet(path, compression="zstd")
        self.part += 1


def simulate_cohort(
    out: Path,
    n_patients: int = 2000,
    seed: int = 42,
    format: Literal["parquet", "csv"] = "parquet",
    partition_size: int = 50_000,
    overwrite: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> SimulationSummary:
    """Simulate ``n_patients`` RRMM journeys and write them, with ground truth, to ``out``.

    ``on_progress`` is called with the number of patients finished after each block.
    """
    check_parameter(
        isinstance(n_patients, int) and n_patients >= 1,
        "n_patients",
        OWNER,
        "an int ≥ 1",
        n_patients,
    )
    check_parameter(isinstance(seed, int) and seed >= 0, "seed", OWNER, "an int ≥ 0", seed)
    check_parameter(format in ("parquet", "csv"), "format", OWNER, "'parquet' or 'csv'", format)
    check_parameter(
        isinstance(partition_size, int) and partition_size >= 1,
        "partition_size",
        OWNER,
        "an int ≥ 1",
        partition_size,
    )
    out = Path(out)
    refuse_existing(out, overwrite)
    staging = out.parent / f".{out.name}.partial"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    prm = Parameters.from_table()
    writer = _Writer(staging, format, partitioned=n_patients > partition_size)
    try:
        pending: dict[str, list[pl.DataFrame]] = {name: [] for name in TABLES}
        boundary = min(partition_size, n_patients)
        for block in range((n_patients + BLOCK_SIZE - 1) // BLOCK_SIZE):
            n = min(BLOCK_SIZE, n_patients - block * BLOCK_SIZE)
            tables = simulate_block(seed, block, n, prm)
            for name in TABLES:
                pending[name].append(tables[name])
            done = block * BLOCK_SIZE + n
            while done >= boundary:
                part = {}
                for name in TABLES:
                    df = pl.concat(pending[name])
                    part[name] = df.filter(pl.col("__p") < boundary)
                    pending[name] = [df.filter(pl.col("__p") >= boundary)]
                writer.write(part)
                if boundary == n_patients:
                    break
                boundary = min(boundary + partition_size, n_patients)
            if on_progress is not None:
                on_progress(n)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if out.exists():
        refuse_existing(out, overwrite)
        shutil.rmtree(out)
    staging.rename(out)
    return SimulationSummary(out, format, n_patients, seed, dict(writer.rows))
