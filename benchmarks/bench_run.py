"""The whole analysis (`mmrwe run`, figures excluded) on a simulated cohort: time per stage.

    python benchmarks/bench_run.py [--patients 200000] [--cohort DIR]

Prints the time of each stage of ``run_study`` (read and validate; the patient-level stages —
lines, response, refractoriness, endpoints, population — partition by partition; summaries and
writing), its share of the total, the peak memory of the process and the projection to
1,000,000 patients. Issue target: 1,000,000 patients in under 5 minutes and 12 GB on 2 cores.
"""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path

from _cohort import cohort_from_args
from mmrwe.study import run_study


def main() -> None:
    cohort_dir, _tmp = cohort_from_args(__doc__.splitlines()[0], seed=11)
    out = Path(tempfile.mkdtemp()) / "run"
    stages: list[tuple[str, float]] = []
    t0 = time.perf_counter()
    result = run_study(
        cohort_dir,
        out,
        report=False,
        on_stage=lambda name: stages.append((name, time.perf_counter())),
    )
    total = time.perf_counter() - t0
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    timings = result.manifest["timings_seconds"]
    n = result.manifest["input_rows"]["patients"]
    print(f"patients                    {n:>12,}")
    for name, rows in sorted(result.manifest["input_rows"].items()):
        print(f"  input {name:<20} {rows:>12,} rows")
    for name, rows in sorted(result.manifest["outputs"].items()):
        print(f"  output {name:<19} {rows:>12,} rows")
    print(f"{'stage':<28}{'seconds':>10}{'share':>8}")
    for name in ("read_validate", "patient_level", "summaries"):
        print(f"{name:<28}{timings[name]:>10.2f}{timings[name] / total:>8.0%}")
        subs = {k.split(".", 1)[1]: v for k, v in timings.items() if k.startswith(name + ".")}
        busy = sum(subs.values())
        for sub, seconds in subs.items():
            # stage seconds add up over the worker threads: shares are of their sum
            print(f"  {sub:<26}{seconds:>10.2f}{seconds / busy:>8.0%}  (of thread time)")
    rest = total - sum(timings[k] for k in ("read_validate", "patient_level", "summaries"))
    print(f"{'writing and the rest':<28}{rest:>10.2f}{rest / total:>8.0%}")
    print(f"{'total':<28}{total:>10.2f}")
    print(f"peak memory (max RSS)       {peak_gb:>10.2f} GB")
    print(
        f"projected to 1,000,000 patients: {total * 1_000_000 / n:.0f} s "
        "(target < 300 s; memory is bounded by the partition of 25,000 patients, "
        "plus the cohort as read)"
    )


if __name__ == "__main__":
    main()
