"""Survival of a MAIC-weighted real-world cohort against a trial arm.

With patient-level trial data (usually reconstructed from the published Kaplan–Meier curve,
:mod:`mmrwe.compare.reconstruct`): weighted Kaplan–Meier and weighted Cox hazard ratio with a
robust and a bootstrap interval (:func:`compare_survival`). Without them: weighted medians and
landmark rates beside the published ones (:func:`compare_summary`). Times are in the unit of the
input; give both cohorts in the same unit (days in mmrwe; published figures are often months).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import polars as pl

from mmrwe.compare._maic_weights import MAIC, MaicWarning
from mmrwe.errors import InvalidDataError, check_parameter
from mmrwe.stats import CoxPH, KaplanMeier
from mmrwe.stats._input import check_events, check_times

#: Label of every row of :func:`compare_summary`.
SUMMARY_NOTE = "no digitised curve: medians and landmark rates only"


def _cohort(time: Any, event: Any, which: str) -> tuple[np.ndarray, np.ndarray]:
    t = check_times(time, f"{which}_time").astype(np.float64)
    e = check_events(event, f"{which}_event")
    if e.size != t.size:
        raise InvalidDataError(f"{which}_event has {e.size} values but {which}_time has {t.size}.")
    return t, e


def _check_maic(maic: Any, n: int, owner: str) -> None:
    ok = isinstance(maic, MAIC) and hasattr(maic, "weights_")
    check_parameter(ok, "maic", owner, "a fitted MAIC (MAIC().fit(covariates, targets))", maic)
    if maic.n_ != n:
        raise InvalidDataError(
            f"The MAIC was fitted on {maic.n_} real-world patients but rw_time has {n} rows; "
            "pass the times of the same patients, in the same order."
        )


def _emit(messages: list[str]) -> None:
    for message in messages:
        warnings.warn(message, MaicWarning, stacklevel=3)


def _log_hr(time: np.ndarray, event: np.ndarray, rw: np.ndarray, w: np.ndarray | None) -> float:
    """log HR real-world vs trial from a Cox fit (Efron ties); NaN when it does not converge."""
    fit = CoxPH().fit(rw[:, None], time, event, weights=w)
    return float(fit.params_[0]) if fit.converged_ else np.nan


def compare_survival(
    rw_time: Any,
    rw_event: Any,
    maic: MAIC,
    trial_time: Any,
    trial_event: Any,
    *,
    n_bootstrap: int = 1000,
    seed: int = 2010,
    conf_level: float = 0.95,
    on_progress: Callable[[int], None] | None = None,
) -> pl.DataFrame:
    """Hazard ratio and medians of the real-world cohort (weighted by ``maic``) against the trial.

    Rows ``unadjusted`` (Cox, model variance) and ``weighted`` (Cox with the MAIC weights, the
    trial patients weight 1, robust sandwich variance; Lin & Wei, 1989, J Am Stat Assoc). HR > 1
    means a higher hazard in the real-world cohort. ``lower_boot``/``upper_boot``: percentile
    interval of ``n_bootstrap`` resamples drawn with replacement within each cohort, the weights
    re-estimated on every real-world resample so that their uncertainty enters the interval;
    ``n_boot`` counts the resamples used (those whose weights reach the targets and whose Cox fit
    converges). ``ess``: effective sample size of the real-world row set. Medians by R's rule
    (``quantile.survfit``), null when not reached. Overlap warnings of ``maic`` are issued as
    :class:`MaicWarning`. Same ``seed``, same table.
    """
    owner = "compare_survival"
    ok = isinstance(n_bootstrap, int) and n_bootstrap >= 0
    check_parameter(ok, "n_bootstrap", owner, "an integer >= 0", n_bootstrap)
    check_parameter(isinstance(seed, int), "seed", owner, "an integer", seed)
    ok = isinstance(conf_level, float) and 0 < conf_level < 1
    check_parameter(ok, "conf_level", owner, "a number strictly between 0 and 1", conf_level)
    rt, re = _cohort(rw_time, rw_event, "rw")
    tt, te = _cohort(trial_time, trial_event, "trial")
    _check_maic(maic, rt.size, owner)
    _emit(maic.warnings_)
    n_rw, n_tr = rt.size, tt.size
    time, event = np.concatenate([rt, tt]), np.concatenate([re, te])
    arm = np.concatenate([np.ones(n_rw), np.zeros(n_tr)])
    w = np.concatenate([maic.weights_, np.ones(n_tr)])
    fits = [
        CoxPH(conf_level=conf_level).fit(arm[:, None], time, event),
        CoxPH(robust=True, conf_level=conf_level).fit(arm[:, None], time, event, weights=w),
    ]
    boot = np.full((n_bootstrap, 2), np.nan)
    rng = np.random.default_rng(seed)
    for b in range(n_bootstrap):
        i, j = rng.integers(0, n_rw, n_rw), rng.integers(0, n_tr, n_tr)
        tb, eb = np.concatenate([rt[i], tt[j]]), np.concatenate([re[i], te[j]])
        if eb.any():
            boot[b, 0] = _log_hr(tb, eb, arm, None)
            try:
                wb = np.concatenate([maic.refit(i), np.ones(n_tr)])
            except InvalidDataError:
                wb = None
            if wb is not None:
                boot[b, 1] = _log_hr(tb, eb, arm, wb)
        if on_progress is not None:
            on_progress(1)
    used = np.isfinite(boot).sum(axis=0)
    if n_bootstrap and used[1] < n_bootstrap:
        _emit(
            [
                f"{n_bootstrap - used[1]} of {n_bootstrap} bootstrap resamples could not be "
                "weighted to the targets (or their Cox fit did not converge) and were left out "
                "of the weighted bootstrap interval; many such resamples signal poor overlap."
            ]
        )
    alpha = (1 - conf_level) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN column: null limits
        limits = np.exp(np.nanquantile(boot, [alpha, 1 - alpha], axis=0)) if n_bootstrap else None
    km_rw = [KaplanMeier().fit(rt, re), KaplanMeier().fit(rt, re, weights=maic.weights_)]
    median_trial = KaplanMeier().fit(tt, te).median_[0]
    rows = []
    for k, (label, fit, km) in enumerate(zip(("unadjusted", "weighted"), fits, km_rw, strict=True)):
        s = fit.summary_.row(0, named=True)
        rows.append(
            {
                "analysis": label,
                "hr": s["hr"],
                "lower": s["lower"],
                "upper": s["upper"],
                "lower_boot": None if limits is None else float(limits[0, k]),
                "upper_boot": None if limits is None else float(limits[1, k]),
                "n_boot": int(used[k]),
                "ess": float(n_rw) if k == 0 else maic.ess_,
                "n_rw": n_rw,
                "n_trial": n_tr,
                "median_rw": km.median_[0],
                "median_trial": median_trial,
                "conf_level": conf_level,
            }
        )
    out = pl.DataFrame(rows, strict=False)
    return out.with_columns(pl.col(pl.Float64).fill_nan(None))


def compare_summary(
    rw_time: Any,
    rw_event: Any,
    maic: MAIC,
    *,
    trial_median: float | None = None,
    trial_rates: Mapping[float, float] | None = None,
    conf_level: float = 0.95,
) -> pl.DataFrame:
    """Weighted real-world median and landmark survival rates beside the published trial values.

    For a trial without a digitised curve. ``trial_median``: published median (unit of
    ``rw_time``); ``trial_rates``: {time: published survival rate as a fraction}. One row per
    measure: measure ("median" | "survival rate"), time (null for the median), rw_unadjusted,
    rw_weighted with its confidence limits (robust variance, log scale as R), trial_published,
    difference (weighted minus published), ess and the note :data:`SUMMARY_NOTE`. No hazard
    ratio is possible without patient-level trial data.
    """
    owner = "compare_summary"
    rates = dict(trial_rates or {})
    ok = trial_median is not None or bool(rates)
    check_parameter(ok, "trial_median", owner, "given (or trial_rates given)", trial_median)
    ok = all(0 <= float(v) <= 1 for v in rates.values())
    check_parameter(ok, "trial_rates", owner, "{time: rate as a fraction in [0, 1]}", trial_rates)
    rt, re = _cohort(rw_time, rw_event, "rw")
    _check_maic(maic, rt.size, owner)
    _emit(maic.warnings_)
    plain = KaplanMeier(conf_level=conf_level).fit(rt, re)
    weighted = KaplanMeier(conf_level=conf_level).fit(rt, re, weights=maic.weights_)
    rows = []
    if trial_median is not None:
        q = weighted.quantiles([0.5]).row(0, named=True)
        rows.append(
            ("median", None, plain.median_[0], q["estimate"], q["lower"], q["upper"], trial_median)
        )
    if rates:
        times = sorted(float(t) for t in rates)
        base = plain.at_times(times)["surv"].to_list()
        wt = weighted.at_times(times)
        for k, t in enumerate(times):
            published = float(next(v for key, v in rates.items() if float(key) == t))
            rows.append(
                (
                    "survival rate",
                    t,
                    base[k],
                    wt["surv"][k],
                    wt["lower"][k],
                    wt["upper"][k],
                    published,
                )
            )
    columns = [
        "measure",
        "time",
        "rw_unadjusted",
        "rw_weighted",
        "rw_weighted_lower",
        "rw_weighted_upper",
        "trial_published",
    ]
    out = pl.DataFrame(rows, schema=columns, orient="row", strict=False)
    return out.with_columns(
        pl.col("time").cast(pl.Float64),
        (pl.col("rw_weighted") - pl.col("trial_published")).alias("difference"),
        pl.lit(maic.ess_).alias("ess"),
        pl.lit(SUMMARY_NOTE).alias("note"),
    )
