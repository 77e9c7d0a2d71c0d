"""The release model: every shared count of a run as one integer programme (docs/privacy.md).

A reader holding all the aggregate files a run shares knows, for each count cell, either its
value or bounds (``<11`` is 1..10, ``withheld`` is at least 11), and the relations the docs
state: sums within a table, bounds (events <= patients, a level <= its group), and equalities
across tables (the same group's size in several tables). :func:`audit` asks, for every hidden
sensitive cell (a ``<11``, or a count of fewer than 11 patients written ``withheld``), the
smallest and largest whole value that fits all of it together (SciPy ``milp``, HiGHS); a cell
whose values span fewer than :data:`MIN_SPAN` + 1 whole numbers is exposed. Complementary
cells are unknowns of the programme; one may be determined (it is a count of at least 11 that
protects nothing then).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: a hidden cell's feasible values must span at least this much (max - min >= 2: three values)
MIN_SPAN = 2


@dataclass
class Model:
    """Cells (published or hidden, with bounds), equalities and inequalities between them."""

    #: where each cell is: (table, row, column)
    where: list[tuple[str, int, str]] = field(default_factory=list)
    lo: list[float] = field(default_factory=list)
    hi: list[float] = field(default_factory=list)
    hidden: list[bool] = field(default_factory=list)
    #: a cell the audit protects: a small count, or a count of fewer than threshold patients;
    #: a complementary cell only hides it and may itself be determined
    sensitive: list[bool] = field(default_factory=list)
    #: total = sum of parts, as (total cell, part cells)
    sums: list[tuple[int, tuple[int, ...]]] = field(default_factory=list)
    #: part <= total, as (part cell, total cell)
    caps: list[tuple[int, int]] = field(default_factory=list)
    index: dict[tuple[str, int, str], int] = field(default_factory=dict)

    def add(
        self, key: tuple[str, int, str], lo: float, hi: float, hidden: bool, sensitive: bool
    ) -> int:
        """Add one cell (a published value has lo = hi)."""
        self.index[key] = len(self.where)
        self.where.append(key)
        self.lo.append(lo)
        self.hi.append(hi)
        self.hidden.append(hidden)
        self.sensitive.append(sensitive)
        return self.index[key]

    def hide(self, cell: int, threshold: int) -> None:
        """Withhold a published cell: a reader then knows only that it is >= ``threshold``."""
        self.hidden[cell] = True
        self.lo[cell], self.hi[cell] = float(threshold), np.inf

    def name(self, cell: int) -> str:
        table, row, column = self.where[cell]
        return f"{table}, row {row + 1}, column '{column}'"


@dataclass(frozen=True)
class Exposure:
    """A hidden cell whose feasible whole values span less than MIN_SPAN (lo..hi)."""

    cell: int
    lo: float
    hi: float


def _rows(model: Model) -> tuple[list[dict[int, float]], list[float], list[bool]]:
    """Every relation over hidden cells: (coefficients, right-hand side, is an equality),
    published cells moved to the right."""
    out_a, out_b, out_eq = [], [], []
    terms = [((t, -1.0), *((p, 1.0) for p in ps)) for t, ps in model.sums]
    caps = [((p, 1.0), (t, -1.0)) for p, t in model.caps]
    for rel, eq in [(r, True) for r in terms] + [(r, False) for r in caps]:
        coef: dict[int, float] = {}
        rhs = 0.0
        for cell, c in rel:
            if model.hidden[cell]:
                coef[cell] = coef.get(cell, 0.0) + c
            else:
                rhs -= c * model.lo[cell]
        if coef:
            out_a.append(coef)
            out_b.append(rhs)
            out_eq.append(eq)
    return out_a, out_b, out_eq


def _components(rows: list[dict[int, float]]) -> list[tuple[list[int], list[int]]]:
    """Groups of hidden cells linked by relations: (cells, relation numbers)."""
    parent: dict[int, int] = {}

    def root(c: int) -> int:
        parent.setdefault(c, c)
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for coef in rows:
        cells = list(coef)
        for c in cells[1:]:
            parent[root(c)] = root(cells[0])
        root(cells[0])
    groups: dict[int, tuple[list[int], list[int]]] = {}
    for k, coef in enumerate(rows):
        groups.setdefault(root(next(iter(coef))), ([], []))[1].append(k)
    for c in parent:
        groups[root(c)][0].append(c)
    return [(sorted(cells), ks) for cells, ks in groups.values()]


class _Programme:
    """One component as a MILP over its hidden cells."""

    def __init__(self, model: Model, cells: list[int], rows: list, rhs: list, eqs: list) -> None:
        from scipy.optimize import Bounds, LinearConstraint

        pos = {c: j for j, c in enumerate(cells)}
        a = np.zeros((len(rows), len(cells)))
        for i, coef in enumerate(rows):
            for c, v in coef.items():
                a[i, pos[c]] = v
        b = np.array(rhs)
        eq = np.array(eqs, dtype=bool)
        lo_b = np.where(eq, b, -np.inf)
        self.constraint = LinearConstraint(a, lo_b, b)
        lo = np.array([model.lo[c] for c in cells])
        hi = np.array([model.hi[c] for c in cells])
        self.bounds = Bounds(lo, hi)
        self.cells = cells
        self.sensitive = np.array([model.sensitive[c] for c in cells], dtype=bool)

    def solve(
        self,
        c: np.ndarray,
        box: tuple[np.ndarray, np.ndarray] | None = None,
        integral: bool = True,
    ):
        """The optimal whole-number point for objective ``c`` (None when unbounded/none);
        ``integral=False``: the linear relaxation (wider, quicker)."""
        from scipy.optimize import Bounds, milp

        bounds = self.bounds
        if box is not None:
            bounds = Bounds(np.maximum(bounds.lb, box[0]), np.minimum(bounds.ub, box[1]))
        for presolve in (True, False):  # HiGHS presolve can call a feasible model infeasible
            res = milp(
                c,
                constraints=[self.constraint],
                integrality=np.full(len(self.cells), int(integral)),
                bounds=bounds,
                options={"presolve": presolve},
            )
            if res.status != 2:
                break
        return res.x if res.status == 0 else None


def _component_exposures(prog: _Programme) -> list[Exposure]:
    """Sensitive cells of one component whose whole values span less than MIN_SPAN."""
    n = len(prog.cells)
    pending = np.flatnonzero(prog.sensitive)
    if not pending.size:
        return []
    x0 = prog.solve(np.zeros(n))
    if x0 is None:
        return []  # no counts fit: the relations were declared for other tables
    low, high = x0.copy(), x0.copy()
    box = (x0 - MIN_SPAN, x0 + MIN_SPAN)
    rng = np.random.default_rng(0)  # push directions only: the result does not depend on them
    for k in range(12):  # push the pending cells up, down, then in random directions at once
        c = np.zeros(n)
        c[pending] = (-1.0, 1.0)[k % 2] if k < 2 else rng.choice((-1.0, 1.0), pending.size)
        x = prog.solve(c, box)
        if x is None:
            break
        low, high = np.minimum(low, x), np.maximum(high, x)
        pending = pending[high[pending] - low[pending] < MIN_SPAN - 1e-9]
        if not pending.size:
            break
    out = []
    for j in pending:  # the rest: their exact smallest and largest whole value
        c = np.zeros(n)
        c[j] = 1.0
        lo_x = prog.solve(c)
        hi_x = prog.solve(-c)
        lo_v = lo_x[j] if lo_x is not None else -np.inf
        hi_v = hi_x[j] if hi_x is not None else np.inf
        if hi_v - lo_v < MIN_SPAN - 1e-9:
            out.append(Exposure(prog.cells[j], float(round(lo_v)), float(round(hi_v))))
    return out


def audit(model: Model, touching: set[int] | None = None) -> list[list[Exposure]]:
    """Exposed hidden cells, grouped by linked component (empty: the release is protected).
    With ``touching``, only the components holding one of these cells (the others have not
    changed since the last audit)."""
    rows, rhs, eqs = _rows(model)
    out = []
    for cells, ks in _components(rows):
        if touching is not None and touching.isdisjoint(cells):
            continue
        prog = _Programme(
            model, cells, [rows[k] for k in ks], [rhs[k] for k in ks], [eqs[k] for k in ks]
        )
        found = _component_exposures(prog)
        if found:
            out.append(found)
    return out


def cell_range(model: Model, cell: int, integral: bool = True) -> tuple[float, float]:
    """The smallest and largest whole value of one hidden cell under everything shared
    (``integral=False``: of the linear relaxation, which contains it)."""
    rows, rhs, eqs = _rows(model)
    for cells, ks in _components(rows):
        if cell in cells:
            prog = _Programme(
                model, cells, [rows[k] for k in ks], [rhs[k] for k in ks], [eqs[k] for k in ks]
            )
            j = cells.index(cell)
            c = np.zeros(len(cells))
            c[j] = 1.0
            lo, hi = prog.solve(c, integral=integral), prog.solve(-c, integral=integral)
            return (
                lo[j] if lo is not None else -np.inf,
                hi[j] if hi is not None else np.inf,
            )
    return model.lo[cell], model.hi[cell]


def clones(model: Model) -> dict[int, list[int]]:
    """Cells equal to each other by a relation (a group's size in several tables; a total
    whose other parts are published zeros): withheld in one place, withheld in all."""
    parent = list(range(len(model.where)))

    def root(c: int) -> int:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for total, parts in model.sums:
        # a sum whose other cells are published zeros is an equality too
        live = [c for c in (total, *parts) if model.hidden[c] or model.lo[c] != 0]
        if len(live) == 2 and live[0] == total:
            parent[root(live[1])] = root(total)
    groups: dict[int, list[int]] = {}
    for c in range(len(parent)):
        groups.setdefault(root(c), []).append(c)
    return {c: groups[root(c)] for c in range(len(parent))}
