"""Properties of small-cell protection on random tables (hypothesis).

After ``protect``: no suppressed count can be recovered (checked by ``recoverable_cells`` and,
on one-row tables, by enumerating every whole-number table consistent with what is published);
published numbers are the true counts; every count 1..threshold-1 is hidden; zeros are shown.
"""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmrwe.errors import MmrweError
from mmrwe.privacy import WITHHELD, RowSum, Sum, protect, recoverable_cells

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)

#: counts with many small values, zeros and a few large ones
count = st.one_of(st.integers(0, 12), st.integers(0, 60))


def check_published(df: pl.DataFrame, out: pl.DataFrame, counts: list[str], threshold: int) -> None:
    for c in counts:
        for true, shown in zip(df[c].to_list(), out[c].to_list(), strict=True):
            if 1 <= true < threshold:
                assert shown == f"<{threshold}"
            elif shown == WITHHELD:
                assert true >= threshold
            else:
                assert shown == str(true)


def fully_hidden(df: pl.DataFrame, counts: list[str], threshold: int) -> pl.DataFrame:
    """Every non-zero count hidden: the most protect can do without hiding zeros."""
    return df.with_columns(
        pl.when(pl.col(c) == 0)
        .then(pl.lit("0"))
        .when(pl.col(c) < threshold)
        .then(pl.lit(f"<{threshold}"))
        .otherwise(pl.lit(WITHHELD))
        .alias(c)
        for c in counts
    )


def protect_or_prove_impossible(
    df: pl.DataFrame, counts: list[str], relations: list, threshold: int
) -> pl.DataFrame | None:
    """``protect``; when it refuses, check that hiding every non-zero count still leaks (the
    zeros and the small counts' lower bound of 1 pin them: 1 + 1 + 1 = <4 is 3 ones)."""
    try:
        return protect(df, counts, threshold=threshold, relations=relations)
    except MmrweError:
        hidden = fully_hidden(df, counts, threshold)
        assert recoverable_cells(hidden, counts, relations, threshold=threshold) != []
        return None


@st.composite
def row_tables(draw: st.DrawFn) -> tuple[pl.DataFrame, list, int]:
    """Rows of parts with their total, and optionally a sub-total of the first parts."""
    n_parts = draw(st.integers(2, 6))
    rows = draw(st.integers(1, 3))
    parts = [f"p{i}" for i in range(n_parts)]
    data = {p: [draw(count) for _ in range(rows)] for p in parts}
    data["total"] = [sum(data[p][r] for p in parts) for r in range(rows)]
    relations = [Sum("total", tuple(parts))]
    if draw(st.booleans()) and n_parts > 2:
        k = draw(st.integers(2, n_parts - 1))
        data["sub"] = [sum(data[p][r] for p in parts[:k]) for r in range(rows)]
        relations.append(Sum("sub", tuple(parts[:k])))
    return pl.DataFrame(data), relations, draw(st.sampled_from([3, 5, 11]))


@given(row_tables())
@SETTINGS
def test_row_sums_are_protected(case: tuple[pl.DataFrame, list, int]) -> None:
    df, relations, threshold = case
    counts = df.columns
    out = protect_or_prove_impossible(df, counts, relations, threshold)
    if out is None:
        return
    assert recoverable_cells(out, counts, relations, threshold=threshold) == []
    check_published(df, out, counts, threshold)


@st.composite
def two_way_tables(draw: st.DrawFn) -> tuple[pl.DataFrame, list, int]:
    """Levels x groups with the group sizes (row 'all') and a Total column: a Table 1."""
    n_levels = draw(st.integers(2, 4))
    groups = [f"g{i}" for i in range(draw(st.integers(2, 3)))]
    cells = {g: [draw(count) for _ in range(n_levels)] for g in groups}
    data = {"level": ["all", *[f"l{i}" for i in range(n_levels)]]}
    for g in groups:
        data[g] = [sum(cells[g]), *cells[g]]
    data["Total"] = [sum(data[g][r] for g in groups) for r in range(n_levels + 1)]
    columns = (*groups, "Total")
    relations = [
        RowSum(columns, "level", "all", tuple(data["level"][1:])),
        Sum("Total", tuple(groups)),
    ]
    return pl.DataFrame(data), relations, draw(st.sampled_from([3, 11]))


@given(two_way_tables())
@SETTINGS
def test_two_way_tables_are_protected(case: tuple[pl.DataFrame, list, int]) -> None:
    df, relations, threshold = case
    counts = [c for c in df.columns if c != "level"]
    out = protect_or_prove_impossible(df, counts, relations, threshold)
    if out is None:
        return
    assert recoverable_cells(out, counts, relations, threshold=threshold) == []
    check_published(df, out, counts, threshold)


def feasible_values(published: list[str], threshold: int, cap: int) -> list[set[int]]:
    """Every value each cell of 'total, parts...' takes over all whole-number tables that match
    the published cells and add up (brute force; withheld counts searched up to ``cap``)."""
    choices = []
    for shown in published:
        if shown == f"<{threshold}":
            choices.append(range(1, threshold))
        elif shown == WITHHELD:
            choices.append(range(threshold, cap + 1))
        else:
            choices.append(range(int(shown), int(shown) + 1))
    grid = np.array(list(itertools.product(*choices)))
    ok = grid[:, 0] == grid[:, 1:].sum(axis=1)
    return [set(grid[ok, j].tolist()) for j in range(len(published))]


@given(st.lists(st.integers(0, 9), min_size=2, max_size=4))
@settings(max_examples=80, deadline=None, derandomize=True)
def test_one_row_against_brute_force(parts: list[int]) -> None:
    threshold = 4
    names = [f"p{i}" for i in range(len(parts))]
    df = pl.DataFrame(
        {"total": [sum(parts)], **{n: [v] for n, v in zip(names, parts, strict=True)}}
    )
    cap = 2 * sum(parts) + threshold
    try:
        out = protect(df, df.columns, threshold=threshold, relations=[Sum("total", tuple(names))])
    except MmrweError:  # every non-zero count hidden still pins one: brute force agrees
        values = feasible_values(
            list(fully_hidden(df, df.columns, threshold).row(0)), threshold, cap
        )
        assert any(len(seen) == 1 for seen, v in zip(values, df.row(0), strict=True) if v > 0)
        return
    published = list(out.row(0))
    values = feasible_values(published, threshold, cap)
    for shown, seen in zip(published, values, strict=True):
        if shown in (f"<{threshold}", WITHHELD):
            assert len(seen) >= 2, (published, seen)


@given(
    st.lists(st.integers(0, 9), min_size=2, max_size=4),
    st.lists(st.booleans(), min_size=5, max_size=5),
)
@settings(max_examples=80, deadline=None, derandomize=True)
def test_verifier_agrees_with_brute_force(parts: list[int], hide: list[bool]) -> None:
    """On any pattern of hidden cells (not only protect's), ``recoverable_cells`` finds exactly
    the cells brute force pins down (one sum: the linear programme is exact)."""
    threshold = 4
    true = [sum(parts), *parts]
    published = [
        f"<{threshold}" if 1 <= v < threshold else WITHHELD if (h and v >= threshold) else str(v)
        for v, h in zip(true, hide, strict=False)
    ]
    names = ["total", *[f"p{i}" for i in range(len(parts))]]
    df = pl.DataFrame({n: [s] for n, s in zip(names, published, strict=True)})
    found = recoverable_cells(df, names, [Sum("total", tuple(names[1:]))], threshold=threshold)
    values = feasible_values(published, threshold, cap=2 * sum(parts) + threshold)
    hidden = [i for i, s in enumerate(published) if not s.isdigit()]
    pinned = {names[i]: next(iter(values[i])) for i in hidden if len(values[i]) == 1}
    assert {r.column: r.value for r in found} == pinned
    for name, value in pinned.items():
        assert value == true[names.index(name)]
