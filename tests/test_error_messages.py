"""Library errors speak the library's terms; the command line adds its flags (issue: library
errors must not name CLI flags)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mmrwe.cli.app import main
from mmrwe.errors import OutputExistsError
from mmrwe.io.output import refuse_existing

FLAG = re.compile(r"(?<![\w-])--[a-z]")


def test_library_error_names_no_flag(tmp_path: Path) -> None:
    with pytest.raises(OutputExistsError) as caught:
        refuse_existing(tmp_path, overwrite=False)
    assert not FLAG.search(str(caught.value)), str(caught.value)
    assert "overwrite=True" in str(caught.value)


def test_command_line_adds_its_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--quiet", "simulate", "--out", str(tmp_path), "--patients", "5"]) == 1
    err = capsys.readouterr().err
    assert "already exists" in err and "--overwrite" in err and "--out" in err
