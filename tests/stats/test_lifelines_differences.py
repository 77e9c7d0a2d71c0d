"""Where lifelines (0.30) and R's survival disagree, and which side mmrwe takes (R's).

If one of these starts failing, lifelines changed: update docs/statistics.md.
"""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest

from mmrwe.stats import KaplanMeier
from tests.stats.survival_reference import data, expected

lifelines = pytest.importorskip("lifelines")


def test_median_on_a_flat_stretch_at_one_half() -> None:
    """S = 0.5 from t = 2 to the last follow-up at 4. R (quantile.survfit midpoint rule) gives
    (2 + 4) / 2 = 3; lifelines takes the first time, 2."""
    r = expected("km_quantiles").filter(
        pl.col("analysis") == "flat_end", pl.col("prob") == 0.5, pl.col("conf_type") == "log"
    )
    assert r["estimate"][0] == 3
    ours = KaplanMeier().fit([1, 2, 3, 4], [1, 1, 0, 0]).median_[0]
    theirs = lifelines.KaplanMeierFitter().fit([1, 2, 3, 4], [1, 1, 0, 0]).median_survival_time_
    assert (ours, theirs) == (3, 2)


def test_rmst_standard_error() -> None:
    """R's print(survfit(Surv(time, status) ~ 1, lung), rmean = 365): se(rmean) 7.80.
    lifelines' restricted_mean_survival_time(return_variance=True) returns the variance of
    min(T, 365), not of the estimator (its issues #1456, #1682): sqrt = 116."""
    from lifelines.utils import restricted_mean_survival_time

    d = data("lung2")
    r = expected("km_rmst").filter(pl.col("analysis") == "lung", pl.col("tau") == 365)
    ours = KaplanMeier().fit(d["time"], d["event"]).rmst(365)
    assert ours["std_err"][0] == pytest.approx(r["se"][0], rel=1e-9)
    kmf = lifelines.KaplanMeierFitter().fit(d["time"].to_numpy(), d["event"].to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mean, var = restricted_mean_survival_time(kmf, 365, return_variance=True)
    assert mean == pytest.approx(r["rmean"][0], rel=1e-6)  # the estimate itself agrees
    assert np.sqrt(var) > 10 * r["se"][0]


def test_default_interval_type() -> None:
    """lifelines' KM band is log-log (R's "log-log", SAS's default); R's default is "log":
    lung median CI is 285-363 in R (log) and 284-361 in lifelines. mmrwe defaults to R's."""
    from lifelines.utils import median_survival_times

    d = data("lung2")
    kmf = lifelines.KaplanMeierFitter().fit(d["time"].to_numpy(), d["event"].to_numpy())
    theirs = median_survival_times(kmf.confidence_interval_).to_numpy().ravel().tolist()
    ours = KaplanMeier().fit(d["time"], d["event"]).summary_.row(0, named=True)
    assert (ours["median_lower"], ours["median_upper"]) == (285, 363)
    assert theirs == [284, 361]
    loglog = KaplanMeier("log-log").fit(d["time"], d["event"]).summary_.row(0, named=True)
    assert [loglog["median_lower"], loglog["median_upper"]] == theirs
