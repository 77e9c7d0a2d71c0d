"""Cox regression against R's coxph (tests/r/expected/cox.csv), and the libraries we did not
use checked against the same values.

R:  coxph(Surv([entry,] time, event) ~ covariates, data, ties = "efron" | "breslow",
          weights = w, robust = TRUE | FALSE)
    coef(fit); sqrt(diag(fit$naive.var or fit$var)); sqrt(diag(fit$var)); fit$loglik[2]
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from mmrwe.errors import InvalidDataError
from mmrwe.stats import CoxPH
from tests.stats.survival_reference import RTOL, assert_close, data, expected

MODELS = {
    "lung_age_sex": ("lung2", ["age", "sex"], None, None),
    "vet_trt_karno": ("vet", ["trt", "karno"], None, None),
    "ova_rx_age": ("ova", ["rx", "age"], None, None),
    "ties_x": ("ties", ["x"], None, None),
    "ties_group_x": ("ties", ["group_b", "x"], None, None),
    "lung_wfrac_robust": ("lung2", ["age", "sex"], "w_frac", None),
    "lung_wint_robust": ("lung2", ["age", "sex"], "w_int", None),
    "lung_robust": ("lung2", ["age", "sex"], None, None),
    # R refuses zero weights; R's fit is on the rows with w > 0, ours keeps them (they count 0)
    "zw_robust": ("zw", ["time_x"], "w", None),
    "lung_entry": ("lung2", ["age", "sex"], None, "entry"),
    "entry_group": ("entry", ["group"], None, "entry"),
}


def _data(ds: str) -> pl.DataFrame:
    d = data(ds)
    if ds == "ties":
        d = d.with_columns((pl.col("group") == "b").cast(pl.Float64).alias("group_b"))
    return d


def _r(analysis: str, ties: str) -> pl.DataFrame:
    return expected("cox").filter(pl.col("analysis") == analysis, pl.col("ties") == ties)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("analysis", list(MODELS))
def test_cox_matches_coxph(analysis: str, ties: str) -> None:
    ds, cols, weight, entry = MODELS[analysis]
    d = _data(ds)
    r = _r(analysis, ties)
    fit = CoxPH(ties=ties, robust=bool(r["robust"][0])).fit(
        d.select(cols),
        d["time"],
        d["event"],
        weights=d[weight] if weight else None,
        entry=d[entry] if entry else None,
    )
    assert_close(fit.params_, r["coef"], f"{analysis} {ties} coef")
    assert_close(fit.se_, r["se"], f"{analysis} {ties} se")
    assert_close(fit.se_model_, r["se_model"], f"{analysis} {ties} model se")
    assert_close([fit.log_likelihood_], r["loglik"][:1], f"{analysis} {ties} loglik")
    assert_close(fit.summary_["hr"], r["hr"], "hr")
    assert_close(fit.summary_["lower"], r["hr_lower"], "hr lower")
    assert_close(fit.summary_["upper"], r["hr_upper"], "hr upper")
    assert_close(fit.summary_["p"], r["p"], "p")
    assert fit.summary_["term"].to_list() == cols


def test_lung_published_hazard_ratio() -> None:
    """coxph(Surv(time, status) ~ age + sex, lung): sex exp(coef) 0.5986, 95% CI 0.4311-0.8311
    (R's summary; also in Therneau & Grambsch's examples)."""
    d = data("lung2")
    fit = CoxPH().fit(d.select("age", "sex"), d["time"], d["event"])
    assert fit.summary_["hr"].round(4).to_list()[1] == 0.5986
    assert fit.summary_["lower"].round(4).to_list()[1] == 0.4311


def test_lifelines_agrees_on_coefficients_but_not_on_robust_se() -> None:
    """lifelines' CoxPHFitter (Efron only) matches coxph's coefficients and model-based SE, but
    its robust (sandwich) SE differs from R's by about 0.1% on weighted lung (0.010883 vs R's
    0.010894 for age): one reason mmrwe computes the Efron score residuals itself."""
    from lifelines import CoxPHFitter

    d = data("lung2").select("time", "event", "age", "sex", "w_frac").to_pandas()
    opts = {"precision": 1e-12}
    plain = CoxPHFitter().fit(d.drop(columns="w_frac"), "time", "event", fit_options=opts)
    r = _r("lung_age_sex", "efron")
    assert_close(plain.params_.to_numpy(), r["coef"], "lifelines coef")
    assert_close(plain.standard_errors_.to_numpy(), r["se"], "lifelines se")
    robust = CoxPHFitter().fit(
        d, "time", "event", weights_col="w_frac", robust=True, fit_options=opts
    )
    r = _r("lung_wfrac_robust", "efron")
    assert_close(robust.params_.to_numpy(), r["coef"], "lifelines weighted coef")
    gap = np.abs(robust.standard_errors_.to_numpy() / r["se"].to_numpy() - 1)
    assert gap.max() > 1e-4, "lifelines now matches R's robust SE: update docs/statistics.md"


def test_statsmodels_breslow_agrees_with_r() -> None:
    """statsmodels' PHReg (Breslow, no case weights) matches coxph(ties = "breslow")."""
    from statsmodels.duration.hazard_regression import PHReg

    d = data("vet")
    r = _r("vet_trt_karno", "breslow")
    res = PHReg(
        d["time"].to_numpy(),
        d.select("trt", "karno").to_numpy(),
        status=d["event"].to_numpy(),
        ties="breslow",
    ).fit()
    np.testing.assert_allclose(res.params, r["coef"].to_numpy(), rtol=RTOL)
    np.testing.assert_allclose(res.bse, r["se"].to_numpy(), rtol=RTOL)


def test_no_events_is_a_clear_error() -> None:
    with pytest.raises(InvalidDataError, match="no events"):
        CoxPH().fit(np.array([1.0, 2.0, 3.0]), [1, 2, 3], [0, 0, 0])


@pytest.mark.parametrize(
    ("analysis", "printed"),
    [
        # tests/r/raw_output.txt, "coxph lung_age_sex efron" and "coxph vet_trt_karno efron":
        # Likelihood ratio test / Wald test / Score (logrank) test, each on 2 df
        ("lung_age_sex", (14.12, 13.47, 13.72)),
        ("vet_trt_karno", (42.97, 44.66, 46.78)),
    ],
)
def test_global_tests_match_summary_coxph(analysis: str, printed: tuple[float, ...]) -> None:
    ds, cols, _, _ = MODELS[analysis]
    d = _data(ds)
    fit = CoxPH().fit(d.select(cols), d["time"], d["event"])
    got = [fit.tests_[k] for k in ("likelihood_ratio", "wald", "score")]
    assert [round(stat, 2) for stat, _, _ in got] == list(printed)
    assert all(df == 2 for _, df, _ in got)


def test_one_factor_global_tests_match_r_on_lung_sex() -> None:
    """summary(coxph(Surv(time, status) ~ sex, data = lung)) as R prints it in the public
    tutorial "Building a Cox Proportional Hazards Model on the Lung Dataset" (found in the
    Nemotron-CC-Math web corpus; the same numbers in R's survival examples): coef -0.5310, se 0.1672, exp(coef)
    0.5880 (0.4237-0.816); Likelihood ratio test= 10.63 (p=0.001111), Wald test= 10.09
    (p=0.001491), Score (logrank) test= 10.33 (p=0.001312), each on 1 df."""
    d = data("lung2")
    fit = CoxPH().fit(d.select(pl.col("sex") - 1), d["time"], d["event"])
    r = fit.summary_.row(0, named=True)
    assert (round(r["coef"], 4), round(r["se"], 4), round(r["hr"], 4)) == (-0.5310, 0.1672, 0.5880)
    assert (round(r["lower"], 4), round(r["upper"], 3)) == (0.4237, 0.816)
    stats = [fit.tests_[k] for k in ("likelihood_ratio", "wald", "score")]
    assert [round(s, 2) for s, _, _ in stats] == [10.63, 10.09, 10.33]
    assert [round(p, 6) for _, _, p in stats] == [0.001111, 0.001491, 0.001312]
