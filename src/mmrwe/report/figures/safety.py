"""Safety figure: adverse-event rates at any grade and at grade ≥ 3, per term, from the
``adverse_events`` summary (aggregate, small cells already suppressed there).

Grades are CTCAE, except CRS and ICANS graded by ASTCT (Lee DW et al., Biol Blood Marrow
Transplant 2019). Rows that split a term by grade (CRS, ICANS by ASTCT grade) are not drawn:
the figure shows one pair of bars per term.
"""

from __future__ import annotations

from typing import Literal

import polars as pl
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.text import Text

from mmrwe.errors import ParameterError, check_parameter, require_columns
from mmrwe.report.figures.style import (
    BLACK,
    GRID,
    NothingToDrawError,
    figure_style,
    fit_left_margin,
    group_label,
    mm,
    new_figure,
    wrap_label,
)

ANY_GRADE = "#56B4E9"
GRADE_3_PLUS = "#D55E00"
#: characters per line of a term's label (MedDRA terms run to 55 characters)
TERM_CHARS = 30

#: accepted spellings of the summary's columns (first present wins)
_COLUMNS = {
    "group": ("group", "regimen"),
    "n_patients": ("n_patients",),
    "pct_any": ("pct_any_grade", "pct_any"),
    "n_any": ("n_any_grade", "n_any"),
    "pct_g3": ("pct_grade_3_plus", "pct_grade3_plus", "pct_grade_ge3", "pct_grade3"),
    "n_g3": ("n_grade_3_plus", "n_grade3_plus", "n_grade_ge3", "n_grade3"),
}


def _resolve(table: pl.DataFrame) -> dict[str, str]:
    found = {}
    for key, names in _COLUMNS.items():
        name = next((n for n in names if n in table.columns), None)
        if name is None:
            raise ParameterError(
                f"The 'adverse_events' table passed to plot_adverse_events has none of the "
                f"columns {', '.join(names)} (it has {', '.join(table.columns)}). Pass the "
                "adverse_events summary of a run directory."
            )
        found[key] = name
    return found


def adverse_event_bars(adverse_events_summary: pl.DataFrame, *, top: int = 15) -> pl.DataFrame:
    """The rows drawn: per group (table order) the ``top`` terms by any-grade percentage
    (withheld percentages rank last, then by term; terms with a published count of 0 are left
    out): ``group``, ``n_patients``, ``term``, ``n_any``, ``pct_any``, ``n_g3``, ``pct_g3``
    (percentages null when withheld)."""
    check_parameter(top >= 1, "top", "plot_adverse_events", "an int >= 1", top)
    require_columns(adverse_events_summary, "adverse_events", ("term",), "plot_adverse_events")
    col = _resolve(adverse_events_summary)
    table = adverse_events_summary
    if "grade" in table.columns:  # per-grade rows of CRS/ICANS
        table = table.filter(pl.col("grade").is_null())
    if "group_order" in table.columns:
        table = table.sort("group_order", maintain_order=True)
    rows = table.select(
        pl.col(col["group"]).cast(pl.String).alias("group"),
        pl.col(col["n_patients"]).cast(pl.String).alias("n_patients"),
        pl.col("term").cast(pl.String),
        pl.col(col["n_any"]).cast(pl.String).alias("n_any"),
        pl.col(col["pct_any"]).cast(pl.Float64).alias("pct_any"),
        pl.col(col["n_g3"]).cast(pl.String).alias("n_g3"),
        pl.col(col["pct_g3"]).cast(pl.Float64).alias("pct_g3"),
    ).with_row_index("_pos")
    first = rows.group_by("group").agg(pl.col("_pos").min().alias("_group_pos"))
    # published rates first (largest first), then withheld or "<11" ones; terms no patient had
    # in this group (published 0) are not drawn
    absent = pl.col("n_any").str.strip_chars().is_in(["0", "0.0"])
    return (
        rows.join(first, on="group")
        .filter(~absent)
        .sort(
            ["_group_pos", "pct_any", "term"],
            descending=[False, True, False],
            nulls_last=True,
        )
        .group_by("group", maintain_order=True)
        .head(top)
        .drop("_pos", "_group_pos")
    )


def plot_adverse_events(
    adverse_events_summary: pl.DataFrame,
    *,
    top: int = 15,
    groups: list[str] | None = None,
    max_groups: int = 4,
    width: Literal["page", "column"] = "page",
) -> Figure:
    """Paired horizontal bars per term: % of patients with the event at any grade and at
    grade ≥ 3, one panel per group (``groups``, else the ``max_groups`` largest groups whose
    size is published, in table order); ``width``: 174 mm (page) or 85 mm (column).
    Withheld percentages (counts below the small-cell threshold) are written as the table's
    text (e.g. "<11") instead of a bar. Bars carry ``gid`` ``"ae-any-<group>"`` and
    ``"ae-g3-<group>"``."""
    bars = adverse_event_bars(adverse_events_summary, top=top)
    if bars.is_empty():
        raise NothingToDrawError("No adverse event was recorded during the analysed lines.")
    available = bars["group"].unique(maintain_order=True).to_list()
    if groups is not None:
        unknown = [g for g in groups if g not in available]
        check_parameter(
            not unknown,
            "groups",
            "plot_adverse_events",
            f"groups of the table ({', '.join(available)})",
            unknown,
        )
    chosen = list(groups) if groups is not None else _largest(bars, available, max_groups)
    if not chosen:
        raise NothingToDrawError(
            "Every group's size is withheld (fewer than the small-cell threshold): no panel "
            "to draw."
        )
    counts = [bars.filter(pl.col("group") == g).height for g in chosen] or [1]
    with figure_style():
        height = 20 + sum(6.5 * c + 10 for c in counts)
        fig = new_figure(width, height_mm=height)
        axes = fig.subplots(
            len(chosen) or 1, 1, squeeze=False, gridspec_kw={"height_ratios": counts}
        )[:, 0]
        fig.subplots_adjust(
            left=0.30 if width == "page" else 0.50,
            right=0.97 if width == "page" else 0.93,
            top=1 - 8 / height,
            bottom=18 / height,
            hspace=12 / (sum(6.5 * c for c in counts) / len(counts)),
        )
        drawn = bars.filter(pl.col("group").is_in(chosen))
        limit = max(5.0, float(drawn["pct_any"].max() or 0.0))
        headings = [
            _panel(ax, bars.filter(pl.col("group") == group), group, limit * 1.15)
            for ax, group in zip(axes, chosen, strict=False)
        ]
        axes[-1].set_xlabel("Patients with the event (%)")
        fit_left_margin(fig, list(axes))
        for ax, heading in zip(axes, headings, strict=False):
            # each panel's heading starts where the term labels may start, so a long group
            # name stays on the canvas
            heading.set_x((mm(1.5) * fig.dpi - ax.bbox.x0) / ax.bbox.width)
        fig.legend(
            handles=[
                Patch(color=ANY_GRADE, label="any grade"),
                Patch(color=GRADE_3_PLUS, label="grade ≥ 3"),
            ],
            loc="lower center",
            ncol=2,
            frameon=False,
            bbox_to_anchor=(0.5, 0.0),
        )
    return fig


def _largest(bars: pl.DataFrame, available: list[str], k: int) -> list[str]:
    """The ``k`` largest groups with a published size, in table order."""
    sizes = bars.group_by("group", maintain_order=True).agg(
        pl.col("n_patients").first().cast(pl.Int64, strict=False).alias("n")
    )
    keep = set(
        sizes.drop_nulls("n").sort("n", descending=True, maintain_order=True).head(k)["group"]
    )
    return [g for g in available if g in keep]


def _panel(ax, rows: pl.DataFrame, group: str, limit: float) -> Text:  # type: ignore[no-untyped-def]
    """One group's bars; returns the panel's heading."""
    y = list(range(rows.height))
    any_pct = rows["pct_any"].fill_null(0.0).to_list()
    g3_pct = rows["pct_g3"].fill_null(0.0).to_list()
    ax.barh([v - 0.19 for v in y], any_pct, height=0.38, color=ANY_GRADE, gid=f"ae-any-{group}")
    ax.barh([v + 0.19 for v in y], g3_pct, height=0.38, color=GRADE_3_PLUS, gid=f"ae-g3-{group}")
    for v, row in zip(y, rows.iter_rows(named=True), strict=True):
        for offset, pct, n in (
            (-0.19, row["pct_any"], row["n_any"]),
            (0.19, row["pct_g3"], row["n_g3"]),
        ):
            text = f"{pct:.1f}" if pct is not None else (n or "withheld")
            ax.text(
                (pct or 0.0) + limit * 0.01, v + offset, text, va="center", fontsize=7, color=BLACK
            )
    ax.set_yticks(y, [wrap_label(t, TERM_CHARS) for t in rows["term"].to_list()])
    ax.set_ylim(rows.height - 0.5, -0.6)
    ax.set_xlim(0, limit)
    n_text = rows["n_patients"][0] if rows.height else ""
    heading = ax.set_title(
        group_label(group, n_text),
        loc="left",
        fontsize=8,
    )
    ax.grid(True, axis="x", color=GRID, lw=0.5)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    return heading
