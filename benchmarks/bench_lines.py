"""Line-of-therapy derivation speed on simulated treatments, beside DuckDB's read-and-sort floor.

    python benchmarks/bench_lines.py [--patients 200000] [--cohort DIR]

Prints the time of ``derive_lines_of_therapy`` (vocabulary mapping, compiled state machine,
exposure splitting, regimen naming) and of refractoriness on the cohort's treatments (the
derivation alone), the time of ``mmrwe lines`` end to end (``run_study(stop_after="lines")``:
reading, validation, derivation and writing), the time DuckDB takes to read the same treatments
and sort them by patient and date, both ratios, peak memory, and the projection to 1,000,000
patients. Issue 18 targets: the derivation alone at most 2x DuckDB, ``mmrwe lines`` end to end
at most 5x.
"""

from __future__ import annotations

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


def main() -> None:
    cohort_dir, _tmp = cohort_from_args(__doc__.splitlines()[0], seed=7)
    cohort = read_cohort(cohort_dir, tables=("responses",))  # what mmrwe lines reads
    n = cohort.n_patients
    rows = cohort.treatments.height

    con = duckdb.connect()
    t = time.perf_counter()
    con.sql(
        f"SELECT * FROM read_parquet('{parquet_glob(cohort_dir, 'treatments')}') ORDER BY patient_id, start_date"
    ).to_arrow_table()
    t_duck = time.perf_counter() - t

    derive_lines_of_therapy(
        cohort.__class__(cohort.patients.head(50), cohort.treatments.head(500))
    )  # compile
    t = time.perf_counter()
    result = derive_lines_of_therapy(cohort)
    t_lines = time.perf_counter() - t
    progression = cohort.responses.filter(pl.col("response") == "PD").select("patient_id", "date")
    t = time.perf_counter()
    derive_refractoriness(result.lines, result.line_exposures, progression)
    t_ref = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        run_study(cohort_dir, Path(out) / "lines", stop_after="lines", overwrite=True)
        t_end = time.perf_counter() - t
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2

    total = t_lines + t_ref
    print(f"patients                      {n:>12,}")
    print(f"treatment rows                {rows:>12,}")
    print(f"lines derived                 {result.lines.height:>12,}")
    print(f"derive_lines_of_therapy       {t_lines:>10.2f} s")
    print(f"derive_refractoriness         {t_ref:>10.2f} s")
    print(f"DuckDB read + sort treatments {t_duck:>10.2f} s")
    print(f"mmrwe lines end to end        {t_end:>10.2f} s")
    print(
        f"ratio derivation (lines + refractoriness) / DuckDB  {total / t_duck:>6.2f}x  (target <= 2x)"
    )
    print(
        f"ratio mmrwe lines end to end / DuckDB               {t_end / t_duck:>6.2f}x  (target <= 5x)"
    )
    print(
        f"projected to 1,000,000 patients          {total * 1_000_000 / n:>6.1f} s (target < 60 s)"
    )
    print(f"peak resident memory (whole process)     {peak_gb:>6.2f} GB")


if __name__ == "__main__":
    main()
