"""A run writes ADSL, ADTTE and ADRS as Parquet and SAS transport files (issue 19 item 2): one
ADSL record per patient with the analysed flagged, ADTTE one record per endpoint row, ADRS
per assessment and line; the transport files read back with their labels."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from mmrwe.adam import DATASETS, labels, read_xpt
from mmrwe.io.output import run_file


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mmrwe.simulate import simulate_cohort
    from mmrwe.study.run import run_study

    base = tmp_path_factory.mktemp("adam")
    simulate_cohort(base / "cohort", n_patients=150, seed=11)
    return run_study(base / "cohort", base / "run", config="isa-pd", report=False).out


def table(run: Path, name: str) -> pl.DataFrame:
    return pl.read_parquet(run_file(run, f"{name}.parquet"))


def test_adsl_has_every_patient_and_flags_the_analysed(run: Path) -> None:
    adsl, patients = table(run, "adsl"), table(run, "lines")["patient_id"].unique()
    analysed = table(run, "analysis_lines")
    assert adsl["USUBJID"].is_unique().all()
    assert set(patients) <= set(adsl["USUBJID"])
    flagged = adsl.filter(pl.col("FASFL") == "Y")
    assert set(flagged["USUBJID"]) == set(analysed["patient_id"])
    first = analysed.sort("line").group_by("patient_id").first()
    index = flagged.join(first, left_on="USUBJID", right_on="patient_id")
    assert (index["INDXLINE"] == index["line"]).all()
    assert (index["TRT01A"] == index["regimen"]).all()
    study = json.loads((run_file(run, "manifest.json")).read_text())["config"]["study"]["name"]
    assert set(adsl["STUDYID"]) == {study}


def test_adtte_and_adrs_cover_the_patient_level_tables(run: Path) -> None:
    endpoints, adtte = table(run, "endpoints"), table(run, "adtte")
    assert adtte.height == endpoints.height
    assert adtte.select("USUBJID", "PARAMCD").is_duplicated().sum() == 0  # BDS-TTE key
    adrs, responses = table(run, "adrs"), table(run, "line_response")
    for paramcd in ("BOR", "RSP", "PD"):
        assert adrs.filter(pl.col("PARAMCD") == paramcd).height == responses.height
    on_line = table(run, "assessments").filter(pl.col("role") == "on_line").height
    assert adrs.filter(pl.col("PARAMCD") == "OVR").height == on_line


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_transport_files_read_back_with_labels_and_values(run: Path, dataset: str) -> None:
    back, back_labels, name = read_xpt(run_file(run, f"{dataset.lower()}.xpt"), dataset)
    assert name == dataset and back_labels == labels(dataset)
    assert back.equals(table(run, dataset.lower()))
    manifest = json.loads((run_file(run, "manifest_patient_level.json")).read_text())
    assert f"{dataset.lower()}.xpt" in manifest["sas_transport"]
    assert run_file(run, f"{dataset.lower()}.xpt").parent.name == "patient_level"


def test_adam_text_is_ascii_for_sas(run: Path) -> None:
    for dataset in DATASETS:
        frame = table(run, dataset.lower())
        for column in frame.select(pl.col(pl.String)).columns:
            values = frame[column].drop_nulls().unique().to_list()
            assert all(v.isascii() for v in values), (dataset, column)


def test_large_runs_write_the_transport_files_in_another_process(run: Path, tmp_path: Path) -> None:
    """Above BACKGROUND_ROWS the files are written by a separate process (pyreadstat holds the
    GIL) while the run goes on; the files are byte-identical to those written in the run's
    process (the header times are fixed, so the same run gives the same bytes)."""
    import shutil

    from mmrwe.adam.xpt import BACKGROUND_ROWS, start_transport_files

    for dataset in DATASETS:
        shutil.copy(run_file(run, f"{dataset.lower()}.parquet"), tmp_path)
    wait = start_transport_files(tmp_path, rows=BACKGROUND_ROWS)
    assert wait() == [f"{d.lower()}.xpt" for d in DATASETS]
    for dataset in DATASETS:
        written = (tmp_path / f"{dataset.lower()}.xpt").read_bytes()
        assert written == (run_file(run, f"{dataset.lower()}.xpt")).read_bytes()
        assert b"01JAN60:00:00:00" in written[:560]
