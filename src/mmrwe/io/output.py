"""Writing a run's output directory: atomically, deterministically, with a manifest.

Aggregate tables are written as Parquet and CSV with the same columns (booleans
``true``/``false``, lists joined with ``;``, dates ISO-8601); patient-level tables (millions of
rows) as Parquet, and as CSV too only when asked (``csv``: ``--csv`` on the commands). Results are written into a hidden sibling directory
and moved into place at the end, so a failed run leaves no half-written output. An existing
directory is refused unless ``overwrite``.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import sys
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import polars as pl

from mmrwe import __version__
from mmrwe.errors import OutputExistsError
from mmrwe.timing import StageTimer

if TYPE_CHECKING:
    from pydantic import BaseModel

    from mmrwe.io.cohort import Cohort
    from mmrwe.io.stream import CohortSource


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def csv_ready(df: pl.DataFrame) -> pl.DataFrame:
    """The frame with list columns joined by ``;`` so it can be written as CSV."""
    exprs = [
        pl.col(name).list.eval(pl.element().cast(pl.String)).list.join(";").alias(name)
        for name, dtype in df.schema.items()
        if isinstance(dtype, pl.List)
    ]
    return df.with_columns(exprs) if exprs else df


def write_table(df: pl.DataFrame, directory: Path, name: str, *, csv: bool = True) -> None:
    """Write ``df`` as ``name.parquet`` and (with ``csv``) ``name.csv`` in ``directory``
    (deterministic bytes)."""
    directory.mkdir(parents=True, exist_ok=True)
    df.write_parquet(directory / f"{name}.parquet", compression="zstd", statistics=False)
    if csv:
        csv_ready(df).write_csv(directory / f"{name}.csv", date_format="%Y-%m-%d", null_value="")


def refuse_existing(path: Path, overwrite: bool) -> None:
    """Raise :class:`OutputExistsError` if ``path`` exists and ``overwrite`` is false."""
    if path.exists() and not overwrite:
        raise OutputExistsError(
            f"The output directory '{path}' already exists. Choose another output directory, "
            "remove it, or allow replacing it (overwrite=True)."
        )


class OutputDirectory:
    """A run's output directory, written aside and moved into place on success.

    >>> with OutputDirectory(Path("out"), overwrite=True, command="lines") as out:  # doctest: +SKIP
    ...     out.write("lines", lines)
    ...     out.manifest["config"] = rules.model_dump()
    """

    def __init__(
        self,
        path: Path,
        *,
        overwrite: bool = False,
        command: str = "",
        timer: StageTimer | None = None,
        csv: bool = True,
    ) -> None:
        """``timer``: the run's timer, started when the run began (``timings_seconds.total`` is
        its elapsed time when the directory is complete; default: from now). ``csv``: write
        patient-level tables (:meth:`append`, ``write(..., patient_level=True)``) as CSV too."""
        self.path = Path(path)
        self.csv = csv
        self.overwrite = overwrite
        refuse_existing(self.path, overwrite)
        self.staging = self.path.parent / f".{self.path.name}.partial"
        self.manifest: dict[str, Any] = {
            "mmrwe_version": __version__,
            "command": command,
            "python": platform.python_version(),
            "packages": package_versions(),
            "inputs": [],
            "config": {},
            "outputs": {},
            "timings_seconds": {},
        }
        self._timer = timer or StageTimer()
        self._parts: dict[str, tuple[Any, Any, Any]] = {}

    def __enter__(self) -> OutputDirectory:
        if self.staging.exists():
            shutil.rmtree(self.staging)
        self.staging.mkdir(parents=True)
        return self

    def write(self, name: str, df: pl.DataFrame, *, patient_level: bool = False) -> None:
        """Write one table (Parquet, and CSV unless a patient-level table without ``csv``) and
        record its row count in the manifest."""
        write_table(df, self.staging, name, csv=self.csv or not patient_level)
        self.manifest["outputs"][name] = df.height

    def append(self, name: str, df: pl.DataFrame) -> None:
        """Append a partition of a table written in parts (the first call fixes the columns):
        memory holds one partition, not the table. Each part is one Parquet row group; a
        patient-level table, written as CSV only with ``csv``."""
        import pyarrow.parquet as pq

        part = self._parts.get(name)
        if part is None:
            table = df.to_arrow()
            writer = pq.ParquetWriter(
                self.staging / f"{name}.parquet",
                table.schema,
                compression="zstd",
                write_statistics=False,
            )
            part = self._parts[name] = (
                writer,
                (self.staging / f"{name}.csv").open("wb") if self.csv else None,
                df.schema,
            )
            self.manifest["outputs"][name] = 0
            header = True
        else:
            df = df.select(list(part[2])).cast(part[2])  # type: ignore[arg-type]
            header = False
        writer, csv, _ = part
        if df.height or header:
            writer.write_table(df.to_arrow())
        if csv is not None and (df.height or header):
            csv_ready(df).write_csv(
                csv, include_header=header, date_format="%Y-%m-%d", null_value=""
            )
        self.manifest["outputs"][name] += df.height

    def record_timings(self, timer: StageTimer) -> None:
        """Add a run's stage timings to the manifest's ``timings_seconds`` (``total`` is added
        when the directory is complete)."""
        self.manifest["timings_seconds"].update(timer.rounded())

    def write_manifest(self) -> None:
        """Write ``manifest.json`` as it stands (rewritten when the directory is complete)."""
        (self.staging / "manifest.json").write_text(
            json.dumps(self.manifest, indent=2, sort_keys=True, default=str) + "\n"
        )

    def close_parts(self) -> None:
        """Finish every table written in parts, so that it can be read back."""
        for writer, csv, _ in self._parts.values():
            writer.close()
            if csv is not None:
                csv.close()
        self._parts.clear()

    def file(self, name: str) -> Path:
        """A path inside the staging directory for a non-table output (figure, report)."""
        return self.staging / name

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close_parts()
        if exc_type is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            return
        self.manifest["timings_seconds"]["total"] = round(self._timer.elapsed(), 3)
        self.write_manifest()
        if self.path.exists():
            refuse_existing(self.path, self.overwrite)
            shutil.rmtree(self.path)
        self.staging.rename(self.path)


def input_manifest(
    cohort: Cohort | CohortSource, config: BaseModel, drug_map: Path | None
) -> dict[str, Any]:
    """The manifest's record of what a run read: each input file with its SHA-256 and rows
    (``inputs``), rows per table read (``input_rows``), the configuration with every default
    filled in (``config``) and the user drug map (``drug_map``)."""
    return {
        "inputs": cohort.inputs,
        "input_rows": cohort.row_counts(),
        "config": config.model_dump(mode="json"),
        "drug_map": str(drug_map) if drug_map else None,
    }


def package_versions() -> dict[str, str]:
    """Versions of the packages whose arithmetic a result depends on."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("polars", "duckdb", "pyarrow", "numpy", "scipy", "pydantic", "lifelines"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    out["python"] = sys.version.split()[0]
    return out
