"""Typed parsing of raw columns, reporting every value that cannot be read.

Each parser takes a raw column (text from CSV, or a typed Parquet/DuckDB column), returns the
typed column and reports failures through :class:`TableContext` with file, column, row and value.
Rules (documented in ``docs/data-model.md``):

- text: surrounding spaces removed; an empty string is a missing value (done once per column,
  before parsing: the parsers below take cleaned text);
- numbers: finite decimal numbers only (``NaN``, ``inf``, ``1e400`` are errors);
- dates: ``YYYY-MM-DD``; partial ``YYYY-MM`` and ``YYYY`` are imputed — start-type dates to the
  first day of the period, end-type dates (``end_date``, ``last_contact_date``) to the last day,
  ``death_date`` to the first day but not before the last contact within the period — flagged and
  counted as warnings (the cross-table checks then keep them within follow-up, see
  :mod:`mmrwe.io.checks`);
- codes: matched case-insensitively and written in their canonical spelling;
- booleans: ``true/false``, ``t/f``, ``yes/no``, ``y/n``, ``1/0`` (any case).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from mmrwe.io.catalog import EARLIEST_DATE
from mmrwe.io.problems import ValidationReport
from mmrwe.io.sources import Source

END_TYPE_DATES = frozenset({"end_date", "last_contact_date"})
#: A decimal number: optional sign, digits with an optional point (or a leading point), an
#: optional exponent.
DECIMAL = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
#: Granularity of a date as written (``period_<col>`` columns): full, ``YYYY-MM`` or ``YYYY``.
FULL_DATE, MONTH_DATE, YEAR_DATE = 0, 1, 2
TRUE_WORDS = ("true", "t", "yes", "y", "1")
FALSE_WORDS = ("false", "f", "no", "n", "0")


@dataclass
class TableContext:
    """Reports problems of one table, mapping global rows to the file they came from.

    ``latest``: the latest plausible date (the data cut-off of the extract; dates after it are
    ``implausible_date`` errors).
    """

    source: Source
    report: ValidationReport
    latest: dt.date

    def rows(
        self,
        check: str,
        column: str | None,
        failing: pl.DataFrame,
        value_col: str | None,
        what: str,
        **fix_values: object,
    ) -> int:
        """Report each row of ``failing`` (which holds ``__row``) as a ``check``; return how many.

        Only the first rows of each file are listed one by one; the others are kept as a frame
        of row numbers and values (the report counts them and writes them to the JSON).
        """
        if failing.height == 0:
            return 0
        offsets = np.asarray(self.source.offsets or [0], dtype=np.int64)
        file_index = np.searchsorted(offsets, failing["__row"].to_numpy() - 1, side="right") - 1
        value = pl.col(value_col).cast(pl.String) if value_col else pl.lit(None, pl.String)
        frame = failing.select(
            pl.Series("__file", np.maximum(file_index, 0)), "__row", value.alias("__value")
        )
        total = 0
        for (i,), part in frame.group_by("__file", maintain_order=True):
            label = self.source.file_label(int(i))
            part = part.with_columns(pl.col("__row") - int(offsets[int(i)]))
            room = self.report.room(check, label, column)
            head, tail = part.head(room), part.slice(room)
            self.report.add_rows(
                check,
                label,
                column,
                head["__row"].to_list(),
                head["__value"].to_list(),
                what,
                more=tail.select("__row", "__value") if tail.height else None,
                **fix_values,
            )
            total += part.height
        return total

    def flag(self, check: str, column: str | None, what: str, **fix_values: object) -> None:
        """Report one problem of the whole table (or of one of its columns)."""
        self.report.flag(check, self.source.label, column, what=what, **fix_values)


def clean_series(s: pl.Series) -> pl.Series:
    """``s`` as stripped text, empty strings as null, worked out on its distinct values.

    Most columns need no change, and finding that out costs one pass over the distinct values
    rather than a string operation on every row of a table of millions.
    """
    if s.dtype != pl.String:
        s = s.cast(pl.String)
    distinct = s.unique().drop_nulls()
    stripped = distinct.str.strip_chars()
    changed = (stripped != distinct) | (stripped == "")
    if not changed.any():
        return s
    old = distinct.filter(changed)
    new = stripped.filter(changed)
    return s.replace(old, new.replace("", None))


def encode(series: pl.Series) -> tuple[np.ndarray, list[str]]:
    """Codes of each row into the column's distinct values, and those values (stripped).

    -1 codes a missing value (null, empty or spaces only). One hashing pass over the rows (none
    for a Categorical column); every text rule then works on the distinct values.
    """
    if series.dtype == pl.Categorical:
        cat = series
    else:
        cat = series.cast(pl.String).cast(pl.Categorical(pl.Categories.random()))
    distinct = cat.unique().drop_nulls()
    values = [v.strip() for v in distinct.cast(pl.String).to_list()]
    ids = distinct.to_physical().to_numpy().astype(np.int64)
    lut = np.full(int(ids.max()) + 2 if ids.size else 1, -1, dtype=np.int32)
    lut[ids] = np.where([v != "" for v in values], np.arange(ids.size), -1) if ids.size else []
    phys = cat.to_physical().fill_null(len(lut) - 1).to_numpy()
    return lut[phys], values


def gather(codes: np.ndarray, table: pl.Series) -> pl.Series:
    """``table[codes]``, null where ``codes`` is -1."""
    idx = pl.Series(codes).cast(pl.UInt32, strict=False)
    return table.gather(idx)


def is_decimal(text: pl.Expr) -> pl.Expr:
    """True for a finite decimal number as people write it (``12``, ``-0.5``, ``.5``, ``1e3``);
    ``NaN``, ``inf`` and numbers beyond the double range (``1e400``) are not numbers."""
    as_float = text.cast(pl.Float64, strict=False)
    return text.str.contains(f"^{DECIMAL}$") & as_float.is_finite()


def parse_date(
    df: pl.DataFrame, col: str, ctx: TableContext
) -> tuple[pl.Series, pl.Series, pl.Series | None, np.ndarray | None]:
    """Parse a date column; return (dates, imputed flags, granularity or ``None`` if every date is
    full, rows left empty or ``None``). Failures are errors.

    Text dates are parsed once per distinct spelling. The granularity (:data:`MONTH_DATE`,
    :data:`YEAR_DATE`) lets the cross-table checks keep an imputed date within follow-up.
    """
    dtype = df.schema[col]
    if dtype == pl.Date or isinstance(dtype, pl.Datetime):
        dates = df[col] if dtype == pl.Date else df[col].dt.date()
        empty = dates.is_null().to_numpy() if dates.null_count() else None
        _check_plausible(df, col, dates, ctx)
        return dates, pl.Series(col, [False] * df.height), None, empty
    end_type = col in END_TYPE_DATES
    codes, values = encode(df[col])
    text = pl.col("raw")
    full = text.str.to_date("%Y-%m-%d", strict=False)
    is_month = text.str.contains(r"^\d{4}-\d{2}$")
    is_year = text.str.contains(r"^\d{4}$")
    ym = pl.when(is_month).then((text + "-01").str.to_date("%Y-%m-%d", strict=False))
    yy = pl.when(is_year).then(
        (text + ("-12-31" if end_type else "-01-01")).str.to_date("%Y-%m-%d", strict=False)
    )
    if end_type:
        ym = ym.dt.month_end()
    table = pl.DataFrame({"raw": values}, schema={"raw": pl.String}).select(
        pl.coalesce(full, ym, yy).alias("date"),
        pl.when(full.is_not_null())
        .then(FULL_DATE)
        .when(is_month)
        .then(MONTH_DATE)
        .when(is_year)
        .then(YEAR_DATE)
        .cast(pl.UInt8)
        .alias("period"),
    )
    bad_code = table["date"].is_null().to_numpy()
    partial_code = (table["period"].fill_null(0) > 0).to_numpy()
    empty = codes < 0
    bad = ~empty & np.append(bad_code, False)[codes]
    partial = ~empty & np.append(partial_code, False)[codes]
    if bad.any():
        ctx.rows(
            "bad_date",
            col,
            df.select("__row", pl.col(col).cast(pl.String).alias("raw")).filter(pl.Series(bad)),
            "raw",
            "the date cannot be read",
        )
    rule = "last day of the period" if end_type else "first day of the period"
    n = 0
    if partial.any():
        n = ctx.rows(
            "partial_date",
            col,
            df.select("__row", pl.col(col).cast(pl.String).alias("raw")).filter(pl.Series(partial)),
            "raw",
            f"partial date imputed to the {rule}",
        )
    ctx.report.count(f"partial_date:{ctx.source.table}.{col}", n)
    dates = gather(codes, table["date"]).alias(col)
    _check_plausible(df, col, dates, ctx)
    period = gather(codes, table["period"]).alias(f"period_{col}") if n else None
    return dates, pl.Series(col, partial), period, empty if empty.any() else None


def _check_plausible(df: pl.DataFrame, col: str, dates: pl.Series, ctx: TableContext) -> None:
    """Dates on or before :data:`EARLIEST_DATE` or after ``ctx.latest`` are
    ``implausible_date`` errors (a lab "dated" 1900-01-01, the zero date of spreadsheets and
    databases; a last contact of 9999-12-31 standing for "alive")."""
    earliest = dt.date.fromisoformat(EARLIEST_DATE)
    for mask, what in (
        (
            dates <= earliest,
            f"the date is {EARLIEST_DATE} or earlier ({EARLIEST_DATE} stands for a missing "
            "date in spreadsheets and databases)",
        ),
        (dates > ctx.latest, f"the date is after the data cut-off of the extract, {ctx.latest}"),
    ):
        mask = mask.fill_null(False)
        if mask.any():
            failing = df.select("__row", pl.col(col).cast(pl.String).alias("raw")).filter(mask)
            ctx.rows("implausible_date", col, failing, "raw", what, latest=ctx.latest)


def parse_int(
    df: pl.DataFrame, col: str, ctx: TableContext, minimum: float | None, maximum: float | None
) -> pl.Series:
    """Parse a whole-number column; non-numbers and values out of range are errors."""
    if df.schema[col].is_integer():
        values = df[col].cast(pl.Int64)
        raw = df[col].cast(pl.String)
    else:
        raw_expr = pl.col(col).cast(pl.String)
        as_float = raw_expr.cast(pl.Float64, strict=False)
        values = df.select(
            pl.when(as_float == as_float.round(0)).then(as_float.cast(pl.Int64, strict=False))
        ).to_series()
        raw = df.select(raw_expr).to_series()
        bad = df.select("__row", raw.alias("raw"), values.alias("v")).filter(
            pl.col("raw").is_not_null() & pl.col("v").is_null()
        )
        ctx.rows("bad_number", col, bad, "raw", "not a whole number", expected="a whole number")
    _check_range(df, col, values, raw, ctx, minimum, maximum)
    return values.alias(col)


def parse_float(df: pl.DataFrame, col: str, ctx: TableContext, minimum: float | None) -> pl.Series:
    """Parse a decimal column; non-numbers (also ``NaN``, ``inf``, ``1e400``) and values below
    ``minimum`` are errors."""
    if df.schema[col].is_numeric():
        values = df[col].cast(pl.Float64)
        raw = values.cast(pl.String)
        finite = values.is_finite() | values.is_null()
    else:
        raw = df[col].cast(pl.String)
        finite = df.select(is_decimal(pl.col(col)) | pl.col(col).is_null()).to_series()
        values = raw.cast(pl.Float64, strict=False)
    if not finite.all():
        bad = df.select("__row", raw.alias("raw")).filter(~finite)
        ctx.rows(
            "bad_number",
            col,
            bad,
            "raw",
            "not a finite decimal number",
            expected="a number such as 12.5 (not NaN or infinity)",
        )
        values = pl.select(pl.when(finite).then(values)).to_series()
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
        check,
        col,
        frame.filter(cond),
        "raw",
        f"the value is outside the allowed range ({allowed})",
        allowed=allowed,
    )


def parse_code(df: pl.DataFrame, col: str, ctx: TableContext, codes: tuple[str, ...]) -> pl.Series:
    """Parse a coded column case-insensitively into its canonical spelling; others are errors."""
    raw = df[col].cast(pl.String)
    lookup = {c.lower(): c for c in codes}
    mapping = {v: lookup.get(v.lower()) for v in raw.unique().drop_nulls().to_list()}
    if all(k == v for k, v in mapping.items()):
        return raw.alias(col)
    mapped = raw.replace_strict(mapping, default=None, return_dtype=pl.String)
    bad = (
        df.select("__row")
        .with_columns(raw.alias("raw"), mapped.alias("v"))
        .filter(pl.col("raw").is_not_null() & pl.col("v").is_null())
    )
    ctx.rows(
        "bad_code",
        col,
        bad,
        "raw",
        f"the value is not one of {', '.join(codes)}",
        allowed=", ".join(codes),
    )
    return mapped.alias(col)


def parse_bool(df: pl.DataFrame, col: str, ctx: TableContext) -> pl.Series:
    """Parse a true/false column."""
    if df.schema[col] == pl.Boolean:
        return df[col]
    raw = df[col].cast(pl.String).str.to_lowercase()
    values = df.select(
        pl.when(raw.is_in(TRUE_WORDS)).then(True).when(raw.is_in(FALSE_WORDS)).then(False)
    ).to_series()
    bad = (
        df.select("__row")
        .with_columns(raw.alias("raw"), values.alias("v"))
        .filter(pl.col("raw").is_not_null() & pl.col("v").is_null())
    )
    ctx.rows("bad_code", col, bad, "raw", "not true or false", allowed="true, false")
    return values.alias(col)
