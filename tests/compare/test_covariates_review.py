"""Review of the MAIC covariate coding of ``mmrwe compare`` (``compare/covariates.py``, read
from ``analysis_lines`` of ``study/select.py``): unknown values must stay unknown."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from mmrwe.compare.covariates import real_world_covariates
from mmrwe.io.output import run_file
from mmrwe.study import run_study
from mmrwe.study.config import load_config
from tests.study._cohorts import study_file, write_cohort


def test_prior_asct_is_unknown_when_lines_precede_the_data(tmp_path: Path) -> None:
    """Patient P001 had 2 lines before the data source began (``prior_lines_before_data = 2``,
    spec data-model.md: "lines given before this data source begins (referral centres)"):
    whether those lines included a transplant is not recorded. docs/compare.md: "Patients with
    a missing value of a matched characteristic are left out of the comparison and counted".
    Expected: ``prior_asct`` unknown (null) for P001, so that matching on ``prior_asct``
    (KarMMa: 94 %) leaves P001 out. Found: ``prior_asct`` is False (``study/select.py``
    cumulates ``includes_asct`` over the derived lines only) and P001 is matched as a patient
    without a prior transplant."""
    cohort = write_cohort(tmp_path / "cohort", [["Rd"], ["Kd"]])
    patients = pl.read_parquet(cohort / "patients.parquet").with_columns(
        pl.Series("prior_lines_before_data", [0, 2], dtype=pl.Int64)
    )
    patients.write_parquet(cohort / "patients.parquet")
    config = load_config(
        study_file(
            tmp_path / "s.toml", '[study]\nindex = "first_eligible"\nsmall_cell_threshold = 0\n'
        )
    )
    run_study(cohort, tmp_path / "run", config=config, report=False)
    analysed = pl.read_parquet(run_file(tmp_path / "run", "analysis_lines.parquet")).sort(
        "patient_id"
    )
    assert analysed["prior_lines"].to_list() == [0, 2]
    assert analysed["prior_asct"].to_list()[1] is None, analysed.select(
        "patient_id", "prior_lines", "prior_asct"
    )
    _, kept = real_world_covariates(analysed, ["prior_asct"], {"prior_asct": 0.94})
    assert kept.to_list() == [True, False]
