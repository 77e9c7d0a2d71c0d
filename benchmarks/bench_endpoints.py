"""Endpoint derivation speed on the outputs of the response stage.

    python benchmarks/bench_endpoints.py [--patients 200000] [--cohort DIR]

Derives lines, assessments and line response once (not timed), then times ``derive_endpoints``
(PFS, OS, TTNT, DOR, TTR, TTD of every line; best of 3 runs) and ``to_adtte``; prints rows per
second and the projection to 1,000,000 patients (linear: every step is a join, an as-of join or a
column expression over the lines).
"""

from __future__ import annotations

import resource
import time

from _cohort import cohort_from_args
from mmrwe.endpoints import derive_endpoints, to_adtte
from mmrwe.io.read import read_cohort
from mmrwe.lines import derive_lines_of_therapy
from mmrwe.response import derive_assessments, derive_line_response


def main() -> None:
    cohort_dir, _tmp = cohort_from_args(__doc__.splitlines()[0], seed=7)
    cohort = read_cohort(cohort_dir)
    lot = derive_lines_of_therapy(cohort)
    assessments = derive_assessments(cohort.labs, lot.lines)
    line_response = derive_line_response(assessments, lot.lines, cohort.responses, cohort.patients)
    n = cohort.n_patients
    args = (lot.lines, lot.line_exposures, line_response, assessments, cohort.responses)
    times = []
    for _ in range(3):
        t = time.perf_counter()
        endpoints = derive_endpoints(*args, cohort.patients)
        times.append(time.perf_counter() - t)
    t_end = min(times)
    t = time.perf_counter()
    to_adtte(endpoints)
    t_adtte = time.perf_counter() - t
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2

    print(f"patients                          {n:>12,}")
    print(f"lines                             {lot.lines.height:>12,}")
    print(f"line_exposures rows               {lot.line_exposures.height:>12,}")
    print(f"assessments rows                  {assessments.height:>12,}")
    print(f"responses rows                    {cohort.responses.height:>12,}")
    print(f"endpoint rows                     {endpoints.height:>12,}")
    print(
        f"derive_endpoints (best of 3)      {t_end:>10.2f} s  ({endpoints.height / t_end:,.0f} rows/s)"
    )
    print(f"to_adtte                          {t_adtte:>10.2f} s")
    print(f"projected to 1,000,000 patients   {t_end * 1_000_000 / n:>10.2f} s")
    print(f"peak resident memory (whole process) {peak_gb:>6.2f} GB")


if __name__ == "__main__":
    main()
