"""The ``endpoints`` table as an ADaM time-to-event dataset (ADTTE).

Follows the CDISC ADaM Basic Data Structure for Time-to-Event Analyses, version 1.0 (CDISC,
2012): one record per subject, parameter (here also per line), ``AVAL`` the time from ``STARTDT``
to ``ADT`` in days, ``CNSR`` 0 for an event and 1 for a censoring (the reverse of the
``event`` flag), ``EVNTDESC`` the event or censoring in words.
"""

from __future__ import annotations

import polars as pl

from mmrwe.contract import TableContract
from mmrwe.endpoints.definitions import LABELS, REASONS
from mmrwe.endpoints.derive import ENDPOINTS_TABLE

ADTTE_SCHEMA: dict[str, pl.DataType] = {
    "USUBJID": pl.String(),
    "LINE": pl.Int64(),
    "PARAMCD": pl.String(),
    "PARAM": pl.String(),
    "STARTDT": pl.Date(),
    "ADT": pl.Date(),
    "AVAL": pl.Int64(),
    "CNSR": pl.Int8(),
    "EVNTDESC": pl.String(),
}
ADTTE_TABLE = TableContract("adtte", ADTTE_SCHEMA)
#: ``EVNTDESC`` of each ``event_or_censor_reason``.
EVENT_DESCRIPTIONS: dict[str, str] = {
    "progression": "Progressive disease (IMWG)",
    "death": "Death",
    "next_line": "Start of next line of therapy",
    "discontinuation": "Last day of anti-myeloma therapy",
    "response": "First response (PR or better)",
    "last_assessment": "Last disease assessment",
    "last_contact": "Last contact",
    "no_assessment": "No disease assessment after start",
    "data_cutoff": "Data cutoff",
}
assert set(EVENT_DESCRIPTIONS) == set(REASONS)


def to_adtte(endpoints: pl.DataFrame) -> pl.DataFrame:
    """ADTTE rows (:data:`ADTTE_SCHEMA`) of an ``endpoints`` table, in its order."""
    ENDPOINTS_TABLE.require(endpoints, "to_adtte")
    return endpoints.select(
        pl.col("patient_id").alias("USUBJID"),
        pl.col("line").alias("LINE"),
        pl.col("endpoint").alias("PARAMCD"),
        pl.col("endpoint")
        .replace_strict({k: f"{v} (days)" for k, v in LABELS.items()}, return_dtype=pl.String)
        .alias("PARAM"),
        pl.col("start_date").alias("STARTDT"),
        pl.col("end_date").alias("ADT"),
        pl.col("time_days").alias("AVAL"),
        (1 - pl.col("event")).cast(pl.Int8).alias("CNSR"),
        pl.col("event_or_censor_reason")
        .replace_strict(EVENT_DESCRIPTIONS, return_dtype=pl.String)
        .alias("EVNTDESC"),
    ).cast(ADTTE_SCHEMA)
