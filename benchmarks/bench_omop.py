"""The OMOP source against native Parquet: the same simulated cohort read both ways.

Issue 16's target: reading a 200,000-patient simulated CDM from DuckDB (``read_omop``) costs at
most 2× reading the same cohort from native Parquet (``read_cohort``). Reads alternate (native,
OMOP, native, OMOP …) so that a change in the machine's load falls on both; the load average is
printed with every figure.

    python benchmarks/bench_omop.py --patients 200000            # simulate both, then measure
    python benchmarks/bench_omop.py --cohort DIR --cdm CDM.duckdb  # an existing pair (same seed)
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

from mmrwe.io import read_cohort
from mmrwe.omop import read_omop

SEED = 1


def _pair(args: argparse.Namespace, tmp: Path) -> tuple[Path, Path]:
    """The native cohort and its CDM, simulated with the same seed unless given."""
    if args.cohort and args.cdm:
        return args.cohort, args.cdm
    from mmrwe.omop.render import simulate_omop
    from mmrwe.simulate import simulate_cohort

    t = time.perf_counter()
    simulate_cohort(tmp / "cohort", n_patients=args.patients, seed=SEED)
    simulate_omop(tmp / "cdm.duckdb", n_patients=args.patients, seed=SEED)
    print(f"simulated {args.patients:,} patients twice in {time.perf_counter() - t:.0f} s")
    return tmp / "cohort", tmp / "cdm.duckdb"


def _cpu() -> float:
    """CPU seconds of this process (user + system, every thread: DuckDB's and Polars' too)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _timed(read, source) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    t, c = time.perf_counter(), _cpu()
    cohort = read(source)
    seconds, cpu = time.perf_counter() - t, _cpu() - c
    print(
        f"  {read.__name__:<12} {seconds:7.1f} s wall {cpu:7.1f} s CPU  {cohort.n_patients:,} "
        f"patients, {cohort.labs.height:,} labs  (load {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    return seconds, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=200_000)
    ap.add_argument("--cohort", type=Path, help="an existing simulated native cohort")
    ap.add_argument(
        "--cdm", type=Path, help="the same cohort as a CDM (mmrwe simulate --format omop)"
    )
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        native, cdm = _pair(args, Path(tmp))
        url = f"omop+duckdb://{cdm.resolve()}"
        times: dict[str, list[tuple[float, float]]] = {"native": [], "omop": []}
        for _ in range(args.repeats):
            times["native"].append(_timed(read_cohort, native))
            times["omop"].append(_timed(read_omop, url))
        for i, what in enumerate(("wall", "CPU")):
            n = statistics.median(t[i] for t in times["native"])
            o = statistics.median(t[i] for t in times["omop"])
            print(
                f"median {what}: native {n:.1f} s, OMOP {o:.1f} s: OMOP / native = {o / n:.2f}× "
                "(target ≤ 2×)"
            )


if __name__ == "__main__":
    main()
