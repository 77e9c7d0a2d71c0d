"""Derived IMWG response against the simulator's truth (the simulator imports no response code).

Lines are compared when the derived line and the true line have the same number and start within
28 days of each other (line derivation is tested in ``tests/lines``; unmatched lines are counted,
not compared). Reported overall and per disease type:

- best response: exact agreement and linearly weighted Cohen's kappa (statsmodels
  ``cohens_kappa``, Cohen J, Psychol Bull 1968;70:213) over the ordinal scale PD < SD < MR < PR <
  VGPR < CR < sCR (lines evaluable in both);
- progression: share of true PD dates matched by a derived PD within one assessment interval
  (the median spacing of the line's assessments); derived PDs without a true one are counted;
- marrow-less CRs reported as VGPR (the rules do it on purpose: ``require_marrow_for_cr``) are
  counted separately (the truth records them as VGPR too).

Run ``pytest tests/response/test_response_vs_truth.py --slow -s`` to print the tables at 20,000.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from statsmodels.stats.inter_rater import cohens_kappa

from mmrwe.io.read import read_cohort
from mmrwe.lines import derive_lines_of_therapy
from mmrwe.response import derive_assessments, derive_line_response
from mmrwe.simulate import simulate_cohort

ORDINAL = ["PD", "SD", "MR", "PR", "VGPR", "CR", "sCR"]


def read_truth(cohort_dir: Path, table: str) -> pl.DataFrame:
    base = cohort_dir / "truth"
    if (base / f"{table}.parquet").exists():
        return pl.read_parquet(base / f"{table}.parquet")
    return pl.read_parquet(base / table / "*.parquet")


def weighted_kappa(truth: list[str], derived: list[str]) -> float:
    """Linearly weighted Cohen's kappa of two ordinal ratings (statsmodels)."""
    rank = {c: i for i, c in enumerate(ORDINAL)}
    table = np.zeros((len(ORDINAL), len(ORDINAL)))
    for t, d in zip(truth, derived, strict=True):
        table[rank[t], rank[d]] += 1
    with warnings.catch_warnings():  # its variance is 0 (sqrt warning) when kappa is 1
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(cohens_kappa(table, wt="linear").kappa)


def compare(cohort_dir: Path) -> pl.DataFrame:
    """One row per true line: truth, derived response and progression, assessment interval."""
    cohort = read_cohort(cohort_dir)
    lines = derive_lines_of_therapy(cohort).lines
    assessments = derive_assessments(cohort.labs, lines)
    derived = derive_line_response(assessments, lines, cohort.responses, cohort.patients)
    interval = (
        assessments.filter(pl.col("role") == "on_line")
        .group_by("patient_id", "line")
        .agg(pl.col("date").diff().dt.total_days().median().alias("interval"))
    )
    marrowless = (
        assessments.filter(pl.col("reason").str.contains("CR not met: no marrow", literal=True))
        .select("patient_id", "line")
        .unique()
        .with_columns(pl.lit(True).alias("marrowless_cr"))
    )
    truth = (
        read_truth(cohort_dir, "best_response")
        .join(read_truth(cohort_dir, "progression"), on=["patient_id", "line"])
        .join(
            read_truth(cohort_dir, "lines").select("patient_id", "line", "start_date"),
            on=["patient_id", "line"],
        )
    )
    d = (
        derived.join(lines.select("patient_id", "line", "start_date"), on=["patient_id", "line"])
        .join(interval, on=["patient_id", "line"], how="left")
        .join(marrowless, on=["patient_id", "line"], how="left")
        .rename(lambda c: c if c in ("patient_id", "line") else f"{c}_d")
    )
    return truth.join(d, on=["patient_id", "line"], how="left").with_columns(
        ((pl.col("start_date") - pl.col("start_date_d")).dt.total_days().abs() <= 28)
        .fill_null(False)
        .alias("matched"),
        pl.col("interval_d").fill_null(28.0).alias("interval"),
        pl.col("marrowless_cr_d").fill_null(False).alias("marrowless_cr"),
    )


def summarise(cmp: pl.DataFrame) -> pl.DataFrame:
    """Agreement per disease type and overall."""
    rows = []
    groups = [("all", cmp)] + [
        (k, cmp.filter(pl.col("disease_type") == k))
        for k in sorted(cmp["disease_type"].unique().to_list())
    ]
    for name, g in groups:
        m = g.filter("matched")
        both = m.filter(
            pl.col("best_response").is_in(ORDINAL) & pl.col("best_response_d").is_in(ORDINAL)
        )
        true_pd = m.filter(pl.col("progression_date").is_not_null())
        gap = (true_pd["progression_date_d"] - true_pd["progression_date"]).dt.total_days().abs()
        within = (gap <= true_pd["interval"]).fill_null(False)
        rows.append(
            {
                "disease_type": name,
                "lines": g.height,
                "matched": m.height,
                "exact": float((m["best_response"] == m["best_response_d"]).mean() or 0),
                "kappa": weighted_kappa(
                    both["best_response"].to_list(), both["best_response_d"].to_list()
                )
                if both.height
                else float("nan"),
                "true_pd": true_pd.height,
                "pd_within_interval": float(within.mean()) if true_pd.height else float("nan"),
                "pd_same_day": float((gap == 0).fill_null(False).mean())
                if true_pd.height
                else float("nan"),
                "extra_pd": m.filter(
                    pl.col("progression_date").is_null()
                    & pl.col("progression_date_d").is_not_null()
                ).height,
                "marrowless_cr_as_vgpr": m.filter(
                    pl.col("marrowless_cr") & (pl.col("best_response_d") == "VGPR")
                ).height,
            }
        )
    return pl.DataFrame(rows)


def _check(tmp_path: Path, n: int, seed: int) -> None:
    cohort_dir = tmp_path / "cohort"
    simulate_cohort(cohort_dir, n_patients=n, seed=seed)
    cmp = compare(cohort_dir)
    table = summarise(cmp)
    with pl.Config(tbl_rows=20, tbl_cols=20, tbl_width_chars=200):
        print(table)
        print(
            cmp.filter(pl.col("matched") & (pl.col("best_response") != pl.col("best_response_d")))
            .select("patient_id", "line", "disease_type", "best_response", "best_response_d")
            .head(10)
        )
    overall = table.row(0, named=True)
    assert overall["matched"] >= 0.8 * overall["lines"]
    assert overall["exact"] >= 0.95
    assert overall["kappa"] >= 0.9
    assert overall["pd_within_interval"] >= 0.95
    assert overall["extra_pd"] <= 0.02 * overall["matched"]
    for row in table.iter_rows(named=True):
        if row["true_pd"] >= 50:
            assert row["pd_within_interval"] >= 0.9, row
        if row["matched"] >= 50:
            assert row["exact"] >= 0.9, row


def test_weighted_kappa_by_hand() -> None:
    """Two raters, 4 lines: (PR, PR), (VGPR, VGPR), (PR, VGPR), (PD, PD) — computed by hand.

    Linear weights over 7 categories, w = 1 - |i-j|/6. Observed weighted agreement
    Po = (1 + 1 + 5/6 + 1)/4 = 23/24. Marginals: truth PD 1/4, PR 2/4, VGPR 1/4; derived PD 1/4,
    PR 1/4, VGPR 2/4. Pe = sum_ij w_ij r_i c_j with ranks PD 0, PR 3, VGPR 4:
    r_PD(c_PD*1 + c_PR*0.5 + c_VG*(1/3)) = 1/4(1/4 + 1/8 + 1/6) = 13/96;
    r_PR(c_PD*0.5 + c_PR*1 + c_VG*5/6) = 1/2(1/8 + 1/4 + 5/12) = 19/48;
    r_VG(c_PD/3 + c_PR*5/6 + c_VG*1) = 1/4(1/12 + 5/24 + 1/2) = 19/96.
    Pe = 13/96 + 38/96 + 19/96 = 70/96; kappa = (23/24 - 70/96)/(1 - 70/96) = 22/26.
    """
    k = weighted_kappa(["PR", "VGPR", "PR", "PD"], ["PR", "VGPR", "VGPR", "PD"])
    assert k == pytest.approx(22 / 26)


def test_response_matches_truth_on_default_cohort(tmp_path: Path) -> None:
    _check(tmp_path, 2_000, seed=42)


@pytest.mark.slow
def test_response_matches_truth_on_large_cohort(tmp_path: Path) -> None:
    _check(tmp_path, 20_000, seed=2024)
