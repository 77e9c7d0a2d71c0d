"""The ``mmrwe compare`` console speaks the report's words: no raw field names, no 'None'
(issue 15 item 8)."""

from __future__ import annotations

import io

import polars as pl
from rich.console import Console

from mmrwe.cli.compare import comparison_table


def _printed(table: pl.DataFrame) -> str:
    out = io.StringIO()
    Console(file=out, width=200).print(comparison_table(table))
    return out.getvalue()


def test_hazard_ratio_rows_in_words() -> None:
    table = pl.DataFrame(
        {
            "trial": ["ICARIA-MM", "ICARIA-MM"],
            "endpoint": ["PFS", "PFS"],
            "analysis": ["unadjusted", "weighted"],
            "hr": [0.9, 0.8],
            "lower_boot": [None, 0.6],
            "ess": [65.0, 41.2],
            "median_rw": [9.3, 10.1],
            "conf_level": [0.95, 0.95],
        }
    )
    text = _printed(table)
    for raw in ("lower_boot", "ess", "median_rw", "conf_level", "None", "weighted "):
        assert raw not in text.replace("MAIC-weighted", ""), raw
    for words in ("Hazard ratio", "Effective sample size", "Median, real world (months)"):
        assert words in text
    assert "Unadjusted" in text and "MAIC-weighted" in text


def test_published_rows_in_words() -> None:
    table = pl.DataFrame(
        {
            "trial": ["ICARIA-MM"],
            "endpoint": ["PFS"],
            "measure": ["median"],
            "time": [None],
            "rw_unadjusted": [9.3],
            "trial_published": [11.5],
        },
        schema_overrides={"time": pl.Float64},
    )
    text = _printed(table)
    assert "rw_unadjusted" not in text and "None" not in text and "time" not in text
    assert "Real world, unadjusted" in text and "Trial, published" in text
