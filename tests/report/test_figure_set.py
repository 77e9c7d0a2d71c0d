"""The run's figure recipes: which figures, drawn from the tables they read."""

from __future__ import annotations

import polars as pl
import pytest
from matplotlib.figure import Figure

from mmrwe.report.figure_set import standard_figures
from mmrwe.report.figures.style import svg_text
from tests.report import test_figures_response as resp
from tests.report import test_figures_safety as safety
from tests.report.figure_data import JOURNEY_LINES, JOURNEY_RESPONSE
from tests.report.test_figures_journeys import TRAJECTORY

TABLES = {
    "lines": JOURNEY_LINES,
    "line_response": pl.concat([JOURNEY_RESPONSE, resp.WATERFALL_RESPONSE]),
    "assessments": pl.concat([TRAJECTORY, resp.WATERFALL_ASSESSMENTS]),
    # the journey patients are analysed too (their line 2, or line 1 for MM-MID-05)
    "analysis_lines": pl.concat(
        [
            resp.ANALYSIS,
            pl.DataFrame(
                {
                    "patient_id": ["MM-LONG-17", "MM-MID-05", "MM-SHORT-99"],
                    "line": [2, 1, 2],
                    "group": ["line 2", "line 1", "line 2"],
                    "group_order": [2, 1, 2],
                }
            ),
        ]
    ),
    "response_rates": resp._rates(),
    "adverse_events": safety.AE,
}


def test_patient_level_figures_only_when_allowed():
    names = [
        name
        for name, _, _ in standard_figures(TABLES.__getitem__, patient_level=False, threshold=0)
    ]
    assert names == ["sequences", "response_distribution", "adverse_events"]
    names = [
        name for name, _, _ in standard_figures(TABLES.__getitem__, patient_level=True, threshold=0)
    ]
    assert names[3:] == ["swimmer", "trajectory", "waterfall"]


def test_tables_are_read_when_drawn_and_every_recipe_draws():
    asked: list[str] = []

    def read(name: str) -> pl.DataFrame:
        asked.append(name)
        return TABLES[name]

    recipes = standard_figures(read, patient_level=True, threshold=0)
    assert asked == []  # nothing read before a figure is drawn
    for name, title, draw in recipes:
        fig = draw()
        assert isinstance(fig, Figure), name
        assert title
    assert set(asked) == set(TABLES)


def test_trajectory_draws_a_patient_with_two_lines_and_measurable_disease():
    (draw,) = [
        d
        for n, _, d in standard_figures(TABLES.__getitem__, patient_level=True, threshold=0)
        if n == "trajectory"
    ]
    svg = svg_text(draw())
    assert "L2 DPd" in svg or "L2 Kd" in svg
    assert "MM-" not in svg


def test_trajectory_without_candidates_is_a_value_error():
    tables = TABLES | {"lines": JOURNEY_LINES.filter(pl.col("line") == 1)}
    (draw,) = [
        d
        for n, _, d in standard_figures(tables.__getitem__, patient_level=True, threshold=0)
        if n == "trajectory"
    ]
    with pytest.raises(ValueError, match="No patient with two lines"):
        draw()


@pytest.mark.parametrize(
    ("label", "title"),
    [("line", "Best overall response by line"), ("none", "Best overall response")],
)
def test_titles_name_the_grouping(label, title):
    titles = dict(
        (n, t)
        for n, t, _ in standard_figures(
            TABLES.__getitem__, patient_level=False, group_label=label, threshold=0
        )
    )
    assert titles["response_distribution"] == title


def test_no_sequence_chart_of_a_population_below_the_threshold():
    """The belantamab study (fewer than 11 patients) drew four bars of '<11' of equal height:
    the chart showed that every one of them reached line 4, a count the tables withhold. A
    population below the threshold has no sequence chart; the run lists it as skipped."""
    from mmrwe.report.figures.style import NothingToDrawError

    few = {**TABLES, "analysis_lines": TABLES["analysis_lines"].tail(3)}
    assert few["analysis_lines"]["patient_id"].n_unique() < 11
    draw = next(
        d for n, _, d in standard_figures(few.__getitem__, patient_level=False) if n == "sequences"
    )
    with pytest.raises(NothingToDrawError, match="fewer than 11"):
        draw()
    # suppression off: drawn
    draw = next(
        d
        for n, _, d in standard_figures(few.__getitem__, patient_level=False, threshold=0)
        if n == "sequences"
    )
    assert isinstance(draw(), Figure)
