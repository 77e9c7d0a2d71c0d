"""Derived endpoints against the simulator's truth on a 20,000-patient cohort.

The simulator writes, per true line, its start and CAR-T infusion (``truth/lines``), the index
date, true PD date and true PFS end (``truth/progression``) and the true best response
(``truth/best_response``); death and last contact are in ``patients``. The full pipeline (read
→ lines → assessments → line response → endpoints) must recover, per line number 1-5:

- median PFS (Kaplan-Meier, :class:`mmrwe.stats.KaplanMeier`) within 10 % of the truth's
  (true PD or death, censored at the true PFS end);
- median OS from the index date within 10 % of the truth's;

and the overall response rate (≥ PR among lines with a best response other than NE) of every
regimen with ≥ 100 true lines within 5 percentage points of the truth's. True regimen names that
only dose tells apart (VRd-lite, a ``variant`` in ``regimens.csv``) are compared under the name
the drugs give (VRd), as the vocabulary's naming rule 3 writes them.

Run ``pytest tests/endpoints/test_endpoints_vs_truth.py --slow -s`` to print the tables.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from mmrwe.endpoints import derive_endpoints
from mmrwe.simulate import simulate_cohort
from mmrwe.stats import KaplanMeier
from mmrwe.vocab import load_vocabulary
from tests.endpoints.helpers import derive_stage_tables

RESPONDERS = ["sCR", "CR", "VGPR", "PR"]


def read_truth(cohort_dir: Path, table: str) -> pl.DataFrame:
    base = cohort_dir / "truth"
    if (base / f"{table}.parquet").exists():
        return pl.read_parquet(base / f"{table}.parquet")
    return pl.read_parquet(base / table / "*.parquet")


def km_median_months(days: pl.Series, event: pl.Series) -> float:
    """Kaplan-Meier median in months (days / 30.4375)."""
    fit = KaplanMeier().fit(days.to_numpy(), event.to_numpy().astype(np.int64))
    return float(fit.summary_["median"][0]) / 30.4375


def truth_endpoints(cohort_dir: Path, patients: pl.DataFrame) -> pl.DataFrame:
    """``line, endpoint, time_days, event`` of the truth (PFS and OS from the true index)."""
    prog = read_truth(cohort_dir, "progression")
    pfs = prog.select(
        "line",
        pl.lit("PFS").alias("endpoint"),
        (pl.col("pfs_end_date") - pl.col("index_date")).dt.total_days().alias("time_days"),
        (pl.col("pfs_event") != "censored").cast(pl.Int8).alias("event"),
    )
    os_ = prog.join(
        patients.select("patient_id", "death_date", "last_contact_date"), on="patient_id"
    ).select(
        "line",
        pl.lit("OS").alias("endpoint"),
        (pl.coalesce("death_date", "last_contact_date") - pl.col("index_date"))
        .dt.total_days()
        .alias("time_days"),
        pl.col("death_date").is_not_null().cast(pl.Int8).alias("event"),
    )
    return pl.concat([pfs, os_])


def median_table(truth: pl.DataFrame, derived: pl.DataFrame) -> pl.DataFrame:
    rows = []
    for endpoint in ("PFS", "OS"):
        for line in range(1, 6):
            t = truth.filter((pl.col("endpoint") == endpoint) & (pl.col("line") == line))
            d = derived.filter((pl.col("endpoint") == endpoint) & (pl.col("line") == line))
            mt = km_median_months(t["time_days"], t["event"])
            md = km_median_months(d["time_days"], d["event"])
            rows.append(
                {
                    "endpoint": endpoint,
                    "line": line,
                    "n_truth": t.height,
                    "n_derived": d.height,
                    "median_truth_months": round(mt, 2),
                    "median_derived_months": round(md, 2),
                    "difference_pct": round(100 * (md / mt - 1), 1),
                }
            )
    return pl.DataFrame(rows)


def orr_table(cohort_dir: Path, tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    def orr(frame: pl.DataFrame, suffix: str) -> pl.DataFrame:
        return (
            frame.filter(pl.col("best_response") != "NE")
            .group_by("regimen")
            .agg(
                pl.len().alias(f"n_{suffix}"),
                (100 * pl.col("best_response").is_in(RESPONDERS).mean()).alias(f"orr_{suffix}"),
            )
        )

    table = load_vocabulary().regimens
    plain = pl.col("variant").fill_null("") == ""
    default = table.filter(plain).select("drugs", "regimen")
    variants = table.filter(~plain).join(default, on="drugs", suffix="_default")
    by_drugs = dict(zip(variants["regimen"], variants["regimen_default"], strict=True))
    true_lines = read_truth(cohort_dir, "lines").with_columns(pl.col("regimen").replace(by_drugs))
    truth = read_truth(cohort_dir, "best_response").join(
        true_lines.select("patient_id", "line", "regimen"), on=["patient_id", "line"]
    )
    derived = tables["line_response"].join(
        tables["lines"].select("patient_id", "line", "regimen"), on=["patient_id", "line"]
    )
    big = read_truth(cohort_dir, "lines").group_by("regimen").len().filter(pl.col("len") >= 100)
    return (
        orr(truth, "truth")
        .join(orr(derived, "derived"), on="regimen", how="left")
        .join(big.select("regimen"), on="regimen")
        .with_columns((pl.col("orr_derived") - pl.col("orr_truth")).alias("difference_pp"))
        .with_columns(pl.col("^orr_.*$", "difference_pp").round(1))
        .sort("n_truth", descending=True)
    )


@pytest.mark.slow
def test_endpoints_match_truth_on_large_cohort(tmp_path: Path) -> None:
    cohort_dir = tmp_path / "cohort"
    simulate_cohort(cohort_dir, n_patients=20_000, seed=2024)
    tables = derive_stage_tables(cohort_dir)
    derived = derive_endpoints(**tables)
    medians = median_table(truth_endpoints(cohort_dir, tables["patients"]), derived)
    orr = orr_table(cohort_dir, tables)
    with pl.Config(tbl_rows=40, tbl_cols=20, tbl_width_chars=200):
        print(medians)
        print(orr)
    assert medians.height == 10
    for row in medians.iter_rows(named=True):
        assert abs(row["difference_pct"]) <= 10, row
    assert orr.height >= 5
    for row in orr.iter_rows(named=True):
        assert row["orr_derived"] is not None and abs(row["difference_pp"]) <= 5, row
