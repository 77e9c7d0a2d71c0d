"""Response figures: the distribution of best response per group, and the waterfall plot.

``plot_response_distribution`` reads only the ``response_rates`` summary (aggregate, small cells
already suppressed there). ``plot_waterfall`` shows one bar per patient-line, so it needs
``allow_patient_level``: the best percentage change of the M-protein from baseline, on the
component that made the line measurable (serum M-protein when measurable, else urine M-protein,
else dFLC for FLC-only disease; Kumar 2016), coloured by best overall response.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import polars as pl
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from mmrwe.errors import check_parameter, require_columns
from mmrwe.privacy import SMALL_CELL_THRESHOLD
from mmrwe.report.figures.style import (
    BLACK,
    GRID,
    RESPONSE_COLOURS,
    RESPONSE_ORDER,
    NothingToDrawError,
    check_patient_level,
    figure_style,
    fit_left_margin,
    group_label,
    new_figure,
    wrap_label,
)

WITHHELD = "#FFFFFF"
#: bars above this increase (%) are drawn at it
CLIP_PCT = 100.0


def response_distribution(response_rates: pl.DataFrame) -> pl.DataFrame:
    """Long form of the best-response distribution: ``group``, ``n_patients`` (text as in the
    table), ``response`` (sCR … NE), ``n`` (text), ``pct`` (null when withheld).

    Reads the wide table (``n_sCR`` …, ``pct_sCR`` …) or an already long one (``response``,
    ``n``, ``pct``); groups keep the table's order (``group_order`` when present).
    """
    require_columns(
        response_rates, "response_rates", ("group", "n_patients"), "plot_response_distribution"
    )
    rates = (
        response_rates.sort("group_order")
        if "group_order" in response_rates.columns
        else response_rates
    )
    if "response" in rates.columns:
        long = rates.select("group", "n_patients", "response", "n", "pct")
    else:
        require_columns(
            rates,
            "response_rates",
            tuple(f"pct_{c}" for c in RESPONSE_ORDER),
            "plot_response_distribution",
        )
        long = (
            pl.concat(
                rates.select(
                    "group",
                    "n_patients",
                    pl.lit(c).alias("response"),
                    pl.col(f"n_{c}").cast(pl.String).alias("n")
                    if f"n_{c}" in rates.columns
                    else pl.lit(None, pl.String).alias("n"),
                    pl.col(f"pct_{c}").cast(pl.Float64).alias("pct"),
                ).with_row_index("_g")
                for c in RESPONSE_ORDER
            )
            .sort(
                "_g",
                pl.col("response").replace_strict(
                    {c: i for i, c in enumerate(RESPONSE_ORDER)}, return_dtype=pl.Int64
                ),
            )
            .drop("_g")
        )
    return long.with_columns(pl.col("group").cast(pl.String), pl.col("n_patients").cast(pl.String))


def plot_response_distribution(
    response_rates: pl.DataFrame,
    *,
    title: str | None = None,
    width: Literal["page", "column"] = "page",
) -> Figure:
    """Stacked horizontal bars of best response (sCR … NE, % of patients starting the line), one
    per group. Withheld (suppressed) categories are pooled into one white, hatched block at the
    end of the bar; groups below the small-cell threshold are named and left empty. ``width``:
    174 mm (page) or 85 mm (column).

    Bar segments carry ``gid`` ``"response-<group>-<category>"``.
    """
    long = response_distribution(response_rates)
    if long.is_empty():
        raise NothingToDrawError("The response_rates table has no rows to draw.")
    groups = long["group"].unique(maintain_order=True).to_list()
    page = width == "page"
    legend_mm = 8 if page else 18  # one legend row on a page, two in a column (and the label)
    with figure_style():
        height = 20 + legend_mm + 8 * len(groups)
        fig = new_figure(width, height_mm=height)
        left = 0.22 if page else 0.38
        ax = fig.add_axes(
            (left, (11 + legend_mm) / height, 0.96 - left, 1 - (15 + legend_mm) / height)
        )
        for y, group in enumerate(groups):
            rows = long.filter(pl.col("group") == group)
            n_text = rows["n_patients"][0]
            left = 0.0
            for category, pct in rows.select("response", "pct").rows():
                if pct is None or pct == 0:
                    continue
                ax.barh(
                    y,
                    pct,
                    left=left,
                    height=0.7,
                    color=RESPONSE_COLOURS[category],
                    edgecolor="white",
                    linewidth=0.4,
                    gid=f"response-{group}-{category}",
                )
                if pct >= (6 if page else 9):
                    dark = category in ("sCR", "CR", "PD")
                    ax.text(
                        left + pct / 2,
                        y,
                        f"{pct:.0f}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if dark else BLACK,
                    )
                left += pct
            withheld = rows["pct"].null_count() > 0 and n_text.isdigit()
            if withheld and left < 99.95:
                ax.barh(
                    y,
                    100 - left,
                    left=left,
                    height=0.7,
                    color=WITHHELD,
                    edgecolor="#777777",
                    hatch="////",
                    linewidth=0.4,
                    gid=f"response-{group}-withheld",
                )
            if not n_text.isdigit():
                ax.text(1, y, f"n {n_text}: withheld", va="center", fontsize=7)
        ax.set_yticks(range(len(groups)), [_group_label(g, long, width) for g in groups])
        ax.set_ylim(len(groups) - 0.5, -0.5)
        ax.set_xlim(0, 100)
        ax.set_xlabel(
            "Patients (%), best overall response (IMWG)"
            if page
            else "Patients (%),\nbest overall response (IMWG)"
        )
        ax.grid(True, axis="x", color=GRID, lw=0.5)
        ax.set_axisbelow(True)
        ax.spines[["top", "right"]].set_visible(False)
        handles = [
            Patch(facecolor=RESPONSE_COLOURS[c], edgecolor="#777777", lw=0.4, label=c)
            for c in RESPONSE_ORDER
        ]
        handles.append(
            Patch(
                facecolor=WITHHELD, edgecolor="#777777", hatch="////", label="withheld (<threshold)"
            )
        )
        _legend_below(fig, handles, page)
        if title:
            ax.set_title(title, loc="left")
        fit_left_margin(fig, [ax])
    return fig


#: characters per line of a group's label (a study's own group name can be long)
LABEL_CHARS = {"page": 34, "column": 20}


def _group_label(group: str, long: pl.DataFrame, width: str) -> str:
    """``group (n = …)``; a long group name wrapped, its size kept whole on the last line."""
    n_text = long.filter(pl.col("group") == group)["n_patients"][0]
    label, chars = group_label(group, n_text), LABEL_CHARS[width]
    if len(label) <= chars:
        return label
    return f"{wrap_label(group, chars)}\n{label[len(group) :].strip()}"


def waterfall_data(
    assessments: pl.DataFrame | pl.LazyFrame,
    line_response: pl.DataFrame,
    analysis_lines: pl.DataFrame,
) -> pl.DataFrame:
    """One row per measurable patient-line of ``analysis_lines``: ``group``, ``component``
    (serum, urine or flc), ``baseline``, ``best`` (lowest value on the line), ``best_change_pct``
    ((best − baseline) / baseline × 100), ``best_response``, sorted for drawing (largest
    increase first). Measurable: a component measurable at baseline with a positive baseline value
    and at least one on-line value. ``assessments`` may be a lazy scan (aggregated without
    reading it whole)."""
    require_columns(
        pl.DataFrame(schema=assessments.collect_schema())
        if isinstance(assessments, pl.LazyFrame)
        else assessments,
        "assessments",
        ("patient_id", "line", "date", "role", "serum_m", "urine_m", "dflc"),
        "plot_waterfall",
    )
    require_columns(
        line_response,
        "line_response",
        ("patient_id", "line", "best_response", "measurable_by"),
        "plot_waterfall",
    )
    require_columns(analysis_lines, "analysis_lines", ("patient_id", "line"), "plot_waterfall")
    keys = analysis_lines.select(
        "patient_id",
        "line",
        (pl.col("group") if "group" in analysis_lines.columns else pl.lit("all"))
        .cast(pl.String)
        .alias("group"),
        *(["group_order"] if "group_order" in analysis_lines.columns else []),
    )
    measurable = pl.col("measurable_by").fill_null("none").str.split(";")
    lines = (
        keys.join(
            line_response.select("patient_id", "line", "best_response", "measurable_by"),
            on=["patient_id", "line"],
            how="left",
        )
        .with_columns(
            component=pl.when(measurable.list.contains("serum"))
            .then(pl.lit("serum"))
            .when(measurable.list.contains("urine"))
            .then(pl.lit("urine"))
            .when(measurable.list.contains("flc"))
            .then(pl.lit("flc"))
        )
        .drop_nulls("component")
    )
    values = (
        assessments.lazy()
        .join(lines.lazy().select("patient_id", "line", "component"), on=["patient_id", "line"])
        .with_columns(
            value=pl.when(pl.col("component") == "serum")
            .then("serum_m")
            .when(pl.col("component") == "urine")
            .then("urine_m")
            .otherwise("dflc")
        )
        .drop_nulls("value")
        .group_by("patient_id", "line")
        .agg(  # the last baseline by date (sorted within each line, not the whole table)
            baseline=pl.col("value")
            .filter(pl.col("role") == "baseline")
            .sort_by(pl.col("date").filter(pl.col("role") == "baseline"), maintain_order=True)
            .last(),
            best=pl.col("value").filter(pl.col("role") == "on_line").min(),
        )
        .collect()
    )
    out = (
        lines.join(values, on=["patient_id", "line"])
        .filter(pl.col("baseline") > 0, pl.col("best").is_not_null())
        .with_columns(best_change_pct=(pl.col("best") / pl.col("baseline") - 1) * 100)
    )
    order = ["group_order"] if "group_order" in out.columns else ["group"]
    return out.sort(
        [*order, "best_change_pct", "patient_id", "line"],
        descending=[False] * len(order) + [True, False, False],
    )


def plot_waterfall(
    assessments: pl.DataFrame | pl.LazyFrame,
    line_response: pl.DataFrame,
    analysis_lines: pl.DataFrame,
    *,
    allow_patient_level: bool = False,
    max_bars: int = 1000,
    seed: int = 0,
    width: Literal["page", "column"] = "page",
    threshold: int = SMALL_CELL_THRESHOLD,
    withheld_groups: Sequence[str] = (),
) -> Figure:
    """Waterfall of the best % change from baseline, one panel per group, one bar per measurable
    patient-line coloured by best response; increases above +100 % are drawn at +100 % (the
    figure says how many). A group with more than ``max_bars`` measurable lines shows a random
    sample of ``max_bars`` (``seed``; the panel title says so). ``width``: 174 mm (page) or
    85 mm (column). Each panel's bars are one
    :class:`~matplotlib.collections.PolyCollection` with ``gid`` ``"waterfall-<group>"``.

    Privacy: a group of ``withheld_groups`` (the response table withholds one of its counts) is
    not drawn, nor is a group whose drawn bars would show a count from 1 to ``threshold`` − 1
    (measurable lines, or lines of one response category, unless the bars are a sample); the
    figure names the groups left out. With none left, :class:`NothingToDrawError`."""
    check_patient_level(allow_patient_level, "waterfall plot")
    check_parameter(max_bars >= 1, "max_bars", "plot_waterfall", "an int >= 1", max_bars)
    data = waterfall_data(assessments, line_response, analysis_lines)
    if data.is_empty():
        raise NothingToDrawError(
            "No analysed patient-line is measurable for the waterfall plot (a component "
            "measurable at baseline and measured on the line)."
        )
    groups, left_out = _groups_drawn(data, withheld_groups, max_bars, threshold)
    if not groups:
        raise NothingToDrawError(
            f"the counts of {', '.join(left_out)} are withheld by the small-cell rule "
            f"(threshold {threshold}), and one bar per patient-line would show them."
        )
    n_analysed = analysis_lines.group_by(
        pl.col("group").cast(pl.String) if "group" in analysis_lines.columns else pl.lit("all")
    ).len()
    analysed = dict(n_analysed.rows())
    page = width == "page"
    with figure_style():
        legend_mm = 10 if page else 16
        note_mm = 5 if left_out else 0  # the line naming the groups left out
        height = 8 + note_mm + legend_mm + (42 if page else 46) * len(groups)
        fig = new_figure(width, height_mm=height)
        axes = fig.subplots(len(groups), 1, squeeze=False)[:, 0]
        fig.subplots_adjust(
            left=0.12 if page else 0.24,
            right=0.98,
            top=1 - ((6 if page else 9) + note_mm) / height,
            bottom=(6 + legend_mm) / height,
            hspace=0.45 if page else 0.6,
        )
        for ax, group in zip(axes, groups, strict=True):
            every = data.filter(pl.col("group") == group)
            rows = _sample(every, max_bars, seed)
            _bars(ax, rows, gid=f"waterfall-{group}")
            clipped = int((rows["best_change_pct"] > CLIP_PCT).sum())
            ax.axhline(0, color=BLACK, lw=0.6)
            for level in (-50, -90):
                ax.axhline(level, color="#777777", lw=0.5, ls=":")
            ax.set_ylim(-105, CLIP_PCT + 8)
            ax.set_xlim(-0.5, max(rows.height, 1) - 0.5)
            ax.set_xticks([])
            ax.set_ylabel("Best change from\nbaseline (%)")
            ax.spines[["top", "right", "bottom"]].set_visible(False)
            note = [
                f"{group}: {every.height} measurable of {analysed.get(group, every.height)} analysed"
            ]
            if rows.height < every.height:
                note.append(f"a random sample of {rows.height} shown")
            if clipped:
                note.append(f"{clipped} above +{CLIP_PCT:.0f} % drawn at +{CLIP_PCT:.0f} %")
            ax.set_title(("; " if page else ";\n").join(note), loc="left", fontsize=7.5)
        seen = set(data["best_response"].drop_nulls().unique().to_list())
        present = [c for c in RESPONSE_ORDER if c in seen]
        handles = [Patch(color=RESPONSE_COLOURS[c], label=c) for c in present]
        handles.append(Line2D([], [], color="#777777", lw=0.8, ls=":", label="−50 %, −90 %"))
        _legend_below(fig, handles, page)
        if left_out:
            fig.text(
                0.01,
                0.995,
                f"Not drawn (counts withheld, fewer than {threshold}): {', '.join(left_out)}",
                fontsize=7,
                va="top",
                gid="waterfall-left-out",
            )
    return fig


def _groups_drawn(
    data: pl.DataFrame, withheld_groups: Sequence[str], max_bars: int, threshold: int
) -> tuple[list[str], list[str]]:
    """(drawn, left out) groups: out when withheld, or when their bars show a small count."""
    every = data["group"].unique(maintain_order=True).to_list()
    out = [
        g
        for g in every
        if g in set(withheld_groups)
        or _small_bars(data.filter(pl.col("group") == g), max_bars, threshold)
    ]
    return [g for g in every if g not in out], out


def _small_bars(rows: pl.DataFrame, max_bars: int, threshold: int) -> bool:
    """Would the bars of one group show a count from 1 to threshold − 1? (A random sample of
    ``max_bars`` shows none: its counts are of the sample.)"""
    if threshold == 0 or rows.height > max_bars:
        return False
    sizes = [rows.height, *rows["best_response"].fill_null("NE").value_counts()["count"]]
    return any(0 < n < threshold for n in sizes)


def _sample(rows: pl.DataFrame, max_bars: int, seed: int) -> pl.DataFrame:
    """At most ``max_bars`` rows drawn at random (``seed``), in their original order."""
    if rows.height <= max_bars:
        return rows
    keep = np.sort(np.random.default_rng(seed).choice(rows.height, size=max_bars, replace=False))
    return rows[keep]


def _bars(ax, rows: pl.DataFrame, gid: str) -> None:  # type: ignore[no-untyped-def]
    """One rectangle per row (x = position, height = best change clipped at +100 %), drawn as
    a single collection: thousands of bars stay fast and the SVG small."""
    height = rows["best_change_pct"].clip(upper_bound=CLIP_PCT).to_numpy()
    x = np.arange(rows.height, dtype=float)
    verts = np.stack(
        [
            np.column_stack([x - 0.5, np.zeros_like(height)]),
            np.column_stack([x - 0.5, height]),
            np.column_stack([x + 0.5, height]),
            np.column_stack([x + 0.5, np.zeros_like(height)]),
        ],
        axis=1,
    )
    colours = [
        RESPONSE_COLOURS.get(r or "NE", RESPONSE_COLOURS["NE"]) for r in rows["best_response"]
    ]
    ax.add_collection(
        PolyCollection(verts, facecolors=colours, edgecolors="face", linewidths=0.2, gid=gid)
    )


def _legend_below(fig: Figure, handles: list, page: bool) -> None:
    """The legend centred under the axes: one row at page width, rows of 5 at column width."""
    fig.legend(
        handles=handles,
        loc="lower center",
        ncol=len(handles) if page else 5,
        frameon=False,
        bbox_to_anchor=(0.5, 0.0),
        handlelength=1.2,
        columnspacing=0.9,
    )
