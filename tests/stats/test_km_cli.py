"""``mmrwe km`` end to end (docs/cli.md contract), its numbers checked against R's values."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from mmrwe.cli.app import main
from tests.stats.survival_reference import R_DIR, assert_close, expected

LUNG = R_DIR / "data" / "lung2.csv"


def _r(table: str, analysis: str, conf_type: str = "log", level: float = 0.95) -> pl.DataFrame:
    df = expected(table).filter(pl.col("analysis") == analysis)
    if "conf_type" in df.columns:
        df = df.filter(pl.col("conf_type") == conf_type, pl.col("conf_level") == level)
    return df


def test_lung_by_sex_matches_r(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """R: survfit(Surv(time, status) ~ sex, lung) prints median 270 (212, 310) and
    426 (348, 550); survdiff chisq 10.3 on 1 df."""
    out, png = tmp_path / "km.json", tmp_path / "km.png"
    argv = [
        "km",
        str(LUNG),
        "--time",
        "time",
        "--event",
        "event",
        "--by",
        "sex",
        "--times",
        "90,365,730,1100",
        "--tau",
        "365",
        "--json",
        str(out),
        "--plot",
        str(png),
    ]
    assert main(argv) == 0
    doc = json.loads(out.read_text())
    assert doc["conf_type"] == "log" and doc["conf_level"] == 0.95
    assert [g["group"] for g in doc["groups"]] == [1, 2]
    assert [g["n"] for g in doc["groups"]] == [138, 90]
    assert [g["events"] for g in doc["groups"]] == [112, 53]
    q = _r("km_quantiles", "lung_sex")
    for i, g in enumerate(doc["groups"]):
        for p, key in ((0.25, "0.25"), (0.5, "0.5"), (0.75, "0.75")):
            r = q.filter(pl.col("group") == str(i + 1), pl.col("prob") == p)
            got = g["quantiles"][key]
            assert_close(
                [got["estimate"], got["lower"], got["upper"]],
                [r["estimate"][0], r["lower"][0], r["upper"][0]],
                f"q{key}",
            )
        assert g["median"] == g["quantiles"]["0.5"]
    assert doc["groups"][0]["median"] == {"estimate": 270, "lower": 212, "upper": 310}
    at = _r("km_at_times", "lung_sex").filter(pl.col("time").is_in([90.0, 365.0, 730.0, 1100.0]))
    ours = [r | {"group": str(g["group"])} for g in doc["groups"] for r in g["at_times"]]
    for col in ("time", "surv", "lower", "upper", "std_err", "n_risk"):
        assert_close([r[col] for r in ours], at[col], f"at_times {col}")
    rm = _r("km_rmst", "lung_sex").filter(pl.col("tau") == 365)
    assert_close([g["rmst"]["estimate"] for g in doc["groups"]], rm["rmean"], "rmst")
    assert_close([g["rmst"]["std_err"] for g in doc["groups"]], rm["se"], "rmst se")
    lr = _r("logrank", "lung_sex")
    assert_close(
        [doc["logrank"]["chisq"], doc["logrank"]["p"]], [lr["chisq"][0], lr["p"][0]], "logrank"
    )
    assert doc["logrank"]["df"] == 1
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    shown = capsys.readouterr().out
    assert "95% CI, log" in shown and "270 (212–310)" in shown


def test_without_options_only_the_core_keys(tmp_path: Path) -> None:
    out = tmp_path / "km.json"
    assert main(["km", str(LUNG), "--time", "time", "--event", "event", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert set(doc) == {"conf_type", "conf_level", "groups"}
    (g,) = doc["groups"]
    assert g["group"] is None and g["n"] == 228 and g["events"] == 165
    assert set(g) == {"group", "n", "events", "median", "quantiles"}


def test_log_log_level_and_null_quantiles(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ova by rx, log-log 90%: the 25th percentile upper limit of rx 2 never reaches (R: NA)."""
    out = tmp_path / "km.json"
    argv = [
        "km",
        str(R_DIR / "data" / "ova.csv"),
        "--time",
        "time",
        "--event",
        "event",
        "--by",
        "rx",
        "--conf-type",
        "log-log",
        "--conf-level",
        "0.8",
        "--json",
        str(out),
    ]
    assert main(argv) == 0
    doc = json.loads(out.read_text())
    assert doc["conf_type"] == "log-log" and doc["conf_level"] == 0.8
    q = _r("km_quantiles", "ova_rx", "log-log", 0.8).filter(pl.col("prob") == 0.5)
    got = [doc["groups"][i]["median"][k] for i in (0, 1) for k in ("estimate", "lower", "upper")]
    want = [q.row(i, named=True)[k] for i in (0, 1) for k in ("estimate", "lower", "upper")]
    assert got == want
    assert None in got  # the median of rx 2 is not reached: null, never a number
    assert "80% CI, log-log" in capsys.readouterr().out


def test_entry_omits_logrank_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "km.json"
    argv = [
        "km",
        str(R_DIR / "data" / "entry.csv"),
        "--time",
        "time",
        "--event",
        "event",
        "--entry",
        "entry",
        "--by",
        "group",
        "--times",
        "3,7,10",
        "--json",
        str(out),
    ]
    assert main(argv) == 0
    doc = json.loads(out.read_text())
    assert "logrank" not in doc
    assert "log-rank test is omitted" in capsys.readouterr().err
    at = _r("km_at_times", "entry_delayed_group")
    ours = [r for g in doc["groups"] for r in g["at_times"]]
    assert_close([r["n_risk"] for r in ours], at["n_risk_at_t"], "n_risk #{entry < t <= T}")
    assert_close([r["surv"] for r in ours], at["surv"], "surv")


def test_missing_groups_dropped_and_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "d.csv"
    pl.DataFrame(
        {"t": [1, 2, 3, 4, 5], "e": [1, 0, 1, 1, 0], "arm": ["a", None, "b", "a", None]}
    ).write_csv(path)
    out = tmp_path / "km.json"
    assert (
        main(["km", str(path), "--time", "t", "--event", "e", "--by", "arm", "--json", str(out)])
        == 0
    )
    doc = json.loads(out.read_text())
    assert [(g["group"], g["n"]) for g in doc["groups"]] == [("a", 2), ("b", 1)]
    assert "2 rows with a missing 'arm' were dropped" in capsys.readouterr().err


def test_parquet_input(tmp_path: Path) -> None:
    path = tmp_path / "lung.parquet"
    pl.read_csv(LUNG).write_parquet(path)
    out = tmp_path / "km.json"
    assert main(["km", str(path), "--time", "time", "--event", "event", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["groups"][0]["median"]["estimate"] == 310


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ({"t": [1, 2, None], "e": [1, 0, 1]}, "Column 't', row 3"),
        ({"t": [1, -2, 3], "e": [1, 0, 1]}, "Column 't', row 2"),
        ({"t": [1, 2, 3], "e": [1, 2, 1]}, "Column 'e', row 2"),
        ({"t": [1, 2, 3], "e": ["yes", "no", "no"]}, "Column 'e', row 1"),
    ],
)
def test_bad_data_exit_1_naming_column_and_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rows: dict, message: str
) -> None:
    path = tmp_path / "bad.csv"
    pl.DataFrame(rows).write_csv(path)
    assert main(["km", str(path), "--time", "t", "--event", "e"]) == 1
    err = capsys.readouterr().err
    assert message in " ".join(err.split())


def test_unknown_column_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["km", str(LUNG), "--time", "days", "--event", "event"]) == 1
    assert "Column 'days' (given to --time) is not in" in " ".join(capsys.readouterr().err.split())


@pytest.mark.parametrize(
    "extra", [["--conf-type", "linear"], ["--conf-level", "95"], ["--times", "a,b"]]
)
def test_usage_errors_exit_2(extra: list[str]) -> None:
    assert main(["km", str(LUNG), "--time", "time", "--event", "event", *extra]) == 2


def test_logrank_with_singular_variance_is_null_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every subject fails at one time: the log-rank variance is 0. R's survdiff stops
    ("Lapack routine dgesv: system is exactly singular"; survival 3.5, survdiff(Surv(c(1,1,1,1),
    c(1,1,1,1)) ~ c(0,0,0,1))); mmrwe reports the statistic as undefined (null)."""
    data = tmp_path / "tied.csv"
    data.write_text("time,event,arm\n1,1,a\n1,1,a\n1,1,a\n1,1,b\n")
    out = tmp_path / "km.json"
    assert main(["km", str(data), "--time", "time", "--event", "event", "--by", "arm",
                 "--json", str(out)]) == 0  # fmt: skip
    logrank = json.loads(out.read_text())["logrank"]
    assert {k: logrank[k] for k in ("chisq", "df", "p")} == {"chisq": None, "df": 1, "p": None}
    assert "singular variance" in capsys.readouterr().out
