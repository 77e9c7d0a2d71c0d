"""One Kaplan–Meier analysis of a table's columns, as a document of plain values.

The analysis behind ``mmrwe km`` (docs/cli.md gives the JSON schema): curves per group, the
25th/50th/75th percentiles with their intervals (R's ``quantile.survfit``), survival at given
times (``summary(fit, times=)``), the restricted mean (``print(fit, rmean=)``) and the log-rank
test (``survdiff``) when groups are independent and entry is not delayed. Undefined values are
``None``; the command only formats the document.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from mmrwe.errors import InvalidDataError
from mmrwe.stats._input import check_entry, check_events, check_times
from mmrwe.stats.km import KaplanMeier
from mmrwe.stats.logrank import LogRankTest

#: the quantiles reported for every curve
QUANTILES = (0.25, 0.5, 0.75)


@dataclass(frozen=True)
class SurvivalColumns:
    """The columns of one analysis, checked row by row (errors name the column and row).

    ``event`` is True for an event; ``dropped_missing_group`` counts rows left out because their
    group is missing."""

    time: np.ndarray
    event: np.ndarray
    entry: np.ndarray | None
    group: pl.Series | None
    dropped_missing_group: int = 0

    @classmethod
    def check(
        cls,
        time: pl.Series,
        status: pl.Series,
        *,
        status_is_censoring: bool = False,
        entry: pl.Series | None = None,
        group: pl.Series | None = None,
    ) -> SurvivalColumns:
        """``status`` holds 1/0 or true/false: 1 = event; or with ``status_is_censoring`` a
        censoring flag (ADaM ``CNSR``: 0 = event, 1 or another positive integer = censored)."""
        t = check_times(time, time.name)
        e = ~check_censoring(status) if status_is_censoring else check_events(status, status.name)
        ent = None if entry is None else check_entry(entry, t, entry.name)
        dropped = 0
        if group is not None and group.is_null().any():
            keep = (~group.is_null()).to_numpy()
            dropped = int((~keep).sum())
            t, e, group = t[keep], e[keep], group.filter(pl.Series(keep))
            ent = None if ent is None else ent[keep]
        if t.size == 0:
            raise InvalidDataError(
                f"No rows are left to analyse in column '{time.name}'"
                + (f" (every '{group.name}' is missing)." if dropped else ".")
            )
        return cls(t, e, ent, group, dropped)


def check_censoring(values: pl.Series) -> np.ndarray:
    """A censoring flag as bool (True = censored): ADaM ``CNSR`` integers (0 = event, a
    positive integer = censored, the integer naming the reason) or true/false."""
    if not values.dtype.is_numeric():
        return check_events(values, values.name)
    arr = values.to_numpy()
    with np.errstate(invalid="ignore"):
        bad = values.is_null().to_numpy() | ~(np.isfinite(arr) & (arr >= 0) & (arr % 1 == 0))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InvalidDataError(
            f"Column '{values.name}', row {row + 1} (value {values[row]!r}): the censoring code "
            f"is not 0 or a positive integer ({int(bad.sum())} such rows). Code an event as 0 "
            "and a censoring as 1 (or another positive integer: ADaM CNSR), or true/false."
        )
    return arr > 0


@dataclass(frozen=True)
class KaplanMeierAnalysis:
    """The fitted curves and, for independent groups without delayed entry, the log-rank test
    (``logrank_omitted`` says why it is absent when groups were given)."""

    km: KaplanMeier
    logrank: LogRankTest | None
    logrank_omitted: str | None

    @classmethod
    def fit(
        cls, data: SurvivalColumns, *, conf_type: str = "log", conf_level: float = 0.95
    ) -> KaplanMeierAnalysis:
        km = KaplanMeier(conf_type, conf_level).fit(
            data.time, data.event, entry=data.entry, group=data.group
        )
        if data.group is None:
            return cls(km, None, None)
        if data.entry is not None:
            return cls(km, None, "delayed entry: survdiff has no left-truncated form")
        return cls(km, LogRankTest().fit(data.time, data.event, data.group), None)

    def document(self, times: list[float] | None, tau: float | None) -> dict[str, Any]:
        """Plain values (JSON-ready): per group n, events, median and quartiles with their
        intervals; with ``times`` S(t) at those times; with ``tau`` the RMST; the log-rank
        test."""
        km = self.km
        quants = km.quantiles(QUANTILES)
        at = km.at_times(times) if times else None
        rm = km.rmst(tau) if tau is not None else None
        groups = []
        for i, (label, curve) in enumerate(zip(km.groups_, km.curves_, strict=True)):
            q = quants.slice(i * len(QUANTILES), len(QUANTILES))
            qd = {
                str(p): {k: _time(q[k][j]) for k in ("estimate", "lower", "upper")}
                for j, p in enumerate(QUANTILES)
            }
            entry: dict[str, Any] = {
                "group": _group_value(label),
                "n": curve.n,
                "events": round(float(curve.n_event.sum())),
                "median": qd["0.5"],
                "quantiles": qd,
            }
            if at is not None and times is not None:
                rows = at.slice(i * len(times), len(times))
                entry["at_times"] = [_at_time(r) for r in rows.iter_rows(named=True)]
            if rm is not None:
                r = rm.row(i, named=True)
                entry["rmst"] = {
                    "tau": _time(r["tau"]),
                    "estimate": _num(r["estimate"]),
                    "std_err": _num(r["std_err"]),
                }
            groups.append(entry)
        doc: dict[str, Any] = {
            "conf_type": km.conf_type,
            "conf_level": km.conf_level,
            "groups": groups,
        }
        if self.logrank is not None:
            doc["logrank"] = {
                "chisq": _num(self.logrank.chisq_),
                "df": self.logrank.df_,
                "p": _num(self.logrank.p_value_),
            }
        return doc


def _at_time(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "time": _time(r["time"]),
        "surv": _num(r["surv"]),
        "lower": _num(r["lower"]),
        "upper": _num(r["upper"]),
        "std_err": _num(r["std_err"]),
        "n_risk": round(r["n_risk"]),
    }


def _num(x: Any) -> Any:
    """A value for JSON: None for undefined (NaN/None)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return x


def _time(x: Any) -> Any:
    """A time for JSON: whole numbers as integers, None when undefined."""
    x = _num(x)
    return int(x) if isinstance(x, float) and x.is_integer() else x


def _group_value(x: Any) -> Any:
    return x if x is None or isinstance(x, str | int | float | bool) else str(x)
