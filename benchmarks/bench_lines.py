"""Line-of-therapy derivation speed on simulated treatments, beside DuckDB's read-and-sort floor.

    python benchmarks/bench_lines.py [--patients 200000] [--cohort DIR]

Prints the time of ``derive_lines_of_therapy`` (vocabulary mapping, compiled state machine,
exposure splitting, regimen naming) and of refractoriness on the cohort's treatments (the
derivation alone), the time of ``mmrwe lines`` end to end (``run_study(stop_after="lines")``:
reading, validation, derivation and writing), the time DuckDB takes to read the same treatments
and sort them by patient and date, both ratios, peak memory, and the projection to 1,000,000
patients. Issue 18 targets: the derivation alone at most 2x DuckDB, ``mmrwe lines`` end to end
at most 5x. Each time is given as wall seconds and as the process's CPU seconds (user + system,
all threads): on a shared machine other processes inflate wall time, not CPU time, so the CPU
ratios are the ones to compare between runs; the 1-minute load average is printed with them.
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from pathlib import Path

import duckdb
import polars as pl

from _cohort import cohort_from_args, parquet_glob
from mmrwe.io.read import read_cohort
from mmrwe.lines import derive_lines_of_therapy, derive_refractoriness
from mmrwe.study import run_study


def _cpu() -> float:
    """CPU seconds of this process so far (user + system, all threads)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class _Clock:
    """Wall and CPU seconds of one step."""

    def __enter__(self) -> _Clock:
        self.wall, self.cpu = time.perf_counter(), _cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, _cpu() - self.cpu


def main() -> None:
    cohort_dir, _tmp = cohort_from_args(__doc__.splitlines()[0], seed=7)
    cohort = read_cohort(cohort_dir, tables=("responses",))  # what mmrwe lines reads
    n = cohort.n_patients
    rows = cohort.treatments.height

    load = os.getloadavg()[0]
    con = duckdb.connect()
    with _Clock() as duck:
        con.sql(
            f"SELECT * FROM read_parquet('{parquet_glob(cohort_dir, 'treatments')}') ORDER BY patient_id, start_date"
        ).to_arrow_table()

    derive_lines_of_therapy(
        cohort.__class__(cohort.patients.head(50), cohort.treatments.head(500))
    )  # compile
    with _Clock() as lines:
        result = derive_lines_of_therapy(cohort)
    progression = cohort.responses.filter(pl.col("response") == "PD").select("patient_id", "date")
    with _Clock() as ref:
        derive_refractoriness(result.lines, result.line_exposures, progression)
    with tempfile.TemporaryDirectory() as out, _Clock() as end:
        run_study(cohort_dir, Path(out) / "lines", stop_after="lines", overwrite=True)
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2

    wall, cpu = lines.wall + ref.wall, lines.cpu + ref.cpu
    print(f"patients                      {n:>12,}")
    print(f"treatment rows                {rows:>12,}")
    print(f"lines derived                 {result.lines.height:>12,}")
    print(f"load average (1 min)          {load:>12.2f}   ({os.cpu_count()} CPUs)")
    print("                                wall s     CPU s")
    for name, clock in (
        ("derive_lines_of_therapy", lines),
        ("derive_refractoriness", ref),
        ("DuckDB read + sort treatments", duck),
        ("mmrwe lines end to end", end),
    ):
        print(f"{name:<30}{clock.wall:>8.2f}  {clock.cpu:>8.2f}")
    print("                                          wall      CPU")
    print(
        f"ratio derivation (lines + refractoriness) / DuckDB  {wall / duck.wall:>6.2f}x  "
        f"{cpu / duck.cpu:>6.2f}x  (target <= 2x)"
    )
    print(
        f"ratio mmrwe lines end to end / DuckDB               {end.wall / duck.wall:>6.2f}x  "
        f"{end.cpu / duck.cpu:>6.2f}x  (target <= 5x)"
    )
    print(
        f"projected to 1,000,000 patients (derivation, wall)  {wall * 1_000_000 / n:>6.1f} s (target < 60 s)"
    )
    print(f"peak resident memory (whole process)     {peak_gb:>6.2f} GB")


if __name__ == "__main__":
    main()
