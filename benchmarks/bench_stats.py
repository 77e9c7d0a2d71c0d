"""Speed of mmrwe.stats beside lifelines on the same simulated data.

Kaplan–Meier and log-rank on 10 million rows (integer days, two arms), Cox regression with
one covariate on 1 million rows. Prints seconds (best of ``--repeat`` runs; lifelines' Cox is
run once) and the ratio lifelines / mmrwe, plus the estimates of both as a sanity check.

    python benchmarks/bench_stats.py [--rows 10000000] [--cox-rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd


def simulate(n: int, seed: int = 20240601) -> dict[str, np.ndarray]:
    """Two arms, exponential event times (median ~1 year, hazard ratio 0.74 in arm 1),
    uniform censoring over 10 years; times in whole days >= 1."""
    rng = np.random.default_rng(seed)
    arm = rng.integers(0, 2, n)
    x = rng.normal(size=n)
    rate = np.log(2) / 365 * np.exp(-0.3 * arm + 0.2 * x)
    event_time = np.ceil(rng.exponential(1 / rate)).astype(np.int64)
    censor = rng.integers(1, 3651, n)
    return {
        "time": np.minimum(event_time, censor),
        "event": event_time <= censor,
        "arm": arm,
        "x": x,
    }


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--cox-rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-lifelines-cox", action="store_true")
    args = parser.parse_args()

    from lifelines import CoxPHFitter, KaplanMeierFitter
    from lifelines.statistics import logrank_test

    from mmrwe.stats import CoxPH, KaplanMeier, LogRankTest

    warnings.simplefilter("ignore")
    d = simulate(args.rows)
    t, e, arm = d["time"], d["event"], d["arm"]
    rows = []

    def ours_km() -> float:
        return KaplanMeier().fit(t, e).median_[0]

    def ll_km() -> float:
        return KaplanMeierFitter().fit(t, e).median_survival_time_

    rows.append(
        ("Kaplan–Meier (median)", args.rows, *best(ours_km, args.repeat), *best(ll_km, args.repeat))
    )

    def ours_km_arm() -> list[float]:
        return KaplanMeier().fit(t, e, group=arm).median_

    def ll_km_arm() -> list[float]:
        return [
            KaplanMeierFitter().fit(t[arm == a], e[arm == a]).median_survival_time_ for a in (0, 1)
        ]

    rows.append(
        (
            "Kaplan–Meier by arm",
            args.rows,
            *best(ours_km_arm, args.repeat),
            *best(ll_km_arm, args.repeat),
        )
    )

    def ours_lr() -> float:
        return LogRankTest().fit(t, e, arm).chisq_

    def ll_lr() -> float:
        a = arm == 0
        return logrank_test(t[a], t[~a], e[a], e[~a]).test_statistic

    rows.append(
        ("log-rank (chi-square)", args.rows, *best(ours_lr, args.repeat), *best(ll_lr, args.repeat))
    )

    n = args.cox_rows
    tc, ec, xc = t[:n], e[:n], np.column_stack([arm[:n], d["x"][:n]])[:, :1]

    def ours_cox() -> float:
        return float(CoxPH().fit(xc, tc, ec).params_[0])

    def ll_cox() -> float:
        df = pd.DataFrame({"time": tc, "event": ec, "arm": xc[:, 0]})
        return float(CoxPHFitter().fit(df, "time", "event").params_.iloc[0])

    ours = best(ours_cox, args.repeat)
    theirs = (float("nan"), None) if args.skip_lifelines_cox else best(ll_cox, 1)
    rows.append(("Cox PH, Efron, 1 covariate (coef)", n, *ours, *theirs))

    print(f"{'task':36} {'rows':>11} {'mmrwe s':>9} {'lifelines s':>12} {'ratio':>7}  estimates")
    for task, m, t_ours, v_ours, t_ll, v_ll in rows:
        ratio = t_ll / t_ours if t_ll == t_ll else float("nan")
        print(
            f"{task:36} {m:>11,} {t_ours:>9.3f} {t_ll:>12.3f} {ratio:>7.1f}  "
            f"mmrwe {_show(v_ours)} | lifelines {_show(v_ll)}"
        )


def _show(v: Any) -> str:
    if isinstance(v, list):
        return ", ".join(_show(x) for x in v)
    return "-" if v is None else f"{v:.6g}"


if __name__ == "__main__":
    main()
