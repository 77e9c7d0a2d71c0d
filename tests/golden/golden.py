"""A small golden run: what ``mmrwe lines``, ``mmrwe response`` and ``mmrwe run`` write for a
2,000-patient simulated cohort (seed 1) with the default study and the shipped ``isa-pd`` study.

Aggregate tables (``shareable/``) are kept whole (a reviewer reads their diff); patient-level
tables (``patient_level/``) are kept as row counts and SHA-256 digests of their CSV bytes
(written with ``--csv``: patient-level CSV is opt-in). Digests are keyed by the table's place in
the run directory (``shareable/attrition``, ``patient_level/lines``), so the layout is checked
too. A refactor must leave every one unchanged; a
deliberate rule change regenerates them with ``python -m tests.golden.golden`` and says so in its
commit.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path

from mmrwe.io.output import SHAREABLE

HERE = Path(__file__).parent
EXPECTED = HERE / "expected"
N_PATIENTS = 2_000
SEED = 1

#: the runs kept: name → command line after the cohort (each writes to its own --out)
RUNS = {
    "lines": ["lines", "--csv"],
    "response": ["response", "--csv"],
    "run_default": ["run", "--no-report", "--csv"],
    "run_isa_pd": ["run", "--no-report", "--csv", "--config", "isa-pd"],
}
#: tables small enough to keep whole (aggregates); every other CSV is kept as a digest
WHOLE = {
    "summary_by_line",
    "response_rates",
    "adverse_events",
    "baseline",
    "subgroup_hazard_ratios",
    "attrition",
    "unmapped_drugs",
}


def whole(tables: dict[str, object]) -> list[str]:
    """The ``shareable/<table>`` keys of ``tables`` kept whole."""
    return sorted(k for k in tables if k.startswith(f"{SHAREABLE}/") and k.split("/")[1] in WHOLE)


def simulate(folder: Path) -> Path:
    """The golden cohort, simulated into ``folder``."""
    from mmrwe.simulate import simulate_cohort

    cohort = folder / "cohort"
    simulate_cohort(cohort, n_patients=N_PATIENTS, seed=SEED)
    return cohort


def run(cohort: Path, folder: Path, name: str) -> Path:
    """Run one golden command into ``folder/name``."""
    from mmrwe.cli.app import main

    out = folder / name
    args = ["--quiet", RUNS[name][0], str(cohort), "--out", str(out), *RUNS[name][1:]]
    assert main(args) == 0, f"mmrwe {' '.join(args)} failed"
    return out


def digest(out: Path) -> dict[str, dict[str, object]]:
    """Row count and SHA-256 of every CSV table the run wrote, keyed ``folder/table``."""
    tables = {}
    for csv in sorted(out.glob("*/*.csv")):
        data = csv.read_bytes()
        tables[f"{csv.parent.name}/{csv.stem}"] = {
            "rows": max(data.count(b"\n") - 1, 0),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    return tables


def regenerate() -> None:
    """Rewrite ``expected/`` from the code as it stands (deliberately, never from a test)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cohort = simulate(folder)
        for name in RUNS:
            out = run(cohort, folder, name)
            target = EXPECTED / name
            target.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(target)
            (target / SHAREABLE).mkdir(parents=True)
            tables = digest(out)
            for table in sorted(whole(tables)):
                (target / f"{table}.csv").write_bytes((out / f"{table}.csv").read_bytes())
            (target / "digests.json").write_text(
                json.dumps(tables, indent=2, sort_keys=True) + "\n"
            )
            print(f"{name}: {len(tables)} tables", file=sys.stderr)


if __name__ == "__main__":
    regenerate()
