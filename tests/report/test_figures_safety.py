"""Adverse-event figure: paired bars equal the summary's percentages; withheld cells stay text."""

from __future__ import annotations

import polars as pl
import pytest

from mmrwe.errors import ParameterError
from mmrwe.report.figures.safety import adverse_event_bars, plot_adverse_events
from mmrwe.report.figures.style import NothingToDrawError

# Two groups; "Isa-Pd" (80 patients): neutropenia 40/30, infection 20/<11 (withheld),
# fatigue 16/0, CRS absent; "Kd" (50): hypertension 12/<11; CRS split by ASTCT grade rows
# (grade column set) must not be drawn.
AE = pl.DataFrame(
    {
        "group": ["Isa-Pd", "Isa-Pd", "Isa-Pd", "Kd", "Kd", "Kd"],
        "term": [
            "fatigue",
            "neutrophil count decreased",
            "infection",
            "hypertension",
            "cytokine release syndrome",
            "cytokine release syndrome",
        ],
        "grade": [None, None, None, None, None, 1],
        "n_patients": ["80", "80", "80", "50", "50", "50"],
        "n_any_grade": ["16", "40", "20", "12", "11", "11"],
        "pct_any_grade": [20.0, 50.0, 25.0, 24.0, 22.0, 22.0],
        "n_grade_3_plus": ["0", "30", "<11", "<11", "0", "0"],
        "pct_grade_3_plus": [0.0, 37.5, None, None, 0.0, 0.0],
    }
)


def test_rows_are_the_top_terms_per_group_in_table_order():
    bars = adverse_event_bars(AE, top=2)
    assert bars.select("group", "term").rows() == [
        ("Isa-Pd", "neutrophil count decreased"),
        ("Isa-Pd", "infection"),
        ("Kd", "hypertension"),
        ("Kd", "cytokine release syndrome"),
    ]


def test_bars_equal_the_percentages_and_withheld_cells_are_written():
    fig = plot_adverse_events(AE, top=3)
    isa = fig.axes[0]
    by_gid: dict[str, list[float]] = {}
    for patch in isa.patches:
        by_gid.setdefault(patch.get_gid(), []).append(patch.get_width())
    assert by_gid["ae-any-Isa-Pd"] == [50.0, 25.0, 20.0]
    assert by_gid["ae-g3-Isa-Pd"] == [37.5, 0.0, 0.0]  # withheld: no bar, text instead
    texts = [t.get_text() for t in isa.texts]
    assert texts == ["50.0", "37.5", "25.0", "<11", "20.0", "0.0"]
    assert [t.get_text() for t in isa.get_yticklabels()] == [
        "neutrophil count decreased",
        "infection",
        "fatigue",
    ]
    assert isa.get_title(loc="left") == "Isa-Pd (n = 80)"
    kd = fig.axes[1]
    assert len([p for p in kd.patches if p.get_gid() == "ae-any-Kd"]) == 2  # grade rows dropped


def test_choose_groups_and_reject_unknown_ones():
    fig = plot_adverse_events(AE, groups=["Kd"])
    assert len(fig.axes) == 1
    assert fig.axes[0].get_title(loc="left") == "Kd (n = 50)"
    with pytest.raises(ParameterError, match="'groups' parameter"):
        plot_adverse_events(AE, groups=["VRd"])


def test_a_table_without_the_expected_columns_is_named():
    with pytest.raises(ParameterError, match="pct_any_grade"):
        plot_adverse_events(AE.drop("pct_any_grade"))


def test_terms_nobody_had_are_left_out_and_small_groups_not_drawn():
    extra = pl.DataFrame(
        {
            "group": ["Isa-Pd", "Elo-Pd", "Elo-Pd"],
            "term": ["rash", "fatigue", "rash"],
            "grade": [None, None, None],
            "n_patients": ["80", "<11", "<11"],
            "n_any_grade": ["0", "<11", "0"],
            "pct_any_grade": [0.0, None, 0.0],
            "n_grade_3_plus": ["0", "0", "0"],
            "pct_grade_3_plus": [0.0, 0.0, 0.0],
        },
        schema_overrides={"grade": pl.Int64},
    )
    table = pl.concat([AE, extra])
    bars = adverse_event_bars(table, top=10)
    assert "rash" not in bars["term"].to_list()
    fig = plot_adverse_events(table)
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["Isa-Pd (n = 80)", "Kd (n = 50)"]
    fig = plot_adverse_events(table, max_groups=1)
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["Isa-Pd (n = 80)"]


def test_draws_the_summary_that_mmrwe_writes():
    """The adverse_events summary of mmrwe.stats (H3's layout) plots as it is."""
    import datetime as dt

    from mmrwe.stats.adverse_events import adverse_events

    n = 30
    lines = pl.DataFrame(
        {
            "patient_id": [f"S{i:02d}" for i in range(n)],
            "line": [1] * n,
            "regimen": ["Kd"] * n,
            "index_date": [dt.date(2020, 1, 1)] * n,
            "end_date": [dt.date(2020, 12, 31)] * n,
        }
    )
    # 15 patients with grade-3 neutropenia, 12 with grade-1 fatigue
    events = pl.DataFrame(
        {
            "patient_id": [f"S{i:02d}" for i in range(15)] + [f"S{i:02d}" for i in range(12)],
            "term": ["neutrophil count decreased"] * 15 + ["fatigue"] * 12,
            "onset_date": [dt.date(2020, 3, 1)] * 27,
            "grade": [3] * 15 + [1] * 12,
            "grading": ["CTCAE"] * 27,
        }
    )
    summary = adverse_events(lines, events, by="regimen", threshold=11)
    fig = plot_adverse_events(summary)
    ax = fig.axes[0]
    widths = {
        gid: [p.get_width() for p in ax.patches if p.get_gid() == gid]
        for gid in ("ae-any-Kd", "ae-g3-Kd")
    }
    assert widths == {"ae-any-Kd": [50.0, 40.0], "ae-g3-Kd": [50.0, 0.0]}
    # terms as their MedDRA preferred terms (mmrwe.stats.adverse_events normalises them)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Neutrophil count decreased", "Fatigue"]


def test_no_empty_frame_when_every_group_size_is_withheld():
    """The belantamab report drew an empty 0–1 frame: its one group has fewer than 11
    patients, so no panel can be drawn and the run lists the figure as skipped."""
    withheld = AE.filter(pl.col("group") == "Kd").with_columns(
        pl.lit("<11").alias("n_patients"),
        pl.lit("<11").alias("n_any_grade"),
        pl.lit(None, pl.Float64).alias("pct_any_grade"),
    )
    with pytest.raises(NothingToDrawError, match="fewer than"):
        plot_adverse_events(withheld)
