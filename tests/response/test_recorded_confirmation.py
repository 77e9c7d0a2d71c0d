"""Physician-recorded responses used as recorded and, with ``confirm_recorded = true``, as
per-visit investigator calls confirmed as IMWG requires (Kumar S et al., Lancet Oncol
2016;17:e328). The calls are pharmaverse's public IMWG example records (pharmaversesdtm
``rs_onco_imwg``); the confirmed answers follow admiralonco's IMWG ADRS vignette
(``derive_confirmed_response``), worked out by hand in data/recorded_confirmation_cases.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tests.response.helpers import day
from tests.response.test_response_cases import run_case

DATA = Path(__file__).parent / "data" / "recorded_confirmation_cases.toml"
CASES = tomllib.loads(DATA.read_text())["case"]
PARAMS = [
    pytest.param(case, mode, id=f"{case['id']}-{mode}")
    for case in CASES
    for mode in ("recorded", "confirmed")
]


def _days(values: list) -> list:
    return [None if v is False else day(v) for v in values]


def test_cases_cite_their_source_and_cover_both_modes() -> None:
    assert len(CASES) >= 15
    assert sum("rs_onco_imwg, USUBJID" in c["source_record"] for c in CASES) >= 10
    assert all(c["rationale"] and c["recorded"] and c["confirmed"] for c in CASES)
    assert any(c["recorded"]["best"] != c["confirmed"]["best"] for c in CASES)


@pytest.mark.parametrize(("case", "mode"), PARAMS)
def test_recorded_responses(case: dict, mode: str, tmp_path: Path) -> None:
    spec = {
        "id": case["id"],
        "lines": case.get("lines", [0]),
        "responses": case["calls"],
        "rules": {"confirm_recorded": mode == "confirmed"},
    }
    if "death" in case:
        spec["death"] = case["death"]
    _, line_response = run_case(spec, tmp_path)
    want = case[mode]
    why = f"{mode}: {case['rationale']}"
    assert line_response["best_response"].to_list() == want["best"], why
    checks = {
        "best_date": "best_response_date",
        "first_response": "first_response_date",
        "progression": "progression_date",
    }
    for key, column in checks.items():
        if key in want:
            assert line_response[column].to_list() == _days(want[key]), f"{column} -- {why}"
    source = want.get("source", ["physician"] * line_response.height)
    assert line_response["response_source"].to_list() == source, why


@pytest.mark.parametrize("confirm", [True, False])
def test_methods_text_says_which_mode_was_used(confirm: bool) -> None:
    from mmrwe.report.methods import methods_paragraphs
    from mmrwe.response import ResponseRules

    rules = ResponseRules(confirm_recorded=confirm).model_dump()
    text = " ".join(methods_paragraphs({"config": {"response": rules}}))
    assert f"(confirm_recorded = {str(confirm).lower()})" in text
    assert ("per-visit investigator assessments" in text) == confirm
