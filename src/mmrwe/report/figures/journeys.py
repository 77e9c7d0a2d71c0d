"""Patient journeys: the swimmer plot of a sample of patients and one patient's M-protein course.

Both show single patients, so both refuse to draw unless ``allow_patient_level`` is true (the
run turns it on for simulated data; for real data the study must enable it). Patients are shown
as "patient 1 … n" or "Patient A", never by their identifier. Time is in months
(days / 30.4375) from the start of each patient's first line in the data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from mmrwe.errors import check_parameter, require_columns
from mmrwe.report.figures.style import (
    BLACK,
    GRID,
    REGIMEN_CLASS_COLOURS,
    RESPONSE_COLOURS,
    RESPONSE_ORDER,
    NothingToDrawError,
    check_patient_level,
    figure_style,
    new_figure,
    regimen_class,
)

DAYS_PER_MONTH = 30.4375
_LINE_COLUMNS = ("patient_id", "line", "start_date", "end_date", "end_reason", "drug_classes")
_RESPONSE_COLUMNS = ("patient_id", "line", "first_response_date", "progression_date")


def _months(expr: pl.Expr) -> pl.Expr:
    return expr.dt.total_days().cast(pl.Float64) / DAYS_PER_MONTH


def sample_patients(
    lines: pl.DataFrame, *, patients: Sequence[str] | None = None, n: int = 30, seed: int = 0
) -> list[str]:
    """The patients of a swimmer plot: ``patients`` as given, else ``n`` drawn at random
    (``seed``) from the sorted identifiers, so the same data and seed give the same sample."""
    ids = np.sort(lines["patient_id"].unique().to_numpy())
    if patients is not None:
        unknown = sorted(set(patients) - set(ids.tolist()))
        check_parameter(
            not unknown,
            "patients",
            "plot_swimmer",
            "identifiers of the lines table",
            f"{len(unknown)} unknown identifier(s)",
        )
        return list(dict.fromkeys(patients))
    check_parameter(n >= 1, "n", "plot_swimmer", "an int >= 1", n)
    rng = np.random.default_rng(seed)
    take = rng.choice(ids.size, size=min(n, ids.size), replace=False)
    return ids[np.sort(take)].tolist()


def swimmer_data(
    lines: pl.DataFrame,
    line_response: pl.DataFrame,
    *,
    patients: Sequence[str] | None = None,
    n: int = 30,
    seed: int = 0,
) -> pl.DataFrame:
    """One row per sampled patient and line: ``row`` (1 = top: the longest follow-up),
    ``label`` ("patient 1" …), ``line``, ``regimen_class``, ``start_month``, ``end_month``,
    ``response_month`` (first ≥ PR), ``progression_month``, ``last`` (the patient's last line),
    ``end_reason``. Months from the start of the patient's first line in the data; a line ends
    where the next begins (its end date + 1 day)."""
    require_columns(lines, "lines", _LINE_COLUMNS, "plot_swimmer")
    require_columns(line_response, "line_response", _RESPONSE_COLUMNS, "plot_swimmer")
    chosen = sample_patients(lines, patients=patients, n=n, seed=seed)
    keep = pl.DataFrame({"patient_id": chosen}, schema={"patient_id": pl.String})
    origin = pl.col("start_date").min().over("patient_id")
    data = (
        lines.join(keep, on="patient_id", how="semi")
        .join(line_response.select(_RESPONSE_COLUMNS), on=["patient_id", "line"], how="left")
        .with_columns(
            regimen_class=regimen_class(pl.col("drug_classes")),
            start_month=_months(pl.col("start_date") - origin),
            end_month=_months(pl.col("end_date") + pl.duration(days=1) - origin),
            response_month=_months(pl.col("first_response_date") - origin),
            progression_month=_months(pl.col("progression_date") - origin),
            last=pl.col("line") == pl.col("line").max().over("patient_id"),
        )
    )
    order = (
        data.group_by("patient_id")
        .agg(pl.col("end_month").max().alias("span"))
        .sort(["span", "patient_id"], descending=[True, False])
        .with_row_index("row", offset=1)
        .with_columns(
            label=pl.format("patient {}", pl.col("row")), row=pl.col("row").cast(pl.Int64)
        )
    )
    return (
        data.join(order.select("patient_id", "row", "label"), on="patient_id")
        .sort("row", "line")
        .select(
            "row",
            "label",
            "line",
            "regimen_class",
            "start_month",
            "end_month",
            "response_month",
            "progression_month",
            "last",
            "end_reason",
            "patient_id",
        )
    )


def plot_swimmer(
    lines: pl.DataFrame,
    line_response: pl.DataFrame,
    *,
    patients: Sequence[str] | None = None,
    n: int = 30,
    seed: int = 0,
    allow_patient_level: bool = False,
    analysed: pl.DataFrame | None = None,
) -> Figure:
    """Swimmer plot: one bar per patient, one segment per line coloured by regimen class
    (:func:`~mmrwe.report.figures.style.regimen_class`), a circle at the first response (≥ PR),
    a cross at progression, a bar at death and an arrow when alive at last contact. With
    ``analysed`` (patient_id, line: the study's analysed lines), the analysed lines are outlined
    when some drawn lines are not analysed (e.g. the Isa-Pd line among a patient's lines).

    Each row's segments are one collection with ``gid`` ``"swimmer-row-<k>"``; the markers are
    lines with ``gid`` ``"swimmer-response"``, ``-progression``, ``-death`` and ``-alive``; the
    outlines collections with ``gid`` ``"swimmer-analysed"``.
    """
    check_patient_level(allow_patient_level, "swimmer plot")
    data = swimmer_data(lines, line_response, patients=patients, n=n, seed=seed)
    if data.is_empty():
        raise NothingToDrawError("The lines table has no line to draw a swimmer plot.")
    outlined = _analysed_segments(data, analysed)
    n_rows = int(data["row"].max() or 0)
    with figure_style():
        height = max(18 + 4.2 * n_rows, 62.0)  # room for the legend
        fig = new_figure("page", height_mm=height)
        ax = fig.add_axes((0.14, 13 / height, 0.62, 1 - 16 / height))
        _draw_swimmer(ax, data)
        for row, start, width in outlined.rows() if outlined is not None else []:
            ax.broken_barh(
                [(start, width)],
                (row - 0.35, 0.7),
                facecolors="none",
                edgecolor=BLACK,
                linewidth=1.1,
                gid="swimmer-analysed",
            )
        ax.set_ylim(n_rows + 0.6, 0.4)
        ax.set_yticks(range(1, n_rows + 1), [f"patient {k}" for k in range(1, n_rows + 1)])
        ax.set_xlim(left=0)
        ax.set_xlabel("Months from the start of the first line in the data")
        ax.grid(True, axis="x", color=GRID, lw=0.5)
        ax.set_axisbelow(True)
        ax.spines[["top", "right"]].set_visible(False)
        present = [c for c in REGIMEN_CLASS_COLOURS if c in set(data["regimen_class"])]
        handles = [Patch(color=REGIMEN_CLASS_COLOURS[c], label=c) for c in present]
        if outlined is not None:
            handles.append(Patch(facecolor="white", edgecolor=BLACK, label="analysed line"))
        handles += [
            Line2D([], [], ls="", marker="o", mfc="white", mec=BLACK, label="first response (≥PR)"),
            Line2D([], [], ls="", marker="X", mfc=BLACK, mec="white", label="progression"),
            Line2D([], [], ls="", marker="|", mec=BLACK, ms=8, label="death"),
            Line2D([], [], ls="", marker=">", mfc=BLACK, mec=BLACK, label="alive at last contact"),
        ]
        ax.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            frameon=False,
            title="Regimen class",
        )
    return fig


def _analysed_segments(data: pl.DataFrame, analysed: pl.DataFrame | None) -> pl.DataFrame | None:
    """The drawn segments of analysed lines (row, start_month, width), or None when every drawn
    line is analysed (nothing to tell apart) or ``analysed`` is not given."""
    if analysed is None:
        return None
    keys = analysed.select("patient_id", pl.col("line").cast(pl.Int64)).unique()
    marked = data.join(keys, on=["patient_id", "line"], how="semi")
    if marked.height == data.height:
        return None
    return marked.select("row", "start_month", width=pl.col("end_month") - pl.col("start_month"))


def _draw_swimmer(ax, data: pl.DataFrame) -> None:  # type: ignore[no-untyped-def]
    for (row,), seg in data.group_by("row", maintain_order=True):
        start = seg["start_month"].to_numpy()
        width = seg["end_month"].to_numpy() - start
        colours = [REGIMEN_CLASS_COLOURS[c] for c in seg["regimen_class"]]
        ax.broken_barh(
            list(zip(start, width, strict=True)),
            (row - 0.35, 0.7),
            facecolors=colours,
            edgecolor="white",
            linewidth=0.5,
            gid=f"swimmer-row-{row}",
        )
    resp = data.drop_nulls("response_month")
    ax.plot(
        resp["response_month"],
        resp["row"],
        ls="",
        marker="o",
        ms=4.2,
        mfc="white",
        mec=BLACK,
        mew=0.8,
        gid="swimmer-response",
    )
    prog = data.drop_nulls("progression_month")
    ax.plot(
        prog["progression_month"],
        prog["row"],
        ls="",
        marker="X",
        ms=5,
        mfc=BLACK,
        mec="white",
        mew=0.5,
        gid="swimmer-progression",
    )
    last = data.filter(pl.col("last"))
    dead = last.filter(pl.col("end_reason") == "death")
    ax.plot(
        dead["end_month"],
        dead["row"],
        ls="",
        marker="|",
        ms=8,
        mec=BLACK,
        mew=1.4,
        gid="swimmer-death",
    )
    alive = last.filter(pl.col("end_reason") != "death")
    ax.plot(
        alive["end_month"] + 0.8,
        alive["row"],
        ls="",
        marker=">",
        ms=4,
        mfc=BLACK,
        mec=BLACK,
        gid="swimmer-alive",
    )


_COMPONENTS = (
    ("serum_m", "Serum M-protein\n(g/dL)"),
    ("urine_m", "Urine M-protein\n(mg/24 h)"),
    ("dflc", "dFLC\n(mg/L)"),
)


def plot_trajectory(
    assessments: pl.DataFrame,
    lines: pl.DataFrame,
    patient: str,
    *,
    allow_patient_level: bool = False,
    label: str = "Patient A",
) -> Figure:
    """One patient's serum M-protein, urine M-protein and dFLC as measured (one panel each,
    components never measured omitted), the lines shaded and named by regimen, each assessment's
    IMWG category as the marker colour (baseline assessments open), CAR-T infusions dashed.
    Shown as ``label``.
    """
    check_patient_level(allow_patient_level, "M-protein trajectory")
    require_columns(
        assessments,
        "assessments",
        ("patient_id", "line", "date", "role", "category", *(c for c, _ in _COMPONENTS)),
        "plot_trajectory",
    )
    require_columns(
        lines,
        "lines",
        ("patient_id", "line", "start_date", "end_date", "regimen"),
        "plot_trajectory",
    )
    own = lines.filter(pl.col("patient_id") == patient).sort("line")
    check_parameter(
        own.height > 0,
        "patient",
        "plot_trajectory",
        "a patient_id present in the lines table",
        "an identifier with no lines",
    )
    origin = own["start_date"].min()
    points = (
        assessments.filter(pl.col("patient_id") == patient)
        .with_columns(month=_months(pl.col("date") - pl.lit(origin)))
        # an assessment that is one line's last and the next line's baseline: keep the on-line row
        .sort("date", pl.col("role") == "baseline")
        .unique("date", keep="first", maintain_order=True)
    )
    shown = [(c, name) for c, name in _COMPONENTS if points[c].drop_nulls().len() > 0]
    spans = own.with_columns(
        start=_months(pl.col("start_date") - pl.lit(origin)),
        end=_months(pl.col("end_date") + pl.duration(days=1) - pl.lit(origin)),
    )
    if "infusion_date" in spans.columns:
        spans = spans.with_columns(infusion_month=_months(pl.col("infusion_date") - pl.lit(origin)))
    panels = max(len(shown), 1)
    height = 34 + 30 * panels
    left = min(0.0, float(points["month"].min() or 0.0)) - 0.5
    right = float(spans["end"].max())
    with figure_style():
        fig = new_figure("page", height_mm=height)
        fig.subplots_adjust(
            left=0.14, right=0.98, top=1 - 13 / height, bottom=27 / height, hspace=0.15
        )
        axes = fig.subplots(panels, 1, sharex=True, squeeze=False)[:, 0]
        for ax in axes:
            _shade_lines(ax, spans)
        for ax, (column, name) in zip(axes, shown, strict=False):
            _draw_component(ax, points.drop_nulls(column), column, name)
        if not shown:
            axes[0].text(
                0.5, 0.5, "no M-protein or FLC measured", ha="center", transform=axes[0].transAxes
            )
        axes[-1].set_xlim(left, right)
        axes[-1].set_xlabel("Months from the start of the first line in the data")
        _name_lines(fig, axes[0], spans, right - left)
        axes[0].set_title(label, loc="left", pad=12)
        present = [c for c in RESPONSE_ORDER if c in set(points["category"].drop_nulls())]
        handles = [Line2D([], [], ls="", marker="o", mfc="white", mec=BLACK, label="baseline")]
        handles += [
            Line2D([], [], ls="", marker="o", mfc=RESPONSE_COLOURS[c], mec=BLACK, label=c)
            for c in present
        ]
        fig.legend(
            handles=handles,
            loc="lower left",
            ncol=len(handles),
            frameon=False,
            title="IMWG category at each assessment",
            alignment="left",
            bbox_to_anchor=(0.01, 5 / height),
        )
    return fig


def _name_lines(fig: Figure, ax, spans: pl.DataFrame, width: float) -> None:  # type: ignore[no-untyped-def]
    """``L<n>`` above each line (with the regimen where it fits), all names in a footer."""
    for start, end, line, regimen in spans.select("start", "end", "line", "regimen").rows():
        text = f"L{line} {regimen}"
        # about 1.4 mm per character at 7 pt against ~150 mm of axis
        if (end - start) / width * 150 < 1.4 * len(text):
            text = f"L{line}"
        ax.text(
            (start + end) / 2,
            1.01,
            text,
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=7,
            clip_on=False,
        )
    names = "; ".join(
        f"L{line} {regimen}" for line, regimen in spans.select("line", "regimen").rows()
    )
    fig.text(0.99, 0.01, f"Lines: {names}", ha="right", va="bottom", fontsize=7, wrap=True)


def _shade_lines(ax, spans: pl.DataFrame) -> None:  # type: ignore[no-untyped-def]
    for i, (start, end) in enumerate(spans.select("start", "end").rows()):
        ax.axvspan(start, end, color="#F0F0F0" if i % 2 == 0 else "#FFFFFF", lw=0, zorder=0)
        ax.axvline(start, color="#BBBBBB", lw=0.6, zorder=0.5)
    if "infusion_month" in spans.columns:
        for month in spans["infusion_month"].drop_nulls():
            ax.axvline(month, color=BLACK, lw=0.8, ls="--", zorder=0.5)


def _draw_component(ax, pts: pl.DataFrame, column: str, name: str) -> None:  # type: ignore[no-untyped-def]
    x, y = pts["month"].to_numpy(), pts[column].to_numpy()
    ax.plot(x, y, color="#555555", lw=0.9, zorder=2)
    colours = [
        "white" if cat is None else RESPONSE_COLOURS[cat] for cat in pts["category"].to_list()
    ]
    ax.scatter(
        x,
        y,
        c=colours,
        edgecolors=BLACK,
        linewidths=0.5,
        s=16,
        zorder=3,
        gid=f"trajectory-{column}",
    )
    ax.set_ylabel(name)
    ax.set_ylim(bottom=0)
    ax.grid(True, axis="y", color=GRID, lw=0.5)
    ax.spines[["top", "right"]].set_visible(False)
