"""The release ledger: what earlier releases of one cohort published, read by later runs.

Two studies of one cohort can be subtracted from each other: one study's attrition "lines
excluded" against another study's total lines gives the first study's analysed lines. A run
given a ledger (``mmrwe run --ledger FILE``) adds every earlier release of the same cohort to
its release model (docs/privacy.md), with the identities a reader knows across releases:

- an attrition step reached by the same chain of steps (the same reasons, in order) under the
  same rules and drug map is the same count in every study of the cohort;
- the unmapped drugs are the same rows and patients in every study;
- the lines that enter a study's population criteria (all lines derived) are that study's
  lines excluded by its criteria plus its analysed lines, the same number in every study.

The run then protects its own cells and every earlier one against all of it, and records its
own release. The cohort is recognised by the SHA-256 of its input files (``inputs`` of the
manifest); a ledger not passed protects nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from mmrwe.errors import ConfigError
from mmrwe.privacy.model import Model

FORMAT = "mmrwe-release-ledger/1"
#: attrition reasons of a study's own population criteria (after them nothing is cohort-level)
POPULATION_STEPS = ("lines excluded:", "later eligible lines of the same patient")
ATTRITION = ("patients_before", "patients_excluded", "patients_after", "rows_excluded")
#: the model's table name of the quantities shared by every release of the cohort
COHORT = "cohort"


def _digest(*parts: object) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_digest(path: Path | None) -> str | None:
    """SHA-256 of a file (None without one)."""
    return None if path is None else hashlib.sha256(Path(path).read_bytes()).hexdigest()


@dataclass
class Ledger:
    """One ledger file, the cohort a run reads and the analysis it records."""

    path: Path
    #: the cohort: its input files' SHA-256s
    cohort: str
    #: what decides the cohort-level counts besides the data: rules and drug map
    rules: str
    study: str = ""
    #: for a comparison: the release id of the run compared (its manifest's ``release``)
    run_release: str = ""
    releases: list[dict[str, Any]] = field(default_factory=list)
    #: this run's release, recorded by :meth:`commit` once the run has succeeded
    pending: dict[str, Any] | None = None

    @classmethod
    def open(
        cls, path: Path, inputs: object, config: Any, drug_map: Path | None, study: str
    ) -> Ledger:
        """The ledger at ``path`` (a new one when absent) for the cohort of ``inputs``."""
        path = Path(path)
        data: dict[str, Any] = {"format": FORMAT, "cohorts": {}}
        if path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise ConfigError(f"{path}: not a release ledger ({exc}).") from None
            if data.get("format") != FORMAT:
                raise ConfigError(
                    f"{path}: not a release ledger (format {data.get('format')!r}, expected "
                    f"{FORMAT!r}). Pass the file a run wrote with the ledger option, or a new path."
                )
        cohort = _digest(sorted(json.dumps(x, sort_keys=True, default=str) for x in inputs))
        rules = _digest(
            {k: config.model_dump(mode="json")[k] for k in ("lines", "response", "endpoints")},
            file_digest(drug_map),
        )
        releases = data["cohorts"].get(cohort, {}).get("releases", [])
        return cls(path, cohort, rules, study=study, releases=list(releases))

    def add_to(self, model: Model, tables: dict[str, pl.DataFrame]) -> None:
        """Every earlier release of the cohort as fixed cells of ``model``, with the identities
        across releases; this run's cohort-level cells linked to them."""
        for k, rel in enumerate(self.releases):
            _add_release(model, rel, f"earlier release {k + 1} ({rel.get('study', '')})")
        aliases, sums = cohort_links(tables, self.rules)
        for name, key in aliases.items():
            if key in model.index:
                _equal(model, _cohort_cell(model, name), model.index[key])
        for name, keys in sums:
            if all(k in model.index for k in keys):
                model.sums.append((_cohort_cell(model, name), tuple(model.index[k] for k in keys)))

    def stage(self, model: Model, tables: dict[str, pl.DataFrame], threshold: int) -> None:
        """Keep this run's release (its cells as published, its relations) for :meth:`commit`."""
        aliases, sums = cohort_links(tables, self.rules)
        own = [c for c, (t, _, _) in enumerate(model.where) if not _fixed(t)]
        pos = {c: j for j, c in enumerate(own)}
        cells = [[*model.where[c], *_bounds(model, c)] for c in own]
        rel = [[pos[t], [pos[p] for p in ps]] for t, ps in model.sums if _inside(pos, t, ps)]
        caps = [[pos[p], pos[t]] for p, t in model.caps if p in pos and t in pos]
        release = _digest(self.cohort, self.rules, self.study, cells)
        if ("manifest", 0, "patients") in model.index:
            aliases[f"analysed/{release}/patients"] = ("manifest", 0, "patients")
        self.pending = {
            "release": release,
            "study": self.study,
            "threshold": threshold,
            "cells": cells,
            "sums": rel,
            "caps": caps,
            "aliases": {n: list(k) for n, k in aliases.items() if k in model.index},
            "cohort_sums": [[n, [list(k) for k in ks]] for n, ks in sums],
        }

    def stage_comparison(
        self, model: Model, cells: list[int], run: dict[str, pl.DataFrame], threshold: int
    ) -> None:
        """Keep a comparison's release: its counts, which add up to the analysed patients of
        the run it compares (the run's release, by the id its manifest records)."""
        own = [[*model.where[c], *_bounds(model, c)] for c in cells]
        runs = [r for r in self.releases if r.get("release") == self.run_release]
        name = f"analysed/{self.run_release}/patients"
        self.pending = {
            "release": _digest(self.cohort, self.study, own),
            "study": self.study,
            "threshold": threshold,
            "cells": own,
            "sums": [],
            "caps": [],
            "aliases": {},
            "cohort_sums": [[name, [m[:3] for m in own]]] if runs and len(own) == 3 else [],
        }

    def commit(self) -> None:
        """Write the ledger with this run's release added (once; a release already recorded
        as it is stays one entry)."""
        if self.pending is None or self.pending in self.releases:
            return
        data: dict[str, Any] = {"format": FORMAT, "cohorts": {}}
        if self.path.exists():
            data = json.loads(self.path.read_text(encoding="utf-8"))
        entry = data["cohorts"].setdefault(self.cohort, {"releases": []})
        entry["releases"].append(self.pending)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        tmp.replace(self.path)
        self.releases.append(self.pending)


def cohort_links(
    tables: dict[str, pl.DataFrame], rules: str
) -> tuple[dict[str, tuple[str, int, str]], list[tuple[str, list[tuple[str, int, str]]]]]:
    """A release's cohort-level quantities: (name -> its cell) for the attrition steps before
    the study's own criteria and the unmapped drugs, and (name, cells adding up to it) for the
    lines entering the criteria (lines excluded by them + analysed lines)."""
    aliases: dict[str, tuple[str, int, str]] = {}
    sums = []
    att = tables.get("attrition")
    if att is not None and att.height:
        reasons = [str(r) for r in att["reason"].to_list()]
        own = [k for k, r in enumerate(reasons) if r.startswith(POPULATION_STEPS)]
        first = own[0] if own else len(reasons)
        for k in range(first):
            for c in ATTRITION:
                aliases[f"attrition/{_digest(rules, reasons[: k + 1])}/{c}"] = ("attrition", k, c)
        lines = tables.get("manifest")
        if lines is not None and "lines" in lines.columns:
            parts = [("attrition", k, "rows_excluded") for k in own] + [("manifest", 0, "lines")]
            sums.append((f"lines/{_digest(rules, reasons[:first])}", parts))
    un = tables.get("unmapped_drugs")
    if un is not None:
        for r, drug in enumerate(un["drug"].to_list()):
            for c in ("rows", "patients"):
                aliases[f"unmapped/{_digest(rules, drug)}/{c}"] = ("unmapped_drugs", r, c)
    return aliases, sums


def _fixed(table: str) -> bool:
    """Cells already published by an earlier release, or shared by all: never withheld now."""
    return table == COHORT or table.startswith("earlier release")


def fixed(model: Model, cell: int) -> bool:
    """A cell this run cannot withhold (published before, or a cohort-level unknown)."""
    return _fixed(model.where[cell][0])


def _inside(pos: dict[int, int], total: int, parts: tuple[int, ...]) -> bool:
    return total in pos and all(p in pos for p in parts)


def _bounds(model: Model, c: int) -> list[object]:
    hi = None if np.isinf(model.hi[c]) else model.hi[c]
    return [model.lo[c], hi, model.hidden[c], model.sensitive[c]]


def _cohort_cell(model: Model, name: str) -> int:
    key = (COHORT, 0, name)
    if key not in model.index:
        model.add(key, 0.0, np.inf, True, False)
    return model.index[key]


def _equal(model: Model, a: int, b: int) -> None:
    model.sums.append((a, (b,)))


def _add_release(model: Model, rel: dict[str, Any], tag: str) -> None:
    """One earlier release: its cells fixed as published, its relations, its identities."""
    cells, local = [], {}
    for table, row, column, lo, hi, hidden, sensitive in rel["cells"]:
        key = (f"{tag}: {table}", int(row), str(column))
        cells.append(model.add(key, lo, np.inf if hi is None else hi, hidden, sensitive))
        local[(table, int(row), str(column))] = cells[-1]
    model.sums += [(cells[t], tuple(cells[p] for p in ps)) for t, ps in rel["sums"]]
    model.caps += [(cells[p], cells[t]) for p, t in rel["caps"]]
    for name, key in rel["aliases"].items():
        if (key[0], int(key[1]), str(key[2])) in local:
            _equal(model, _cohort_cell(model, name), local[(key[0], int(key[1]), str(key[2]))])
    for name, keys in rel["cohort_sums"]:
        parts = [local.get((k[0], int(k[1]), str(k[2]))) for k in keys]
        if all(p is not None for p in parts):
            model.sums.append((_cohort_cell(model, name), tuple(p for p in parts if p is not None)))
