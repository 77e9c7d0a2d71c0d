"""Kaplan–Meier figure: step curves, confidence bands, censoring ticks and numbers at risk.

Drawn from tables, so the command line and the HTML report draw the same figure:
``curve`` is :attr:`mmrwe.stats.KaplanMeier.table_` (group, time, surv, lower, upper,
n_censor) and ``at_risk`` is :meth:`~mmrwe.stats.KaplanMeier.at_times` at the axis ticks
(group, time, n_risk). Colours are the Okabe–Ito palette, distinguishable with the common
colour-vision deficiencies (Okabe & Ito, 2008, "Color Universal Design").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import blended_transform_factory

from mmrwe.privacy import SMALL_CELL_THRESHOLD
from mmrwe.report.figures.style import OKABE_ITO, agg_figure, save_png, save_svg


def risk_table_times(max_time: float, n_ticks: int = 6) -> list[float]:
    """Round tick times from 0 to ``max_time`` for the axis and the numbers-at-risk table."""
    ticks = MaxNLocator(nbins=n_ticks, steps=[1, 2, 2.5, 3, 5, 6, 10]).tick_values(0, max_time)
    return [float(t) for t in ticks if 0 <= t <= max_time]


def _label(group: Any, by: str | None) -> str:
    if group is None:
        return "All"
    return f"{by} = {group}" if by else str(group)


def plot_km(
    curve: pl.DataFrame,
    at_risk: pl.DataFrame | None = None,
    *,
    by: str | None = None,
    conf_label: str | None = None,
    time_unit: str = "days",
    title: str | None = None,
    medians: dict[Any, float | None] | None = None,
    annotation: str | None = None,
    small_cell_threshold: int = SMALL_CELL_THRESHOLD,
    max_time: float | None = None,
    path: Path | str | None = None,
) -> Figure:
    """Draw the curves of ``curve`` (one per ``group``) and return the figure.

    ``conf_label`` (e.g. "95% CI, log") is shown in the legend beside the band; ``medians``
    (group → median time) draws dashed median lines; ``annotation`` (e.g. the hazard ratio and
    log-rank p) is printed in the plot. With ``small_cell_threshold`` N > 0 (default: the
    privacy constant, 11), curves stop where fewer than N patients remain at risk and numbers at
    risk below N are printed ``<N`` (aggregate output: no count below the threshold is shown);
    0 turns this off. ``max_time`` ends the time axis (e.g. where the numbers at risk end).
    ``path`` saves the figure (PNG or SVG by its suffix; same data, same bytes).

    Each number at risk sits under its time: it is placed in data coordinates along x, so it
    stays under its tick whatever the final axis limits (its ``gid`` is
    ``"at-risk-<row>-<time>"``).
    """
    if small_cell_threshold > 0 and "n_risk" in curve.columns:
        curve = curve.filter(pl.col("n_risk") >= small_cell_threshold)
    groups = curve["group"].unique(maintain_order=True).to_list()
    n_rows = len(groups) if at_risk is not None else 0
    fig = agg_figure(figsize=(7.5, 4.6 + 0.3 * n_rows), dpi=120)
    bottom = 0.14 + 0.045 * n_rows if n_rows else 0.12
    left = max(0.12, _row_label_width(fig, groups) + 0.045) if n_rows else 0.12
    ax = fig.add_axes((left, bottom, 0.95 - left, 0.90 - bottom))
    single = len(groups) == 1 and groups[0] is None
    colours = ("#000000",) if single else OKABE_ITO
    for i, group in enumerate(groups):
        c = curve.filter(pl.col("group").is_null() if group is None else pl.col("group") == group)
        colour = colours[i % len(colours)]
        t = np.concatenate([[0.0], c["time"].to_numpy()])
        s = np.concatenate([[1.0], c["surv"].to_numpy()])
        ax.step(t, s, where="post", color=colour, lw=1.6, label=_label(group, by))
        lo = np.concatenate([[1.0], c["lower"].fill_null(np.nan).to_numpy()])
        hi = np.concatenate([[1.0], c["upper"].fill_null(np.nan).to_numpy()])
        ax.fill_between(t, lo, hi, step="post", color=colour, alpha=0.15, lw=0)
        cens = c.filter(pl.col("n_censor") > 0)
        ax.plot(cens["time"], cens["surv"], "|", color=colour, ms=7, mew=1.2)
    for i, group in enumerate(groups):
        median = (medians or {}).get(group)
        if median is not None:
            colour = colours[i % len(colours)]
            ax.plot([0, median, median], [0.5, 0.5, 0], ls="--", lw=0.8, color=colour)
    if annotation:
        ax.text(0.02, 0.04, annotation, transform=ax.transAxes, fontsize=8.5, va="bottom")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.set_ylabel("Survival probability")
    ax.set_xlabel(f"Time ({time_unit})")
    ax.grid(True, color="#dddddd", lw=0.6)
    ax.spines[["top", "right"]].set_visible(False)
    handles, labels = ax.get_legend_handles_labels()
    if conf_label:
        band = Rectangle((0, 0), 1, 1, color="#888888", alpha=0.25)
        handles, labels = [*handles, band], [*labels, f"band: {conf_label}"]
    ax.legend(handles, labels, frameon=False, loc="upper right", fontsize=9)
    if title:
        ax.set_title(title, fontsize=11)
    if max_time is not None:
        ax.set_xlim(0, max_time)
    if at_risk is not None:
        _risk_table(fig, ax, at_risk, groups, colours, by, small_cell_threshold)
    if path is not None:
        (save_svg if Path(path).suffix.lower() == ".svg" else save_png)(fig, path)
    return fig


def _row_label_width(fig: Figure, groups: list[Any]) -> float:
    """Right edge (figure fraction) of the widest row label of the numbers at risk as drawn
    (8 pt, from x = 0.01): the axes start just right of it, leaving half a count's width."""
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    widest = 0.0
    for group in groups:
        probe = fig.text(0.01, 0.0, _label(group, None), fontsize=8)
        widest = max(widest, probe.get_window_extent(renderer).x1)
        probe.remove()
    return widest / fig.bbox.width


def at_risk_text(n: float, threshold: int = SMALL_CELL_THRESHOLD) -> str:
    """A number at risk as printed: ``<N`` below the small-cell threshold (never 0 < n < N)."""
    if 0 < n < threshold:
        return f"<{threshold}"
    return f"{n:.0f}" if n == round(n) else f"{n:.1f}"


def _risk_table(
    fig: Figure,
    ax: Any,
    at_risk: pl.DataFrame,
    groups: list[Any],
    colours: tuple,
    by: str | None,
    threshold: int = SMALL_CELL_THRESHOLD,
) -> None:
    """Numbers at risk, #{entry < t <= T}, under the axis at the tick times (x in data
    coordinates, y in figure coordinates: each count stays under its tick)."""
    times = sorted(at_risk["time"].unique().to_list())
    ax.set_xticks(times)
    ax.set_xlim(0, max(times[-1], ax.get_xlim()[1]) if times else None)
    under = blended_transform_factory(ax.transData, fig.transFigure)
    box = ax.get_position()
    header = f"Number at risk ({by})" if by else "Number at risk"
    fig.text(0.01, box.y0 - 0.10, header, fontsize=8.5, weight="bold")
    for i, group in enumerate(groups):
        rows = at_risk.filter(
            pl.col("group").is_null() if group is None else pl.col("group") == group
        )
        y = box.y0 - 0.10 - 0.045 * (i + 1)
        fig.text(0.01, y, _label(group, None), fontsize=8, color=colours[i % len(colours)])
        for t, n in zip(rows["time"], rows["n_risk"], strict=True):
            fig.text(
                t,
                y,
                at_risk_text(n, threshold),
                fontsize=8,
                ha="center",
                transform=under,
                gid=f"at-risk-{i}-{t:g}",
            )
