"""The comparison section in the report's words (issue 15 item 8): no raw field names, no
'None', and the trial's eligibility set against the real-world study's before any number."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest

from mmrwe.report.comparison import comparison_html
from mmrwe.study.config import StudyConfig

#: as mmrwe compare wrote them for the demo's Isa-Pd cohort against ICARIA-MM (unadjusted)
COMPARISON = """trial,arm,endpoint,matched_on,measure,time,rw_unadjusted,rw_weighted,rw_weighted_lower,rw_weighted_upper,trial_published,difference,ess,note
ICARIA-MM,ICARIA-MM (Isa-Pd),PFS,none (unadjusted),median,,14.652977412731007,14.652977412731007,9.19917864476386,,11.5,3.1529774127310066,73.0,no digitised curve: medians and landmark rates only
ICARIA-MM,ICARIA-MM (Isa-Pd),PFS,none (unadjusted),survival rate,12.0,0.55,0.55,0.43,0.66,0.47,0.08,73.0,no digitised curve: medians and landmark rates only
"""
WEIGHTS = """patients_used,patients_missing_a_characteristic,patients_without_the_endpoint,ess
73,0,<11,73.0
"""
PUBLISHED = """measure,time_months,value,lower,upper,not_reached,subgroup,source
median,,11.5,,,false,,"Attal M, et al. Lancet 2019;394:2096"
hazard ratio,,0.596,,,false,,"Attal M, et al. Lancet 2019;394:2096"
"""
RAW = (
    "rw_unadjusted", "rw_weighted", "trial_published", "ess", "patients_used", "time_months",
    "not_reached", "matched_on",
)  # fmt: skip


def _comparison(tmp_path: Path, population: dict) -> Path:
    folder = tmp_path / "icaria-mm"
    folder.mkdir()
    (folder / "comparison.csv").write_text(COMPARISON)
    (folder / "weights.csv").write_text(WEIGHTS)
    (folder / "published.csv").write_text(PUBLISHED)
    config = StudyConfig.model_validate(
        {"study": {"name": "Isa-Pd in routine care"}, "population": population}
    )
    manifest = {
        "command": "compare",
        "run": str(tmp_path / "run"),
        "run_config": config.model_dump(mode="json"),
        "trial": {
            "trial": "ICARIA-MM",
            "arm": "ICARIA-MM (Isa-Pd)",
            "endpoint": "PFS",
            "matched_on": "none (unadjusted)",
        },
        "method": "unadjusted; no digitised curve: medians and landmark rates only",
        "citation": "Attal M, et al. Lancet 2019;394:2096",
        "warnings": [],
        "figures": [],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def _headers(html: str) -> list[str]:
    return re.findall(r"<th[^>]*>([^<]*)</th>", html)


def test_no_raw_field_names_and_no_none(tmp_path: Path) -> None:
    html = comparison_html(_comparison(tmp_path, {"min_prior_lines": 1}))
    headers = _headers(html)
    assert not [h for h in headers if h.replace(" ", "_") in RAW or h in RAW], headers
    text = re.sub(r"<[^>]+>", " ", html)
    assert "None" not in text and "null" not in text
    assert "Effective sample size" in headers
    assert "Median PFS, months" in text
    assert "12-month PFS, %" in text
    # the weighted median 14.7 with a lower limit and an upper limit not estimable
    assert "14.7 (9.2–NE)" in text
    assert "55.0 (43.0–66.0)" in text


def test_eligibility_difference_is_said_before_any_number(tmp_path: Path) -> None:
    """ICARIA-MM enrolled patients after >= 2 prior lines including lenalidomide and a
    proteasome inhibitor (Attal 2019); the study admits patients after 1 prior line and sets no
    refractoriness criterion."""
    html = comparison_html(_comparison(tmp_path, {"min_prior_lines": 1}))
    first_table = html.index("<table")
    warning = re.search(r'<p class="warning">.*?</p>', html, re.S)
    assert warning is not None and warning.start() < first_table
    said = re.sub(r"<[^>]+>", "", warning.group(0))
    assert "differs from the trial's eligibility" in said
    assert "≥ 2 prior lines" in said and "1 prior line" in said
    assert "lenalidomide and a proteasome inhibitor" in said
    assert "no refractoriness criterion" in said


def test_matching_eligibility_is_stated_without_a_warning(tmp_path: Path) -> None:
    population = {"min_prior_lines": 2, "refractory_to": ["lenalidomide", "pi"]}
    html = comparison_html(_comparison(tmp_path, population))
    assert "differs from the trial's eligibility" not in html
    text = re.sub(r"<[^>]+>", "", html)
    assert "Eligibility" in text and "refractory to lenalidomide, proteasome inhibitor" in text


@pytest.mark.parametrize("name", ["comparison", "weights", "published"])
def test_every_table_is_rendered(tmp_path: Path, name: str) -> None:
    folder = _comparison(tmp_path, {})
    html = comparison_html(folder)
    n_tables = html.count("<table")
    assert n_tables == 3
    assert pl.read_csv(folder / f"{name}.csv").height > 0


HAZARD_RATIOS = """trial,arm,endpoint,matched_on,analysis,hr,lower,upper,lower_boot,upper_boot,n_boot,ess,n_rw,n_trial,median_rw,median_trial,conf_level
ICARIA-MM,ICARIA-MM (Isa-Pd),PFS,age,unadjusted,0.8123,0.61,1.08,0.6,1.1,1000,73.0,73,154,14.65,11.5,0.95
ICARIA-MM,ICARIA-MM (Isa-Pd),PFS,age,weighted,0.7712,0.55,,0.52,,998,51.3,73,154,,11.5,0.95
"""
BALANCE = """covariate,target,mean_before,mean_after,smd_before,smd_after,coef,note
age_above_median,0.5,0.61,0.5,0.22,0.0,-0.45,
"""


def test_hazard_ratio_and_balance_tables_in_words(tmp_path: Path) -> None:
    folder = _comparison(tmp_path, {"min_prior_lines": 2, "refractory_to": ["lenalidomide"]})
    (folder / "comparison.csv").write_text(HAZARD_RATIOS)
    (folder / "balance.csv").write_text(BALANCE)
    html = comparison_html(folder)
    headers = _headers(html)
    raw = ("hr", "lower_boot", "n_boot", "n_rw", "median_rw", "mean_before", "smd_after", "coef")
    assert not [h for h in headers if h in raw or h.replace(" ", "_") in raw], headers
    text = re.sub(r"<[^>]+>", " ", html)
    assert "None" not in text
    assert "0.77 (0.55–NE)" in text and "MAIC-weighted" in text
    assert "Standardised difference, weighted" in headers


def test_an_unadjusted_comparison_shows_the_real_world_estimate_once(tmp_path: Path) -> None:
    """The demo's ICARIA-MM table printed 14.7 under 'Real-world, unadjusted' and again as
    14.7 (9.2–18.3) under 'Real-world (95 % CI)': a reader looks for the adjustment that made
    the second. Unweighted, the estimate is one column with its interval."""
    html = comparison_html(_comparison(tmp_path, {"min_prior_lines": 1}))
    table = html[html.index("<table") : html.index("</table>")]
    headers = _headers(table)
    assert [h for h in headers if h.startswith("Real-world")] == ["Real-world (95 % CI)"]
    median_row = re.search(r"<tr>(?:(?!</tr>).)*Median PFS, months.*?</tr>", table, re.S)
    assert median_row is not None
    cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>.*?</td>", median_row[0])]
    assert [c for c in cells if c.startswith("14.7")] == ["14.7 (9.2–NE)"]
