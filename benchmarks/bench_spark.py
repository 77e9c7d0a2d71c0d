"""The Spark engine against the local engine on the same machine: ratio, where Spark's overhead
goes, and a fitted per-patient cost to size a cluster.

    python benchmarks/bench_spark.py [--patients 50000 100000 200000] [--master local[2]]

For each cohort size: simulate the cohort, run the default study (tables only) with the local
engine and with the Spark engine (one SparkSession for all sizes; its start-up is printed once
and left out of the per-size times), and print the patient-level step of each, its ratio and the
Spark engine's stages (writing the cohort's buckets as Parquet, the Spark job of the chain's
calls, reading back what the summaries need). Inside the calls (summed over the calls): the
chain's own seconds, and reading and writing each bucket's Parquet. The load average and the
CPU seconds of this process and its children (Spark's JVM and Python workers) are printed, as
wall times on a shared machine mislead. A least-squares
line through the sizes gives each engine's fixed cost and cost per patient, projected to 50k,
100k and 200k patients. Not a timed test: it prints.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from mmrwe.engine.spark import SparkEngine, start_session
from mmrwe.simulate import simulate_cohort
from mmrwe.study import run_study

SPARK_STAGES = ("spark_input", "spark_chain", "spark_collect")
CHAIN_STAGES = ("lines", "response", "refractoriness", "endpoints", "population")
CALL_STAGES = ("spark_call.read", "spark_call.write")


def tree_cpu() -> float:
    """CPU seconds (user + system) of this process and all its descendants, alive or reaped
    (Spark's JVM and its Python workers are descendants): from /proc, 0 where there is none."""
    return sum(cpu for cpu, _ in _tree().values())


def tree_peak_gb() -> float:
    """The sum of the peak resident memory (VmHWM) of this process and its live descendants,
    in GB: an upper bound of the run's peak (the processes need not peak together)."""
    return sum(peak for _, peak in _tree().values()) / 2**20


def _tree() -> dict[int, tuple[float, float]]:
    """CPU seconds (with reaped children's) and peak resident KiB of this process and each of
    its live descendants, from /proc."""
    children: dict[int, list[int]] = {}
    seconds: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        seconds[int(entry.name)] = sum(int(x) for x in fields[11:15]) / tick
    out, todo = {}, [os.getpid()]
    while todo:
        pid = todo.pop()
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            peak = float(next(t.split()[1] for t in status.splitlines() if t.startswith("VmHWM")))
        except (OSError, StopIteration):
            peak = 0.0
        out[pid] = (seconds.get(pid, 0.0), peak)
        todo += children.get(pid, [])
    return out


def measure(cohort: Path, work: Path, engine: SparkEngine | None) -> dict[str, float]:
    """One run's manifest timings (seconds), with the wall time and CPU seconds of the run."""
    out = work / ("spark" if engine else "local")
    t, cpu = time.perf_counter(), tree_cpu()
    result = run_study(cohort, out, report=False, engine=engine, overwrite=True)
    timings = dict(result.manifest["timings_seconds"])
    timings["wall"] = time.perf_counter() - t
    timings["cpu"] = tree_cpu() - cpu
    return timings


def report(n: int, local: dict[str, float], spark: dict[str, float]) -> None:
    """Print one size's comparison."""
    lp, sp = local["patient_level"], spark["patient_level"]
    print(f"\n{n:,} patients")
    for name, t in (("local", local), ("spark", spark)):
        print(
            f"  {name} engine  patient-level {t['patient_level']:8.1f} s   run {t['wall']:8.1f} s"
            f" wall, {t['cpu']:8.1f} s CPU"
        )
    print(f"  ratio spark / local (patient-level) {sp / lp:5.2f}")
    chain = sum(spark.get(f"patient_level.{s}", 0.0) for s in CHAIN_STAGES)
    for stage in SPARK_STAGES:
        seconds = spark.get(f"patient_level.{stage}", 0.0)
        print(f"    {stage:<16}{seconds:8.1f} s  {seconds / sp:5.0%}")
    print(f"    chain inside the calls (summed over calls) {chain:8.1f} s")
    for stage in CALL_STAGES:
        print(f"    {stage} (summed over calls) {spark.get(f'patient_level.{stage}', 0.0):8.1f} s")


def fit(sizes: list[int], seconds: list[float]) -> tuple[float, float]:
    """Least-squares fixed cost (s) and cost per patient (s) of ``seconds`` against ``sizes``."""
    if len(sizes) == 1:
        return 0.0, seconds[0] / sizes[0]
    slope, intercept = np.polyfit(np.array(sizes, float), np.array(seconds, float), 1)
    return float(intercept), float(slope)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, nargs="+", default=[50_000, 100_000, 200_000])
    ap.add_argument("--master", default="local[2]")
    args = ap.parse_args()
    print(f"load average (1, 5, 15 min) at start: {os.getloadavg()}")
    t = time.perf_counter()
    session = start_session(args.master)
    print(
        f"SparkSession {session.version} on {args.master} started in {time.perf_counter() - t:.1f} s"
    )
    engine = SparkEngine(session=session)
    rows: list[tuple[int, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.patients:
            cohort = Path(tmp) / f"cohort{n}"
            simulate_cohort(cohort, n_patients=n, seed=11)
            local = measure(cohort, Path(tmp), None)
            spark = measure(cohort, Path(tmp), engine)
            report(n, local, spark)
            print(f"  peak resident memory, summed over the process tree: {tree_peak_gb():.1f} GB")
            rows.append((n, local["patient_level"], spark["patient_level"]))
            print(f"  load average now: {os.getloadavg()}")
            print_fit(rows)  # after every size: a run stopped early still gives its fit
    session.stop()


def print_fit(rows: list[tuple[int, float, float]]) -> None:
    """Each engine's fitted fixed cost and cost per patient, projected to 50k/100k/200k."""
    sizes = [r[0] for r in rows]
    print("\nfitted patient-level cost so far: fixed + per patient (projection)")
    for name, column in (("local", 1), ("spark", 2)):
        fixed, per = fit(sizes, [r[column] for r in rows])
        projection = ", ".join(
            f"{k // 1000}k {fixed + per * k:.0f} s" for k in (50_000, 100_000, 200_000)
        )
        print(f"  {name:<6} {fixed:6.1f} s + {per * 1e3:.3f} ms/patient  ({projection})")


if __name__ == "__main__":
    main()
