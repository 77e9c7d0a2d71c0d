"""Best-response distribution and waterfall figures: content derived from hand-made tables."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from mmrwe.report.figures.response import (
    plot_response_distribution,
    plot_waterfall,
    response_distribution,
    waterfall_data,
)
from mmrwe.report.figures.style import RESPONSE_COLOURS, PatientLevelFigureError, svg_text
from tests.report.figure_data import D, assessments_table, line_response_table

CATEGORIES = ("sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE")

# Wide response_rates: "line 1" of 200 patients, all categories shown (counts sum to 200);
# "line 2" of 60 with sCR and NE below 11 (withheld, and PD withheld as their complement);
# "Isa-Pd" below the threshold altogether.
COUNTS = {
    "line 1": dict(zip(CATEGORIES, (12, 20, 50, 60, 18, 16, 13, 11), strict=True)),
    "line 2": dict(zip(CATEGORIES, (3, 11, 12, 14, 10, 0, 6, 4), strict=True)),
}


def _rates() -> pl.DataFrame:
    rows = []
    for order, (group, counts) in enumerate(COUNTS.items(), start=1):
        total = sum(counts.values())
        row = {"group": group, "group_order": order, "n_patients": str(total)}
        for c, n in counts.items():
            shown = n == 0 or (n >= 11 and not (group == "line 2" and c == "PD"))
            row[f"n_{c}"] = str(n) if shown else "<11"
            row[f"pct_{c}"] = 100 * n / total if shown else None
        rows.append(row)
    rows.append(
        {"group": "Isa-Pd", "group_order": 3, "n_patients": "<11"}
        | {f"n_{c}": "<11" for c in CATEGORIES}
        | {f"pct_{c}": None for c in CATEGORIES}
    )
    return pl.DataFrame(rows, schema_overrides={f"pct_{c}": pl.Float64 for c in CATEGORIES})


def _segments(fig) -> dict[str, float]:
    return {p.get_gid(): p.get_width() for p in fig.axes[0].patches if p.get_gid()}


def test_distribution_bars_are_the_tables_percentages():
    fig = plot_response_distribution(_rates())
    seg = _segments(fig)
    for c, n in COUNTS["line 1"].items():
        assert seg[f"response-line 1-{c}"] == pytest.approx(100 * n / 200)
    assert "response-line 1-withheld" not in seg
    # line 2: CR, VGPR, PR shown; SD is 0 (no bar); sCR, MR, PD, NE withheld → one block
    shown = {k.rsplit("-", 1)[1] for k in seg if k.startswith("response-line 2-")}
    assert shown == {"CR", "VGPR", "PR", "withheld"}
    assert seg["response-line 2-withheld"] == pytest.approx(100 * (3 + 10 + 6 + 4) / 60)
    assert not any(k.startswith("response-Isa-Pd") for k in seg)


def test_distribution_labels_name_the_groups_and_suppressed_ones():
    fig = plot_response_distribution(_rates())
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert ticks == ["line 1 (n = 200)", "line 2 (n = 60)", "Isa-Pd (n <11)"]
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "n <11: withheld" in texts
    assert "30" in texts and "25" in texts  # 60/200 PR and 50/200 VGPR, printed in the bars


def test_distribution_accepts_the_long_form():
    wide = _rates()
    long = response_distribution(wide)
    assert long.height == 3 * len(CATEGORIES)
    assert long.columns == ["group", "n_patients", "response", "n", "pct"]
    again = response_distribution(long)
    assert again.equals(long)


# Waterfall: six analysed patient-lines of "line 2"
#  W1 serum measurable: 2.0 → 1.0, 0.5      → −75 %, VGPR
#  W2 FLC-only: dFLC 200 → 300              → +50 %, PD
#  W3 serum: 1.0 → 3.5                      → +250 %, drawn at +100 %, PD
#  W4 nothing measurable                    → not evaluable
#  W5 serum measurable, no on-line value    → not evaluable
#  W6 serum and urine measurable: serum 4.0 → 2.0 (urine 800 → 100 ignored) → −50 %, PR
WATERFALL_ASSESSMENTS = assessments_table(
    [
        ("W1", 2, D(2020, 1, 1), "baseline", 2.0, None, None, None),
        ("W1", 2, D(2020, 2, 1), "on_line", 1.0, None, None, "PR"),
        ("W1", 2, D(2020, 3, 1), "on_line", 0.5, None, None, "VGPR"),
        ("W2", 2, D(2020, 1, 1), "baseline", None, None, 200.0, None),
        ("W2", 2, D(2020, 2, 1), "on_line", None, None, 300.0, "PD"),
        ("W3", 2, D(2020, 1, 1), "baseline", 1.0, None, None, None),
        ("W3", 2, D(2020, 2, 1), "on_line", 3.5, None, None, "PD"),
        ("W4", 2, D(2020, 1, 1), "baseline", 0.3, None, None, None),
        ("W4", 2, D(2020, 2, 1), "on_line", 0.1, None, None, None),
        ("W5", 2, D(2020, 1, 1), "baseline", 1.5, None, None, None),
        ("W6", 2, D(2020, 1, 1), "baseline", 4.0, 800.0, None, None),
        ("W6", 2, D(2020, 2, 1), "on_line", 2.0, 100.0, None, "PR"),
    ]
)
WATERFALL_RESPONSE = line_response_table(
    [
        ("W1", 2, "VGPR", D(2020, 2, 1), None, "serum"),
        ("W2", 2, "PD", None, D(2020, 2, 1), "flc"),
        ("W3", 2, "PD", None, D(2020, 2, 1), "serum"),
        ("W4", 2, "NE", None, None, "none"),
        ("W5", 2, "NE", None, None, "serum"),
        ("W6", 2, "PR", D(2020, 2, 1), None, "serum;urine"),
    ]
)
ANALYSIS = pl.DataFrame(
    {
        "patient_id": ["W1", "W2", "W3", "W4", "W5", "W6"],
        "line": [2] * 6,
        "group": ["line 2"] * 6,
        "group_order": [2] * 6,
    }
)


def test_waterfall_data_best_change_per_evaluable_line():
    data = waterfall_data(WATERFALL_ASSESSMENTS, WATERFALL_RESPONSE, ANALYSIS)
    assert data["patient_id"].to_list() == ["W3", "W2", "W6", "W1"]  # largest increase first
    np.testing.assert_allclose(data["best_change_pct"].to_numpy(), [250.0, 50.0, -50.0, -75.0])
    assert data["component"].to_list() == ["serum", "flc", "serum", "serum"]


def _waterfall_bars(ax) -> tuple[list[float], list[tuple]]:
    """Heights and colours of the bars of one panel (one collection with a waterfall gid)."""
    (bars,) = [c for c in ax.collections if (c.get_gid() or "").startswith("waterfall-")]
    heights = [float(p.vertices[1, 1]) for p in bars.get_paths()]
    return heights, [tuple(c) for c in bars.get_facecolors()]


def test_waterfall_bars_equal_the_evaluable_lines_clipped_and_coloured():
    from matplotlib.colors import to_rgba

    fig = plot_waterfall(
        WATERFALL_ASSESSMENTS, WATERFALL_RESPONSE, ANALYSIS, allow_patient_level=True, threshold=0
    )
    ax = fig.axes[0]
    heights, colours = _waterfall_bars(ax)
    assert len(heights) == 4
    np.testing.assert_allclose(heights, [100.0, 50.0, -50.0, -75.0])
    expected = [RESPONSE_COLOURS[r] for r in ("PD", "PD", "PR", "VGPR")]
    assert colours == [to_rgba(c) for c in expected]
    title = ax.get_title(loc="left")
    assert title == "line 2: 4 measurable of 6 analysed; 1 above +100 % drawn at +100 %"
    assert "W1" not in svg_text(fig)


def test_waterfall_samples_large_groups():
    fig = plot_waterfall(
        WATERFALL_ASSESSMENTS,
        WATERFALL_RESPONSE,
        ANALYSIS,
        allow_patient_level=True,
        threshold=0,
        max_bars=3,
    )
    heights, _ = _waterfall_bars(fig.axes[0])
    assert len(heights) == 3
    assert heights == sorted(heights, reverse=True)  # still in waterfall order
    assert set(heights) <= {100.0, 50.0, -50.0, -75.0}
    assert (
        fig.axes[0]
        .get_title(loc="left")
        .startswith("line 2: 4 measurable of 6 analysed; a random sample of 3 shown")
    )


def test_waterfall_refused_without_permission():
    with pytest.raises(PatientLevelFigureError, match="waterfall plot"):
        plot_waterfall(WATERFALL_ASSESSMENTS, WATERFALL_RESPONSE, ANALYSIS)


def test_waterfall_one_panel_per_group():
    two = ANALYSIS.with_columns(
        group=pl.when(pl.col("patient_id").is_in(["W1", "W2"]))
        .then(pl.lit("Isa-Pd"))
        .otherwise(pl.lit("Kd")),
        group_order=pl.when(pl.col("patient_id").is_in(["W1", "W2"])).then(1).otherwise(2),
    )
    fig = plot_waterfall(
        WATERFALL_ASSESSMENTS, WATERFALL_RESPONSE, two, allow_patient_level=True, threshold=0
    )
    assert [len(_waterfall_bars(ax)[0]) for ax in fig.axes] == [2, 2]
    assert [ax.get_title(loc="left").split(":")[0] for ax in fig.axes] == ["Isa-Pd", "Kd"]


def test_draws_the_response_rates_that_mmrwe_writes():
    """The response_rates summary of mmrwe.stats (H3's layout, suppressed) plots as it is."""
    from mmrwe.stats.response_rates import response_rates

    best = ["VGPR"] * 30 + ["PR"] * 40 + ["SD"] * 25 + ["PD"] * 5
    ids = [f"R{i:03d}" for i in range(len(best))]
    analysis = pl.DataFrame(
        {"patient_id": ids, "line": [2] * len(ids), "group": ["line 2"] * len(ids)}
    )
    responses = pl.DataFrame({"patient_id": ids, "line": [2] * len(ids), "best_response": best})
    table = response_rates(analysis, responses, threshold=11)
    fig = plot_response_distribution(table)
    seg = _segments(fig)
    assert seg["response-line 2-VGPR"] == pytest.approx(30.0)
    assert seg["response-line 2-PR"] == pytest.approx(40.0)
    # PD (5) is below 11 and SD (25) is withheld as its complement: one hatched block of 30 %
    assert table["n_PD"].item() == "<11"
    assert "response-line 2-PD" not in seg and "response-line 2-SD" not in seg
    assert seg["response-line 2-withheld"] == pytest.approx(30.0)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["line 2 (n = 100)"]
