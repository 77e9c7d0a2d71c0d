"""Read + validate throughput of the native cohort format on a simulated cohort.

    python benchmarks/bench_io.py [--patients 200000] [--cohort DIR]

Prints rows per table, the time of ``read_cohort`` (read, type, convert units, run every check,
sort), rows per second, its peak memory (measured before anything else runs), the time of a read
without labs (``tables=``), the time DuckDB takes just to read the same Parquet files (the floor)
and the projections to 1,000,000 patients. Memory: the typed tables grow with the cohort, while
the rest of the peak (the interpreter, one chunk of raw text and its intermediates) depends on the
size of a part, not on the number of parts; both figures are printed.
"""

from __future__ import annotations

import resource
import time

import duckdb

from _cohort import cohort_from_args, parquet_glob
from mmrwe.io.read import read_cohort
from mmrwe.io.schema import TABLES


def main() -> None:
    cohort_dir, _tmp = cohort_from_args(__doc__.splitlines()[0], seed=11)

    t = time.perf_counter()
    cohort = read_cohort(cohort_dir)
    t_read = time.perf_counter() - t
    # peak of the process so far: read_cohort's (the DuckDB floor below runs afterwards)
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    counts = cohort.row_counts()
    typed_gb = sum(cohort.table(t).estimated_size() for t in counts) / 1024**3
    n = cohort.n_patients
    n_problems = len(cohort.report.problems)
    del cohort

    t = time.perf_counter()
    read_cohort(cohort_dir, tables=("responses", "adverse_events"))
    t_no_labs = time.perf_counter() - t

    con = duckdb.connect()
    t = time.perf_counter()
    for table in TABLES:
        glob = parquet_glob(cohort_dir, table)
        if glob:
            con.sql(f"SELECT * FROM read_parquet('{glob}')").to_arrow_table()
    t_duck = time.perf_counter() - t

    total_rows = sum(counts.values())
    for table, rows in counts.items():
        print(f"{table:<16} {rows:>14,} rows")
    print(
        f"read_cohort (read + validate + sort)  {t_read:>8.2f} s  {total_rows / t_read:>12,.0f} rows/s"
    )
    print(
        f"read_cohort without labs              {t_no_labs:>8.2f} s  (tables=responses, adverse_events)"
    )
    print(f"DuckDB read of the same files         {t_duck:>8.2f} s  (ratio {t_read / t_duck:.1f}x)")
    print(f"problems found                        {n_problems:>8,}")
    print(f"projected to 1,000,000 patients       {t_read * 1_000_000 / n:>8.1f} s")
    print(f"peak resident memory of read_cohort   {peak_gb:>8.2f} GB")
    print(f"typed tables held in memory           {typed_gb:>8.2f} GB")
    scale = 1_000_000 / n
    working = peak_gb - typed_gb  # interpreter, one chunk of raw text and its intermediates
    print(
        f"projected to 1,000,000 patients       {working + typed_gb * scale:>8.1f} GB "
        f"(typed tables x{scale:g} + the rest as measured, parts of the same size); "
        f"{peak_gb * scale:.1f} GB if everything grew"
    )


if __name__ == "__main__":
    main()
