"""The ``endpoints`` table as an ADaM time-to-event dataset (ADTTE).

Follows the CDISC ADaM Basic Data Structure for Time-to-Event Analyses v1.0 (CDISC, 2012) and the
ADaM IG v1.3: one record per subject and parameter. A patient has one record per endpoint *per
line*, so the line is part of the parameter (``PARAMCD`` ``PFS1`` = PFS of line 1; ``LINE`` and
``PARCAT1``, the endpoint, are constant within a parameter). ``AVAL`` is the time from
``STARTDT`` to ``ADT`` in days (``AVALU``), ``CNSR`` 0 for an event and 1 for a censoring (the
reverse of the ``event`` flag), ``EVNTDESC`` the event or censoring in words, ``CNSDTDSC`` the
censoring date's description (censored records only), ``SRCDOM``/``SRCVAR`` the dataset and
variable the date comes from.
"""

from __future__ import annotations

import polars as pl

from mmrwe.adam.metadata import schema
from mmrwe.contract import TableContract
from mmrwe.endpoints.definitions import ENDPOINT_ORDER, LABELS, REASONS
from mmrwe.endpoints.derive import ENDPOINTS_TABLE

ADTTE_SCHEMA: dict[str, pl.DataType] = schema("ADTTE")
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
#: (``SRCDOM``, ``SRCVAR``) of each reason: where ``ADT`` comes from (a run's ADaM datasets
#: ADSL/ADRS/ADTTE, or its ``lines`` and ``line_exposures`` tables)
DATE_SOURCES: dict[str, tuple[str, str]] = {
    "progression": ("ADRS", "ADT"),  # PARAMCD PD
    "death": ("ADSL", "DTHDT"),
    "next_line": ("LINES", "START_DATE"),  # the next line's start (censoring: the day before)
    "discontinuation": ("LINE_EXPOSURES", "END_DATE"),
    "response": ("ADRS", "ADT"),  # PARAMCD RSP
    "last_assessment": ("ADRS", "ADT"),  # the last OVR record of the line
    "last_contact": ("ADSL", "LSTALVDT"),
    "no_assessment": ("ADTTE", "STARTDT"),
    "data_cutoff": ("ADSL", "DCUTDT"),
}
assert set(EVENT_DESCRIPTIONS) == set(REASONS) == set(DATE_SOURCES)
#: ``PARAMN`` = endpoint number × this + line (PFS of line 2: 102)
PARAMN_STEP = 100


def to_adtte(endpoints: pl.DataFrame, *, study_id: str) -> pl.DataFrame:
    """ADTTE rows (:data:`ADTTE_SCHEMA`) of an ``endpoints`` table, in its order.

    ``study_id`` fills ``STUDYID``. ``ADTF`` is empty: partial input dates are imputed and
    counted when the cohort is read, and their imputation level is not carried this far."""
    ENDPOINTS_TABLE.require(endpoints, "to_adtte")
    line = pl.col("line").cast(pl.String)
    reason = pl.col("event_or_censor_reason")
    description = reason.replace_strict(EVENT_DESCRIPTIONS, return_dtype=pl.String)
    return endpoints.select(
        pl.lit(study_id).alias("STUDYID"),
        pl.col("patient_id").alias("USUBJID"),
        pl.concat_str(pl.col("endpoint"), line).alias("PARAMCD"),
        pl.concat_str(
            pl.col("endpoint").replace_strict(LABELS, return_dtype=pl.String),
            pl.lit(", line "),
            line,
            pl.lit(" (days)"),
        ).alias("PARAM"),
        (
            (pl.col("endpoint").replace_strict(ENDPOINT_ORDER, return_dtype=pl.Int64) + 1)
            * PARAMN_STEP
            + pl.col("line")
        ).alias("PARAMN"),
        pl.col("endpoint").alias("PARCAT1"),
        pl.col("line").alias("LINE"),
        pl.col("start_date").alias("STARTDT"),
        pl.col("end_date").alias("ADT"),
        pl.lit(None, pl.String).alias("ADTF"),
        pl.col("time_days").alias("AVAL"),
        pl.lit("DAYS").alias("AVALU"),
        (1 - pl.col("event")).cast(pl.Int8).alias("CNSR"),
        description.alias("EVNTDESC"),
        pl.when(pl.col("event") == 0).then(description).alias("CNSDTDSC"),
        reason.replace_strict({k: v[0] for k, v in DATE_SOURCES.items()}).alias("SRCDOM"),
        reason.replace_strict({k: v[1] for k, v in DATE_SOURCES.items()}).alias("SRCVAR"),
    ).cast(ADTTE_SCHEMA)
