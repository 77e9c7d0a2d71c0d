"""to_adtte: CDISC ADaM BDS for time-to-event (ADTTE v1.0, 2012) variables, the line as part of
the parameter, the CNSR convention and the sources of ADT."""

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
    adtte = to_adtte(endpoints(), study_id="RWE-MM")
    assert adtte.schema == pl.Schema(ADTTE_SCHEMA)
    assert adtte.columns == [
        "STUDYID", "USUBJID", "PARAMCD", "PARAM", "PARAMN", "PARCAT1", "LINE", "STARTDT", "ADT",
        "ADTF", "AVAL", "AVALU", "CNSR", "EVNTDESC", "CNSDTDSC", "SRCDOM", "SRCVAR",
    ]  # fmt: skip
    first = adtte.row(0, named=True)
    assert first == {
        "STUDYID": "RWE-MM",
        "USUBJID": "P1",
        "PARAMCD": "PFS1",
        "PARAM": "Progression-free survival, line 1 (days)",
        "PARAMN": 101,
        "PARCAT1": "PFS",
        "LINE": 1,
        "STARTDT": D(2020, 1, 1),
        "ADT": D(2020, 10, 27),
        "ADTF": None,
        "AVAL": 300,
        "AVALU": "DAYS",
        "CNSR": 0,
        "EVNTDESC": "Progressive disease (IMWG)",
        "CNSDTDSC": None,
        "SRCDOM": "ADRS",
        "SRCVAR": "ADT",
    }


def test_the_line_is_a_parameter_level_variable() -> None:
    """BDS-TTE has one record per subject and parameter: a patient's PFS of line 1 and of line 2
    are two parameters, and LINE and PARCAT1 do not vary within one."""
    adtte = to_adtte(endpoints(), study_id="S")
    assert adtte["PARAMCD"].to_list() == ["PFS1", "OS1", "TTR1", "PFS2", "TTD2"]
    assert adtte["PARAMN"].to_list() == [101, 201, 501, 102, 602]
    per_param = adtte.group_by("PARAMCD").agg(pl.col("LINE", "PARCAT1", "PARAM").n_unique())
    assert (per_param.select(pl.col("LINE", "PARCAT1", "PARAM").max()).row(0)) == (1, 1, 1)


def test_censored_records_describe_their_date_and_its_source() -> None:
    adtte = to_adtte(endpoints(), study_id="S")
    assert adtte["CNSDTDSC"].to_list() == [
        None,
        "Last contact",
        None,
        "No disease assessment after start",
        "Data cutoff",
    ]
    assert list(zip(adtte["SRCDOM"], adtte["SRCVAR"], strict=True)) == [
        ("ADRS", "ADT"),
        ("ADSL", "LSTALVDT"),
        ("ADRS", "ADT"),
        ("ADTTE", "STARTDT"),
        ("ADSL", "DCUTDT"),
    ]


def test_cnsr_is_zero_for_events_and_one_for_censorings() -> None:
    """ADaM: CNSR = 0 is an event, CNSR > 0 a censoring; the reverse of the event flag."""
    adtte = to_adtte(endpoints(), study_id="S")
    assert adtte["CNSR"].to_list() == [0, 1, 0, 1, 1]
    assert adtte["EVNTDESC"].to_list() == [
        "Progressive disease (IMWG)",
        "Last contact",
        "First response (PR or better)",
        "No disease assessment after start",
        "Data cutoff",
    ]
    assert adtte["PARAM"].to_list()[2:] == [
        "Time to response, line 1 (days)",
        "Progression-free survival, line 2 (days)",
        "Time to treatment discontinuation, line 2 (days)",
    ]


def test_a_table_that_is_not_endpoints_is_refused() -> None:
    with pytest.raises(
        ParameterError, match=r"'endpoints' table passed to to_adtte lacks .*'event'"
    ):
        to_adtte(endpoints().drop("event"), study_id="S")
