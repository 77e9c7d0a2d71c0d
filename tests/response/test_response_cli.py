"""``mmrwe response``: outputs, manifest, determinism, refractoriness with lab-derived PD and the
no-minimal-response clause, errors."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from mmrwe.cli.app import main
from mmrwe.io.output import run_file
from tests.conftest import TABLES, write_cohort
from tests.response.helpers import day, write_case
from tests.test_output_commands import OUTPUTS as COMMAND_OUTPUTS

OUTPUTS = COMMAND_OUTPUTS["response"]

#: Rd from day 0 to 200, then pomalidomide from day 210
TWO_LINES = [["lenalidomide", 0, 200], ["dexamethasone", 0, 200], ["pomalidomide", 210, -1]]


def test_writes_tables_and_manifest(small_cohort: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["response", str(small_cohort), "--out", str(out), "--csv"]) == 0
    for name in OUTPUTS:
        assert (run_file(out, f"{name}.parquet")).exists() and (
            run_file(out, f"{name}.csv")
        ).exists()
    manifest = json.loads((run_file(out, "manifest.json")).read_text())
    assert "lab-derived PD" in manifest["progression_source"]
    assert manifest["config"]["response"]["assessment_window_days"] == 7
    exact = json.loads((run_file(out, "manifest_patient_level.json")).read_text())
    assert exact["outputs"]["line_response"] == 4
    lr = pl.read_parquet(run_file(out, "line_response.parquet"))
    # P001: baseline 3.1 g/dL (12 days before Rd); 15 g/L = 1.5 (52 % down, PR) on 2015-05-20,
    # <0.1 with a positive IFE (VGPR) on 2015-06-20: PR held twice, dated 2015-05-20
    p1 = lr.filter(pl.col("patient_id") == "P001").row(0, named=True)
    assert (p1["best_response"], p1["response_source"], p1["measurable_by"]) == (
        "PR",
        "labs",
        "serum",
    )
    assert p1["first_response_date"].isoformat() == "2015-05-20"
    # P002: urine 0.5 g/24h = 500 mg/24h measurable, but no assessment after bortezomib starts;
    # the physician recorded PR on 2016-09-01
    p2 = lr.filter(pl.col("patient_id") == "P002").row(0, named=True)
    assert (p2["best_response"], p2["response_source"]) == ("PR", "physician")
    assessments = pl.read_parquet(run_file(out, "assessments.parquet"))
    assert assessments["reason"].null_count() == 0
    attrition = pl.read_parquet(run_file(out, "attrition.parquet"))
    assert attrition["patients_after"].to_list()[:-1] == attrition["patients_before"].to_list()[1:]


def test_lab_pd_makes_refractory_where_recorded_pd_cannot(tmp_path: Path) -> None:
    """PR at days 28 and 56 (nadir 1.0), 1.6 and 1.8 g/dL at days 120 and 150: lab PD on day 120,
    on lenalidomide; no PD recorded. `mmrwe response` flags line 2 lenalidomide-refractory,
    `mmrwe lines` (recorded PD only) cannot."""
    case = {
        "therapy": TWO_LINES,
        "labs": [[-3, "serum_m_protein", "2.0", "g/dL"], [28, "serum_m_protein", "1.0", "g/dL"],
                 [56, "serum_m_protein", "1.0", "g/dL"], [120, "serum_m_protein", "1.6", "g/dL"],
                 [150, "serum_m_protein", "1.8", "g/dL"]],
    }  # fmt: skip
    cohort = write_case(case, tmp_path / "c")
    assert main(["response", str(cohort), "--out", str(tmp_path / "r")]) == 0
    assert main(["lines", str(cohort), "--out", str(tmp_path / "l")]) == 0
    with_labs = pl.read_parquet(run_file(tmp_path / "r", "lines.parquet"))
    recorded_only = pl.read_parquet(run_file(tmp_path / "l", "lines.parquet"))
    assert with_labs["len_refractory"].to_list() == [False, True]
    assert recorded_only["len_refractory"].to_list() == [False, False]
    lr = pl.read_parquet(run_file(tmp_path / "r", "line_response.parquet"))
    assert lr["progression_date"].to_list() == [day(120), None]


def test_no_minimal_response_makes_refractory(tmp_path: Path) -> None:
    """Line 1 stays in SD (24 % down, twice) and no PD is ever seen; lenalidomide stopped at day
    200 and line 2 starts 10 days later: refractory by the failure to reach MR."""
    case = {
        "therapy": TWO_LINES,
        "labs": [[-3, "serum_m_protein", "2.0", "g/dL"], [28, "serum_m_protein", "1.52", "g/dL"],
                 [56, "serum_m_protein", "1.52", "g/dL"]],
    }  # fmt: skip
    out = tmp_path / "r"
    assert main(["response", str(write_case(case, tmp_path / "c")), "--out", str(out)]) == 0
    lr = pl.read_parquet(run_file(out, "line_response.parquet"))
    assert lr["best_response"].to_list() == ["SD", "NE"]
    assert pl.read_parquet(run_file(out, "lines.parquet"))["len_refractory"].to_list() == [
        False,
        True,
    ]


def test_config_errors_are_reported(small_cohort: Path, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[lines]\ngap_days = "ninety"\n')
    out = tmp_path / "o"
    assert main(["response", str(small_cohort), "--out", str(out), "--config", str(bad)]) == 1
    assert "[lines.gap_days]" in capsys.readouterr().err
    assert not out.exists()


def test_invalid_cohort_exits_1_naming_the_row(tmp_path: Path, capsys) -> None:
    tables = dict(TABLES)
    tables["labs"] = tables["labs"].replace(
        "P001,2015-05-20,serum_m_protein,15,g/L", "P001,2015-05-20,serum_m_protein,15,mmol/L"
    )
    cohort = write_cohort(tmp_path / "c", tables)
    assert main(["response", str(cohort), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "labs.csv" in err and "row 2" in err and "mmol/L" in err
    assert not (tmp_path / "o").exists()
