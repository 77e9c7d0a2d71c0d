"""Properties of the endpoints on a 500-patient simulated cohort through the real pipeline."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from mmrwe.endpoints import ENDPOINTS_SCHEMA, REASONS, derive_endpoints
from mmrwe.endpoints.rules import EndpointRules
from mmrwe.simulate import simulate_cohort
from tests.endpoints.helpers import derive_stage_tables

ALLOWED = {
    "PFS": {"progression", "death", "last_assessment", "no_assessment"},
    "OS": {"death", "last_contact"},
    "TTNT": {"next_line", "death", "last_contact"},
    "DOR": {"progression", "death", "last_assessment", "no_assessment"},
    "TTR": {"response"},
    "TTD": {"discontinuation", "death", "last_contact"},
}
EVENTS = {"progression", "death", "next_line", "discontinuation", "response"}


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pl.DataFrame]:
    path = tmp_path_factory.mktemp("sim") / "cohort"
    simulate_cohort(path, n_patients=500, seed=7)
    return derive_stage_tables(path)


@pytest.fixture(scope="module")
def endpoints(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    return derive_endpoints(**tables)


def wide(endpoints: pl.DataFrame) -> pl.DataFrame:
    return endpoints.pivot(
        on="endpoint", index=["patient_id", "line"], values="end_date", aggregate_function=None
    )


def test_schema_and_times(endpoints: pl.DataFrame) -> None:
    assert endpoints.schema == pl.Schema(ENDPOINTS_SCHEMA)
    assert endpoints["time_days"].min() >= 0
    assert endpoints.null_count().sum_horizontal().item() == 0
    assert (
        endpoints["time_days"] == (endpoints["end_date"] - endpoints["start_date"]).dt.total_days()
    ).all()


def test_every_line_has_pfs_os_ttnt_ttd_once(tables, endpoints) -> None:
    per_line = endpoints.group_by("patient_id", "line").agg(pl.col("endpoint"))
    assert per_line.height == tables["lines"].height
    for row in per_line.iter_rows(named=True):
        assert sorted(e for e in row["endpoint"] if e in ("PFS", "OS", "TTNT", "TTD")) == sorted(
            ["PFS", "OS", "TTNT", "TTD"]
        )
    assert endpoints.select("patient_id", "line", "endpoint").is_duplicated().sum() == 0


def test_dor_and_ttr_exactly_for_responders(tables, endpoints) -> None:
    responders = tables["line_response"].filter(
        pl.col("best_response").is_in(["sCR", "CR", "VGPR", "PR"])
        & pl.col("first_response_date").is_not_null()
    )
    for code in ("DOR", "TTR"):
        got = endpoints.filter(pl.col("endpoint") == code).select("patient_id", "line")
        assert got.sort("patient_id", "line").equals(
            responders.select("patient_id", "line").sort("patient_id", "line")
        )
    assert responders.height > 100  # the property is not vacuous


def test_reasons_and_event_flags(endpoints: pl.DataFrame) -> None:
    assert set(endpoints["event_or_censor_reason"].unique()) <= set(REASONS)
    for code, allowed in ALLOWED.items():
        seen = set(endpoints.filter(pl.col("endpoint") == code)["event_or_censor_reason"])
        assert seen <= allowed, code
    assert (
        endpoints["event"] == endpoints["event_or_censor_reason"].is_in(EVENTS).cast(pl.Int8)
    ).all()


def test_end_dates_are_ordered(endpoints: pl.DataFrame) -> None:
    w = wide(endpoints)
    assert (w["PFS"] <= w["OS"]).all()
    assert (w["PFS"] <= w["TTNT"]).all()  # PFS stops before the next line
    assert (w["TTNT"] <= w["OS"]).all()
    assert (w["TTD"] <= w["OS"]).all()
    resp = w.filter(pl.col("DOR").is_not_null())
    assert (resp["DOR"] == resp["PFS"]).all()  # same events and censoring, later start


def test_dor_starts_where_ttr_ends(endpoints: pl.DataFrame) -> None:
    dor = endpoints.filter(pl.col("endpoint") == "DOR").select("patient_id", "line", "start_date")
    ttr = endpoints.filter(pl.col("endpoint") == "TTR").select("patient_id", "line", "end_date")
    both = dor.join(ttr, on=["patient_id", "line"])
    assert both.height == dor.height and (both["start_date"] == both["end_date"]).all()


def test_input_order_does_not_change_the_result(tables, endpoints) -> None:
    shuffled = {k: v.sample(fraction=1.0, shuffle=True, seed=5) for k, v in tables.items()}
    assert_frame_equal(endpoints, derive_endpoints(**shuffled))


def test_data_cutoff_truncates_and_keeps_earlier_ends(tables, endpoints) -> None:
    cutoff = dt.date(2021, 6, 30)
    cut = derive_endpoints(**tables, data_cutoff=cutoff)
    assert cut["end_date"].max() <= cutoff
    assert cut["start_date"].max() <= cutoff
    at_cutoff = cut.filter(pl.col("event_or_censor_reason") == "data_cutoff")
    assert at_cutoff.height > 0 and (at_cutoff["end_date"] == cutoff).all()
    assert (at_cutoff["event"] == 0).all()
    before = endpoints.filter(pl.col("end_date") <= cutoff)
    kept = before.join(cut, on=["patient_id", "line", "endpoint"], how="left", suffix="_cut")
    assert (kept["end_date"] == kept["end_date_cut"]).all()
    assert (kept["event"] == kept["event_cut"]).all()


def test_rule_switches_change_only_what_they_say(tables, endpoints) -> None:
    other = derive_endpoints(**tables, rules=EndpointRules(ttnt_death_is_event=False))
    key = ["patient_id", "line", "endpoint"]
    diff = endpoints.join(other, on=key, suffix="_o").filter(pl.col("event") != pl.col("event_o"))
    assert diff.height > 0
    assert set(diff["endpoint"]) == {"TTNT"} and set(diff["event_or_censor_reason"]) == {"death"}
