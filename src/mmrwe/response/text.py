"""Text columns of millions of rows, assembled from small tables.

A reason is a row of *pieces* (a label with a number, a word chosen by a code); each piece is an
index into a small table of strings (every rounded value in the data's range, every code).
:func:`join_pieces` copies the chosen strings of each row into one Arrow string array in a
compiled loop: formatting and concatenating each row with column expressions costs several times
more on millions of rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa
from numba import njit, prange


@dataclass
class Piece:
    """One piece of text per row: ``table[index]``, nothing where ``index`` is -1."""

    table: pl.Series | list[str]
    index: np.ndarray


def none(n: int) -> Piece:
    return Piece([], np.full(n, -1, np.int64))


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
    with np.errstate(invalid="ignore"):
        scaled = np.round(np.asarray(arr, dtype=np.float64) * 10**digits)
    ok = np.isfinite(scaled) if mask is None else np.isfinite(scaled) & mask
    if not ok.any():
        return none(scaled.size)
    return _present(
        np.where(ok, scaled, np.nan), lambda grid: _format(grid, digits, prefix, suffix)
    )


def _present(scaled: np.ndarray, format_grid) -> Piece:
    """A table of the integer values present in ``scaled`` (NaN: absent), formatted by
    ``format_grid``, and each row's index into it (no sort: a presence map over the range)."""
    ok = np.isfinite(scaled)
    if not ok.any():
        return none(scaled.size)
    values = scaled[ok].astype(np.int64)
    lo = int(values.min())
    index = np.full(scaled.size, -1, np.int64)
    if int(values.max()) - lo > 50_000_000:  # too wide for a presence map: sort
        grid, index[ok] = np.unique(values, return_inverse=True)
        return Piece(format_grid(grid), index)
    present = np.zeros(int(values.max()) - lo + 1, np.bool_)
    present[values - lo] = True
    grid = np.flatnonzero(present) + lo
    lookup = np.cumsum(present) - 1
    index[ok] = lookup[values - lo]
    return Piece(format_grid(grid), index)


def _format(grid: np.ndarray, digits: int, prefix: str, suffix: str) -> pl.Series:
    s = pl.Series(grid)
    text = s.cast(pl.String) if digits == 0 else (s / 10**digits).round(digits).cast(pl.String)
    return pl.select(pl.concat_str([pl.lit(prefix), pl.lit(text), pl.lit(suffix)])).to_series()


def codes(code: np.ndarray, texts: dict[int, str | None]) -> Piece:
    """The text of each integer code; nothing for codes not in ``texts`` (or mapped to None)."""
    lo, hi = min(texts), max(texts)
    table = [texts.get(k) or "" for k in range(lo, hi + 1)]
    ok = (code >= lo) & (code <= hi)
    return Piece(table, np.where(ok, code - lo, -1).astype(np.int64))


def dates(days: np.ndarray, prefix: str, mask: np.ndarray) -> Piece:
    """``prefix`` + ISO date of integer days since 1970-01-01, where ``mask``."""

    def iso(grid: np.ndarray) -> pl.Series:
        text = pl.Series(grid).cast(pl.Date).cast(pl.String)
        return pl.select(pl.concat_str([pl.lit(prefix), pl.lit(text)])).to_series()

    return _present(np.where(mask, days, np.nan), iso)


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
        index = tuple(piece.index.astype(np.int64, copy=False) for piece in pieces)  # no copy
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
    """Start and end byte of each string of ``table`` in one UTF-8 buffer, and the buffer."""
    array = table.to_arrow()
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    array = array.cast(pa.large_string())
    _, offsets, data = array.buffers()
    offsets = np.frombuffer(offsets, np.int64)[array.offset : array.offset + len(array) + 1]
    data = (
        np.frombuffer(data, np.uint8) if data is not None and data.size else np.zeros(1, np.uint8)
    )
    return offsets[:-1].copy(), offsets[1:].copy(), data


@njit(cache=True, parallel=True)
def _size(index, base, start, end, pos, size):
    """Add each row's piece lengths to ``size`` at its position (``index``: a tuple of one index
    array per piece; piece by piece, rows in parallel)."""
    for p in range(len(index)):
        piece = index[p]
        for r in prange(piece.size):
            k = piece[r]
            if k >= 0:
                size[pos[r]] += end[base[p] + k] - start[base[p] + k]


@njit(cache=True, parallel=True)
def _copy(index, base, start, end, data, pos, offsets, out):
    """Copy each row's pieces to ``out`` from its offset, in blocks of rows (in parallel): within
    a block piece by piece, so that each piece's index array is fetched once per block and the
    writes stay in the block's stretch of ``out``."""
    n = pos.size
    block = 4096
    for b in prange((n + block - 1) // block):
        lo = b * block
        hi = min(n, lo + block)
        cursor = np.empty(hi - lo, np.int64)
        for r in range(lo, hi):
            cursor[r - lo] = offsets[pos[r]]
        for p in range(len(index)):
            piece = index[p]
            first = base[p]
            for r in range(lo, hi):
                k = piece[r]
                if k >= 0:
                    k += first
                    c = cursor[r - lo]
                    for j in range(start[k], end[k]):
                        out[c] = data[j]
                        c += 1
                    cursor[r - lo] = c
