"""Properties on random data: the vectorised counting agrees with the textbook definitions
computed row by row, and the log-rank statistic with lifelines' on two groups."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mmrwe.stats import KaplanMeier, LogRankTest

rows = st.integers(1, 40).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(1, 15), min_size=n, max_size=n),
        st.lists(st.booleans(), min_size=n, max_size=n),
        st.lists(st.integers(0, 14), min_size=n, max_size=n),
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
    )
)


def _naive(time: np.ndarray, event: np.ndarray, entry: np.ndarray):
    """Product-limit and Greenwood by the definitions, one distinct exit time at a time."""
    surv, var, out = 1.0, 0.0, []
    for t in np.unique(time):
        n = int(np.sum((entry < t) & (time >= t)))
        d = int(np.sum((time == t) & event))
        if d:
            surv *= 1 - d / n
            var += d / (n * (n - d)) if n > d else np.inf
        out.append((t, n, d, surv, var))
    return out


@settings(max_examples=150, deadline=None)
@given(rows)
def test_km_matches_the_definition(data: tuple) -> None:
    time, event, entry, _ = (np.array(x) for x in data)
    event = event.astype(bool)
    entry = np.minimum(entry, time - 1)  # entry strictly before exit
    km = KaplanMeier().fit(time, event, entry=entry)
    t = km.table_
    want = _naive(time, event, entry)
    assert t["time"].to_list() == [w[0] for w in want]
    assert t["n_risk"].to_list() == [w[1] for w in want]
    assert t["n_event"].to_list() == [w[2] for w in want]
    np.testing.assert_allclose(t["surv"].to_numpy(), [w[3] for w in want], rtol=1e-12)
    se = km.curves_[0].se_log
    ok = np.isfinite([w[4] for w in want])
    np.testing.assert_allclose(se[ok] ** 2, np.array([w[4] for w in want])[ok], rtol=1e-10)
    probe = np.arange(0.5, 16.5, 1.0)
    direct = [int(np.sum((entry < p) & (time >= p))) for p in probe]
    assert km.at_times(probe)["n_risk"].to_list() == direct


@settings(max_examples=60, deadline=None)
@given(rows)
def test_logrank_matches_lifelines(data: tuple) -> None:
    from lifelines.statistics import logrank_test

    time, event, _, group = (np.array(x) for x in data)
    event = event.astype(bool)
    if len(set(group.tolist())) < 2 or not event.any():
        return
    ours = LogRankTest().fit(time, event, group)
    if np.isnan(ours.chisq_):
        # singular variance: R's survdiff stops ("exactly singular"); undefined, never a number
        assert np.isnan(ours.p_value_)
        assert np.linalg.matrix_rank(ours.variance_[1:, 1:]) < ours.variance_.shape[0] - 1
        return
    a = group == 0
    theirs = logrank_test(time[a], time[~a], event[a], event[~a]).test_statistic
    if ours.df_ == 1:
        np.testing.assert_allclose(ours.chisq_, theirs, rtol=1e-9, atol=1e-12)
