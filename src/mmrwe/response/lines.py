"""The per-line frame the response stage works on: index date and next line's start.

The index date is the line's start, or for a CAR-T line its infusion when
``car_t_index = "infusion"`` (published CAR-T cohorts measure response from the infusion;
``LineRules.car_t_index``).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from mmrwe.errors import check_parameter
from mmrwe.lines.derive import DERIVED_LINES_TABLE
from mmrwe.lines.rules import index_date_expr
from mmrwe.response.kernel import FAR

REQUIRED_LINE_COLUMNS = ("patient_id", "line", "start_date", "includes_car_t", "infusion_date")


def check_lines(lines: pl.DataFrame, owner: str) -> None:
    """Raise :class:`~mmrwe.errors.MissingColumnsError` naming the columns of ``lines`` the
    response stage reads that it lacks."""
    DERIVED_LINES_TABLE.require(lines, owner, REQUIRED_LINE_COLUMNS)


def line_frame(lines: pl.DataFrame, car_t_index: str, owner: str) -> pl.DataFrame:
    """``patient_id, line, start_date, index_date, next_start`` sorted by patient and line,
    plus the integer days ``index_day`` and ``next_day`` (``FAR`` for the last line)."""
    check_parameter(
        car_t_index in ("infusion", "line_start"),
        "car_t_index",
        owner,
        "'infusion' or 'line_start'",
        car_t_index,
    )
    check_lines(lines, owner)
    index = index_date_expr(car_t_index)
    out = (
        lines.select(
            "patient_id", pl.col("line").cast(pl.Int64), "start_date", index.alias("index_date")
        )
        .sort("patient_id", "line")
        .with_columns(next_in_group("start_date", "patient_id").alias("next_start"))
    )
    return out.with_columns(
        pl.col("index_date").cast(pl.Int64).alias("index_day"),
        pl.col("next_start").cast(pl.Int64).fill_null(FAR).alias("next_day"),
    )


def next_in_group(column: str, group: str) -> pl.Expr:
    """``column`` of the next row when it is in the same ``group`` (null at a group's last row),
    for rows sorted by ``group``: ``shift(-1).over(group)`` without hashing the groups."""
    same = pl.col(group) == pl.col(group).shift(-1)
    return pl.when(same).then(pl.col(column).shift(-1))


def patient_pointers(sorted_index: np.ndarray, n_patients: int) -> np.ndarray:
    """CSR pointers (length ``n_patients + 1``) of rows sorted by patient index."""
    return np.searchsorted(sorted_index, np.arange(n_patients + 1), side="left").astype(np.int64)


def group_pointers(group: np.ndarray) -> np.ndarray:
    """CSR pointers of consecutive runs of equal values in ``group``."""
    if group.size == 0:
        return np.zeros(1, np.int64)
    change = np.flatnonzero(group[1:] != group[:-1]) + 1
    return np.concatenate([[0], change, [group.size]]).astype(np.int64)
