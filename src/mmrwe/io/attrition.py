"""The attrition table: every excluded patient or row, step by step, adding up.

Columns: ``step, patients_before, patients_excluded, patients_after, rows_excluded, reason``;
each step's ``patients_after`` is the next step's ``patients_before``.
"""

from __future__ import annotations

import polars as pl

from mmrwe.contract import TableContract

ATTRITION_SCHEMA: dict[str, pl.DataType] = {
    "step": pl.Int64(),
    "patients_before": pl.Int64(),
    "patients_excluded": pl.Int64(),
    "patients_after": pl.Int64(),
    "rows_excluded": pl.Int64(),
    "reason": pl.String(),
}
ATTRITION_TABLE = TableContract("attrition", ATTRITION_SCHEMA)


def attrition_table(rows: list[tuple[int, int, int, str]]) -> pl.DataFrame:
    """An attrition table from ``(patients_before, patients_excluded, rows_excluded, reason)``."""
    return pl.DataFrame(
        [
            {
                "step": i + 1,
                "patients_before": before,
                "patients_excluded": excluded,
                "patients_after": before - excluded,
                "rows_excluded": rows_excluded,
                "reason": reason,
            }
            for i, (before, excluded, rows_excluded, reason) in enumerate(rows)
        ],
        schema=ATTRITION_SCHEMA,
    )


def chain_attrition(*tables: pl.DataFrame) -> pl.DataFrame:
    """Stages' attrition tables one after the other, steps renumbered; checks that they add up."""
    out = pl.concat([t.select(list(ATTRITION_SCHEMA)) for t in tables]).with_columns(
        (pl.int_range(pl.len()) + 1).cast(pl.Int64).alias("step")
    )
    before = out["patients_before"].to_list()
    after = out["patients_after"].to_list()
    if before[1:] != after[:-1]:
        raise AssertionError(f"attrition does not add up: before {before}, after {after}")
    return out
