"""Checking and coercing the inputs of the survival estimators.

Every bad value raises :class:`~mmrwe.errors.InvalidDataError` naming the column, the first
bad row (counted from 1, header excluded) and the fix; further bad rows are counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from mmrwe.errors import InvalidDataError

#: Spellings accepted for an event indicator (case-insensitive for strings).
EVENT_TRUE = frozenset({"1", "true", "1.0"})
EVENT_FALSE = frozenset({"0", "false", "0.0"})


def as_series(values: Any, name: str) -> pl.Series:
    """``values`` as a Polars Series; a Series keeps its own name (the column in messages)."""
    if isinstance(values, pl.Series):
        return values if values.name else values.alias(name)
    return pl.Series(name, values if isinstance(values, np.ndarray | Sequence) else list(values))


def _fail(column: str, bad: np.ndarray, values: pl.Series, what: str, fix: str) -> None:
    rows = np.flatnonzero(bad)
    first = int(rows[0])
    value = values[first]
    more = f" ({rows.size - 1} more such rows)" if rows.size > 1 else ""
    raise InvalidDataError(
        f"Column '{column}', row {first + 1} (value {value!r}): {what}{more}. {fix}"
    )


def check_times(values: Any, name: str = "time", *, role: str = "time") -> np.ndarray:
    """Non-negative finite times as float64 (or int64 when every value is an integer type)."""
    s = as_series(values, name)
    if not (s.dtype.is_numeric() or s.dtype == pl.Null):
        cast = s.cast(pl.Float64, strict=False)
        bad = (cast.is_null() & s.is_not_null()).to_numpy()
        if bad.any():
            _fail(s.name, bad, s, f"the {role} is not a number", f"Give {role}s as numbers.")
        s = cast
    missing = s.is_null().to_numpy()
    if s.dtype.is_float():
        missing |= s.is_nan().fill_null(False).to_numpy()
    if missing.any():
        _fail(s.name, missing, s, f"the {role} is missing", f"Fill in the {role} or drop the row.")
    arr = s.to_numpy()
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        _fail(s.name, ~np.isfinite(arr), s, f"the {role} is infinite", f"Give finite {role}s.")
    negative = arr < 0
    if negative.any():
        _fail(s.name, negative, s, f"the {role} is negative", f"{role.capitalize()}s must be >= 0.")
    if arr.dtype.kind in "iub":
        return arr.astype(np.int64, copy=False)
    return arr.astype(np.float64, copy=False)


def check_events(values: Any, name: str = "event") -> np.ndarray:
    """Event indicator as bool: 1/0, true/false (also as text); anything else is an error."""
    s = as_series(values, name)
    if s.dtype == pl.Boolean:
        if s.null_count():
            _fail(s.name, s.is_null().to_numpy(), s, "the event code is missing", _EVENT_FIX)
        return s.to_numpy().astype(bool, copy=False)
    if s.dtype.is_numeric():
        arr = s.to_numpy()
        bad = s.is_null().to_numpy() | ~np.isin(arr, (0, 1))
        if bad.any():
            _fail(s.name, bad, s, "the event code is not 0/1 or true/false", _EVENT_FIX)
        return arr == 1
    text = s.cast(pl.String).str.strip_chars().str.to_lowercase()
    is_true = text.is_in(list(EVENT_TRUE)).fill_null(False).to_numpy()
    is_false = text.is_in(list(EVENT_FALSE)).fill_null(False).to_numpy()
    bad = ~(is_true | is_false)
    if bad.any():
        _fail(s.name, bad, s, "the event code is not 0/1 or true/false", _EVENT_FIX)
    return is_true


_EVENT_FIX = "Code the event as 1 (event) or 0 (censored), or true/false."


def check_weights(values: Any, n: int, name: str = "weights") -> np.ndarray | None:
    """Case weights: finite, >= 0; ``None`` stays ``None``."""
    if values is None:
        return None
    w = check_times(values, name, role="weight").astype(np.float64)
    _check_length(w, n, name)
    return w


def check_entry(values: Any, time: np.ndarray, name: str = "entry") -> np.ndarray | None:
    """Delayed-entry times: >= 0 and strictly before the exit time (R: start < stop)."""
    if values is None:
        return None
    s = as_series(values, name)
    entry = check_times(s, s.name, role="entry time")
    _check_length(entry, time.size, s.name)
    late = entry >= time
    if late.any():
        _fail(
            s.name,
            late,
            s,
            "the entry time is not before the exit time",
            "Entry (left truncation) must be strictly earlier than the event/censoring time.",
        )
    return entry


def check_groups(values: Any, n: int, name: str = "group") -> tuple[np.ndarray, list[Any]]:
    """Integer group codes 0..G-1 and the sorted group labels; ``None`` means one group."""
    if values is None:
        return np.zeros(n, dtype=np.int64), [None]
    s = as_series(values, name)
    _check_length(s, n, s.name)
    if s.null_count():
        _fail(
            s.name,
            s.is_null().to_numpy(),
            s,
            "the group is missing",
            "Fill in the group or drop rows with a missing group.",
        )
    if s.dtype.is_integer():
        arr = s.to_numpy()
        lo, hi = int(arr.min()), int(arr.max())
        if hi - lo < 1_000_000:  # small integer codes: count instead of sorting
            present = np.flatnonzero(np.bincount(arr - lo if lo else arr))
            lut = np.full(hi - lo + 1, -1, dtype=np.int64)
            lut[present] = np.arange(present.size)
            return lut[arr - lo if lo else arr], [int(v) + lo for v in present]
    labels = s.unique().sort().to_list()
    codes = s.replace_strict(labels, list(range(len(labels))), return_dtype=pl.Int64)
    return codes.to_numpy(), labels


def _check_length(arr: Any, n: int, name: str) -> None:
    if len(arr) != n:
        raise InvalidDataError(
            f"Column '{name}' has {len(arr)} values but the times have {n}; "
            "pass columns of the same table."
        )
