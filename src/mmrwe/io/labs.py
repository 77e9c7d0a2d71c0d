"""Reading laboratory results: tests, units, numbers, censored values and words.

Documented rules (``docs/data-model.md``), each counted in the validation report:

- numbers are read as they are, then converted to the canonical unit (serum M g/dL, urine M
  mg/24h, FLC mg/L, marrow %);
- ``<x`` (also ``<=x``, ``≤x``): below the limit of detection. M-protein counts as 0 (IMWG,
  Kumar 2016, as applied in the response rules); other tests keep ``x`` with
  ``value_rule = below_limit`` so that a rule such as "< 5 % marrow plasma cells" can use it;
- ``>x`` (also ``>=x``, ``≥x``): above the limit of quantification, kept as ``x`` (``above_limit``);
- words: see :data:`ABSENT_WORDS` and :data:`PRESENT_WORDS`; M-protein "absent" words are 0 with
  result ``negative``; "too small to quantify" words (:data:`TRACE_WORDS`: ``trace``) are 0 with
  result ``positive`` (detectable by IFE, not by electrophoresis); the other "present" words
  (``positive``, ``detected``) say M-protein is there but not how much: the quantity is missing
  (null) with result ``positive``, counted apart (``lab_value:m_protein_unquantified``);
  qualitative tests (IFE, clonal marrow cells) take ``positive``/``negative``; a word for a free
  light chain or marrow plasma cells is an error (no rule gives it a number);
- numbers are finite decimal numbers (``NaN``, ``inf``, ``1e400`` are errors);
- anything else is an error naming the row.

Every text rule runs on the distinct spellings of a column (a few thousand), never on each of
millions of rows: rows are coded by their distinct value once, and the rules' results are
gathered back by code with NumPy.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import polars as pl

from mmrwe.io.cohort import LAB_RESULT_DTYPE, LAB_TEST_DTYPE, LAB_UNIT_DTYPE, VALUE_RULE_DTYPE
from mmrwe.io.parse import DECIMAL, TableContext, encode, gather
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
#: "Present" words that also say the M-protein is too small to measure: 0 by electrophoresis
#: (with a positive result). Other present words leave an M-protein quantity missing.
TRACE_WORDS = ("trace", "faint band", "too small to quantify", "not quantifiable")

_BELOW = re.compile(rf"^(?:<=|<|≤)\s*({DECIMAL})$")
_ABOVE = re.compile(rf"^(?:>=|>|≥)\s*({DECIMAL})$")
_PLAIN = re.compile(rf"^{DECIMAL}$")
#: the censored spellings (below, above) as Polars regular expressions, their number captured
_CENSORED = (rf"(?:<=|<|≤)\s*({DECIMAL})", rf"(?:>=|>|≥)\s*({DECIMAL})")

#: Canonical test names, in the order of their text (so that sorting by test sorts as text).
TESTS: tuple[str, ...] = tuple(LAB_TEST_DTYPE.categories.to_list())
TEST_DTYPE = LAB_TEST_DTYPE
UNIT_DTYPE = LAB_UNIT_DTYPE
RULES: tuple[str, ...] = tuple(VALUE_RULE_DTYPE.categories.to_list())
RULE_DTYPE = VALUE_RULE_DTYPE
RESULT_DTYPE = LAB_RESULT_DTYPE

# How a result is written (codes of classify_value's kinds).
NUMBER, BELOW, ABOVE, ABSENT, PRESENT, BAD = range(6)
_KINDS = {"number": NUMBER, "below": BELOW, "above": ABOVE, "absent": ABSENT, "present": PRESENT}
_TEST_CLASS = {t: 0 if t in QUALITATIVE_TESTS else 1 if t in M_PROTEIN_TESTS else 2 for t in TESTS}
QUALITATIVE, M_PROTEIN, OTHER_QUANT = 0, 1, 2


def gather_codes(codes: np.ndarray, table: np.ndarray, missing: object) -> np.ndarray:
    """``table[codes]`` with ``missing`` where ``codes`` is -1."""
    return np.append(table, np.asarray([missing], dtype=table.dtype))[codes]


def enum_series(name: str, codes: np.ndarray, dtype: pl.Enum) -> pl.Series:
    """An Enum column from category indices (-1 for null)."""
    s = pl.Series(name, codes.astype(np.int32)).cast(pl.UInt32, strict=False)
    return s.cat.to(dtype).alias(name)


def unit_key(text: str) -> str:
    """Unit text lower-cased without spaces (``mg/24 h`` → ``mg/24h``, ``percent`` → ``%``)."""
    u = re.sub(r"\s+", "", text.lower())
    u = re.sub(r"^(percent|pct)$", "%", u)
    return re.sub(r"/(24hr?s?|d)$", "/24h", u)


def classify_value(text: str) -> tuple[str, float | None]:
    """How a result is written: (``number``|``below``|``above``|``absent``|``present``|``bad``,
    its number). Numbers must be finite decimals (``NaN``, ``inf``, ``1e400`` are ``bad``)."""
    t = text.strip()
    if _PLAIN.match(t):
        x = float(t)
        return ("number", x) if np.isfinite(x) else ("bad", None)
    for kind, pattern in (("below", _BELOW), ("above", _ABOVE)):
        m = pattern.match(t)
        if m:
            x = float(m.group(1))
            return (kind, x) if np.isfinite(x) else ("bad", None)
    low = t.lower()
    if low in ABSENT_WORDS:
        return "absent", None
    if low in PRESENT_WORDS:
        return "present", None
    return "bad", None


def classify_values(values: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`classify_value` of each of ``values`` (distinct, stripped spellings), as kind codes
    (:data:`NUMBER` ... :data:`BAD`) and numbers (NaN when none), worked out by Polars
    expressions; a spelling with a character outside printable ASCII (``≤0.5``, a non-ASCII
    digit or space) is classified by :func:`classify_value` itself, so both agree exactly."""
    v = pl.col("v")
    low = v.str.to_lowercase()
    plain, below, above = (v.str.extract(f"^{p}$", 1) for p in (f"({DECIMAL})", *_CENSORED))
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String}).select(
        simple=v.str.contains(r"^[\x20-\x7e]*$"),
        kind=pl.when(plain.is_not_null())
        .then(NUMBER)
        .when(below.is_not_null())
        .then(BELOW)
        .when(above.is_not_null())
        .then(ABOVE)
        .when(low.is_in(list(ABSENT_WORDS)))
        .then(ABSENT)
        .when(low.is_in(list(PRESENT_WORDS)))
        .then(PRESENT)
        .otherwise(BAD)
        .cast(pl.Int8),
        x=pl.coalesce(plain, below, above).cast(pl.Float64, strict=False),
    )
    kind = frame["kind"].to_numpy().copy()
    x = frame["x"].fill_null(np.nan).to_numpy().astype(float)
    finite = np.isfinite(x)
    kind[(kind <= ABOVE) & ~finite] = BAD
    x[~finite | (kind > ABOVE)] = np.nan
    for i in np.flatnonzero(~frame["simple"].to_numpy()):
        k, number = classify_value(values[i])
        kind[i], x[i] = _KINDS.get(k, BAD), np.nan if number is None else number
    return kind, x


def canonical_test(name: str) -> str | None:
    """The native test name (case, spaces and hyphens forgiven), or ``None``."""
    key = re.sub(r"[\s\-]+", "_", name.strip().lower())
    return key if key in LAB_TESTS else None


def parse_lab_test(raw: pl.DataFrame, ctx: TableContext) -> np.ndarray:
    """Index into :data:`TESTS` of each row's test (-1 empty, -2 unknown); unknown tests are
    errors naming the accepted ones. Empty tests are errors too."""
    codes, values = encode(raw["test"])
    _report_empty(raw, "test", codes < 0, ctx)
    table = np.array([TESTS.index(t) if (t := canonical_test(v)) else -2 for v in values], np.int8)
    test = gather_codes(codes, table, -1)
    unknown = test == -2
    if unknown.any():
        ctx.rows(
            "unknown_lab_test",
            "test",
            raw.select("__row", gather(codes, pl.Series(values)).alias("v")).filter(
                pl.Series(unknown)
            ),
            "v",
            "the lab test is not one of the native format's tests",
            allowed=", ".join(LAB_TESTS),
        )
    return test


def parse_lab_values(
    raw: pl.DataFrame, test: np.ndarray, ctx: TableContext
) -> dict[str, pl.Series]:
    """Typed lab results from a raw labs chunk and its test indices (empty values are errors).

    Returns the columns ``test, value, result, unit, value_raw, value_rule`` aligned with
    ``raw``; ``value_raw`` is kept only where the value was not a plain number. ``value`` is text
    as written, or typed numbers (:func:`_typed_values`).
    """
    n = raw.height
    # Float32 keeps the text path: its shortest text (0.1) is the number meant, not the nearest
    # double of the float32 (0.10000000149)
    typed = raw.schema["value"].is_numeric() and raw.schema["value"] != pl.Float32
    kind, x, trace, written = (_typed_values if typed else _text_values)(raw, ctx)
    if "unit" in raw.columns:
        ucodes, uvalues = encode(raw["unit"])
        keys = [unit_key(u) for u in uvalues]
    else:
        ucodes, uvalues, keys = np.full(n, -1, np.int32), [], []
    vocab = sorted({u for units in UNIT_FACTORS.values() for u in units})  # includes ""
    unit_id = gather_codes(
        ucodes,
        np.array([vocab.index(k) if k in vocab else -2 for k in keys], np.int8),
        vocab.index(""),
    )
    factors = np.full((len(TESTS) + 2, len(vocab) + 2), np.nan)  # rows/cols -2, -1 stay NaN
    for t, units in UNIT_FACTORS.items():
        for u, f in units.items():
            factors[TESTS.index(t), vocab.index(u)] = f

    tclass = gather_codes(test.clip(-1), np.array([_TEST_CLASS[t] for t in TESTS], np.int8), -1)
    qual, mprot, other = tclass == QUALITATIVE, tclass == M_PROTEIN, tclass == OTHER_QUANT
    quant = mprot | other
    word = (kind == ABSENT) | (kind == PRESENT)
    rule = np.full(n, -1, np.int8)
    rule[quant & (kind == NUMBER)] = RULES.index("number")
    rule[quant & (kind == BELOW)] = RULES.index("below_limit")
    rule[quant & (kind == ABOVE)] = RULES.index("above_limit")
    rule[(qual | mprot) & word] = RULES.index("word")
    number = np.where(quant & ((kind == NUMBER) | (kind == ABOVE) | (kind == BELOW)), x, np.nan)
    number[mprot & ((kind == BELOW) | (kind == ABSENT) | ((kind == PRESENT) & trace))] = 0.0
    unquantified = mprot & (kind == PRESENT) & ~trace  # present, amount unknown: stays NaN
    result = np.where(word & (qual | mprot), np.where(kind == ABSENT, 0, 1), -1)

    value_raw = written(kind != NUMBER).alias("value_raw")
    known = (test >= 0) & (kind >= 0)
    bad = known & (rule < 0)
    negative = number < 0
    factor = factors[test, unit_id]
    missing = quant & (unit_id == vocab.index(""))
    unknown = quant & ~missing & np.isnan(factor)
    frame = pl.DataFrame()
    if bad.any() or negative.any() or missing.any() or unknown.any():
        frame = pl.DataFrame(
            {
                "__row": raw["__row"],
                "value_raw": written(np.ones(n, np.bool_)),
                "test": test,
                "unit_raw": gather(ucodes, pl.Series(uvalues, dtype=pl.String)),
            }
        )
    _report_values(frame, bad, qual, other & word, ctx)
    if negative.any():
        ctx.rows(
            "negative_value",
            "value",
            frame.filter(pl.Series(negative)),
            "value_raw",
            "a laboratory quantity cannot be negative",
            allowed="at least 0",
        )
    for name in ("below_limit", "above_limit", "word"):
        ctx.report.count(f"lab_value:{name}", int((rule == RULES.index(name)).sum()))
    ctx.report.count("lab_value:m_protein_unquantified", int(unquantified.sum()))

    _report_units(frame, missing, unknown, ctx)
    canon_units = sorted(set(LAB_TESTS.values()))
    unit_of_test = np.array([canon_units.index(LAB_TESTS[t]) for t in TESTS], np.int8)
    value = number * factor
    return {
        "test": enum_series("test", test.clip(-1), TEST_DTYPE),
        "value": pl.Series("value", value, nan_to_null=True),
        "result": enum_series("result", result, RESULT_DTYPE),
        "unit": enum_series("unit", gather_codes(test.clip(-1), unit_of_test, -1), UNIT_DTYPE),
        "value_raw": value_raw,
        "value_rule": enum_series("value_rule", rule, RULE_DTYPE),
    }


def _classify(codes: np.ndarray, values: list[str]) -> tuple[np.ndarray, ...]:
    """``kind, x, trace`` of each row from its code into the distinct ``values`` (written text,
    stripped): the rules run once per distinct spelling (:func:`classify_values`)."""
    kinds, numbers = classify_values(values)
    is_trace = pl.Series(values, dtype=pl.String).str.to_lowercase().is_in(list(TRACE_WORDS))
    kind = gather_codes(codes, kinds, -1)
    x = gather_codes(codes, numbers, np.nan)
    trace = gather_codes(codes, is_trace.to_numpy(), False)
    return kind, x, trace


def _text_values(raw: pl.DataFrame, ctx: TableContext) -> tuple[Any, ...]:
    """``kind, x, trace`` of a text ``value`` column, and ``written(mask)``: the text of the
    rows in ``mask`` (null elsewhere), for messages and ``value_raw``."""
    codes, values = encode(raw["value"])
    _report_empty(raw, "value", codes < 0, ctx)
    text = pl.Series(values, dtype=pl.String)

    def written(mask: np.ndarray) -> pl.Series:
        return gather(np.where(mask, codes, -1), text)

    return (*_classify(codes, values), written)


#: An in-memory extract's column of the results that are not plain numbers (censored numbers
#: ``<0.1``, words), beside a numeric ``value`` (:func:`_typed_values`)
VALUE_TEXT = "__value_text"


def _typed_values(raw: pl.DataFrame, ctx: TableContext) -> tuple[Any, ...]:
    """:func:`_text_values` of a numeric ``value`` column (a typed Parquet or DuckDB column, or
    an in-memory extract such as an OMOP CDM's): every number is read as written, no text round
    trip; a non-finite number is an error. An in-memory extract gives the rows that are not plain
    numbers as text in :data:`VALUE_TEXT` (value null), read by the text rules."""
    n = raw.height
    number = raw["value"].cast(pl.Float64)
    words = (
        raw[VALUE_TEXT]
        if VALUE_TEXT in raw.columns and ctx.source.kind == "frames"
        else pl.Series(VALUE_TEXT, [None] * n, pl.String)
    )
    codes, values = encode(words)
    kind_t, x_t, trace = _classify(codes, values)
    xn = number.to_numpy(allow_copy=True).astype(float)
    has_num = number.is_not_null().to_numpy()
    finite = np.isfinite(xn)
    worded = codes >= 0
    _report_empty(raw, "value", ~worded & ~has_num, ctx)
    kind = np.where(worded, kind_t, np.where(has_num, np.where(finite, NUMBER, BAD), -1)).astype(
        np.int8
    )
    x = np.where(worded, x_t, np.where(has_num & finite, xn, np.nan))
    text = pl.Series(values, dtype=pl.String)

    def written(mask: np.ndarray) -> pl.Series:
        out = gather(np.where(mask, codes, -1), text)
        numbers = np.flatnonzero(mask & ~worded & has_num)
        if numbers.size:  # error messages only: the numbers as text
            out = out.scatter(numbers, pl.Series(xn[numbers]).cast(pl.String))
        return out

    return kind, x, trace, written


def _report_empty(raw: pl.DataFrame, col: str, empty: np.ndarray, ctx: TableContext) -> None:
    if empty.any():
        ctx.rows(
            "empty_value",
            col,
            raw.select("__row").filter(pl.Series(empty)),
            None,
            f"the required value '{col}' is empty",
            col=col,
        )


def _report_values(
    frame: pl.DataFrame, bad: np.ndarray, qual: np.ndarray, word: np.ndarray, ctx: TableContext
) -> None:
    """Errors for results no documented rule reads."""
    for mask, what, expected in (
        (
            bad & qual,
            "a qualitative result must be positive or negative",
            "positive or negative (accepted words: "
            + ", ".join(ABSENT_WORDS + PRESENT_WORDS)
            + ")",
        ),
        (
            bad & word,
            "a word is read only for M-protein and qualitative tests; a free light chain or "
            "marrow plasma-cell result must be a number or a censored number",
            "the measured number, or '<x' with the limit of detection (e.g. '<0.5')",
        ),
        (
            bad & ~qual & ~word,
            "the result is neither a finite number, a censored number (<0.1) nor a known word",
            "a number with a decimal point (e.g. 0.5), '<0.1', or 'not detected'",
        ),
    ):
        if mask.any():
            ctx.rows(
                "bad_lab_value",
                "value",
                frame.filter(pl.Series(mask)),
                "value_raw",
                what,
                expected=expected,
            )


def _report_units(
    frame: pl.DataFrame, missing: np.ndarray, unknown: np.ndarray, ctx: TableContext
) -> None:
    """Errors for quantitative results without a unit, or with a unit not accepted."""
    if missing.any():
        ctx.rows(
            "missing_unit",
            "unit",
            frame.filter(pl.Series(missing)).with_columns(
                pl.col("test").replace_strict(dict(enumerate(TESTS)), return_dtype=pl.String)
            ),
            "test",
            "the unit is missing for a quantitative test",
        )
    if not unknown.any():
        return
    sub = frame.filter(pl.Series(unknown))
    for t in sorted(sub["test"].unique().to_list()):
        test = TESTS[t]
        ctx.rows(
            "unknown_unit",
            "unit",
            sub.filter(pl.col("test") == t),
            "unit_raw",
            f"the unit is not one accepted for {test}",
            allowed=" or ".join(_accepted_units()[test]),
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
