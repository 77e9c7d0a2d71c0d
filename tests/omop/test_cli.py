"""The README's OMOP commands, as written (simulate --format omop, omop check, run), and demo --omop."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from mmrwe.cli.app import main

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
    assert [c[1] for c in commands] == ["simulate", "omop", "run"]
    for command in commands:
        assert main(["--quiet", *command[1:]]) == 0, command
    url = f"omop+duckdb://{tmp_path / 'cdm.duckdb'}"
    assert main(["omop", "check", url, "--json", "check.json"]) == 0
    numbers = json.loads((tmp_path / "check.json").read_text())
    assert numbers["cdm_version"] == "v5.4"
    assert numbers["persons_with_myeloma"] == numbers["persons"] == 500
    manifest = json.loads((tmp_path / "omop-results" / "manifest.json").read_text())
    assert manifest["inputs"][0]["omop_mapping"]["persons_with_myeloma"] == 500


def test_demo_through_omop(tmp_path: Path) -> None:
    assert (
        main(["--quiet", "demo", "--omop", "--out", str(tmp_path / "demo"), "--patients", "150"])
        == 0
    )
    assert (tmp_path / "demo" / "cdm.duckdb").is_file()
    assert (tmp_path / "demo" / "run" / "report.html").is_file()
