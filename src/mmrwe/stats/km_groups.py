"""Kaplan–Meier curves of a run's analysis groups and the tests a figure prints beside them.

The curves (log-transformed 95 % intervals, as R's ``survfit``) in group order; each group's
median where its curve is drawn (at least the small-cell threshold at risk); and, for
independent groups (one line per patient), the log-rank p (``survdiff``) among groups of at
least the threshold and, for exactly two such groups, the Cox hazard ratio (Efron ties) of the
second against the first. The report only formats these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from mmrwe.errors import MmrweError
from mmrwe.stats.cox import CoxPH
from mmrwe.stats.km import KaplanMeier
from mmrwe.stats.logrank import LogRankTest
from mmrwe.stats.subgroups import MAX_LOG_HR_SE


@dataclass(frozen=True)
class HazardRatio:
    """Hazard ratio of ``group`` against ``reference`` with its 95 % Wald interval."""

    group: Any
    reference: Any
    hr: float
    lower: float
    upper: float


@dataclass(frozen=True)
class GroupCurves:
    """``curve``: the estimator's table (group, time, surv, lower, upper, n_risk, …) in group
    order; ``medians``: group → median (months) for the medians drawn; ``logrank_p`` and
    ``hazard_ratio``: None when not computed or not estimable."""

    km: KaplanMeier
    curve: pl.DataFrame
    medians: dict[Any, float]
    logrank_p: float | None
    hazard_ratio: HazardRatio | None


def km_by_group(
    time: np.ndarray,
    event: np.ndarray,
    group: np.ndarray,
    *,
    threshold: int,
    independent: bool,
) -> GroupCurves:
    """Curves of ``time`` (months) and ``event`` per ``group`` (groups in order of first
    appearance); tests only for ``independent`` groups, each of at least ``threshold``."""
    km = KaplanMeier("log").fit(time, event, group=group)
    order = list(dict.fromkeys(group.tolist()))
    curve = (
        km.table_.join(pl.DataFrame({"group": order, "_o": range(len(order))}), on="group")
        .sort("_o", "time")
        .drop("_o")
    )
    sizes = dict(zip(km.summary_["group"], km.summary_["n"], strict=True))
    shown = curve.filter(pl.col("n_risk") >= threshold).group_by("group").agg(pl.col("time").max())
    last_shown = dict(shown.iter_rows())
    medians = {
        g: m
        for g, m in zip(km.summary_["group"], km.summary_["median"], strict=True)
        if m is not None and g in last_shown and m <= last_shown[g]
    }
    tested = [g for g in order if sizes[g] >= max(threshold, 1)]
    p, hr = None, None
    if independent and len(tested) >= 2 and event.any():
        keep = np.isin(group, tested)
        p = float(LogRankTest().fit(time[keep], event[keep], group[keep]).p_value_)
        if len(tested) == 2:
            estimate = two_group_hazard_ratio(time[keep], event[keep], group[keep] == tested[1])
            if estimate is not None:
                hr = HazardRatio(tested[1], tested[0], *estimate)
    return GroupCurves(km, curve, medians, p, hr)


def two_group_hazard_ratio(
    time: np.ndarray, event: np.ndarray, second: np.ndarray
) -> tuple[float, float, float] | None:
    """(HR, lower, upper) of the ``second`` group against the rest (Cox, Efron ties), or None
    when not estimable: a group without events, no convergence, or an infinite coefficient
    (monotone likelihood), as the subgroup table leaves it out."""
    if not (event[second].any() and event[~second].any()):
        return None
    try:
        with np.errstate(over="ignore"):
            cox = CoxPH().fit(second.astype(float).reshape(-1, 1), time, event)
    except (np.linalg.LinAlgError, MmrweError):
        return None
    if not cox.converged_ or not np.all(np.isfinite(cox.se_) & (cox.se_ < MAX_LOG_HR_SE)):
        return None
    hr, lo, hi = (float(v) for v in cox.summary_.select("hr", "lower", "upper").row(0))
    return hr, lo, hi
