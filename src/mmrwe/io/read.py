"""``read_cohort``: read a cohort, validate it completely, return typed tables.

Every check runs before anything is reported (problems are collected, not raised one by one).
Checks and their severities are listed in :data:`mmrwe.io.checks.CHECKS` and
``docs/validation.md``. Errors stop a run (:class:`~mmrwe.errors.InvalidDataError`); warnings are
reported and the data used as documented. Rows outside a patient's follow-up are excluded and
counted in the ``attrition`` table.

Patients are read first; every other table is then read, typed and checked against them chunk by
chunk (a Parquet part, or a slice of :data:`~mmrwe.io.sources.CHUNK_ROWS` rows), so memory holds
one chunk of raw text at a time and the typed results.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from mmrwe.engine.catalog import is_catalog_url
from mmrwe.errors import InvalidDataError, check_parameter, did_you_mean
from mmrwe.io.attrition import attrition_table
from mmrwe.io.checks import (
    EVENT_DATE,
    check_drug_names,
    check_events,
    check_patients,
    finish_table,
    followup_table,
    sort_chunk,
)
from mmrwe.io.cohort import COHORT_SCHEMAS, Cohort, empty_table, sort_cohort_table
from mmrwe.io.labs import parse_lab_test, parse_lab_values
from mmrwe.io.parse import (
    TableContext,
    clean_series,
    parse_bool,
    parse_code,
    parse_date,
    parse_float,
    parse_int,
)
from mmrwe.io.problems import ValidationReport
from mmrwe.io.schema import TABLES, Table
from mmrwe.io.sources import Source, discover, input_hashes, iter_raw
from mmrwe.omop.url import is_omop_url

if TYPE_CHECKING:
    from mmrwe.vocab import Vocabulary

#: Optional tables (read unless ``tables`` says otherwise).
OPTIONAL_TABLES = tuple(name for name, spec in TABLES.items() if not spec.required)


def read_cohort(
    path: str | Path,
    *,
    strict: bool = True,
    tables: Iterable[str] | None = None,
    extract_date: dt.date | None = None,
    on_progress: Callable[[int], None] | None = None,
    delimiter: str = ",",
) -> Cohort:
    """Read and validate the cohort at ``path`` (a directory or a DuckDB file).

    Returns a :class:`Cohort` of typed tables in canonical units, sorted by patient and date,
    with the validation report and the attrition table. With ``strict`` (the default) any error
    raises :class:`InvalidDataError` whose message names the first problems (file, column, row,
    value, fix) and whose ``report`` holds all of them. ``tables`` names the optional tables to
    read and check (default: all of labs, responses, adverse_events); patients and treatments are
    always read. A table not asked for is neither read nor checked and is empty in the cohort.
    ``extract_date``: the data cut-off of the extract (default today); a later date is an error.
    ``delimiter``: the character between a CSV's fields (default a comma).
    """
    cohort, report = validate_cohort(
        path,
        tables=tables,
        extract_date=extract_date,
        on_progress=on_progress,
        delimiter=delimiter,
    )
    if strict and (cohort is None or not report.ok):
        raise InvalidDataError(report.summary(), report)
    if cohort is None:  # not strict, but nothing usable could be read
        raise InvalidDataError(report.summary(), report)
    return cohort


def validate_cohort(
    path: str | Path,
    *,
    tables: Iterable[str] | None = None,
    extract_date: dt.date | None = None,
    vocabulary: Vocabulary | None = None,
    on_progress: Callable[[int], None] | None = None,
    delimiter: str = ",",
) -> tuple[Cohort | None, ValidationReport]:
    """Run every check on the cohort at ``path``; return the cohort (if readable) and the report.

    ``tables``: the optional tables to read and check (default all); ``extract_date``: the data
    cut-off of the extract (default today); see :func:`read_cohort`. With ``vocabulary`` (a
    :class:`mmrwe.vocab.Vocabulary`, extended by any user drug map) every drug name outside it
    is reported (``unmapped_drug``).
    """
    if is_omop_url(path):  # an OMOP CDM: extracted to native tables, then these same checks
        from mmrwe.omop.source import validate_omop

        return validate_omop(
            path,
            tables=tables,
            extract_date=extract_date,
            vocabulary=vocabulary,
            on_progress=on_progress,
        )
    if is_catalog_url(path):  # native tables in the Spark catalog: staged, then these checks
        return _validate_catalog(
            path,
            tables=tables,
            extract_date=extract_date,
            vocabulary=vocabulary,
            on_progress=on_progress,
        )
    wanted = _wanted(tables)
    sources, report = discover(Path(path), delimiter)
    sources = {name: s for name, s in sources.items() if name in wanted}
    _report_absent_tables(wanted - set(sources), report)
    return _validate_sources(sources, report, extract_date, vocabulary, on_progress)


def validate_frames(
    frames: dict[str, list[pl.DataFrame]],
    label: str,
    *,
    tables: Iterable[str] | None = None,
    extract_date: dt.date | None = None,
    vocabulary: Vocabulary | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[Cohort | None, ValidationReport]:
    """:func:`validate_cohort` of native tables already in memory (an extract, e.g. an OMOP
    CDM's), each a list of frames read as one table (rows counted across them; the frames are
    released as they are read). Columns may come typed (dates as dates, lab numbers as numbers:
    :func:`mmrwe.io.labs.parse_lab_values`); a problem names the table as ``NAME (label)``."""
    wanted = _wanted(tables)
    report = ValidationReport()
    sources = {
        name: Source(name, f"{name} ({label})", kind="frames", frames=parts)
        for name, parts in frames.items()
        if name in wanted
    }
    _report_absent_tables(wanted - set(sources), report)
    return _validate_sources(sources, report, extract_date, vocabulary, on_progress)


def _validate_sources(
    sources: dict[str, Source],
    report: ValidationReport,
    extract_date: dt.date | None,
    vocabulary: Vocabulary | None,
    on_progress: Callable[[int], None] | None,
) -> tuple[Cohort | None, ValidationReport]:
    """Every check on the discovered tables (see :func:`validate_cohort`)."""
    latest = extract_date or dt.date.today()
    patients = None
    if "patients" in sources:
        ctx = TableContext(sources["patients"], report, latest)
        patients = _read_table(ctx, TABLES["patients"], None)
    if patients is not None:
        patients = check_patients(patients, ctx)
    followup = None if patients is None else followup_table(patients)
    if on_progress:
        on_progress(1)
    typed: dict[str, pl.DataFrame] = {}
    n = 0 if patients is None else patients.height
    attrition = [(n, 0, 0, "patients in the input cohort")]
    for name in EVENT_DATE:
        excluded = [0]
        if name in sources:
            ctx = TableContext(sources[name], report, latest)
            table = _read_table(ctx, TABLES[name], followup, excluded)
            if table is not None:
                typed[name] = table
            if table is not None and name == "treatments" and vocabulary is not None:
                check_drug_names(table, ctx, vocabulary)
        attrition.append(
            (
                n,
                0,
                excluded[0],
                f"{name} rows dated after the patient's last contact (outside follow-up)",
            )
        )
        if on_progress:
            on_progress(1)
    if patients is None or "treatments" not in typed:
        return None, report
    for name in TABLES:
        typed.setdefault(name, empty_table(name))
    cohort = Cohort(
        patients=sort_cohort_table("patients", patients),
        treatments=typed["treatments"],
        labs=typed["labs"],
        responses=typed["responses"],
        adverse_events=typed["adverse_events"],
        report=report,
        attrition=attrition_table(attrition),
        inputs=input_hashes(sources),
        present=frozenset(sources),
    )
    return cohort, report


def _wanted(tables: Iterable[str] | None) -> set[str]:
    required = {name for name, spec in TABLES.items() if spec.required}
    if tables is None:
        return set(TABLES)
    chosen = [tables] if isinstance(tables, str) else list(tables)
    check_parameter(
        all(t in TABLES for t in chosen),
        "tables",
        "read_cohort",
        "a list of table names among " + ", ".join(OPTIONAL_TABLES),
        tables,
    )
    return required | set(chosen)


def _read_table(
    ctx: TableContext,
    spec: Table,
    followup: pl.DataFrame | None,
    excluded: list[int] | None = None,
) -> pl.DataFrame | None:
    """Read, type and (with ``followup``) check one table chunk by chunk; ``None`` if unusable.

    Event tables come back checked, cleaned of rows outside follow-up and sorted.
    """
    source = ctx.source
    chunks: list[pl.DataFrame] = []
    rows = 0
    usable = True
    first = True
    for raw in iter_raw(source, ctx.report):
        if first:
            _check_columns(raw.columns, spec, ctx)
            first = False
        rows += raw.height
        if not usable:
            continue
        if raw.height == 0:
            usable = not _missing_columns(raw, spec, ctx)
            continue
        typed = _type_table(raw, spec, ctx)
        if typed is None:
            usable = False
            continue
        del raw
        if followup is not None and spec.name in EVENT_DATE:
            typed, n_out = check_events(typed, spec.name, followup, ctx)
            typed = sort_chunk(spec.name, typed)
            if excluded is not None:
                excluded[0] += n_out
        chunks.append(typed)
    if not source.complete:
        return None
    if rows == 0:
        _report_empty(spec, ctx)
        return empty_table(spec.name) if usable else None
    if not usable:
        return None
    if spec.name == "patients":
        frame = pl.concat(chunks)
        return frame
    if followup is None:
        return None
    return finish_table(spec.name, chunks)


def _report_empty(spec: Table, ctx: TableContext) -> None:
    if spec.required:
        ctx.flag("empty_file", None, "the table has a header but no data rows", table=spec.name)
    else:
        what = "the table has a header but no data rows: " + _absent_table(spec.name)
        ctx.flag("absent_table", None, what, **_table_fields(spec.name))


def _report_absent_tables(absent: set[str], report: ValidationReport) -> None:
    """An ``absent_table`` warning for each optional table asked for and not found (a table
    whose files were found but refused, e.g. given twice, has its error already)."""
    refused = {p.file.split(".")[0].split("/")[0] for p in report.problems}
    for name in sorted(absent - refused):
        if not TABLES[name].required:
            report.flag("absent_table", name, what=_absent_table(name), **_table_fields(name))


def _absent_table(name: str) -> str:
    return f"no {name}: {TABLES[name].absent}"


def _table_fields(name: str) -> dict[str, str]:
    return {"table": name, "meaning": TABLES[name].meaning}


def _check_columns(columns: list[str], spec: Table, ctx: TableContext) -> None:
    """Columns outside the schema (``unknown_column``, with the schema's closest names) and
    absent optional columns whose absence changes the analysis (``absent_column``), once per
    table. A misspelt optional header (``End Date``) would otherwise read as absent silently."""
    known = spec.column_names
    present = set(columns)
    for col in columns:
        if col in known or col == "__row":
            continue
        if ctx.source.kind == "frames" and col.startswith("__"):
            continue  # an in-memory extract's own typed columns (e.g. labs' __value_text)
        written = ctx.source.written.get(col, col)
        suggestion = did_you_mean(re.sub(r"[\s\-.]+", "_", col), known)
        ctx.flag(
            "unknown_column",
            written,
            f"the column '{written}' is not a {spec.name} column; it is ignored",
            table=spec.name,
            columns=", ".join(known),
            suggestion=suggestion,
        )
    for column in spec.columns:
        if column.absent and column.name not in present:
            what = f"no {column.name} column: {column.absent}"
            ctx.flag("absent_column", column.name, what, col=column.name, meaning=column.meaning)


def _type_table(raw: pl.DataFrame, spec: Table, ctx: TableContext) -> pl.DataFrame | None:
    """Parse every column of one raw chunk by its spec; ``None`` if required columns are missing.

    Keeps ``__row`` and, for partial dates, ``period_<column>`` (used by the follow-up checks).
    """
    if _missing_columns(raw, spec, ctx):
        return None
    labs = spec.name == "labs"
    text_rules = {"test", "value", "unit"} if labs else set()  # cleaned by their own rules
    raw = raw.with_columns(
        clean_series(raw[c.name])
        for c in spec.columns
        if c.name in raw.columns
        and c.kind != "date"
        and c.name not in text_rules
        and isinstance(raw.schema[c.name], pl.String | pl.Null | pl.Categorical | pl.Enum)
    )
    out: dict[str, pl.Series] = {"__row": raw["__row"]}
    for column in spec.columns:
        col = column.name
        if col not in raw.columns or col in text_rules:
            continue
        if column.kind == "date":
            dates, imputed, period, empty = parse_date(raw, col, ctx)
            out[col] = dates
            if f"{col}_imputed" in COHORT_SCHEMAS[spec.name]:
                out[f"{col}_imputed"] = imputed.alias(f"{col}_imputed")
            if period is not None:
                out[period.name] = period
            if column.required and empty is not None:
                _check_required(raw.filter(pl.Series(empty)), col, ctx, all_empty=True)
            continue
        if column.required:
            _check_required(raw, col, ctx)
        if column.kind == "int":
            out[col] = parse_int(raw, col, ctx, column.minimum, column.maximum)
        elif column.kind == "float":
            out[col] = parse_float(raw, col, ctx, column.minimum)
        elif column.kind == "bool":
            out[col] = parse_bool(raw, col, ctx)
        elif column.kind == "code":
            out[col] = parse_code(raw, col, ctx, column.codes)
        else:
            out[col] = raw[col].cast(pl.String).alias(col)
    if labs:
        out.update(parse_lab_values(raw, parse_lab_test(raw, ctx), ctx))
    if spec.name == "patients" and "death_date" in out:
        out["death_date"] = _impute_partial_death(raw, out)
    frame = pl.DataFrame(out)
    schema = COHORT_SCHEMAS[spec.name]
    columns = [
        (pl.col(c).cast(t) if c in frame.columns else pl.lit(None, t)).alias(c)
        for c, t in schema.items()
        if c != "source_row"
    ]
    periods = [c for c in frame.columns if c.startswith("period_")]
    return frame.select(*columns, "__row", *periods)


def _missing_columns(raw: pl.DataFrame, spec: Table, ctx: TableContext) -> bool:
    """Report each required column absent from ``raw``; True if any is."""
    missing = [c for c in spec.required_columns if c not in raw.columns]
    for col in missing:
        ctx.flag(
            "missing_column",
            col,
            f"the required column '{col}' is missing",
            col=col,
            meaning=spec.column(col).meaning,
            present=", ".join(ctx.source.written.get(c, c) for c in raw.columns if c != "__row"),
        )
    return bool(missing)


def _impute_partial_death(raw: pl.DataFrame, out: dict[str, pl.Series]) -> pl.Series:
    """A partial death date (YYYY-MM or YYYY) is the first day of its period, or the last contact
    when that falls later within the same period (the patient was known alive then)."""
    text = raw["death_date"].cast(pl.String)
    frame = pl.DataFrame(
        {"death": out["death_date"], "contact": out["last_contact_date"], "raw": text}
    )
    period_end = (
        pl.when(pl.col("raw").str.contains(r"^\d{4}-\d{2}$"))
        .then(pl.col("death").dt.month_end())
        .when(pl.col("raw").str.contains(r"^\d{4}$"))
        .then(pl.date(pl.col("death").dt.year(), 12, 31))
    )
    later = (pl.col("contact") > pl.col("death")) & (pl.col("contact") <= period_end)
    return frame.select(
        pl.when(later).then(pl.col("contact")).otherwise(pl.col("death")).alias("death_date")
    ).to_series()


def _check_required(
    raw: pl.DataFrame, col: str, ctx: TableContext, all_empty: bool = False
) -> None:
    """Report rows whose required value is empty (text already cleaned; ``all_empty``: every
    row of ``raw`` is one)."""
    if not all_empty and raw[col].null_count() == 0:
        return
    empty = raw.select("__row") if all_empty else raw.select("__row").filter(raw[col].is_null())
    ctx.rows("empty_value", col, empty, None, f"the required value '{col}' is empty", col=col)


def _validate_catalog(url: str | Path, **options: Any) -> tuple[Cohort | None, ValidationReport]:
    """:func:`validate_cohort` of a native cohort in the Spark catalog
    (``native+spark://?schema=NAME``, :mod:`mmrwe.engine.catalog`): its tables staged as
    Parquet, then read as a folder; the manifest's inputs name the catalog tables."""
    import shutil
    import tempfile

    from mmrwe.engine.catalog import stage_catalog

    staging = Path(tempfile.mkdtemp(prefix="mmrwe-catalog-"))
    try:
        staged = stage_catalog(url, staging)
        cohort, report = validate_cohort(staging, **options)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if cohort is not None:
        cohort.inputs = [
            {**entry, "file": f"{staged.get(str(entry['table']), entry['file'])} (Spark catalog)"}
            for entry in cohort.inputs
        ]
    return cohort, report
