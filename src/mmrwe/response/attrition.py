"""The response stage's attrition steps (``mmrwe.io.attrition`` columns)."""

from __future__ import annotations

import polars as pl

from mmrwe.io.attrition import attrition_table


def response_attrition(
    labs: pl.DataFrame, lines: pl.DataFrame, line_response: pl.DataFrame
) -> pl.DataFrame:
    """Lab rows not assessed (patients without a line) and lines without any evaluable response.

    No patient is excluded here: patients with lines stay, their non-evaluable lines are reported
    with best response ``NE``.
    """
    patients = lines["patient_id"].unique()
    n = patients.len()
    unused = labs.filter(~pl.col("patient_id").is_in(patients.implode())).height
    ne = line_response.filter(pl.col("best_response") == "NE").height
    return attrition_table(
        [
            (n, 0, unused, "lab rows of patients without a line of therapy (no response assessed)"),
            (
                n,
                0,
                ne,
                "lines with best response NE (nothing measurable at baseline or fewer than two "
                "assessments, no physician-recorded response and no progression); kept in "
                "line_response",
            ),
        ]
    )
