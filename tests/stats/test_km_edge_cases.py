"""Kaplan–Meier edge cases, with the values worked by hand or printed by R (code beside)."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from mmrwe.errors import InvalidDataError, ParameterError
from mmrwe.stats import KaplanMeier


def test_hand_computed_curve_unsorted_input() -> None:
    """times 1..5, events 1,1,0,1,0 given unsorted. S(1) = 4/5, S(2) = 4/5 * 3/4 = 0.6,
    S(4) = 0.6 * 1/2 = 0.3; Greenwood var(log S(4)) = 1/(5*4) + 1/(4*3) + 1/(2*1)."""
    km = KaplanMeier().fit([4, 2, 5, 1, 3], [1, 1, 0, 1, 0])
    t = km.table_
    assert t["time"].to_list() == [1, 2, 3, 4, 5]
    assert t["surv"].to_list() == pytest.approx([0.8, 0.6, 0.6, 0.3, 0.3])
    assert t["n_risk"].to_list() == [5, 4, 3, 2, 1]
    se = 0.3 * math.sqrt(1 / 20 + 1 / 12 + 1 / 2)
    assert t["std_err"][3] == pytest.approx(se)


def test_no_events() -> None:
    """All censored: S = 1, no median; log-log limits undefined at S = 1 (R: NA)."""
    km = KaplanMeier("log-log").fit([3, 5, 8], [0, 0, 0])
    assert km.table_["surv"].to_list() == [1.0, 1.0, 1.0]
    assert km.table_["lower"].to_list() == [None, None, None]
    assert km.summary_["median"].to_list() == [None]
    rm = km.rmst(10)
    assert rm["estimate"][0] == 10 and rm["std_err"][0] == 0


def test_all_censored_at_one_time() -> None:
    """R: summary(survfit(Surv(c(4,4,4), c(0,0,0)) ~ 1), times = c(2,4,6), extend = TRUE):
    surv 1, 1, 1; n.risk 3, 3, 0; quantiles NA; rmean to 5 = 5 (se 0)."""
    km = KaplanMeier().fit([4, 4, 4], [0, 0, 0])
    at = km.at_times([2, 4, 6])
    assert at["surv"].to_list() == [1.0, 1.0, 1.0]
    assert at["n_risk"].to_list() == [3, 3, 0]
    assert at["lower"].to_list() == [1.0, 1.0, 1.0]
    assert km.quantiles()["estimate"].to_list() == [None, None, None]
    assert km.rmst(5)["estimate"][0] == 5


def test_all_events_log_log() -> None:
    """R: survfit(Surv(c(1,2,3), c(1,1,1)) ~ 1, conf.type = "log-log"): surv .667 .333 0,
    limits (0.05407, 0.945), (0.00896, 0.774), NA; quantile 25/50/75 = 1/2/3, lower 1/1/1,
    upper NA (the upper limit never reaches 0.75, 0.5 or 0.25)."""
    km = KaplanMeier("log-log").fit([1, 2, 3], [1, 1, 1])
    t = km.table_
    assert t["surv"].to_list() == pytest.approx([2 / 3, 1 / 3, 0.0])
    assert t["lower"].round(5).to_list()[:2] == [0.05407, 0.00896]
    assert t["upper"].round(3).to_list()[:2] == [0.945, 0.774]
    assert t["std_err"][2] is None and t["lower"][2] is None and t["upper"][2] is None
    q = km.quantiles()
    assert q["estimate"].to_list() == [1, 2, 3]
    assert q["lower"].to_list() == [1, 1, 1]
    assert q["upper"].to_list() == [None, None, None]


def test_single_subject() -> None:
    """R: quantile(survfit(Surv(5, 1) ~ 1), 0.5): 5 with limits NA, NA."""
    km = KaplanMeier().fit([5], [1])
    assert km.summary_.row(0, named=True)["median"] == 5
    assert km.summary_["median_lower"][0] is None
    assert km.summary_["median_upper"][0] is None
    assert km.at_times([1])["n_risk"].to_list() == [1]


def test_event_and_censoring_tied() -> None:
    """At t = 2 one death and two censorings: all three are at risk at 2 (censored at t count
    in the risk set at t), so S(2) = 3/4; after 2 only one subject remains."""
    km = KaplanMeier().fit([2, 2, 2, 3], [1, 0, 0, 1])
    assert km.table_["n_risk"].to_list() == [4, 1]
    assert km.table_["surv"].to_list() == pytest.approx([0.75, 0.0])
    assert km.at_times([2, 2.5])["n_risk"].to_list() == [4, 1]


def test_median_not_reached_is_null() -> None:
    km = KaplanMeier().fit([1, 2, 3, 4, 5, 6], [1, 0, 0, 0, 0, 0])
    assert km.median_ == [None]
    assert km.quantiles([0.1])["estimate"].to_list() == [1]


def test_group_with_nobody_left_at_risk() -> None:
    """Group b ends at 3: at t = 10 its curve is carried forward with nobody at risk."""
    km = KaplanMeier().fit([1, 3, 5, 10, 12], [1, 0, 1, 1, 0], group=["b", "b", "a", "a", "a"])
    at = km.at_times([10])
    b = at.filter(pl.col("group") == "b").row(0, named=True)
    assert b["n_risk"] == 0 and b["surv"] == pytest.approx(0.5)
    assert km.groups_ == ["a", "b"]


def test_zero_weight_rows_change_nothing() -> None:
    """A row with weight 0 leaves the curve as if it were absent."""
    time, event = np.array([2, 3, 5, 7, 9, 11]), np.array([1, 0, 1, 1, 0, 1])
    w = np.array([1, 0, 2, 1, 0, 1.5])
    full = KaplanMeier().fit(time, event, weights=w).at_times([1, 4, 8, 12])
    keep = w > 0
    sub = KaplanMeier().fit(time[keep], event[keep], weights=w[keep]).at_times([1, 4, 8, 12])
    assert full["surv"].to_list() == pytest.approx(sub["surv"].to_list())
    assert full["std_err"].to_list() == pytest.approx(sub["std_err"].to_list())


@pytest.mark.parametrize(
    ("time", "row", "what"),
    [
        ([1.0, None, 3.0], 2, "missing"),
        ([1.0, float("nan"), 3.0], 2, "missing"),
        ([1.0, 2.0, -3.0], 3, "negative"),
        ([1.0, float("inf"), 3.0], 2, "infinite"),
    ],
)
def test_bad_times_name_column_and_row(time: list, row: int, what: str) -> None:
    with pytest.raises(InvalidDataError, match=rf"Column 'pfs_days', row {row} .*{what}"):
        KaplanMeier().fit(pl.Series("pfs_days", time), [1, 0, 1])


@pytest.mark.parametrize("bad", [[1, 2, 0], ["1", "yes", "0"], [1.0, 0.5, 0.0], [1, None, 0]])
def test_bad_event_codes_name_the_row(bad: list) -> None:
    with pytest.raises(InvalidDataError, match=r"Column 'status', row 2 .*not 0/1|row 2 .*missing"):
        KaplanMeier().fit([1, 2, 3], pl.Series("status", bad))


@pytest.mark.parametrize("codes", [[1, 0, 1], [True, False, True], ["TRUE", "false", "1"]])
def test_event_codes_accepted(codes: list) -> None:
    km = KaplanMeier().fit([1, 2, 3], codes)
    assert km.table_["n_event"].to_list() == [1, 0, 1]


def test_entry_not_before_exit_is_an_error() -> None:
    with pytest.raises(InvalidDataError, match=r"Column 'entry', row 2 .*not before the exit"):
        KaplanMeier().fit([5, 3], [1, 1], entry=[0, 3])


def test_bad_parameters_use_the_one_template() -> None:
    with pytest.raises(ParameterError, match=r"The 'conf_type' parameter of KaplanMeier must be"):
        KaplanMeier(conf_type="linear").fit([1, 2], [1, 0])
    with pytest.raises(ParameterError, match=r"'conf_level' parameter .* Got 95 instead"):
        KaplanMeier(conf_level=95).fit([1, 2], [1, 0])


def test_integer_and_float_times_give_the_same_curve() -> None:
    """The counting path (integer days) and the ranking path (other times) agree."""
    rng = np.random.default_rng(1)
    t = rng.integers(0, 400, 2000)
    e = rng.random(2000) < 0.6
    g = rng.integers(0, 3, 2000)
    a = KaplanMeier().fit(t, e, group=g).table_
    b = KaplanMeier().fit(t + 0.5, e, group=g).table_  # non-integer times: ranked
    assert a["surv"].to_list() == pytest.approx(b["surv"].to_list(), rel=1e-12)
    assert (a["time"] + 0.5).to_list() == b["time"].to_list()
