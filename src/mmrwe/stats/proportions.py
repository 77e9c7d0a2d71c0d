"""Proportions (e.g. overall response rate) with Clopper–Pearson exact confidence intervals.

Clopper & Pearson (1934, Biometrika): the limits are beta quantiles, lower =
Beta(alpha/2; x, n - x + 1) (0 when x = 0) and upper = Beta(1 - alpha/2; x + 1, n - x) (1 when
x = n), as R's ``binom.test(x, n)$conf.int`` and SAS PROC FREQ ``binomial(exact)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from scipy.stats import beta

from mmrwe.errors import check_parameter


def clopper_pearson(
    successes: Any, n: Any, conf_level: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimate x/n and its exact lower and upper limits (arrays; NaN where n = 0)."""
    x = np.atleast_1d(np.asarray(successes, dtype=np.float64))
    m = np.atleast_1d(np.asarray(n, dtype=np.float64))
    owner = "clopper_pearson"
    check_parameter(0 < conf_level < 1, "conf_level", owner, "strictly between 0 and 1", conf_level)
    ok = bool(np.all((x >= 0) & (x <= m) & (x == np.floor(x)) & (m == np.floor(m))))
    check_parameter(ok, "successes", owner, "whole numbers between 0 and n", successes)
    alpha = 1 - conf_level
    with np.errstate(divide="ignore", invalid="ignore"):
        est = np.where(m > 0, x / m, np.nan)
        lower = np.where(x > 0, beta.ppf(alpha / 2, x, m - x + 1), 0.0)
        upper = np.where(x < m, beta.ppf(1 - alpha / 2, x + 1, m - x), 1.0)
    empty = m == 0
    return est, np.where(empty, np.nan, lower), np.where(empty, np.nan, upper)


def proportion_table(
    successes: Any, n: Any, conf_level: float = 0.95, labels: Any = None
) -> pl.DataFrame:
    """A table of proportions with exact limits: label, successes, n, estimate, lower, upper."""
    est, lower, upper = clopper_pearson(successes, n, conf_level)
    x = np.atleast_1d(np.asarray(successes))
    return pl.DataFrame(
        {
            "label": list(labels) if labels is not None else [None] * est.size,
            "successes": x.astype(np.int64),
            "n": np.atleast_1d(np.asarray(n)).astype(np.int64),
            "estimate": est,
            "lower": lower,
            "upper": upper,
            "conf_level": np.full(est.size, float(conf_level)),
        },
        strict=False,
    ).with_columns(pl.col(pl.Float64).fill_nan(None))
