"""The golden run: the patient-level chain and the summaries give byte-identical tables to the
ones checked in under ``tests/golden/expected`` (regenerated only deliberately, with
``python -m tests.golden.golden``, when a rule changes on purpose)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.golden.golden import EXPECTED, RUNS, digest, run, simulate, whole


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return simulate(tmp_path_factory.mktemp("golden"))


@pytest.mark.parametrize("name", list(RUNS))
def test_tables_byte_identical_to_the_golden_run(name: str, cohort: Path, tmp_path: Path) -> None:
    out = run(cohort, tmp_path, name)
    expected = json.loads((EXPECTED / name / "digests.json").read_text())
    got = digest(out)
    assert sorted(got) == sorted(expected), "the run writes other tables than the golden run"
    for table in whole(got):
        assert (out / f"{table}.csv").read_text() == (
            EXPECTED / name / f"{table}.csv"
        ).read_text(), f"{name}: {table}.csv differs from the golden run"
    changed = [t for t in sorted(got) if got[t] != expected[t]]
    assert not changed, f"{name}: tables differ from the golden run: {changed}"
