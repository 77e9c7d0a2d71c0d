"""ADRS: IMWG response records, as admiralonco's "Creating ADRS with IMWG criteria" lays them out.

Parameters (``PARCAT1`` ``IMWG``; Kumar S et al., Lancet Oncol 2016):

- ``OVR``: the response at each on-line assessment (``AVALC`` the IMWG category, ``NE`` when
  the assessment supports none; ``CNFRMFL`` whether a later assessment confirmed it);
- ``BOR``: the best overall (confirmed) response of the line (``line_response.best_response``);
- ``RSP``: response, PR or better by default (``Y``/``N``; ``ADT`` the first response);
- ``PD``: disease progression (``Y``/``N``; ``ADT`` the progression date).

``AVAL`` of ``OVR`` and ``BOR`` orders the categories from worst to best then ``NE``, as the
vignette's ``aval_resp_imwg`` (PD 1, SD 2, MR 3, PR 4, VGPR 5, CR 6, sCR 7, NE 8); of ``RSP`` and
``PD`` 1 = Y, 0 = N. A patient has these per line (``LINE``, a record-level variable like
``AVISIT``). ``RSSRC`` says where the value comes from (``labs``, ``physician``, ``none``).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from mmrwe.adam.adsl import yes_no
from mmrwe.adam.metadata import contract, schema
from mmrwe.errors import require_columns

ADRS_TABLE = contract("ADRS")
#: ``AVAL`` of each IMWG category (admiralonco ``aval_resp_imwg``)
RESPONSE_AVAL: dict[str, int] = {
    "PD": 1,
    "SD": 2,
    "MR": 3,
    "PR": 4,
    "VGPR": 5,
    "CR": 6,
    "sCR": 7,
    "NE": 8,
}
#: PARAMCD → (PARAMN, PARAM)
PARAMETERS: dict[str, tuple[int, str]] = {
    "OVR": (1, "Overall Response at Time Point (IMWG)"),
    "BOR": (2, "Best Overall Response (IMWG, confirmed)"),
    "RSP": (3, "Response (IMWG, {responders})"),
    "PD": (4, "Disease Progression (IMWG)"),
}
ASSESSMENT_COLUMNS = ("patient_id", "line", "date", "role", "category", "confirmed")
RESPONSE_COLUMNS = (
    "patient_id",
    "line",
    "best_response",
    "best_response_date",
    "first_response_date",
    "progression_date",
    "response_source",
    "progression_source",
)
DEFAULT_RESPONDERS = ("sCR", "CR", "VGPR", "PR")


def _records(frame: pl.DataFrame, paramcd: str, param: str, study_id: str, **cols: pl.Expr):
    return frame.select(
        pl.lit(study_id).alias("STUDYID"),
        pl.col("patient_id").alias("USUBJID"),
        pl.lit(paramcd).alias("PARAMCD"),
        pl.lit(param).alias("PARAM"),
        pl.lit(PARAMETERS[paramcd][0]).alias("PARAMN"),
        pl.lit("IMWG").alias("PARCAT1"),
        pl.col("line").alias("LINE"),
        *(expr.alias(name) for name, expr in cols.items()),
    )


def _flag_records(frame, paramcd, param, study_id, flag: pl.Expr, date: str, source: pl.Expr):
    return _records(
        frame,
        paramcd,
        param,
        study_id,
        ADT=pl.col(date),
        AVALC=yes_no(flag),
        AVAL=flag.cast(pl.Int64),
        RSSRC=source,
    )


def to_adrs(
    assessments: pl.DataFrame,
    line_response: pl.DataFrame,
    *,
    study_id: str,
    responders: Sequence[str] = DEFAULT_RESPONDERS,
) -> pl.DataFrame:
    """ADRS records (:func:`mmrwe.adam.schema` ``"ADRS"``) sorted by patient, line, parameter
    and date. ``responders``: the best responses that make a responder
    (``EndpointRules.responder_categories``)."""
    require_columns(assessments, "assessments", ASSESSMENT_COLUMNS, "to_adrs")
    require_columns(line_response, "line_response", RESPONSE_COLUMNS, "to_adrs")
    category = pl.col("category").fill_null("NE")
    ovr = _records(
        assessments.filter(pl.col("role") == "on_line"),
        "OVR",
        PARAMETERS["OVR"][1],
        study_id,
        ADT=pl.col("date"),
        AVALC=category,
        AVAL=category.replace_strict(RESPONSE_AVAL, return_dtype=pl.Int64),
        CNFRMFL=yes_no(pl.col("confirmed")),
        RSSRC=pl.lit("labs"),
    )
    bor = _records(
        line_response,
        "BOR",
        PARAMETERS["BOR"][1],
        study_id,
        ADT=pl.col("best_response_date"),
        AVALC=pl.col("best_response"),
        AVAL=pl.col("best_response").replace_strict(RESPONSE_AVAL, return_dtype=pl.Int64),
        RSSRC=pl.col("response_source"),
    )
    rsp_param = PARAMETERS["RSP"][1].format(responders=" or ".join(responders))
    rsp = _flag_records(
        line_response,
        "RSP",
        rsp_param,
        study_id,
        pl.col("best_response").is_in(list(responders)),
        "first_response_date",
        pl.col("response_source"),
    )
    pd_ = _flag_records(
        line_response,
        "PD",
        PARAMETERS["PD"][1],
        study_id,
        pl.col("progression_date").is_not_null(),
        "progression_date",
        pl.col("progression_source"),
    )
    adrs_schema = schema("ADRS")
    return (
        pl.concat(
            [t.with_columns(pl.lit(None, pl.String).alias("CNFRMFL")) for t in (bor, rsp, pd_)]
            + [ovr],
            how="diagonal",
        )
        .select(list(adrs_schema))
        .cast(adrs_schema)
        .sort("USUBJID", "LINE", "PARAMN", "ADT", maintain_order=True, nulls_last=True)
    )
