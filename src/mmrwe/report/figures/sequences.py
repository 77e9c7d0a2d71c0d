"""Treatment sequences: how patients move from one regimen class to the next, line by line.

An alluvial diagram drawn with matplotlib patches. Column k holds the patients on line k, split
into regimen classes (:func:`~mmrwe.report.figures.style.regimen_class`); a band from class A in
line k to class B in line k + 1 is the patients who had A, then B. Patients without a next line
(death, or alive at last contact) leave no band.

Small cells (threshold t, default 11; ``docs/privacy.md``):
1. a class with fewer than t patients in a line is merged into "other" for that line;
2. a band of fewer than t patients is not drawn and its count not printed (a note says how many);
   drawn bands too thin for legible text (< 7 pt) carry no count either;
3. no count below t is printed, and none can be recovered by subtraction (repeated until stable):
   when a node's count minus its printed incoming bands is 1 … t − 1, the smallest printed
   incoming band loses its label (if none is left, the node does); a node without a label whose
   printed incoming bands add up to it loses the smallest of them; and since the number of
   patients on each line is published in other tables, a line never has exactly one node
   without a label (the smallest other node loses its label too).
With ``threshold = 0`` everything is drawn and printed.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from matplotlib.figure import Figure
from matplotlib.patches import Patch, PathPatch, Rectangle
from matplotlib.path import Path as MplPath

from mmrwe.errors import check_parameter, require_columns
from mmrwe.privacy import SMALL_CELL_THRESHOLD, count_text
from mmrwe.report.figures.style import (
    REGIMEN_CLASS_COLOURS,
    REGIMEN_CLASSES,
    NothingToDrawError,
    figure_style,
    new_figure,
    regimen_class,
)

_ORDER = {name: i for i, name in enumerate(REGIMEN_CLASSES)}


def _classes(lines: pl.DataFrame, max_line: int, threshold: int) -> pl.DataFrame:
    """patient_id, line, regimen_class with small classes merged into "other" per line."""
    require_columns(lines, "lines", ("patient_id", "line", "drug_classes"), "plot_sequences")
    check_parameter(max_line >= 2, "max_line", "plot_sequences", "an int >= 2", max_line)
    check_parameter(threshold >= 0, "threshold", "plot_sequences", "an int >= 0", threshold)
    classed = (
        lines.filter(pl.col("line") <= max_line)
        .select("patient_id", "line", regimen_class(pl.col("drug_classes")).alias("regimen_class"))
        .unique(["patient_id", "line"], keep="first")
    )
    size = pl.len().over("line", "regimen_class")
    return classed.with_columns(
        regimen_class=pl.when(size < threshold).then(pl.lit("other")).otherwise("regimen_class")
    )


def sequence_nodes(
    lines: pl.DataFrame, *, max_line: int = 4, threshold: int = SMALL_CELL_THRESHOLD
) -> pl.DataFrame:
    """One row per line and regimen class: ``line``, ``regimen_class``, ``n`` (patients)."""
    return (
        _classes(lines, max_line, threshold)
        .group_by("line", "regimen_class")
        .agg(n=pl.len().cast(pl.Int64))
        .with_columns(order=pl.col("regimen_class").replace_strict(_ORDER, return_dtype=pl.Int64))
        .sort("line", "order")
        .drop("order")
    )


def sequence_flows(
    lines: pl.DataFrame, *, max_line: int = 4, threshold: int = SMALL_CELL_THRESHOLD
) -> pl.DataFrame:
    """One row per band: ``from_line``, ``from_class``, ``to_class``, ``n`` (patients on
    ``from_class`` in line ``from_line`` and on ``to_class`` in the next line) and ``shown``
    (n ≥ threshold). The bands out of line k sum to the patients who reach line k + 1."""
    classed = _classes(lines, max_line, threshold)
    nxt = classed.select(
        "patient_id", (pl.col("line") - 1).alias("line"), pl.col("regimen_class").alias("to_class")
    )
    return (
        classed.join(nxt, on=["patient_id", "line"])
        .group_by("line", "regimen_class", "to_class")
        .agg(n=pl.len().cast(pl.Int64))
        .rename({"line": "from_line", "regimen_class": "from_class"})
        .with_columns(
            shown=pl.col("n") >= threshold,
            _a=pl.col("from_class").replace_strict(_ORDER, return_dtype=pl.Int64),
            _b=pl.col("to_class").replace_strict(_ORDER, return_dtype=pl.Int64),
        )
        .sort("from_line", "_a", "_b")
        .drop("_a", "_b")
    )


def _labels(nodes: pl.DataFrame, flows: pl.DataFrame, threshold: int) -> tuple[list, list]:
    """Which node and band counts are printed (rules 2 and 3 of the module docstring), repeated
    until nothing changes."""
    node_n, flow_n = nodes["n"].to_list(), flows["n"].to_list()
    node_ok = [n >= threshold for n in node_n]
    flow_ok = list(flows["shown"])
    if threshold == 0:
        return node_ok, flow_ok
    keys = list(zip(nodes["line"], nodes["regimen_class"], strict=True))
    targets = [(k + 1, c) for k, c in zip(flows["from_line"], flows["to_class"], strict=True)]
    into = {key: [i for i, t in enumerate(targets) if t == key] for key in keys}
    column = {k: [j for j, key in enumerate(keys) if key[0] == k] for k in set(nodes["line"])}

    def withhold_smallest(candidates: list[int], ok: list[bool], n: list[int]) -> bool:
        printed = [i for i in candidates if ok[i]]
        if not printed:
            return False
        ok[min(printed, key=lambda i: (n[i], i))] = False
        return True

    changed = True
    while changed:
        changed = False
        for j, key in enumerate(keys):
            printed = [i for i in into[key] if flow_ok[i]]
            remainder = node_n[j] - sum(flow_n[i] for i in printed)
            if node_ok[j] and 0 < remainder < threshold:
                # node minus printed bands would reveal the unprinted ones
                if not withhold_smallest(into[key], flow_ok, flow_n):
                    node_ok[j] = False
                changed = True
            elif not node_ok[j] and remainder == 0 and printed:
                # a withheld node equal to the sum of its printed bands
                changed |= withhold_smallest(into[key], flow_ok, flow_n)
        for members in column.values():
            # the patients on a line are published elsewhere: never one withheld node per line
            if sum(not node_ok[j] for j in members) == 1:
                changed |= withhold_smallest(members, node_ok, node_n)
    return node_ok, flow_ok


def plot_sequences(
    lines: pl.DataFrame, *, max_line: int = 4, threshold: int = SMALL_CELL_THRESHOLD
) -> Figure:
    """Alluvial diagram of regimen classes from line 1 to ``max_line`` (small cells protected).

    Node rectangles carry ``gid`` ``"node-<line>-<class>"``, drawn bands ``"flow-<line>-<from>-<to>"``.
    """
    nodes = sequence_nodes(lines, max_line=max_line, threshold=threshold)
    if nodes.is_empty():
        raise NothingToDrawError("The lines table has no line to draw a treatment sequence.")
    flows = sequence_flows(lines, max_line=max_line, threshold=threshold)
    node_ok, flow_ok = _labels(nodes, flows, threshold)
    line_numbers = sorted(set(nodes["line"]))
    total = max(
        (int(nodes.filter(pl.col("line") == k)["n"].sum()) for k in line_numbers), default=1
    )
    gap = 0.03 * total
    with figure_style():
        fig = new_figure("page", height_mm=105)
        ax = fig.add_axes((0.02, 0.12, 0.74, 0.80))
        ax.set_axis_off()
        ax.set_xlim(-0.35, len(line_numbers) - 0.65)
        ax.set_ylim(-total - gap * 8, gap * 3)
        # printed band counts need about 7 pt of band height
        points_per_patient = ax.bbox.height * 72 / fig.dpi / (total + gap * 11)
        top = _place_nodes(nodes, gap)
        cursor_out = dict(top)
        cursor_in = dict(top)
        for i, row in enumerate(flows.iter_rows(named=True)):
            k, a, b, n = row["from_line"], row["from_class"], row["to_class"], row["n"]
            y0, y1 = cursor_out[(k, a)], cursor_in[(k + 1, b)]
            cursor_out[(k, a)] -= n
            cursor_in[(k + 1, b)] -= n
            if not row["shown"]:
                continue
            x0, x1 = line_numbers.index(k) + _W / 2, line_numbers.index(k + 1) - _W / 2
            ax.add_patch(
                _band(x0, x1, y0, y1, n, REGIMEN_CLASS_COLOURS[a], gid=f"flow-{k}-{a}-{b}")
            )
            if flow_ok[i] and n * points_per_patient >= 7:
                ax.text(
                    x0 + 0.06,
                    y0 - n / 2,
                    f"{n}",
                    fontsize=7,
                    va="center",
                    ha="left",
                    gid=f"flow-label-{k}-{a}-{b}",
                )
        for j, row in enumerate(nodes.iter_rows(named=True)):
            k, c, n = row["line"], row["regimen_class"], row["n"]
            x = line_numbers.index(k)
            y = top[(k, c)]
            ax.add_patch(
                Rectangle(
                    (x - _W / 2, y - n),
                    _W,
                    n,
                    color=REGIMEN_CLASS_COLOURS[c],
                    lw=0,
                    gid=f"node-{k}-{c}",
                )
            )
            label = f"{n}" if node_ok[j] else (f"<{threshold}" if n < threshold else "")
            if label:
                ax.text(
                    x - _W / 2 - 0.02,
                    y - n / 2,
                    label,
                    fontsize=7,
                    ha="right",
                    va="center",
                    weight="bold",
                    gid=f"node-label-{k}-{c}",
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6, "alpha": 0.85},
                )
        for x, k in enumerate(line_numbers):
            ax.text(x, gap, f"Line {k}", ha="center", va="bottom", fontsize=8, weight="bold")
        present = [c for c in REGIMEN_CLASSES if c in set(nodes["regimen_class"])]
        ax.legend(
            handles=[Patch(color=REGIMEN_CLASS_COLOURS[c], label=c) for c in present],
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
            frameon=False,
            title="Regimen class",
        )
        fig.text(0.02, 0.02, _note(flows, threshold), fontsize=7, va="bottom", wrap=True)
        _total(fig, lines, max_line, threshold)
    return fig


_W = 0.10  # node width (axis units: one line per unit)


def _total(fig: Figure, lines: pl.DataFrame, max_line: int, threshold: int) -> None:
    """The population drawn, at the top: "65 patients, lines 1 to 4 of each in the data"."""
    n_patients = count_text(lines["patient_id"].n_unique(), threshold)
    fig.text(
        0.02,
        0.985,
        f"{n_patients} patients, lines 1 to {max_line} of each in the data",
        fontsize=7.5,
        va="top",
        gid="sequences-total",
    )


def _place_nodes(nodes: pl.DataFrame, gap: float) -> dict[tuple[int, str], float]:
    """Top y of each node: stacked downwards from 0 in legend order, ``gap`` apart."""
    top: dict[tuple[int, str], float] = {}
    for (k,), group in nodes.group_by("line", maintain_order=True):
        y = 0.0
        for c, n in group.select("regimen_class", "n").rows():
            top[(k, c)] = y
            y -= n + gap
    return top


def _band(x0: float, x1: float, y0: float, y1: float, n: float, colour: str, gid: str) -> PathPatch:
    """A band ``n`` high from (x0, y0 top) to (x1, y1 top) with S-shaped (cubic) edges."""
    xm = (x0 + x1) / 2
    verts = np.array(
        [
            (x0, y0),
            (xm, y0),
            (xm, y1),
            (x1, y1),
            (x1, y1 - n),
            (xm, y1 - n),
            (xm, y0 - n),
            (x0, y0 - n),
            (x0, y0),
        ]
    )
    codes = [
        MplPath.MOVETO,
        *[MplPath.CURVE4] * 3,
        MplPath.LINETO,
        *[MplPath.CURVE4] * 3,
        MplPath.CLOSEPOLY,
    ]
    return PathPatch(MplPath(verts, codes), facecolor=colour, alpha=0.5, lw=0, gid=gid)


def _note(flows: pl.DataFrame, threshold: int) -> str:
    text = "Bands: patients moving from one line's regimen class to the next line's."
    if threshold == 0:
        return text + " Small-cell suppression off."
    hidden = int((~flows["shown"]).sum())
    return (
        f"{text} Classes with fewer than {threshold} patients in a line are merged into "
        f"'other'; {hidden} band(s) of fewer than {threshold} patients are not drawn; counts "
        f"below {threshold} are not printed."
    )
