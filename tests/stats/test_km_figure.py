"""The Kaplan–Meier figure drawn from the estimator's tables (shared with the HTML report)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from mmrwe.report.figures import OKABE_ITO, plot_km, risk_table_times
from mmrwe.stats import KaplanMeier
from tests.stats.survival_reference import data


def _lung_by_sex() -> KaplanMeier:
    d = data("lung2")
    return KaplanMeier().fit(d["time"], d["event"], group=d["sex"])


def test_figure_elements_follow_the_tables(tmp_path: Path) -> None:
    km = _lung_by_sex()
    ticks = risk_table_times(1022)
    assert ticks == [0, 200, 400, 600, 800, 1000]
    at = km.at_times(ticks)
    # suppression off: the counts are compared with R's (the default prints <11)
    fig = plot_km(km.table_, at, by="sex", conf_label="95% CI, log", small_cell_threshold=0)
    ax = fig.axes[0]
    steps = [ln for ln in ax.get_lines() if ln.get_linestyle() == "-"]
    assert [ln.get_label() for ln in steps] == ["sex = 1", "sex = 2"]
    assert [ln.get_color() for ln in steps] == list(OKABE_ITO[:2])
    # curve starts at (0, 1) and follows S(t)
    x, y = steps[0].get_data()
    assert (x[0], y[0]) == (0.0, 1.0)
    np.testing.assert_allclose(y[1:], km.curves_[0].surv)
    # censoring ticks at the censored times of each group
    marks = [ln for ln in ax.get_lines() if ln.get_marker() == "|"]
    assert len(marks[0].get_xdata()) == int((km.curves_[0].n_censor > 0).sum())
    assert len(ax.collections) == 2  # one confidence band per group
    counts = [t.get_text() for t in fig.texts if t.get_horizontalalignment() == "center"]
    assert counts == [f"{n:.0f}" for n in at["n_risk"]]
    # R: summary(survfit(Surv(time, status) ~ sex, lung), times = seq(0, 1000, 200))$n.risk
    assert counts == ["138", "78", "31", "13", "6", "2", "90", "66", "26", "11", "2", "0"]
    assert "Number at risk (sex)" in [t.get_text() for t in fig.texts]
    plt.close(fig)


def test_png_is_deterministic(tmp_path: Path) -> None:
    km = _lung_by_sex()
    at = km.at_times(risk_table_times(1022))
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    plt.close(plot_km(km.table_, at, path=a))
    plt.close(plot_km(km.table_, at, path=b))
    assert a.read_bytes() == b.read_bytes()


def test_single_curve_without_risk_table() -> None:
    d = data("lung2")
    km = KaplanMeier("log-log").fit(d["time"], d["event"])
    fig = plot_km(km.table_, small_cell_threshold=0)
    line = next(ln for ln in fig.axes[0].get_lines() if ln.get_linestyle() == "-")
    assert line.get_label() == "All" and line.get_color() == "#000000"
    assert not fig.texts
    plt.close(fig)
