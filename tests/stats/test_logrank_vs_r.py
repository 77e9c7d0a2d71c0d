"""Log-rank test against R's survdiff (tests/r/expected/logrank*.csv).

R:  survdiff(Surv(time, event) ~ g)                       # plain
    survdiff(Surv(time, event) ~ g + strata(s))           # stratified (rows with s NA dropped)
    pchisq(chisq, df, lower.tail = FALSE)
"""

from __future__ import annotations

import polars as pl
import pytest

from mmrwe.stats import LogRankTest
from tests.stats.survival_reference import assert_close, data, expected, with_text_group

TESTS = {
    "lung_sex": ("lung2", "sex", None),
    "lung_sex_strata_ecog": ("lung2", "sex", "ph_ecog"),
    "vet_trt": ("vet", "trt", None),
    "vet_cell": ("vet", "celltype", None),
    "vet_trt_strata_cell": ("vet", "trt", "celltype"),
    "ova_rx": ("ova", "rx", None),
    "colon_rx": ("col2", "rx", None),
    "ties_group": ("ties", "group", None),
    "entry_group": ("entry", "group", None),
}


@pytest.mark.parametrize("analysis", list(TESTS))
def test_logrank_matches_survdiff(analysis: str) -> None:
    ds, group, strata = TESTS[analysis]
    d = data(ds)
    if strata:
        d = d.filter(pl.col(strata).is_not_null())
    lr = LogRankTest().fit(d["time"], d["event"], d[group], strata=d[strata] if strata else None)
    r = expected("logrank").filter(pl.col("analysis") == analysis)
    assert_close([lr.chisq_], r["chisq"], f"{analysis} chisq")
    assert_close([lr.p_value_], r["p"], f"{analysis} p")
    assert lr.df_ == r["df"][0]
    groups = expected("logrank_groups").filter(pl.col("analysis") == analysis)
    ours = with_text_group(lr.summary_)
    assert ours["group"].to_list() == groups["group"].to_list()
    for col in ("n", "observed", "expected"):
        assert_close(ours[col], groups[col], f"{analysis} {col}")


def test_lung_sex_published_value() -> None:
    """R documentation example, survdiff(Surv(time, status) ~ sex, data = lung):
    Chisq = 10.3 on 1 degrees of freedom, p = 0.001."""
    d = data("lung2")
    lr = LogRankTest().fit(d["time"], d["event"], d["sex"])
    assert round(lr.chisq_, 1) == 10.3
    assert round(lr.p_value_, 3) == 0.001


def test_group_with_nobody_at_risk_at_event_times_is_left_out_of_df() -> None:
    """Group c leaves (censored) before the first event: expected 0, as R drops it from df."""
    time = [5, 6, 7, 8, 9, 10, 1, 2]
    event = [1, 1, 0, 1, 1, 0, 0, 0]
    group = ["a", "a", "a", "b", "b", "b", "c", "c"]
    lr = LogRankTest().fit(time, event, group)
    assert lr.expected_[2] == 0
    assert lr.df_ == 1
    assert lr.chisq_ > 0
