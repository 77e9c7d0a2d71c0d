"""``mmrwe lines``: outputs, manifest, refractoriness from recorded PD, config and drug map errors."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from mmrwe.cli.app import main
from mmrwe.errors import ConfigError
from mmrwe.io.output import run_file
from tests.conftest import TABLES, write_cohort
from tests.test_output_commands import OUTPUTS as COMMAND_OUTPUTS

OUTPUTS = COMMAND_OUTPUTS["lines"]


def test_writes_tables_and_manifest(small_cohort: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["lines", str(small_cohort), "--out", str(out), "--csv"]) == 0
    for name in OUTPUTS:
        assert (run_file(out, f"{name}.parquet")).exists() and (
            run_file(out, f"{name}.csv")
        ).exists()
    lines = pl.read_parquet(run_file(out, "lines.parquet"))
    # P001 Rd, P002 bortezomib alone (V), P003 (1 line before the data) daratumumab, then P
    assert lines.select("patient_id", "line", "regimen").rows() == [
        ("P001", 1, "Rd"),
        ("P002", 1, "V"),
        ("P003", 2, "daratumumab"),
        ("P003", 3, "P"),
    ]
    manifest = json.loads((run_file(out, "manifest.json")).read_text())
    assert "recorded PD" in manifest["progression_source"]
    assert manifest["config"]["lines"]["regimen_window_days"] == 28
    assert {i["file"] for i in manifest["inputs"]} >= {"patients.csv", "treatments.csv"}
    exact = json.loads((run_file(out, "manifest_patient_level.json")).read_text())
    assert exact["outputs"]["lines"] == 4 and "lines" not in manifest["outputs"]
    attrition = pl.read_parquet(run_file(out, "attrition.parquet"))
    assert attrition["patients_after"].to_list()[:-1] == attrition["patients_before"].to_list()[1:]


def test_recorded_pd_makes_refractory(tmp_path: Path) -> None:
    tables = dict(TABLES)
    # P003 progresses on daratumumab (recorded PD) before pomalidomide starts
    tables["responses"] += "P003,2020-06-15,PD\n"
    out = tmp_path / "out"
    assert main(["lines", str(write_cohort(tmp_path / "c", tables)), "--out", str(out)]) == 0
    lines = pl.read_parquet(run_file(out, "lines.parquet")).filter(pl.col("patient_id") == "P003")
    assert lines["anti_cd38_refractory"].to_list() == [False, True]


def test_config_overrides_and_errors(small_cohort: Path, tmp_path: Path, capsys) -> None:
    good = tmp_path / "study.toml"
    good.write_text("[lines]\ngap_days = 20\n")
    out = tmp_path / "out"
    assert main(["lines", str(small_cohort), "--out", str(out), "--config", str(good)]) == 0
    assert (
        json.loads((run_file(out, "manifest.json")).read_text())["config"]["lines"]["gap_days"]
        == 20
    )
    bad = tmp_path / "bad.toml"
    bad.write_text('[lines]\ngap_days = "ninety"\nregimen_window = 21\n')
    assert (
        main(["lines", str(small_cohort), "--out", str(tmp_path / "o2"), "--config", str(bad)]) == 1
    )
    err = capsys.readouterr().err
    assert "[lines.gap_days]" in err and "[lines.regimen_window]" in err  # both reported at once


def test_drug_map_extends_vocabulary(tmp_path: Path) -> None:
    tables = dict(TABLES)
    tables["treatments"] += "P001,XR-4411,2015-09-01,2015-10-01,,,\n"
    cohort = write_cohort(tmp_path / "c", tables)
    out1, out2 = tmp_path / "o1", tmp_path / "o2"
    assert main(["lines", str(cohort), "--out", str(out1)]) == 0
    assert pl.read_parquet(run_file(out1, "unmapped_drugs.parquet"))["drug"].to_list() == [
        "XR-4411"
    ]
    drug_map = tmp_path / "map.csv"
    drug_map.write_text("name,generic_name,class\nXR-4411,xr-4411,investigational\n")
    assert main(["lines", str(cohort), "--out", str(out2), "--drug-map", str(drug_map)]) == 0
    assert pl.read_parquet(run_file(out2, "unmapped_drugs.parquet")).height == 0
    p1 = pl.read_parquet(run_file(out2, "lines.parquet")).filter(pl.col("patient_id") == "P001")
    assert p1.height == 2  # the investigational agent started months into Rd opens line 2


def test_invalid_cohort_exits_1_naming_the_row(tmp_path: Path, capsys) -> None:
    tables = dict(TABLES)
    tables["treatments"] = tables["treatments"].replace("P003,dara", "P099,dara")
    assert (
        main(["lines", str(write_cohort(tmp_path / "c", tables)), "--out", str(tmp_path / "o")])
        == 1
    )
    err = capsys.readouterr().err
    assert "treatments.csv" in err and "row 4" in err and "P099" in err
    assert not (tmp_path / "o").exists()


def test_config_response_section_is_read(tmp_path: Path) -> None:
    from mmrwe.study.config import load_config

    path = tmp_path / "study.toml"
    path.write_text("[lines]\ngap_days = 60\n\n[response]\nassessment_window_days = 10\n")
    study = load_config(path)
    assert (study.lines.gap_days, study.response.assessment_window_days) == (60, 10)
    path.write_text("[respons]\nassessment_window_days = 10\n")
    with pytest.raises(ConfigError, match=r"\[respons\]"):
        load_config(path)
