"""``mmrwe demo``: the whole product on simulated data, end to end."""

from __future__ import annotations

import json
import re
from pathlib import Path

from mmrwe.cli.app import main
from mmrwe.io.output import run_file


def test_demo_writes_the_report_with_every_figure_and_the_comparison(
    tmp_path: Path, capsys
) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--patients", "1200", "--seed", "3"]) == 0
    captured = capsys.readouterr()
    report = run_file(out / "run", "report.html")
    assert str(report) in captured.err and "line 1" in captured.out
    html = report.read_text()
    manifest = json.loads((run_file(out / "run", "manifest.json")).read_text())
    comparison = json.loads(
        (out / "run" / "shareable" / "comparisons" / "icaria-mm" / "manifest.json").read_text()
    )
    listed = [f["name"] for f in manifest["figures"]] + [f["name"] for f in comparison["figures"]]
    embedded = re.findall(r'<figure id="fig-([^"]+)"', html)
    kept = manifest["patient_level_figures_kept"]  # in patient_level/figures/, not shown
    assert sorted(embedded) == sorted(listed) and len(listed) + len(kept) >= 8
    assert all((out / "run" / "patient_level" / "figures" / f"{k}.svg").is_file() for k in kept)
    assert not set(kept) & set(embedded)
    assert not kept or "patient_level/figures/" in html
    assert "Real-world versus trial" in html and "ICARIA-MM" in html
    assert "Simulated data" in html


def test_demo_refuses_an_existing_directory(tmp_path: Path, capsys) -> None:
    (tmp_path / "demo").mkdir()
    assert main(["demo", "--out", str(tmp_path / "demo"), "--patients", "50"]) == 1
    assert "--overwrite" in capsys.readouterr().err
