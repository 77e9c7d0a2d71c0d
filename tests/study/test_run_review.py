"""Review of ``mmrwe run`` (study pipeline, population, report lede): defects shown on small
hand-made cohorts (``_cohorts.py``). Each test states the expected behaviour and its source."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import polars as pl
import pytest

from mmrwe.errors import MmrweError
from mmrwe.io.output import run_file
from mmrwe.study import run_study
from mmrwe.study.config import load_config
from tests.study._cohorts import study_file, write_cohort


def _run(cohort: Path, out: Path, toml: str, **kwargs: object) -> Path:
    config = load_config(study_file(out.parent / f"{out.name}.toml", toml))
    run_study(cohort, out, config=config, **kwargs)  # type: ignore[arg-type]
    return out


def test_regimen_groups_do_not_depend_on_the_partition(tmp_path: Path) -> None:
    """group_by = "regimen": ``group_order`` ranks regimens by frequency (docs/studies.md; the
    docstring of ``select._groups``: "regimens by frequency, then name"). Kd (2 lines) comes
    before Rd (1 line). docs/studies.md ("Patients are processed in partitions ... two runs of
    the same input and study write byte-identical tables") and the commit message of the
    partitioned run ("partition size shown not to change any table") promise the same tables
    whatever the partition size. Found: each partition ranks its own regimens, so Rd is order 1
    in its partition and Kd order 1 in the others; summary_by_line splits the groups
    (``study/select.py`` ``_groups``, called per partition from ``pipeline.analyse_partition``)."""
    cohort = write_cohort(tmp_path / "cohort", [["Rd"], ["Kd"], ["Kd"]])
    toml = '[study]\ngroup_by = "regimen"\nsmall_cell_threshold = 0\n'
    whole = _run(cohort, tmp_path / "whole", toml, report=False)
    parts = _run(cohort, tmp_path / "parts", toml, report=False, partition_size=1)
    orders = {
        name: pl.read_parquet(run_file(d, "analysis_lines.parquet"))
        .select("regimen", "group_order")
        .unique()
        .sort("regimen")
        for name, d in (("whole", whole), ("parts", parts))
    }
    assert orders["whole"].to_dicts() == [
        {"regimen": "Kd", "group_order": 1},
        {"regimen": "Rd", "group_order": 2},
    ]
    assert orders["parts"].to_dicts() == orders["whole"].to_dicts()
    assert pl.read_parquet(run_file(parts, "summary_by_line.parquet")).equals(
        pl.read_parquet(run_file(whole, "summary_by_line.parquet"))
    )


def test_pooled_line_group_label_does_not_depend_on_the_partition(tmp_path: Path) -> None:
    """group_by = "line", max_line = 2: lines 2 and above are pooled into one group
    ("lines above it are pooled into `line 6+`", docs/studies.md). Found: the label is
    "line 2+" in a partition holding a line 3 and "line 2" elsewhere, so the pooled group is
    split in two groups of the same group_order when the cohort is analysed in partitions
    (``study/select.py`` ``_groups``: ``(df["line"] > top).any()`` is per partition)."""
    cohort = write_cohort(tmp_path / "cohort", [["Rd", "Kd", "Pd"], ["Rd", "Kd"]])
    toml = "[study]\nmax_line = 2\nsmall_cell_threshold = 0\n"
    whole = _run(cohort, tmp_path / "whole", toml, report=False)
    parts = _run(cohort, tmp_path / "parts", toml, report=False, partition_size=1)
    for run in (whole, parts):
        groups = pl.read_parquet(run_file(run, "analysis_lines.parquet")).filter(
            pl.col("line") >= 2
        )
        assert groups["group"].unique().to_list() == ["line 2+"], run.name


def test_a_study_selecting_nobody_says_so(tmp_path: Path) -> None:
    """A study whose population criteria select no line is plausible input (brief: "a study
    selecting nobody"); the CLI contract (spec cli.md) asks for "one readable paragraph" that
    helps the user. Expected: either an empty analysis, or an error saying that no line meets
    the population criteria. Found: ``InvalidDataError`` "No endpoint rows belong to the
    analysed lines ... Derive both from the same run", which blames the inputs."""
    cohort = write_cohort(tmp_path / "cohort", [["Rd"], ["Rd", "Kd"], ["Kd"]])
    try:
        _run(cohort, tmp_path / "run", '[population]\nregimens = ["Pd"]\n', report=False)
    except MmrweError as exc:
        message = str(exc)
        assert "same run" not in message, message
        assert re.search(r"population|criteri|no line", message, re.IGNORECASE), message


@pytest.fixture(scope="module")
def small_population_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """14 patients, 3 of them on Kd; the study analyses the Kd lines only (real data)."""
    root = tmp_path_factory.mktemp("small")
    cohort = write_cohort(root / "cohort", [["Kd"]] * 3 + [["Rd"]] * 11)
    toml = (
        "[study]\nsmall_cell_threshold = 11\npatient_level_figures = false\n"
        '[population]\nregimens = ["Kd"]\n'
    )
    return _run(cohort, root / "run", toml)


def test_report_does_not_print_a_small_analysed_count(small_population_run: Path) -> None:
    """report.html is an aggregate output: "counts below the small-cell threshold written as
    text `<11`" (spec data-model.md, outputs of a run; docs/privacy.md). Found: the lede under
    the title prints the exact analysed counts, "3 patient-lines of 3 patients analysed"
    (``report/sections.py`` ``lede``, from manifest ``analysed``)."""
    html = (run_file(small_population_run, "report.html")).read_text(encoding="utf-8")
    counts = re.findall(r"((?:&lt;)?\d+) patient-lines of ((?:&lt;)?\d+) patients", html)
    assert counts, "the lede is no longer where this test looks"
    assert counts == [("&lt;11", "&lt;11")]  # HTML-escaped <11
    small = [n for pair in counts for n in pair if n.isdigit() and 1 <= int(n) < 11]
    assert not small, f"exact counts below 11 in report.html: {counts}"


def test_manifest_does_not_hold_a_small_analysed_count(small_population_run: Path) -> None:
    """manifest.json goes with the aggregate outputs of a run (docs/studies.md, "What `mmrwe
    run` writes": "Aggregate (suppressed, no identifiers): ... And manifest.json"). Found:
    ``analysed`` holds the exact counts 3 and 3 (``study/run.py``, ``output.manifest.update``)."""
    manifest = json.loads(
        (run_file(small_population_run, "manifest.json")).read_text(encoding="utf-8")
    )
    analysed = manifest["analysed"]
    assert not any(isinstance(v, int) and 1 <= v < 11 for v in analysed.values()), analysed


def test_unmapped_drugs_rows_do_not_give_back_the_patients(tmp_path: Path) -> None:
    """``unmapped_drugs`` is an aggregate output; docs/privacy.md applies the CMS rule "no cell
    from 1 to 10, and no cell that can be worked out from the others". One patient received an
    unmapped drug once. Found: ``patients`` is written `<11` but ``rows`` stays the exact 1,
    and one row can only be one patient (``study/summaries.py``: ``suppress_counts`` on
    ``patients`` only)."""
    extra = [
        {
            "patient_id": "P000",
            "drug": "zz-local-trial-agent",
            "start_date": dt.date(2019, 3, 1),
            "end_date": dt.date(2019, 3, 1),
        }
    ]
    cohort = write_cohort(tmp_path / "cohort", [["Rd"]] * 12, extra_treatments=extra)
    run = _run(cohort, tmp_path / "run", "[study]\npatient_level_figures = false\n", report=False)
    unmapped = pl.read_parquet(run_file(run, "unmapped_drugs.parquet")).filter(
        pl.col("drug").str.contains("zz-local")
    )
    assert unmapped.height == 1
    row = unmapped.row(0, named=True)
    assert row["patients"] == "<11"
    assert str(row["rows"]) != "1", f"rows {row['rows']} gives back patients = 1"


def test_demo_with_a_small_cohort_skips_the_comparison(tmp_path: Path) -> None:
    """``mmrwe demo --patients N`` accepts any N ≥ 1 (cli/demo.py, ``min=1``); the demo is meant
    to skip the ICARIA-MM comparison with a warning when the cohort is too small (cli/demo.py:
    "e.g. too few Isa-Pd patients in a small demo cohort"). Found: with 5 patients the Isa-Pd
    study selects nobody, ``run_study(..., config="isa-pd")`` (outside the ``try``) raises
    "No endpoint rows belong to the analysed lines", and the demo exits 1 after writing the
    main run. Same root cause as ``test_a_study_selecting_nobody_says_so``."""
    from mmrwe.cli.app import main

    out = tmp_path / "demo"
    assert main(["--quiet", "demo", "--out", str(out), "--patients", "5"]) == 0
    assert (run_file(out / "run", "report.html")).is_file()
