"""Forest plot of subgroup hazard ratios (``mmrwe.stats.subgroup_hazard_ratios``).

One row per subgroup level under a bold subgroup heading, the hazard ratio and its confidence
interval on a log axis with a reference line at 1; beside each row the number of patient-lines
and events and the HR with its interval as text. The reference level is an open diamond at 1
marked "reference"; levels withheld for privacy or without a finite HR have no point and say
why. Drawn from the table alone, so a user's own table draws the same figure.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter
from matplotlib.transforms import blended_transform_factory

from mmrwe.errors import require_columns
from mmrwe.report.figures.style import (
    BLACK,
    GRID,
    MM_PER_INCH,
    OKABE_ITO,
    figure_style,
    new_figure,
)

COLUMNS = ("subgroup", "level", "reference", "n_patients", "n_events", "hr", "lower", "upper")
OVERALL = "overall"
#: gap (points) between the columns: labels | plot | n / events | HR, and at the edges
GAP_PT = 8.0
#: the plot column is never narrower than this (mm); the figure widens if the text needs it
MIN_PLOT_MM = 45.0
#: ticks of the log axis, and those added when fewer than three fall in its range
TICKS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0)
EXTRA_TICKS = (0.3, 0.7, 1.5, 3.0)
#: height of one row and the bottom/top margins (mm)
ROW_MM = 4.2
MARGIN_MM = (12.0, 6.0)


def _rows(df: pl.DataFrame) -> list[dict]:
    """Display rows top to bottom: the overall row, then per subgroup a heading and its levels."""
    rows: list[dict] = []
    for r in df.filter(pl.col("subgroup") == OVERALL).iter_rows(named=True):
        rows.append({**r, "kind": "overall", "label": "Overall"})
    subgroups = df.filter(pl.col("subgroup") != OVERALL)["subgroup"].unique(maintain_order=True)
    for name in subgroups:
        rows.append({"kind": "heading", "label": str(name).replace("_", " ")})
        for r in df.filter(pl.col("subgroup") == name).iter_rows(named=True):
            level = r["level"] if r["level"] is not None else "(no known level)"
            rows.append({**r, "kind": "level", "label": f"  {level}"})
    return rows


def _hr_text(r: dict) -> str:
    note = r.get("note") or ""
    if note.startswith("withheld"):
        return "withheld (" + note.removeprefix("withheld: ").replace("fewer than ", "< ") + ")"
    if r["level"] is not None and r["level"] == r["reference"] and r["hr"] is not None:
        return "reference"
    if r["kind"] == "level" and r["level"] is None:
        return "no known level"
    if r["hr"] is None:
        return "not estimable" if r["kind"] == "level" else ""
    if r["lower"] is None or r["upper"] is None:
        return f"{r['hr']:.2f}"
    return f"{r['hr']:.2f} ({r['lower']:.2f}–{r['upper']:.2f})"


def plot_forest(
    subgroups: pl.DataFrame,
    ax: Axes | None = None,
    *,
    endpoint: str | None = None,
    conf_label: str = "95% CI",
) -> Figure:
    """Forest plot of ``subgroups`` (the ``subgroup_hazard_ratios`` table); returns the Figure.

    ``endpoint`` (e.g. "PFS") names the axis; ``ax``: draw into an existing axes. On its own
    figure (page width, wider if the text needs it) the columns — labels, plot, n / events,
    HR — are laid out from the widths of their text as the renderer measures it, so no text
    overlaps another or leaves the canvas.
    """
    require_columns(subgroups, "subgroup_hazard_ratios", COLUMNS, "plot_forest")
    rows = _rows(subgroups)
    with figure_style():
        own = ax is None
        if ax is None:
            height = MARGIN_MM[0] + MARGIN_MM[1] + ROW_MM * len(rows)
            fig = new_figure("page", height)
            bottom, top = MARGIN_MM[0] / height, MARGIN_MM[1] / height
            ax = fig.add_axes((0.3, bottom, 0.3, 1 - bottom - top))
        y = -np.arange(len(rows), dtype=float)
        trans = blended_transform_factory(ax.transAxes, ax.transData)
        estimates = []
        columns: list[tuple[Any, Any]] = []
        for yi, r in zip(y, rows, strict=True):
            if r["kind"] == "heading":
                continue
            is_ref = r["level"] is not None and r["level"] == r.get("reference")
            hr, lo, hi = r.get("hr"), r.get("lower"), r.get("upper")
            if r["kind"] == "level" and is_ref and hr is not None:
                ax.plot([1.0], [yi], marker="D", mfc="white", mec=BLACK, ms=3.5, ls="")
            elif r["kind"] == "level" and hr is not None and lo is not None and hi is not None:
                ax.errorbar(
                    [hr],
                    [yi],
                    xerr=[[hr - lo], [hi - hr]],
                    fmt="s",
                    color=OKABE_ITO[0],
                    ms=3.5,
                    capsize=1.5,
                    lw=0.9,
                    gid=f"hr {r['subgroup']} {r['level']}",
                )
                estimates += [lo, hi]
            columns.append(
                _right_text(ax, trans, yi, f"{r['n_patients']} / {r['n_events']}", _hr_text(r))
            )
        lo_x = min([*estimates, 1.0]) / 1.25
        hi_x = max([*estimates, 1.0]) * 1.25
        ax.set_xscale("log")
        ax.set_xlim(lo_x, hi_x)
        ticks = _ticks(lo_x, hi_x)
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.axvline(1.0, color=BLACK, lw=0.7)
        ax.set_ylim(y[-1] - 0.7, 0.7)
        ax.set_yticks(y, [r["label"] for r in rows])
        for tick, r in zip(ax.get_yticklabels(), rows, strict=True):
            if r["kind"] != "level":
                tick.set_fontweight("bold")
        ax.tick_params(axis="y", length=0)
        ax.grid(True, axis="x", color=GRID, lw=0.5)
        ax.spines[["top", "right", "left"]].set_visible(False)
        ax.set_xlabel(f"Hazard ratio{f' ({endpoint})' if endpoint else ''}, {conf_label}")
        columns.append(
            _right_text(ax, trans, 1.0, "n / events", f"HR ({conf_label})", weight="bold")
        )
        if own:
            _lay_out(ax, columns)
    return ax.figure  # type: ignore[return-value]


def _ticks(low: float, high: float) -> list[float]:
    """Round ticks within [low, high]; extra ones only where they keep a ratio >= 1.4 to
    their neighbours (labels do not collide)."""
    ticks = [t for t in TICKS if low <= t <= high]
    if len(ticks) < 3:
        for t in EXTRA_TICKS:
            if low <= t <= high and all(max(t, u) / min(t, u) >= 1.4 for u in ticks):
                ticks.append(t)
    return sorted(ticks)


def _right_text(ax: Axes, trans: Any, y: float, counts: str, hr: str, **kw: Any) -> tuple:
    """The two text columns of one row right of the plot (placed by :func:`_lay_out`)."""
    return tuple(
        ax.annotate(
            text,
            (1.0, y),
            xycoords=trans,
            xytext=(GAP_PT, 0),
            textcoords="offset points",
            va="center",
            fontsize=7,
            annotation_clip=False,
            **kw,
        )
        for text in (counts, hr)
    )


def _lay_out(ax: Axes, columns: list[tuple[Any, Any]]) -> None:
    """Columns from measured text widths: labels | plot | n / events | HR, ``GAP_PT`` apart;
    the figure widens when the plot would be narrower than ``MIN_PLOT_MM``."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    px_per_pt = fig.dpi / 72

    def widest(texts: Any) -> float:
        return max((t.get_window_extent(renderer).width for t in texts), default=0.0)

    labels = widest(ax.get_yticklabels()) + ax.yaxis.get_tick_padding() * px_per_pt
    counts = widest(c for c, _ in columns)
    hr = widest(h for _, h in columns)
    gap = GAP_PT * px_per_pt
    text_px = gap + labels + gap + counts + gap + hr + gap
    needed = text_px + MIN_PLOT_MM / MM_PER_INCH * fig.dpi
    if needed > fig.bbox.width:
        fig.set_size_inches(needed / fig.dpi, fig.get_size_inches()[1])
    width = fig.bbox.width
    box = ax.get_position()
    left = (gap + labels) / width
    ax.set_position((left, box.y0, (width - text_px) / width, box.height))
    for count, rate in columns:
        count.xyann = (GAP_PT, 0)
        rate.xyann = (GAP_PT + (counts + gap) / px_per_pt, 0)
