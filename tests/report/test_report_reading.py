"""How the report reads a run: the effective configuration once, typed (issue 13 item 5), and
figure numbers that run through the whole report, comparisons included (issue 15 item 7)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from mmrwe.errors import InvalidDataError
from mmrwe.report.html import RunDirectory, build_report
from tests.report.run_fixture import write_run


def _add_comparison(run: Path, name: str = "trial-x") -> Path:
    """A comparison written under the run's ``comparisons/``, with one figure (PNG)."""
    folder = run / "comparisons" / name
    (folder / "figures").mkdir(parents=True)
    shutil.copy(run / "figures" / "extra_flows.png", folder / "figures" / "comparison.png")
    manifest = {
        "command": "compare",
        "mmrwe_version": "0.1.0",
        "run_config": json.loads((run / "manifest.json").read_text())["config"],
        "trial": {"trial": "TRIAL-X", "arm": "Arm A", "endpoint": "PFS", "matched_on": "age"},
        "figures": [
            {
                "name": "comparison",
                "title": "PFS: cohort and Arm A",
                "files": ["figures/comparison.png"],
            }
        ],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def _numbers(text: str) -> list[tuple[str, int]]:
    """(figure id, number) of every figure, in the order a reader meets them."""
    found = re.findall(r'<figure id="fig-([^"]+)".*?<strong>Figure (\d+)\.</strong>', text, re.S)
    return [(name, int(n)) for name, n in found]


def test_figure_numbers_run_through_the_comparison_section(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run")
    _add_comparison(run)
    text = build_report(run).read_text(encoding="utf-8")
    # sequences (treatment patterns), the comparison, then the figure no section claims
    assert _numbers(text) == [("sequences", 1), ("comparison", 2), ("extra_flows", 3)]


def test_a_comparison_page_alone_numbers_from_one(tmp_path: Path) -> None:
    from mmrwe.report.comparison import write_comparison_page

    run = write_run(tmp_path / "run")
    page = write_comparison_page(_add_comparison(run)).read_text(encoding="utf-8")
    assert _numbers(page) == [("comparison", 1)]
    assert "Real-world cohort: Outcomes &lt;by&gt; line" in page  # study name from run_config


def test_building_twice_gives_the_same_numbers(tmp_path: Path) -> None:
    """No state carried from one build (or one section) to the next."""
    run = write_run(tmp_path / "run")
    _add_comparison(run)
    first = build_report(run).read_text(encoding="utf-8")
    assert build_report(run).read_text(encoding="utf-8") == first


def test_configuration_is_read_once_typed(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run")
    read = RunDirectory.read(run)
    assert read.config.lines.gap_days == 60  # the run's value
    assert read.config.study.small_cell_threshold == 11
    assert read.config.endpoints.model_dump()  # absent from the manifest: the defaults


def test_a_configuration_this_version_cannot_read_is_an_error(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run")
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["config"]["lines"]["gap_dayz"] = 60
    (run / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InvalidDataError, match=r"manifest\.json.*lines\.gap_dayz"):
        build_report(run)


def test_threshold_of_the_figure_notes_is_the_run_s(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run")
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["config"]["study"]["small_cell_threshold"] = 5
    manifest["figures"].append({"name": "km_pfs", "title": "PFS", "files": []})
    (run / "manifest.json").write_text(json.dumps(manifest))
    text = build_report(run).read_text(encoding="utf-8")
    assert "Curves stop where fewer than 5 patients remain at risk" in text


def test_library_errors_name_no_command_line_option(tmp_path: Path) -> None:
    with pytest.raises(InvalidDataError) as caught:
        RunDirectory.read(tmp_path)
    assert "--" not in str(caught.value)
