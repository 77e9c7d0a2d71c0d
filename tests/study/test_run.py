"""``mmrwe run`` end to end on a small simulated cohort: outputs, manifest, privacy, errors."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from mmrwe.cli.app import main
from mmrwe.io.output import run_file
from mmrwe.simulate import simulate_cohort
from mmrwe.study import run_study

AGGREGATE = (
    "summary_by_line",
    "response_rates",
    "adverse_events",
    "baseline",
    "attrition",
    "unmapped_drugs",
)
PATIENT_LEVEL = (
    "lines",
    "line_exposures",
    "assessments",
    "line_response",
    "endpoints",
    "adtte",
    "analysis_lines",
)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim") / "cohort"
    simulate_cohort(out, n_patients=400, seed=5)
    return out


@pytest.fixture(scope="module")
def named_cohort(cohort: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The cohort with identifiers as a hospital might write them (names, record numbers)."""
    out = tmp_path_factory.mktemp("named") / "cohort"
    out.mkdir()
    ids = pl.read_parquet(cohort / "patients.parquet")["patient_id"]
    mapping = {old: f"MRN-{i:05d} Doe, Jane" for i, old in enumerate(ids.to_list())}
    for table in ("patients", "treatments", "labs", "responses", "adverse_events"):
        df = pl.read_parquet(cohort / f"{table}.parquet")
        df.with_columns(pl.col("patient_id").replace_strict(mapping)).write_parquet(
            out / f"{table}.parquet"
        )
    return out, list(mapping.values())


@pytest.fixture(scope="module")
def run_dir(cohort: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run") / "run"
    assert main(["--quiet", "run", str(cohort), "--out", str(out)]) == 0
    return out


def test_run_writes_aggregates_in_both_formats_and_patient_level_tables_as_parquet(
    run_dir: Path, cohort: Path, tmp_path: Path
) -> None:
    """Aggregate tables are Parquet and CSV; patient-level tables Parquet, and CSV (the same
    columns and rows) only with ``csv`` (``--csv``)."""
    for name in AGGREGATE:
        parquet = pl.read_parquet(run_file(run_dir, f"{name}.parquet"))
        csv = pl.read_csv(run_file(run_dir, f"{name}.csv"), infer_schema=False)
        assert parquet.columns == csv.columns and parquet.height == csv.height, name
    for name in PATIENT_LEVEL:
        assert (run_file(run_dir, f"{name}.parquet")).is_file() and not (
            run_file(run_dir, f"{name}.csv")
        ).exists()
    assert (run_file(run_dir, "report.html")).is_file()
    both = run_study(cohort, tmp_path / "csv", report=False, csv=True).out
    for name in PATIENT_LEVEL:
        parquet = pl.read_parquet(run_file(both, f"{name}.parquet"))
        csv = pl.read_csv(run_file(both, f"{name}.csv"), infer_schema=False)
        assert parquet.columns == csv.columns and parquet.height == csv.height, name


def test_manifest_lists_config_inputs_rows_figures(run_dir: Path, cohort: Path) -> None:
    manifest = json.loads((run_file(run_dir, "manifest.json")).read_text())
    assert manifest["command"] == "run"
    assert manifest["config"]["study"]["small_cell_threshold"] == 11  # defaults filled in
    assert manifest["config"]["endpoints"]["pfs_censor"] == "last_assessment"
    hashed = {i["file"] for i in manifest["inputs"] if len(i["sha256"]) == 64}
    assert {"patients.parquet", "treatments.parquet", "labs.parquet"} <= hashed
    exact = json.loads((run_file(run_dir, "manifest_patient_level.json")).read_text())
    assert exact["input_rows"]["patients"] == 400 and "input_rows" not in manifest
    for name in PATIENT_LEVEL:  # exact counts stay with the patient-level data (issue 20)
        assert (
            exact["outputs"][name] == pl.read_parquet(run_file(run_dir, f"{name}.parquet")).height
        )
        assert name not in manifest["outputs"]
    listed = {f for fig in manifest["figures"] for f in fig["files"]}
    on_disk = {f"figures/{p.name}" for p in (run_file(run_dir, "figures")).iterdir()}
    assert listed == on_disk and len(manifest["figures"]) >= 3
    assert manifest["simulated_data"] is True
    assert {"read_validate", "patient_level", "summaries", "total"} <= set(
        manifest["timings_seconds"]
    )


def test_attrition_adds_up_from_cohort_to_analysed(run_dir: Path) -> None:
    attrition = pl.read_csv(run_file(run_dir, "attrition.csv"), infer_schema=False)
    assert attrition["patients_before"][0] == "400"
    manifest = json.loads((run_file(run_dir, "manifest.json")).read_text())
    assert attrition["patients_after"][-1] == str(manifest["analysed"]["patients"])


def test_analysed_lines_have_their_endpoints(run_dir: Path) -> None:
    analysed = pl.read_parquet(run_file(run_dir, "analysis_lines.parquet"))
    endpoints = pl.read_parquet(run_file(run_dir, "endpoints.parquet"))
    pfs = endpoints.filter(pl.col("endpoint") == "PFS")
    assert analysed.join(pfs, on=["patient_id", "line"], how="anti").is_empty()
    summary = pl.read_parquet(run_file(run_dir, "summary_by_line.parquet"))
    line1 = summary.filter((pl.col("group") == "line 1") & (pl.col("endpoint") == "PFS"))
    assert line1["n_patients"].to_list() == [str(analysed.filter(pl.col("line") == 1).height)]


def test_two_runs_give_identical_tables_and_figures(
    cohort: Path, run_dir: Path, tmp_path: Path
) -> None:
    again = tmp_path / "again"
    assert main(["--quiet", "run", str(cohort), "--out", str(again)]) == 0
    written = [f"{n}.parquet" for n in (*AGGREGATE, *PATIENT_LEVEL)] + [
        f"{n}.csv" for n in AGGREGATE
    ]
    for name in written:
        assert run_file(run_dir, name).read_bytes() == run_file(again, name).read_bytes(), name
    for figure in (run_file(run_dir, "figures")).iterdir():
        assert figure.read_bytes() == (run_file(again, "figures") / figure.name).read_bytes(), (
            figure.name
        )


def test_no_identifier_in_any_aggregate_output(
    named_cohort: tuple[Path, list[str]], tmp_path: Path
) -> None:
    cohort, ids = named_cohort
    out = tmp_path / "run"
    assert (
        main(["--quiet", "run", str(cohort), "--out", str(out), "--config", "outcomes-by-line"])
        == 0
    )
    aggregate_files = [
        run_file(out, f"{name}.{ext}") for name in AGGREGATE for ext in ("csv", "parquet")
    ]
    aggregate_files += [run_file(out, "report.html"), *sorted((run_file(out, "figures")).iterdir())]
    fragments = {"MRN-", "Doe, Jane"} | set(ids[:50])
    for path in aggregate_files:
        text = path.read_bytes().decode("latin-1")
        hits = [f for f in fragments if f in text]
        assert not hits, f"{path.name} holds identifiers {hits[:3]}"
    # while the patient-level tables do hold them (the check above can fail)
    assert pl.read_parquet(run_file(out, "lines.parquet"))["patient_id"].str.contains("MRN-").any()


def test_small_counts_are_suppressed_in_aggregate_tables(run_dir: Path) -> None:
    counts = pl.read_csv(run_file(run_dir, "summary_by_line.csv"), infer_schema=False)
    shown = [int(v) for v in counts["n_patients"].to_list() if v and v.isdigit()]
    assert all(v == 0 or v >= 11 for v in shown)
    rates = pl.read_csv(run_file(run_dir, "response_rates.csv"), infer_schema=False)
    n_columns = [c for c in rates.columns if c.startswith("n_")]
    values = [v for c in n_columns for v in rates[c].to_list() if v is not None]
    assert any(v == "<11" for v in values)  # 400 patients: later lines have small cells
    assert all(v == "<11" or v == "withheld" or int(v) == 0 or int(v) >= 11 for v in values)


def test_example_study_with_one_index_line_per_patient(cohort: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert (
        main(["--quiet", "run", str(cohort), "--out", str(out), "--config", "triple-class-exposed"])
        == 0
    )
    analysed = pl.read_parquet(run_file(out, "analysis_lines.parquet"))
    assert analysed["patient_id"].is_unique().all()
    assert (analysed["prior_lines"] >= 3).all() and analysed["triple_class_exposed"].all()
    assert not analysed["includes_car_t"].any()


def test_bad_study_file_fails_naming_the_field(cohort: Path, tmp_path: Path, capsys) -> None:
    study = tmp_path / "study.toml"
    study.write_text('[population]\nregimens = ["Dara-Rd-X"]\n[study]\nindex = "first"\n')
    assert main(["run", str(cohort), "--out", str(tmp_path / "o"), "--config", str(study)]) == 1
    err = capsys.readouterr().err
    assert "[population.regimens]" in err and "[study.index]" in err
    assert not (tmp_path / "o").exists()


def test_partitions_do_not_change_any_result(cohort: Path, run_dir: Path, tmp_path: Path) -> None:
    """Partitions of 37 patients (11 of them, written while the next is analysed) give the same
    rows as one partition of 400: patients are independent and the attrition steps add up."""
    from mmrwe.study import run_study

    small = tmp_path / "small"
    run_study(cohort, small, partition_size=37, report=False)
    for name in (*AGGREGATE, *PATIENT_LEVEL):
        a = pl.read_parquet(run_file(run_dir, f"{name}.parquet"))
        b = pl.read_parquet(run_file(small, f"{name}.parquet"))
        assert a.equals(b), name
    for name in AGGREGATE:
        assert (run_file(run_dir, f"{name}.csv")).read_bytes() == (
            run_file(small, f"{name}.csv")
        ).read_bytes()


def test_cohort_without_assessments_says_what_it_cannot_support(
    cohort: Path, tmp_path: Path, capsys
) -> None:
    """Only patients and treatments: PFS cannot be observed; the run says so everywhere."""
    minimal = tmp_path / "minimal"
    minimal.mkdir()
    for table in ("patients", "treatments"):
        (minimal / f"{table}.parquet").write_bytes((cohort / f"{table}.parquet").read_bytes())
    out = tmp_path / "run"
    assert main(["run", str(minimal), "--out", str(out)]) == 0
    assert "neither labs nor responses" in capsys.readouterr().err
    manifest = json.loads((run_file(out, "manifest.json")).read_text())
    assert any("no adverse_events" in w for w in manifest["warnings"])
    assert "neither labs nor responses" in (run_file(out, "report.html")).read_text()
    rates = pl.read_parquet(run_file(out, "response_rates.parquet"))
    assert rates["n_evaluable"].to_list() == ["0"] * rates.height


def test_no_suppressed_cell_is_recoverable_from_published_totals(
    cohort: Path, run_dir: Path, tmp_path: Path
) -> None:
    """Response rates and attrition as written (text), checked by the verifier that solves every
    relation, the linear system of all of them and the bounds a reader knows (docs/privacy.md)."""
    from mmrwe.privacy import ATTRITION_COUNTS, attrition_relations, recoverable_cells
    from mmrwe.stats.response_rates import response_columns, response_relations

    out = tmp_path / "tce"
    assert main(["--quiet", "run", str(cohort), "--out", str(out), "--config", "ide-cel"]) == 0
    for directory in (run_dir, out):
        rates = pl.read_parquet(run_file(directory, "response_rates.parquet"))
        _, counts, _ = response_columns("group")
        assert recoverable_cells(rates, counts, response_relations(), threshold=11) == []
        attrition = pl.read_parquet(run_file(directory, "attrition.parquet"))
        relations = attrition_relations(attrition)
        assert recoverable_cells(attrition, list(ATTRITION_COUNTS), relations, threshold=11) == []
    # the ide-cel study selects few patients: small cells exist and are protected
    published = pl.read_parquet(run_file(out, "attrition.parquet"))
    assert "<11" in published["patients_after"].to_list()
