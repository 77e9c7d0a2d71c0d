"""Small hand-made stage tables for the figure tests (columns as docs/data-model.md)."""

from __future__ import annotations

import datetime as dt

import polars as pl

D = dt.date


def lines_table(rows: list[tuple]) -> pl.DataFrame:
    """``lines`` from (patient_id, line, start, end, end_reason, regimen, drug_classes)."""
    return pl.DataFrame(
        rows,
        schema={
            "patient_id": pl.String,
            "line": pl.Int64,
            "start_date": pl.Date,
            "end_date": pl.Date,
            "end_reason": pl.String,
            "regimen": pl.String,
            "drug_classes": pl.String,
        },
        orient="row",
    )


def line_response_table(rows: list[tuple]) -> pl.DataFrame:
    """``line_response`` from (patient_id, line, best_response, first_response_date,
    progression_date, measurable_by)."""
    return pl.DataFrame(
        rows,
        schema={
            "patient_id": pl.String,
            "line": pl.Int64,
            "best_response": pl.String,
            "first_response_date": pl.Date,
            "progression_date": pl.Date,
            "measurable_by": pl.String,
        },
        orient="row",
    )


def assessments_table(rows: list[tuple]) -> pl.DataFrame:
    """``assessments`` from (patient_id, line, date, role, serum_m, urine_m, dflc, category)."""
    return pl.DataFrame(
        rows,
        schema={
            "patient_id": pl.String,
            "line": pl.Int64,
            "date": pl.Date,
            "role": pl.String,
            "serum_m": pl.Float64,
            "urine_m": pl.Float64,
            "dflc": pl.Float64,
            "category": pl.String,
        },
        orient="row",
    )


# Three patients whose follow-up spans differ, so the swimmer order is known:
# MM-LONG-17 (3 lines, 0–900 days, alive), MM-MID-05 (2 lines, 0–600 days, died),
# MM-SHORT-99 (1 line, 0–300 days, died; line numbering starts at 2 after a referral).
JOURNEY_LINES = lines_table(
    [
        ("MM-LONG-17", 1, D(2018, 1, 1), D(2018, 12, 31), "next_line", "VRd", "IMiD;PI;steroid"),
        (
            "MM-LONG-17",
            2,
            D(2019, 1, 1),
            D(2019, 8, 31),
            "next_line",
            "DPd",
            "IMiD;anti-CD38;steroid",
        ),
        (
            "MM-LONG-17",
            3,
            D(2019, 9, 1),
            D(2020, 6, 18),
            "last_contact",
            "ide-cel",
            "CAR-T;PI;steroid",
        ),
        ("MM-MID-05", 1, D(2019, 3, 1), D(2019, 12, 31), "next_line", "Rd", "IMiD;steroid"),
        ("MM-MID-05", 2, D(2020, 1, 1), D(2020, 10, 21), "death", "Kd", "PI;steroid"),
        ("MM-SHORT-99", 2, D(2020, 5, 1), D(2021, 2, 24), "death", "D-Vd", "PI;anti-CD38;steroid"),
    ]
)
JOURNEY_RESPONSE = line_response_table(
    [
        ("MM-LONG-17", 1, "VGPR", D(2018, 3, 1), D(2018, 12, 1), "serum"),
        ("MM-LONG-17", 2, "PR", D(2019, 2, 15), D(2019, 8, 20), "serum"),
        ("MM-LONG-17", 3, "CR", D(2019, 11, 1), None, "serum"),
        ("MM-MID-05", 1, "SD", None, D(2019, 12, 1), "flc"),
        ("MM-MID-05", 2, "PD", None, D(2020, 3, 1), "flc"),
        ("MM-SHORT-99", 2, "PR", D(2020, 7, 1), None, "urine"),
    ]
)
JOURNEY_IDS = ("MM-LONG-17", "MM-MID-05", "MM-SHORT-99")
