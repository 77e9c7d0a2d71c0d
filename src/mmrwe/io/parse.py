"""Typed parsing of raw columns, reporting every value that cannot be read.

Each parser takes a raw column (text from CSV, or a typed Parquet/DuckDB column), returns the
typed column and reports failures through :class:`TableContext` with file, column, row and value.
Rules (documented in ``docs/data-model.md``):

- text: surrounding spaces removed; an empty string is a missing value;
- dates: ``YYYY-MM-DD``; partial ``YYYY-MM`` and ``YYYY`` are imputed — start-type dates to the
  first day of the period, end-type dates (``end_date``, ``last_contact_date``) to the last day,
  ``death_date`` to the first day but not before the last contact within the period — flagged and
  counted as warnings;
- codes: matched case-insensitively and written in their canonical spelling;
- booleans: ``true/false``, ``t/f``, ``yes/no``, ``y/n``, ``1/0`` (any case).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from mmrwe.io.problems import MAX_ROWS_PER_CHECK, Severity, ValidationReport
from mmrwe.io.sources import Source

END_TYPE_DATES = frozenset({"end_date", "last_contact_date"})
TRUE_WORDS = ("true", "t", "yes", "y", "1")
FALSE_WORDS = ("false", "f", "no", "n", "0")


@dataclass
class TableContext:
    """Reports problems of one table, mapping global rows to the file they came from."""

    source: Source
    report: ValidationReport

    def rows(
        self,
        severity: Severity,
        check: str,
        column: str | None,
        failing: pl.DataFrame,
        value_col: str | None,
        what: str,
        fix: str,
    ) -> int:
        """Report each row of ``failing`` (which holds ``__row``); return how many.

        Only the first rows of each file are listed (the report counts the rest), so a column
        wrong on every row of a large table costs no more than a few rows.
        """
        if failing.height == 0:
            return 0
        offsets = np.asarray(self.source.offsets or [0], dtype=np.int64)
        file_index = np.searchsorted(offsets, failing["__row"].to_numpy() - 1, side="right") - 1
        frame = failing.with_columns(pl.Series("__file", np.maximum(file_index, 0)))
        total = 0
        for (i,), part in frame.group_by("__file", maintain_order=True):
            head = part.head(MAX_ROWS_PER_CHECK)
            rows = (head["__row"] - int(offsets[int(i)])).to_list()
            values = head[value_col].cast(pl.String).to_list() if value_col else [None] * len(rows)
            label = self.source.file_label(int(i))
            self.report.add_rows(severity, check, label, column, rows, values, what, fix)
            more = part.height - head.height
            if more:
                key = (check, label, column)
                self.report.omitted[key] = self.report.omitted.get(key, 0) + more
            total += part.height
        return total


def clean_text(col: str) -> pl.Expr:
    """The column as stripped text, empty strings as null."""
    s = pl.col(col).cast(pl.String).str.strip_chars()
    return pl.when(s == "").then(None).otherwise(s)


def parse_date(df: pl.DataFrame, col: str, ctx: TableContext) -> tuple[pl.Series, pl.Series]:
    """Parse a date column; return (dates, imputed flags). Failures are errors."""
    dtype = df.schema[col]
    if dtype == pl.Date:
        return df[col], pl.Series(col, [False] * df.height)
    if isinstance(dtype, pl.Datetime):
        return df[col].dt.date(), pl.Series(col, [False] * df.height)
    end_type = col in END_TYPE_DATES
    text = clean_text(col)
    full = text.str.to_date("%Y-%m-%d", strict=False)
    ym = pl.when(text.str.contains(r"^\d{4}-\d{2}$")).then(
        (text + "-01").str.to_date("%Y-%m-%d", strict=False)
    )
    yy = pl.when(text.str.contains(r"^\d{4}$")).then(
        (text + ("-12-31" if end_type else "-01-01")).str.to_date("%Y-%m-%d", strict=False)
    )
    if end_type:
        ym = ym.dt.month_end()
    out = df.select(
        pl.col("__row"),
        text.alias("raw"),
        full.alias("full"),
        pl.coalesce(full, ym, yy).alias("date"),
    )
    bad = out.filter(pl.col("raw").is_not_null() & pl.col("date").is_null())
    ctx.rows(
        "error",
        "bad_date",
        col,
        bad,
        "raw",
        "the date cannot be read",
        "write dates as YYYY-MM-DD (partial dates YYYY-MM or YYYY are accepted and imputed)",
    )
    imputed = out["full"].is_null() & out["date"].is_not_null()
    partial = out.filter(imputed)
    rule = "last day of the period" if end_type else "first day of the period"
    n = ctx.rows(
        "warning",
        "partial_date",
        col,
        partial,
        "raw",
        f"partial date imputed to the {rule}",
        "give the full date if it is known",
    )
    ctx.report.count(f"partial_date:{ctx.source.table}.{col}", n)
    return out["date"].alias(col), imputed.alias(col)


def parse_int(
    df: pl.DataFrame, col: str, ctx: TableContext, minimum: float | None, maximum: float | None
) -> pl.Series:
    """Parse a whole-number column; non-numbers and values out of range are errors."""
    if df.schema[col].is_integer():
        values = df[col].cast(pl.Int64)
        raw = df[col].cast(pl.String)
    else:
        raw_expr = clean_text(col)
        as_float = raw_expr.cast(pl.Float64, strict=False)
        values = df.select(
            pl.when(as_float == as_float.round(0)).then(as_float.cast(pl.Int64, strict=False))
        ).to_series()
        raw = df.select(raw_expr).to_series()
        bad = df.select("__row", raw.alias("raw"), values.alias("v")).filter(
            pl.col("raw").is_not_null() & pl.col("v").is_null()
        )
        ctx.rows(
            "error", "bad_number", col, bad, "raw", "not a whole number", "write a whole number"
        )
    _check_range(df, col, values, raw, ctx, minimum, maximum)
    return values.alias(col)


def parse_float(df: pl.DataFrame, col: str, ctx: TableContext, minimum: float | None) -> pl.Series:
    """Parse a decimal column; non-numbers and values below ``minimum`` are errors."""
    if df.schema[col].is_numeric():
        values = df[col].cast(pl.Float64)
        raw = values.cast(pl.String)
    else:
        raw = df.select(clean_text(col)).to_series()
        values = raw.cast(pl.Float64, strict=False)
        bad = df.select("__row", raw.alias("raw"), values.alias("v")).filter(
            pl.col("raw").is_not_null() & pl.col("v").is_null()
        )
        ctx.rows(
            "error", "bad_number", col, bad, "raw", "not a number", "write a number such as 12.5"
        )
    _check_range(df, col, values, raw, ctx, minimum, None)
    return values.alias(col)


def _check_range(
    df: pl.DataFrame,
    col: str,
    values: pl.Series,
    raw: pl.Series,
    ctx: TableContext,
    minimum: float | None,
    maximum: float | None,
) -> None:
    if minimum is None and maximum is None:
        return
    frame = df.select("__row").with_columns(values.alias("v"), raw.alias("raw"))
    cond = pl.lit(False)
    if minimum is not None:
        cond = cond | (pl.col("v") < minimum)
    if maximum is not None:
        cond = cond | (pl.col("v") > maximum)
    check = "negative_value" if minimum == 0 and maximum is None else "out_of_range"
    allowed = f"at least {minimum:g}" if maximum is None else f"from {minimum:g} to {maximum:g}"
    ctx.rows(
        "error",
        check,
        col,
        frame.filter(cond),
        "raw",
        f"the value is outside the allowed range ({allowed})",
        f"correct the value to be {allowed}, or leave it empty if unknown",
    )


def parse_code(df: pl.DataFrame, col: str, ctx: TableContext, codes: tuple[str, ...]) -> pl.Series:
    """Parse a coded column case-insensitively into its canonical spelling; others are errors."""
    raw = df.select(clean_text(col)).to_series()
    lookup = pl.DataFrame({"key": [c.lower() for c in codes], "canon": list(codes)})
    mapped = pl.DataFrame({"key": raw.str.to_lowercase()}).join(
        lookup, on="key", how="left", maintain_order="left"
    )["canon"]
    bad = (
        df.select("__row")
        .with_columns(raw.alias("raw"), mapped.alias("v"))
        .filter(pl.col("raw").is_not_null() & pl.col("v").is_null())
    )
    ctx.rows(
        "error",
        "bad_code",
        col,
        bad,
        "raw",
        f"the value is not one of {', '.join(codes)}",
        f"use one of {', '.join(codes)}, or leave it empty if unknown",
    )
    return mapped.alias(col)


def parse_bool(df: pl.DataFrame, col: str, ctx: TableContext) -> pl.Series:
    """Parse a true/false column."""
    if df.schema[col] == pl.Boolean:
        return df[col]
    raw = df.select(clean_text(col).str.to_lowercase()).to_series()
    values = df.select(
        pl.when(raw.is_in(TRUE_WORDS)).then(True).when(raw.is_in(FALSE_WORDS)).then(False)
    ).to_series()
    bad = (
        df.select("__row")
        .with_columns(raw.alias("raw"), values.alias("v"))
        .filter(pl.col("raw").is_not_null() & pl.col("v").is_null())
    )
    ctx.rows("error", "bad_code", col, bad, "raw", "not true or false", "write true or false")
    return values.alias(col)
