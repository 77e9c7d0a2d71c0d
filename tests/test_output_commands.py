"""The output contract every command that writes a run directory keeps (docs/cli.md):
byte-identical tables on the same input, and an existing directory refused unless --overwrite."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmrwe.cli.app import main
from mmrwe.io.output import run_file

OUTPUTS = {
    "lines": ("lines", "line_exposures", "unmapped_drugs", "attrition"),
    "response": (
        "lines",
        "line_exposures",
        "unmapped_drugs",
        "assessments",
        "line_response",
        "attrition",
    ),
}


@pytest.mark.parametrize("command", list(OUTPUTS))
def test_two_runs_give_identical_tables(command: str, small_cohort: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert main([command, str(small_cohort), "--out", str(a), "--csv"]) == 0
    assert main([command, str(small_cohort), "--out", str(b), "--csv"]) == 0
    for name in OUTPUTS[command]:
        for ext in ("parquet", "csv"):
            file = f"{name}.{ext}"
            assert run_file(a, file).read_bytes() == run_file(b, file).read_bytes()


@pytest.mark.parametrize("command", list(OUTPUTS))
def test_existing_output_refused_unless_overwrite(
    command: str, small_cohort: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    assert main([command, str(small_cohort), "--out", str(out)]) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert main([command, str(small_cohort), "--out", str(out), "--overwrite"]) == 0
