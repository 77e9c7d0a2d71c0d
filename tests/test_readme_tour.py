"""The README's quick tour runs as written from a fresh clone: every file it names ships with
the repository (``examples/``) or is made by an earlier tour command."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from mmrwe.cli.app import main

ROOT = Path(__file__).resolve().parents[1]


def tour() -> list[list[str]]:
    """The ``mmrwe`` command lines of the README's "A quick tour" bash block, comments cut."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## A quick tour", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "the quick tour has no bash block"
    return [
        shlex.split(line, comments=True)
        for line in block.group(1).splitlines()
        if line.startswith("mmrwe ")
    ]


def clone(tmp_path: Path) -> Path:
    """What a fresh clone gives the tour: the repository's example files."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    return tmp_path


def test_every_example_file_the_tour_names_ships() -> None:
    named = {a for command in tour() for a in command if a.startswith("examples/")}
    assert {"examples/curve.csv", "examples/risk.csv", "examples/table.csv"} <= named
    for name in named:
        assert (ROOT / name).is_file(), name
    assert (ROOT / "examples" / "README.md").is_file()  # their sources


def test_the_example_commands_run_as_written(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(clone(tmp_path))
    commands = [c for c in tour() if any(a.startswith("examples/") for a in c)]
    assert [c[1] for c in commands] == ["reconstruct-ipd", "km"]
    for command in commands:
        assert main(["--quiet", *command[1:]]) == 0, command
    ipd = (tmp_path / "trial_ipd.csv").read_text().splitlines()
    assert ipd[0] == "time,event" and len(ipd) == 1 + 138  # the 138 men of the NCCTG data


@pytest.mark.slow
def test_the_whole_tour_runs_in_order(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(clone(tmp_path))
    for command in tour():
        assert main(["--quiet", *command[1:]]) == 0, command
    assert (tmp_path / "results" / "shareable" / "report.html").is_file()
    assert (tmp_path / "results" / "patient_level" / "lines.parquet").is_file()
    assert (
        tmp_path / "isa" / "shareable" / "comparisons" / "icaria-mm" / "manifest.json"
    ).is_file()
