"""``mmrwe km`` on an ADaM ADTTE table: ``--censor`` (1 = censored), the warnings that catch a
censoring flag given as the event, and the time unit of ``--plot`` (issue 14, item 9).

The ADTTE is R's ``lung`` data in ADaM layout: ``AVAL`` = ``time`` (days) and ``CNSR`` =
1 - event (``status == 1``: censored). Expected values come from R (tests/r, analysis "lung")::

    library(survival)
    adtte <- data.frame(AVAL = lung$time, CNSR = as.integer(lung$status == 1))
    survfit(Surv(AVAL, 1 - CNSR) ~ 1, data = adtte)
    #       n events median 0.95LCL 0.95UCL
    #     228    165    310     285     363
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from mmrwe.cli.app import main
from tests.stats.survival_reference import R_DIR, expected

#: R: survfit(Surv(time, status == 2) ~ 1, lung): n 228, events 165, median 310 (285, 363)
R_MEDIAN = {"estimate": 310, "lower": 285, "upper": 363}


def _adtte(tmp_path: Path, **extra: list[int]) -> Path:
    lung = pl.read_csv(R_DIR / "data" / "lung2.csv")
    df = pl.DataFrame(
        {
            "USUBJID": [f"LUNG-{i:03d}" for i in range(lung.height)],
            "PARAMCD": ["OS"] * lung.height,
            "AVAL": lung["time"],
            "CNSR": 1 - lung["event"],
            **extra,
        }
    )
    path = tmp_path / "adtte.csv"
    df.write_csv(path)
    return path


def _run(path: Path, tmp_path: Path, *options: str) -> tuple[int, dict | None]:
    out = tmp_path / "km.json"
    code = main(["km", str(path), "--time", "AVAL", *options, "--json", str(out)])
    return code, json.loads(out.read_text()) if code == 0 else None


def test_reference_median_is_r_s() -> None:
    """The constant above is the R reference file's value (guards against a typo)."""
    r = expected("km_quantiles").filter(
        pl.col("analysis") == "lung", pl.col("conf_type") == "log", pl.col("prob") == 0.5
    )
    assert r.select("estimate", "lower", "upper").row(0, named=True) == R_MEDIAN


def test_censor_column_gives_r_median(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = _run(_adtte(tmp_path), tmp_path, "--censor", "CNSR")
    assert code == 0 and doc is not None
    (g,) = doc["groups"]
    assert (g["n"], g["events"]) == (228, 165)
    assert g["median"] == R_MEDIAN
    assert "warning" not in capsys.readouterr().err


def test_event_named_cnsr_warns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """CNSR as the event column counts the 63 censorings as events (the silent error)."""
    code, doc = _run(_adtte(tmp_path), tmp_path, "--event", "CNSR")
    assert code == 0 and doc is not None
    assert doc["groups"][0]["events"] == 63
    err = " ".join(capsys.readouterr().err.split())
    assert "warning" in err and "CNSR" in err and "--censor CNSR" in err


def test_event_column_with_too_many_events_against_cnsr_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An all-ones flag (an analysis flag mistaken for the event) against a CNSR column that
    censors 63 of 228 rows."""
    path = _adtte(tmp_path, ANL01FL=[1] * 228)
    code, doc = _run(path, tmp_path, "--event", "ANL01FL")
    assert code == 0 and doc is not None
    err = " ".join(capsys.readouterr().err.split())
    assert "'ANL01FL' marks 228 of 228 rows (100 %) as events" in err
    assert "CNSR" in err and "63" in err


def test_consistent_event_column_does_not_warn(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lung = pl.read_csv(R_DIR / "data" / "lung2.csv")
    path = _adtte(tmp_path, EVENT=lung["event"].to_list())
    code, doc = _run(path, tmp_path, "--event", "EVENT")
    assert code == 0 and doc is not None and doc["groups"][0]["median"] == R_MEDIAN
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize("options", [[], ["--event", "CNSR", "--censor", "CNSR"]])
def test_exactly_one_of_event_and_censor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str]
) -> None:
    code, _ = _run(_adtte(tmp_path), tmp_path, *options)
    assert code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "--event" in err and "--censor" in err


@pytest.mark.parametrize(("unit", "label"), [(None, "Time (days)"), ("months", "Time (months)")])
def test_plot_axis_names_the_time_unit(tmp_path: Path, unit: str | None, label: str) -> None:
    svg = tmp_path / "km.svg"
    options = ["--censor", "CNSR", "--plot", str(svg)]
    options += ["--time-unit", unit] if unit else []
    code, _ = _run(_adtte(tmp_path), tmp_path, *options)
    assert code == 0
    assert f">{label}<" in svg.read_text()


def test_unknown_time_unit_refused(tmp_path: Path) -> None:
    code, _ = _run(_adtte(tmp_path), tmp_path, "--censor", "CNSR", "--time-unit", "weeks")
    assert code == 2


def test_censoring_reasons_as_positive_integers(tmp_path: Path) -> None:
    """ADaM CNSR codes a censoring reason as any positive integer: 2 is censored like 1."""
    path = _adtte(tmp_path)
    df = pl.read_csv(path).with_columns(pl.col("CNSR") * 2)
    df.write_csv(path)
    code, doc = _run(path, tmp_path, "--censor", "CNSR")
    assert code == 0 and doc is not None and doc["groups"][0]["median"] == R_MEDIAN


def test_bad_censoring_code_names_the_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.csv"
    pl.DataFrame({"AVAL": [1, 2, 3], "CNSR": [0, -1, 1]}).write_csv(path)
    code, _ = _run(path, tmp_path, "--censor", "CNSR")
    assert code == 1
    assert "Column 'CNSR', row 2" in " ".join(capsys.readouterr().err.split())
