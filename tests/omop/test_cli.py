"""The README's OMOP commands, as written (simulate --format omop, omop check, run), and demo --omop."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmrwe.cli.app import main


def test_readme_omop_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert (
        main(
            [
                "simulate",
                "--format",
                "omop",
                "--out",
                "cdm.duckdb",
                "--patients",
                "120",
                "--seed",
                "1",
            ]
        )
        == 0
    )
    url = f"omop+duckdb://{tmp_path / 'cdm.duckdb'}"
    assert main(["omop", "check", url, "--json", "check.json"]) == 0
    numbers = json.loads((tmp_path / "check.json").read_text())
    assert numbers["cdm_version"] == "v5.4"
    assert numbers["persons_with_myeloma"] == numbers["persons"] == 120
    assert main(["run", url, "--out", "omop-results", "--no-report"]) == 0
    manifest = json.loads((tmp_path / "omop-results" / "manifest.json").read_text())
    assert manifest["inputs"][0]["omop_mapping"]["persons_with_myeloma"] == 120


def test_demo_through_omop(tmp_path: Path) -> None:
    assert (
        main(["--quiet", "demo", "--omop", "--out", str(tmp_path / "demo"), "--patients", "150"])
        == 0
    )
    assert (tmp_path / "demo" / "cdm.duckdb").is_file()
    assert (tmp_path / "demo" / "run" / "report.html").is_file()
