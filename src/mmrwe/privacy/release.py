"""The release-level audit and protection: every count a run shares in one model.

Each table is first protected on its own (``protect``). Then :func:`protect_release`, the last
step before anything is written, reads the tables as published (numbers, ``<N``, ``withheld``),
adds the relations a reader knows across them (:func:`release_model`) and withholds further
published cells until the integer-programme audit (:func:`mmrwe.privacy.model.audit`) finds no
hidden cell with fewer than three feasible values; it stops with the cell named when no
published cell is left to withhold. See docs/privacy.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from mmrwe.errors import MmrweError
from mmrwe.privacy import (
    ATTRITION_COUNTS,
    SMALL_CELL_THRESHOLD,
    WITHHELD,
    AtMost,
    AtMostRow,
    RowSum,
    Spec,
    Sum,
    attrition_relations,
)
from mmrwe.privacy.ledger import Ledger, fixed
from mmrwe.privacy.model import MIN_SPAN, Exposure, Model, audit, cell_range, clones

_NUMBER = re.compile(r"^\s*(\d+)(\s|$)")


@dataclass(frozen=True)
class Shared:
    """How the model reads one shared table: its count columns, the relations within it and
    the columns derived from each count (withheld with it)."""

    counts: tuple[str, ...]
    relations: Callable[[pl.DataFrame], list[Spec]] = lambda df: []
    derived: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: the rows that hold counts (e.g. not Table 1's medians)
    rows: Callable[[pl.DataFrame], pl.Expr] = lambda df: pl.lit(True)
    #: the rows whose estimates are withheld for fewer than threshold patients: their
    #: ``withheld`` patient-lines and events are sensitive, not complementary cells
    few: Callable[[pl.DataFrame], pl.Expr] = lambda df: pl.lit(False)


def parse(text: object, threshold: int) -> tuple[float, float, bool] | None:
    """A published count as a reader reads it: (lowest, highest, hidden); None when empty.
    ``12 (40.0)`` is 12; ``<11`` is 1..10; ``withheld`` is at least the threshold."""
    if text is None:
        return None
    if isinstance(text, int | np.integer):
        return float(text), float(text), False
    s = str(text).strip()
    if s == "":
        return None
    if s.startswith("<"):
        return 1.0, float(int(s[1:]) - 1), True
    if s == WITHHELD:
        return float(threshold), np.inf, True
    m = _NUMBER.match(s)
    return (float(m.group(1)), float(m.group(1)), False) if m else None


def _sensitive(column: str, text: object, few: bool) -> bool:
    """A cell the audit must protect: a small count, or the withheld patient-lines or events
    of a row withheld for fewer than threshold patients."""
    s = str(text).strip()
    return s.startswith("<") or (s == WITHHELD and few and column in ("n_patients", "n_events"))


def _add_table(model: Model, name: str, df: pl.DataFrame, spec: Shared, threshold: int) -> None:
    """The cells of one table and the relations within it."""
    keep = df.with_row_index("_row").with_columns(spec.few(df).alias("_few")).filter(spec.rows(df))
    rows = keep["_row"].to_list()
    few = keep["_few"].to_list()
    for c in spec.counts:
        for r, f, text in zip(rows, few, keep[c].to_list(), strict=True):
            cell = parse(text, threshold)
            if cell is not None:
                model.add((name, r, c), *cell, _sensitive(c, text, f))
    local = keep.drop("_row", "_few")
    for rel in spec.relations(local):
        for sub in rel.expand(local):
            _add_sum(
                model,
                (name, rows[sub.total[0]], sub.total[1]),
                [(name, rows[r], c) for r, c in sub.parts],
            )
        for part, total in getattr(rel, "caps", lambda d: [])(local):
            p, t = (name, rows[part[0]], part[1]), (name, rows[total[0]], total[1])
            if p in model.index and t in model.index:
                model.caps.append((model.index[p], model.index[t]))


def _add_sum(model: Model, total: tuple, parts: list[tuple]) -> None:
    """total = sum(parts), when every cell is a count (an empty cell: no relation)."""
    if total in model.index and all(p in model.index for p in parts):
        model.sums.append((model.index[total], tuple(model.index[p] for p in parts)))


def _summary_by_line() -> Shared:
    return Shared(
        ("n_patients", "n_events"),
        lambda df: [AtMost("n_patients", ("n_events",))],
        {},  # estimates are not counts: a complementary n leaves them (few patients: withheld)
        few=lambda df: pl.all_horizontal(
            pl.col(c).is_null()
            for c in df.columns
            if c.startswith(("median_", "rate_"))
            if "followup" not in c
        ),
    )


def _response_rates() -> Shared:
    from mmrwe.stats.response_rates import response_columns, response_relations

    _, counts, derived = response_columns("group")
    return Shared(
        tuple(counts),
        lambda df: response_relations(),
        {k: tuple(v) for k, v in derived.items()},
    )


def _adverse_events() -> Shared:
    from mmrwe.privacy import Same

    names = ("any_grade", "grade_3_plus", *(f"grade_{g}" for g in range(1, 6)))
    grades = tuple(f"n_grade_{g}" for g in range(1, 6))
    return Shared(
        ("n_patients", *(f"n_{x}" for x in names)),
        lambda df: [
            Same("n_patients", (df.columns[0],)),
            Sum("n_any_grade", grades),
            Sum("n_grade_3_plus", grades[2:]),
            AtMost("n_patients", tuple(f"n_{x}" for x in names)),
        ],
        {f"pct_{x}": (f"n_{x}", "n_patients") for x in names},
    )


def _baseline_columns(df: pl.DataFrame) -> list[str]:
    return [c for c in df.columns if c not in ("characteristic", "level")]


def _baseline_size_row(df: pl.DataFrame) -> str:
    """The label of Table 1's count row: 'Patients', or 'Patient-lines' when a patient is in
    several groups."""
    from mmrwe.stats.baseline import PATIENT_LINES, PATIENTS

    return PATIENT_LINES if PATIENT_LINES in df["characteristic"].to_list() else PATIENTS


def _baseline() -> Shared:
    from mmrwe.stats.baseline import TOTAL, TOTAL_LINES, _partitions, summary_levels

    summaries = summary_levels()

    def relations(df: pl.DataFrame) -> list[Spec]:
        """As ``baseline_relations``, with the labels as published."""
        columns = tuple(_baseline_columns(df))
        size = _baseline_size_row(df)
        total = [c for c in columns if c in (TOTAL, TOTAL_LINES)]
        groups = tuple(c for c in columns if c not in total)
        rel: list[Spec] = [RowSum(columns, "characteristic", size, (c,)) for c in _partitions()]
        if total:
            rel.append(Sum(total[0], groups))
        chars = [c for c in df["characteristic"].unique(maintain_order=True) if c != size]
        if chars:
            rel.append(AtMostRow(columns, "characteristic", size, tuple(chars)))
        return rel

    return Shared((), relations, rows=lambda df: ~pl.col("level").is_in(summaries))


def _subgroups() -> Shared:
    from mmrwe.stats.subgroups import _relations

    estimates = ("hr", "lower", "upper", "p", "median_months", "median_lower", "median_upper")

    def relations(df: pl.DataFrame) -> list[Spec]:
        missing = pl.when(pl.col("n_missing") == "0").then(0).otherwise(-1).alias("n_missing")
        return [*_relations(df.with_columns(missing)), AtMost("n_patients", ("n_events",))]

    return Shared(
        ("n_patients", "n_events", "n_missing"),
        relations,
        {c: ("n_patients", "n_events") for c in estimates},
        few=lambda df: pl.col("note").fill_null("").str.starts_with("withheld: fewer than"),
    )


def shared_tables(names: Iterable[str] | None = None) -> dict[str, Shared]:
    """Every aggregate table a run shares (only ``names`` when given), as the release model
    reads it. Built on demand: the statistics tables' specifications import the statistics
    (SciPy, most of a second), which a run without them (``mmrwe lines``) does not need."""
    builders: dict[str, Callable[[], Shared]] = {
        "summary_by_line": _summary_by_line,
        "response_rates": _response_rates,
        "adverse_events": _adverse_events,
        "baseline": _baseline,
        "subgroup_hazard_ratios": _subgroups,
        "attrition": lambda: Shared(ATTRITION_COUNTS, lambda df: attrition_relations(df)),
        "unmapped_drugs": lambda: Shared(
            ("rows", "patients"), lambda df: [AtMost("rows", ("patients",))]
        ),
        "manifest": lambda: Shared(("patients", "lines")),
    }
    wanted = builders if names is None else [n for n in builders if n in set(names)]
    return {name: builders[name]() for name in wanted}


#: endpoints every analysed line has a row of (their n is the group's size)
EVERY_LINE = ("PFS", "OS", "TTNT")
UNMAPPED_STEP = "unmapped_drugs"


def _cell(model: Model, table: str, row: int, column: str) -> int | None:
    return model.index.get((table, row, column))


def _equal(model: Model, a: int | None, b: int | None) -> None:
    if a is not None and b is not None:
        model.sums.append((a, (b,)))


def _total(model: Model, total: int | None, parts: list[int | None]) -> None:
    if total is not None and parts and all(p is not None for p in parts):
        model.sums.append((total, tuple(p for p in parts if p is not None)))


def _group_links(model: Model, tables: Mapping[str, pl.DataFrame]) -> list[int | None]:
    """A group's size is the same in response_rates, Table 1 and the outcomes of every line;
    returns the response_rates cells of the group sizes."""
    rr = tables.get("response_rates")
    if rr is None:
        return []
    sizes = []
    base = tables.get("baseline")
    sbl = tables.get("summary_by_line")
    for r, group in enumerate(rr["group"].to_list()):
        n = _cell(model, "response_rates", r, "n_patients")
        sizes.append(n)
        if base is not None and str(group) in base.columns:
            size = pl.col("characteristic") == _baseline_size_row(base)
            rows = base.with_row_index("_r").filter(size)
            if rows.height:
                _equal(model, n, _cell(model, "baseline", int(rows["_r"][0]), str(group)))
        if sbl is not None:
            hit = sbl.with_row_index("_r").filter(
                (pl.col("group") == group) & pl.col("endpoint").is_in(EVERY_LINE)
            )
            for k in hit["_r"].to_list():
                _equal(model, n, _cell(model, "summary_by_line", k, "n_patients"))
    return sizes


def _links(model: Model, tables: Mapping[str, pl.DataFrame], endpoint: str) -> None:
    """The relations across tables a reader knows."""
    sizes = _group_links(model, tables)
    lines = _cell(model, "manifest", 0, "lines")
    _total(model, lines, sizes)
    sg, sbl = tables.get("subgroup_hazard_ratios"), tables.get("summary_by_line")
    if sg is not None and sg.height and sbl is not None and endpoint in EVERY_LINE:
        ov = sg.with_row_index("_r").filter(pl.col("subgroup") == "overall")["_r"]
        rows = sbl.with_row_index("_r").filter(pl.col("endpoint") == endpoint)["_r"].to_list()
        if ov.len():
            for c in ("n_patients", "n_events"):
                parts = [_cell(model, "summary_by_line", k, c) for k in rows]
                _total(model, _cell(model, "subgroup_hazard_ratios", int(ov[0]), c), parts)
    att = tables.get("attrition")
    if att is not None and att.height:
        last = att.height - 1
        _equal(
            model,
            _cell(model, "manifest", 0, "patients"),
            _cell(model, "attrition", last, "patients_after"),
        )
        un = tables.get("unmapped_drugs")
        step = [i for i, r in enumerate(att["reason"].to_list()) if UNMAPPED_STEP in str(r)]
        if un is not None and step:
            parts = [_cell(model, "unmapped_drugs", k, "rows") for k in range(un.height)]
            total = _cell(model, "attrition", step[0], "rows_excluded")
            if parts:
                _total(model, total, parts)
            elif total is not None:
                pass  # no unmapped drug listed: nothing adds up


def release_model(
    tables: Mapping[str, pl.DataFrame], threshold: int, *, subgroup_endpoint: str = "PFS"
) -> Model:
    """Every count of the shared ``tables`` (as published) and the relations a reader knows."""
    model = Model()
    specs = shared_tables(tables)
    for name, df in tables.items():
        spec = specs.get(name)
        if spec is None or df.is_empty():
            continue
        if name == "baseline":
            spec = Shared(tuple(_baseline_columns(df)), spec.relations, rows=spec.rows)
        _add_table(model, name, df, spec, threshold)
    _links(model, tables, subgroup_endpoint)
    return model


#: candidates tried for a complementary cell before taking the nearest
TRIES = 12


class ReleaseNotProtected(MmrweError):
    """A hidden count can be worked out from the shared outputs however many cells are hidden."""


def _neighbours(model: Model, cells: set[int]) -> set[int]:
    """Cells sharing a relation with any of ``cells``."""
    out: set[int] = set()
    for total, parts in model.sums:
        group = {total, *parts}
        if group & cells:
            out |= group
    for part, total in model.caps:
        if part in cells or total in cells:
            out |= {part, total}
    return out - cells


def _candidates(model: Model, cell: int) -> list[int]:
    """Published non-zero cells by distance from ``cell`` through the relations (nearest
    first; within one distance parts before totals, smallest first)."""
    totals = {t for t, _ in model.sums}
    near, out = {cell}, []
    while True:
        ring = _neighbours(model, near)
        if not ring:
            return out
        pool = [c for c in ring if not model.hidden[c] and model.lo[c] > 0 and not fixed(model, c)]
        out += sorted(pool, key=lambda c: (c in totals, model.lo[c], c))
        near |= ring


def _hide(model: Model, cell: int, same: dict[int, list[int]], threshold: int) -> list[int]:
    """Withhold a cell and every published cell equal to it by a declared relation."""
    hidden = [
        c for c in same[cell] if not model.hidden[c] and model.lo[c] > 0 and not fixed(model, c)
    ]
    for c in hidden:
        model.hide(c, threshold)
    return hidden


def _unhide(model: Model, cells: list[int], values: list[float]) -> None:
    for c, v in zip(cells, values, strict=True):
        model.hidden[c], model.lo[c], model.hi[c] = False, v, v


def _complement(
    model: Model, exposure: Exposure, same: dict[int, list[int]], threshold: int
) -> list[int] | None:
    """Withhold the nearest published cell (with its equal copies) that frees the exposed
    cell in the linear relaxation (the next round checks whole numbers); trying at most TRIES
    candidates, else the nearest one. The cells withheld."""
    nearest = _candidates(model, exposure.cell)
    totals = {t for t, _ in model.sums}
    # the least information lost first: the smallest counts (a group of 400 is a last resort)
    candidates = sorted(nearest[: 4 * TRIES], key=lambda c: (c in totals, model.lo[c]))
    for pick in candidates[:TRIES]:
        values = [model.lo[c] for c in same[pick]]
        hidden = _hide(model, pick, same, threshold)
        lo, hi = cell_range(model, exposure.cell, integral=False)  # quick; checked after
        if hi - lo >= MIN_SPAN - 1e-9:
            return hidden
        _unhide(model, hidden, [v for c, v in zip(same[pick], values, strict=True) if c in hidden])
    return _hide(model, candidates[0], same, threshold) if candidates else None


def protect_model(model: Model, threshold: int) -> set[int]:
    """Withhold published cells until no sensitive cell is exposed; the cells withheld.

    Withholding a cell only widens what fits, so a cell found safe stays safe: after the first
    audit only the exposed cells are checked again. The greedy choice withholds more than
    needed; :func:`_republish` then shows again every withheld cell that protects nothing."""
    added: set[int] = set()
    values = list(model.lo)  # a published cell's lo is its value
    same = clones(model)
    pending = [e.cell for group in audit(model) for e in group]
    while pending:
        again = []
        for cell in pending:
            lo, hi = cell_range(model, cell)
            if hi - lo >= MIN_SPAN:
                continue
            picked = _complement(model, Exposure(cell, lo, hi), same, threshold)
            if not picked:
                raise ReleaseNotProtected(
                    f"Small-cell protection across the shared outputs: {model.name(cell)} "
                    "can be narrowed to fewer than three values by everything shared, even "
                    "with every linked count withheld. Group the levels or the analysis groups "
                    "more coarsely."
                )
            added.update(picked)
            again.append(cell)
        pending = again
    return _republish(model, added, values, same, threshold)


def _republish(
    model: Model, added: set[int], values: list[float], same: dict[int, list[int]], threshold: int
) -> set[int]:
    """The withheld cells that are needed: each one (with its equal copies), largest first, is
    shown again when the audit of the hidden cells it is linked to then finds nothing exposed
    (on 120 simulated patients, outcomes by line: 104 withheld, 4 needed). Their values are
    restored in the model."""
    kept, seen = set(added), set()
    for c in sorted(added, key=lambda c: (-values[c], c)):
        if c in seen:
            continue
        group = [x for x in same[c] if x in kept]
        seen.update(group)
        _unhide(model, group, [values[x] for x in group])
        near = {x for x in _neighbours(model, set(group)) if model.hidden[x]}
        if near and audit(model, touching=near):
            for x in group:
                model.hide(x, threshold)
        else:
            kept -= set(group)
    return kept


def _write_back(
    tables: Mapping[str, pl.DataFrame], model: Model, added: set[int]
) -> dict[str, pl.DataFrame]:
    """The tables with the newly withheld cells (and what is derived from them) hidden."""
    specs = shared_tables(tables)
    out = dict(tables)
    by_table: dict[str, dict[str, list[int]]] = {}
    for c in added:
        table, row, column = model.where[c]
        by_table.setdefault(table, {}).setdefault(column, []).append(row)
    for table, columns in by_table.items():
        df = out[table]
        masks = {c: np.isin(np.arange(df.height), rows) for c, rows in columns.items()}
        exprs = [
            pl.when(pl.Series(m)).then(pl.lit(WITHHELD)).otherwise(pl.col(c)).alias(c)
            for c, m in masks.items()
        ]
        for col, sources in specs[table].derived.items():
            hit = [masks[s] for s in sources if s in masks]
            if col in df.columns and hit:
                exprs.append(
                    pl.when(pl.Series(np.logical_or.reduce(hit)))
                    .then(None)
                    .otherwise(pl.col(col))
                    .alias(col)
                )
        out[table] = df.with_columns(exprs)
    return out


def protect_release(
    tables: Mapping[str, pl.DataFrame],
    threshold: int,
    *,
    subgroup_endpoint: str = "PFS",
    ledger: Ledger | None = None,
) -> dict[str, pl.DataFrame]:
    """The shared tables with further cells withheld so that, read together with the relations
    across them (and with every earlier release of the cohort in ``ledger``, whose cells it
    protects too), every hidden count keeps at least three feasible values (docs/privacy.md).
    Runs last, on the final tables; ``threshold=0`` returns them unchanged. With ``ledger``, this
    release is staged in it for :meth:`Ledger.commit`."""
    if threshold == 0:
        return dict(tables)
    model = release_model(tables, threshold, subgroup_endpoint=subgroup_endpoint)
    if ledger is not None:
        ledger.add_to(model, dict(tables))
    added = protect_model(model, threshold)
    shared = _write_back(tables, model, added) if added else dict(tables)
    if ledger is not None:
        ledger.stage(model, shared, threshold)
    return shared


def read_shared(directory: Path) -> dict[str, pl.DataFrame]:
    """The aggregate tables in ``directory`` as a reader reads them (text), with the manifest's
    ``analysed`` counts as the table ``manifest``."""
    import json

    from mmrwe.io.output import SHARED_TABLES, shareable_folder

    directory = shareable_folder(directory)
    tables = {
        name: pl.read_csv(directory / f"{name}.csv", infer_schema=False)
        for name in sorted(SHARED_TABLES)
        if (directory / f"{name}.csv").exists()
    }
    manifest = directory / "manifest.json"
    if manifest.exists():
        analysed = json.loads(manifest.read_text()).get("analysed") or {}
        if analysed:
            tables["manifest"] = pl.DataFrame({k: [str(v)] for k, v in analysed.items()})
    return tables


def audit_shared(directory: Path, threshold: int = SMALL_CELL_THRESHOLD) -> list[str]:
    """Audit the aggregate files in ``directory`` (a run directory, or its ``shareable/``
    folder) as a reader of them sees it: the sensitive cells with fewer than three feasible
    values, named (empty: protected)."""
    model = release_model(read_shared(directory), threshold)
    return [
        f"{model.name(e.cell)} (fewer than three values fit)"  # never the values (channel 10)
        for group in audit(model)
        for e in group
    ]


#: the counts a comparison shares: the run's analysed patients are their sum
COMPARISON_COUNTS = (
    "patients_used",
    "patients_missing_a_characteristic",
    "patients_without_the_endpoint",
)


def audit_comparison(
    run_shared: Path, weights: pl.DataFrame, threshold: int, ledger: Ledger | None = None
) -> None:
    """Refuse a comparison whose counts (``weights``: patients used, missing a characteristic,
    without the endpoint; they add up to the run's analysed patients), read with everything
    the run shares (``run_shared``) and every earlier release in ``ledger``, narrow a hidden
    count below three values; with ``ledger``, stage the comparison's release."""
    if threshold == 0:
        return
    tables = read_shared(run_shared)
    model = release_model(tables, threshold)
    if ledger is not None:
        ledger.add_to(model, tables)
    row = weights.row(0, named=True)
    cells = []
    for c in COMPARISON_COUNTS:
        parsed = parse(row[c], threshold)
        if parsed is not None:
            cells.append(
                model.add(("comparison weights", 0, c), *parsed, str(row[c]).startswith("<"))
            )
    total = model.index.get(("manifest", 0, "patients"))
    if total is not None and len(cells) == len(COMPARISON_COUNTS):
        model.sums.append((total, tuple(cells)))
    exposed = [e for group in audit(model) for e in group]
    if exposed:
        e = exposed[0]
        raise ReleaseNotProtected(
            f"Small-cell protection across the run and this comparison: {model.name(e.cell)} "
            "can be narrowed to fewer than three values by everything shared: the "
            "comparison's patients used, missing a characteristic and without the endpoint add "
            "up to the run's analysed patients. Compare a study whose analysed patients are "
            "published, or match on fewer characteristics."
        )
    if ledger is not None:
        ledger.stage_comparison(model, cells, tables, threshold)
