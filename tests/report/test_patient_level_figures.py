"""Patient-level figures (swimmer, trajectory, waterfall) stay in ``patient_level/figures/``
unless the study shares them (``share_patient_level_figures``, default false); the shareable
report then says where they are and why it does not show them (issue 19, item 1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from mmrwe.io.output import OutputDirectory, run_file
from mmrwe.report.html import build_report
from mmrwe.report.run_report import FigureWriter
from mmrwe.study.config import StudyConfig
from tests.report.run_fixture import write_run


def _figure() -> Figure:
    fig = Figure()
    fig.add_subplot().plot([0, 1], [0, 1])
    return fig


@pytest.mark.parametrize("shared", [False, True])
def test_a_patient_level_figure_goes_where_the_study_says(tmp_path: Path, shared: bool) -> None:
    with OutputDirectory(tmp_path / "run", command="run") as output:
        figures = FigureWriter(output, share_patient_level=shared)
        figures.add("swimmer", "Patient journeys", _figure)
        figures.add("km_pfs", "PFS", _figure)
    run = tmp_path / "run"
    swimmer = "shareable" if shared else "patient_level"
    assert (run / swimmer / "figures" / "swimmer.svg").is_file()
    assert not (
        run / ("patient_level" if shared else "shareable") / "figures" / "swimmer.svg"
    ).exists()
    assert (run / "shareable" / "figures" / "km_pfs.svg").is_file()
    assert [f["name"] for f in figures.listed] == (["swimmer", "km_pfs"] if shared else ["km_pfs"])
    assert [f["name"] for f in figures.kept] == ([] if shared else ["swimmer"])


def test_sharing_is_an_explicit_choice_defaulting_to_false() -> None:
    field = StudyConfig.model_fields["study"].annotation.model_fields[  # type: ignore[union-attr]
        "share_patient_level_figures"
    ]
    assert field.default is False and "privacy" in (field.description or "")


def test_the_report_says_where_the_kept_figures_are(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run")
    manifest = json.loads(run_file(run, "manifest.json").read_text())
    manifest["patient_level_figures_kept"] = ["swimmer", "waterfall"]
    run_file(run, "manifest.json").write_text(json.dumps(manifest))
    html = build_report(run).read_text(encoding="utf-8")
    assert 'id="patient-level-figures"' in html and "patient_level/figures/" in html
    assert "swimmer, waterfall" in html
    assert "share_patient_level_figures = true" in html
    manifest["patient_level_figures_kept"] = []
    run_file(run, "manifest.json").write_text(json.dumps(manifest))
    assert 'id="patient-level-figures"' not in build_report(run).read_text(encoding="utf-8")
