"""What the benchmarks share: a simulated cohort to measure on, and where its tables are."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from mmrwe.simulate import simulate_cohort


def cohort_from_args(description: str, seed: int) -> tuple[Path, tempfile.TemporaryDirectory]:
    """``--cohort DIR`` (an existing simulated cohort) or ``--patients N`` simulated now.

    Returns the cohort directory and the temporary directory that holds it (keep it alive).
    """
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--patients", type=int, default=200_000)
    ap.add_argument("--cohort", type=Path, default=None, help="an existing simulated cohort")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    if args.cohort is not None:
        return args.cohort, tmp
    cohort_dir = Path(tmp.name) / "cohort"
    t = time.perf_counter()
    simulate_cohort(cohort_dir, n_patients=args.patients, seed=seed)
    print(f"simulated {args.patients:,} patients in {time.perf_counter() - t:.1f} s")
    return cohort_dir, tmp


def parquet_glob(cohort: Path, table: str) -> str | None:
    """The Parquet file or parts of ``table`` as a DuckDB glob, or None if absent."""
    if (cohort / table).is_dir():
        return str(cohort / table / "*.parquet")
    if (cohort / f"{table}.parquet").exists():
        return str(cohort / f"{table}.parquet")
    return None
