"""Kaplan–Meier figures as a reader sees them: every number at risk under its time's tick.

Positions are read from the drawn figure (display pixels after ``canvas.draw()``), not from
the arguments given to matplotlib, so a count placed before the axis changed would be caught.
"""

from __future__ import annotations

import inspect
import re
import subprocess
import sys

import numpy as np
import polars as pl
import pytest
from matplotlib.figure import Figure

from mmrwe.compare.figure import plot_comparison
from mmrwe.privacy import SMALL_CELL_THRESHOLD
from mmrwe.report.figures import plot_km, risk_table_times
from mmrwe.report.run_report import km_by_group
from mmrwe.stats import KaplanMeier
from mmrwe.study.definition import StudySettings

COUNT = re.compile(r"^(<\d+|\d+(\.\d)?)$")


def risk_rows(fig: Figure) -> tuple[list[float], list[list[float]]]:
    """Display x of the axis ticks inside the axis, and of each row of numbers at risk."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    lo, hi = ax.get_xlim()
    ticks = [ax.transData.transform((t, 0))[0] for t in ax.get_xticks() if lo <= t <= hi]
    rows: dict[float, list[float]] = {}
    for text in fig.texts:
        if COUNT.match(text.get_text()):
            box = text.get_window_extent(renderer)
            rows.setdefault(round(box.y0, 1), []).append((box.x0 + box.x1) / 2)
    return ticks, [sorted(xs) for _, xs in sorted(rows.items(), reverse=True)]


def assert_counts_under_ticks(fig: Figure, n_rows: int) -> None:
    ticks, rows = risk_rows(fig)
    assert len(ticks) >= 4, ticks
    assert len(rows) == n_rows
    for xs in rows:
        np.testing.assert_allclose(xs, ticks, atol=1.0)


def _run_tables(groups: dict[str, int], seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """analysis_lines and endpoints of simulated groups (exponential times, 20 % censored)."""
    rng = np.random.default_rng(seed)
    rows = []
    for k, (group, n) in enumerate(groups.items()):
        for i in range(n):
            rows.append((f"{group}-{i}", k + 1, group, k, rng.exponential(12.0 / (k + 1))))
    lines = pl.DataFrame(
        [r[:4] for r in rows], schema=["patient_id", "line", "group", "group_order"], orient="row"
    )
    times = np.array([r[4] for r in rows])
    endpoints = pl.DataFrame(
        {
            "patient_id": lines["patient_id"],
            "line": lines["line"],
            "endpoint": "PFS",
            "time_months": times,
            "event": (rng.random(times.size) > 0.2).astype(np.int64),
        }
    )
    return lines, endpoints


def test_by_line_numbers_at_risk_sit_under_their_times() -> None:
    lines, endpoints = _run_tables({"line 1": 400, "line 2": 250, "line 3": 120}, seed=3)
    fig = km_by_group(lines, endpoints, "PFS", threshold=11, compare=False)
    assert_counts_under_ticks(fig, 3)


def test_regimen_groups_numbers_at_risk_sit_under_their_times() -> None:
    lines, endpoints = _run_tables({"Isa-Pd": 90, "Dara-Pd": 150}, seed=4)
    fig = km_by_group(lines, endpoints, "PFS", threshold=11, compare=True)
    assert_counts_under_ticks(fig, 2)


def test_comparison_numbers_at_risk_sit_under_their_times() -> None:
    rng = np.random.default_rng(5)
    time = rng.exponential(14.0, 300)
    event = (rng.random(300) > 0.25).astype(float)
    weights = rng.uniform(0.2, 2.0, 300)
    trial = pl.DataFrame({"time": rng.exponential(11.0, 150), "event": np.ones(150)})

    class Published:
        name = "PFS"
        median = None

    fig = plot_comparison(time, event, weights, trial, Published(), trial_label="Trial")
    assert_counts_under_ticks(fig, 3)
    texts = [t.get_text() for t in fig.texts if COUNT.match(t.get_text())]
    real, weighted, trial_row = texts[:4], texts[4:8], texts[8:]
    # numbers at risk count patients: the weighted curve's are the real-world patients', and
    # the trial's are its own (150 reconstructed patients at time 0)
    assert weighted == real and real[0] == "300"
    assert trial_row[0] == "150" and trial_row != real


def test_the_figure_is_private_by_default() -> None:
    """Without a threshold argument, counts below the privacy constant print ``<11``."""
    assert SMALL_CELL_THRESHOLD == 11  # CMS cell-size suppression policy
    default = inspect.signature(plot_km).parameters["small_cell_threshold"].default
    assert default == SMALL_CELL_THRESHOLD
    assert StudySettings().small_cell_threshold == SMALL_CELL_THRESHOLD
    time = np.arange(1.0, 31.0)
    km = KaplanMeier().fit(time, np.ones(30))
    ticks = risk_table_times(30.0)
    fig = plot_km(km.table_, km.at_times(ticks), max_time=ticks[-1])
    counts = [t.get_text() for t in fig.texts if COUNT.match(t.get_text())]
    # at 0, 5, 10, … days: 30, 26, 21, 16, 11, 6, 1 at risk (one event a day)
    assert counts == ["30", "26", "21", "16", "11", "<11", "<11"]


@pytest.mark.parametrize("backend", ["pdf", "svg"])
def test_importing_the_figures_keeps_the_users_backend(backend: str) -> None:
    """A user's backend survives importing and drawing every figure module; no pyplot."""
    code = f"""
import sys, matplotlib
matplotlib.use({backend!r})
import mmrwe.report.figures, mmrwe.report.run_report, mmrwe.report.figure_set
import mmrwe.compare.figure
import numpy as np
from mmrwe.stats import KaplanMeier
km = KaplanMeier().fit(np.arange(1.0, 40.0), np.ones(39))
fig = mmrwe.report.figures.plot_km(km.table_, km.at_times([0, 10, 20, 30]))
fig.canvas.draw()
assert matplotlib.get_backend() == {backend!r}, matplotlib.get_backend()
assert "matplotlib.pyplot" not in sys.modules
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-1500:]


def test_no_empty_frame_when_every_group_is_withheld() -> None:
    """The belantamab study (fewer than 11 patients) drew two empty frames whose time axes
    (0–8 and 0–15 months) came from the withheld patients' follow-up: with no group at or
    above the threshold there is nothing to draw, and the run lists the figure as skipped."""
    from mmrwe.report.figures.style import NothingToDrawError

    lines, endpoints = _run_tables({"Belantamab mafodotin": 8}, seed=6)
    with pytest.raises(NothingToDrawError, match="fewer than 11 patients"):
        km_by_group(lines, endpoints, "PFS", threshold=11, compare=True)
    # suppression off: the curve is drawn
    assert km_by_group(lines, endpoints, "PFS", threshold=0, compare=True).axes[0].lines


def test_a_long_group_name_sits_beside_its_counts_without_wasting_the_width() -> None:
    """The ide-cel report's axes began 40 % into the figure for 'Ide-cel as standard of care':
    the left margin is measured from the drawn label, so the label ends just before the first
    count (no overlap, at most 8 mm apart)."""
    name = "Ide-cel as standard of care"
    lines, endpoints = _run_tables({name: 60}, seed=7)
    fig = km_by_group(lines, endpoints, "PFS", threshold=11, compare=True)
    assert_counts_under_ticks(fig, 1)
    renderer = fig.canvas.get_renderer()
    label = next(t for t in fig.texts if t.get_text() == name).get_window_extent(renderer)
    counts = [t.get_window_extent(renderer) for t in fig.texts if COUNT.match(t.get_text())]
    first = min(b.x0 for b in counts)
    gap_mm = (first - label.x1) / fig.dpi * 25.4
    assert 0.5 < gap_mm <= 8.0
