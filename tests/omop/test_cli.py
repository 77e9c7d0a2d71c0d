"""The README's OMOP commands, as written (simulate --format omop, omop check, run), and demo --omop."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from mmrwe.cli.app import main
from mmrwe.io.output import run_file

ROOT = Path(__file__).resolve().parents[2]


def readme_omop_block() -> list[list[str]]:
    """The ``mmrwe`` lines of the README's OMOP bash block, comments cut."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("Data in an OMOP CDM v5.4", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "the README's OMOP paragraph has no bash block"
    return [
        shlex.split(line, comments=True)
        for line in block.group(1).splitlines()
        if line.startswith("mmrwe ")
    ]


def test_readme_omop_commands_run_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every DuckDB line of the README's OMOP block, $PWD being the working directory (the
    PostgreSQL line needs a server with a CDM: its path is tested in test_roundtrip)."""
    monkeypatch.chdir(tmp_path)
    commands = [
        [a.replace("$PWD", str(tmp_path)) for a in c]
        for c in readme_omop_block()
        if not any("postgresql" in a for a in c)
    ]
    assert [c[1] for c in commands] == ["simulate", "omop", "run", "run"]
    for command in commands:
        assert main(["--quiet", *command[1:]]) == 0, command
    url = f"omop+duckdb://{tmp_path / 'cdm.duckdb'}"
    assert main(["omop", "check", url, "--json", "check.json"]) == 0
    numbers = json.loads((tmp_path / "check.json").read_text())
    assert numbers["cdm_version"] == "v5.4"
    assert numbers["persons_with_myeloma"] == numbers["persons"] == 500
    manifest = json.loads((run_file(tmp_path / "omop-results", "manifest.json")).read_text())
    assert manifest["inputs"][0]["omop_mapping"]["persons_with_myeloma"] == 500
    import duckdb

    with duckdb.connect(str(tmp_path / "cdm.duckdb"), read_only=True) as con:
        episodes = con.sql("SELECT count(*) FROM mmrwe_results.episode").fetchall()[0][0]
    lines = sum(1 for _ in (tmp_path / "omop-episodes").rglob("episode_event.parquet"))
    assert episodes > 500 and lines == 1


def test_demo_through_omop(tmp_path: Path) -> None:
    assert (
        main(["--quiet", "demo", "--omop", "--out", str(tmp_path / "demo"), "--patients", "150"])
        == 0
    )
    assert (tmp_path / "demo" / "cdm.duckdb").is_file()
    assert (run_file(tmp_path / "demo" / "run", "report.html")).is_file()


def test_concept_map_option_reaches_the_omop_reader(tmp_path: Path) -> None:
    """--concept-map on mmrwe validate/response/lines: a local code of a hand-made CDM (every measurement
    of the fragment recoded to it) is read as serum M-protein only with the map; on a native
    cohort the option is refused."""
    import polars as pl

    from mmrwe.omop.render import write_duckdb

    from .fragments import fragment

    tables = fragment()
    tables["measurement"] = tables["measurement"].with_columns(
        measurement_concept_id=pl.lit(44, pl.Int64)
    )
    write_duckdb(tables, tmp_path / "cdm.duckdb")
    cmap = tmp_path / "map.csv"
    cmap.write_text(
        "domain,vocabulary_id,concept_code,mmrwe_name,unit\n"
        "measurement,Local,MSPIKE-LOCAL,serum_m_protein,\n"
    )
    url = f"omop+duckdb://{tmp_path / 'cdm.duckdb'}"
    assert (
        main(["--quiet", "response", url, "--out", str(tmp_path / "a"), "--concept-map", str(cmap)])
        == 0
    )
    assert main(["--quiet", "validate", url, "--concept-map", str(cmap)]) == 0
    # exact input counts stay with the patient-level data (manifest_patient_level.json)
    manifest = json.loads((run_file(tmp_path / "a", "manifest_patient_level.json")).read_text())
    # 1500 mg/dL and a word (no unit: canonical) are read; mmol/L is excluded, counted
    assert manifest["input_rows"]["labs"] == 2
    assert main(["--quiet", "response", url, "--out", str(tmp_path / "b")]) == 0
    rows = json.loads((run_file(tmp_path / "b", "manifest_patient_level.json")).read_text())[
        "input_rows"
    ]
    assert rows.get("labs", 0) == 0
    assert (
        main(
            [
                "--quiet",
                "lines",
                str(tmp_path),
                "--out",
                str(tmp_path / "c"),
                "--concept-map",
                str(cmap),
            ]
        )
        == 1
    )
