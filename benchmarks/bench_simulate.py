"""Throughput of ``simulate_cohort``: patients/s, rows per table, peak RSS, projection to 1M.

    python benchmarks/bench_simulate.py --patients 200000 [--format parquet|csv] [--out DIR]

Peak RSS is the process's maximum resident set size (``resource.getrusage``), so run one
measurement per process. The projection to 1,000,000 patients scales the wall time linearly
(the simulator works in fixed blocks, so time and memory per patient do not grow with the
cohort; memory is bounded by one partition).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from mmrwe.simulate import simulate_cohort


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    ap.add_argument("--partition-size", type=int, default=50_000)
    ap.add_argument("--out", type=Path, default=None, help="keep the cohort here")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mmrwe-bench-"))
    out = args.out or tmp / "cohort"
    t0 = time.perf_counter()
    summary = simulate_cohort(
        out,
        args.patients,
        seed=args.seed,
        format=args.format,
        partition_size=args.partition_size,
        overwrite=True,
    )
    wall = time.perf_counter() - t0
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(
        f"patients            {args.patients:,} ({args.format}, partitions of {args.partition_size:,})"
    )
    print(f"wall time           {wall:.1f} s")
    print(f"patients/s          {args.patients / wall:,.0f}")
    for name, rows in summary.rows.items():
        print(f"rows {name:<20} {rows:>14,}  ({rows / args.patients:.1f} per patient)")
    print(f"bytes on disk       {size / 1e6:,.1f} MB")
    print(f"peak RSS            {rss_kb / 1024:,.0f} MB")
    print(f"projected 1M        {wall * 1_000_000 / args.patients / 60:.1f} min")
    if args.out is None:
        shutil.rmtree(tmp, ignore_errors=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
