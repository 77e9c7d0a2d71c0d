"""Kaplan–Meier estimator with the results of R's ``survfit`` (Therneau, survival 3.5).

S(t) = prod over event times s <= t of (1 - d(s)/n(s)) (Kaplan & Meier, 1958, J Am Stat Assoc),
with n(s) = #{entry < s <= T} subjects at risk and d(s) events at s (weighted with case weights).
The standard error of log S(t) is Greenwood's, sum d/(n(n-d)) (Greenwood, 1926); with
fractional case weights it is the infinitesimal-jackknife (robust) one, as R chooses by
default. Times are in the unit of the input (days in mmrwe).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Self

import numpy as np
import polars as pl

from mmrwe.errors import InvalidDataError, check_parameter
from mmrwe.stats._input import (
    check_entry,
    check_events,
    check_groups,
    check_times,
    check_weights,
)
from mmrwe.stats._tabulate import RiskTable, reverse_cumsum, tabulate
from mmrwe.stats.confint import check_conf, survival_confint
from mmrwe.stats.quantile import find_quantile

Variance = Literal["auto", "greenwood", "robust"]


@dataclass(frozen=True)
class Curve:
    """One group's curve at its distinct exit times (R's ``summary(fit, censored=TRUE)``)."""

    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    surv: np.ndarray
    se_log: np.ndarray  # standard error of log S(t) (R's fit$std.err)
    lower: np.ndarray
    upper: np.ndarray
    n: int  # rows used
    #: (weighted) number at risk at any time t: #{T >= t} minus entries at or after t
    exits_from: np.ndarray  # #{T >= values[k]} on the tabulation axis
    axis: np.ndarray
    entries: np.ndarray | None  # sorted entry times
    entry_weight_from: np.ndarray | None  # weighted count of entries >= entries[j]

    @property
    def std_err(self) -> np.ndarray:
        """Standard error of S(t) (Greenwood, or robust), NaN where S(t) = 0."""
        with np.errstate(invalid="ignore"):
            return np.where(self.surv > 0, self.surv * self.se_log, np.nan)

    def at_risk(self, times: np.ndarray) -> np.ndarray:
        """#{entry < t <= T} at each t; for t <= 0 the number at the first exit time (as R)."""
        k = np.searchsorted(self.axis, times, "left")
        padded = np.append(self.exits_from, 0.0)
        out = padded[k]
        if self.entries is not None and self.entry_weight_from is not None:
            j = np.searchsorted(self.entries, times, "left")
            out = out - np.append(self.entry_weight_from, 0.0)[j]
        first = self.n_risk[0] if self.n_risk.size else 0.0
        return np.where(np.asarray(times) <= 0, first, out)


def _curves_from(
    table: RiskTable,
    se_log_axis: np.ndarray,
    conf_type: str,
    conf_level: float,
    entry: np.ndarray | None,
    weights: np.ndarray | None,
    codes: np.ndarray,
) -> list[Curve]:
    exits_from = reverse_cumsum(table.n_event + table.n_censor)
    curves = []
    for g in range(table.n_groups):
        slots = np.flatnonzero(table.n_rows[g] > 0)
        d, n = table.n_event[g, slots], table.n_risk[g, slots]
        with np.errstate(divide="ignore", invalid="ignore"):
            hazard = np.where(d > 0, d / n, 0.0)
        surv = np.cumprod(1.0 - hazard)
        se_log = se_log_axis[g, slots]
        lower, upper = survival_confint(surv, se_log, conf_type, conf_level)
        entries = entry_from = None
        if entry is not None:
            mine = codes == g
            order = np.argsort(entry[mine], kind="stable")
            entries = entry[mine][order]
            w = np.ones(entries.size) if weights is None else weights[mine][order]
            entry_from = reverse_cumsum(w)
        curves.append(
            Curve(
                time=table.values[slots],
                n_risk=n,
                n_event=d,
                n_censor=table.n_censor[g, slots],
                surv=surv,
                se_log=se_log,
                lower=lower,
                upper=upper,
                n=int(table.n_rows[g].sum()),
                exits_from=exits_from[g],
                axis=table.values,
                entries=entries,
                entry_weight_from=entry_from,
            )
        )
    return curves


def greenwood_se_log(table: RiskTable) -> np.ndarray:
    """Greenwood standard error of log S on the axis: sqrt(cumsum d / (n (n - d)))."""
    d, n = table.n_event, table.n_risk
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(d > 0, d / (n * (n - d)), 0.0)
    return np.sqrt(np.cumsum(term, axis=1))


def robust_se_log(
    table: RiskTable, event: np.ndarray, weights: np.ndarray, codes: np.ndarray
) -> np.ndarray:
    """Infinitesimal-jackknife standard error of log S on the axis (R's robust variance).

    The influence of row i on log S(t) is L_i(t) = -sum_{s <= t} (dN_i(s) - Y_i(s) h(s)) /
    (n(s) - d(s)); the variance is sum_i w_i^2 L_i(t)^2, accumulated with cumulative sums.
    """
    n_groups, n_slots = table.n_event.shape
    d, n = table.n_event, table.n_risk
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(d > 0, 1.0 / (n - d), 0.0)
        gc = np.cumsum(np.where(d > 0, d / n, 0.0) * c, axis=1)
    flat_gc, flat_c = gc.ravel(), c.ravel()
    assert table.stop_slot is not None, "tabulate(..., keep_slots=True) is needed"
    stop = codes * n_slots + table.stop_slot
    if table.entry_slot is None:
        g_entry = np.zeros(event.size)
        entry_key = codes * (n_slots + 1)
    else:
        e = table.entry_slot
        g_entry = np.where(e >= 0, flat_gc[codes * n_slots + np.maximum(e, 0)], 0.0)
        entry_key = codes * (n_slots + 1) + e + 1
    w2 = weights**2
    with np.errstate(invalid="ignore", over="ignore"):
        k_end = np.where(event, -flat_c[stop], 0.0) + flat_gc[stop] - g_entry
        ended = np.cumsum(_dense(stop, w2 * k_end**2, n_groups, n_slots), axis=1)

    def active(values: np.ndarray) -> np.ndarray:
        started = np.bincount(entry_key, weights=values, minlength=n_groups * (n_slots + 1))
        started = np.cumsum(started.reshape(n_groups, n_slots + 1), axis=1)[:, :n_slots]
        return started - np.cumsum(_dense(stop, values, n_groups, n_slots), axis=1)

    a0, a1, a2 = active(w2), active(w2 * g_entry), active(w2 * g_entry**2)
    with np.errstate(invalid="ignore", over="ignore"):
        var = ended + gc**2 * a0 - 2 * gc * a1 + a2
    # L_i(t) only moves at event times: carry the value forward exactly between them, so that
    # equal limits stay equal (the quantile rules compare them)
    last = np.maximum.accumulate(np.where(d > 0, np.arange(n_slots), -1), axis=1)
    var = np.where(last >= 0, np.take_along_axis(var, np.maximum(last, 0), axis=1), 0.0)
    return np.sqrt(np.maximum(var, 0.0))


def _dense(key: np.ndarray, values: np.ndarray, n_groups: int, n_slots: int) -> np.ndarray:
    return np.bincount(key, weights=values, minlength=n_groups * n_slots).reshape(n_groups, n_slots)


class KaplanMeier:
    """Kaplan–Meier survival curves, as R's ``survfit(Surv(entry, time, event) ~ group)``.

    Parameters
    ----------
    conf_type : "log", "log-log" or "plain"
        Scale of the pointwise confidence interval (R ``conf.type``; ``"log"`` is R's default,
        ``"log-log"`` SAS PROC LIFETEST's).
    conf_level : float
        Confidence level of every interval, e.g. 0.95.
    variance : "auto", "greenwood" or "robust"
        ``"auto"`` (R's rule): infinitesimal-jackknife when any case weight is fractional,
        Greenwood otherwise.

    Attributes (after ``fit``)
    --------------------------
    groups_ : list of the group labels (``[None]`` without groups), sorted.
    curves_ : list of :class:`Curve`, one per group.
    table_ : Polars table of every curve at its exit times.
    summary_ : Polars table per group: n, events, median and its confidence limits.
    """

    def __init__(
        self, conf_type: str = "log", conf_level: float = 0.95, variance: Variance = "auto"
    ) -> None:
        self.conf_type = conf_type
        self.conf_level = conf_level
        self.variance = variance

    def fit(
        self,
        time: Any,
        event: Any,
        *,
        entry: Any = None,
        weights: Any = None,
        group: Any = None,
    ) -> Self:
        """Estimate the curves. ``time``/``entry`` >= 0 (days); ``event`` 1/0 or true/false.

        Array-likes or Polars Series (a Series' name is used as the column in error messages).
        """
        owner = "KaplanMeier"
        check_conf(self.conf_type, self.conf_level, owner)
        ok = self.variance in ("auto", "greenwood", "robust")
        check_parameter(ok, "variance", owner, "'auto', 'greenwood' or 'robust'", self.variance)
        t = check_times(time, "time")
        if t.size == 0:
            raise InvalidDataError("There are no rows to estimate a survival curve from.")
        e = check_events(event)
        if e.size != t.size:
            raise InvalidDataError(f"The event column has {e.size} values but time has {t.size}.")
        ent = check_entry(entry, t)
        w = check_weights(weights, t.size)
        codes, self.groups_ = check_groups(group, t.size)
        fractional = w is not None and not np.array_equal(w, np.floor(w))
        robust = self.variance == "robust" or (self.variance == "auto" and fractional)
        table = tabulate(
            t,
            e,
            entry=ent,
            weights=w,
            groups=None if group is None else codes,
            n_groups=len(self.groups_),
            keep_slots=robust,
        )
        if robust:
            weights_used = np.ones(t.size) if w is None else w
            se_log = robust_se_log(table, e, weights_used, codes)
        else:
            se_log = greenwood_se_log(table)
        self.robust_ = robust
        self.curves_ = _curves_from(table, se_log, self.conf_type, self.conf_level, ent, w, codes)
        self.table_ = self._table()
        self.summary_ = self._summary()
        return self

    # ------------------------------------------------------------------ results
    def _table(self) -> pl.DataFrame:
        parts = []
        for label, c in zip(self.groups_, self.curves_, strict=True):
            parts.append(
                pl.DataFrame(
                    {
                        "time": c.time,
                        "n_risk": c.n_risk,
                        "n_event": c.n_event,
                        "n_censor": c.n_censor,
                        "surv": c.surv,
                        "std_err": c.std_err,
                        "lower": c.lower,
                        "upper": c.upper,
                    }
                ).with_columns(pl.lit(label).alias("group"))
            )
        return _nan_to_null(pl.concat(parts, how="diagonal_relaxed")).select(
            "group", pl.exclude("group")
        )

    def _summary(self) -> pl.DataFrame:
        q = self.quantiles([0.5])
        return pl.DataFrame(
            {
                "group": self.groups_,
                "n": [c.n for c in self.curves_],
                "events": [float(c.n_event.sum()) for c in self.curves_],
                "median": q["estimate"],
                "median_lower": q["lower"],
                "median_upper": q["upper"],
            },
            strict=False,
        ).with_columns(
            pl.lit(self.conf_type).alias("conf_type"), pl.lit(self.conf_level).alias("conf_level")
        )

    def at_times(self, times: Any) -> pl.DataFrame:
        """S(t), its standard error, confidence limits, number at risk and the events and
        censorings since the previous time asked (``n_event``, ``n_censor``) at each time.

        R's ``summary(fit, times=, extend=TRUE)``: the curve is carried forward past the last
        follow-up time (where the number at risk is 0); before the first exit S = 1.
        """
        ts = np.sort(np.asarray(times, dtype=np.float64))
        check_parameter(
            ts.size > 0 and bool(np.isfinite(ts).all()) and bool((ts >= 0).all()),
            "times",
            "KaplanMeier.at_times",
            "a non-empty list of finite times >= 0",
            times,
        )
        parts = []
        for label, c in zip(self.groups_, self.curves_, strict=True):
            k = np.searchsorted(c.time, ts, "right") - 1
            before = k < 0
            kk = np.maximum(k, 0)
            surv = np.where(before, 1.0, c.surv[kk])
            parts.append(
                pl.DataFrame(
                    {
                        "time": ts,
                        "surv": surv,
                        "std_err": np.where(before, 0.0, c.std_err[kk]),
                        "lower": np.where(before, 1.0, c.lower[kk]),
                        "upper": np.where(before, 1.0, c.upper[kk]),
                        "n_risk": c.at_risk(ts),
                        "n_event": _since_previous(c.time, c.n_event, ts),
                        "n_censor": _since_previous(c.time, c.n_censor, ts),
                    }
                ).with_columns(pl.lit(label).alias("group"))
            )
        out = pl.concat(parts, how="diagonal_relaxed").select("group", pl.exclude("group"))
        return _nan_to_null(out)

    def landmark_rates(self, times: Any) -> pl.DataFrame:
        """Landmark survival rates S(t) with confidence limits (e.g. the 12-month OS rate)."""
        return self.at_times(times).select("group", "time", "surv", "lower", "upper", "n_risk")

    def quantiles(self, probs: Any = (0.25, 0.5, 0.75)) -> pl.DataFrame:
        """Survival-time quantiles with confidence limits, as R's ``quantile.survfit``.

        ``prob`` p is the time by which a fraction p has had the event (0.5: the median); null
        where the curve or a confidence limit never reaches 1 - p.
        """
        p = np.asarray(probs, dtype=np.float64).ravel()
        check_parameter(
            p.size > 0 and bool(((p >= 0) & (p <= 1)).all()),
            "probs",
            "KaplanMeier.quantiles",
            "a non-empty list of probabilities in [0, 1]",
            probs,
        )
        parts = []
        for label, c in zip(self.groups_, self.curves_, strict=True):
            parts.append(
                pl.DataFrame(
                    {
                        "prob": p,
                        "estimate": find_quantile(c.time, c.surv, p),
                        "lower": find_quantile(c.time, c.lower, p),
                        "upper": find_quantile(c.time, c.upper, p),
                    }
                ).with_columns(pl.lit(label).alias("group"))
            )
        out = pl.concat(parts, how="diagonal_relaxed").select("group", pl.exclude("group"))
        return _nan_to_null(out)

    @property
    def median_(self) -> list[float | None]:
        """Median survival time per group (null where not reached)."""
        return self.summary_["median"].to_list()

    def rmst(self, tau: float) -> pl.DataFrame:
        """Restricted mean survival time to ``tau`` and its standard error, per group.

        The area under S(t) from 0 to tau, as R's ``print(fit, rmean = tau)``; its variance is
        sum over event times t_j <= tau of A_j^2 d_j / (n_j (n_j - d_j)), A_j the area from t_j
        to tau (Klein & Moeschberger, 2003, Survival Analysis, section 4.5).
        """
        ok = isinstance(tau, float | int) and np.isfinite(tau) and tau > 0
        check_parameter(ok, "tau", "KaplanMeier.rmst", "a finite time > 0", tau)
        rows = []
        for label, c in zip(self.groups_, self.curves_, strict=True):
            keep = c.time <= tau
            t = np.append(c.time[keep], tau)
            s = np.append(1.0, c.surv[keep])
            rect = np.diff(np.append(0.0, t)) * s
            d, n = c.n_event[keep], c.n_risk[keep]
            with np.errstate(divide="ignore", invalid="ignore"):
                hh = np.where((n - d) == 0, 0.0, d / (n * (n - d)))
            area_after = np.cumsum(rect[1:][::-1])[::-1]
            var = float(np.sum(area_after**2 * hh))
            rows.append(
                {
                    "group": label,
                    "tau": float(tau),
                    "estimate": float(rect.sum()),
                    "std_err": float(np.sqrt(var)),
                }
            )
        return pl.DataFrame(rows, strict=False)


def median_followup(
    time: Any,
    event: Any,
    *,
    entry: Any = None,
    weights: Any = None,
    group: Any = None,
    conf_level: float = 0.95,
) -> pl.DataFrame:
    """Median follow-up by the reverse Kaplan–Meier method (Schemper & Smith, 1996, Control
    Clin Trials): the KM median of the time to censoring, events counting as censored.

    Matches R's ``quantile(survfit(Surv(time, 1 - event) ~ group), 0.5)`` (log CI).
    """
    e = check_events(event)
    km = KaplanMeier("log", conf_level).fit(time, ~e, entry=entry, weights=weights, group=group)
    return km.quantiles([0.5]).drop("prob")


def _since_previous(time: np.ndarray, counts: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The counts at exit times in (previous ``at``, this ``at``] (the first from the start), as
    R's ``summary(fit, times=)`` gives ``n.event`` and ``n.censor``; ``at`` sorted."""
    cumulative = np.concatenate([[0.0], np.cumsum(counts, dtype=np.float64)])
    upto = cumulative[np.searchsorted(time, at, "right")]
    return np.diff(upto, prepend=0.0)


def _nan_to_null(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(pl.col(pl.Float64).fill_nan(None))
