"""Derived lines against the simulator's truth (the simulator imports no derivation code).

A patient matches when the derived lines have the same count and the same start dates as the
lines the simulator intended. Reported overall and per journey pattern; >= 98 % expected. Ends,
transplant and CAR-T flags and regimen names are compared too (VRd-lite, a dose-reduced VRd,
cannot be told from records without doses and is compared as VRd).
Run ``pytest tests/lines/test_lines_vs_truth.py --slow -s`` to print the table at 20,000 patients.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from mmrwe.io.read import read_cohort
from mmrwe.lines import derive_lines_of_therapy
from mmrwe.simulate import simulate_cohort


def read_truth(cohort_dir: Path, table: str) -> pl.DataFrame:
    base = cohort_dir / "truth"
    if (base / f"{table}.parquet").exists():
        return pl.read_parquet(base / f"{table}.parquet")
    return pl.read_parquet(base / table / "*.parquet")


#: Regimen names the simulator writes that records without doses cannot reproduce.
UNKNOWABLE_NAMES = {"VRd-lite": "VRd"}


def agreement(cohort_dir: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(agreement per journey pattern, per-patient comparison).

    A patient is counted under every pattern of any of their true lines (transplant, car_t,
    retreatment, add_on, standard); ``all`` counts each patient once.
    """
    cohort = read_cohort(cohort_dir)
    derived = derive_lines_of_therapy(cohort).lines
    truth = read_truth(cohort_dir, "lines").with_columns(
        pl.col("regimen").replace(UNKNOWABLE_NAMES)
    )

    def signature(df: pl.DataFrame) -> pl.DataFrame:
        return (
            df.sort("patient_id", "line")
            .group_by("patient_id", maintain_order=True)
            .agg(
                pl.col("start_date").alias("starts"),
                pl.col("end_date").alias("ends"),
                pl.col("regimen").alias("regimens"),
                pl.col("includes_asct").alias("asct"),
                pl.col("includes_car_t").alias("car_t"),
            )
        )

    t, d = signature(truth), signature(derived)
    cmp = t.join(d, on="patient_id", how="left", suffix="_derived").with_columns(
        (pl.col("starts") == pl.col("starts_derived")).fill_null(False).alias("match"),
        (pl.col("starts").list.len() == pl.col("starts_derived").list.len().fill_null(0)).alias(
            "same_count"
        ),
        (
            (pl.col("ends") == pl.col("ends_derived"))
            & (pl.col("asct") == pl.col("asct_derived"))
            & (pl.col("car_t") == pl.col("car_t_derived"))
        )
        .fill_null(False)
        .alias("same_ends_and_flags"),
        (pl.col("regimens") == pl.col("regimens_derived")).fill_null(False).alias("same_regimens"),
    )
    patterns = truth.select("patient_id", "pattern").unique()
    measures = [
        pl.len().alias("patients"),
        pl.col("match").mean().alias("match_share"),
        pl.col("same_count").mean().alias("same_count_share"),
        pl.col("same_ends_and_flags").mean().alias("same_ends_flags_share"),
        pl.col("same_regimens").mean().alias("same_regimens_share"),
    ]
    table = cmp.join(patterns, on="patient_id").group_by("pattern").agg(measures).sort("pattern")
    overall = cmp.select(pl.lit("all").alias("pattern"), *measures)
    return pl.concat([table, overall.cast(table.schema)]), cmp


def _check(tmp_path: Path, n: int, seed: int) -> None:
    cohort_dir = tmp_path / "cohort"
    simulate_cohort(cohort_dir, n_patients=n, seed=seed)
    table, cmp = agreement(cohort_dir)
    with pl.Config(tbl_rows=50):
        print(table)
        print(cmp.filter(~pl.col("match")).head(20))
    overall = table.filter(pl.col("pattern") == "all").row(0, named=True)
    assert overall["patients"] == n
    assert overall["match_share"] >= 0.98
    assert overall["same_ends_flags_share"] >= 0.98
    assert overall["same_regimens_share"] >= 0.95


def test_lines_match_truth_on_default_cohort(tmp_path: Path) -> None:
    _check(tmp_path, 2_000, seed=42)


@pytest.mark.slow
def test_lines_match_truth_on_large_cohort(tmp_path: Path) -> None:
    _check(tmp_path, 20_000, seed=2024)
