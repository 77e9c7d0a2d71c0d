"""Shared look of every figure: palette, sizes, fonts, savers, and the patient-level guard.

Sizes follow journal column widths (85 mm single, 174 mm double column) with text no smaller
than 7 pt at print size. Colours are the Okabe–Ito palette, distinguishable with the common
colour-vision deficiencies (Okabe & Ito, 2008, "Color Universal Design"); response categories
use a sequential blue scale (Brewer, ColorBrewer "Blues") for sCR → PR, then orange (MR),
grey (SD), vermillion (PD) and light grey (NE).

Figures are built with :class:`matplotlib.figure.Figure` on their own Agg canvas (no pyplot
state, so nothing accumulates in long runs, and importing this package never changes the
user's matplotlib backend). SVG keeps text as text (``svg.fonttype = "none"``): the HTML report
renders it with the system font, and tests can read what a figure says.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import matplotlib
import polars as pl
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mmrwe.errors import MmrweError
from mmrwe.io.schema import RESPONSE_CODES

MM_PER_INCH = 25.4
#: single-column and double-column print widths (mm)
COLUMN_MM = 85.0
PAGE_MM = 174.0
#: smallest text at print size (pt)
MIN_FONT_PT = 7.0

#: Okabe–Ito colours, in the order used for groups (black last: a single curve without groups)
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442")
BLACK = "#000000"
GRID = "#DDDDDD"

#: IMWG categories, best first (Kumar 2016)
RESPONSE_ORDER = RESPONSE_CODES
RESPONSE_COLOURS = {
    "sCR": "#08306B",
    "CR": "#2171B5",
    "VGPR": "#6BAED6",
    "PR": "#C6DBEF",
    "MR": "#E69F00",
    "SD": "#999999",
    "PD": "#D55E00",
    "NE": "#DDDDDD",
}

#: Regimen classes of the swimmer and sequence figures, in legend order (see regimen_class)
REGIMEN_CLASS_COLOURS = {
    "anti-CD38 + IMiD": "#0072B2",
    "anti-CD38 + PI": "#56B4E9",
    "anti-CD38, other": "#004466",
    "PI + IMiD": "#009E73",
    "PI": "#E69F00",
    "IMiD": "#F0E442",
    "CAR-T": "#D55E00",
    "bispecific": "#CC79A7",
    "BCMA ADC": "#882255",
    "other": "#999999",
}
REGIMEN_CLASSES = tuple(REGIMEN_CLASS_COLOURS)

#: rcParams of every figure (text ≥ 7 pt at print size; system sans-serif fonts)
RC: dict[str, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica", "Liberation Sans"],
    "font.size": 8.0,
    "axes.titlesize": 8.5,
    "axes.labelsize": 8.0,
    "xtick.labelsize": 7.0,
    "ytick.labelsize": 7.0,
    "legend.fontsize": 7.0,
    "legend.title_fontsize": 7.0,
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "lines.linewidth": 1.2,
    "svg.fonttype": "none",
    "svg.hashsalt": "mmrwe",
    "path.simplify": True,
}


class PatientLevelFigureError(MmrweError):
    """A figure that shows single patients was asked for when the study does not allow it."""


class NothingToDrawError(MmrweError, ValueError):
    """The tables hold nothing the figure can show (e.g. no evaluable patient-line)."""


def check_patient_level(allowed: bool, figure: str) -> None:
    """Raise :class:`PatientLevelFigureError` unless patient-level figures are allowed."""
    if not allowed:
        raise PatientLevelFigureError(
            f"The {figure} shows individual patients and patient-level figures are off for this "
            "run (the default for real data). To draw it, set patient_level_figures = true in "
            "the [study] section of the study file, or pass allow_patient_level=True, after "
            "checking that your data-use agreement permits patient-level displays."
        )


def mm(value: float) -> float:
    """Millimetres to inches."""
    return value / MM_PER_INCH


@contextmanager
def figure_style() -> Iterator[None]:
    """The rcParams of every mmrwe figure, for drawing and saving."""
    with matplotlib.rc_context(RC):
        yield


def new_figure(
    width: Literal["column", "page"] | float = "page", height_mm: float = 90.0
) -> Figure:
    """An empty figure ``width`` wide (``"column"`` 85 mm, ``"page"`` 174 mm, or mm)."""
    width_mm = {"column": COLUMN_MM, "page": PAGE_MM}.get(width, width)  # type: ignore[call-overload]
    return agg_figure(figsize=(mm(float(width_mm)), mm(height_mm)), dpi=150)


def wrap_label(text: str, width: int) -> str:
    """``text`` on lines of at most ``width`` characters, broken between words only (a
    hyphenated word such as "cell-associated" stays whole)."""
    return "\n".join(textwrap.wrap(text, width, break_on_hyphens=False)) or text


def fit_left_margin(fig: Figure, axes: Sequence[Axes], *, pad_mm: float = 1.5) -> None:
    """Move the left edges of ``axes`` right (their right edges stay) until every y tick label
    and y-axis label starts at least ``pad_mm`` inside the figure: long group names and
    adverse-event terms are never cut off at the left edge."""
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    starts = [
        t.get_window_extent(renderer).x0
        for ax in axes
        for t in (*ax.get_yticklabels(), ax.yaxis.label)
        if t.get_visible() and t.get_text().strip()
    ]
    if not starts:
        return
    shift = (mm(pad_mm) * fig.dpi - min(starts)) / fig.bbox.width
    if shift <= 0:
        return
    for ax in axes:
        box = ax.get_position()
        ax.set_position((box.x0 + shift, box.y0, box.width - shift, box.height))


def agg_figure(**kwargs: Any) -> Figure:
    """A :class:`~matplotlib.figure.Figure` (``kwargs`` as its constructor's) on its own Agg
    canvas: drawable and measurable (text extents) without pyplot or a global backend."""
    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def save_png(fig: Figure, path: Path | str, *, dpi: int = 300) -> Path:
    """Write ``fig`` as PNG at ``dpi`` with fixed metadata (same data, same bytes)."""
    path = Path(path)
    with figure_style():
        fig.savefig(path, format="png", dpi=dpi, metadata={"Software": None})
    return path


def save_svg(fig: Figure, path: Path | str) -> Path:
    """Write ``fig`` as SVG with text kept as text and no date (same data, same bytes)."""
    path = Path(path)
    with figure_style():
        fig.savefig(path, format="svg", metadata={"Date": None, "Creator": "mmrwe"})
    return path


def save_figure(fig: Figure, stem: Path | str) -> tuple[Path, Path]:
    """Write ``stem.png`` and ``stem.svg``; return both paths."""
    stem = Path(stem)
    return save_png(fig, stem.with_suffix(".png")), save_svg(fig, stem.with_suffix(".svg"))


def svg_text(fig: Figure) -> str:
    """The figure as SVG markup (text kept as text), e.g. to embed in HTML or to test."""
    import io

    buffer = io.StringIO()
    with figure_style():
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": "mmrwe"})
    return buffer.getvalue()


def regimen_class(drug_classes: pl.Expr) -> pl.Expr:
    """The regimen class of a line from its ``;``-joined ``drug_classes`` (first rule that holds).

    1. CAR-T in the line → "CAR-T" (bridging drugs do not change it);
    2. bispecific → "bispecific"; 3. BCMA ADC → "BCMA ADC";
    4. anti-CD38 with an IMiD (with or without a PI: D-Rd, DPd, Isa-Pd, D-VRd) → "anti-CD38 + IMiD";
    5. anti-CD38 with a PI (D-Vd, D-Kd, Isa-Kd) → "anti-CD38 + PI";
    6. any other anti-CD38 line (monotherapy) → "anti-CD38, other";
    7. PI with an IMiD (VRd, KRd, IRd, PVd) → "PI + IMiD";
    8. PI without an IMiD (Vd, Kd, CyBorD, VMP) → "PI";
    9. IMiD without a PI (Rd, Pd, CTd) → "IMiD";
    10. anything else (anti-SLAMF7 with an IMiD counts here too: Elo-Rd, Elo-Pd; selinexor,
        venetoclax, chemotherapy, investigational) → "other".
    Steroids, alkylators and anthracyclines do not change the class.
    """
    classes = drug_classes.fill_null("").str.split(";")

    def has(name: str) -> pl.Expr:
        return classes.list.contains(name)

    anti_cd38, imid, pi = has("anti-CD38"), has("IMiD"), has("PI")
    return (
        pl.when(has("CAR-T"))
        .then(pl.lit("CAR-T"))
        .when(has("bispecific"))
        .then(pl.lit("bispecific"))
        .when(has("BCMA ADC"))
        .then(pl.lit("BCMA ADC"))
        .when(anti_cd38 & imid)
        .then(pl.lit("anti-CD38 + IMiD"))
        .when(anti_cd38 & pi)
        .then(pl.lit("anti-CD38 + PI"))
        .when(anti_cd38)
        .then(pl.lit("anti-CD38, other"))
        .when(has("anti-SLAMF7"))
        .then(pl.lit("other"))
        .when(pi & imid)
        .then(pl.lit("PI + IMiD"))
        .when(pi)
        .then(pl.lit("PI"))
        .when(imid)
        .then(pl.lit("IMiD"))
        .otherwise(pl.lit("other"))
    )


def group_label(group: str, n_text: str) -> str:
    """A group with its size, e.g. line 2 (n = 404); Isa-Pd (n <11) when it is suppressed."""
    n_text = n_text.strip()
    return f"{group} (n = {n_text})" if n_text.isdigit() else f"{group} (n {n_text})"
