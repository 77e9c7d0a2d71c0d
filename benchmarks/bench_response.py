"""IMWG response speed on simulated labs, beside DuckDB's read-and-sort floor.

    python benchmarks/bench_response.py [--patients 200000] [--cohort DIR]

Prints the time of ``derive_assessments`` (windows, per-assessment maxima, baselines, nadirs,
categories, confirmation, reasons) and ``derive_line_response`` on the cohort's labs and lines,
the time DuckDB takes to read the same labs and sort them by patient, date and test, their ratio,
peak memory, and the projection to 1,000,000 patients. Issue target: at most 3x DuckDB; memory
bounded by the patients given (``mmrwe response`` gives partitions of 10,000). The process CPU time of
each part and the load average are printed too: on a shared machine the wall-clock ratio moves
with the load, CPU time much less.
"""

from __future__ import annotations

import gc
import os
import resource
import time

import duckdb

from _cohort import cohort_from_args, parquet_glob
from mmrwe.io.read import read_cohort
from mmrwe.lines import derive_lines_of_therapy
from mmrwe.response import derive_assessments, derive_line_response


def main() -> None:
    cohort_dir, _tmp = cohort_from_args(__doc__.splitlines()[0], seed=7)
    cohort = read_cohort(cohort_dir)
    lines = derive_lines_of_therapy(cohort).lines
    n = cohort.n_patients

    load = os.getloadavg()[0]
    con = duckdb.connect()
    t, c = time.perf_counter(), time.process_time()
    sorted_labs = con.sql(
        f"SELECT * FROM read_parquet('{parquet_glob(cohort_dir, 'labs')}') ORDER BY patient_id, date, test"
    ).to_arrow_table()
    t_duck, c_duck = time.perf_counter() - t, time.process_time() - c
    del sorted_labs
    con.close()
    gc.collect()

    few = lines.head(200)
    derive_line_response(
        derive_assessments(cohort.labs.head(20_000), few), few, cohort.responses, cohort.patients
    )  # compile the kernels
    t, c = time.perf_counter(), time.process_time()
    assessments = derive_assessments(cohort.labs, lines)
    t_assess, c_assess = time.perf_counter() - t, time.process_time() - c
    t, c = time.perf_counter(), time.process_time()
    line_response = derive_line_response(assessments, lines, cohort.responses, cohort.patients)
    t_best, c_best = time.perf_counter() - t, time.process_time() - c
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2

    total = t_assess + t_best
    print(f"patients                          {n:>12,}")
    print(f"lab rows                          {cohort.labs.height:>12,}")
    print(f"lines                             {lines.height:>12,}")
    print(f"assessments                       {assessments.height:>12,}")
    print(f"derive_assessments                {t_assess:>10.2f} s   (CPU {c_assess:.2f} s)")
    print(
        f"derive_line_response              {t_best:>10.2f} s   (CPU {c_best:.2f} s; {line_response.height:,} lines)"
    )
    print(f"DuckDB read + sort labs           {t_duck:>10.2f} s   (CPU {c_duck:.2f} s)")
    print(f"ratio (assessments + best) / DuckDB  {total / t_duck:>6.2f}x   (target <= 3x)")
    print(f"  the same in CPU time               {(c_assess + c_best) / c_duck:>6.2f}x")
    print(f"projected to 1,000,000 patients      {total * 1_000_000 / n:>6.1f} s")
    print(f"peak resident memory (whole process) {peak_gb:>6.2f} GB")
    print(f"load average (1 min) at the start    {load:>6.2f}   ({os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
