"""`mmrwe run` (report included) and `mmrwe lines` on a simulated cohort, beside DuckDB.

    python benchmarks/bench_run.py [--patients 200000] [--cohort DIR] [--partition N]

Each command runs in its own process (its peak memory is its own, not the simulator's): wall
time, peak memory (max RSS), each stage's seconds and share, and the ratio to DuckDB reading
the same input (every table read and sorted by patient, into Arrow; for ``mmrwe lines`` the
treatments read and sorted by patient and start date). Reading and validating runs in a
background thread beside the analysis, so stage seconds are thread seconds and overlap: their
shares are of the wall time and can add up to more than 100 %. Issue 18 targets: ``mmrwe run``
on 1,000,000 patients with its report in at most 60 s and 4 GB on 2 cores, peak memory flat
within 20 % from 200,000 to 1,000,000 patients, the report at most 10 % of the run, ``mmrwe
lines`` at most 5x DuckDB reading and sorting the treatments.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _cohort import parquet_glob

HERE = Path(__file__).parent
#: the tables read for each command, and DuckDB's ORDER BY for each
ORDER = {
    "patients": "patient_id",
    "treatments": "patient_id, start_date",
    "labs": "patient_id, date",
    "responses": "patient_id, date",
    "adverse_events": "patient_id, onset_date",
}

#: run in a child process: one command's wall time, peak memory and stage timings, as JSON
CHILD = """
import json, resource, sys, time
from pathlib import Path
from mmrwe.study import run_study
cohort, out, stop, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
t = time.perf_counter()
r = run_study(Path(cohort), Path(out), stop_after=stop, report=stop == "population",
              partition_size=size or None, overwrite=True)
wall = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
print(json.dumps({"wall": wall, "peak_gb": peak, "timings": r.manifest["timings_seconds"],
                  "input_rows": r.patient_level["input_rows"]}))
"""

DUCKDB = """
import json, sys, time, duckdb
con = duckdb.connect()
con.execute("SET threads = 2")
t = time.perf_counter()
for glob, order in json.loads(sys.argv[1]):
    con.sql(f"SELECT * FROM read_parquet('{glob}') ORDER BY {order}").to_arrow_table()
print(json.dumps({"wall": time.perf_counter() - t}))
"""


def child(code: str, *args: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(HERE.parent / "src"))
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env
    )
    if done.returncode:  # show why, not only that, the measured command failed
        sys.exit(f"the measured command failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def duckdb_seconds(cohort: Path, tables: list[str]) -> float:
    pairs = [(parquet_glob(cohort, t), ORDER[t]) for t in tables if parquet_glob(cohort, t)]
    return child(DUCKDB, json.dumps(pairs))["wall"]


def show(title: str, m: dict, duck: float) -> None:
    wall, timings = m["wall"], m["timings"]
    print(
        f"\n{title}: {wall:.1f} s wall, peak memory {m['peak_gb']:.2f} GB, "
        f"{wall / duck:.1f}x DuckDB ({duck:.2f} s)"
    )
    print(f"  {'stage':<34}{'seconds':>9}{'of wall':>9}")
    for name, seconds in sorted(timings.items()):
        if name != "total":
            print(f"  {name:<34}{seconds:>9.2f}{seconds / wall:>9.0%}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=200_000)
    ap.add_argument("--cohort", type=Path, default=None, help="an existing simulated cohort")
    ap.add_argument("--partition", type=int, default=0, help="patients per partition")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    cohort = args.cohort
    if cohort is None:
        cohort = Path(tmp.name) / "cohort"
        code = "import sys; from mmrwe.simulate import simulate_cohort; "
        code += "simulate_cohort(sys.argv[1], n_patients=int(sys.argv[2]), seed=11); print('{}')"
        child(code, str(cohort), str(args.patients))
    load = os.getloadavg()[0]
    lines = child(CHILD, str(cohort), f"{tmp.name}/lines", "lines", str(args.partition))
    run = child(CHILD, str(cohort), f"{tmp.name}/run", "population", str(args.partition))
    n = run["input_rows"]["patients"]
    print(f"patients {n:,}; load average at start {load:.1f} (2 cores)")
    for name, rows in sorted(run["input_rows"].items()):
        print(f"  input {name:<20} {rows:>12,} rows")
    show("mmrwe lines", lines, duckdb_seconds(cohort, ["treatments"]))
    show("mmrwe run (report included)", run, duckdb_seconds(cohort, list(ORDER)))
    report = run["timings"].get("figures_report", 0.0)
    print(f"\nreport share of the run {report / run['wall']:.0%} (target <= 10 %)")


if __name__ == "__main__":
    main()
