"""The report of a real run: a small simulated cohort through ``run_study``, then the standard
figures and ``build_report`` on the run directory."""

from __future__ import annotations

import json
import re

import polars as pl
import pytest

from mmrwe.io.output import run_file
from mmrwe.report.figure_set import standard_figures
from mmrwe.report.figures.style import NothingToDrawError, save_figure
from mmrwe.report.html import build_report


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from mmrwe.simulate import simulate_cohort
    from mmrwe.study.run import run_study

    base = tmp_path_factory.mktemp("e2e")
    simulate_cohort(base / "cohort", n_patients=120, seed=7)
    run = run_study(base / "cohort", base / "run", report=False).out
    manifest = json.loads((run_file(run, "manifest.json")).read_text())
    (run_file(run, "figures")).mkdir(exist_ok=True)
    listed = list(manifest.get("figures", []))

    def read(name: str) -> pl.DataFrame:
        return pl.read_parquet(run_file(run, f"{name}.parquet"))

    for name, title, draw in standard_figures(read, patient_level=True, seed=1):
        try:
            fig = draw()
        except NothingToDrawError:  # e.g. a waterfall of groups whose counts are withheld
            continue
        save_figure(fig, run_file(run, "figures") / name)
        listed.append(
            {"name": name, "title": title, "files": [f"figures/{name}.png", f"figures/{name}.svg"]}
        )
    manifest["figures"] = listed
    (run_file(run, "manifest.json")).write_text(json.dumps(manifest))
    return run


def test_every_figure_embedded_and_no_identifier(run_dir):
    text = build_report(run_dir).read_text(encoding="utf-8")
    manifest = json.loads((run_file(run_dir, "manifest.json")).read_text())
    for figure in manifest["figures"]:
        assert f'id="fig-{figure["name"]}"' in text
    assert len(re.findall(r"<figure ", text)) == len(manifest["figures"])
    ids = pl.read_parquet(run_file(run_dir, "lines.parquet"))["patient_id"].unique().to_list()
    assert ids and not any(pid in text for pid in ids)
    for section in ("attrition", "baseline", "outcomes", "response", "safety", "patterns"):
        assert f'<section id="{section}">' in text
    assert "omitted" not in text  # a full run writes every table the report reads
    assert "http://" not in text and "https://" not in text


def test_outcomes_list_dor_ttr_and_ttd_with_their_denominators(run_dir):
    """Issue 19, item 4: DOR, TTR and TTD reach the report, each saying whose lines it counts."""
    text = build_report(run_dir).read_text(encoding="utf-8")
    outcomes = text[text.index('<section id="outcomes">') :]
    outcomes = outcomes[: outcomes.index("</section>")]
    assert "<th>Denominator</th>" in outcomes or ">Denominator<" in outcomes
    for endpoint, denominator in (
        ("DOR", "responders"),
        ("TTR", "responders"),
        ("TTD", "analysed lines"),
    ):
        assert re.search(rf"<td>{endpoint}</td>\s*<td>{denominator}</td>", outcomes), endpoint
