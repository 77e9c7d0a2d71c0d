"""Parameters and inputs are checked up front, with messages that say what to fix."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from mmrwe.endpoints import EndpointRules, derive_endpoints
from mmrwe.errors import InvalidDataError, ParameterError
from tests.endpoints.helpers import case_tables

CASE = {"lines": [[0, 299, "next_line"], [300, 799, "last_contact"]], "assessments": [[1, 100]]}


def test_a_missing_column_is_named() -> None:
    t = case_tables(CASE)
    t["line_response"] = t["line_response"].drop("progression_date")
    with pytest.raises(
        ParameterError, match=r"'line_response' table .* lacks the column\(s\) 'progression_date'"
    ):
        derive_endpoints(**t)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"car_t_index": "apheresis"}, r"'car_t_index' parameter .* 'infusion' or 'line_start'"),
        ({"data_cutoff": "2021-01-01"}, r"'data_cutoff' parameter .* datetime.date or None"),
        ({"rules": {"pfs_censor": "x"}}, r"'rules' parameter .* an EndpointRules"),
    ],
)
def test_bad_parameters(kwargs: dict, pattern: str) -> None:
    with pytest.raises(ParameterError, match=pattern):
        derive_endpoints(**case_tables(CASE), **kwargs)


def test_rules_refuse_unknown_fields_and_categories() -> None:
    with pytest.raises(ValidationError, match="pfs_censor_days"):
        EndpointRules(pfs_censor_days=3)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="unknown response categories"):
        EndpointRules(responder_categories=("PR", "partial"))
    with pytest.raises(ValidationError, match="pfs_censor"):
        EndpointRules(pfs_censor="last_visit")  # type: ignore[arg-type]


def test_a_patient_missing_from_patients_raises() -> None:
    t = case_tables(CASE)
    t["patients"] = t["patients"].clear()
    with pytest.raises(InvalidDataError, match="have no date"):
        derive_endpoints(**t)


def test_progress_is_reported_once_per_step() -> None:
    seen: list[int] = []
    derive_endpoints(**case_tables(CASE), on_progress=seen.append)
    assert seen == [1] * 7  # the per-line frame, then the six endpoints


def test_responses_may_be_absent() -> None:
    t = case_tables({**CASE, "responses": [[150, "PR"]]})
    with_rec = derive_endpoints(**t)
    without = derive_endpoints(**{**t, "responses": None})
    pfs = {"with": with_rec.row(0, named=True), "without": without.row(0, named=True)}
    assert pfs["with"]["end_date"] == dt.date(2020, 5, 30)  # the recorded response, day 150
    assert pfs["without"]["end_date"] == dt.date(2020, 4, 10)  # the lab assessment, day 100
