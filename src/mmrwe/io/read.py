"""``read_cohort``: read a cohort, validate it completely, return typed tables.

Every check runs before anything is reported (problems are collected, not raised one by one).
Checks and their severities are listed in :data:`mmrwe.io.checks.CHECKS` and
``docs/validation.md``. Errors stop a run (:class:`~mmrwe.errors.InvalidDataError`); warnings are
reported and the data used as documented. Rows outside a patient's follow-up are excluded and
counted in the ``attrition`` table.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from mmrwe.errors import InvalidDataError
from mmrwe.io.checks import check_cohort
from mmrwe.io.cohort import COHORT_SCHEMAS, Cohort, empty_table
from mmrwe.io.labs import parse_lab_values
from mmrwe.io.parse import (
    TableContext,
    clean_text,
    parse_bool,
    parse_code,
    parse_date,
    parse_float,
    parse_int,
)
from mmrwe.io.problems import Problem, ValidationReport
from mmrwe.io.schema import TABLES, Table
from mmrwe.io.sources import discover, input_hashes, read_raw


def read_cohort(
    path: str | Path,
    *,
    strict: bool = True,
    on_progress: Callable[[int], None] | None = None,
) -> Cohort:
    """Read and validate the cohort at ``path`` (a directory or a DuckDB file).

    Returns a :class:`Cohort` of typed tables in canonical units, sorted by patient and date,
    with the validation report and the attrition table. With ``strict`` (the default) any error
    raises :class:`InvalidDataError` whose message names the first problems (file, column, row,
    value, fix) and whose ``report`` holds all of them.
    """
    cohort, report = validate_cohort(path, on_progress=on_progress)
    if strict and (cohort is None or not report.ok):
        raise InvalidDataError(report.summary(), report)
    if cohort is None:  # not strict, but nothing usable could be read
        raise InvalidDataError(report.summary(), report)
    return cohort


def validate_cohort(
    path: str | Path, *, on_progress: Callable[[int], None] | None = None
) -> tuple[Cohort | None, ValidationReport]:
    """Run every check on the cohort at ``path``; return the cohort (if readable) and the report."""
    sources, report = discover(Path(path))
    typed: dict[str, pl.DataFrame] = {}
    for name, spec in TABLES.items():
        if name in sources:
            raw = read_raw(sources[name], report)
            if raw is not None:
                ctx = TableContext(sources[name], report)
                table = _type_table(raw, spec, ctx)
                if table is not None:
                    typed[name] = table
        if on_progress:
            on_progress(1)
    if "patients" not in typed or "treatments" not in typed:
        return None, report
    for name in TABLES:
        typed.setdefault(name, empty_table(name))
    typed, attrition = check_cohort(typed, sources, report)
    cohort = Cohort(
        patients=typed["patients"],
        treatments=typed["treatments"],
        labs=typed["labs"],
        responses=typed["responses"],
        adverse_events=typed["adverse_events"],
        report=report,
        attrition=attrition,
        inputs=input_hashes(sources),
        present=frozenset(sources),
    )
    return cohort, report


def _type_table(raw: pl.DataFrame, spec: Table, ctx: TableContext) -> pl.DataFrame | None:
    """Parse every column of one raw table by its spec; ``None`` if required columns are missing."""
    label = ctx.source.label
    missing = [c for c in spec.required_columns if c not in raw.columns]
    for col in missing:
        ctx.report.add(
            Problem(
                "error",
                "missing_column",
                label,
                col,
                None,
                None,
                f"the required column '{col}' is missing",
                f"add a column '{col}' ({spec.column(col).meaning}); columns present: "
                + ", ".join(c for c in raw.columns if c != "__row"),
            )
        )
    if raw.height == 0:
        ctx.report.add(
            Problem(
                "error" if spec.required else "warning",
                "empty_file",
                label,
                None,
                None,
                None,
                "the table has a header but no data rows",
                f"add the {spec.name} rows" + ("" if spec.required else ", or remove the file"),
            )
        )
    if missing:
        return None
    out: dict[str, pl.Series] = {}
    for column in spec.columns:
        col = column.name
        if col not in raw.columns:
            continue
        if column.kind == "date":
            dates, imputed = parse_date(raw, col, ctx)
            out[col] = dates
            if f"{col}_imputed" in COHORT_SCHEMAS[spec.name]:
                out[f"{col}_imputed"] = imputed.alias(f"{col}_imputed")
        elif column.kind == "int":
            out[col] = parse_int(raw, col, ctx, column.minimum, column.maximum)
        elif column.kind == "float":
            out[col] = parse_float(raw, col, ctx, column.minimum)
        elif column.kind == "bool":
            out[col] = parse_bool(raw, col, ctx)
        elif column.kind == "code" and not (spec.name == "labs" and col == "test"):
            out[col] = parse_code(raw, col, ctx, column.codes)
        elif column.kind in ("string", "code"):
            out[col] = raw.select(clean_text(col)).to_series().alias(col)
        if column.required:
            _check_required(raw, col, ctx)
    if spec.name == "labs":
        out["test"] = _parse_lab_test(raw, ctx)
        parsed = parse_lab_values(raw.with_columns(out["test"].alias("test")), ctx)
        for col in parsed.columns:
            out[col] = parsed[col]
    if spec.name == "patients" and "death_date" in out:
        out["death_date"] = _impute_partial_death(raw, out)
    out["source_row"] = raw["__row"]
    schema = COHORT_SCHEMAS[spec.name]
    frame = pl.DataFrame(out)
    frame = frame.select(
        [
            (pl.col(c).cast(t) if c in frame.columns else pl.lit(None, t)).alias(c)
            for c, t in schema.items()
        ]
    )
    return frame


def _impute_partial_death(raw: pl.DataFrame, out: dict[str, pl.Series]) -> pl.Series:
    """A partial death date (YYYY-MM or YYYY) is the first day of its period, or the last contact
    when that falls later within the same period (the patient was known alive then)."""
    text = raw.select(clean_text("death_date")).to_series()
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


def _check_required(raw: pl.DataFrame, col: str, ctx: TableContext) -> None:
    """Report rows whose required value is empty (as written, before parsing)."""
    empty = raw.select("__row", clean_text(col).alias("raw")).filter(pl.col("raw").is_null())
    ctx.rows(
        "error",
        "empty_value",
        col,
        empty,
        None,
        f"the required value '{col}' is empty",
        f"fill in '{col}' or remove the row",
    )


def _parse_lab_test(raw: pl.DataFrame, ctx: TableContext) -> pl.Series:
    """The canonical lab test name; unknown tests are errors naming the accepted ones."""
    tests = TABLES["labs"].column("test").codes
    text = raw.select(
        clean_text("test").str.to_lowercase().str.replace_all(r"[\s\-]+", "_")
    ).to_series()
    mapped = text.replace_strict({t: t for t in tests}, default=None, return_dtype=pl.String)
    bad = raw.select("__row", clean_text("test").alias("raw")).with_columns(mapped.alias("v"))
    ctx.rows(
        "error",
        "unknown_lab_test",
        "test",
        bad.filter(pl.col("raw").is_not_null() & pl.col("v").is_null()),
        "raw",
        "the lab test is not one of the native format's tests",
        "use one of " + ", ".join(tests) + " (map local test names before loading)",
    )
    return mapped.alias("test")
