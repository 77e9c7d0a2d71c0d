"""Quantiles of a survival curve by the rules of R's ``quantile.survfit`` (survival 3.5).

The p-quantile is the first time the curve drops to 1 - p or below. Where the curve is flat at
exactly 1 - p (within ``TOLERANCE``), it is the midpoint of the time it reached 1 - p and the
time of the next drop, or of the last follow-up time if there is no further drop ("the usual
midpoint rule used for medians", Therneau). The limits of its confidence interval are where
the lower and upper confidence curves cross 1 - p. Undefined values are NaN.
"""

from __future__ import annotations

import numpy as np

#: R's ``sqrt(.Machine$double.eps)``.
TOLERANCE = float(np.sqrt(np.finfo(np.float64).eps))


def _first_occurrence(y: np.ndarray) -> np.ndarray:
    """Mask keeping the first of equal values (NaN equal to NaN), as R's ``!duplicated``."""
    key = np.where(np.isnan(y), np.inf, y)
    _, first = np.unique(key, return_index=True)
    keep = np.zeros(y.size, dtype=bool)
    keep[first] = True
    return keep


def _step_right(xs: np.ndarray, ys: np.ndarray, xout: np.ndarray) -> np.ndarray:
    """R's ``approx(xs, ys, xout, method="constant", f=1)`` (distinct ``xs``; NaN outside).

    As in R the pairs are first sorted by ``xs``: a confidence limit under delayed entry need
    not be monotone, and R then reads the sorted limits.
    """
    order = np.argsort(xs, kind="stable")
    xs, ys = xs[order], ys[order]
    out = np.full(xout.shape, np.nan)
    inside = (xout >= xs[0]) & (xout <= xs[-1])
    idx = np.searchsorted(xs, xout[inside], "left")
    out[inside] = ys[idx]
    return out


def find_quantile(
    time: np.ndarray, surv: np.ndarray, probs: np.ndarray, start: float = 0.0
) -> np.ndarray:
    """Times at which a curve ``surv`` (NaN = undefined) reaches ``1 - probs``: ``findq`` in R."""
    probs = np.asarray(probs, dtype=np.float64)
    x = np.concatenate([[start], np.asarray(time, dtype=np.float64)])
    y = np.concatenate([[0.0], 1.0 - np.asarray(surv, dtype=np.float64)])
    if np.all(np.isnan(y)) or np.nanmax(y) < probs.min():
        return np.full(probs.shape, np.nan)
    xmax = x[-1]
    keep = _first_occurrence(y)
    x, y = x[keep], y[keep]
    position = np.arange(y.size, dtype=np.float64)
    known = ~np.isnan(y)
    i1 = _step_right(y[known] + TOLERANCE, position[known], probs)
    i2 = _step_right(y[known] - TOLERANCE, position[known], probs)

    def at(i: np.ndarray) -> np.ndarray:
        out = np.full(i.shape, np.nan)
        ok = ~np.isnan(i)
        out[ok] = x[i[ok].astype(np.int64)]
        return out

    quant = (at(i1) + at(i2)) / 2
    quant[probs == 0] = x[0]
    if not np.isnan(y[-1]):
        last = np.abs(probs - y[-1]) < TOLERANCE
        quant[last] = (at(i1[last]) + xmax) / 2
    return quant
