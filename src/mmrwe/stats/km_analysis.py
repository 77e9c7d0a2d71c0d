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
from mmrwe.stats.cox import CoxPH
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
    strata: pl.Series | None = None

    @classmethod
    def check(
        cls,
        time: pl.Series,
        status: pl.Series,
        *,
        status_is_censoring: bool = False,
        entry: pl.Series | None = None,
        group: pl.Series | None = None,
        strata: pl.Series | None = None,
    ) -> SurvivalColumns:
        """``status`` holds 1/0 or true/false: 1 = event; or with ``status_is_censoring`` a
        censoring flag (ADaM ``CNSR``: 0 = event, 1 or another positive integer = censored).
        Rows whose group or stratum is missing are left out and counted (as R drops NA)."""
        t = check_times(time, time.name)
        e = ~check_censoring(status) if status_is_censoring else check_events(status, status.name)
        ent = None if entry is None else check_entry(entry, t, entry.name)
        dropped = 0
        missing = np.zeros(t.size, dtype=bool)
        for labels in (group, strata):
            if labels is not None:
                missing |= labels.is_null().to_numpy()
        if missing.any():
            keep = ~missing
            dropped = int(missing.sum())
            t, e = t[keep], e[keep]
            group = None if group is None else group.filter(pl.Series(keep))
            strata = None if strata is None else strata.filter(pl.Series(keep))
            ent = None if ent is None else ent[keep]
        if t.size == 0:
            raise InvalidDataError(
                f"No rows are left to analyse in column '{time.name}'"
                + (" (every group or stratum is missing)." if dropped else ".")
            )
        return cls(t, e, ent, group, dropped, strata)


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
    """The fitted curves and, between groups, the log-rank test (``survdiff``, stratified with
    ``strata``; not with delayed entry) and the Cox model of the groups (``coxph``, Efron ties;
    not with strata). ``logrank_omitted`` / ``cox_omitted`` say why one is absent."""

    km: KaplanMeier
    logrank: LogRankTest | None
    logrank_omitted: str | None
    cox: CoxPH | None = None
    cox_omitted: str | None = None
    strata_name: str | None = None

    @classmethod
    def fit(
        cls, data: SurvivalColumns, *, conf_type: str = "log", conf_level: float = 0.95
    ) -> KaplanMeierAnalysis:
        km = KaplanMeier(conf_type, conf_level).fit(
            data.time, data.event, entry=data.entry, group=data.group
        )
        if data.group is None:
            return cls(km, None, None)
        strata = None if data.strata is None else data.strata.name
        cox, cox_omitted = _group_cox(data, km.groups_, conf_level)
        if data.entry is not None:
            omitted = "delayed entry: survdiff has no left-truncated form"
            return cls(km, None, omitted, cox, cox_omitted, strata)
        logrank = LogRankTest().fit(data.time, data.event, data.group, strata=data.strata)
        return cls(km, logrank, None, cox, cox_omitted, strata)

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
            doc["logrank"] = _logrank_doc(self.logrank, self.strata_name)
        if self.cox is not None:
            doc["cox"] = _cox_doc(self.cox, km.groups_)
        return doc


def _group_cox(
    data: SurvivalColumns, groups: list[Any], conf_level: float
) -> tuple[CoxPH | None, str | None]:
    """``coxph(Surv(time, event) ~ factor(group))`` (Efron ties, the first group the reference),
    or None with the reason."""
    if len(groups) < 2:
        return None, "one group"
    if data.strata is not None:
        return None, "a stratified Cox model is not fitted; the log-rank test is stratified"
    assert data.group is not None
    labels = data.group.to_list()
    dummies = pl.DataFrame({str(g): [float(v == g) for v in labels] for g in groups[1:]})
    try:
        cox = CoxPH(conf_level=conf_level).fit(dummies, data.time, data.event, entry=data.entry)
    except (InvalidDataError, np.linalg.LinAlgError) as exc:
        return None, f"the Cox model cannot be estimated ({exc})"
    if not cox.converged_ or not np.isfinite(cox.params_).all():
        return None, "the Cox model does not converge (a group without events?)"
    return cox, None


def _logrank_doc(test: LogRankTest, strata: str | None) -> dict[str, Any]:
    """survdiff's printout: per group N, observed, expected, (O-E)^2/E and (O-E)^2/V; the
    chi-square with its df and p."""
    o, e, v = test.observed_, test.expected_, np.diag(test.variance_)
    with np.errstate(divide="ignore", invalid="ignore"):
        oe_e, oe_v = (o - e) ** 2 / e, (o - e) ** 2 / v
    groups = [
        {
            "group": _group_value(g),
            "n": int(test.n_[i]),
            "observed": _num(float(o[i])),
            "expected": _num(float(e[i])),
            "oe2_e": _num(float(oe_e[i])),
            "oe2_v": _num(float(oe_v[i])),
        }
        for i, g in enumerate(test.groups_)
    ]
    return {
        "chisq": _num(test.chisq_),
        "df": test.df_,
        "p": _num(test.p_value_),
        "strata": strata,
        "groups": groups,
    }


def _cox_doc(cox: CoxPH, groups: list[Any]) -> dict[str, Any]:
    """summary(coxph)'s hazard ratios against the first group and its three global tests."""
    terms = [
        {"group": _group_value(g)}
        | {k: _num(r[k]) for k in ("coef", "se", "hr", "lower", "upper", "z", "p")}
        for g, r in zip(groups[1:], cox.summary_.iter_rows(named=True), strict=True)
    ]
    tests = {
        name: {"statistic": _num(stat), "df": df, "p": _num(p)}
        for name, (stat, df, p) in cox.tests_.items()
    }
    return {"ties": cox.ties, "reference": _group_value(groups[0]), "terms": terms, "tests": tests}


def _at_time(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "time": _time(r["time"]),
        "surv": _num(r["surv"]),
        "lower": _num(r["lower"]),
        "upper": _num(r["upper"]),
        "std_err": _num(r["std_err"]),
        "n_risk": round(r["n_risk"]),
        "n_event": round(r["n_event"]),
        "n_censor": round(r["n_censor"]),
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
