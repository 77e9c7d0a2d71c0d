"""Median PFS and OS by line of therapy: each relapse shortens the next remission.

Drawn from the ``summary_by_line`` table alone (``mmrwe.stats.summary_by_line``), so it can be
drawn from a table a user made: one point per group and endpoint at the KM median (months)
with its confidence interval as an error bar, groups on the x axis in ``group_order``
(Kumar, 2004, Mayo Clin Proc; Jagannath, 2016, Clin Lymphoma Myeloma Leuk). A median not
reached is an upward arrow marked "NR" (from its lower limit when that is reached); an upper
limit that cannot be estimated is an arrow above the point marked "NE"; a group withheld for
privacy is marked "n < 11" without a point.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from mmrwe.errors import require_columns
from mmrwe.report.figures.style import (
    GRID,
    OKABE_ITO,
    figure_style,
    new_figure,
)

COLUMNS = ("group", "group_order", "endpoint", "n_patients", "median_months", "median_lower")
MARKERS = ("o", "s", "D", "^", "v", "P")
NOT_REACHED = "NR"
NOT_ESTIMABLE = "NE"
#: horizontal spread of the endpoints of one group (x units)
SPREAD = 0.36
#: length of the arrow of an unreached upper limit (fraction of the axis height)
OPEN_END = 0.15


def _withheld() -> pl.Expr:
    """Rows whose estimates are suppressed: a ``<N`` count and no median or lower limit."""
    return (
        pl.col("n_patients").cast(pl.String).str.starts_with("<")
        & pl.col("median_months").is_null()
        & pl.col("median_lower").is_null()
    )


def _arrow(ax: Axes, x: float, y0: float, y1: float, colour: str) -> None:
    ax.annotate(
        "",
        xy=(x, y1),
        xytext=(x, y0),
        arrowprops={"arrowstyle": "-|>", "color": colour, "lw": 0.9, "mutation_scale": 7},
        annotation_clip=False,
    )


def plot_outcomes_by_line(
    summary: pl.DataFrame,
    ax: Axes | None = None,
    *,
    endpoints: Sequence[str] = ("PFS", "OS"),
    conf_label: str = "95% CI",
) -> Figure:
    """Medians of ``endpoints`` with their intervals by analysis group; returns the Figure.

    ``summary`` has the ``summary_by_line`` columns (group, group_order, endpoint, n_patients,
    median_months, median_lower, median_upper). ``ax``: draw into an existing axes.
    """
    require_columns(summary, "summary_by_line", (*COLUMNS, "median_upper"), "plot_outcomes_by_line")
    with figure_style():
        if ax is None:
            fig = new_figure("column", 72.0)  # room above the axes for the two-line legend
            ax = fig.add_axes((0.14, 0.13, 0.83, 0.64))
        df = summary.filter(pl.col("endpoint").is_in(list(endpoints)))
        groups = df.select("group", "group_order").unique().sort("group_order", "group")
        labels = groups["group"].to_list()
        x_of = {g: i for i, g in enumerate(labels)}
        values = df.select("median_months", "median_lower", "median_upper").to_numpy()
        finite = values[np.isfinite(values.astype(float))]
        top = float(finite.max()) * 1.18 if finite.size else 1.0
        shown = [e for e in endpoints if e in set(df["endpoint"])]
        offsets = np.linspace(-SPREAD / 2, SPREAD / 2, len(shown)) if len(shown) > 1 else [0.0]
        handles = []
        for k, name in enumerate(shown):
            colour, marker = OKABE_ITO[k % len(OKABE_ITO)], MARKERS[k % len(MARKERS)]
            rows = df.filter(pl.col("endpoint") == name).with_columns(_withheld().alias("_w"))
            handles.append(_draw_endpoint(ax, rows, x_of, offsets[k], top, colour, marker, name))
        _mark_withheld(ax, df, x_of, top)
        ax.set_xticks(range(len(labels)), labels)
        ax.set_xlim(-0.6, len(labels) - 0.4)
        ax.set_ylim(0, top * 1.08)
        ax.set_ylabel("Median (months)")
        ax.grid(True, axis="y", color=GRID, lw=0.5)
        ax.spines[["top", "right"]].set_visible(False)
        ax.legend(
            handles,
            [f"{h.get_label()}" for h in handles],
            title=f"bars: {conf_label}; ↑ {NOT_REACHED}: median not reached;\n"
            f"↑ {NOT_ESTIMABLE}: upper limit not estimable",
            frameon=False,
            loc="lower center",
            bbox_to_anchor=(0.5, 1.0),
            ncol=len(handles),
        )
    return ax.figure  # type: ignore[return-value]


def _draw_endpoint(
    ax: Axes,
    rows: pl.DataFrame,
    x_of: dict[str, int],
    dx: float,
    top: float,
    colour: str,
    marker: str,
    name: str,
) -> Line2D:
    """One endpoint's medians: an error bar per reached median, an "NR" arrow otherwise."""
    handle = Line2D([], [], marker=marker, color=colour, ls="", ms=4, label=name)
    for r in rows.filter(~pl.col("_w")).iter_rows(named=True):
        x = x_of[r["group"]] + dx
        med, lo, hi = r["median_months"], r["median_lower"], r["median_upper"]
        if med is None:
            # no lower limit either: a short arrow only (no interval to show)
            start = lo if lo is not None else top * 0.88
            _arrow(ax, x, start, top, colour)
            ax.text(x, top, NOT_REACHED, ha="center", va="bottom", fontsize=7, color=colour)
            continue
        low = med - lo if lo is not None else 0.0
        high = hi - med if hi is not None else 0.0
        ax.errorbar(
            [x],
            [med],
            yerr=[[low], [high]],
            fmt=marker,
            color=colour,
            ms=4,
            capsize=2,
            lw=0.9,
            gid=f"median {name} {r['group']}",
        )
        if hi is None:  # upper limit not estimable: a short arrow above the point, "NE"
            _arrow(ax, x, med, med + OPEN_END * top, colour)
            ax.text(
                x,
                med + OPEN_END * top,
                NOT_ESTIMABLE,
                ha="center",
                va="bottom",
                fontsize=7,
                color=colour,
            )
    return handle


def _mark_withheld(ax: Axes, df: pl.DataFrame, x_of: dict[str, int], top: float) -> None:
    """One "n < N" label per group whose rows are all withheld."""
    per_group = (
        df.with_columns(_withheld().alias("_w"))
        .group_by("group")
        .agg(pl.col("_w").all(), pl.col("n_patients").first())
    )
    for group, withheld, n in per_group.sort("group").iter_rows():
        if withheld:
            ax.text(
                x_of[group],
                top * 0.04,
                f"n {n.replace('<', '< ')}",
                ha="center",
                va="bottom",
                fontsize=7,
                color="#555555",
            )
