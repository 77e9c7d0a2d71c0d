"""The per-line frame the endpoint evaluator reads: one row per line with every source date.

Columns: ``patient_id, line, index_date`` (the line's start; a CAR-T line's infusion when
``car_t_index = "infusion"``), ``next_start`` (``end_date`` + 1 day when the line ended by a next
line, else null), ``death_date``, ``last_contact_date``, ``progression_date``,
``first_response_date``, ``responder``, ``last_drug_date`` and ``last_assessment_date``.
"""

from __future__ import annotations

import polars as pl

from mmrwe.contract import TableContract
from mmrwe.endpoints.rules import EndpointRules
from mmrwe.io.cohort import PATIENTS_TABLE, RESPONSES_TABLE
from mmrwe.lines.derive import LINE_EXPOSURES_TABLE
from mmrwe.lines.refractory import LINES_TABLE
from mmrwe.lines.rules import index_date_expr
from mmrwe.response.assess import ASSESSMENTS_TABLE
from mmrwe.response.best import LINE_RESPONSE_TABLE

#: the columns the evaluator reads of each table (declared in :data:`CONTRACTS`)
REQUIRED: dict[str, tuple[str, ...]] = {
    "lines": (
        "patient_id", "line", "start_date", "end_date", "end_reason", "includes_car_t",
        "infusion_date",
    ),
    "line_exposures": ("patient_id", "line", "drug", "drug_class", "end_date", "role"),
    "line_response": ("patient_id", "line", "best_response", "first_response_date",
                      "progression_date"),
    "assessments": ("patient_id", "line", "date", "role"),
    "responses": ("patient_id", "date"),
    "patients": ("patient_id", "death_date", "last_contact_date"),
}  # fmt: skip
_OWNER = "derive_endpoints"
_DAY = pl.duration(days=1)


#: each input table's contract, declared by the stage that makes it
CONTRACTS: dict[str, TableContract] = {
    "lines": LINES_TABLE,
    "line_exposures": LINE_EXPOSURES_TABLE,
    "line_response": LINE_RESPONSE_TABLE,
    "assessments": ASSESSMENTS_TABLE,
    "responses": RESPONSES_TABLE,
    "patients": PATIENTS_TABLE,
}


def check_tables(tables: dict[str, pl.DataFrame | None]) -> None:
    """Raise :class:`~mmrwe.errors.MissingColumnsError` naming a table's missing columns."""
    for name, table in tables.items():
        if table is None and name == "responses":
            continue
        CONTRACTS[name].require(table, _OWNER, REQUIRED[name])  # type: ignore[arg-type]


def line_frame(
    lines: pl.DataFrame,
    line_exposures: pl.DataFrame,
    line_response: pl.DataFrame,
    assessments: pl.DataFrame,
    responses: pl.DataFrame | None,
    patients: pl.DataFrame,
    rules: EndpointRules,
    car_t_index: str,
) -> pl.DataFrame:
    """One row per line with the dates every endpoint source reads (module docstring)."""
    index = index_date_expr(car_t_index)
    ln = lines.select(
        "patient_id",
        pl.col("line").cast(pl.Int64),
        index.alias("index_date"),
        pl.when(pl.col("end_reason") == "next_line")
        .then(pl.col("end_date") + _DAY)
        .alias("next_start"),
    ).join(
        patients.select("patient_id", "death_date", "last_contact_date"),
        on="patient_id",
        how="left",
    )
    resp = line_response.select(
        "patient_id",
        pl.col("line").cast(pl.Int64),
        "progression_date",
        "first_response_date",
        (
            pl.col("best_response").is_in(rules.responder_categories)
            & pl.col("first_response_date").is_not_null()
        ).alias("responder"),
    )
    ln = ln.join(resp, on=["patient_id", "line"], how="left").with_columns(
        pl.col("responder").fill_null(False)
    )
    ln = ln.join(_last_drug(line_exposures, rules), on=["patient_id", "line"], how="left")
    ln = ln.with_columns(
        pl.max_horizontal("last_drug_date", "index_date").alias("last_drug_date"),
        pl.min_horizontal(pl.col("next_start") - _DAY, "last_contact_date").alias("_hi"),
    )
    return _with_last_assessment(ln, assessments, responses).drop("_hi")


def _last_drug(exposures: pl.DataFrame, rules: EndpointRules) -> pl.DataFrame:
    """Last day of anti-myeloma drug per line (steroids, supportive and preparation excluded)."""
    return (
        exposures.filter(
            ~pl.col("drug_class").is_in(rules.ttd_excluded_classes)
            & ~pl.col("role").fill_null("").is_in(rules.ttd_excluded_roles)
            & ~pl.col("drug").is_in(rules.ttd_excluded_drugs)
        )
        .group_by("patient_id", pl.col("line").cast(pl.Int64))
        .agg(pl.col("end_date").max().alias("last_drug_date"))
    )


def _with_last_assessment(
    ln: pl.DataFrame, assessments: pl.DataFrame, responses: pl.DataFrame | None
) -> pl.DataFrame:
    """Add ``last_assessment_date``: the latest on-line assessment of the line, or recorded
    response of the patient after the index date, on or before ``_hi`` (the day before the next
    line, the last contact). Whether it is on or after a DOR's start is the evaluator's check.
    """
    keys = ln.lazy().select("patient_id", "line", "index_date", "_hi")
    lab = (
        assessments.lazy()
        .filter(pl.col("role") == "on_line")
        .select("patient_id", pl.col("line").cast(pl.Int64), "date")
        .join(keys, on=["patient_id", "line"])
        .filter((pl.col("date") <= pl.col("_hi")) & (pl.col("date") > pl.col("index_date")))
        .group_by("patient_id", "line")
        .agg(pl.col("date").max().alias("_lab"))
    )
    out = ln.lazy().join(lab, on=["patient_id", "line"], how="left")
    cols = ["_lab"]
    if responses is not None:
        rec = (
            responses.lazy()
            .select("patient_id", "date")
            .join(keys, on="patient_id")
            .filter((pl.col("date") <= pl.col("_hi")) & (pl.col("date") > pl.col("index_date")))
            .group_by("patient_id", "line")
            .agg(pl.col("date").max().alias("_rec"))
        )
        out = out.join(rec, on=["patient_id", "line"], how="left")
        cols.append("_rec")
    return (
        out.with_columns(pl.max_horizontal(cols).alias("last_assessment_date")).drop(cols).collect()
    )
