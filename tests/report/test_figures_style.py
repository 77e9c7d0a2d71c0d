"""Shared figure style: regimen classes, palette, legibility, deterministic savers."""

from __future__ import annotations

import polars as pl
import pytest
from matplotlib.text import Text

from mmrwe.report.figures.by_line import plot_outcomes_by_line
from mmrwe.report.figures.journeys import plot_swimmer, plot_trajectory
from mmrwe.report.figures.response import plot_response_distribution, plot_waterfall
from mmrwe.report.figures.safety import plot_adverse_events
from mmrwe.report.figures.sequences import plot_sequences
from mmrwe.report.figures.style import (
    COLUMN_MM,
    MIN_FONT_PT,
    PAGE_MM,
    REGIMEN_CLASS_COLOURS,
    RESPONSE_COLOURS,
    NothingToDrawError,
    PatientLevelFigureError,
    check_patient_level,
    regimen_class,
    save_figure,
    svg_text,
)
from tests.report import test_figures_by_line as by_line
from tests.report import test_figures_response as resp
from tests.report import test_figures_safety as safety
from tests.report import test_figures_sequences as seq
from tests.report.figure_data import JOURNEY_LINES, JOURNEY_RESPONSE
from tests.report.test_figures_journeys import TRAJECTORY


@pytest.mark.parametrize(
    ("drug_classes", "expected", "why"),
    [
        ("IMiD;anti-CD38;steroid", "anti-CD38 + IMiD", "D-Rd, DPd, Isa-Pd"),
        ("IMiD;PI;anti-CD38;steroid", "anti-CD38 + IMiD", "D-VRd: a quadruplet counts with IMiD"),
        ("PI;anti-CD38;steroid", "anti-CD38 + PI", "D-Vd, D-Kd, Isa-Kd"),
        ("anti-CD38", "anti-CD38, other", "daratumumab monotherapy"),
        ("IMiD;PI;steroid", "PI + IMiD", "VRd, KRd, IRd"),
        ("IMiD;PI;alkylator;steroid", "PI + IMiD", "VRd with ASCT conditioning"),
        ("PI;alkylator;steroid", "PI", "CyBorD, VMP: alkylators do not change the class"),
        ("IMiD;steroid", "IMiD", "Rd, Pd"),
        ("CAR-T;PI;alkylator;steroid", "CAR-T", "ide-cel with bortezomib bridging"),
        ("bispecific", "bispecific", "teclistamab"),
        ("BCMA ADC", "BCMA ADC", "belantamab mafodotin"),
        ("IMiD;anti-SLAMF7;steroid", "other", "Elo-Pd"),
        ("XPO1;steroid", "other", "selinexor-dexamethasone"),
        (None, "other", "no anti-myeloma class recorded"),
    ],
)
def test_regimen_class(drug_classes, expected, why):
    got = pl.select(regimen_class(pl.lit(drug_classes, pl.String))).item()
    assert got == expected, why


def test_palettes_are_complete_and_distinct():
    assert len(set(REGIMEN_CLASS_COLOURS.values())) == len(REGIMEN_CLASS_COLOURS)
    assert len(set(RESPONSE_COLOURS.values())) == len(RESPONSE_COLOURS) == 8


def test_patient_level_guard():
    check_patient_level(True, "swimmer plot")
    with pytest.raises(PatientLevelFigureError, match="data-use agreement"):
        check_patient_level(False, "swimmer plot")


FIGURES = {
    "swimmer": lambda: plot_swimmer(JOURNEY_LINES, JOURNEY_RESPONSE, allow_patient_level=True),
    "trajectory": lambda: plot_trajectory(
        TRAJECTORY, JOURNEY_LINES, "MM-LONG-17", allow_patient_level=True
    ),
    "sequences": lambda: plot_sequences(seq.LINES),
    "response": lambda: plot_response_distribution(resp._rates()),
    "waterfall": lambda: plot_waterfall(
        resp.WATERFALL_ASSESSMENTS,
        resp.WATERFALL_RESPONSE,
        resp.ANALYSIS,
        allow_patient_level=True,
        threshold=0,
    ),
    "adverse_events": lambda: plot_adverse_events(safety.AE),
}


COLUMN_FIGURES = {
    "outcomes_by_line": lambda: plot_outcomes_by_line(by_line.SUMMARY),
    "response": lambda: plot_response_distribution(resp._rates(), width="column"),
    "waterfall": lambda: plot_waterfall(
        resp.WATERFALL_ASSESSMENTS,
        resp.WATERFALL_RESPONSE,
        resp.ANALYSIS,
        allow_patient_level=True,
        threshold=0,
        width="column",
    ),
    "adverse_events": lambda: plot_adverse_events(safety.AE, width="column"),
}


#: the shipped studies' own names (belantamab, ide-cel) and the longest MedDRA term a CAR-T
#: report lists: the labels that were cut off at the figures' left edge
LONG_GROUP = "Belantamab mafodotin in routine care"
LONG_TERM = "Immune effector cell-associated neurotoxicity syndrome"


def _long_names_rates() -> pl.DataFrame:
    return resp._rates().with_columns(
        pl.when(pl.col("group") == "line 1")
        .then(pl.lit(LONG_GROUP))
        .otherwise(pl.col("group"))
        .alias("group")
    )


def _long_names_ae() -> pl.DataFrame:
    return safety.AE.with_columns(
        pl.col("term").replace({"infection": LONG_TERM}),
        pl.col("group").replace({"Kd": "Ide-cel as standard of care"}),
    )


LONG_NAME_FIGURES = {
    "response": lambda width: plot_response_distribution(_long_names_rates(), width=width),
    "adverse_events": lambda width: plot_adverse_events(_long_names_ae(), width=width),
}


def _outside_canvas(fig) -> list[tuple[str, tuple[int, ...]]]:
    """Visible texts whose drawn box leaves the figure (1 px tolerance)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # lays out legends and ticks
    renderer = canvas.get_renderer()
    bounds = fig.bbox
    undrawn = set()  # tick labels of ticks outside the axis limits are not drawn
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks():
                if not lo - 1e-9 <= tick.get_loc() <= hi + 1e-9:
                    undrawn |= {id(tick.label1), id(tick.label2)}
    outside = []
    for t in fig.findobj(Text):
        if not (t.get_text().strip() and t.get_visible()) or id(t) in undrawn:
            continue
        box = t.get_window_extent(renderer)
        if box.x0 < -1 or box.y0 < -1 or box.x1 > bounds.x1 + 1 or box.y1 > bounds.y1 + 1:
            outside.append((t.get_text(), tuple(round(v) for v in box.extents)))
    return outside


@pytest.mark.parametrize(
    ("name", "width"), [(n, w) for n in sorted(LONG_NAME_FIGURES) for w in ("page", "column")]
)
def test_long_group_names_and_terms_are_not_cut_off(name, width):
    """The ide-cel and belantamab reports showed 'odotin in routine care (n <11)' and
    'r cell-associated neurotoxicity syndrome': labels must lie inside the canvas, whole."""
    fig = LONG_NAME_FIGURES[name](width)
    assert _outside_canvas(fig) == []
    labels = " ".join(
        " ".join(t.get_text().split()) for ax in fig.axes for t in ax.get_yticklabels()
    )
    shown = LONG_GROUP if name == "response" else LONG_TERM
    assert " ".join(shown.split()) in labels.replace("- ", "-")


@pytest.mark.parametrize(
    ("name", "width"),
    [(n, "page") for n in sorted(FIGURES)] + [(n, "column") for n in sorted(COLUMN_FIGURES)],
)
def test_figures_fit_the_width_and_text_is_at_least_7_pt(name, width):
    fig = (FIGURES if width == "page" else COLUMN_FIGURES)[name]()
    assert fig.get_figwidth() * 25.4 == pytest.approx(PAGE_MM if width == "page" else COLUMN_MM)
    texts = [t for t in fig.findobj(Text) if t.get_text().strip() and t.get_visible()]
    assert texts
    small = [(t.get_text(), t.get_fontsize()) for t in texts if t.get_fontsize() < MIN_FONT_PT]
    assert small == []
    # nothing is cut off at the figure's edges
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # lays out legends and ticks
    renderer = canvas.get_renderer()
    bounds = fig.bbox
    outside = []
    for t in texts:
        box = t.get_window_extent(renderer)
        if box.x0 < -1 or box.y0 < -1 or box.x1 > bounds.x1 + 1 or box.y1 > bounds.y1 + 1:
            outside.append((t.get_text(), tuple(round(v) for v in box.extents)))
    assert outside == []


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_savers_are_deterministic_and_keep_text(name, tmp_path):
    first = (
        save_figure(FIGURES[name](), tmp_path / "a" / name)
        if (tmp_path / "a").mkdir() is None
        else None
    )
    second = (
        save_figure(FIGURES[name](), tmp_path / "b" / name)
        if (tmp_path / "b").mkdir() is None
        else None
    )
    for one, two in zip(first, second, strict=True):
        assert one.read_bytes() == two.read_bytes()
    svg = second[1].read_text()
    assert "<text" in svg and "http://www.w3.org/2000/svg" in svg
    assert "<dc:date>" not in svg
    assert svg == svg_text(FIGURES[name]())


@pytest.mark.parametrize(
    "draw",
    [
        lambda: plot_swimmer(JOURNEY_LINES.clear(), JOURNEY_RESPONSE, allow_patient_level=True),
        lambda: plot_sequences(seq.LINES.clear()),
        lambda: plot_response_distribution(resp._rates().clear()),
        lambda: plot_waterfall(
            resp.WATERFALL_ASSESSMENTS.clear(),
            resp.WATERFALL_RESPONSE,
            resp.ANALYSIS,
            allow_patient_level=True,
        ),
        lambda: plot_adverse_events(safety.AE.clear()),
    ],
    ids=["swimmer", "sequences", "response", "waterfall", "adverse_events"],
)
def test_empty_tables_say_there_is_nothing_to_draw(draw):
    with pytest.raises(NothingToDrawError):
        draw()
