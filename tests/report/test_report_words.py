"""One meaning per word in the report (issue 15 items 8 and 9)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from mmrwe.io.output import run_file
from mmrwe.report.html import build_report
from tests.report.run_fixture import write_run


def _text(html: str) -> str:
    """The reader's text: no markup, no embedded data."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r'data:[^"]+', "", html)))


def test_evaluable_has_one_definition_stated_once(tmp_path: Path) -> None:
    """'Evaluable' is the response table's count (best response other than NE: 1,972 of line
    1 in the demo); the waterfall's patient-lines (measurable at baseline and measured again:
    1,987) are called measurable, not evaluable."""
    run = write_run(tmp_path / "run")
    manifest = json.loads((run_file(run, "manifest.json")).read_text())
    manifest["figures"].append({"name": "waterfall", "title": "Best change", "files": []})
    (run_file(run, "manifest.json")).write_text(json.dumps(manifest))
    text = _text(build_report(run).read_text(encoding="utf-8"))
    definitions = re.findall(r"Evaluable:", text)
    assert len(definitions) == 1
    assert "best overall response other than NE" in text
    waterfall = re.search(r"Figure \d+\. Best change\.[^.]*\.", text).group(0)
    assert "evaluable" not in waterfall.lower()
    assert "measurable at baseline" in waterfall


AE = """regimen,term,term_coding,grading,n_patients,n_any_grade,pct_any_grade,n_grade_3_plus,pct_grade_3_plus
ide-cel,Cytokine release syndrome,MedDRA PT,ASTCT,40,30,75.0,<11,
ide-cel,tumour flare,unmapped,CTCAE,40,12,30.0,0,0.0
"""


def test_unmapped_adverse_event_terms_are_listed(tmp_path: Path) -> None:
    """Issue 15 item 10: terms outside the synonym list are named in the data-quality section;
    the methods say how terms were normalised."""
    run = write_run(tmp_path / "run")
    (run / "adverse_events.csv").write_text(AE)  # a hand-made run: one flat folder
    html = build_report(run).read_text(encoding="utf-8")
    quality = re.search(r'<section id="quality">.*?</section>', html, re.S).group(0)
    assert "tumour flare" in quality and "Cytokine release syndrome" not in quality
    assert "MedDRA preferred term" in _text(html)
