"""Pointwise confidence intervals for a survival probability, as R's ``survfit``.

``conf_type`` names the scale on which the normal interval is built (R: ``conf.type``):
``"log"`` (R's default), ``"log-log"`` (SAS PROC LIFETEST's default, R's ``"log-log"``) and
``"plain"`` (linear). The transforms follow ``survival:::survfit_confint`` (Therneau, survival
3.5): the standard error given is that of log S(t); undefined limits are NaN (never 0 or 1).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from mmrwe.errors import check_parameter

CONF_TYPES: tuple[str, ...] = ("log", "log-log", "plain")


def check_conf(conf_type: str, conf_level: float, owner: str) -> None:
    """Validate ``conf_type`` and ``conf_level`` in the one error template."""
    check_parameter(conf_type in CONF_TYPES, "conf_type", owner, f"one of {CONF_TYPES}", conf_type)
    ok = isinstance(conf_level, float | int) and 0 < float(conf_level) < 1
    check_parameter(ok, "conf_level", owner, "a number strictly between 0 and 1", conf_level)


def z_value(conf_level: float) -> float:
    """Two-sided normal quantile for ``conf_level`` (1.959964 for 0.95)."""
    return float(norm.ppf(1 - (1 - conf_level) / 2))


def survival_confint(
    surv: np.ndarray, se_log: np.ndarray, conf_type: str, conf_level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper limits of S(t) from S and the standard error of log S (R's std.err)."""
    z = z_value(conf_level)
    surv = np.asarray(surv, dtype=np.float64)
    se = np.asarray(se_log, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "plain":
            half = se * surv * z
            return np.maximum(surv - half, 0.0), np.minimum(surv + half, 1.0)
        if conf_type == "log":
            xx = np.where(surv == 0, np.nan, surv)
            return np.exp(np.log(xx) - z * se), np.minimum(np.exp(np.log(xx) + z * se), 1.0)
        if conf_type == "log-log":
            xx = np.where((surv == 0) | (surv == 1), np.nan, surv)
            half = z * se / np.log(xx)
            loglog = np.log(-np.log(xx))
            return np.exp(-np.exp(loglog - half)), np.exp(-np.exp(loglog + half))
    raise ValueError(f"unknown conf_type {conf_type!r}")
