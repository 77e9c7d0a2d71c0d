"""Swimmer and M-protein trajectory: content derived from hand-made tables, never pixels."""

from __future__ import annotations

import re

import numpy as np
import polars as pl
import pytest

from mmrwe.errors import InvalidDataError, ParameterError
from mmrwe.report.figures.journeys import (
    plot_swimmer,
    plot_trajectory,
    sample_patients,
    swimmer_data,
)
from mmrwe.report.figures.style import PatientLevelFigureError, svg_text
from tests.report.figure_data import (
    JOURNEY_IDS,
    JOURNEY_LINES,
    JOURNEY_RESPONSE,
    D,
    assessments_table,
    lines_table,
)

MONTH = 30.4375


def _by_gid(fig, prefix: str) -> dict:
    found = {}
    for artist in fig.axes[0].get_children():
        gid = artist.get_gid()
        if gid and gid.startswith(prefix):
            found[gid] = artist
    return found


@pytest.fixture(scope="module")
def swimmer():
    return plot_swimmer(JOURNEY_LINES, JOURNEY_RESPONSE, n=30, allow_patient_level=True)


def test_swimmer_rows_are_the_patients_longest_follow_up_first(swimmer):
    ax = swimmer.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["patient 1", "patient 2", "patient 3"]
    rows = _by_gid(swimmer, "swimmer-row-")
    # 900, 601 and 300 days of follow-up: the 3-line patient on top, then 2 lines, then 1
    assert {gid: len(c.get_paths()) for gid, c in rows.items()} == {
        "swimmer-row-1": 3,
        "swimmer-row-2": 2,
        "swimmer-row-3": 1,
    }


def test_swimmer_segments_start_and_end_at_the_lines_in_months(swimmer):
    row = _by_gid(swimmer, "swimmer-row-1")["swimmer-row-1"]
    extents = sorted((p.vertices[:, 0].min(), p.vertices[:, 0].max()) for p in row.get_paths())
    # lines 1–3 of MM-LONG-17: days 0–365, 365–608, 608–900 from 2018-01-01 (end date + 1 day)
    expected = [(0, 365), (365, 608), (608, 900)]
    np.testing.assert_allclose(np.array(extents), np.array(expected) / MONTH, atol=1e-9)


def test_swimmer_markers_follow_the_dates(swimmer):
    marks = _by_gid(swimmer, "swimmer-")
    response = marks["swimmer-response"]
    # first responses: 59, 410, 669 days (patient 1), 61 days (patient 3, from 2020-05-01)
    got = sorted(zip(response.get_ydata(), np.round(response.get_xdata() * MONTH), strict=True))
    assert got == [(1, 59), (1, 410), (1, 669), (3, 61)]
    assert sorted(marks["swimmer-progression"].get_ydata()) == [1, 1, 2, 2]
    assert sorted(marks["swimmer-death"].get_ydata()) == [2, 3]
    assert list(marks["swimmer-alive"].get_ydata()) == [1]


def test_swimmer_never_shows_an_identifier(swimmer):
    svg = svg_text(swimmer)
    assert "patient 1" in svg  # text is kept as text, so the check below can fail
    for pid in JOURNEY_IDS:
        assert pid not in svg
    assert not re.search(r"MM-[A-Z]+-\d+", svg)


def test_swimmer_draws_n_rows_from_a_seeded_sample():
    rows = [
        (f"ID{i:03d}", 1, D(2020, 1, 1), D(2020, 1, 1 + i % 27), "death", "Rd", "IMiD;steroid")
        for i in range(50)
    ]
    lines = lines_table(rows)
    empty = JOURNEY_RESPONSE.clear()
    fig = plot_swimmer(lines, empty, n=12, seed=3, allow_patient_level=True)
    assert len(fig.axes[0].get_yticklabels()) == 12
    assert len(_by_gid(fig, "swimmer-row-")) == 12
    assert sample_patients(lines, n=12, seed=3) == sample_patients(lines, n=12, seed=3)
    assert sample_patients(lines, n=12, seed=3) != sample_patients(lines, n=12, seed=4)
    assert len(set(sample_patients(lines, n=12, seed=3))) == 12


def test_swimmer_chosen_patients_and_unknown_ones():
    data = swimmer_data(JOURNEY_LINES, JOURNEY_RESPONSE, patients=["MM-SHORT-99"])
    assert data["label"].to_list() == ["patient 1"]
    assert data["regimen_class"].to_list() == ["anti-CD38 + PI"]
    with pytest.raises(ParameterError, match="'patients' parameter"):
        swimmer_data(JOURNEY_LINES, JOURNEY_RESPONSE, patients=["nobody"])


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: plot_swimmer(JOURNEY_LINES, JOURNEY_RESPONSE), "swimmer plot"),
        (lambda: plot_trajectory(TRAJECTORY, JOURNEY_LINES, "MM-LONG-17"), "M-protein trajectory"),
    ],
)
def test_patient_level_figures_refused_by_default(call, name):
    with pytest.raises(PatientLevelFigureError, match=f"{name}.*patient_level_figures = true"):
        call()


def test_missing_column_is_named():
    with pytest.raises(InvalidDataError, match=r"lacks the column.*drug_classes"):
        plot_swimmer(JOURNEY_LINES.drop("drug_classes"), JOURNEY_RESPONSE, allow_patient_level=True)


# MM-LONG-17: serum and dFLC measured (no urine); the 2018-12-31 assessment is line 1's last
# and line 2's baseline (two rows, one point).
TRAJECTORY = assessments_table(
    [
        ("MM-LONG-17", 1, D(2017, 12, 20), "baseline", 3.0, None, 150.0, None),
        ("MM-LONG-17", 1, D(2018, 2, 1), "on_line", 1.4, None, 60.0, "PR"),
        ("MM-LONG-17", 1, D(2018, 3, 1), "on_line", 0.2, None, None, "VGPR"),
        ("MM-LONG-17", 1, D(2018, 12, 31), "on_line", 1.1, None, 90.0, "PD"),
        ("MM-LONG-17", 2, D(2018, 12, 31), "baseline", 1.1, None, 90.0, None),
        ("MM-LONG-17", 2, D(2019, 3, 1), "on_line", 0.4, None, 20.0, "PR"),
        ("MM-MID-05", 1, D(2019, 4, 1), "on_line", None, 500.0, None, "SD"),
    ]
)


def test_trajectory_panels_points_and_labels():
    fig = plot_trajectory(TRAJECTORY, JOURNEY_LINES, "MM-LONG-17", allow_patient_level=True)
    panels = [ax.get_ylabel() for ax in fig.axes]
    assert panels == ["Serum M-protein\n(g/dL)", "dFLC\n(mg/L)"]  # urine never measured
    serum = next(c for c in fig.axes[0].collections if c.get_gid() == "trajectory-serum_m")
    flc = next(c for c in fig.axes[1].collections if c.get_gid() == "trajectory-dflc")
    # 5 distinct dates with serum, 4 with dFLC (the shared date is drawn once)
    assert serum.get_offsets().shape[0] == 5
    assert flc.get_offsets().shape[0] == 4
    np.testing.assert_allclose(
        serum.get_offsets()[:, 1], [3.0, 1.4, 0.2, 1.1, 0.4]
    )  # the on-line value at 2018-12-31, not a duplicate
    # the baseline 12 days before line 1 is kept, left of zero
    assert serum.get_offsets()[0, 0] == pytest.approx(-12 / MONTH)
    texts = {t.get_text() for ax in fig.axes for t in ax.texts}
    assert {"L1 VRd", "L2 DPd", "L3 ide-cel"} <= texts
    assert fig.axes[0].get_title(loc="left") == "Patient A"


def test_trajectory_never_shows_the_identifier():
    fig = plot_trajectory(TRAJECTORY, JOURNEY_LINES, "MM-LONG-17", allow_patient_level=True)
    svg = svg_text(fig)
    assert "Patient A" in svg
    assert "MM-LONG-17" not in svg


def test_trajectory_unknown_patient():
    with pytest.raises(ParameterError, match="'patient' parameter"):
        plot_trajectory(TRAJECTORY, JOURNEY_LINES, "nobody", allow_patient_level=True)


def test_swimmer_data_origin_is_the_first_line_in_the_data():
    data = swimmer_data(JOURNEY_LINES, JOURNEY_RESPONSE).filter(pl.col("label") == "patient 3")
    # the referred patient's numbering starts at line 2; time starts at that line
    assert data["line"].to_list() == [2]
    assert data["start_month"].to_list() == [0.0]
    assert data["end_month"][0] == pytest.approx(300 / MONTH)


def test_swimmer_outlines_the_analysed_lines_only_when_some_are_not():
    """MM-LONG-17's line 2 and MM-MID-05's line 2 analysed: two outlines, at their rows."""
    analysed = pl.DataFrame({"patient_id": ["MM-LONG-17", "MM-MID-05"], "line": [2, 2]})
    fig = plot_swimmer(JOURNEY_LINES, JOURNEY_RESPONSE, allow_patient_level=True, analysed=analysed)
    boxes = [c for c in fig.axes[0].collections if c.get_gid() == "swimmer-analysed"]
    assert len(boxes) == 2
    # rows: 1 = MM-LONG-17 (longest follow-up), 2 = MM-MID-05; line 2 starts at 12 and 10 months
    starts = sorted(round(float(b.get_paths()[0].vertices[:, 0].min()), 1) for b in boxes)
    assert starts == [round(306 / MONTH, 1), round(365 / MONTH, 1)]
    every = JOURNEY_LINES.select("patient_id", "line")
    fig = plot_swimmer(JOURNEY_LINES, JOURNEY_RESPONSE, allow_patient_level=True, analysed=every)
    assert not [c for c in fig.axes[0].collections if c.get_gid() == "swimmer-analysed"]
