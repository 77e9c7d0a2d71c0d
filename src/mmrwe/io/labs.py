"""Reading laboratory results: tests, units, numbers, censored values and words.

Documented rules (``docs/data-model.md``), each counted in the validation report:

- numbers are read as they are, then converted to the canonical unit (serum M g/dL, urine M
  mg/24h, FLC mg/L, marrow %);
- ``<x`` (also ``<=x``, ``≤x``): below the limit of detection. M-protein counts as 0 (IMWG,
  Kumar 2016, as applied in the response rules); other tests keep ``x`` with
  ``value_rule = below_limit`` so that a rule such as "< 5 % marrow plasma cells" can use it;
- ``>x`` (also ``>=x``, ``≥x``): above the limit of quantification, kept as ``x`` (``above_limit``);
- words: see :data:`ABSENT_WORDS` and :data:`PRESENT_WORDS`; M-protein "absent" words are 0 with
  result ``negative``, "present" words (``trace``) are 0 with result ``positive`` (detectable but
  not quantifiable); qualitative tests (IFE, clonal marrow cells) take ``positive``/``negative``;
- anything else is an error naming the row.
"""

from __future__ import annotations

import polars as pl

from mmrwe.io.parse import TableContext, clean_text
from mmrwe.io.schema import LAB_TESTS, QUALITATIVE_TESTS, UNIT_FACTORS

M_PROTEIN_TESTS = ("serum_m_protein", "urine_m_protein")

#: Words meaning "not found" (case-insensitive).
ABSENT_WORDS = (
    "negative",
    "neg",
    "-",
    "not detected",
    "none detected",
    "not detectable",
    "undetectable",
    "undetected",
    "absent",
    "none",
    "nd",
    "no m-spike",
    "no m spike",
    "no monoclonal protein",
    "polyclonal",
    "no clonal cells",
)
#: Words meaning "found" without a quantity (case-insensitive).
PRESENT_WORDS = (
    "positive",
    "pos",
    "+",
    "detected",
    "present",
    "trace",
    "faint band",
    "too small to quantify",
    "not quantifiable",
    "monoclonal",
    "clonal",
)

_NUMBER = r"[+]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"


def normalise_unit(col: str) -> pl.Expr:
    """Unit text lower-cased without spaces (``mg/24 h`` → ``mg/24h``, ``percent`` → ``%``)."""
    u = pl.col(col).cast(pl.String).str.to_lowercase().str.replace_all(r"\s+", "")
    u = (
        u.str.replace(r"^(percent|pct)$", "%")
        .str.replace(r"/24hr?s?$", "/24h")
        .str.replace(r"/d$", "/24h")
    )
    return pl.when(u.is_null()).then(pl.lit("")).otherwise(u)


def _unit_table() -> pl.DataFrame:
    rows = [
        (test, unit, factor)
        for test, units in UNIT_FACTORS.items()
        for unit, factor in units.items()
    ]
    return pl.DataFrame(rows, schema=["test", "unit_key", "factor"], orient="row")


def parse_lab_values(df: pl.DataFrame, ctx: TableContext) -> pl.DataFrame:
    """Typed labs from a raw labs frame whose ``test`` column is already canonical (or null).

    Returns columns ``value, result, unit, value_raw, value_rule`` aligned with ``df``.
    """
    has_unit = "unit" in df.columns
    frame = df.select(
        "__row",
        "test",
        clean_text("value").alias("value_raw"),
        (normalise_unit("unit") if has_unit else pl.lit("")).alias("unit_key"),
        (clean_text("unit") if has_unit else pl.lit(None, pl.String)).alias("unit_raw"),
    )
    raw = pl.col("value_raw")
    low = raw.str.to_lowercase()
    qualitative = pl.col("test").is_in(list(QUALITATIVE_TESTS))
    m_protein = pl.col("test").is_in(list(M_PROTEIN_TESTS))
    plain = raw.cast(pl.Float64, strict=False)
    below = raw.str.extract(rf"^(?:<=|<|≤)\s*({_NUMBER})$", 1).cast(pl.Float64, strict=False)
    above = raw.str.extract(rf"^(?:>=|>|≥)\s*({_NUMBER})$", 1).cast(pl.Float64, strict=False)
    absent = low.is_in(list(ABSENT_WORDS))
    present = low.is_in(list(PRESENT_WORDS))
    frame = frame.with_columns(
        pl.when(qualitative)
        .then(pl.when(absent).then(pl.lit("word")).when(present).then(pl.lit("word")))
        .when(plain.is_not_null())
        .then(pl.lit("number"))
        .when(below.is_not_null())
        .then(pl.lit("below_limit"))
        .when(above.is_not_null())
        .then(pl.lit("above_limit"))
        .when(absent | (present & m_protein))
        .then(pl.lit("word"))
        .alias("value_rule"),
        pl.when(qualitative)
        .then(None)
        .when(plain.is_not_null())
        .then(plain)
        .when(below.is_not_null())
        .then(pl.when(m_protein).then(0.0).otherwise(below))
        .when(above.is_not_null())
        .then(above)
        .when(absent | (present & m_protein))
        .then(0.0)
        .alias("number"),
        pl.when(absent)
        .then(pl.lit("negative"))
        .when(present)
        .then(pl.lit("positive"))
        .alias("result"),
    )
    known = pl.col("test").is_not_null() & pl.col("value_raw").is_not_null()
    bad_qual = frame.filter(known & qualitative & pl.col("value_rule").is_null())
    ctx.rows(
        "error",
        "bad_lab_value",
        "value",
        bad_qual,
        "value_raw",
        "a qualitative result must be positive or negative",
        "write positive or negative (accepted words: "
        + ", ".join(ABSENT_WORDS + PRESENT_WORDS)
        + ")",
    )
    bad_quant = frame.filter(known & ~qualitative & pl.col("value_rule").is_null())
    ctx.rows(
        "error",
        "bad_lab_value",
        "value",
        bad_quant,
        "value_raw",
        "the result is neither a number, a censored number (<0.1) nor a known word",
        "write a number with a decimal point (e.g. 0.5), '<0.1', or 'not detected'",
    )
    ctx.rows(
        "error",
        "negative_value",
        "value",
        frame.filter(pl.col("number") < 0),
        "value_raw",
        "a laboratory quantity cannot be negative",
        "correct the value",
    )
    for rule in ("below_limit", "above_limit", "word"):
        ctx.report.count(f"lab_value:{rule}", frame.filter(pl.col("value_rule") == rule).height)

    units = _unit_table()
    frame = frame.join(units, on=["test", "unit_key"], how="left", maintain_order="left")
    quant_known = pl.col("test").is_not_null() & ~qualitative
    missing_unit = frame.filter(quant_known & (pl.col("unit_key") == ""))
    ctx.rows(
        "error",
        "missing_unit",
        "unit",
        missing_unit,
        "test",
        "the unit is missing for a quantitative test",
        "give the unit: g/dL or g/L (serum M), mg/24h or g/24h (urine M), mg/L or mg/dL (FLC), % (marrow)",
    )
    unknown_unit = frame.filter(
        quant_known & (pl.col("unit_key") != "") & pl.col("factor").is_null()
    )
    for test in unknown_unit["test"].unique().sort().to_list():
        sub = unknown_unit.filter(pl.col("test") == test)
        ctx.rows(
            "error",
            "unknown_unit",
            "unit",
            sub,
            "unit_raw",
            f"the unit is not one accepted for {test}",
            f"use {' or '.join(_accepted_units()[test])}",
        )
    canonical = pl.col("test").replace_strict(LAB_TESTS, default=None)
    return frame.select(
        (pl.col("number") * pl.col("factor")).alias("value"),
        pl.col("result"),
        canonical.alias("unit"),
        pl.col("value_raw"),
        pl.col("value_rule"),
    )


def _accepted_units() -> dict[str, list[str]]:
    spelled = {
        "g/dl": "g/dL",
        "g/l": "g/L",
        "mg/24h": "mg/24h",
        "g/24h": "g/24h",
        "mg/l": "mg/L",
        "mg/dl": "mg/dL",
        "%": "%",
        "": "",
    }
    return {t: [spelled[u] for u in units] for t, units in UNIT_FACTORS.items()}
