"""plot_outcomes_by_line: what the figure shows is read back from its artists, never pixels."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import polars as pl
import pytest
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure

from mmrwe.errors import InvalidDataError
from mmrwe.report.figures.by_line import plot_outcomes_by_line
from mmrwe.report.figures.style import save_figure, svg_text

# A summary_by_line table, rows deliberately not in group order:
# line 3 PFS median not reached (lower 20.0 reached), line 2 OS upper limit not reached,
# line 4+ withheld (<11), line 3 OS median and both limits not reached.
SUMMARY = pl.DataFrame(
    {
        "group": ["line 2", "line 1", "line 3", "line 4+", "line 2", "line 1", "line 3", "line 4+"],
        "group_order": [2, 1, 3, 4, 2, 1, 3, 4],
        "endpoint": ["PFS", "PFS", "PFS", "PFS", "OS", "OS", "OS", "OS"],
        "n_patients": ["40", "60", "25", "<11", "40", "60", "25", "<11"],
        "n_events": ["30", "50", "<11", "<11", "20", "35", "<11", "<11"],
        "median_months": [11.0, 24.5, None, None, 30.0, 60.0, None, None],
        "median_lower": [8.0, 20.0, 20.0, None, 22.0, 50.0, None, None],
        "median_upper": [15.0, 30.0, None, None, None, 71.0, None, None],
    }
)  # fmt: skip


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.axes[0].texts]


def _bars(fig: Figure) -> list[ErrorbarContainer]:
    return [c for c in fig.axes[0].containers if isinstance(c, ErrorbarContainer)]


def test_one_error_bar_per_reached_median_at_its_value() -> None:
    fig = plot_outcomes_by_line(SUMMARY)
    bars = _bars(fig)
    reached = SUMMARY.filter(pl.col("median_months").is_not_null())
    assert len(bars) == reached.height == 4
    medians = sorted(float(b.lines[0].get_ydata()[0]) for b in bars)
    assert medians == sorted(reached["median_months"].to_list())


def test_error_bars_span_the_confidence_limits() -> None:
    """Lower end at the lower limit; an unreached upper limit (line 2 OS) ends at the median
    and an arrow continues upwards instead."""
    fig = plot_outcomes_by_line(SUMMARY)
    ends = {}
    for b in _bars(fig):
        median = float(b.lines[0].get_ydata()[0])
        segment = b.lines[2][0].get_segments()[0]
        ends[median] = (float(segment[0][1]), float(segment[1][1]))
    assert ends == {11.0: (8.0, 15.0), 24.5: (20.0, 30.0), 30.0: (22.0, 30.0), 60.0: (50.0, 71.0)}
    # upward arrows: line 2 OS (upper NR) and the two unreached medians of line 3
    arrows = [t for t in fig.axes[0].texts if getattr(t, "arrow_patch", None) is not None]
    assert len(arrows) == 3


def test_tick_labels_are_the_groups_in_group_order() -> None:
    fig = plot_outcomes_by_line(SUMMARY)
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == ["line 1", "line 2", "line 3", "line 4+"]


def test_unreached_medians_are_marked_nr_and_withheld_groups_n_below_threshold() -> None:
    fig = plot_outcomes_by_line(SUMMARY)
    texts = _texts(fig)
    assert texts.count("NR") == 2  # line 3 PFS and OS
    assert texts.count("n < 11") == 1  # line 4+, once for the group
    assert "NR" in svg_text(fig)


def test_endpoints_are_a_parameter_and_legend_names_them() -> None:
    fig = plot_outcomes_by_line(SUMMARY, endpoints=["OS"])
    assert len(_bars(fig)) == 2
    legend = fig.axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["OS"]


def test_draws_into_a_given_axes() -> None:
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_outcomes_by_line(SUMMARY, ax=ax) is fig
    assert len(_bars(fig)) == 4


def test_saves_png_and_svg(tmp_path) -> None:
    png, svg = save_figure(plot_outcomes_by_line(SUMMARY), tmp_path / "by_line")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "line 4+" in svg.read_text()


def test_text_is_at_least_7_points() -> None:
    fig = plot_outcomes_by_line(SUMMARY)
    ax = fig.axes[0]
    texts = [*ax.texts, *ax.get_xticklabels(), *ax.get_yticklabels(), ax.yaxis.label]
    texts += list(ax.get_legend().get_texts())
    assert min(t.get_fontsize() for t in texts) >= 7


def test_missing_column_is_named() -> None:
    with pytest.raises(InvalidDataError, match="median_upper"):
        plot_outcomes_by_line(SUMMARY.drop("median_upper"))


def test_an_open_upper_limit_reads_ne_not_nr() -> None:
    """A median reached with an upper limit not estimable (line 2 OS: 30.0, 22.0–NE; the
    demo's line 6+) has an arrow above its point like an unreached median: the arrow is
    labelled NE at its tip and the legend says what each arrow means, so no reader takes
    the reached median for 'not reached'."""
    fig = plot_outcomes_by_line(SUMMARY)
    ax = fig.axes[0]
    point = next(b for b in _bars(fig) if float(b.lines[0].get_ydata()[0]) == 30.0)
    x = float(point.lines[0].get_xdata()[0])  # line 2 OS
    ne = [t for t in ax.texts if t.get_text() == "NE"]
    assert len(ne) == 1
    tip_x, tip_y = ne[0].get_position()
    assert tip_x == pytest.approx(x)
    assert tip_y > 30.0  # above the point, at the arrow's tip
    title = ax.get_legend().get_title().get_text()
    assert "NR: median not reached" in title
    assert "NE: upper limit not estimable" in title
    assert _texts(fig).count("NR") == 2  # the unreached medians keep their NR
