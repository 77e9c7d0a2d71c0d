"""Hand-adjudicated patients (data/endpoint_cases.toml): one per event and censoring path of
every endpoint, CAR-T from the infusion and from the line start, the rule switches and the data
cutoff. Expected dates were worked out by hand from docs/endpoints.md; ``why`` gives the clinical
reason beside them."""

from __future__ import annotations

import tomllib
from pathlib import Path

import polars as pl
import pytest

from mmrwe.endpoints import EndpointRules, derive_endpoints
from mmrwe.errors import InvalidDataError
from tests.endpoints.helpers import case_tables, day

CASES = tomllib.loads((Path(__file__).parent / "data" / "endpoint_cases.toml").read_text())["case"]

#: every event and censoring path the rules name (tags in ``covers``)
REQUIRED = {
    "PFS-progression", "PFS-death", "PFS-death-after-next-line", "PFS-pd-after-next-line",
    "PFS-censor-labs", "PFS-censor-physician", "PFS-no-assessment", "PFS-censor-last-contact",
    "PFS-death-not-event", "OS-event", "OS-censor", "TTNT-next-line", "TTNT-death", "TTNT-censor",
    "TTNT-death-not-event", "DOR-event", "DOR-death", "DOR-censor", "DOR-non-responder", "TTR",
    "TTD-discontinuation", "TTD-death", "TTD-ongoing", "TTD-steroid-excluded", "TTD-asct",
    "CAR-T-infusion", "CAR-T-line-start", "cutoff-PFS", "cutoff-OS", "cutoff-TTNT",
    "cutoff-DOR", "cutoff-TTD", "cutoff-TTR", "cutoff-line-after", "cutoff-before",
}  # fmt: skip


def run_case(case: dict) -> pl.DataFrame:
    t = case_tables(case)
    return derive_endpoints(
        t["lines"],
        t["line_exposures"],
        t["line_response"],
        t["assessments"],
        t["responses"],
        t["patients"],
        EndpointRules(**case.get("rules", {})),
        car_t_index=case.get("car_t_index", "infusion"),
        data_cutoff=day(case["data_cutoff"]) if "data_cutoff" in case else None,
    )


def test_cases_cover_every_path() -> None:
    assert len({c["id"] for c in CASES}) == len(CASES)
    covered = {tag for c in CASES for tag in c["covers"]}
    assert covered >= REQUIRED, sorted(REQUIRED - covered)
    assert all(c["why"] and (c.get("expected") or c.get("absent")) for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case: dict) -> None:
    out = run_case(case)
    got = {
        (r["line"], r["endpoint"]): (
            r["start_date"],
            r["end_date"],
            r["event"],
            r["event_or_censor_reason"],
        )
        for r in out.iter_rows(named=True)
    }
    for line, endpoint, start, end, event, reason in case.get("expected", []):
        assert got.get((line, endpoint)) == (day(start), day(end), event, reason), (
            f"line {line} {endpoint}: {case['why']}"
        )
    for line, endpoint in case.get("absent", []):
        rows = [k for k in got if k[0] == line and endpoint in ("*", k[1])]
        assert not rows, f"line {line} {endpoint} should have no row: {case['why']}"
    assert (out["time_days"] == (out["end_date"] - out["start_date"]).dt.total_days()).all()


def test_every_line_has_pfs_os_ttnt_ttd_in_fixed_order() -> None:
    out = run_case(next(c for c in CASES if c["id"] == "car-t-from-infusion"))
    assert out.select("line", "endpoint").rows() == [
        (1, "PFS"), (1, "OS"), (1, "TTNT"), (1, "TTD"),
        (2, "PFS"), (2, "OS"), (2, "TTNT"), (2, "DOR"), (2, "TTR"), (2, "TTD"),
    ]  # fmt: skip


def test_time_in_months_is_days_over_30_4375() -> None:
    out = run_case(next(c for c in CASES if c["id"] == "pfs-progression"))
    pfs = out.filter(pl.col("endpoint") == "PFS").row(0, named=True)
    assert pfs["time_days"] == 300
    assert pfs["time_months"] == pytest.approx(300 / 30.4375)  # 9.856 months


def test_death_before_the_line_start_raises_naming_the_line() -> None:
    """Contradictory input (death on day -10, line from day 0) must not give a clipped time."""
    case = {"lines": [[0, 100, "last_contact"]], "death": -10, "last_contact": 100}
    with pytest.raises(InvalidDataError, match=r"OS of patient X line 1: start 2020-01-01"):
        run_case(case)
