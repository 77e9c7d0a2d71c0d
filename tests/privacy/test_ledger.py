"""Issue 20, channel 4: two studies of one cohort, read together, and the release ledger.

120 simulated patients (seed 3): outcomes by line publishes all 330 lines; ide-cel's
attrition publishes 328 "lines excluded: regimen not one of ide-cel" and its analysed lines as
'<11'. A reader of both releases gets 330 - 328 = 2. The independent attacker of
``tests/privacy/attacker.py`` reads only the shared files of both runs, with the identities
across releases docs/privacy.md states.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmrwe.simulate import simulate_cohort
from mmrwe.study.run import run_study
from tests.privacy.attacker import read_releases


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ledger") / "cohort"
    simulate_cohort(out, n_patients=120, seed=3)
    return out


def test_two_studies_of_one_cohort_without_the_ledger_give_a_small_count_back(
    cohort: Path, tmp_path: Path
) -> None:
    # what the ledger is for: each release protected on its own, read together
    runs = [tmp_path / s for s in ("outcomes-by-line", "ide-cel")]
    for run in runs:
        run_study(cohort, run, config=run.name, report=False)
    pinned = read_releases(runs).pinned()
    assert pinned.get("r1.manifest.lines") == 2


def test_the_ledger_protects_the_second_release_against_the_first(
    cohort: Path, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger.json"
    runs = [tmp_path / s for s in ("outcomes-by-line", "ide-cel")]
    for run in runs:
        run_study(cohort, run, config=run.name, report=False, ledger=ledger)
    attack = read_releases(runs)
    assert "r1.manifest.lines" in attack.hidden()
    assert attack.narrowed() == {}
    book = json.loads(ledger.read_text())
    (entry,) = book["cohorts"].values()
    assert [r["study"] for r in entry["releases"]] == [
        "Outcomes by line of therapy",
        "Ide-cel as standard of care",
    ]


def test_a_ledger_recognises_its_cohort_only(tmp_path: Path) -> None:
    # another cohort's releases are not linked (nothing in common), and a rerun of the same
    # analysis is one entry
    ledger = tmp_path / "ledger.json"
    for k, seed in enumerate((9, 9, 10)):
        cohort = tmp_path / f"cohort{seed}"
        if not cohort.exists():
            simulate_cohort(cohort, n_patients=40, seed=seed)
        run_study(
            cohort, tmp_path / f"r{k}", config="outcomes-by-line", report=False, ledger=ledger
        )
    book = json.loads(ledger.read_text())
    assert sorted(len(c["releases"]) for c in book["cohorts"].values()) == [1, 1]


def test_a_file_that_is_not_a_ledger_is_refused(cohort: Path, tmp_path: Path) -> None:
    from mmrwe.errors import ConfigError

    bad = tmp_path / "ledger.json"
    bad.write_text('{"something": 1}')
    with pytest.raises(ConfigError, match="not a release ledger"):
        run_study(cohort, tmp_path / "a", config="outcomes-by-line", report=False, ledger=bad)


def test_a_comparison_that_gives_back_a_withheld_count_is_refused(
    cohort: Path, tmp_path: Path
) -> None:
    # the run withholds its analysed patients (a complement) and an attrition step's small
    # exclusion; the comparison published the patients used (16, all of them), and the chain
    # gave the '<11' exclusion back (5). Now the comparison refuses, naming the cell.
    import polars as pl

    from mmrwe.compare.run import compare_run
    from mmrwe.privacy.release import ReleaseNotProtected
    from tests.privacy.attacker import read_run_and_comparisons

    run = tmp_path / "dara"
    result = run_study(cohort, run, config="daratumumab-combinations", report=False)
    used = result.population.analysis_lines.height
    assert result.manifest["analysed"]["patients"] == "withheld"
    before = tmp_path / "cmp_before"  # the counts the comparison wrote before
    before.mkdir()
    pl.DataFrame(
        {
            "patients_used": [used],
            "patients_missing_a_characteristic": ["0"],
            "patients_without_the_endpoint": ["0"],
        }
    ).write_csv(before / "weights.csv")
    assert read_run_and_comparisons(run, [before]).pinned()
    with pytest.raises(ReleaseNotProtected, match="attrition, row 13") as caught:
        compare_run(run, tmp_path / "cmp", trial="mammoth", arm="all", endpoint="OS")
    assert "5..5" not in str(caught.value)  # the cell is named, its value is not printed
    assert not (tmp_path / "cmp").exists()
