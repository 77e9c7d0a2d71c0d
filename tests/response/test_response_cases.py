"""Hand-adjudicated lab series (data/response_cases.toml): every IMWG category, each kind of
disease, confirmation, the nadir, marrow, clonality, escape, units, words, windows, line
boundaries, physician responses and both sides of every threshold. The expected category of each
assessment, the best response and the progression date were worked out by hand from the rules
(Kumar S et al., Lancet Oncol 2016;17:e328), with the criterion quoted beside them."""

from __future__ import annotations

import tomllib
from pathlib import Path

import polars as pl
import pytest

from mmrwe.io.read import read_cohort
from mmrwe.lines import derive_lines_of_therapy
from mmrwe.response import ResponseRules, derive_assessments, derive_line_response
from tests.response.helpers import day, write_case

CASES = tomllib.loads((Path(__file__).parent / "data" / "response_cases.toml").read_text())["case"]

#: what the issue asks the cases to cover (tags in ``covers``)
REQUIRED = {
    "sCR", "CR", "VGPR", "PR", "MR", "SD", "PD",
    "serum-only", "urine-only", "flc-only",
    "confirmation", "confirmation-failure", "nadir-high", "marrow-missing", "marrow-carried",
    "scr-clonality", "scr-no-clonality", "relapse-from-cr", "escape-urine", "escape-flc",
    "units-mixed", "below-limit", "not-detected", "same-day", "after-next-line",
    "unconfirmed-pd-next-line", "non-measurable-no-physician", "non-measurable-physician",
    "threshold-50", "threshold-49", "threshold-90", "threshold-89", "threshold-25-increase",
    "threshold-24-increase", "threshold-0.5", "threshold-0.49", "word-unquantified",
}  # fmt: skip


def run_case(case: dict, tmp_path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    cohort = read_cohort(write_case(case, tmp_path / case["id"]))
    lines = derive_lines_of_therapy(cohort).lines
    rules = ResponseRules(**case.get("rules", {}))
    index = case.get("car_t_index", "infusion")
    assessments = derive_assessments(cohort.labs, lines, rules, car_t_index=index)
    line_response = derive_line_response(
        assessments, lines, cohort.responses, cohort.patients, rules, car_t_index=index
    )
    return assessments, line_response


def test_there_are_at_least_40_cases_covering_the_issue() -> None:
    assert len(CASES) >= 40
    assert len({c["id"] for c in CASES}) == len(CASES)
    covered = {tag for c in CASES for tag in c["covers"]}
    assert covered >= REQUIRED, sorted(REQUIRED - covered)
    assert all(c["criterion"] and c["rationale"] for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case: dict, tmp_path: Path) -> None:
    assessments, line_response = run_case(case, tmp_path)
    why = f"{case['criterion']} -- {case['rationale']}"
    on = assessments.filter(pl.col("role") == "on_line")
    got = [[r["line"], r["date"], r["category"] or ""] for r in on.iter_rows(named=True)]
    want = [[line, day(d), cat] for line, d, cat in case["expected"]]
    reasons = "\n".join(on["reason"].to_list())
    assert got == want, f"{why}\n{reasons}"
    assert on["reason"].null_count() == 0
    if "confirmed" in case:
        assert on["confirmed"].to_list() == case["confirmed"], f"{why}\n{reasons}"
    if "incomplete" in case:
        assert on["incomplete"].to_list() == case["incomplete"], why
    assert line_response["best_response"].to_list() == case["best"], f"{why}\n{reasons}"
    if "progression" in case:
        want_pd = [None if d is False else day(d) for d in case["progression"]]
        assert line_response["progression_date"].to_list() == want_pd, f"{why}\n{reasons}"
    if "first_response" in case:
        want_fr = [None if d is False else day(d) for d in case["first_response"]]
        assert line_response["first_response_date"].to_list() == want_fr, why
    if "relapse" in case:
        want_rel = [None if d is False else day(d) for d in case["relapse"]]
        assert line_response["relapse_from_cr_date"].to_list() == want_rel, why
    if "source" in case:
        assert line_response["response_source"].to_list() == case["source"], why
    if "measurable" in case:
        assert line_response["measurable_by"].to_list() == case["measurable"], why
    for fragment in case.get("reason_contains", []):
        assert fragment in reasons, f"{fragment!r} not in\n{reasons}"
