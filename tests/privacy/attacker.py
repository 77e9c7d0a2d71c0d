"""An attacker independent of mmrwe.privacy: reads only the files a run shares and solves one
integer programme (SciPy ``milp``) over every published count with the relations the docs
state, for the smallest and largest value of each hidden count (issue 20)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import polars as pl
from scipy.optimize import Bounds, LinearConstraint, milp

from mmrwe.io.output import run_file

BIG = 1e6
SHARED = (
    "summary_by_line",
    "response_rates",
    "adverse_events",
    "baseline",
    "subgroup_hazard_ratios",
    "attrition",
    "unmapped_drugs",
)
RESPONSE = ("sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE")
SUMMARY_ROW = re.compile(r"median|range|mean")
SIZE_ROW = {"Patients", "Patient-lines"}
TOTAL_COLUMN = {"Total", "All patient-lines"}
PARTITIONS = (
    "Sex",
    "ISS stage at diagnosis",
    "R-ISS stage at diagnosis",
    "Cytogenetic risk at diagnosis",
    "ECOG performance status at diagnosis",
    "Prior lines of therapy",
)


class Attack:
    """Cells (name -> bounds), equalities (sum of coef * cell = 0) and a <= b inequalities."""

    def __init__(self, threshold: int = 11) -> None:
        self.t = threshold
        self.cells: dict[str, tuple[float, float]] = {}
        self.eqs: list[dict[str, float]] = []
        self.les: list[tuple[str, str]] = []
        #: the cells to protect: '<N', and 'withheld' counts of the outcome tables (fewer than
        #: N patients); other 'withheld' cells are complements (counts >= N protecting them)
        self.sensitive: set[str] = set()
        #: cells of rows whose estimates are withheld for fewer than N patients
        self.few_patients: set[str] = set()

    def cell(self, name: str, text: object) -> str | None:
        if text is None or str(text).strip() == "":
            return None
        s = str(text).strip()
        if s.startswith("<") or (s == "withheld" and name in self.few_patients):
            self.sensitive.add(name)
        if s.startswith("<"):
            self.cells[name] = (1.0, float(int(s[1:]) - 1))
        elif s == "withheld":
            self.cells[name] = (float(self.t), BIG)  # any count a cohort can have
        else:
            head = s.split(" ")[0]
            if not head.isdigit():
                return None
            self.cells[name] = (float(head), float(head))
        return name

    def total(self, total: str | None, parts: list[str | None]) -> None:
        if total is None or not parts or any(p is None for p in parts):
            return
        eq = {total: -1.0}
        for p in parts:
            eq[p] = eq.get(p, 0.0) + 1.0
        self.eqs.append(eq)

    def le(self, a: str | None, b: str | None) -> None:
        if a is not None and b is not None:
            self.les.append((a, b))

    def hidden(self) -> list[str]:
        used = {c for eq in self.eqs for c in eq} | {c for pair in self.les for c in pair}
        return sorted(c for c in used if self.cells[c][0] != self.cells[c][1])

    def ranges(self) -> dict[str, tuple[float, float]]:
        """Each hidden count in a relation: its smallest and largest whole value."""
        names = sorted({c for eq in self.eqs for c in eq} | {c for p in self.les for c in p})
        pos = {c: j for j, c in enumerate(names)}
        rows, lo_b, hi_b = [], [], []
        for eq in self.eqs:
            r = np.zeros(len(names))
            for c, v in eq.items():
                r[pos[c]] += v
            rows.append(r)
            lo_b.append(0.0)
            hi_b.append(0.0)
        for a, b in self.les:
            r = np.zeros(len(names))
            r[pos[a]] += 1.0
            r[pos[b]] -= 1.0
            rows.append(r)
            lo_b.append(-np.inf)
            hi_b.append(0.0)
        cons = LinearConstraint(np.array(rows), lo_b, hi_b)
        bounds = Bounds([self.cells[c][0] for c in names], [self.cells[c][1] for c in names])
        out = {}
        for c in self.hidden():
            ends = []
            for sign in (1.0, -1.0):
                obj = np.zeros(len(names))
                obj[pos[c]] = sign
                res = milp(obj, constraints=[cons], integrality=np.ones(len(names)), bounds=bounds)
                if res.status == 2:  # HiGHS presolve can call a feasible model infeasible
                    res = milp(
                        obj,
                        constraints=[cons],
                        integrality=np.ones(len(names)),
                        bounds=bounds,
                        options={"presolve": False},
                    )
                assert res.status in (0, 3), f"no counts fit the published tables ({res.message})"
                ends.append(res.x[pos[c]] if res.status == 0 else sign * -np.inf)
            out[c] = (round(ends[0]), ends[1] if np.isinf(ends[1]) else round(ends[1]))
        return out

    def pinned(self) -> dict[str, float]:
        """Hidden counts with exactly one feasible value. When nothing fits ``withheld`` read
        as at least the threshold (mmrwe wrote it for a true 0), it is read as any count."""
        try:
            ranges = self.ranges()
        except AssertionError:
            self.cells = {c: (0.0, b[1]) if b[1] == BIG else b for c, b in self.cells.items()}
            ranges = self.ranges()
        return {c: lo for c, (lo, hi) in ranges.items() if lo == hi and c in self.sensitive}

    def narrowed(self) -> dict[str, tuple[float, float]]:
        """Sensitive cells with fewer than three feasible values (the audit's rule)."""
        return {c: r for c, r in self.ranges().items() if r[1] - r[0] < 2 and c in self.sensitive}


def _read(run: Path, name: str) -> pl.DataFrame | None:
    path = run_file(run, f"{name}.csv")
    return pl.read_csv(path, infer_schema=False) if path.exists() else None


def read_run(run: Path, threshold: int = 11) -> Attack:
    """The attack model of one run directory (its shared files only)."""
    a = Attack(threshold)
    t = {n: _read(run, n) for n in SHARED}
    sizes = _response(a, t["response_rates"])
    _outcomes(a, t["summary_by_line"], t["response_rates"], sizes)
    _baseline(a, t["baseline"], t["response_rates"], sizes)
    _subgroups(a, t["subgroup_hazard_ratios"], t["summary_by_line"])
    _attrition(a, t["attrition"], t["unmapped_drugs"])
    _manifest(a, run_file(run, "manifest.json"), sizes, t["attrition"])
    return a


def _response(a: Attack, rr: pl.DataFrame | None) -> dict[str, str | None]:
    sizes: dict[str, str | None] = {}
    if rr is None:
        return sizes
    for i, row in enumerate(rr.iter_rows(named=True)):
        c = {k: a.cell(f"rr.{i}.{k}", row[k]) for k in rr.columns if k.startswith("n_")}
        sizes[row["group"]] = c["n_patients"]
        a.total(c["n_patients"], [c[f"n_{r}"] for r in RESPONSE])
        a.total(c["n_patients"], [c["n_evaluable"], c["n_NE"]])
        a.total(c["n_orr"], [c[f"n_{r}"] for r in RESPONSE[:4]])
        a.total(c["n_vgpr_or_better"], [c[f"n_{r}"] for r in RESPONSE[:3]])
        a.total(c["n_cr_or_better"], [c[f"n_{r}"] for r in RESPONSE[:2]])
    return sizes


def _outcomes(a: Attack, sbl, rr, sizes) -> None:
    if sbl is None:
        return
    estimates = [
        c for c in sbl.columns if c.startswith(("median_", "rate_")) and "followup" not in c
    ]
    for i, row in enumerate(sbl.iter_rows(named=True)):
        if all(row[c] in (None, "") for c in estimates):  # fewer than N patients: withheld
            a.few_patients |= {f"sbl.{i}.n", f"sbl.{i}.e"}
        n = a.cell(f"sbl.{i}.n", row["n_patients"])
        a.le(a.cell(f"sbl.{i}.e", row["n_events"]), n)
        if row["endpoint"] in ("PFS", "OS", "TTNT"):
            a.total(sizes.get(row["group"]), [n])


def _baseline(a: Attack, base, rr, sizes) -> None:
    if base is None:
        return
    cols = [c for c in base.columns if c not in ("characteristic", "level")]
    rows = [r for r in base.iter_rows(named=True) if not SUMMARY_ROW.search(r["level"])]
    cells = [{c: a.cell(f"b.{i}.{c}", r[c]) for c in cols} for i, r in enumerate(rows)]
    n = next(cells[i] for i, r in enumerate(rows) if r["characteristic"] in SIZE_ROW)
    for g in cols:
        if g in sizes:
            a.total(sizes[g], [n[g]])
        for char in PARTITIONS:
            levels = [cells[i][g] for i, r in enumerate(rows) if r["characteristic"] == char]
            a.total(n[g], levels)
        for i, r in enumerate(rows):
            if r["characteristic"] not in SIZE_ROW:
                a.le(cells[i][g], n[g])
    for total in set(cols) & TOTAL_COLUMN:
        for c in cells:
            a.total(c[total], [c[g] for g in cols if g != total])


def _subgroups(a: Attack, sg, sbl) -> None:
    if sg is None or sg.is_empty():
        return
    rows = list(sg.iter_rows(named=True))
    for i, r in enumerate(rows):
        if str(r.get("note") or "").startswith("withheld: fewer than"):
            a.few_patients |= {f"sg.{i}.n_patients", f"sg.{i}.n_events"}
    cells = [
        {k: a.cell(f"sg.{i}.{k}", r[k]) for k in ("n_patients", "n_events", "n_missing")}
        for i, r in enumerate(rows)
    ]
    ov = next(i for i, r in enumerate(rows) if r["subgroup"] == "overall")
    for c in cells:
        a.le(c["n_events"], c["n_patients"])
    for name in {r["subgroup"] for r in rows} - {"overall"}:
        idx = [i for i, r in enumerate(rows) if r["subgroup"] == name and r["level"] is not None]
        if not idx:
            continue
        a.total(
            cells[ov]["n_patients"],
            [cells[i]["n_patients"] for i in idx] + [cells[idx[0]]["n_missing"]],
        )
        if rows[idx[0]]["n_missing"] == "0":
            a.total(cells[ov]["n_events"], [cells[i]["n_events"] for i in idx])
    if sbl is not None:
        pfs = [i for i, r in enumerate(sbl.iter_rows(named=True)) if r["endpoint"] == "PFS"]
        a.total(
            cells[ov]["n_patients"],
            [f"sbl.{i}.n" if f"sbl.{i}.n" in a.cells else None for i in pfs],
        )
        a.total(
            cells[ov]["n_events"], [f"sbl.{i}.e" if f"sbl.{i}.e" in a.cells else None for i in pfs]
        )


def _attrition(a: Attack, att, un) -> None:
    if att is None:
        return
    rows = list(att.iter_rows(named=True))
    c = [
        {
            k: a.cell(f"att.{i}.{k}", r[k])
            for k in ("patients_before", "patients_excluded", "patients_after", "rows_excluded")
        }
        for i, r in enumerate(rows)
    ]
    for i, r in enumerate(c):
        a.total(r["patients_before"], [r["patients_excluded"], r["patients_after"]])
        if i + 1 < len(c):
            a.total(r["patients_after"], [c[i + 1]["patients_before"]])
    step = [i for i, r in enumerate(rows) if "unmapped_drugs" in r["reason"]]
    if un is not None and un.height and step:
        parts = [a.cell(f"un.{k}.rows", v) for k, v in enumerate(un["rows"].to_list())]
        pats = [a.cell(f"un.{k}.patients", v) for k, v in enumerate(un["patients"].to_list())]
        for r, p in zip(parts, pats, strict=True):
            a.le(p, r)
        a.total(c[step[0]]["rows_excluded"], parts)


def _manifest(a: Attack, path: Path, sizes, att) -> None:
    m = json.loads(path.read_text())
    lines = a.cell("manifest.lines", m.get("analysed", {}).get("lines"))
    pats = a.cell("manifest.patients", m.get("analysed", {}).get("patients"))
    a.total(lines, list(sizes.values()))
    if att is not None:
        a.total(pats, [f"att.{att.height - 1}.patients_after"])
    for name, key in (("analysis_lines", lines), ("adtte", None)):
        exact = m.get("outputs", {}).get(name)
        if key is not None and exact is not None:
            a.total(key, [a.cell(f"manifest.outputs.{name}", exact)])
