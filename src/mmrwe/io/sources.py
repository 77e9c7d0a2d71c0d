"""Finding and reading the raw tables of a cohort: CSV, Parquet (file or folder of parts), DuckDB.

Raw tables keep the columns as stored (CSV: all text) plus ``__row``, the 1-based data row
counted across the table's files; :func:`iter_raw` gives them in chunks (a Parquet part, or a
slice of about :data:`CHUNK_ROWS` rows ending where a patient's rows begin). :class:`Source` maps a
row back to its file and row for messages.

Before parsing, a CSV's field counts are checked on its bytes (``ragged_row``: a short row would
otherwise read as empty fields, a long one fail without a row number) and column names must be
distinct once case and spaces are forgiven (``duplicate_column``).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from mmrwe.errors import InvalidDataError
from mmrwe.io.output import file_sha256
from mmrwe.io.problems import MAX_ROWS_PER_CHECK, ValidationReport
from mmrwe.io.schema import TABLES

DUCKDB_SUFFIXES = (".duckdb", ".db", ".ddb")


@dataclass
class Source:
    """Where one table came from: its files and the row offset of each."""

    table: str
    label: str
    files: list[Path] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)  # rows before each file
    kind: str = "csv"  # csv | parquet | duckdb | frames
    base: Path | None = None
    complete: bool = False  # every file was read
    #: column names as written in the files, by their read name (lower case, stripped)
    written: dict[str, str] = field(default_factory=dict)
    delimiter: str = ","  # of a CSV's fields
    #: kind ``frames``: tables already in memory (an OMOP CDM's extract), typed as extracted,
    #: read as one file whose rows are counted across the frames; no file, so no hash
    frames: list[pl.DataFrame] = field(default_factory=list)

    def file_label(self, i: int) -> str:
        if self.kind in ("duckdb", "frames"):
            return self.label
        assert self.base is not None
        return str(self.files[i].relative_to(self.base))


def discover(path: Path, delimiter: str = ",") -> tuple[dict[str, Source], ValidationReport]:
    """Locate the tables of the cohort at ``path`` (a directory or a DuckDB file); CSV files'
    fields are separated by ``delimiter`` (one character)."""
    if len(delimiter) != 1 or not delimiter.isascii() or delimiter in '"\r\n':
        raise InvalidDataError(
            f"The CSV delimiter must be one ASCII character other than a quote or a line break. Got "
            f"{delimiter!r}; pass e.g. --delimiter ';'."
        )
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
                report.flag(
                    "ambiguous_table",
                    ", ".join(p.name for p in found),
                    what=f"the table '{name}' is given more than once",
                )
                ambiguous.add(name)
                continue
            if not found:
                continue
            p = found[0]
            if p.is_dir():
                parts = sorted(p.glob("*.parquet"))
                if not parts:
                    report.flag(
                        "empty_file",
                        f"{name}/",
                        what="the folder holds no .parquet parts",
                        table=name,
                    )
                    continue
                sources[name] = Source(name, f"{name}/", parts, [], "parquet", path)
            else:
                kind = "parquet" if p.suffix == ".parquet" else "csv"
                sources[name] = Source(name, p.name, [p], [], kind, path, delimiter=delimiter)
    for name, spec in TABLES.items():
        if spec.required and name not in sources and name not in ambiguous:
            report.flag(
                "missing_table",
                f"{name}.csv / {name}.parquet",
                what=f"the required table '{name}' is missing",
                table=name,
                meaning=spec.meaning,
            )
    return sources, report


#: Rows typed and checked at a time: a folder of Parquet parts is processed part by part, a
#: single file in slices of this many rows, so memory follows the slice, not the table.
CHUNK_ROWS = 4_000_000


def iter_raw(source: Source, report: ValidationReport) -> Iterator[pl.DataFrame]:
    """The table's rows as stored, in chunks (one per Parquet part, or slices of a file), each
    with ``__row`` (1-based, counted across the table's files). Problems that make a file
    unreadable are reported and end the iteration; check ``source.complete`` afterwards."""
    source.offsets = []
    source.complete = False
    if source.kind == "frames":
        yield from _iter_frames(source)
        return
    total = 0
    for i, f in enumerate(source.files):
        label = source.file_label(i)
        try:
            if source.kind == "csv":
                df = _read_csv(f, label, report, source.delimiter)
            elif source.kind == "parquet":
                df = pl.read_parquet(f)
            else:
                df = _read_duckdb(f, source.table)
        except _Unreadable:
            return
        except Exception as exc:  # a corrupt Parquet file, a locked database, ...
            report.flag(
                "unreadable_file",
                label,
                what=f"the file cannot be read ({type(exc).__name__}: {exc})",
            )
            return
        if not _unique_columns(df.columns, label, report):
            return
        for c in df.columns:
            source.written.setdefault(c.strip().lower(), c)
        df = df.rename({c: c.strip().lower() for c in df.columns})
        source.offsets.append(total)
        df = df.with_row_index("__row", offset=total + 1).with_columns(
            pl.col("__row").cast(pl.Int64)
        )
        total += df.height
        if df.height == 0:
            yield df
        start = 0
        while start < df.height:
            end = _slice_end(df, start)
            yield df.slice(start, end - start)
            start = end
        del df
    source.complete = True


def _iter_frames(source: Source) -> Iterator[pl.DataFrame]:
    """The in-memory frames of a ``frames`` source, one chunk each, rows numbered across them;
    each frame is released once given (memory holds the typed tables, not the extract too)."""
    source.offsets = [0]
    total = 0
    while source.frames:
        df = source.frames.pop(0)
        source.written.update({c: c for c in df.columns})
        yield df.with_row_index("__row", offset=total + 1).with_columns(
            pl.col("__row").cast(pl.Int64)
        )
        total += df.height
    source.complete = True


def _slice_end(df: pl.DataFrame, start: int) -> int:
    """End of the slice starting at ``start``: about CHUNK_ROWS rows, moved back to where a patient's
    rows begin (rows written patient by patient then stay together, and sorted slices join up)."""
    end = start + CHUNK_ROWS
    if end >= df.height or "patient_id" not in df.columns:
        return min(end, df.height)
    window = min(CHUNK_ROWS // 2, 100_000)
    tail = df["patient_id"].slice(end - window, window + 1)
    same = (tail == tail[-1]).fill_null(False).to_numpy()
    first = int(np.flatnonzero(~same)[-1]) + 1 if (~same).any() else 0
    return end - window + first if first > 0 else end


def read_raw(source: Source, report: ValidationReport) -> pl.DataFrame | None:
    """The whole table as stored, with ``__row``; ``None`` when it cannot be read."""
    frames = list(iter_raw(source, report))
    if not source.complete or not frames:
        return None
    return pl.concat(frames, how="diagonal_relaxed")


def _read_duckdb(path: Path, table: str) -> pl.DataFrame:
    """A DuckDB table in insertion order (``rowid``); a view as the view gives it."""
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        kinds = con.execute(
            "SELECT table_type FROM information_schema.tables WHERE table_name = ?", [table]
        ).fetchall()
        order = " ORDER BY rowid" if kinds and kinds[0][0] == "BASE TABLE" else ""
        rel = con.sql(f'SELECT * FROM "{table}"{order}')
        fetch = getattr(rel, "to_arrow_table", None) or rel.arrow
        df = pl.from_arrow(fetch())
    assert isinstance(df, pl.DataFrame)
    return df


def _unique_columns(columns: list[str], label: str, report: ValidationReport) -> bool:
    """Report columns whose names coincide once spaces and case are forgiven."""
    seen: dict[str, list[str]] = {}
    for c in columns:
        seen.setdefault(c.strip().lower(), []).append(c)
    dups = {k: v for k, v in seen.items() if len(v) > 1}
    for key, names in dups.items():
        report.flag(
            "duplicate_column",
            label,
            key,
            value=", ".join(names),
            what=f"the column '{key}' is given {len(names)} times (names are read without case "
            "and surrounding spaces)",
        )
    return not dups


class _Unreadable(Exception):
    pass


#: delimiters a CSV saved by a spreadsheet in another locale may use instead of the comma
OTHER_DELIMITERS = (";", "\t", "|")


def _other_delimiter(header: list[str], delimiter: str) -> str | None:
    """The delimiter a one-column header seems to use instead of ``delimiter`` (None: none)."""
    if len(header) != 1:
        return None
    return next((d for d in OTHER_DELIMITERS if d != delimiter and d in header[0]), None)


def _read_csv(
    path: Path, label: str, report: ValidationReport, delimiter: str = ","
) -> pl.DataFrame:
    if path.stat().st_size == 0:
        report.flag(
            "empty_file", label, what="the file is empty (not even a header row)", table=path.stem
        )
        raise _Unreadable
    header = _csv_header(path, delimiter)
    other = _other_delimiter(header, delimiter)
    if other is not None:
        name = {";": "semicolon", "\t": "tab", "|": "pipe"}[other]
        report.flag(
            "wrong_delimiter",
            label,
            what=f"the file looks {name}-delimited: its header is one field holding {other!r}",
            delimiter=repr(other),
        )
        raise _Unreadable
    if not _unique_columns(header, label, report):
        raise _Unreadable
    if _ragged_rows(path, len(header), label, report, delimiter):
        raise _Unreadable
    try:
        return pl.read_csv(path, infer_schema=False, encoding="utf8", separator=delimiter)
    except pl.exceptions.ComputeError as exc:
        if "utf-8" not in str(exc).lower() and "utf8" not in str(exc).lower():
            report.flag("unreadable_file", label, what=f"the CSV cannot be parsed ({exc})")
            raise _Unreadable from exc
    df = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy", separator=delimiter)
    for col in df.columns:
        bad = df.with_row_index("r", offset=1).filter(
            pl.col(col).str.contains("\ufffd", literal=True)
        )
        report.add_rows(
            "encoding",
            label,
            col,
            bad["r"].to_list(),
            bad[col].to_list(),
            "the value holds bytes that are not UTF-8 (shown as \ufffd)",
        )
    return df


def _csv_header(path: Path, delimiter: str = ",") -> list[str]:
    with path.open("r", encoding="utf-8", errors="replace", newline="") as fh:
        return next(csv.reader(fh, delimiter=delimiter), [])


def _ragged_rows(
    path: Path, n_fields: int, label: str, report: ValidationReport, delimiter: str = ","
) -> int:
    """Report data rows whose field count differs from the header's; return how many.

    Counted on the bytes, block by block (separators and line ends inside double quotes do not
    count, so quoted commas and line breaks are handled): about 0.3 s per 100 MB, 0.6 s when
    the file holds quotes (Polars parses it in about 0.4 s per 100 MB).
    """
    counts = _fields_per_line(path, ord(delimiter))[1:]  # header excluded
    bad = np.flatnonzero(counts != n_fields)
    if bad.size == 0:
        return 0
    rows = (bad + 1).tolist()
    lines = _lines_text(path, set(rows[:MAX_ROWS_PER_CHECK]))
    for kind, mask in (("fewer", counts[bad] < n_fields), ("more", counts[bad] > n_fields)):
        sel = bad[mask]
        if sel.size == 0:
            continue
        report.add_rows(
            "ragged_row",
            label,
            None,
            (sel + 1).tolist(),
            [lines.get(int(r) + 1) for r in sel],
            f"the row has {kind} fields than the header's {n_fields}"
            + (" (a truncated export?)" if kind == "fewer" else ""),
            n_fields=n_fields,
        )
    return int(bad.size)


def _fields_per_line(path: Path, separator: int = 44, block: int = 1 << 24) -> np.ndarray:
    """Number of fields on each line of a CSV (RFC 4180 quoting); ``separator``: the byte
    between fields (44, a comma)."""
    per_line: list[np.ndarray] = []
    carry = 0  # separators seen on the unfinished line
    in_quote = False
    last = b"\n"
    with path.open("rb") as fh:
        while chunk := fh.read(block):
            data = np.frombuffer(chunk, dtype=np.uint8)
            quotes = data == 34
            if in_quote or quotes.any():
                parity = np.cumsum(quotes, dtype=np.int32) & 1
                outside = (parity == 0) if not in_quote else (parity == 1)
                if int(parity[-1]):
                    in_quote = not in_quote
            else:
                outside = None
            newline = data == 10
            comma = data == separator
            if outside is not None:
                newline &= outside
                comma &= outside
            nl = np.flatnonzero(newline)
            cm = np.flatnonzero(comma)
            if nl.size:
                before = np.searchsorted(cm, nl)  # separators before each line end
                per = np.diff(before, prepend=0)
                per[0] += carry
                per_line.append(per)
                carry = int(cm.size - before[-1])
            else:
                carry += int(cm.size)
            last = chunk[-1:]
    counts = np.concatenate(per_line) if per_line else np.zeros(0, dtype=np.int64)
    if last != b"\n":  # last line without a line end
        counts = np.append(counts, carry)
    return counts + 1


def _lines_text(path: Path, lines: set[int], width: int = 200) -> dict[int, str]:
    """The text of the given 1-based data lines (header excluded), for messages."""
    out: dict[int, str] = {}
    if not lines:
        return out
    top = max(lines)
    with path.open("r", encoding="utf-8", errors="replace", newline="") as fh:
        for i, line in enumerate(fh):
            if i in lines:
                out[i] = line.rstrip("\r\n")[:width]
            if i >= top:
                break
    return out


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
