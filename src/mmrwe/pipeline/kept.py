"""The patient-level rows the summaries and figures read, kept on disk while the chain runs.

Each partition's kept rows (the analysed patients' endpoints, line responses, adverse events and
patient rows) are written as one Parquet file per partition in a temporary folder, and read back
on demand, only the columns asked for: the memory of a run is bounded by its partitions, not
by the cohort (issue 18). A run keeps them inside its own staging folder (``.NAME.partial``),
so that a killed run leaves nothing elsewhere (the next run into the same directory removes
its staging folder); they are removed by :meth:`KeptTables.close` or when the tables are no
longer referenced.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import polars as pl


class KeptTables:
    """Tables written partition by partition (in partition order) and read back whole, as
    Polars frames with their Polars types, or as lazy scans."""

    def __init__(self, folder: Path | None = None) -> None:
        """``folder``: where the temporary folder is made (a run's staging folder; default: the
        system's temporary directory)."""
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._folder = folder
        self._parts: dict[str, int] = {}
        self._memory: dict[str, pl.DataFrame] = {}

    @classmethod
    def in_memory(cls, tables: Mapping[str, pl.DataFrame]) -> KeptTables:
        """Tables already combined in memory (e.g. collected from another engine)."""
        kept = cls()
        kept._memory = dict(tables)
        return kept

    def append(self, name: str, table: pl.DataFrame) -> None:
        """Add one partition's rows of ``name`` (after those of the partitions before)."""
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="mmrwe-kept-", dir=self._folder)
        n = self._parts.get(name, 0)
        folder = Path(self._tmp.name) / name
        folder.mkdir(exist_ok=True)
        table.write_parquet(folder / f"{n:06d}.parquet", compression="lz4", statistics=False)
        self._parts[name] = n + 1

    def close(self) -> None:
        """Remove the files written (the tables read from disk are then empty)."""
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        self._parts.clear()

    def __contains__(self, name: str) -> bool:
        return name in self._memory or name in self._parts

    def parts(self, name: str) -> Iterator[pl.DataFrame]:
        """The partitions of ``name`` one at a time, in partition order."""
        if name in self._memory:
            yield self._memory[name]
        elif name in self._parts and self._tmp is not None:
            for n in range(self._parts[name]):
                yield pl.read_parquet(Path(self._tmp.name) / name / f"{n:06d}.parquet")

    def scan(self, name: str) -> pl.LazyFrame:
        """Every row of ``name``, in partition order, as a lazy scan (empty if never added)."""
        if name in self._memory:
            return self._memory[name].lazy()
        if name not in self._parts or self._tmp is None:
            return pl.LazyFrame()
        return pl.scan_parquet(Path(self._tmp.name) / name / "*.parquet")

    def read(self, name: str, columns: Sequence[str] | None = None) -> pl.DataFrame:
        """Every row of ``name`` (only ``columns`` when given), in partition order."""
        if name in self._memory:
            table = self._memory[name]
            return table if columns is None else table.select(columns)
        scan = self.scan(name)
        return (scan if columns is None else scan.select(columns)).collect()
