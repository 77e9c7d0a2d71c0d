"""plot_forest: rows, HR points and labels read back from the figure's artists."""

from __future__ import annotations

import html
from itertools import pairwise

import matplotlib

matplotlib.use("Agg")

import polars as pl
import pytest
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure

from mmrwe.errors import InvalidDataError
from mmrwe.report.figures.forest import plot_forest
from mmrwe.report.figures.style import save_figure, svg_text
from mmrwe.stats.subgroups import subgroup_hazard_ratios
from tests.summaries.test_summary_by_line import DATA, tables

NOTE_WITHHELD = "withheld: fewer than 11 patients"
# A subgroup_hazard_ratios table: ISS III withheld, ECOG >=2 without events (not estimable)
TABLE = pl.DataFrame(
    {
        "subgroup": ["overall", "iss_stage", "iss_stage", "iss_stage", "ecog", "ecog", "ecog"],
        "level": ["all", "I", "II", "III", "0", "1", ">=2"],
        "reference": [None, "I", "I", "I", "0", "0", "0"],
        "n_patients": ["120", "50", "61", "<11", "60", "40", "20"],
        "n_events": ["80", "30", "45", "<11", "35", "30", "0"],
        "hr": [None, 1.0, 1.45, None, 1.0, 0.62, None],
        "lower": [None, None, 0.9, None, None, 0.35, None],
        "upper": [None, None, 2.3, None, None, 1.1, None],
        "p": [None, None, 0.12, None, None, 0.1, None],
        "n_missing": ["0", "<11", "<11", "<11", "0", "0", "0"],
        "note": [None, "reference", None, NOTE_WITHHELD, "reference", None, "not estimable"],
    }
)


def _bars(fig: Figure) -> list[ErrorbarContainer]:
    return [c for c in fig.axes[0].containers if isinstance(c, ErrorbarContainer)]


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.axes[0].texts]


def test_one_point_per_estimated_hazard_ratio_at_its_value() -> None:
    fig = plot_forest(TABLE)
    bars = _bars(fig)
    estimated = TABLE.filter(pl.col("hr").is_not_null(), pl.col("lower").is_not_null())
    assert len(bars) == estimated.height == 2
    assert [float(b.lines[0].get_xdata()[0]) for b in bars] == estimated["hr"].to_list()
    ends = [tuple(float(x) for x, _ in b.lines[2][0].get_segments()[0]) for b in bars]
    assert ends == list(zip(estimated["lower"], estimated["upper"], strict=True))


def test_rows_are_overall_then_headings_and_levels() -> None:
    fig = plot_forest(TABLE)
    labels = [t.get_text().strip() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["Overall", "iss stage", "I", "II", "III", "ecog", "0", "1", ">=2"]


def test_counts_reference_withheld_and_not_estimable_are_printed() -> None:
    texts = _texts(plot_forest(TABLE))
    for n, e in TABLE.select("n_patients", "n_events").iter_rows():
        assert f"{n} / {e}" in texts
    assert texts.count("reference") == 2
    assert "withheld (< 11 patients)" in texts
    assert "not estimable" in texts
    assert "1.45 (0.90–2.30)" in texts and "0.62 (0.35–1.10)" in texts


def test_log_axis_with_a_line_at_one() -> None:
    ax = plot_forest(TABLE).axes[0]
    assert ax.get_xscale() == "log"
    verticals = [line for line in ax.get_lines() if list(line.get_xdata()) == [1.0, 1.0]]
    assert len(verticals) == 1
    low, high = ax.get_xlim()
    assert low < 0.35 and high > 2.3
    ticks = [t for t in ax.get_xticks() if low <= t <= high]
    assert 1.0 in ticks and len(ticks) >= 3
    assert all(b / a >= 1.4 for a, b in pairwise(ticks))  # labels apart


def test_table_from_subgroup_hazard_ratios() -> None:
    """The figure of a computed table: as many points as non-reference levels with an HR."""
    data = DATA.with_columns(pl.format("{}-{}", "patient_id", "line").alias("patient_id"))
    table = subgroup_hazard_ratios(*tables(data), subgroups=["sex", "age", "iss"])
    fig = plot_forest(table, endpoint="PFS")
    shown = table.filter(pl.col("lower").is_not_null())
    assert [round(float(b.lines[0].get_xdata()[0]), 12) for b in _bars(fig)] == [
        round(v, 12) for v in shown["hr"]
    ]
    assert fig.axes[0].get_xlabel() == "Hazard ratio (PFS), 95% CI"
    assert "withheld (< 11 patients)" in html.unescape(svg_text(fig))


def test_subgroup_without_known_level_is_labelled() -> None:
    row = {c: None for c in TABLE.columns} | {"subgroup": "sex", "n_missing": "120"}
    table = pl.concat([TABLE, pl.DataFrame([row], schema=TABLE.schema)])
    fig = plot_forest(table)
    labels = [t.get_text().strip() for t in fig.axes[0].get_yticklabels()]
    assert labels[-2:] == ["sex", "(no known level)"]
    assert "no known level" in _texts(fig)
    assert len(_bars(fig)) == 2


def test_draws_into_a_given_axes_and_saves(tmp_path) -> None:
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_forest(TABLE, ax=ax) is fig
    png, svg = save_figure(plot_forest(TABLE), tmp_path / "forest")
    assert png.stat().st_size > 0 and "reference" in svg.read_text()


def test_text_is_at_least_7_points() -> None:
    ax = plot_forest(TABLE).axes[0]
    texts = [*ax.texts, *ax.get_xticklabels(), *ax.get_yticklabels(), ax.xaxis.label]
    assert min(t.get_fontsize() for t in texts) >= 7


def test_missing_column_is_named() -> None:
    with pytest.raises(InvalidDataError, match="hr"):
        plot_forest(TABLE.drop("hr"))


def text_boxes(fig: Figure) -> list[tuple[str, object]]:
    """Every visible, non-empty text of the drawn figure with its box (display pixels)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = [*fig.texts]
    for ax in fig.axes:
        texts += [*ax.texts, ax.xaxis.label, ax.yaxis.label, ax.title]
        texts += [*ax.get_xticklabels(), *ax.get_yticklabels()]
    return [
        (t.get_text(), t.get_window_extent(renderer))
        for t in texts
        if t.get_visible() and t.get_text().strip()
    ]


def assert_readable(fig: Figure) -> None:
    """No two text boxes overlap and none leaves the canvas."""
    boxes = text_boxes(fig)
    canvas = fig.bbox
    for text, box in boxes:
        assert canvas.x0 <= box.x0 and box.x1 <= canvas.x1, f"{text!r} leaves the canvas"
        assert canvas.y0 <= box.y0 and box.y1 <= canvas.y1, f"{text!r} leaves the canvas"
    for i, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[i + 1 :]:
            overlap_x = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
            overlap_y = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
            assert overlap_x <= 0.5 or overlap_y <= 0.5, f"{a!r} overlaps {b!r}"


ISA_PD = pl.DataFrame(
    {
        "subgroup": ["overall", *["age"] * 2, *["prior_lines"] * 3, *["cytogenetic_risk"] * 2],
        "level": ["all", "<65", "≥65", "1", "2-3", "≥4", "high", "standard"],
        "reference": [None, "<65", "<65", "1", "1", "1", "high", "high"],
        "n_patients": ["65", "21", "44", "38", "withheld", "<11", "<11", "withheld"],
        "n_events": ["50", "19", "31", "29", "withheld", "<11", "<11", "39"],
        "hr": [None, 1.0, 0.57, 1.0, 1.32, None, None, 1.99],
        "lower": [None, None, 0.33, None, 0.76, None, None, 0.61],
        "upper": [None, None, 1.0, None, 2.31, None, None, 6.49],
        "p": [None] * 8,
        "n_missing": ["0"] * 8,
        "note": [None, "reference", None, "reference", None, NOTE_WITHHELD, NOTE_WITHHELD, None],
    }
)


@pytest.mark.parametrize(
    "table",
    [
        ISA_PD,
        TABLE,
        TABLE.with_columns(
            level=pl.when(pl.col("level") == "II")
            .then(pl.lit("stage II by the Revised International Staging System"))
            .otherwise("level"),
            subgroup=pl.col("subgroup").str.replace("ecog", "ECOG performance status at index"),
        ),
    ],
    ids=["isa-pd", "iss-ecog", "long-labels"],
)
def test_no_text_overlaps_another_or_leaves_the_canvas(table: pl.DataFrame) -> None:
    assert_readable(plot_forest(table, endpoint="PFS"))
