"""Patient data reconstructed from a published Kaplan–Meier curve (Guyot et al. 2012).

Guyot P, Ades AE, Ouwens MJNM, Welton NJ. Enhanced secondary analysis of survival data:
reconstructing the data from published Kaplan-Meier survival curves. BMC Med Res Methodol
2012;12:9. Inputs: digitised curve points ``(time, surv)``, the numbers at risk printed under the
figure ``(time, n_risk)`` and, when reported, the total number of events. The algorithm, as in the
authors' R code (appendix of the paper):

1. The at-risk times cut the curve into intervals; interval *i* runs from at-risk time *i* to the
   last curve point before at-risk time *i + 1*.
2. On each interval but the last, the number censored is first guessed from the drop of the curve,
   ``n_risk[i] * S(t_i+1) / S(t_i) - n_risk[i+1]``, spread uniformly over the interval, and the
   events at each curve point are taken from its drop, ``d = round(n * (1 - S / S_KM(last)))``;
   the number censored is corrected until the number at risk reached at the next at-risk time
   equals the published one.
3. On the last interval the censoring rate is the average of the earlier intervals; when the total
   number of events is given, the censoring there is corrected until the events add up to it.
4. Each event is a patient with an event at its curve point; each censoring a patient censored at
   the midpoint between two curve points; patients still at risk at the end are censored at the
   last curve point.

Two steps the authors' code leaves to the user are done here: every at-risk time is added to the
curve as a point (the curve's value carried forward) when the digitised points miss it, so that
every interval holds at least one point; and a point at time 0 with survival 1 is added when
missing. The loops run over the digitised points (a few hundred), not over patients; the
recursion through the Kaplan–Meier product is sequential by nature.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from mmrwe.errors import InvalidDataError, ParameterError

#: Digitising noise tolerated above 1 (or below 0) before ``surv`` is refused; such values are
#: clipped to 1 (or 0) and counted among the adjusted points.
SURV_TOLERANCE = 0.01

#: Bound on the correction rounds of the censoring of one interval (the authors' loop has none).
MAX_ROUNDS = 1000


class ReconstructionWarning(UserWarning):
    """The inputs were adjusted (points sorted, made non-increasing) or a bound was hit.

    Silence with ``warnings.simplefilter("ignore", ReconstructionWarning)``.
    """


@dataclass(frozen=True)
class Curve:
    """A digitised Kaplan–Meier curve after hygiene: times ascending, survival non-increasing."""

    time: np.ndarray
    surv: np.ndarray
    n_sorted: int  # points that were out of time order
    n_raised: int  # points lowered to make the curve non-increasing (or clipped into 0-1)


def _numbers(values: Any, column: str, source: str) -> np.ndarray:
    """Finite numbers as float64; an error names the source, column and first bad row."""
    s = values if isinstance(values, pl.Series) else pl.Series(column, list(values), strict=False)
    cast = s.cast(pl.Float64, strict=False)
    bad = (cast.is_null() | cast.is_nan().fill_null(True)).to_numpy()
    arr = cast.fill_null(np.nan).to_numpy()
    bad |= ~np.isfinite(arr)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InvalidDataError(
            f"{source}, column '{column}', row {row + 1} (value {s[row]!r}): not a finite number "
            f"({int(bad.sum())} such rows). Give every {column} as a number (rows counted from 1, "
            "header excluded)."
        )
    return arr


def _columns(data: Any, columns: tuple[str, str], source: str, param: str) -> tuple[Any, Any]:
    """The two columns of a Polars table, or the two members of a pair of array-likes."""
    if isinstance(data, pl.DataFrame):
        missing = [c for c in columns if c not in data.columns]
        if missing:
            raise InvalidDataError(
                f"{source} has no column {', '.join(repr(c) for c in missing)}; its columns are "
                f"{', '.join(data.columns)}. Name the columns {columns[0]},{columns[1]}."
            )
        return data[columns[0]], data[columns[1]]
    if isinstance(data, Sequence) and not isinstance(data, str) and len(data) == 2:
        return data[0], data[1]
    raise ParameterError(
        f"The '{param}' parameter of reconstruct_ipd must be a Polars table with columns "
        f"{columns[0]}, {columns[1]} or a pair ({columns[0]}, {columns[1]}). "
        f"Got {type(data).__name__} instead."
    )


def _pair(a: Any, b: Any, columns: tuple[str, str], source: str) -> tuple[np.ndarray, np.ndarray]:
    """Two equal-length, non-empty columns of finite numbers."""
    x, y = _numbers(a, columns[0], source), _numbers(b, columns[1], source)
    if x.size != y.size:
        raise InvalidDataError(
            f"{source}: {columns[0]} has {x.size} values, {columns[1]} {y.size}."
        )
    if x.size == 0:
        raise InvalidDataError(f"{source} has no rows.")
    return x, y


def check_curve(time: Any, surv: Any, source: str = "curve") -> Curve:
    """Validate and tidy digitised curve points (``surv`` a proportion 0–1).

    Refuses negative times and survival outside 0–1 (beyond :data:`SURV_TOLERANCE`); values above
    1 are taken for percentages and the message says to divide by 100. Points are sorted by time
    (ties by falling survival), made non-increasing (running minimum) and exact duplicates are
    dropped; :class:`Curve` counts what was changed.
    """
    t, s = _pair(time, surv, ("time", "surv"), source)
    if (t < 0).any():
        row = int(np.flatnonzero(t < 0)[0])
        raise InvalidDataError(
            f"{source}, column 'time', row {row + 1} (value {t[row]:g}): a negative time. "
            "Times are counted from the start of the curve (0); fix the digitised point."
        )
    high = s > 1 + SURV_TOLERANCE
    if high.any():
        row = int(np.flatnonzero(high)[0])
        hint = (
            " The values look like percentages: divide the surv column by 100."
            if s.max() > 1.5
            else ""
        )
        raise InvalidDataError(
            f"{source}, column 'surv', row {row + 1} (value {s[row]:g}): survival must be a "
            f"proportion between 0 and 1 ({int(high.sum())} rows above 1).{hint}"
        )
    low = s < -SURV_TOLERANCE
    if low.any():
        row = int(np.flatnonzero(low)[0])
        raise InvalidDataError(
            f"{source}, column 'surv', row {row + 1} (value {s[row]:g}): survival below 0. "
            "Fix the digitised point."
        )
    clipped = np.clip(s, 0.0, 1.0)
    n_clipped = int((clipped != s).sum())
    order = np.lexsort((-clipped, t))
    n_sorted = int((order != np.arange(t.size)).sum())
    t, s = t[order], clipped[order]
    if t[0] > 0:
        t, s = np.concatenate(([0.0], t)), np.concatenate(([1.0], s))
    mono = np.minimum.accumulate(s)
    n_raised = int((mono != s).sum()) + n_clipped
    keep = np.ones(t.size, dtype=bool)
    keep[1:] = (t[1:] != t[:-1]) | (mono[1:] != mono[:-1])
    return Curve(t[keep], mono[keep], n_sorted, n_raised)


def check_at_risk(
    time: Any, n_risk: Any, source: str = "at-risk table"
) -> tuple[np.ndarray, np.ndarray]:
    """Validate published numbers at risk: first time 0, times increasing, counts whole,
    non-negative and non-increasing, the first one positive."""
    t, n = _pair(time, n_risk, ("time", "n_risk"), source)

    def fail(row: int, what: str, fix: str) -> None:
        raise InvalidDataError(f"{source}, row {row + 1}: {what}. {fix}")

    if t[0] != 0:
        fail(
            0,
            f"the first at-risk time is {t[0]:g}, not 0",
            "Start the table with the number of patients at time 0 (as printed under the figure).",
        )
    step = np.diff(t)
    if (step <= 0).any():
        r = int(np.flatnonzero(step <= 0)[0]) + 1
        fail(
            r,
            f"time {t[r]:g} does not come after {t[r - 1]:g}",
            "List the at-risk times once each, in increasing order.",
        )
    whole = (n >= 0) & (n == np.round(n))
    if not whole.all():
        r = int(np.flatnonzero(~whole)[0])
        fail(
            r,
            f"n_risk {n[r]:g} is not a whole number >= 0",
            "Numbers at risk are counts of patients; copy them as printed.",
        )
    rise = np.diff(n) > 0
    if rise.any():
        r = int(np.flatnonzero(rise)[0]) + 1
        fail(
            r,
            f"n_risk rises from {n[r - 1]:g} to {n[r]:g}",
            "Numbers at risk can only fall over time; check the transcription.",
        )
    if n[0] <= 0:
        fail(0, "no patients at risk at time 0", "Give the number of patients at time 0.")
    return t, n.astype(np.int64)


def _hist(cen_t: np.ndarray, breaks: np.ndarray) -> np.ndarray:
    """Counts per bin as R's ``hist(x, breaks)``: bins (b_j, b_j+1], the first closed."""
    bins = np.maximum(np.searchsorted(breaks, cen_t, side="left") - 1, 0)
    return np.bincount(bins, minlength=breaks.size - 1)[: breaks.size - 1]


def _spread(n_censor: int, t: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Censorings placed evenly on (t[lo], t[hi]) and counted per point lo..hi-1."""
    j = np.arange(1, n_censor + 1)
    cen_t = t[lo] + j * (t[hi] - t[lo]) / (n_censor + 1)
    return _hist(cen_t, t[lo : hi + 1])


class _Guyot:
    """State of the algorithm: per curve point the number at risk, events, censored, KM."""

    def __init__(self, t: np.ndarray, s: np.ndarray, n0: int) -> None:
        self.t, self.s = t, s
        m = t.size
        self.n_hat = np.full(m + 1, n0 + 1, dtype=np.int64)
        self.d = np.zeros(m, dtype=np.int64)
        self.cen = np.zeros(m, dtype=np.int64)
        self.km = np.ones(m)

    def events(self, lo: int, hi: int, last: int, *, first: bool, fill_next: bool = True) -> int:
        """Events at points lo..hi from the curve's drops; returns the last point with an event."""
        for k in range(lo, hi + 1):
            n = self.n_hat[k]
            if first and k == lo:
                self.d[k], self.km[k] = 0, 1.0
            else:
                ref = self.km[last]
                d = round(n * (1 - self.s[k] / ref)) if ref > 0 and n > 0 else 0
                self.d[k] = min(max(d, 0), max(n, 0))
                self.km[k] = ref * (1 - self.d[k] / n) if n > 0 else ref
            if fill_next or k != hi:
                nxt = n - self.d[k] - self.cen[k]
                if nxt < 0:  # the number at risk cannot be negative
                    nxt, self.cen[k] = 0, n - self.d[k]
                self.n_hat[k + 1] = nxt
            if self.d[k] != 0:
                last = k
        return last


def _round(x: float) -> int:
    """R's ``round`` (half to even)."""
    return int(np.rint(x))


def _intervals(
    t: np.ndarray, s: np.ndarray, t_risk: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Curve with a point at every at-risk time; index of the first point of each interval."""
    missing = ~np.isin(t_risk, t)
    if missing.any():
        add_t = t_risk[missing]
        add_s = s[np.searchsorted(t, add_t, side="right") - 1]  # value carried forward
        t2, s2 = np.concatenate((t, add_t)), np.concatenate((s, add_s))
        order = np.lexsort((-s2, t2))
        t, s = t2[order], s2[order]
    lower = np.searchsorted(t, t_risk, side="left")
    return t, s, lower


def reconstruct_ipd(
    curve: Any,
    at_risk: Any,
    total_events: int | None = None,
    *,
    curve_source: str = "curve",
    at_risk_source: str = "at-risk table",
) -> pl.DataFrame:
    """Patient-level ``time, event`` rows reconstructed from a published Kaplan–Meier curve.

    Parameters
    ----------
    curve : Polars table with columns ``time, surv`` or a pair ``(time, surv)``
        Digitised points; ``surv`` a proportion 0–1, time in the figure's unit (e.g. months).
    at_risk : Polars table with columns ``time, n_risk`` or a pair ``(time, n_risk)``
        Numbers at risk printed under the figure; the first at time 0.
    total_events : int or None
        Total number of events reported for the arm; it fixes the censoring of the last interval.
    curve_source, at_risk_source : names used in error messages (e.g. the file names).

    Returns one row per patient (as many as at risk at time 0), sorted by time with events first at
    tied times: ``time`` (Float64, the curve's unit) and ``event`` (Int8, 1 = event, 0 =
    censored). Adjustments to the inputs are reported as :class:`ReconstructionWarning`.
    """
    c = _columns(curve, ("time", "surv"), curve_source, "curve")
    r = _columns(at_risk, ("time", "n_risk"), at_risk_source, "at_risk")
    cv = check_curve(c[0], c[1], curve_source)
    t_risk, n_risk = check_at_risk(r[0], r[1], at_risk_source)
    if total_events is not None and (
        not isinstance(total_events, int | np.integer) or total_events < 0
    ):
        raise ParameterError(
            "The 'total_events' parameter of reconstruct_ipd must be a whole number >= 0 or None. "
            f"Got {total_events!r} instead."
        )
    if total_events is not None and total_events > n_risk[0]:
        raise InvalidDataError(
            f"total events {total_events} exceed the {n_risk[0]} patients at risk at time 0 "
            f"({at_risk_source}, row 1). Check both figures."
        )
    notes = []
    if cv.n_sorted:
        notes.append(f"{cv.n_sorted} points were out of time order and were sorted")
    if cv.n_raised:
        notes.append(
            f"{cv.n_raised} points were lowered to keep the curve non-increasing (or clipped into 0–1)"
        )
    beyond = t_risk > cv.time[-1]
    if beyond.any():
        notes.append(
            f"{int(beyond.sum())} at-risk times after the last point of the curve "
            f"({cv.time[-1]:g}) were ignored"
        )
        t_risk, n_risk = t_risk[~beyond], n_risk[~beyond]
    if notes:
        warnings.warn(
            f"{curve_source}: " + "; ".join(notes) + ".", ReconstructionWarning, stacklevel=2
        )
    t, d, cen = _guyot(cv.time, cv.surv, t_risk, n_risk, total_events)
    if total_events is not None and int(d.sum()) != total_events:
        warnings.warn(
            f"{curve_source}: the reconstruction has {int(d.sum())} events, the reported total is "
            f"{total_events}; the curve, the numbers at risk and the total disagree (the last "
            "interval had too little censoring to move). Check the three inputs.",
            ReconstructionWarning,
            stacklevel=2,
        )
    return _ipd(t, d, cen, int(n_risk[0]))


def _guyot(
    t: np.ndarray, s: np.ndarray, t_risk: np.ndarray, n_risk: np.ndarray, total: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The authors' algorithm; returns the curve points, events and censorings per point."""
    t, s, lower = _intervals(t, s, t_risk)
    n_risk = n_risk.copy()
    n_int, n_t = lower.size, t.size
    upper = np.append(lower[1:] - 1, n_t - 1)
    g = _Guyot(t, s, int(n_risk[0]))
    n_censor = np.zeros(n_int, dtype=np.int64)
    last_i = np.zeros(n_int, dtype=np.int64)
    last = 0
    for i in range(n_int - 1):
        lo, hi, nxt = lower[i], upper[i], lower[i + 1]
        ratio = s[nxt] / s[lo] if s[lo] > 0 else 0.0
        n_censor[i] = _round(n_risk[i] * ratio - n_risk[i + 1])
        rounds = 0
        while g.n_hat[nxt] > n_risk[i + 1] or (g.n_hat[nxt] < n_risk[i + 1] and n_censor[i] > 0):
            if n_censor[i] <= 0:
                g.cen[lo : hi + 1] = 0
                n_censor[i] = 0
            else:
                g.cen[lo : hi + 1] = _spread(int(n_censor[i]), t, lo, nxt)
            g.n_hat[lo] = n_risk[i]
            last = g.events(lo, hi, last_i[i], first=i == 0)
            n_censor[i] += g.n_hat[nxt] - n_risk[i + 1]
            rounds += 1
            if rounds >= MAX_ROUNDS:
                _bound_hit(f"interval {i + 1} (from time {t_risk[i]:g})")
                break
        if g.n_hat[nxt] < n_risk[i + 1]:
            n_risk[i + 1] = g.n_hat[nxt]
        last_i[i + 1] = last
    lo, hi = lower[-1], upper[-1]
    if n_int > 1:
        span = t[upper[-2]] - t[lower[0]]
        rate = n_censor[:-1].sum() * (t[hi] - t[lo]) / span if span > 0 else 0.0
        n_censor[-1] = min(_round(rate), n_risk[-1])
    _censor_last(g, n_censor, lo, hi)
    g.n_hat[lo] = n_risk[-1]
    g.events(lo, hi, last_i[-1], first=False)
    if total is not None:
        sum_before = int(g.d[: upper[-2] + 1].sum()) if n_int > 1 else 0
        if n_int > 1 and sum_before >= total:
            g.d[lo : hi + 1] = 0
            g.cen[lo:hi] = 0
            g.n_hat[lo + 1 : hi + 2] = n_risk[-1]
        else:
            sumd = int(g.d[: hi + 1].sum())
            rounds = 0
            while hi > lo and (sumd > total or (sumd < total and n_censor[-1] > 0)):
                n_censor[-1] += sumd - total
                _censor_last(g, n_censor, lo, hi)
                g.n_hat[lo] = n_risk[-1]
                g.events(lo, hi, last_i[-1], first=False, fill_next=False)
                sumd = int(g.d[: hi + 1].sum())
                rounds += 1
                if rounds >= MAX_ROUNDS:
                    _bound_hit("the last interval (matching the total events)")
                    break
    return t, g.d, g.cen


def _censor_last(g: _Guyot, n_censor: np.ndarray, lo: int, hi: int) -> None:
    """Censorings of the last interval spread evenly between its first and last points."""
    if n_censor[-1] <= 0:
        g.cen[lo:hi] = 0
        n_censor[-1] = 0
    elif hi > lo:
        g.cen[lo:hi] = _spread(int(n_censor[-1]), g.t, lo, hi)


def _bound_hit(where: str) -> None:
    warnings.warn(
        f"the censoring of {where} did not settle after {MAX_ROUNDS} rounds; the curve and the "
        "numbers at risk disagree. Check the digitised points and the at-risk table.",
        ReconstructionWarning,
        stacklevel=4,
    )


def _ipd(t: np.ndarray, d: np.ndarray, cen: np.ndarray, n0: int) -> pl.DataFrame:
    """One row per patient: events at their point, censorings at mid-points, the rest at the end."""
    mid = (t[:-1] + t[1:]) / 2
    ev_t = np.repeat(t, d)
    ce_t = np.repeat(mid, cen[:-1])
    rest = n0 - ev_t.size - ce_t.size
    if rest < 0:
        raise InvalidDataError(
            f"The reconstruction produced {ev_t.size + ce_t.size} patients but {n0} were at risk "
            "at time 0; the curve and the numbers at risk disagree. Check both."
        )
    time = np.concatenate((ev_t, ce_t, np.full(rest, t[-1])))
    event = np.concatenate((np.ones(ev_t.size), np.zeros(ce_t.size + rest))).astype(np.int8)
    order = np.lexsort((-event, time))
    return pl.DataFrame({"time": time[order], "event": event[order]})
