"""Tune the simulator's parameters to the published targets and print the calibration table.

Targets: median PFS of lines 1-5 (Jagannath S, Expert Rev Hematol 2016;9:707: 11.1, 10.5, 7.9,
7.2, 5.4 months) and median OS from the start of lines 1 and 4 (Verelst SGR, HemaSphere
2018;2:e45: 37.5 and 9.2 months), line numbers counted from the first treatment, computed by
Kaplan-Meier (lifelines) on the truth tables of a simulated cohort.

    python benchmarks/calibrate_simulate.py                 # print achieved vs target
    python benchmarks/calibrate_simulate.py --tune --write  # re-tune, write parameters.csv
"""

from __future__ import annotations

import argparse
import csv
from importlib.resources import files

import numpy as np
import polars as pl
from lifelines import KaplanMeierFitter

from mmrwe.simulate.block import BLOCK_SIZE, simulate_block
from mmrwe.simulate.parameters import DAYS_PER_MONTH, Parameters

PFS_TARGET = {1: 11.1, 2: 10.5, 3: 7.9, 4: 7.2, 5: 5.4}
OS_TARGET = {1: 37.5, 4: 9.2}
ORR_TABLE = ("Rd", "D-Rd", "Vd", "D-Vd", "Isa-Pd", "Pd", "IRd", "belantamab", "ide-cel",
             "cilta-cel", "teclistamab")  # fmt: skip


def km_median(days: np.ndarray, event: np.ndarray) -> float:
    """Kaplan-Meier median in months (lifelines)."""
    fit = KaplanMeierFitter().fit(days / DAYS_PER_MONTH, event)
    return float(fit.median_survival_time_)


def truth_tables(n: int, seed: int, prm: Parameters) -> dict[str, pl.DataFrame]:
    """Simulate ``n`` patients in memory and return patients and the truth tables."""
    blocks = [
        simulate_block(seed, b, min(BLOCK_SIZE, n - b * BLOCK_SIZE), prm)
        for b in range((n + BLOCK_SIZE - 1) // BLOCK_SIZE)
    ]
    names = ("patients", "truth/lines", "truth/progression", "truth/best_response")
    return {k: pl.concat([b[k] for b in blocks]) for k in names}


def metrics(t: dict[str, pl.DataFrame]) -> dict[str, float]:
    """Median PFS by line 1-6, median OS from lines 1-6, ORR by regimen, lines reached."""
    out: dict[str, float] = {}
    prog = t["truth/progression"].with_columns(
        days=(pl.col("pfs_end_date") - pl.col("index_date")).dt.total_days(),
        event=pl.col("pfs_event") != "censored",
    )
    os_ = (
        t["truth/lines"]
        .join(
            t["patients"].select("patient_id", "death_date", "last_contact_date"), on="patient_id"
        )
        .with_columns(
            days=(
                pl.coalesce("death_date", "last_contact_date") - pl.col("start_date")
            ).dt.total_days(),
            event=pl.col("death_date").is_not_null(),
        )
    )
    for line in range(1, 7):
        p = prog.filter(pl.col("line") == line)
        o = os_.filter(pl.col("line") == line)
        out[f"pfs_{line}"] = km_median(p["days"].to_numpy(), p["event"].to_numpy())
        out[f"os_{line}"] = km_median(o["days"].to_numpy(), o["event"].to_numpy())
        out[f"n_{line}"] = float(p.height)
    br = (
        t["truth/best_response"]
        .join(t["truth/lines"].select("patient_id", "line", "regimen"), on=["patient_id", "line"])
        .filter(pl.col("best_response") != "NE")
    )
    rates = br.group_by("regimen").agg(
        orr=pl.col("best_response").is_in(["sCR", "CR", "VGPR", "PR"]).mean(), n=pl.len()
    )
    for row in rates.iter_rows(named=True):
        out[f"orr_{row['regimen']}"] = row["orr"]
        out[f"orr_n_{row['regimen']}"] = row["n"]
    return out


def tune(prm: Parameters, n: int, seed: int, rounds: int) -> Parameters:
    """Multiplicative fixed-point updates of the TTP medians and the post-progression death."""
    for r in range(rounds):
        m = metrics(truth_tables(n, seed, prm))
        ttp = list(prm.ttp_median_months)
        for line, target in PFS_TARGET.items():
            ttp[line - 1] *= (target / m[f"pfs_{line}"]) ** 0.8
        ttp[5] = min(ttp[5], ttp[4] * 0.85)
        a = prm.pp_death_logit_intercept + 1.5 * np.log(m["os_1"] / OS_TARGET[1])
        b = prm.pp_death_logit_slope + 0.5 * np.log(m["os_4"] / OS_TARGET[4])
        prm = prm.with_values(
            ttp_median_months=tuple(round(x, 3) for x in ttp),
            pp_death_logit_intercept=round(float(a), 3),
            pp_death_logit_slope=round(float(b), 3),
        )
        print(
            f"round {r + 1}: "
            + ", ".join(
                f"{k}={m[k]:.1f}"
                for k in ("pfs_1", "pfs_2", "pfs_3", "pfs_4", "pfs_5", "os_1", "os_4")
            )
        )
    return prm


def write_parameters(prm: Parameters) -> None:
    path = files("mmrwe.simulate").joinpath("parameters.csv")
    rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    values = {f"ttp_median_months_{i + 1}": v for i, v in enumerate(prm.ttp_median_months)}
    values["pp_death_logit_intercept"] = prm.pp_death_logit_intercept
    values["pp_death_logit_slope"] = prm.pp_death_logit_slope
    for row in rows:
        if row["name"] in values:
            row["value"] = str(values[row["name"]])
    with open(str(path), "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def report(m: dict[str, float]) -> None:
    print("| measure | target (months) | achieved | difference | source |")
    print("|---|---|---|---|---|")
    for line, target in PFS_TARGET.items():
        a = m[f"pfs_{line}"]
        print(
            f"| median PFS line {line} | {target} | {a:.1f} | {100 * (a / target - 1):+.0f} % | Jagannath 2016 |"
        )
    for line, target in OS_TARGET.items():
        a = m[f"os_{line}"]
        print(
            f"| median OS from line {line} | {target} | {a:.1f} | {100 * (a / target - 1):+.0f} % | Verelst 2018 |"
        )
    print(
        "\nmedian OS from the start of lines 1-6:",
        ", ".join(f"{m[f'os_{i}']:.1f}" for i in range(1, 7)),
    )
    print("patients starting lines 1-6:", ", ".join(f"{m[f'n_{i}']:.0f}" for i in range(1, 7)))
    print("\n| regimen | lines evaluable | ORR achieved |")
    print("|---|---|---|")
    for r in ORR_TABLE:
        if f"orr_{r}" in m:
            print(f"| {r} | {m[f'orr_n_{r}']:.0f} | {100 * m[f'orr_{r}']:.0f} % |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--tune", action="store_true")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    prm = Parameters.from_table()
    if args.tune:
        prm = tune(prm, args.patients, args.seed, args.rounds)
        if args.write:
            write_parameters(prm)
    report(metrics(truth_tables(args.patients, args.seed, prm)))


if __name__ == "__main__":
    main()
