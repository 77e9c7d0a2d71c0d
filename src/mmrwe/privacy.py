"""Small-cell suppression with complementary protection for aggregate outputs (docs/privacy.md).

Counts from 1 to ``threshold - 1`` (CMS cell-size suppression policy: 11) are published as the
text ``<11`` (primary suppression). A table declares its additive structure — which counts are
sums of which — and further cells are withheld (complementary suppression, written
``withheld``) until no suppressed count can be recovered from the published ones: neither by
solving one relation, nor by the linear system of all relations, nor by the bounds a reader
knows (``<11`` means 1..10; a withheld count is at least the threshold). Rates derived from a
withheld count are withheld too (null). ``threshold=0`` turns suppression off.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import polars as pl

from mmrwe.errors import InvalidDataError, MmrweError, check_parameter

#: The small-cell threshold of every aggregate output and figure unless a study sets its own
#: (``[study] small_cell_threshold``): counts from 1 to 10 are not published (CMS cell-size
#: suppression policy, 11).
SMALL_CELL_THRESHOLD = 11

#: Text of a count withheld so that a small count cannot be recovered (complementary cell).
WITHHELD = "withheld"

Cell = tuple[int, str]  # (row index, count column)


@dataclass(frozen=True)
class Relation:
    """One additive relation between cells: ``total`` = sum of ``parts``."""

    total: Cell
    parts: tuple[Cell, ...]

    def expand(self, df: pl.DataFrame) -> list[Relation]:
        return [self]


@dataclass(frozen=True)
class Sum:
    """In every row, column ``total`` is the sum of columns ``parts`` (e.g. N = nCR + nPR + …).

    Rows where any of these cells is null are skipped (the relation does not apply there).
    """

    total: str
    parts: tuple[str, ...]

    def expand(self, df: pl.DataFrame) -> list[Relation]:
        cols = [self.total, *self.parts]
        present = df.select(pl.all_horizontal(pl.col(cols).is_not_null()))
        rows = np.flatnonzero(present.to_series().to_numpy())
        return [Relation((r, self.total), tuple((r, p) for p in self.parts)) for r in rows]


@dataclass(frozen=True)
class RowSum:
    """Across rows, in each of ``columns``: the row whose ``key`` is ``total`` holds the sum of
    the rows whose ``key`` is one of ``parts`` (e.g. the 'Patients' row = the sum of the levels
    of 'Sex'). With ``by``, one relation per set of rows sharing the ``by`` columns; a set
    without a total row or without part rows is skipped."""

    columns: tuple[str, ...]
    key: str
    total: str
    parts: tuple[str, ...]
    by: tuple[str, ...] = ()

    def expand(self, df: pl.DataFrame) -> list[Relation]:
        indexed = df.with_row_index("_row").filter(
            pl.col(self.key).is_in([self.total, *self.parts])
        )
        groups = (
            indexed.group_by(list(self.by), maintain_order=True) if self.by else [((), indexed)]
        )
        out = []
        for _, sub in groups:
            is_total = (sub[self.key] == self.total).to_numpy()
            totals, parts = sub["_row"].to_numpy()[is_total], sub["_row"].to_numpy()[~is_total]
            if totals.size > 1:
                raise ValueError(f"RowSum: {totals.size} rows have {self.key} = {self.total!r}")
            if totals.size == 0 or parts.size == 0:
                continue
            for c in self.columns:
                out.append(Relation((int(totals[0]), c), tuple((int(p), c) for p in parts)))
        return out


@dataclass(frozen=True)
class Same:
    """Column ``column`` repeats one count on every row sharing ``by`` (e.g. a group's size on
    each of its rows): withheld on one row, withheld on all."""

    column: str
    by: tuple[str, ...]

    def expand(self, df: pl.DataFrame) -> list[Relation]:
        indexed = df.with_row_index("_row")
        out = []
        for _, sub in indexed.group_by(list(self.by), maintain_order=True):
            rows = sub["_row"].to_list()
            out += [Relation((a, self.column), ((b, self.column),)) for a, b in pairwise(rows)]
        return out


@dataclass(frozen=True)
class AtMost:
    """In every row, each of columns ``parts`` is at most column ``total`` (a count among a
    group's patient-lines cannot exceed them): no equation, but an upper bound every reader
    knows, which the audit uses (with a published total of 11, a withheld part is 11)."""

    total: str
    parts: tuple[str, ...]

    def expand(self, df: pl.DataFrame) -> list[Relation]:
        return []

    def caps(self, df: pl.DataFrame) -> list[tuple[Cell, Cell]]:
        return [((r, p), (r, self.total)) for r in range(df.height) for p in self.parts]


@dataclass(frozen=True)
class AtMostRow(RowSum):
    """Across rows, in each of ``columns``: the rows whose ``key`` is one of ``parts`` are at
    most the row whose ``key`` is ``total`` (e.g. any level of Table 1 <= its 'Patients' row)."""

    def expand(self, df: pl.DataFrame) -> list[Relation]:
        return []

    def caps(self, df: pl.DataFrame) -> list[tuple[Cell, Cell]]:
        return [(p, rel.total) for rel in RowSum.expand(self, df) for p in rel.parts]


Spec = Relation | Sum | RowSum | Same | AtMost | AtMostRow


@dataclass(frozen=True)
class Recovered:
    """A suppressed cell a reader can work out, the value and how (relation|linear|bounds)."""

    row: int
    column: str
    value: int
    method: str


def marker(threshold: int) -> str:
    """The text of a count below the threshold, e.g. ``<11``."""
    return f"<{threshold}"


def count_text(n: int, threshold: int) -> int | str:
    """One count as an aggregate output shows it: ``<N`` from 1 to the threshold minus 1."""
    return marker(threshold) if 0 < n < threshold else n


# --------------------------------------------------------------------------------------------
# The cell grid: every count cell of the table, its value and its state
# --------------------------------------------------------------------------------------------

PUBLISHED, SMALL, COMPLEMENT = 0, 1, 2


class _Grid:
    """Count cells numbered row-major; relations as arrays of cell numbers."""

    def __init__(self, df: pl.DataFrame, columns: Sequence[str], specs: Iterable[Spec]) -> None:
        self.columns = list(columns)
        self.width = len(self.columns)
        self.n = df.height * self.width
        self.relations: list[tuple[int, np.ndarray]] = []
        specs = list(specs)
        #: (part cell, total cell): part <= total, bounds a reader knows (AtMost, AtMostRow)
        self.caps = [
            (self.id(part), self.id(total))
            for spec in specs
            if hasattr(spec, "caps")
            for part, total in spec.caps(df)
        ]
        for spec in specs:
            for rel in spec.expand(df):
                parts = np.array([self.id(c) for c in rel.parts], dtype=np.int64)
                self.relations.append((self.id(rel.total), parts))
        self.by_cell: dict[int, list[int]] = {}
        for k, (total, parts) in enumerate(self.relations):
            for cell in (total, *parts.tolist()):
                self.by_cell.setdefault(cell, []).append(k)

    def id(self, cell: Cell) -> int:
        row, column = cell
        if column not in self.columns:
            raise ValueError(f"relation names '{column}', which is not a count column")
        return row * self.width + self.columns.index(column)

    def suppressed_in(self, k: int, state: np.ndarray) -> int:
        """How many cells of relation ``k`` are suppressed."""
        total, parts = self.relations[k]
        return int(state[total] != PUBLISHED) + int(np.count_nonzero(state[parts] != PUBLISHED))

    def upper_bounds(self, known: np.ndarray) -> np.ndarray:
        """Per cell, the smallest published total it is at most (inf where none)."""
        cap = np.full(self.n, np.inf)
        for part, total in self.caps:
            if not np.isnan(known[total]):
                cap[part] = min(cap[part], known[total])
        return cap

    def cell(self, i: int) -> Cell:
        return i // self.width, self.columns[i % self.width]

    def components(self) -> list[tuple[np.ndarray, list[int]]]:
        """Groups of cells linked through relations: (cells, relation numbers), each group
        audited on its own."""
        label = np.arange(self.n)  # union-find over cells

        def root(c: int) -> int:
            while label[c] != c:
                label[c] = label[label[c]]
                c = label[c]
            return c

        for total, parts in self.relations:
            for p in parts.tolist():
                label[root(p)] = root(total)
        groups: dict[int, list[int]] = {}
        for k, (total, _) in enumerate(self.relations):
            groups.setdefault(root(total), []).append(k)
        out = []
        for ks in groups.values():
            cells = np.unique(
                np.concatenate(
                    [[self.relations[k][0]] for k in ks] + [self.relations[k][1] for k in ks]
                )
            )
            out.append((cells, ks))
        return out


def _count_matrix(df: pl.DataFrame, columns: Sequence[str], owner: str) -> np.ndarray:
    """The counts as float (NaN for null), checked: whole, non-negative numbers."""
    for c in columns:
        if c not in df.columns:
            raise InvalidDataError(f"{owner}: the table has no count column '{c}'.")
        if not (df[c].dtype.is_integer() or df[c].dtype == pl.Null):
            raise InvalidDataError(
                f"{owner}: count column '{c}' has type {df[c].dtype}; counts must be integers."
            )
        if (df[c] < 0).any():
            raise InvalidDataError(f"{owner}: count column '{c}' has a negative count.")
    if not columns:
        return np.zeros((df.height, 0))
    return df.select(pl.col(columns).cast(pl.Float64)).to_numpy().reshape(-1)


# --------------------------------------------------------------------------------------------
# What a reader can recover
# --------------------------------------------------------------------------------------------


def _equations(grid: _Grid, ks: list[int], known: np.ndarray, unknown: np.ndarray) -> list:
    """Relations ``ks`` with an unknown cell as (unknown cells, coefficients, right-hand side):
    sum(parts) - total = 0 with the published cells moved to the right."""
    eqs = []
    for k in ks:
        total, parts = grid.relations[k]
        cells = np.concatenate([[total], parts])
        coef = np.concatenate([[-1.0], np.ones(parts.size)])
        mask = unknown[cells]
        if not mask.any() or np.isnan(known[cells[~mask]]).any():
            continue  # nothing to find, or a null cell: the relation does not apply
        rhs = -float(np.dot(coef[~mask], known[cells[~mask]]))
        eqs.append((cells[mask], coef[mask], rhs))
    return eqs


def _audit_component(
    grid: _Grid,
    ks: list[int],
    known: np.ndarray,
    state: np.ndarray,
    threshold: int,
    values: np.ndarray | None = None,
) -> dict[int, tuple[float, str]]:
    """Suppressed cells of one group of relations that a reader can determine exactly.

    ``known`` holds the published values (NaN where suppressed or null); ``state`` says which
    cells are ``<threshold`` (1..threshold-1) and which are withheld (>= threshold).
    """
    eqs = _equations(grid, ks, known, state != PUBLISHED)
    if not eqs:
        return {}
    found = {int(c[0]): (rhs / coef[0], "relation") for c, coef, rhs in eqs if c.size == 1}
    comp = sorted({int(c) for cells, _, _ in eqs for c in cells})
    pos = {c: j for j, c in enumerate(comp)}
    a = np.zeros((len(eqs), len(comp)))
    b = np.array([rhs for _, _, rhs in eqs])
    for i, (cells, coef, _) in enumerate(eqs):
        a[i, [pos[int(c)] for c in cells]] = coef
    truth = None if values is None else values[comp]
    cap = grid.upper_bounds(known)[comp]
    for j, value, method in _determined(a, b, state[comp] == SMALL, threshold, truth, cap):
        found.setdefault(comp[j], (value, method))
    return found


def _determined(
    a: np.ndarray,
    b: np.ndarray,
    small: np.ndarray,
    threshold: int,
    truth: np.ndarray | None,
    cap: np.ndarray | None = None,
) -> list:
    """(index, value, method) of the unknowns fixed by ``a x = b`` alone or with the bounds.

    ``truth`` (the real counts, known when protecting) lets many cells be cleared at once: a
    solution that moves them by a whole unit shows they are not determined.
    """
    _, s, vt = np.linalg.svd(a)
    null = vt[int(np.sum(s > 1e-9)) :]
    fixed = np.all(np.abs(null) < 1e-9, axis=0)
    x = np.linalg.lstsq(a, b, rcond=None)[0]
    out = [(j, x[j], "linear") for j in np.flatnonzero(fixed)]
    lo = np.where(small, 1.0, float(threshold))
    hi = np.where(small, threshold - 1.0, np.inf)
    if cap is not None:
        hi = np.minimum(hi, cap)
    pending = np.flatnonzero(~fixed)
    if truth is not None:
        pending = _not_cleared(a, b, lo, hi, truth, pending)
    bounds = list(zip(lo, np.where(np.isinf(hi), None, hi), strict=True))
    for j in pending:
        low, high = _range(a, b, bounds, j)
        if np.ceil(low - 1e-7) == np.floor(high + 1e-7):
            out.append((j, np.ceil(low - 1e-7), "bounds"))
    return out


def _not_cleared(
    a: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray, x: np.ndarray, pending: np.ndarray
) -> np.ndarray:
    """The unknowns no other solution within one unit of the true counts ``x`` moves by one:
    alternately push every pending unknown up, then down, until nothing more moves."""
    from scipy.optimize import linprog  # deferred: SciPy is heavy to import

    bounds = list(zip(np.maximum(lo, x - 1), np.minimum(hi, x + 1), strict=True))
    sign, stuck = 1.0, 0
    while pending.size and stuck < 2:  # stop when neither direction moves anything more
        sign = -sign
        c = np.zeros(x.size)
        c[pending] = sign
        res = linprog(c, A_eq=a, b_eq=b, bounds=bounds, method="highs")
        if res.status != 0:  # numerical trouble: leave the rest to the exact per-cell check
            break
        moved = np.abs(res.x[pending] - x[pending]) >= 1 - 1e-7
        stuck = 0 if moved.any() else stuck + 1
        pending = pending[~moved]
    return pending


def _range(a: np.ndarray, b: np.ndarray, bounds: list, j: int) -> tuple[float, float]:
    """The smallest and largest value of unknown ``j`` under ``a x = b`` and the bounds."""
    from scipy.optimize import linprog  # deferred: SciPy is heavy to import

    ends = []
    for sign in (1.0, -1.0):
        c = np.zeros(a.shape[1])
        c[j] = sign
        res = linprog(c, A_eq=a, b_eq=b, bounds=bounds, method="highs")
        if res.status == 2:
            raise InvalidDataError(
                "The published counts contradict the declared relations (no counts fit them)."
            )
        ends.append(sign * res.fun if res.status == 0 else np.inf)
    return ends[0], ends[1]


def recoverable_cells(
    published: pl.DataFrame,
    counts: Sequence[str],
    relations: Iterable[Spec],
    *,
    threshold: int | None = None,
) -> list[Recovered]:
    """Suppressed cells of a published table that a reader can work out exactly.

    Reads only what is published: numbers, ``<N`` (1..N-1) and ``withheld`` (>= N; ``N`` is
    read from the markers unless ``threshold`` is given). A cell is recoverable when one
    relation has it as its only unknown, when the linear system of all relations determines it,
    or when the system together with those bounds leaves one whole number (linear programme,
    the audit of statistical disclosure control; Hundepool et al., 2012, Statistical
    Disclosure Control, Wiley). Empty means the table is protected.
    """
    text = published.select(pl.col(counts).cast(pl.String)).to_numpy().reshape(-1)
    small = np.array([isinstance(t, str) and t.startswith("<") for t in text], dtype=bool)
    withheld = np.array([t == WITHHELD for t in text], dtype=bool)
    if threshold is None:
        found = {int(t[1:]) for t in text[small]}
        threshold = found.pop() if len(found) == 1 else 11
    known = np.full(text.size, np.nan)
    plain = ~(small | withheld) & np.array([t is not None for t in text], dtype=bool)
    known[plain] = text[plain].astype(np.float64)
    state = np.where(small, SMALL, np.where(withheld, COMPLEMENT, PUBLISHED))
    grid = _Grid(published, counts, relations)
    found: dict[int, tuple[float, str]] = {}
    for _, ks in grid.components():
        found |= _audit_component(grid, ks, known, state, threshold)
    return [Recovered(*grid.cell(c), round(v), m) for c, (v, m) in sorted(found.items())]


# --------------------------------------------------------------------------------------------
# Protecting a table
# --------------------------------------------------------------------------------------------


def _pick(grid: _Grid, values: np.ndarray, state: np.ndarray, ks: Iterable[int]) -> int | None:
    """The cell to withhold next among relations ``ks``: a non-zero published part, else a
    non-zero published total; first the one exposing the fewest relations that have no
    suppressed cell yet (each would need a complement of its own), then the smallest count."""
    parts, totals = [], []
    for k in ks:
        total, rel_parts = grid.relations[k]
        parts += [c for c in rel_parts.tolist() if state[c] == PUBLISHED and values[c] > 0]
        if state[total] == PUBLISHED and values[total] > 0:
            totals.append(total)

    def cost(c: int) -> tuple[int, float, int]:
        fresh = sum(not grid.suppressed_in(k, state) for k in grid.by_cell[c])
        return fresh, values[c], c

    for pool in (parts, totals):
        if pool:
            return min(pool, key=cost)
    return None


def _one_unknown_rule(grid: _Grid, values: np.ndarray, state: np.ndarray, ks: list[int]) -> None:
    """Until stable: in every relation with exactly one suppressed cell, withhold one more."""
    changed = True
    while changed:
        changed = False
        for k in ks:
            if grid.suppressed_in(k, state) == 1:
                pick = _pick(grid, values, state, [k])
                if pick is not None:
                    state[pick] = COMPLEMENT
                    changed = True


def _protect_component(
    grid: _Grid, ks: list[int], values: np.ndarray, state: np.ndarray, threshold: int
) -> None:
    """Withhold cells of one group of relations until none of its small counts is recoverable."""
    while True:
        _one_unknown_rule(grid, values, state, ks)
        known = np.where(state == PUBLISHED, values, np.nan)
        leaks = _audit_component(grid, ks, known, state, threshold, values)
        if not leaks:
            return
        around = {k for c in leaks for k in grid.by_cell[c]}  # relations of the recovered cells
        pick = _pick(grid, values, state, sorted(around))
        if pick is None:  # nothing left there: any cell linked to them
            pick = _pick(grid, values, state, ks)
        if pick is None:  # pinned by an upper bound: withhold the published total capping it
            pick = _capping_total(grid, leaks, values, state)
        if pick is None:
            row, column = grid.cell(min(leaks))
            raise MmrweError(
                f"Small-cell protection: the count in row {row + 1}, column '{column}' can be "
                "worked out even with every other non-zero count hidden (the zeros shown and "
                "the small counts, each at least 1, pin it down). Group the levels or the "
                "analysis groups more coarsely."
            )
        state[pick] = COMPLEMENT


def _capping_total(
    grid: _Grid, leaks: Iterable[int], values: np.ndarray, state: np.ndarray
) -> int | None:
    """A published non-zero total that caps one of the recovered cells (AtMost), smallest
    first: withholding it removes the bound that pinned the cell."""
    leaked = set(leaks)
    pool = [
        total
        for part, total in grid.caps
        if part in leaked and state[total] == PUBLISHED and values[total] > 0
    ]
    return min(pool, key=lambda c: (values[c], c)) if pool else None


def _suppress(grid: _Grid, values: np.ndarray, threshold: int) -> np.ndarray:
    """The state of every cell: published, below the threshold (primary), or withheld.

    Components are protected until no state changes: withholding a capping total (AtMost) can
    open a relation of another component, which is then protected in turn."""
    state = np.where((values >= 1) & (values < threshold), SMALL, PUBLISHED)
    while True:
        before = state.copy()
        for cells, ks in grid.components():
            if (state[cells] != PUBLISHED).any():
                _protect_component(grid, ks, values, state, threshold)
        if np.array_equal(state, before):
            return state


def protect(
    df: pl.DataFrame,
    counts: Sequence[str],
    *,
    threshold: int = SMALL_CELL_THRESHOLD,
    relations: Iterable[Spec] = (),
    derived: Mapping[str, Sequence[str]] | None = None,
) -> pl.DataFrame:
    """Publishable copy of an aggregate table: small counts ``<threshold``, complementary cells
    ``withheld``, so that no suppressed count can be recovered through ``relations``.

    ``counts`` become String columns (the number, ``<N`` or ``withheld``; nulls stay null).
    ``derived`` maps a column computed from counts of the same row (a percentage, a confidence
    limit) to those counts; it is set to null wherever one of them is suppressed. A count of 0
    is published as 0. ``threshold=0`` returns ``df`` unchanged (suppression off).
    """
    owner = "protect"
    check_parameter(
        isinstance(threshold, int) and (threshold == 0 or threshold >= 3),
        "threshold",
        owner,
        "0 (suppression off) or an integer >= 3 ('<2' would say the count is 1)",
        threshold,
    )
    if "patient_id" in df.columns:
        raise InvalidDataError(
            "protect: an aggregate table must not contain the column 'patient_id'; aggregate "
            "before publishing."
        )
    unknown = {s for sources in (derived or {}).values() for s in sources} - set(counts)
    if unknown:
        raise ValueError(f"protect: derived values refer to non-count columns {sorted(unknown)}")
    if threshold == 0:
        return df
    values = _count_matrix(df, counts, owner)
    if df.height == 0:
        return df.with_columns(pl.col(counts).cast(pl.String))
    state = _suppress(_Grid(df, counts, relations), values, threshold).reshape(df.height, -1)
    out = df.with_columns(
        pl.when(pl.Series(state[:, j] == SMALL))
        .then(pl.lit(marker(threshold)))
        .when(pl.Series(state[:, j] == COMPLEMENT))
        .then(pl.lit(WITHHELD))
        .otherwise(pl.col(c).cast(pl.String))
        .alias(c)
        for j, c in enumerate(counts)
    )
    hidden = {c: pl.Series(state[:, j] != PUBLISHED) for j, c in enumerate(counts)}
    return out.with_columns(
        pl.when(pl.any_horizontal([hidden[s] for s in sources]))
        .then(None)
        .otherwise(pl.col(col))
        .alias(col)
        for col, sources in (derived or {}).items()
    )


def suppress_counts(
    df: pl.DataFrame, counts: Sequence[str], threshold: int = SMALL_CELL_THRESHOLD
) -> pl.DataFrame:
    """Primary suppression only, for tables whose counts add up to nothing published."""
    return protect(df, counts, threshold=threshold)


ATTRITION_COUNTS = ("patients_before", "patients_excluded", "patients_after", "rows_excluded")


def attrition_relations(attrition: pl.DataFrame) -> list[Spec]:
    """before = excluded + after in each step; step k's after = step k+1's before."""
    chain = [
        Relation((k, "patients_after"), ((k + 1, "patients_before"),))
        for k in range(attrition.height - 1)
    ]
    return [Sum("patients_before", ("patients_excluded", "patients_after")), *chain]


def protect_attrition(
    attrition: pl.DataFrame, threshold: int = SMALL_CELL_THRESHOLD
) -> pl.DataFrame:
    """The attrition table with small exclusions (and small remaining populations) as ``<N``
    and the chain before = excluded + after protected."""
    return protect(
        attrition,
        list(ATTRITION_COUNTS),
        threshold=threshold,
        relations=attrition_relations(attrition),
    )
