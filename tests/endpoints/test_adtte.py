"""to_adtte: CDISC ADaM BDS for time-to-event (ADTTE, 2012) columns and the CNSR convention."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from mmrwe.endpoints import ADTTE_SCHEMA, ENDPOINTS_SCHEMA, to_adtte
from mmrwe.errors import ParameterError

D = dt.date


def endpoints() -> pl.DataFrame:
    rows = [
        ("P1", 1, "PFS", D(2020, 1, 1), D(2020, 10, 27), 300, 1, "progression"),
        ("P1", 1, "OS", D(2020, 1, 1), D(2022, 3, 10), 799, 0, "last_contact"),
        ("P1", 1, "TTR", D(2020, 1, 1), D(2020, 3, 1), 60, 1, "response"),
        ("P2", 2, "PFS", D(2021, 5, 1), D(2021, 5, 1), 0, 0, "no_assessment"),
        ("P2", 2, "TTD", D(2021, 5, 1), D(2021, 6, 30), 60, 0, "data_cutoff"),
    ]
    cols = [c for c in ENDPOINTS_SCHEMA if c != "time_months"]
    frame = pl.DataFrame(rows, schema=cols, orient="row")
    return frame.with_columns((pl.col("time_days") / 30.4375).alias("time_months")).cast(
        ENDPOINTS_SCHEMA
    )


def test_columns_and_values() -> None:
    adtte = to_adtte(endpoints())
    assert adtte.schema == pl.Schema(ADTTE_SCHEMA)
    assert adtte.columns == [
        "USUBJID", "LINE", "PARAMCD", "PARAM", "STARTDT", "ADT", "AVAL", "CNSR", "EVNTDESC",
    ]  # fmt: skip
    first = adtte.row(0, named=True)
    assert first == {
        "USUBJID": "P1",
        "LINE": 1,
        "PARAMCD": "PFS",
        "PARAM": "Progression-free survival (days)",
        "STARTDT": D(2020, 1, 1),
        "ADT": D(2020, 10, 27),
        "AVAL": 300,
        "CNSR": 0,
        "EVNTDESC": "Progressive disease (IMWG)",
    }


def test_cnsr_is_zero_for_events_and_one_for_censorings() -> None:
    """ADaM: CNSR = 0 is an event, CNSR > 0 a censoring; the reverse of the event flag."""
    adtte = to_adtte(endpoints())
    assert adtte["CNSR"].to_list() == [0, 1, 0, 1, 1]
    assert adtte["EVNTDESC"].to_list() == [
        "Progressive disease (IMWG)",
        "Last contact",
        "First response (PR or better)",
        "No disease assessment after start",
        "Data cutoff",
    ]
    assert adtte["PARAM"].to_list()[2:] == [
        "Time to response (days)",
        "Progression-free survival (days)",
        "Time to treatment discontinuation (days)",
    ]


def test_a_table_that_is_not_endpoints_is_refused() -> None:
    with pytest.raises(
        ParameterError, match=r"'endpoints' table passed to to_adtte lacks .*'event'"
    ):
        to_adtte(endpoints().drop("event"))
