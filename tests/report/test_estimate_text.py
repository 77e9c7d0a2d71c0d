"""Estimates as text: NR is a median (or quantile) the curve never reaches; a confidence limit
that cannot be estimated is NE (issue 15, item 11), in the report and on the terminal."""

from __future__ import annotations

from mmrwe.cli.run import median_text
from mmrwe.report.html_tables import estimate


def test_report_estimate_missing_limit_is_ne() -> None:
    assert estimate("14.356", "11.498", None) == "14.4 (11.5–NE)"
    assert estimate(None, "24.31", None) == "NR (24.3–NE)"
    assert estimate(None, None, "30.0") == "NR (NE–30.0)"
    assert estimate("14.356", None, None) == "14.4"  # no interval given: none shown


def test_terminal_median_missing_limit_is_ne() -> None:
    row = {"n_patients": "80", "median_months": 14.356, "median_lower": 11.498}
    assert median_text(row | {"median_upper": None}) == "14.4 (11.5–NE)"
    not_reached = {"n_patients": "80", "median_months": None, "median_lower": 24.31}
    assert median_text(not_reached | {"median_upper": None}) == "NR (24.3–NE)"
    assert median_text({**row, "n_patients": "<11", "median_upper": None}).startswith("withheld")
