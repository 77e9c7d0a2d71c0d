"""Fresh-eye clinical review of IMWG response (data/response_review_cases.toml): hand-adjudicated
series that probe rules the main case file leaves open, in the format of
``tests/response/data/response_cases.toml`` and run by its helpers. Each expected value was worked
out by hand from the rules (Kumar S et al., Lancet Oncol 2016;17:e328), with the criterion quoted
beside it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import polars as pl
import pytest

from tests.response.helpers import day
from tests.response.test_response_cases import run_case

CASES = tomllib.loads((Path(__file__).parent / "data" / "response_review_cases.toml").read_text())[
    "case"
]


def test_cases_are_well_formed() -> None:
    assert len({c["id"] for c in CASES}) == len(CASES)
    assert all(c["criterion"] and c["rationale"] for c in CASES)


def _days(values: list) -> list:
    return [None if d is False else day(d) for d in values]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_review_case(case: dict, tmp_path: Path) -> None:
    assessments, line_response = run_case(case, tmp_path)
    why = f"{case['criterion']} -- {case['rationale']}"
    on = assessments.filter(pl.col("role") == "on_line")
    reasons = "\n".join(on["reason"].to_list())
    got = [[r["line"], r["date"], r["category"] or ""] for r in on.iter_rows(named=True)]
    want = [[line, day(d), cat] for line, d, cat in case["expected"]]
    assert got == want, f"{why}\n{reasons}"
    if "confirmed" in case:
        assert on["confirmed"].to_list() == case["confirmed"], f"{why}\n{reasons}"
    assert line_response["best_response"].to_list() == case["best"], f"{why}\n{reasons}"
    for key, column in (
        ("progression", "progression_date"),
        ("first_response", "first_response_date"),
        ("relapse", "relapse_from_cr_date"),
    ):
        if key in case:
            assert line_response[column].to_list() == _days(case[key]), f"{why}\n{reasons}"
    if "source" in case:
        assert line_response["response_source"].to_list() == case["source"], why
    if "measurable" in case:
        assert line_response["measurable_by"].to_list() == case["measurable"], why
