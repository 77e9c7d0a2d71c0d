"""Finding and reading the raw tables of a cohort: CSV, Parquet (file or folder of parts), DuckDB.

Raw tables keep the columns as stored (CSV: all text) plus ``__row``, the 1-based data row
counted across the table's files. :class:`Source` maps a row back to its file and row for
messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from mmrwe.errors import InvalidDataError
from mmrwe.io.output import file_sha256
from mmrwe.io.problems import Problem, ValidationReport
from mmrwe.io.schema import TABLES

DUCKDB_SUFFIXES = (".duckdb", ".db", ".ddb")


@dataclass
class Source:
    """Where one table came from: its files and the row offset of each."""

    table: str
    label: str
    files: list[Path] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)  # rows before each file
    kind: str = "csv"  # csv | parquet | duckdb
    base: Path | None = None

    def file_label(self, i: int) -> str:
        if self.kind == "duckdb":
            return self.label
        assert self.base is not None
        return str(self.files[i].relative_to(self.base))


def discover(path: Path) -> tuple[dict[str, Source], ValidationReport]:
    """Locate the tables of the cohort at ``path`` (a directory or a DuckDB file)."""
    report = ValidationReport()
    path = Path(path)
    if not path.exists():
        raise InvalidDataError(
            f"The cohort '{path}' does not exist. Give a directory holding patients and treatments "
            "tables (CSV or Parquet) or a DuckDB file."
        )
    sources: dict[str, Source] = {}
    ambiguous: set[str] = set()
    if path.is_file():
        if path.suffix.lower() not in DUCKDB_SUFFIXES:
            raise InvalidDataError(
                f"'{path}' is a file but not a DuckDB database ({', '.join(DUCKDB_SUFFIXES)}). "
                "Give the cohort directory, or a DuckDB file holding the tables."
            )
        import duckdb

        with duckdb.connect(str(path), read_only=True) as con:
            names = {
                r[0]
                for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
            }
        for name in TABLES:
            if name in names:
                sources[name] = Source(
                    name, f"{path.name}:{name}", [path], [0], "duckdb", path.parent
                )
    else:
        for name in TABLES:
            found = [
                p
                for p in (path / f"{name}.parquet", path / f"{name}.csv", path / name)
                if p.exists()
            ]
            if len(found) > 1:
                report.add(
                    Problem(
                        "error",
                        "ambiguous_table",
                        ", ".join(p.name for p in found),
                        None,
                        None,
                        None,
                        f"the table '{name}' is given more than once",
                        "keep exactly one of <table>.csv, <table>.parquet or a folder <table>/",
                    )
                )
                ambiguous.add(name)
                continue
            if not found:
                continue
            p = found[0]
            if p.is_dir():
                parts = sorted(p.glob("*.parquet"))
                if not parts:
                    report.add(
                        Problem(
                            "error",
                            "empty_file",
                            f"{name}/",
                            None,
                            None,
                            None,
                            "the folder holds no .parquet parts",
                            f"put the {name} table's Parquet parts in the folder, or remove it",
                        )
                    )
                    continue
                sources[name] = Source(name, f"{name}/", parts, [], "parquet", path)
            else:
                kind = "parquet" if p.suffix == ".parquet" else "csv"
                sources[name] = Source(name, p.name, [p], [], kind, path)
    for name, spec in TABLES.items():
        if spec.required and name not in sources and name not in ambiguous:
            report.add(
                Problem(
                    "error",
                    "missing_table",
                    f"{name}.csv / {name}.parquet",
                    None,
                    None,
                    None,
                    f"the required table '{name}' is missing",
                    f"add {name}.csv or {name}.parquet ({spec.meaning}) to the cohort",
                )
            )
    return sources, report


def read_raw(source: Source, report: ValidationReport) -> pl.DataFrame | None:
    """Read one table's rows as stored, with ``__row``; ``None`` when it cannot be read."""
    frames: list[pl.DataFrame] = []
    source.offsets = []
    total = 0
    for i, f in enumerate(source.files):
        label = source.file_label(i)
        try:
            if source.kind == "csv":
                df = _read_csv(f, label, report)
            elif source.kind == "parquet":
                df = pl.read_parquet(f)
            else:
                import duckdb

                with duckdb.connect(str(f), read_only=True) as con:
                    rel = con.sql(f'SELECT * FROM "{source.table}" ORDER BY rowid')
                    fetch = getattr(rel, "to_arrow_table", None) or rel.arrow
                    df = pl.from_arrow(fetch())
                    assert isinstance(df, pl.DataFrame)
        except _Unreadable:
            return None
        except Exception as exc:  # a corrupt Parquet file, a locked database, ...
            report.add(
                Problem(
                    "error",
                    "unreadable_file",
                    label,
                    None,
                    None,
                    None,
                    f"the file cannot be read ({type(exc).__name__}: {exc})",
                    "check that the file is complete and in the format its name says",
                )
            )
            return None
        df = df.rename({c: c.strip().lower() for c in df.columns})
        source.offsets.append(total)
        frames.append(
            df.with_row_index("__row", offset=total + 1).with_columns(
                pl.col("__row").cast(pl.Int64)
            )
        )
        total += df.height
    if not frames:
        return None
    try:
        return pl.concat(frames, how="diagonal_relaxed")
    except Exception as exc:
        report.add(
            Problem(
                "error",
                "unreadable_file",
                source.label,
                None,
                None,
                None,
                f"the parts do not share compatible columns ({exc})",
                "write every part with the same columns and types",
            )
        )
        return None


class _Unreadable(Exception):
    pass


def _read_csv(path: Path, label: str, report: ValidationReport) -> pl.DataFrame:
    if path.stat().st_size == 0:
        report.add(
            Problem(
                "error",
                "empty_file",
                label,
                None,
                None,
                None,
                "the file is empty (not even a header row)",
                "write a header row with the column names, then one row per record",
            )
        )
        raise _Unreadable
    try:
        return pl.read_csv(path, infer_schema=False, encoding="utf8")
    except pl.exceptions.ComputeError as exc:
        if "utf-8" not in str(exc).lower() and "utf8" not in str(exc).lower():
            report.add(
                Problem(
                    "error",
                    "unreadable_file",
                    label,
                    None,
                    None,
                    None,
                    f"the CSV cannot be parsed ({exc})",
                    "check quoting and that every row has as many fields as the header",
                )
            )
            raise _Unreadable from exc
    df = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
    for col in df.columns:
        bad = df.with_row_index("r", offset=1).filter(
            pl.col(col).str.contains("\ufffd", literal=True)
        )
        report.add_rows(
            "error",
            "encoding",
            label,
            col,
            bad["r"].to_list(),
            bad[col].to_list(),
            "the value holds bytes that are not UTF-8 (shown as \ufffd)",
            "save the file as UTF-8 (e.g. re-export from the source system with UTF-8 encoding)",
        )
    return df


def input_hashes(sources: dict[str, Source]) -> list[dict[str, object]]:
    """SHA-256 of every input file, for the manifest."""
    seen: dict[Path, str] = {}
    out = []
    for source in sources.values():
        for i, f in enumerate(source.files):
            if f not in seen:
                seen[f] = file_sha256(f)
            out.append({"table": source.table, "file": source.file_label(i), "sha256": seen[f]})
    return out
