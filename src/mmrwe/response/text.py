"""Text columns of millions of rows, assembled from small tables.

A reason is a row of *pieces* (a label with a number, a word chosen by a code); each piece is an
index into a small table of strings (every rounded value in the data's range, every code).
:func:`join_pieces` copies the chosen strings of each row into one Arrow string array in a
compiled loop: formatting and concatenating each row with column expressions costs several times
more on millions of rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa
from numba import njit


@dataclass
class Piece:
    """One piece of text per row: ``table[index]``, nothing where ``index`` is -1."""

    table: pl.Series | list[str]
    index: np.ndarray


def none(n: int) -> Piece:
    return Piece([], np.full(n, -1, np.int32))


def numbers(
    values: pl.Series | np.ndarray,
    digits: int,
    prefix: str = "",
    suffix: str = "",
    mask: np.ndarray | None = None,
) -> Piece:
    """``prefix`` + the number rounded to ``digits`` (0: an integer) + ``suffix``; nothing where
    the value is null, NaN or infinite or ``mask`` is false."""
    arr = values.cast(pl.Float64).to_numpy() if isinstance(values, pl.Series) else values
    return present(arr, float(10**digits), mask, lambda grid: _format(grid, digits, prefix, suffix))


def present(
    values: np.ndarray,
    scale: float,
    mask: np.ndarray | None,
    format_grid: Callable[[np.ndarray], pl.Series],
) -> Piece:
    """A table of the distinct values of ``values * scale`` rounded to integers (NaN, infinite
    or masked out: absent), formatted by ``format_grid``, and each row's index into it (one
    compiled pass; a presence map over the range, no sort)."""
    x = np.ascontiguousarray(values, dtype=np.float64)
    keep = np.ones(0, np.bool_) if mask is None else np.ascontiguousarray(mask, dtype=np.bool_)
    index, grid, wide = _grid_index(x, scale, keep, mask is not None, 50_000_000)
    if wide:  # too wide for a presence map: sort
        ok = index >= 0
        grid, inverse = np.unique(np.rint(x[ok] * scale).astype(np.int64), return_inverse=True)
        index[ok] = inverse.astype(np.int32)
    if grid.size == 0:
        return none(x.size)
    return Piece(format_grid(grid), index)


@njit(cache=True, nogil=True)
def _grid_index(x, scale, mask, use_mask, widest):
    """Row index into the sorted distinct integers ``rint(x * scale)`` of the kept rows (-1
    elsewhere) and those integers; when their range exceeds ``widest``, the index only marks
    kept rows (0) and the third value is True (the caller sorts instead)."""
    n = x.size
    index = np.full(n, -1, np.int32)
    lo = np.int64(0)
    hi = np.int64(0)
    found = False
    for i in range(n):
        v = np.rint(x[i] * scale)
        if np.isfinite(v) and (not use_mask or mask[i]):
            k = np.int64(v)
            index[i] = 0
            if not found:
                lo = k
                hi = k
                found = True
            elif k < lo:
                lo = k
            elif k > hi:
                hi = k
    if not found:
        return index, np.zeros(0, np.int64), False
    if hi - lo > widest:
        return index, np.zeros(0, np.int64), True
    lookup = np.zeros(hi - lo + 1, np.int32)
    for i in range(n):
        if index[i] == 0:
            lookup[np.int64(np.rint(x[i] * scale)) - lo] = 1
    m = 0
    for j in range(lookup.size):
        if lookup[j]:
            lookup[j] = m
            m += 1
        else:
            lookup[j] = -1
    grid = np.empty(m, np.int64)
    for j in range(lookup.size):
        if lookup[j] >= 0:
            grid[lookup[j]] = lo + j
    for i in range(n):
        if index[i] == 0:
            index[i] = lookup[np.int64(np.rint(x[i] * scale)) - lo]
    return index, grid, False


def _format(grid: np.ndarray, digits: int, prefix: str, suffix: str) -> pl.Series:
    s = pl.Series(grid)
    text = s.cast(pl.String) if digits == 0 else (s / 10**digits).round(digits).cast(pl.String)
    return pl.select(pl.concat_str([pl.lit(prefix), pl.lit(text), pl.lit(suffix)])).to_series()


def codes(code: np.ndarray, texts: dict[int, str | None]) -> Piece:
    """The text of each integer code; nothing for codes not in ``texts`` (or mapped to None)."""
    lo, hi = min(texts), max(texts)
    table = [texts.get(k) or "" for k in range(lo, hi + 1)]
    ok = (code >= lo) & (code <= hi)
    return Piece(table, np.where(ok, code - lo, -1).astype(np.int32))


def dates(days: np.ndarray, prefix: str, mask: np.ndarray) -> Piece:
    """``prefix`` + ISO date of integer days since 1970-01-01, where ``mask``."""

    def iso(grid: np.ndarray) -> pl.Series:
        text = pl.Series(grid).cast(pl.Date).cast(pl.String)
        return pl.select(pl.concat_str([pl.lit(prefix), pl.lit(text)])).to_series()

    return present(days, 1.0, mask, iso)


def join_pieces(pieces: list[Piece]) -> pl.Series:
    """One string per row: the row's pieces in order."""
    return join_groups(pieces[0].index.size, [(pieces, None)])


def join_groups(n: int, groups: list[tuple[list[Piece], np.ndarray | None]]) -> pl.Series:
    """``n`` strings; each group of pieces fills the rows at its ``positions`` (all rows when
    None), its pieces in order. Rows of no group are empty strings."""
    tables = [pl.Series(piece.table, dtype=pl.String) for pieces, _ in groups for piece in pieces]
    starts, ends, data = _utf8(pl.concat(tables).fill_null(""))
    bases = np.cumsum([0] + [table.len() for table in tables]).astype(np.int64)
    size = np.zeros(n, np.int64)
    prepared, k = [], 0
    for pieces, positions in groups:
        rows = pieces[0].index.size
        pos = np.arange(rows, dtype=np.int64) if positions is None else positions.astype(np.int64)
        index = tuple(piece.index.astype(np.int32, copy=False) for piece in pieces)  # no copy
        base = bases[k : k + len(pieces)]
        k += len(pieces)
        _size(index, base, starts, ends, pos, size)
        prepared.append((index, base, pos))
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(size, out=offsets[1:])
    out = np.empty(max(int(offsets[n]), 1), np.uint8)
    for index, base, pos in prepared:
        _copy(index, base, starts, ends, data, pos, offsets, out)
    array = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(out))
    return pl.Series(pl.from_arrow(array))


def _utf8(table: pl.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start and end byte of each string of ``table`` in one UTF-8 buffer, and the buffer
    (followed by 8 spare bytes, so that :func:`_copy` may read whole words)."""
    array = table.to_arrow()
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    array = array.cast(pa.large_string())
    _, offsets, data = array.buffers()
    offsets = np.frombuffer(offsets, np.int64)[array.offset : array.offset + len(array) + 1]
    data = np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)
    return offsets[:-1].copy(), offsets[1:].copy(), np.concatenate([data, np.zeros(8, np.uint8)])


@njit(cache=True, nogil=True)
def _size(index, base, start, end, pos, size):
    """Add each row's piece lengths to ``size`` at its position (``index``: a tuple of one index
    array per piece; piece by piece). Serial: partitions already run two at a time in threads,
    and a parallel region per piece cost ten times the CPU on a busy machine."""
    for p in range(len(index)):
        piece = index[p]
        for r in range(piece.size):
            k = piece[r]
            if k >= 0:
                size[pos[r]] += end[base[p] + k] - start[base[p] + k]


@njit(cache=True, nogil=True)
def _copy(index, base, start, end, data, pos, offsets, out):
    """Copy each row's pieces to ``out`` from its offset, row by row (serial, as :func:`_size`).

    Bytes move in words of 8: a piece's last word may run past the piece into the rest of its
    own row, which the row's next pieces overwrite (rows are written piece by piece in order);
    only where a word would cross the row's end are the last bytes copied one by one.
    """
    for r in range(pos.size):
        c = offsets[pos[r]]
        stop = offsets[pos[r] + 1]
        for p in range(len(index)):
            k = index[p][r]
            if k < 0:
                continue
            k += base[p]
            s = start[k]
            e = end[k]
            while s < e:
                if c + 8 <= stop:
                    for j in range(8):
                        out[c + j] = data[s + j]
                    step = min(8, e - s)
                else:
                    step = e - s
                    for j in range(step):
                        out[c + j] = data[s + j]
                c += step
                s += step
