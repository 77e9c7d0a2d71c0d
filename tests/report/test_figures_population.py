"""A sub-population study's figures describe its analysed patients and publish nothing its
tables withhold (issue 15, defects 2 and 3).

The ``isa-pd`` study on the golden cohort (2,000 simulated patients, seed 1) analyses a few
dozen patients: the treatment-sequence chart must total them (not the 2,000 of the database),
the swimmer and trajectory must draw from them, and the waterfall must not show the
best-response categories that ``response_rates`` withholds.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from mmrwe.io.output import run_file
from mmrwe.report import figure_set
from mmrwe.report.figure_audit import audit_figures
from mmrwe.report.figures.style import svg_text
from mmrwe.study.run import run_study
from tests.golden.golden import simulate


@pytest.fixture(scope="module")
def isa(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("isa")
    return run_study(simulate(folder), folder / "isa", config="isa-pd").out


def _manifest(run: Path) -> dict:
    return json.loads((run_file(run, "manifest.json")).read_text())


def _read(run: Path):  # type: ignore[no-untyped-def]
    return lambda name: pl.read_parquet(run_file(run, f"{name}.parquet"))


def test_the_sequence_chart_totals_the_analysed_patients(isa: Path) -> None:
    analysed = pl.read_parquet(run_file(isa, "analysis_lines.parquet"))["patient_id"].unique()
    assert 11 <= analysed.len() < 200  # a sub-population of the 2,000
    assert _manifest(isa)["analysed"]["patients"] == analysed.len()
    lines = pl.read_parquet(run_file(isa, "lines.parquet"))
    on_line_1 = lines.filter(pl.col("line") == 1).join(
        analysed.to_frame(), on="patient_id", how="semi"
    )
    # the chart as the run drew it (the redrawn recipe gives the same SVG bytes)
    (draw,) = [
        d
        for n, _, d in figure_set.standard_figures(_read(isa), patient_level=True)
        if n == "sequences"
    ]
    fig = draw()
    assert svg_text(fig) == (run_file(isa, "figures") / "sequences.svg").read_text()
    heights = [
        p.get_height()
        for ax in fig.axes
        for p in ax.patches
        if (p.get_gid() or "").startswith("node-1-")
    ]
    assert sum(heights) == on_line_1.height
    # what it says: the analysed patients, and no count below the threshold
    texts = [t.get_text() for ax in fig.axes for t in ax.texts] + [t.get_text() for t in fig.texts]
    assert f"{analysed.len()} patients, lines 1 to 4 of each in the data" in texts
    numbers = [int(t) for t in texts if t.isdigit()]
    assert numbers and all(n >= 11 for n in numbers)


def test_swimmer_and_trajectory_draw_analysed_patients(isa: Path, monkeypatch) -> None:
    """With suppression off they draw from the analysed patients only; with it on, not at all
    for the Isa-Pd group, whose response counts the table withholds (a swimmer's response
    markers would show them)."""
    from mmrwe.report.figures import journeys
    from mmrwe.report.figures.style import NothingToDrawError

    analysed = set(pl.read_parquet(run_file(isa, "analysis_lines.parquet"))["patient_id"])
    drawn: dict[str, set] = {}
    monkeypatch.setattr(
        journeys,
        "plot_swimmer",
        lambda lines, *a, **k: drawn.setdefault("swimmer", set(lines["patient_id"])),
    )
    monkeypatch.setattr(
        journeys,
        "plot_trajectory",
        lambda assessments, lines, patient, **k: drawn.setdefault("trajectory", {patient}),
    )
    recipes = figure_set.standard_figures(_read(isa), patient_level=True, threshold=0)
    for name, _, draw in recipes:
        if name in ("swimmer", "trajectory"):
            draw()
    assert drawn["swimmer"] and drawn["swimmer"] <= analysed
    assert drawn["trajectory"] <= analysed
    for name, _, draw in figure_set.standard_figures(_read(isa), patient_level=True):
        if name in ("swimmer", "trajectory"):
            with pytest.raises(NothingToDrawError, match=r"counts are all published|two lines"):
                draw()
    skipped = {s["name"] for s in _manifest(isa)["figures_skipped"]}
    assert {"swimmer", "trajectory"} <= skipped


def test_no_waterfall_of_withheld_response_counts(isa: Path) -> None:
    rates = pl.read_csv(run_file(isa, "response_rates.csv"), infer_schema=False)
    assert "<11" in rates.row(0)  # the study's best-response breakdown is withheld
    manifest = _manifest(isa)
    assert "waterfall" not in [f["name"] for f in manifest["figures"]]
    (skipped,) = [s for s in manifest["figures_skipped"] if s["name"] == "waterfall"]
    assert "withheld" in skipped["reason"]
    assert audit_figures(isa) == []


def test_the_audit_finds_a_figure_that_publishes_withheld_counts(isa: Path, tmp_path: Path) -> None:
    """The audit can fail: a waterfall of the withheld group, a census swimmer, an identifier."""
    from shutil import copytree

    from mmrwe.report.figures.response import plot_waterfall
    from mmrwe.report.figures.style import save_figure

    run = copytree(isa, tmp_path / "run")
    read = _read(run)
    fig = plot_waterfall(
        read("assessments"),
        read("line_response"),
        read("analysis_lines"),
        allow_patient_level=True,
        threshold=0,
    )
    save_figure(fig, run_file(run, "figures") / "waterfall")
    manifest = _manifest(run)
    manifest["figures"].append(
        {"name": "waterfall", "title": "t", "files": ["figures/waterfall.svg"]}
    )
    swimmer_file = run_file(run, "figures") / "swimmer.svg"
    swimmer = swimmer_file.read_text() if swimmer_file.exists() else "<svg></svg>"
    manifest["figures"].append({"name": "swimmer", "title": "t", "files": ["figures/swimmer.svg"]})
    patient = next(iter(read("analysis_lines")["patient_id"]))
    many = "".join(f'<g id="swimmer-row-{k}"></g>' for k in range(1, 41))
    (run_file(run, "figures") / "swimmer.svg").write_text(
        swimmer.replace("</svg>", f"{many}<text>{patient}</text></svg>")
    )
    manifest["patient_level_figures_shared"] = True  # as a study sharing them writes it
    (run_file(run, "manifest.json")).write_text(json.dumps(manifest))
    problems = audit_figures(run)
    assert any(p.startswith("waterfall: group 'Isa-Pd'") for p in problems), problems
    assert any(p.startswith("swimmer: 40 patients") for p in problems), problems
    assert "swimmer: shows a patient identifier" in problems
    manifest["patient_level_figures_shared"] = False  # the default: not in shareable/
    (run_file(run, "manifest.json")).write_text(json.dumps(manifest))
    assert any("the study does not share them" in p for p in audit_figures(run))


def _waterfall_tables(groups: dict[str, tuple[str, ...]], n: int):  # type: ignore[no-untyped-def]
    """``n`` evaluable lines per group, best responses cycling through the group's tuple."""
    from tests.report.figure_data import D, assessments_table, line_response_table

    rows, resp, keys = [], [], []
    for g, (group, cats) in enumerate(groups.items()):
        for i in range(n):
            pid, best = f"X{g}-{i:02d}", cats[i % len(cats)]
            rows += [
                (pid, 1, D(2020, 1, 1), "baseline", 2.0, None, None, None),
                (pid, 1, D(2020, 2, 1), "on_line", 1.0 - 0.01 * i, None, None, best),
            ]
            resp.append((pid, 1, best, None, None, "serum"))
            keys.append((pid, 1, group))
    analysis = pl.DataFrame(keys, schema=["patient_id", "line", "group"], orient="row")
    return assessments_table(rows), line_response_table(resp), analysis


def test_waterfall_leaves_out_groups_with_withheld_counts() -> None:
    """Groups of 30 evaluable lines: A is withheld in the response table, C would show
    categories of 10 lines; only B (15 PR, 15 SD) is drawn, and the figure says so."""
    from mmrwe.report.figures.response import plot_waterfall

    tables = _waterfall_tables(
        {"A": ("PR", "SD"), "B": ("PR", "SD"), "C": ("PR", "SD", "VGPR")}, 30
    )
    fig = plot_waterfall(*tables, allow_patient_level=True, withheld_groups=["A"])
    drawn = [c.get_gid() for ax in fig.axes for c in ax.collections if c.get_gid()]
    assert drawn == ["waterfall-B"]
    note = [t.get_text() for t in fig.texts if t.get_gid() == "waterfall-left-out"]
    assert note == ["Not drawn (counts withheld, fewer than 11): A, C"]
    with pytest.raises(ValueError, match="withheld by the small-cell rule"):
        plot_waterfall(*tables, allow_patient_level=True, withheld_groups=["A", "B"])


def test_the_audit_reads_the_recorded_configuration_typed(isa: Path, tmp_path: Path) -> None:
    """The audit reads the run's configuration through StudyConfig like the report (no
    re-supplied default): a threshold this version cannot read is an error naming the manifest
    and the field, not a bare int() ValueError."""
    from shutil import copytree

    from mmrwe.errors import InvalidDataError

    run = copytree(isa, tmp_path / "run")
    manifest = _manifest(run)
    manifest["config"]["study"]["small_cell_threshold"] = "eleven"
    (run_file(run, "manifest.json")).write_text(json.dumps(manifest))
    with pytest.raises(InvalidDataError, match=r"manifest\.json.*small_cell_threshold"):
        audit_figures(run)
