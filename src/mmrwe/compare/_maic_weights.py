"""Matching-adjusted indirect comparison weights (Signorovitch et al., 2010).

Signorovitch JE, Wu EQ, Yu AP, et al. Comparative effectiveness without head-to-head trials: a
method for matching-adjusted indirect comparisons applied to psoriasis treatment with
adalimumab or etanercept. Pharmacoeconomics 2010;28:935-945. Phillippo DM, Ades AE, Dias S, et
al. NICE DSU Technical Support Document 18: methods for population-adjusted indirect
comparisons in submissions to NICE, 2016.

Each real-world patient i gets the weight w_i = exp(x_i'b), x_i the covariates centred at the
published trial means, b the minimiser of sum_i exp(x_i'b) (method of moments: at the minimum
the weighted means equal the targets). The objective is convex; we minimise its logarithm,
log-sum-exp, by Newton's method with step halving on columns scaled to unit standard
deviation (the weights do not depend on the scaling). Weights are rescaled so they sum to n,
the number of real-world patients (mean weight 1).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Self

import numpy as np
import polars as pl

from mmrwe.errors import InvalidDataError, check_parameter

#: Largest absolute difference between a weighted mean and its target accepted as matched.
MATCH_TOLERANCE = 1e-6


class MaicWarning(UserWarning):
    """Poor overlap between the real-world cohort and the trial population.

    Silence with ``warnings.simplefilter("ignore", MaicWarning)``; the texts stay in
    ``MAIC.warnings_``.
    """


class _Unreachable(Exception):
    """The targets cannot be matched (outside the range, or not jointly)."""


def _solve(x: np.ndarray, targets: np.ndarray, max_iter: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Weights (summing to n), coefficients b (original units) and Newton iterations.

    Raises ``_Unreachable`` with the index of the worst covariate when the weighted means do
    not reach the targets within ``MATCH_TOLERANCE``.
    """
    n = x.shape[0]
    xc = x - targets
    scale = x.std(axis=0)
    moving = scale > 0
    z = xc[:, moving] / scale[moving]
    beta = np.zeros(z.shape[1])

    def objective(b: np.ndarray) -> tuple[float, np.ndarray]:
        eta = z @ b
        top = eta.max(initial=0.0)
        p = np.exp(eta - top)
        total = p.sum()
        return top + math.log(total), p / total

    f, p = objective(beta)
    n_iter = 0
    while n_iter < max_iter:
        grad = p @ z  # weighted mean of z: the scaled distance from the targets
        if np.abs(grad).max(initial=0.0) < 1e-13:
            break
        n_iter += 1
        hess = (z * p[:, None]).T @ z - np.outer(grad, grad)
        step = np.linalg.lstsq(hess, -grad, rcond=None)[0]
        if -(grad @ step) < 1e-28:  # Newton decrement at rounding level: converged
            break
        for _ in range(40):  # step halving keeps every iterate a descent
            f_new, p_new = objective(beta + step)
            if f_new <= f + 1e-4 * (grad @ step):
                break
            step /= 2
        else:
            break  # no descent left: converged to rounding, or the targets are unreachable
        beta, f, p = beta + step, f_new, p_new
    gap = p @ xc
    if not np.all(np.abs(gap) <= MATCH_TOLERANCE):
        raise _Unreachable(int(np.argmax(np.abs(gap) / np.where(scale > 0, scale, 1.0))), gap)
    coef = np.zeros(x.shape[1])
    coef[moving] = beta / scale[moving]
    return p * n, coef, n_iter


def _as_matrix(covariates: Any, targets: Mapping[str, Any]) -> tuple[np.ndarray, list[str]]:
    """The matched columns as a float matrix; every problem with the targets reported at once."""
    names = list(targets)
    if not names:
        raise InvalidDataError("No targets were given: name at least one covariate to match on.")
    problems = []
    for name in names:
        t = targets[name]
        if t is None or (isinstance(t, float) and math.isnan(t)):
            problems.append(
                f"'{name}': the trial did not publish it; leave it out of the matching set "
                "(a missing trial value is never estimated)"
            )
        elif not isinstance(t, int | float) or isinstance(t, bool) or not math.isfinite(t):
            problems.append(f"'{name}': the target {t!r} is not a finite number")
    if isinstance(covariates, pl.DataFrame):
        missing = [n for n in names if n not in covariates.columns]
        problems += [f"'{n}': no such column in the real-world covariates" for n in missing]
    else:
        arr = np.asarray(covariates, dtype=np.float64)
        arr = arr[:, None] if arr.ndim == 1 else arr
        if arr.ndim != 2 or arr.shape[1] != len(names):
            problems.append(
                f"the covariate array has {arr.shape[-1]} columns but {len(names)} targets were "
                "given; pass a Polars table with named columns, or one target per column in order"
            )
        covariates = pl.DataFrame(arr, schema=names) if not problems else None
    if problems:
        raise InvalidDataError("Cannot match on the given targets: " + "; ".join(problems) + ".")
    assert isinstance(covariates, pl.DataFrame)
    table = covariates.select(names)
    for name in names:
        col = table[name]
        if not (col.dtype.is_numeric() or col.dtype == pl.Boolean):
            raise InvalidDataError(
                f"Column '{name}' is {col.dtype}, not numeric: code categories as 0/1 indicator "
                "columns (one per published proportion)."
            )
        bad = col.is_null().to_numpy()
        if col.dtype.is_float():
            bad |= col.is_nan().fill_null(False).to_numpy()
        if bad.any():
            rows = np.flatnonzero(bad)
            raise InvalidDataError(
                f"Column '{name}', row {rows[0] + 1}: the value is missing ({rows.size} rows in "
                "all). MAIC needs every matched covariate for every patient: drop these patients "
                "(and report it) or impute before matching."
            )
    return table.cast(pl.Float64).to_numpy(), names


def _check_ranges(x: np.ndarray, names: list[str], t: np.ndarray) -> None:
    """A target at or outside the range of the real-world values can never be reached."""
    lo, hi = x.min(axis=0), x.max(axis=0)
    constant = (lo == hi) & (lo == t)
    bad = ~constant & ((t <= lo) | (t >= hi))
    if not bad.any():
        return
    parts = []
    for j in np.flatnonzero(bad):
        hint = ""
        if np.isin(x[:, j], (0.0, 1.0)).all() and 1 < t[j] <= 100:
            hint = f" (a proportion is given as a fraction: {t[j] / 100:g} for {t[j]:g} %)"
        parts.append(
            f"'{names[j]}': target {t[j]:g} is not strictly inside the real-world range "
            f"[{lo[j]:g}, {hi[j]:g}]{hint}"
        )
    raise InvalidDataError(
        "Weighting cannot reach the trial population (no overlap): "
        + "; ".join(parts)
        + ". Drop the covariate from the matching set or compare with a different trial."
    )


def _smd_scale(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Denominator of the standardised difference (Austin, 2009, Stat Med 28:3083)."""
    sd = x.std(axis=0, ddof=1) if x.shape[0] > 1 else np.zeros(x.shape[1])
    binary = np.isin(x, (0.0, 1.0)).all(axis=0)
    p = x.mean(axis=0)
    pooled = np.sqrt(np.clip((p * (1 - p) + t * (1 - t)) / 2, 0.0, None))
    out = np.where(binary, pooled, sd)
    return np.where(out > 0, out, np.nan)


class MAIC:
    """Method-of-moments MAIC weights for a real-world cohort matched to a trial's baseline.

    Parameters
    ----------
    min_ess_fraction : float
        Warn when the effective sample size falls below this fraction of n (default 0.10).
    min_ess : float
        Warn when the effective sample size falls below this count (default 30).
    max_weight_share : float
        Warn when one patient carries more than this share of the total weight (default 0.10).
    max_iter : int
        Newton iterations allowed (convergence takes 5-15 on overlapping data).

    Attributes (after ``fit``)
    --------------------------
    covariates_ : matched column names; ``targets_`` their published means/proportions.
    coef_ : b of w = exp(x'b) per covariate, per unit of the covariate (x centred at targets).
    weights_ : one weight per real-world patient, summing to n (mean weight 1).
    ess_ : effective sample size (sum w)^2 / sum w^2; ``ess_fraction_`` = ess_ / n.
    weight_summary_ : dict of min, q25, median, q75, max and the shares of the total weight
        held by the top 1 % and 5 % of patients and by the single heaviest one.
    summary_ : balance table: covariate, target, mean_before, mean_after, smd_before,
        smd_after, coef.
    warnings_ : list of overlap warnings (empty when overlap is adequate).
    """

    def __init__(
        self,
        min_ess_fraction: float = 0.10,
        min_ess: float = 30,
        max_weight_share: float = 0.10,
        max_iter: int = 100,
    ) -> None:
        self.min_ess_fraction = min_ess_fraction
        self.min_ess = min_ess
        self.max_weight_share = max_weight_share
        self.max_iter = max_iter

    def fit(self, covariates: Any, targets: Mapping[str, float | None]) -> Self:
        """Estimate the weights.

        ``covariates``: a Polars table of the real-world patients (one row each) holding a
        numeric column per target, or a 2-D array whose columns follow the order of
        ``targets``. ``targets``: published trial mean (continuous) or proportion as a
        fraction (0/1 indicator columns), e.g. ``{"age": 61.0, "tcr": 0.84}``.
        """
        owner = "MAIC"
        for name, lo, hi in (
            ("min_ess_fraction", 0, 1),
            ("max_weight_share", 0, 1),
        ):
            v = getattr(self, name)
            ok = isinstance(v, float | int) and lo <= v <= hi
            check_parameter(ok, name, owner, f"a number in [{lo}, {hi}]", v)
        ok = isinstance(self.min_ess, float | int) and self.min_ess >= 0
        check_parameter(ok, "min_ess", owner, "a number >= 0", self.min_ess)
        ok = isinstance(self.max_iter, int) and self.max_iter >= 1
        check_parameter(ok, "max_iter", owner, "an integer >= 1", self.max_iter)
        x, names = _as_matrix(covariates, targets)
        if x.shape[0] < 2:
            raise InvalidDataError(f"MAIC needs at least 2 real-world patients; got {x.shape[0]}.")
        t = np.array([float(targets[n]) for n in names])  # type: ignore[arg-type]
        _check_ranges(x, names, t)
        try:
            w, coef, self.n_iter_ = _solve(x, t, self.max_iter)
        except _Unreachable as exc:
            j, gap = exc.args
            raise InvalidDataError(
                f"The weights cannot match all targets together: after weighting, '{names[j]}' "
                f"has mean {t[j] + gap[j]:.6g} against the target {t[j]:.6g}. Each target lies "
                "inside the real-world range, but not their combination (no joint overlap). "
                "Drop a covariate from the matching set or compare with a different trial."
            ) from None
        self.covariates_, self.targets_ = names, t
        self._x = x
        self.coef_, self.weights_ = coef, w
        self.n_ = x.shape[0]
        self.ess_ = float(w.sum() ** 2 / (w**2).sum())
        self.ess_fraction_ = self.ess_ / self.n_
        self.weight_summary_ = _weight_summary(w)
        scale = _smd_scale(x, t)
        before, after = x.mean(axis=0), (w @ x) / w.sum()
        self.summary_ = pl.DataFrame(
            {
                "covariate": names,
                "target": t,
                "mean_before": before,
                "mean_after": after,
                "smd_before": (before - t) / scale,
                "smd_after": (after - t) / scale,
                "coef": coef,
            }
        ).with_columns(pl.col(pl.Float64).fill_nan(None))
        self.warnings_ = self._overlap_warnings()
        return self

    @classmethod
    def unadjusted(cls, n: int) -> Self:
        """A fitted MAIC of ``n`` patients matched on nothing: every weight 1, ESS = n. The
        comparison functions then give the unadjusted comparison through the same code."""
        self = cls()
        self.covariates_, self.targets_, self._x = [], np.empty(0), np.empty((n, 0))
        self.coef_, self.weights_, self.n_iter_ = np.empty(0), np.ones(n), 0
        self.n_, self.ess_, self.ess_fraction_ = n, float(n), 1.0
        self.weight_summary_ = _weight_summary(self.weights_)
        self.summary_ = pl.DataFrame(
            schema={c: pl.Float64 for c in ("target", "mean_before", "mean_after")}
        )
        self.warnings_ = []
        return self

    def refit(self, rows: np.ndarray) -> np.ndarray:
        """Weights re-estimated on the patients ``rows`` (indices, repeats allowed: a bootstrap
        resample); raises ``InvalidDataError`` when the resample cannot reach the targets."""
        if not self.covariates_:
            return np.ones(len(rows))
        x = self._x[rows]
        _check_ranges(x, self.covariates_, self.targets_)
        try:
            return _solve(x, self.targets_, self.max_iter)[0]
        except _Unreachable:
            raise InvalidDataError("The resample cannot reach the targets.") from None

    def _overlap_warnings(self) -> list[str]:
        out = []
        limit = max(self.min_ess_fraction * self.n_, self.min_ess)
        if self.ess_ < limit:
            out.append(
                f"Poor overlap: the effective sample size is {self.ess_:.1f} of {self.n_} "
                f"patients ({100 * self.ess_fraction_:.1f} %), below {limit:g} (the larger of "
                f"{100 * self.min_ess_fraction:g} % of n and {self.min_ess:g}). The weighted "
                "estimates rest on few patients; interpret them with caution."
            )
        share = self.weight_summary_["max_share"]
        if share > self.max_weight_share:
            row = int(np.argmax(self.weights_)) + 1
            out.append(
                f"Poor overlap: one patient (row {row}) carries {100 * share:.1f} % of the total "
                f"weight (limit {100 * self.max_weight_share:g} %); the weighted results depend "
                "on that patient."
            )
        return out


def _weight_summary(w: np.ndarray) -> dict[str, float]:
    """Distribution of the weights; top-k shares use the ceil(1 %/5 % of n) heaviest patients."""
    n = w.size
    desc = np.sort(w)[::-1]
    total = desc.sum()
    q = np.quantile(w, [0.25, 0.5, 0.75])
    return {
        "min": float(desc[-1]),
        "q25": float(q[0]),
        "median": float(q[1]),
        "q75": float(q[2]),
        "max": float(desc[0]),
        "top1pct_share": float(desc[: math.ceil(0.01 * n)].sum() / total),
        "top5pct_share": float(desc[: math.ceil(0.05 * n)].sum() / total),
        "max_share": float(desc[0] / total),
    }


def maic_weights(covariates: Any, targets: Mapping[str, float | None]) -> np.ndarray:
    """MAIC weights (summing to n) of the real-world patients; see :class:`MAIC`."""
    return MAIC().fit(covariates, targets).weights_


def median_as_proportion(values: Any, published_median: float, *, ties: str = "below") -> Any:
    """A published median turned into a matchable proportion: 1 where the value lies above it.

    Match the result with target 0.5 (half the trial lies above its median). ``ties="below"``
    (default) counts a value equal to the median as not above (indicator value > median);
    ``ties="above"`` counts it as above (value >= median). For a count such as prior lines
    the trial's true share strictly above its median is at most 0.5 and the share at or above
    it at least 0.5: run both as a sensitivity analysis. Missing values stay missing (null in
    a Series, NaN in an array). A Polars Series comes back as a Series of the same name, a
    Polars expression as an expression (for ``select``/``with_columns``).
    """
    check_parameter(
        ties in ("below", "above"), "ties", "median_as_proportion", "'below' or 'above'", ties
    )
    ok = isinstance(published_median, int | float) and math.isfinite(published_median)
    check_parameter(ok, "published_median", "median_as_proportion", "a number", published_median)
    if isinstance(values, pl.Series | pl.Expr):
        above = values > published_median if ties == "below" else values >= published_median
        above = above.cast(pl.Float64)
        return above.alias(values.name) if isinstance(values, pl.Series) else above
    v = np.asarray(values, dtype=np.float64)
    above = v > published_median if ties == "below" else v >= published_median
    return np.where(np.isnan(v), np.nan, above.astype(np.float64))
