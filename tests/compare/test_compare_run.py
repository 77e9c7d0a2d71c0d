"""``mmrwe compare``: a run's real-world cohort beside a trial arm, end to end."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from mmrwe.cli.app import main
from mmrwe.io.output import run_file
from mmrwe.simulate import simulate_cohort
from mmrwe.stats import KaplanMeier
from mmrwe.study import run_study


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("compare")
    simulate_cohort(root / "cohort", n_patients=2000, seed=42)
    out = {}
    for study in ("isa-pd", "triple-class-exposed", "outcomes-by-line"):
        out[study] = root / study
        run_study(root / "cohort", out[study], config=study, report=False)
    return out


def test_medians_only_against_icaria_mm(runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    assert main(["--quiet", "compare", str(runs["isa-pd"]), "--trial", "ICARIA-MM", "--arm",
                 "Isa-Pd", "--out", str(out)]) == 0  # fmt: skip
    table = pl.read_parquet(out / "comparison.parquet")
    median = table.filter(pl.col("measure") == "median").row(0, named=True)
    assert median["trial_published"] == 11.5  # Attal M, Lancet 2019
    assert median["note"] == "no digitised curve: medians and landmark rates only"
    # the real-world median is the Kaplan-Meier median of the run's own PFS rows
    pfs = (
        pl.read_parquet(run_file(runs["isa-pd"], "endpoints.parquet"))
        .join(
            pl.read_parquet(run_file(runs["isa-pd"], "analysis_lines.parquet")).select(
                "patient_id", "line"
            ),
            on=["patient_id", "line"],
        )
        .filter(pl.col("endpoint") == "PFS")
    )
    km = KaplanMeier().fit(pfs["time_months"].to_numpy(), pfs["event"].to_numpy())
    assert median["rw_unadjusted"] == pytest.approx(km.median_[0])
    manifest = json.loads((run_file(out, "manifest.json")).read_text())
    assert "Attal" in manifest["citation"] and manifest["simulated_data"] is True
    page = (out / "comparison.html").read_text()
    assert "Simulated data" in page and "data:image/svg+xml;base64," in page
    assert not re.search(r"(src|href)=\"https?://", page)


def test_maic_against_reconstructed_trial_data(runs: dict[str, Path], tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    ipd = tmp_path / "karmma_pfs.csv"
    times = rng.exponential(8.8 / np.log(2), 128)  # median 8.8 months as KarMMa's PFS
    cens = rng.uniform(6, 30, 128)
    pl.DataFrame({"time": np.minimum(times, cens), "event": (times <= cens).astype(int)}).write_csv(
        ipd
    )
    out = tmp_path / "cmp"
    code = main(["--quiet", "compare", str(runs["triple-class-exposed"]), "--trial", "karmma",
                 "--arm", "ide-cel", "--match-on", "median_age,penta_refractory",
                 "--trial-ipd", str(ipd), "--bootstrap", "50", "--out", str(out)])  # fmt: skip
    assert code == 0
    balance = pl.read_parquet(out / "balance.parquet")
    targets = dict(zip(balance["covariate"], balance["target"], strict=True))
    assert targets == {"median_age": 0.5, "penta_refractory": 0.26}  # Munshi NC, NEJM 2021
    assert np.allclose(balance["mean_after"], balance["target"], atol=1e-6)
    weights = pl.read_parquet(out / "weights.parquet").row(0, named=True)
    assert 0 < weights["ess"] < weights["patients_used"]
    table = pl.read_parquet(out / "comparison.parquet")
    assert table["analysis"].to_list() == ["unadjusted", "weighted"]
    assert table["n_trial"].to_list() == [128, 128]
    assert (run_file(out, "figures") / "comparison.svg").is_file()


def test_refusals_name_the_reason(runs: dict[str, Path], tmp_path: Path, capsys) -> None:
    base = ["compare", str(runs["triple-class-exposed"]), "--arm", "ide-cel", "--out"]
    assert (
        main([*base, str(tmp_path / "a"), "--trial", "karmma", "--match-on", "extramedullary"]) == 1
    )
    assert "records no extramedullary disease" in capsys.readouterr().err
    assert (
        main([*base, str(tmp_path / "b"), "--trial", "karmma-3", "--match-on", "ecog_2_plus"]) == 1
    )
    assert "Matching on it is refused" in capsys.readouterr().err
    # what the trial does not publish and what the data do not record: both, in one message
    both = ["--trial", "karmma-3", "--match-on", "ecog_2_plus,extramedullary"]
    assert main([*base, str(tmp_path / "e"), *both]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "ECOG >= 2 share (ecog_2_plus): not published" in err
    assert "extramedullary disease share (extramedullary): the native data model records" in err
    assert main([*base, str(tmp_path / "c"), "--trial", "karma"]) == 1
    assert "Did you mean" in capsys.readouterr().err
    by_line = ["compare", str(runs["outcomes-by-line"]), "--trial", "icaria-mm", "--arm", "isa-pd"]
    assert main([*by_line, "--out", str(tmp_path / "d")]) == 1
    assert "one index line per patient" in capsys.readouterr().err
    for name in "abcde":
        assert not (tmp_path / name).exists()


def _trial_ipd(path: Path, median: float, n: int = 150, seed: int = 7) -> Path:
    rng = np.random.default_rng(seed)
    times = rng.exponential(median / np.log(2), n)
    cens = rng.uniform(0.5 * median, 3 * median, n)
    frame = {"time": np.minimum(times, cens), "event": (times <= cens).astype(int)}
    pl.DataFrame(frame).write_csv(path)
    return path


def test_trial_times_in_days_are_named(runs: dict[str, Path], tmp_path: Path, capsys) -> None:
    """ICARIA-MM Isa-Pd published median PFS 11.5 months (Attal M, Lancet 2019); trial data
    given in days (median about 350) compared against months gave HR 36 without a word."""
    ipd = _trial_ipd(tmp_path / "icaria_days.csv", 11.5 * 30.4375)
    out = tmp_path / "cmp"
    args = ["--quiet", "compare", str(runs["isa-pd"]), "--trial", "ICARIA-MM", "--arm", "Isa-Pd",
            "--trial-ipd", str(ipd), "--bootstrap", "0", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "11.5 months" in err and "look like days" in err and "30.4375" in err
    manifest = json.loads((run_file(out, "manifest.json")).read_text())
    assert any("look like days" in w for w in manifest["warnings"])


def test_trial_times_in_months_raise_no_unit_warning(runs: dict[str, Path], tmp_path: Path) -> None:
    from mmrwe.compare.run import compare_run

    ipd = _trial_ipd(tmp_path / "icaria_months.csv", 11.5)
    result = compare_run(runs["isa-pd"], tmp_path / "cmp", trial="ICARIA-MM", arm="Isa-Pd",
                         trial_ipd=ipd, n_bootstrap=0)  # fmt: skip
    assert not [w for w in result.warnings if "median" in w and "published" in w]


@pytest.mark.parametrize(
    ("supplied", "unit"),
    [(350.0, "days"), (50.0, "weeks"), (0.96, "years"), (20.0, None), (13.5, "ok")],
)
def test_unit_suggestion_from_the_median_ratio(supplied: float, unit: str | None) -> None:
    """More than 20 % from the published 11.5 months is said; the unit is suggested when the
    ratio is that of days (30.4375), weeks (4.35) or years (1/12) within 20 %."""
    from mmrwe.compare.run import trial_unit_warning

    text = trial_unit_warning(supplied, 11.5, "PFS", "ICARIA-MM (Isa-Pd)")
    if unit == "ok":
        assert text is None  # 17 % apart: within the tolerance
        return
    assert text is not None and "differs from" in text
    if unit is None:
        assert "look like" not in text and "check the time unit" in text.lower()
    else:
        assert f"look like {unit}" in text
