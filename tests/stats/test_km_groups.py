"""The curves and tests beside the report's KM figures (moved from the report into stats),
against R on the lung data (tests/r)::

    library(survival)
    survfit(Surv(time, status) ~ sex, lung)            # medians 270 and 426
    survdiff(Surv(time, status) ~ sex, lung)           # chisq 10.3 on 1 df, p = 0.00131
    summary(coxph(Surv(time, status) ~ sex, lung))     # exp(coef) 0.588, 95 % CI 0.4237-0.816
"""

from __future__ import annotations

import numpy as np
import polars as pl

from mmrwe.stats.km_groups import km_by_group
from tests.stats.survival_reference import data, expected


def _lung() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = data("lung2")
    return d["time"].to_numpy(), d["event"].to_numpy().astype(bool), d["sex"].to_numpy()


def test_independent_groups_match_r() -> None:
    time, event, sex = _lung()
    fitted = km_by_group(time, event, sex, threshold=11, independent=True)
    assert fitted.medians == {1: 270, 2: 426}
    r = expected("logrank").filter(pl.col("analysis") == "lung_sex")
    np.testing.assert_allclose(fitted.logrank_p, r["p"][0], rtol=1e-6)
    hr = fitted.hazard_ratio
    assert hr is not None and (hr.group, hr.reference) == (2, 1)
    assert (round(hr.hr, 3), round(hr.lower, 4), round(hr.upper, 3)) == (0.588, 0.4237, 0.816)
    assert fitted.curve["group"].unique(maintain_order=True).to_list() == [1, 2]


def test_lines_of_the_same_patients_are_not_tested() -> None:
    time, event, sex = _lung()
    fitted = km_by_group(time, event, sex, threshold=11, independent=False)
    assert fitted.logrank_p is None and fitted.hazard_ratio is None
    assert fitted.medians == {1: 270, 2: 426}


def test_groups_below_the_threshold_are_not_tested_nor_their_medians_drawn() -> None:
    """sex 2 has 90 patients: below a threshold of 100 it is left out of the tests, and its
    curve stops before any median (fewer than 100 at risk from the start)."""
    time, event, sex = _lung()
    fitted = km_by_group(time, event, sex, threshold=100, independent=True)
    assert fitted.logrank_p is None and fitted.hazard_ratio is None
    assert 2 not in fitted.medians
