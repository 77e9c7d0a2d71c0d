"""A cohort read, typed and checked partition by partition, straight from its files.

:class:`CohortSource` is what the pipeline reads from: the cohort's patients (read whole: one
row per patient) and, for each range of patients, every row of theirs in every other table.
:class:`FileCohortSource` is the source of a cohort directory (CSV, Parquet file or folder of
parts) or a DuckDB file; another source (e.g. an OMOP database queried per patient range) plugs
in by giving the same three things (``docs/architecture.md``).

An event table sorted by patient (Parquet row groups whose ``patient_id`` ranges follow each
other, as ``mmrwe simulate`` and most exports write them) is read row group by row group: the
fast path. Any other table (unsorted Parquet, a DuckDB table) is sorted once by DuckDB, out of
core, into a temporary Parquet file keeping each row's number in the input; a CSV is first
parsed as text (whole, as :func:`mmrwe.io.read_cohort` does) and spooled to Parquet. Each
partition's rows are then typed and checked as :func:`mmrwe.io.read_cohort` types and checks
them (:mod:`mmrwe.io.checks`), so problems carry the rows of the input files, and every
problem of every partition is collected in one :class:`~mmrwe.io.problems.ValidationReport`.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Protocol

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from mmrwe.errors import InvalidDataError
from mmrwe.io.attrition import attrition_table
from mmrwe.io.checks import EVENT_DATE, check_events, finish_table, sort_chunk
from mmrwe.io.cohort import Cohort, empty_table, sort_cohort_table
from mmrwe.io.parse import TableContext, clean_series
from mmrwe.io.problems import ValidationReport
from mmrwe.io.schema import TABLES
from mmrwe.io.sources import Source, input_hashes, iter_raw

#: rows of a Parquet row group written by the sorting and spooling steps
ROW_GROUP_ROWS = 100_000
#: memory DuckDB may use to sort a table before it spills to disk
DUCKDB_MEMORY = "1GB"


class CohortSource(Protocol):
    """Where the pipeline reads a cohort from, one range of patients at a time.

    ``patients()`` is every patient, typed and sorted by ``patient_id`` (None when unusable);
    ``partitions(size)`` gives, for each consecutive ``size`` of those patients, every row of
    theirs in each cohort table (``patients``, ``treatments``, ``labs``, ``responses``,
    ``adverse_events``: Polars tables typed to the cohort contracts and sorted by patient, or
    Arrow tables typed and sorted on entry, :func:`mmrwe.pipeline.partition_cohort`). Problems
    go to ``report``; ``attrition()``, ``row_counts()`` and ``inputs`` are complete once the
    partitions are exhausted."""

    report: ValidationReport
    present: frozenset[str]
    inputs: list[dict[str, object]]

    def patients(self) -> pl.DataFrame | None: ...

    def partitions(self, size: int) -> Iterator[Mapping[str, pa.Table | pl.DataFrame]]: ...

    def attrition(self) -> pl.DataFrame: ...

    def row_counts(self) -> dict[str, int]: ...


class FileCohortSource:
    """The :class:`CohortSource` of a cohort directory or DuckDB file (see the module).

    ``tables``: the optional tables to read (default all); ``extract_date``: the data cut-off of
    the extract (default today); ``workdir``: where the temporary sorted copies go (a run's
    staging folder; default: the system's temporary directory). Use as a context manager
    (temporary sorted files are removed on exit)."""

    def __init__(
        self,
        path: str | Path,
        *,
        tables: Iterable[str] | None = None,
        extract_date: dt.date | None = None,
        delimiter: str = ",",
        workdir: Path | None = None,
    ) -> None:
        from mmrwe.io.checks import check_patients, followup_table
        from mmrwe.io.read import _read_table, _report_absent_tables, _wanted
        from mmrwe.io.sources import discover

        self.path = Path(path)
        wanted = _wanted(tables)
        self.latest = extract_date or dt.date.today()
        sources, self.report = discover(self.path, delimiter)
        self.sources = {name: s for name, s in sources.items() if name in wanted}
        _report_absent_tables(wanted - set(self.sources), self.report)
        self.present = frozenset(self.sources)
        self._tmp = Path(tempfile.mkdtemp(prefix="mmrwe-sorted-", dir=workdir))
        self._patients: pl.DataFrame | None = None
        if "patients" in self.sources:
            ctx = TableContext(self.sources["patients"], self.report, self.latest)
            raw = _read_table(ctx, TABLES["patients"], None)
            if raw is not None:
                self._patients = sort_cohort_table("patients", check_patients(raw, ctx))
        self._followup = None if self._patients is None else followup_table(self._patients)
        self._readers: dict[str, _TableReader] = {}
        self._excluded = dict.fromkeys(EVENT_DATE, 0)
        self._rows = dict.fromkeys(EVENT_DATE, 0)
        self.inputs = input_hashes(self.sources)

    def __enter__(self) -> FileCohortSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Remove the temporary sorted copies."""
        shutil.rmtree(self._tmp, ignore_errors=True)

    def patients(self) -> pl.DataFrame | None:
        return self._patients

    def usable(self) -> bool:
        """Patients and treatments could be read (the analysis can run if no error is found)."""
        return self._patients is not None and "treatments" in self._readers

    def partitions(self, size: int) -> Iterator[dict[str, pl.DataFrame]]:
        """Each range of ``size`` patients with its rows of every table, typed and checked."""
        from mmrwe.io.read import _read_table

        for name in EVENT_DATE:
            if name in self.sources:
                reader = _TableReader.open(
                    self.sources[name], self.report, self.latest, self._tmp / name
                )
                if reader is not None:
                    self._readers[name] = reader
        if self._patients is None:  # the event tables are still typed, to report their problems
            for name, source in self.sources.items():
                if name != "patients":
                    _read_table(TableContext(source, self.report, self.latest), TABLES[name], None)
            return
        ids = self._patients["patient_id"]
        n = max(ids.len(), 1)
        for lo in range(0, n, size):
            last = None if lo + size >= n else ids[lo + size - 1]
            part = {"patients": self._patients.slice(lo, size)}
            for name, reader in self._readers.items():
                part[name] = self._checked(name, reader, last)
            yield part
        for reader in self._readers.values():
            reader.report_if_empty()

    def _checked(self, name: str, reader: _TableReader, last: str | None) -> pl.DataFrame:
        """The rows of ``reader`` up to patient ``last`` (all when None), typed and checked."""
        from mmrwe.io.read import _type_table

        assert self._followup is not None
        raw = reader.take_until(last)
        if raw is None or raw.height == 0:
            return empty_table(name)
        typed = _type_table(raw, TABLES[name], reader.ctx)
        if typed is None:
            return empty_table(name)
        typed, n_out = check_events(typed, name, self._followup, reader.ctx)
        self._excluded[name] += n_out
        table = finish_table(name, [sort_chunk(name, typed)])
        self._rows[name] += table.height
        return table

    def attrition(self) -> pl.DataFrame:
        """The read stage's attrition: rows dated after the patient's last contact."""
        n = 0 if self._patients is None else self._patients.height
        steps = [(n, 0, 0, "patients in the input cohort")]
        for name, excluded in self._excluded.items():
            what = f"{name} rows dated after the patient's last contact (outside follow-up)"
            steps.append((n, 0, excluded, what))
        return attrition_table(steps)

    def row_counts(self) -> dict[str, int]:
        """Rows per table read (after the rows outside follow-up), as manifests write them."""
        counts = {"patients": 0 if self._patients is None else self._patients.height}
        counts |= {name: self._rows[name] for name in EVENT_DATE if name in self.present}
        return {k: v for k, v in counts.items() if k in self.present}


class _TableReader:
    """One table's raw rows in patient order, handed out range by range of patients."""

    def __init__(self, pieces: Iterator[pl.DataFrame], ctx: TableContext, rows: int) -> None:
        self._pieces = pieces
        self._buffer: pl.DataFrame | None = None
        self._last: str | None = None
        self.ctx = ctx
        self.rows = rows

    @classmethod
    def open(
        cls, source: Source, report: ValidationReport, latest: dt.date, tmp: Path
    ) -> _TableReader | None:
        """The reader of ``source`` (sorted once by DuckDB when not sorted by patient);
        ``None`` when the table cannot be read or lacks a required column (reported)."""
        from mmrwe.io.read import _check_columns, _missing_columns

        ctx = TableContext(source, report, latest)
        files = _parquet_of(source, report, tmp)
        if files is None:
            return None
        columns, rows = _columns_and_rows(files, source, report)
        if columns is None:
            return None
        spec = TABLES[source.table]
        _check_columns(columns, spec, ctx)
        if _missing_columns(pl.DataFrame(schema=dict.fromkeys(columns, pl.String)), spec, ctx):
            return None
        numbered = source.kind != "parquet"  # spooled or sorted copies carry __row already
        if not _sorted_by_patient(files, source):
            files = [_duckdb_sort(files, source, tmp, numbered)]
            numbered = True
        return cls(_pieces(files, source, numbered), ctx, rows)

    def take_until(self, last: str | None) -> pl.DataFrame | None:
        """The next rows whose (cleaned) patient_id is at most ``last`` (every row left when
        None); rows without a patient_id come first and go with the first range."""
        out: list[pl.DataFrame] = []
        while True:
            if self._buffer is None:
                self._buffer = next(self._pieces, None)
                if self._buffer is None:
                    break
                self._check_order(self._buffer)
            buf = self._buffer
            n = buf.height if last is None else _prefix(buf, last)
            out.append(buf.slice(0, n))
            if n < buf.height:
                self._buffer = buf.slice(n)
                break
            self._buffer = None
        out = [o for o in out if o.height]
        if not out:
            return None
        frame = pl.concat(out, how="diagonal_relaxed") if len(out) > 1 else out[0]
        return frame.drop("__pid")

    def _check_order(self, piece: pl.DataFrame) -> None:
        """Pieces must follow each other by cleaned patient_id (spaces around an id can break
        an order the row-group statistics showed)."""
        ids = piece["__pid"].drop_nulls()
        if ids.is_empty():
            return
        if self._last is not None and ids[0] < self._last:
            raise InvalidDataError(
                f"{self.ctx.source.label}: rows are ordered by patient_id as written, but not once "
                "spaces around the ids are removed. Remove the spaces around patient_id values, "
                "or write the table in any other order (it is then sorted before reading)."
            )
        self._last = ids[-1]

    def report_if_empty(self) -> None:
        """A table with a header and no rows is reported as :func:`read_cohort` reports it."""
        from mmrwe.io.read import _report_empty

        if self.rows == 0:
            _report_empty(TABLES[self.ctx.source.table], self.ctx)


def _prefix(buf: pl.DataFrame, last: str) -> int:
    """How many leading rows of ``buf`` (sorted, nulls first) have a patient_id ≤ ``last``."""
    pid = buf["__pid"]
    return pid.null_count() + int(pid.drop_nulls().search_sorted(last, side="right"))


def _normalise(df: pl.DataFrame, source: Source) -> pl.DataFrame:
    for c in df.columns:
        if c != "__row":
            source.written.setdefault(c.strip().lower(), c)
    return df.rename({c: c.strip().lower() for c in df.columns if c != "__row"})


def _pieces(files: list[Path], source: Source, numbered: bool) -> Iterator[pl.DataFrame]:
    """Row group after row group, with ``__row`` (rows numbered across the input files) and
    ``__pid`` (the cleaned patient_id, the order key); a group not sorted inside is sorted."""
    offset = 0
    for path in files:
        pf = pq.ParquetFile(path)
        for i in range(pf.num_row_groups):
            df = pl.from_arrow(pf.read_row_group(i))
            assert isinstance(df, pl.DataFrame)
            df = _normalise(df, source)
            if not numbered:
                df = df.with_row_index("__row", offset=offset + 1).with_columns(
                    pl.col("__row").cast(pl.Int64)
                )
            offset += df.height
            df = df.with_columns(clean_series(df["patient_id"]).alias("__pid"))
            if not df["__pid"].is_sorted(nulls_last=False):
                df = df.sort(["__pid", "__row"], nulls_last=False)
            yield df


def _parquet_of(source: Source, report: ValidationReport, tmp: Path) -> list[Path] | None:
    """The table as Parquet files: the input's own, a DuckDB table's rows copied out sorted, or
    a CSV parsed as text (with its checks, :func:`mmrwe.io.sources.iter_raw`) and spooled."""
    if source.kind == "parquet":
        source.offsets = []
        total = 0
        for f in source.files:
            source.offsets.append(total)
            try:
                total += pq.ParquetFile(f).metadata.num_rows
            except Exception as exc:  # a corrupt Parquet file
                report.flag(
                    "unreadable_file",
                    source.file_label(len(source.offsets) - 1),
                    what=f"the file cannot be read ({type(exc).__name__}: {exc})",
                )
                return None
        source.complete = True
        return list(source.files)
    if source.kind == "duckdb":
        source.offsets = [0]
        source.complete = True
        return [_duckdb_copy(source, tmp)]
    tmp.mkdir(parents=True, exist_ok=True)
    out = tmp / "spooled.parquet"
    writer = None
    for chunk in iter_raw(source, report):
        table = chunk.to_arrow()
        if writer is None:
            writer = pq.ParquetWriter(out, table.schema)
        writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
    if writer is not None:
        writer.close()
    return [out] if source.complete and writer is not None else None


def _columns_and_rows(
    files: list[Path], source: Source, report: ValidationReport
) -> tuple[list[str] | None, int]:
    """The table's column names (read as lower case, stripped) and rows, from the metadata."""
    from mmrwe.io.sources import _unique_columns

    columns: list[str] = []
    rows = 0
    for path in files:
        meta = pq.ParquetFile(path)
        names = [n for n in meta.schema_arrow.names if n != "__row"]
        if not _unique_columns(names, source.label, report):
            return None, 0
        for n in names:
            source.written.setdefault(n.strip().lower(), n)
            if n.strip().lower() not in columns:
                columns.append(n.strip().lower())
        rows += meta.metadata.num_rows
    return columns, rows


def _pid_column(path: Path) -> str | None:
    names = pq.ParquetFile(path).schema_arrow.names
    return next((n for n in names if n.strip().lower() == "patient_id"), None)


def _sorted_by_patient(files: list[Path], source: Source) -> bool:
    """Whether row groups follow each other by patient_id (text, without nulls) according to
    their statistics: then sorting each group alone sorts the table."""
    previous = None
    for path in files:
        pf = pq.ParquetFile(path)
        name = _pid_column(path)
        if name is None:
            return True  # a missing column is reported; nothing to order
        index = pf.schema_arrow.names.index(name)
        if not pa.types.is_string(
            pf.schema_arrow.field(index).type
        ) and not pa.types.is_large_string(pf.schema_arrow.field(index).type):
            return False
        for g in range(pf.num_row_groups):
            column = pf.metadata.row_group(g).column(index)
            stats = column.statistics
            if column.num_values == 0 and pf.metadata.row_group(g).num_rows == 0:
                continue
            if stats is None or not stats.has_min_max or stats.null_count:
                return False
            low, high = stats.min, stats.max
            if low != low.strip() or high != high.strip():
                return False
            if previous is not None and low < previous:
                return False
            previous = high
    return True


def _connect(tmp: Path):  # type: ignore[no-untyped-def]
    import duckdb

    tmp.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'")
    con.execute(f"SET temp_directory = '{tmp / 'spill'}'")
    return con


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _order_key(pid: str | None) -> str:
    if pid is None:
        return "__row"
    return f"NULLIF(TRIM(CAST({_quote(pid)} AS VARCHAR)), '') NULLS FIRST, __row"


def _duckdb_sort(files: list[Path], source: Source, tmp: Path, numbered: bool) -> Path:
    """The table sorted by patient_id, then input row, into one Parquet file (out of core)."""
    out = tmp / "sorted.parquet"
    con = _connect(tmp)
    try:
        selects = []
        offset = 0
        for path in files:
            rows = pq.ParquetFile(path).metadata.num_rows
            lit = str(path).replace("'", "''")
            if numbered:
                selects.append(f"SELECT * FROM read_parquet('{lit}')")
            else:
                selects.append(
                    f"SELECT * EXCLUDE (file_row_number), "
                    f"CAST(file_row_number + {offset + 1} AS BIGINT) AS __row "
                    f"FROM read_parquet('{lit}', file_row_number = true)"
                )
            offset += rows
        query = " UNION ALL BY NAME ".join(selects)
        key = _order_key(_pid_column(files[0]))
        con.execute(
            f"COPY (SELECT * FROM ({query}) ORDER BY {key}) TO '{out}' "
            f"(FORMAT parquet, ROW_GROUP_SIZE {ROW_GROUP_ROWS})"
        )
    finally:
        con.close()
    return out


def _duckdb_copy(source: Source, tmp: Path) -> Path:
    """A DuckDB table's rows, numbered in insertion order (a view: as the view gives them),
    sorted by patient_id into a Parquet file."""
    import duckdb

    out = tmp / "sorted.parquet"
    con = _connect(tmp)
    try:
        db = str(source.files[0]).replace("'", "''")
        con.execute(f"ATTACH '{db}' AS src (READ_ONLY)")
        kind = con.execute(
            "SELECT table_type FROM information_schema.tables "
            "WHERE table_catalog = 'src' AND table_name = ?",
            [source.table],
        ).fetchall()
        table = f"src.{_quote(source.table)}"
        order = "ORDER BY rowid" if kind and kind[0][0] == "BASE TABLE" else ""
        names = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
        pid = next((n for n in names if n.strip().lower() == "patient_id"), None)
        con.execute(
            f"COPY (SELECT * FROM (SELECT *, CAST(row_number() OVER ({order}) AS BIGINT) AS __row "
            f"FROM {table}) ORDER BY {_order_key(pid)}) TO '{out}' "
            f"(FORMAT parquet, ROW_GROUP_SIZE {ROW_GROUP_ROWS})"
        )
    except duckdb.Error:
        con.close()
        raise
    con.close()
    return out


class CohortInMemory:
    """The :class:`CohortSource` of a cohort already read whole (:func:`mmrwe.io.read_cohort`,
    e.g. an OMOP CDM extracted to native tables until it is extracted per patient range):
    partitions are slices of its tables."""

    def __init__(self, cohort: Cohort) -> None:
        self.cohort = cohort
        self.report = cohort.report
        self.present = cohort.present
        self.inputs = cohort.inputs

    def __enter__(self) -> CohortInMemory:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def patients(self) -> pl.DataFrame:
        return self.cohort.patients

    def usable(self) -> bool:
        return True

    def partitions(self, size: int) -> Iterator[dict[str, pl.DataFrame]]:
        from mmrwe.io.cohort import COHORT_SCHEMAS
        from mmrwe.pipeline import cohort_partitions

        for part in cohort_partitions(self.cohort, size):
            yield {name: part.table(name) for name in COHORT_SCHEMAS}

    def attrition(self) -> pl.DataFrame:
        assert self.cohort.attrition is not None
        return self.cohort.attrition

    def row_counts(self) -> dict[str, int]:
        return self.cohort.row_counts()


def open_source(
    path: str | Path,
    *,
    tables: Iterable[str] | None = None,
    extract_date: dt.date | None = None,
    delimiter: str = ",",
    workdir: Path | None = None,
) -> FileCohortSource | CohortInMemory:
    """The source of ``path``: a cohort directory or DuckDB file streamed
    (:class:`FileCohortSource`); an OMOP CDM URL or a native cohort in the Spark catalog
    (``native+spark://``) read whole by :func:`mmrwe.io.read_cohort` (:class:`CohortInMemory`).
    ``workdir``: where temporary sorted copies go (a run's staging folder)."""
    from mmrwe.engine.catalog import is_catalog_url
    from mmrwe.omop.url import is_omop_url

    if is_omop_url(path) or is_catalog_url(path):
        from mmrwe.io.read import read_cohort

        return CohortInMemory(
            read_cohort(path, tables=tables, extract_date=extract_date, delimiter=delimiter)
        )
    return FileCohortSource(
        path, tables=tables, extract_date=extract_date, delimiter=delimiter, workdir=workdir
    )
