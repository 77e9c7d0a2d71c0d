"""Writing a run's output directory: atomically, deterministically, with a manifest.

A run directory is split by what may leave the site (:class:`RunLayout`, docs/privacy.md):
``shareable/`` holds the aggregate outputs (summary tables, attrition, unmapped drugs, figures
without patient-level content, ``report.html``, ``manifest.json``, comparisons) and
``patient_level/`` the patient-level tables (lines, exposures, assessments, responses,
endpoints, ADaM datasets with their ``.xpt`` files, ``manifest_patient_level.json``,
patient-level figures). Each folder has a README saying what may leave the site.

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


#: the aggregate tables a run shares; the row counts of every other table are patient-level
#: (``analysis_lines`` has one row per analysed line) and go to PATIENT_LEVEL_MANIFEST
SHARED_TABLES = frozenset(
    {
        "summary_by_line",
        "response_rates",
        "adverse_events",
        "baseline",
        "subgroup_hazard_ratios",
        "attrition",
        "unmapped_drugs",
    }
)
#: exact counts that stay with the patient-level data (docs/privacy.md)
PATIENT_LEVEL_MANIFEST = "manifest_patient_level.json"
#: the folders of a run directory: what may leave the site, and what must not
SHAREABLE = "shareable"
PATIENT_LEVEL = "patient_level"
#: files and folders other than tables that belong in ``shareable/``
SHAREABLE_FILES = frozenset({"manifest.json", "report.html", "figures", "comparisons", "README.md"})
#: the READMEs of the two folders, in plain words
README = {
    SHAREABLE: """# shareable/: aggregate results that may leave the site

Everything in this folder is aggregate: summary tables (CSV and Parquet), attrition, unmapped
drug names, figures without patient-level content, report.html and manifest.json. Counts from 1
to the small-cell threshold minus 1 are written `<N` and the cells that would let a reader work
them out are withheld; mmrwe audited every file here before the run reported success (no
suppressed count recoverable, no patient identifier). Share this folder as it is, after your own
review and within your data-use agreement. Do not add files from `../patient_level/` to it.
""",
    PATIENT_LEVEL: """# patient_level/: patient-level data that must not leave the site

Everything in this folder describes individual patients: lines of therapy, exposures,
assessments, responses, endpoints, analysis lines, ADaM datasets (Parquet and SAS transport
.xpt), exact row counts (manifest_patient_level.json) and patient-level figures (swimmer,
trajectory, waterfall). Keep it where the source data are kept, under the same access rules.
It must not be shared, e-mailed or published; share `../shareable/` instead.
""",
}


def is_shareable(name: str) -> bool:
    """Whether the file or table ``name`` (e.g. ``summary_by_line.csv``, ``figures/km_pfs.svg``)
    belongs in ``shareable/`` (an aggregate output) rather than ``patient_level/``."""
    first = name.split("/")[0]
    return first in SHAREABLE_FILES or first.split(".")[0] in SHARED_TABLES


class RunLayout:
    """Where each output of a run directory lives: ``shareable/`` or ``patient_level/``.

    >>> RunLayout(Path("out")).path("lines.parquet")  # doctest: +SKIP
    PosixPath('out/patient_level/lines.parquet')
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.shareable = self.root / SHAREABLE
        self.patient_level = self.root / PATIENT_LEVEL

    def folder(self, name: str) -> Path:
        """The folder ``name`` is written to (by name: :func:`is_shareable`)."""
        return self.shareable if is_shareable(name) else self.patient_level

    def path(self, name: str) -> Path:
        """Where ``name`` is in the run: in its folder; else in the other folder when found there
        (a patient-level figure); else at the top (a directory written before the split)."""
        declared = self.folder(name) / name
        if declared.exists():
            return declared
        other = self.patient_level if declared.is_relative_to(self.shareable) else self.shareable
        for candidate in (other / name, self.root / name):
            if candidate.exists():
                return candidate
        return declared

    def table(self, name: str, suffix: str = "parquet") -> Path:
        """A table's file (``lines`` → ``patient_level/lines.parquet``)."""
        return self.path(f"{name}.{suffix}")


def run_file(run_dir: Path | str, name: str) -> Path:
    """The path of ``name`` (a table file, ``manifest.json``, ``figures/…``) in the run
    directory ``run_dir``."""
    return RunLayout(run_dir).path(name)


def shareable_folder(path: Path | str) -> Path:
    """The folder holding a run's shared outputs: ``path/shareable`` for a run directory, else
    ``path`` itself (a ``shareable/`` folder given directly, or a comparison directory)."""
    path = Path(path)
    return path / SHAREABLE if (path / SHAREABLE).is_dir() else path


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
        split: bool = True,
    ) -> None:
        """``timer``: the run's timer, started when the run began (``timings_seconds.total`` is
        its elapsed time when the directory is complete; default: from now). ``csv``: write
        patient-level tables (:meth:`append`, ``write(..., patient_level=True)``) as CSV too.
        ``split``: the run layout (``shareable/``, ``patient_level/``); without it one flat
        folder of aggregate outputs (a comparison), every count in ``manifest.json``."""
        self.path = Path(path)
        self.csv = csv
        self.split = split
        self.overwrite = overwrite
        refuse_existing(self.path, overwrite)
        self.staging = self.path.parent / f".{self.path.name}.partial"
        #: where each output goes inside the staging directory
        self.layout = RunLayout(self.staging)
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
        #: exact counts of patient-level tables and of the input (never shared)
        self.patient_level: dict[str, Any] = {"outputs": {}, "input_rows": {}}
        self._timer = timer or StageTimer()
        self._parts: dict[str, tuple[Any, Any, Any]] = {}

    def __enter__(self) -> OutputDirectory:
        if self.staging.exists():
            shutil.rmtree(self.staging)
        self.staging.mkdir(parents=True)
        if self.split:
            for folder in (SHAREABLE, PATIENT_LEVEL):
                (self.staging / folder).mkdir()
                (self.staging / folder / "README.md").write_text(README[folder])
        return self

    def folder(self, name: str) -> Path:
        """The staging folder the output ``name`` goes to (``shareable/`` or
        ``patient_level/``; the directory itself without ``split``)."""
        return self.layout.folder(name) if self.split else self.staging

    def write(self, name: str, df: pl.DataFrame, *, patient_level: bool = False) -> None:
        """Write one table (Parquet, and CSV unless a patient-level table without ``csv``) and
        record its row count in the manifest (shared tables) or the patient-level manifest."""
        write_table(df, self.folder(name), name, csv=self.csv or not patient_level)
        self.outputs(name)[name] = df.height

    def outputs(self, name: str) -> dict[str, int]:
        """Where a table's row count is recorded: the shared manifest for an aggregate table,
        the patient-level manifest otherwise."""
        shared = name in SHARED_TABLES or not self.split
        return (self.manifest if shared else self.patient_level)["outputs"]

    def append(self, name: str, df: pl.DataFrame) -> None:
        """Append a partition of a table written in parts (the first call fixes the columns):
        memory holds one partition, not the table. Each part is one Parquet row group; a
        patient-level table, written as CSV only with ``csv``."""
        import pyarrow.parquet as pq

        part = self._parts.get(name)
        if part is None:
            table = df.to_arrow()
            folder = self.folder(name)
            writer = pq.ParquetWriter(
                folder / f"{name}.parquet",
                table.schema,
                compression="zstd",
                write_statistics=False,
            )
            part = self._parts[name] = (
                writer,
                (folder / f"{name}.csv").open("wb") if self.csv else None,
                df.schema,
            )
            self.outputs(name)[name] = 0
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
        self.outputs(name)[name] += df.height

    def record_timings(self, timer: StageTimer) -> None:
        """Add a run's stage timings to the manifest's ``timings_seconds`` (``total`` is added
        when the directory is complete)."""
        self.manifest["timings_seconds"].update(timer.rounded())

    def write_manifest(self) -> None:
        """Write ``manifest.json`` (shareable) and the patient-level manifest as they stand
        (rewritten when the directory is complete)."""
        written = [("manifest.json", self.manifest)]
        if self.split:
            written.append((PATIENT_LEVEL_MANIFEST, self.patient_level))
        for name, content in written:
            (self.folder(name) / name).write_text(
                json.dumps(content, indent=2, sort_keys=True, default=str) + "\n"
            )

    def close_parts(self) -> None:
        """Finish every table written in parts, so that it can be read back."""
        for writer, csv, _ in self._parts.values():
            writer.close()
            if csv is not None:
                csv.close()
        self._parts.clear()

    def file(self, name: str, *, patient_level: bool | None = None) -> Path:
        """A path inside the staging directory for a non-table output (figure, report, a table
        written as a folder of parts), in the folder its name belongs to (``patient_level``:
        ``patient_level/`` when true, ``shareable/`` when false)."""
        if not self.split:
            return self.staging / name
        if patient_level is None:
            return self.folder(name) / name
        return (self.layout.patient_level if patient_level else self.layout.shareable) / name

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
