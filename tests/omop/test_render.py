"""The synthetic CDM of a cohort simulated in parts (the layout of more than 50,000 patients)."""

from __future__ import annotations

from pathlib import Path

from mmrwe.omop.render import render_cohort
from mmrwe.simulate import simulate_cohort


def test_a_cohort_written_in_parts_renders_like_one_written_whole(tmp_path: Path) -> None:
    """simulate_omop of more than 50,000 patients failed: the renderer read labs.parquet, which
    a cohort written in parts (labs/part-00000.parquet …) does not have."""
    simulate_cohort(tmp_path / "parts", n_patients=60, seed=3, partition_size=25)
    simulate_cohort(tmp_path / "whole", n_patients=60, seed=3)
    assert (tmp_path / "parts" / "labs").is_dir()
    parts, whole = render_cohort(tmp_path / "parts"), render_cohort(tmp_path / "whole")
    for name in ("measurement", "drug_exposure", "concept"):
        assert parts[name].equals(whole[name]), name
