"""Hand-adjudicated patient histories (data/line_cases.toml): each rule alone and in combination,
both sides of every boundary. The expected lines were worked out by hand from the rules."""

from __future__ import annotations

import tomllib
from pathlib import Path

import polars as pl
import pytest

from mmrwe.lines import REFRACTORY_COLUMNS, derive_lines_of_therapy, derive_refractoriness
from tests.lines.helpers import cohort_from_histories, day

CASES = tomllib.loads((Path(__file__).parent / "data" / "line_cases.toml").read_text())["case"]


def _derive(case: dict, tmp_path: Path):
    cohort = cohort_from_histories([case | {"patient_id": "X"}])
    drug_map = None
    if "drug_map" in case:
        drug_map = tmp_path / "map.csv"
        pl.DataFrame(
            case["drug_map"], schema=["name", "generic_name", "class"], orient="row"
        ).write_csv(drug_map)
    return derive_lines_of_therapy(cohort, drug_map=drug_map)


def test_there_are_at_least_40_cases_covering_every_rule() -> None:
    assert len(CASES) >= 40
    covered = {r for c in CASES for r in c["rules"]}
    assert set(range(1, 12)) <= covered  # rules 1-10 and refractoriness (11)
    assert len({c["id"] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case: dict, tmp_path: Path) -> None:
    result = _derive(case, tmp_path)
    lines = result.lines
    expected = case["lines"]
    got = [
        [r["start_date"], r["end_date"], r["regimen"], r["maintenance"]]
        for r in lines.iter_rows(named=True)
    ]
    want = [
        [day(s), day(e), reg if reg != "*" else got[i][2] if i < len(got) else reg, m]
        for i, (s, e, reg, m) in enumerate(expected)
    ]
    assert got == want, case["rationale"]
    assert lines["start_rule_code"].to_list() == case["start_rules"]
    assert lines["start_rule"].null_count() == 0
    numbers = case.get("line_numbers", list(range(1, len(expected) + 1)))
    assert lines["line"].to_list() == numbers
    assert lines["prior_lines"].to_list() == [n - 1 for n in numbers]
    for index, words in case.get("start_rule_mentions", []):
        assert words in lines["start_rule"][index], (lines["start_rule"][index], case["rationale"])
    if "end_reasons" in case:
        assert lines["end_reason"].to_list() == case["end_reasons"]
    if "drugs" in case:
        assert [d.split(";") for d in lines["drugs"]] == case["drugs"]
    if "asct" in case:
        assert lines["includes_asct"].to_list() == case["asct"]
    if "car_t" in case:
        assert lines["includes_car_t"].to_list() == case["car_t"]
    if "infusion" in case:
        assert lines["infusion_date"].to_list() == [
            None if d < 0 else day(d) for d in case["infusion"]
        ]
    if "exposures" in case:
        pieces = set(
            result.line_exposures.select("line", "drug", "start_date", "end_date").iter_rows()
        )
        for line, drug, s, e in case["exposures"]:
            assert (line, drug, day(s), day(e)) in pieces
    if "unmapped" in case:
        assert result.unmapped_drugs["drug"].to_list() == case["unmapped"]
    if "flags" in case:
        progression = pl.DataFrame(
            {
                "patient_id": ["X"] * len(case.get("progression", [])),
                "date": [day(d) for d in case.get("progression", [])],
            },
            schema={"patient_id": pl.String, "date": pl.Date},
        )
        best = None
        if "best_response" in case:
            best = pl.DataFrame(
                [["X", n, r] for n, r in case["best_response"]],
                schema={"patient_id": pl.String, "line": pl.Int64, "best_response": pl.String},
                orient="row",
            )
        flagged = derive_refractoriness(lines, result.line_exposures, progression, best)
        got_flags = [
            sorted(c for c in REFRACTORY_COLUMNS if row[c]) for row in flagged.iter_rows(named=True)
        ]
        assert got_flags == [sorted(f) for f in case["flags"]], case["rationale"]
