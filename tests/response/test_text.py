"""The compiled text assembly of the reasons (``mmrwe.response.text``) against plain Python."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from mmrwe.response import text as T


def rows(piece: T.Piece) -> list[str | None]:
    """Each row's text of one piece, or None where it has none."""
    table = list(piece.table) if not isinstance(piece.table, list) else piece.table
    return [None if k < 0 else table[k] for k in piece.index.tolist()]


def test_numbers_round_half_to_even_and_skip_missing() -> None:
    x = np.array([1.234, np.nan, 2.0, 0.125, np.inf, 1.234, 0.375, 3.0])
    mask = np.array([True, True, True, True, True, True, True, False])
    got = rows(T.numbers(x, 2, "; M ", " g/dL", mask=mask))
    assert got == [
        "; M 1.23 g/dL",
        None,  # NaN
        "; M 2.0 g/dL",
        "; M 0.12 g/dL",  # 12.5 hundredths: half to even
        None,  # infinite
        "; M 1.23 g/dL",
        "; M 0.38 g/dL",  # 37.5 hundredths: half to even
        None,  # masked
    ]


def test_numbers_integers_and_series_with_nulls() -> None:
    got = rows(T.numbers(pl.Series([40.0, None, 1499.5, 0.4]), 0, "urine ", " mg"))
    assert got == ["urine 40 mg", None, "urine 1500 mg", "urine 0 mg"]


def test_numbers_too_wide_for_a_presence_map_are_sorted() -> None:
    """A range over 50 million steps takes the sorting path; the text is the same."""
    x = np.array([1e6, 0.0, np.nan, 1e6, 12.5])
    assert rows(T.numbers(x, 2)) == ["1000000.0", "0.0", None, "1000000.0", "12.5"]


def test_dates_where_masked() -> None:
    days = np.array([0, 18_262, 18_262, 5])
    got = rows(T.dates(days, " from ", np.array([True, True, False, True])))
    assert got == [" from 1970-01-01", " from 2020-01-01", None, " from 1970-01-06"]


@pytest.mark.parametrize("n", [1, 7, 5_000])
def test_join_groups_matches_python_join(n: int) -> None:
    """Rows of two groups interleaved; pieces shorter and longer than a word of 8 bytes and
    multi-byte characters; a row of no group is empty."""
    rng = np.random.default_rng(n)
    words = ["", "κ/λ", "≥ 90 % down", "a", "; serum M 0.25 g/dL, 84 % below baseline 1.59", "ab"]
    positions = rng.permutation(n + 1)
    first, second = positions[: n // 2], positions[n // 2 : n]  # the last position: no group
    groups = []
    for pos in (first, second):
        pieces = [
            T.Piece(words, rng.integers(-1, len(words), pos.size).astype(np.int32))
            for _ in range(4)
        ]
        groups.append((pieces, pos))
    got = T.join_groups(n + 1, groups).to_list()
    want = [""] * (n + 1)
    for pieces, pos in groups:
        for r, p in enumerate(pos.tolist()):
            want[p] = "".join(words[piece.index[r]] for piece in pieces if piece.index[r] >= 0)
    assert got == want
