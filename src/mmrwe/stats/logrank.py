"""Log-rank test, plain and stratified, as R's ``survdiff`` (rho = 0).

At every event time the observed deaths of each group are compared with those expected if all
groups shared one hazard, with the hypergeometric variance (Mantel, 1966, Cancer Chemother
Rep; Peto & Peto, 1972, J R Stat Soc A). A stratified test sums observed, expected and
variance over strata. Chi-square on (groups with expected > 0) - 1 degrees of freedom.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import polars as pl
from scipy.stats import chi2

from mmrwe.errors import InvalidDataError
from mmrwe.stats._input import check_events, check_groups, check_times
from mmrwe.stats._tabulate import tabulate


class LogRankTest:
    """Log-rank test of equal survival across groups (optionally within strata).

    Attributes (after ``fit``): ``groups_``, ``observed_``, ``expected_``, ``variance_``,
    ``chisq_``, ``df_``, ``p_value_`` and ``summary_`` (one row per group: n, observed,
    expected).
    """

    def fit(self, time: Any, event: Any, group: Any, *, strata: Any = None) -> Self:
        """Test; ``time`` >= 0, ``event`` 1/0 or true/false, ``group`` any labels."""
        t = check_times(time, "time")
        e = check_events(event)
        if e.size != t.size or t.size == 0:
            raise InvalidDataError("time and event must be non-empty columns of the same table.")
        codes, self.groups_ = check_groups(group, t.size)
        n_groups = len(self.groups_)
        if strata is None:
            n_strata, combined = 1, codes
        else:
            s_codes, strata_labels = check_groups(strata, t.size, "strata")
            n_strata, combined = len(strata_labels), s_codes * n_groups + codes
        table = tabulate(t, e, groups=combined, n_groups=n_groups * n_strata)
        shape = (n_strata, n_groups, -1)
        d = table.n_event.reshape(shape)
        n = table.n_risk.reshape(shape)
        d_all = d.sum(axis=1, keepdims=True)
        n_all = n.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(n_all > 0, n / n_all, 0.0)
            spread = np.where(n_all > 1, d_all * (n_all - d_all) / (n_all - 1), 0.0)
        self.observed_ = d.sum(axis=(0, 2))
        self.expected_ = (share * d_all).sum(axis=(0, 2))
        # V_gh = sum spread * share_g * (delta_gh - share_h)
        cross = np.einsum("sgk,shk,sk->gh", share, share, spread[:, 0, :])
        self.variance_ = np.diag((share * spread).sum(axis=(0, 2))) - cross
        self.n_ = np.bincount(codes, minlength=n_groups)
        self.chisq_, self.df_ = _chisq(self.observed_, self.expected_, self.variance_)
        defined = self.df_ > 0 and np.isfinite(self.chisq_)
        self.p_value_ = float(chi2.sf(self.chisq_, self.df_)) if defined else float("nan")
        self.summary_ = pl.DataFrame(
            {
                "group": self.groups_,
                "n": self.n_,
                "observed": self.observed_,
                "expected": self.expected_,
            },
            strict=False,
        )
        return self


def _chisq(observed: np.ndarray, expected: np.ndarray, var: np.ndarray) -> tuple[float, int]:
    """R's survdiff statistic: groups with expected > 0, first one dropped."""
    keep = expected > 0
    if keep.sum() < 2:
        return 0.0, 0
    diff = (observed - expected)[keep][1:]
    v = var[np.ix_(keep, keep)][1:, 1:]
    try:
        return float(diff @ np.linalg.solve(v, diff)), int(keep.sum() - 1)
    except np.linalg.LinAlgError:
        # a singular variance (e.g. every subject at risk fails at one time): R's survdiff
        # stops ("system is exactly singular"); the statistic is undefined (NaN, null in JSON)
        return float("nan"), int(keep.sum() - 1)
