"""A partition size that is not a whole number of patients of at least 1 is refused by
``run_study`` before anything is read, whichever engine would run the chain (it was checked on
the local path only, and 0 silently meant the default size)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmrwe.errors import ParameterError
from mmrwe.study.run import run_study


class NeverCalled:
    """An engine that fails the test if the run gets as far as using it."""

    name = "never"

    def __getattr__(self, attribute: str) -> object:
        raise AssertionError(f"the engine was used ({attribute}) before the size was checked")


@pytest.mark.parametrize("size", [0, -5, 2.5, True])
@pytest.mark.parametrize("engine", [None, NeverCalled()], ids=["local", "other engine"])
def test_a_bad_partition_size_is_refused_before_reading(
    tmp_path: Path, size: object, engine: object
) -> None:
    with pytest.raises(ParameterError, match="partition_size"):
        run_study(
            tmp_path / "no cohort here",
            tmp_path / "out",
            partition_size=size,  # type: ignore[arg-type]
            engine=engine,  # type: ignore[arg-type]
        )
    assert not (tmp_path / "out").exists()


def test_paths_given_as_text_are_paths(small_cohort: Path, tmp_path: Path) -> None:
    """A script that writes ``run_study("cohort", "out")`` runs (it crashed on ``str.exists``)."""
    run_study(str(small_cohort), str(tmp_path / "out"), stop_after="lines")
    assert (tmp_path / "out" / "shareable" / "manifest.json").is_file()
