"""Kaplan–Meier against R's survival 3.5 (values in tests/r/expected, made by make_reference.R).

R, for each analysis and confidence setting (see survival_reference.ANALYSES):
    fit <- survfit(Surv([entry,] time, event) ~ g, weights = w, conf.type = ct, conf.int = cl)
    summary(fit, censored = TRUE)              # km_curve.csv (95% limits only)
    summary(fit, times = times, extend = TRUE) # km_at_times.csv (+ n_risk_at_t counted)
    quantile(fit, probs = c(.1, .25, .5, .75, .9))  # km_quantiles.csv
    summary(fit, rmean = tau)$table            # km_rmst.csv (print(fit, rmean = tau))
    quantile(survfit(Surv(time, 1 - event) ~ g, weights = w), 0.5)  # km_followup.csv
"""

from __future__ import annotations

import polars as pl
import pytest

from mmrwe.stats import KaplanMeier, median_followup
from tests.stats.survival_reference import (
    ANALYSES,
    CONFS,
    assert_close,
    expected,
    fit_kwargs,
    with_text_group,
)

CASES = [(a, ct, cl) for a in ANALYSES for ct, cl in CONFS]


def _fit(analysis: str, conf_type: str, conf_level: float) -> KaplanMeier:
    return KaplanMeier(conf_type, conf_level).fit(**fit_kwargs(analysis))


def _r(table: str, analysis: str, conf_type: str | None = None, level: float | None = None):
    df = expected(table).filter(pl.col("analysis") == analysis)
    if conf_type is not None:
        df = df.filter(
            pl.col("conf_type") == conf_type, (pl.col("conf_level") - level).abs() < 1e-9
        )
    assert df.height > 0, f"no R values for {analysis} {conf_type} {level}"
    return df


@pytest.mark.parametrize(
    ("analysis", "conf_type", "conf_level"), [c for c in CASES if c[2] == 0.95]
)
def test_curve_matches_survfit(analysis: str, conf_type: str, conf_level: float) -> None:
    ours = with_text_group(_fit(analysis, conf_type, conf_level).table_)
    r = _r("km_curve", analysis, conf_type, conf_level)
    assert ours["group"].to_list() == r["group"].to_list()
    for col in ("time", "n_risk", "n_event", "n_censor", "surv", "std_err", "lower", "upper"):
        assert_close(ours[col], r[col], f"{analysis} {conf_type} {conf_level} {col}")


@pytest.mark.parametrize(("analysis", "conf_type", "conf_level"), CASES)
def test_at_times_match_summary_extend(analysis: str, conf_type: str, conf_level: float) -> None:
    km = _fit(analysis, conf_type, conf_level)
    ours = with_text_group(km.at_times(ANALYSES[analysis][4]))
    r = _r("km_at_times", analysis, conf_type, conf_level)
    assert ours["group"].to_list() == r["group"].to_list()
    for col in ("time", "surv", "std_err", "lower", "upper"):
        assert_close(ours[col], r[col], f"{analysis} {conf_type} {conf_level} {col}")
    # n_risk is #{entry < t <= T} (docs/cli.md), counted in R beside summary()'s n.risk; the
    # two differ only with delayed entry, when someone enters between t and the next exit.
    assert_close(ours["n_risk"], r["n_risk_at_t"], f"{analysis} n_risk")
    if ANALYSES[analysis][1] is None:
        assert_close(ours["n_risk"], r["n_risk"], f"{analysis} n_risk as summary()")


@pytest.mark.parametrize(("analysis", "conf_type", "conf_level"), CASES)
def test_quantiles_match_quantile_survfit(analysis: str, conf_type: str, conf_level: float) -> None:
    km = _fit(analysis, conf_type, conf_level)
    ours = with_text_group(km.quantiles([0.1, 0.25, 0.5, 0.75, 0.9]))
    r = _r("km_quantiles", analysis, conf_type, conf_level)
    assert ours["group"].to_list() == r["group"].to_list()
    for col in ("prob", "estimate", "lower", "upper"):
        assert_close(ours[col], r[col], f"{analysis} {conf_type} {conf_level} {col}")


@pytest.mark.parametrize("analysis", list(ANALYSES))
def test_median_in_summary_is_quantile_half(analysis: str) -> None:
    km = _fit(analysis, "log", 0.95)
    r = _r("km_quantiles", analysis, "log", 0.95).filter(pl.col("prob") == 0.5)
    ours = with_text_group(km.summary_)
    assert_close(ours["median"], r["estimate"], f"{analysis} median")
    assert_close(ours["median_lower"], r["lower"], f"{analysis} median lower")
    assert_close(ours["median_upper"], r["upper"], f"{analysis} median upper")


@pytest.mark.parametrize("analysis", list(ANALYSES))
def test_rmst_matches_print_rmean(analysis: str) -> None:
    km = _fit(analysis, "log", 0.95)
    r = _r("km_rmst", analysis)
    ours = pl.concat([with_text_group(km.rmst(tau)) for tau in ANALYSES[analysis][5]])
    assert ours["group"].to_list() == r["group"].to_list()
    assert_close(ours["tau"], r["tau"], f"{analysis} tau")
    assert_close(ours["estimate"], r["rmean"], f"{analysis} rmean")
    assert_close(ours["std_err"], r["se"], f"{analysis} se(rmean)")


@pytest.mark.parametrize("analysis", list(ANALYSES))
def test_reverse_km_median_followup(analysis: str) -> None:
    ours = with_text_group(median_followup(**fit_kwargs(analysis)))
    r = _r("km_followup", analysis)
    assert ours["group"].to_list() == r["group"].to_list()
    for col in ("estimate", "lower", "upper"):
        assert_close(ours[col], r[col], f"{analysis} follow-up {col}")


def test_landmark_rates_are_the_curve_at_the_landmarks() -> None:
    """12- and 24-month rates of lung (R: summary(survfit(Surv(time, status) ~ 1, lung),
    times = c(365, 730)): surv 0.4092416, 0.1156931; log CI 0.3447216-0.4858376)."""
    km = _fit("lung", "log", 0.95)
    rates = km.landmark_rates([365, 730])
    r = _r("km_at_times", "lung", "log", 0.95).filter(pl.col("time").is_in([365.0, 730.0]))
    assert_close(rates["surv"], r["surv"], "landmark surv")
    assert_close(rates["lower"], r["lower"], "landmark lower")
    assert rates.columns == ["group", "time", "surv", "lower", "upper", "n_risk"]
    assert rates["surv"].round(7).to_list() == [0.4092416, 0.1156931]
