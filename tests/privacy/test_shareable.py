"""A run's ``shareable/`` folder holds nothing patient-level: no patient identifier of the input
in any file (tables, manifest, figures' embedded data, the report), no patient-level table, and
the run fails, naming the file, when something would put one there (issue 19, item 1)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from mmrwe.io.output import PATIENT_LEVEL_MANIFEST, RunLayout, is_shareable
from mmrwe.privacy.shareable import ShareableNotProtected, audit_shareable, check_shareable
from mmrwe.simulate import simulate_cohort
from mmrwe.study import run_study
from mmrwe.study.config import example_studies

#: every table a run writes that describes patients one row at a time
PATIENT_LEVEL_TABLES = (
    "lines",
    "line_exposures",
    "assessments",
    "line_response",
    "endpoints",
    "adtte",
    "adsl",
    "adrs",
    "analysis_lines",
)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("shareable") / "cohort"
    simulate_cohort(folder, n_patients=300, seed=5)
    return folder


def input_ids(cohort: Path) -> list[str]:
    return pl.read_parquet(cohort / "patients.parquet")["patient_id"].cast(pl.String).to_list()


def files_with_ids(shared: Path, ids: list[str]) -> list[str]:
    """Every file under ``shared`` whose bytes (text) or cells (Parquet) hold one of ``ids``."""
    found = []
    for path in sorted(p for p in shared.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            df = pl.read_parquet(path)
            text = "\n".join(str(v) for c in df.columns for v in df[c].cast(pl.String).to_list())
        else:
            text = path.read_bytes().decode("latin-1")
        hits = [i for i in ids if i in text]
        if hits:
            found.append(f"{path.relative_to(shared)}: {hits[:3]}")
    return found


def patient_level_names(shared: Path) -> list[str]:
    names = {*PATIENT_LEVEL_TABLES, PATIENT_LEVEL_MANIFEST.removesuffix(".json")}
    return [str(p) for p in shared.rglob("*") if p.name.split(".")[0] in names]


def check_layout(out: Path, ids: list[str]) -> None:
    layout = RunLayout(out)
    assert sorted(p.name for p in out.iterdir()) == ["patient_level", "shareable"]
    assert "may leave the site" in (layout.shareable / "README.md").read_text()
    assert "must not leave the site" in (layout.patient_level / "README.md").read_text()
    assert files_with_ids(layout.shareable, ids) == []
    assert patient_level_names(layout.shareable) == []
    assert (layout.patient_level / "lines.parquet").is_file()


def test_demo_study_shares_no_patient_id_and_no_patient_level_table(
    cohort: Path, tmp_path: Path
) -> None:
    ids = input_ids(cohort)
    out = run_study(cohort, tmp_path / "run").out
    assert (out / "shareable" / "report.html").is_file()
    assert (out / "patient_level" / "adtte.xpt").is_file()
    check_layout(out, ids)
    # the check is not vacuous: the patient-level folder does hold the identifiers
    assert files_with_ids(out / "patient_level", ids[:50])


@pytest.mark.parametrize("stop_after", ["lines", "response"])
def test_lines_and_response_write_the_same_layout(
    cohort: Path, tmp_path: Path, stop_after: str
) -> None:
    out = run_study(cohort, tmp_path / stop_after, stop_after=stop_after).out  # type: ignore[arg-type]
    check_layout(out, input_ids(cohort))
    assert sorted(p.stem for p in (out / "shareable").glob("*.csv")) == [
        "attrition",
        "unmapped_drugs",
    ]


@pytest.mark.slow
@pytest.mark.parametrize("study", sorted(example_studies()))
def test_every_shipped_study_shares_no_patient_id(cohort: Path, tmp_path: Path, study: str) -> None:
    from mmrwe.study.run import StudySelectsNothing

    try:
        out = run_study(cohort, tmp_path / study, config=study).out
    except StudySelectsNothing:  # belantamab: no such line among 300 simulated patients
        assert not (tmp_path / study).exists()  # nothing written
        out = run_study(cohort, tmp_path / study, config=study, stop_after="response").out
    check_layout(out, input_ids(cohort))


def test_a_patient_id_under_shareable_fails_the_audit_naming_the_file(
    cohort: Path, tmp_path: Path
) -> None:
    out = run_study(cohort, tmp_path / "run", report=False).out
    assert audit_shareable(out, 11) == []
    leaked = out / "shareable" / "notes.csv"
    leaked.write_text(f"patient,comment\n{input_ids(cohort)[0]},seen\n")
    with pytest.raises(ShareableNotProtected, match=r"notes\.csv shows patient identifier"):
        check_shareable(out, 11)


def test_a_recoverable_count_under_shareable_fails_the_audit_naming_the_cell(
    cohort: Path, tmp_path: Path
) -> None:
    # the 13-patient subgroup table of issue 20, channel 1, protected table by table only:
    # put under shareable/, the run's audit names the recovered cell
    from mmrwe.io.output import write_table
    from mmrwe.stats.subgroups import _publish as publish_subgroups
    from tests.privacy.test_release import subgroup_table

    out = run_study(cohort, tmp_path / "run", report=False).out
    table = subgroup_table(
        [
            ("overall", "all", 13, 12, 0, 13),
            ("triple_class_refractory", "no", 2, 2, 0, 2),
            ("triple_class_refractory", "yes", 11, 10, 0, 11),
        ]
    )
    write_table(publish_subgroups(table, 11), out / "shareable", "subgroup_hazard_ratios")
    with pytest.raises(ShareableNotProtected, match="subgroup_hazard_ratios, row 2"):
        check_shareable(out, 11)


def test_the_layout_declares_each_output() -> None:
    layout = RunLayout(Path("run"))
    assert layout.table("summary_by_line", "csv") == Path("run/shareable/summary_by_line.csv")
    assert layout.table("adtte") == Path("run/patient_level/adtte.parquet")
    assert layout.path("figures/km_pfs.svg") == Path("run/shareable/figures/km_pfs.svg")
    assert not any(is_shareable(f"{t}.parquet") for t in PATIENT_LEVEL_TABLES)
    assert not is_shareable(PATIENT_LEVEL_MANIFEST)
