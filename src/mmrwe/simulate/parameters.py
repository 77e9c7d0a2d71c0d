"""The simulator's tuned parameters, read from the documented table ``parameters.csv``.

Each row of the table gives a parameter's value, the published figure it was tuned to (if any)
and its source. ``benchmarks/calibrate_simulate.py`` re-tunes the values and prints the table.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from datetime import date
from importlib.resources import files

import numpy as np

LINES_MODELLED = 6  # parameters for lines 1..5 and one set for lines 6 and later
MAX_LINES = 12  # no patient receives more lines than this
DAYS_PER_MONTH = 30.4375
DIAGNOSIS_FROM = "2008-01-01"
DIAGNOSIS_TO = "2020-12-31"


def read_parameter_table() -> list[dict[str, str]]:
    """The rows of ``parameters.csv`` (name, value, target, source, meaning)."""
    text = files("mmrwe.simulate").joinpath("parameters.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@dataclass(frozen=True)
class Parameters:
    """Model parameters; per-line arrays are indexed by ``min(line, 6) - 1``."""

    ttp_median_months: tuple[float, ...]
    inline_death_rate: tuple[float, ...]
    transplant_efficacy: float
    weibull_shape: float
    frailty_sd: float
    pp_death_logit_intercept: float
    pp_death_logit_slope: float
    pp_death_mean_days: float
    ltfu_rate: float
    response_rho: float
    data_cut: str

    @classmethod
    def from_table(cls) -> Parameters:
        rows = {r["name"]: r["value"] for r in read_parameter_table()}
        per_line = range(1, LINES_MODELLED + 1)
        return cls(
            ttp_median_months=tuple(float(rows[f"ttp_median_months_{i}"]) for i in per_line),
            inline_death_rate=tuple(float(rows[f"inline_death_rate_{i}"]) for i in per_line),
            transplant_efficacy=float(rows["transplant_efficacy"]),
            weibull_shape=float(rows["weibull_shape"]),
            frailty_sd=float(rows["frailty_sd"]),
            pp_death_logit_intercept=float(rows["pp_death_logit_intercept"]),
            pp_death_logit_slope=float(rows["pp_death_logit_slope"]),
            pp_death_mean_days=float(rows["pp_death_mean_days"]),
            ltfu_rate=float(rows["ltfu_rate"]),
            response_rho=float(rows["response_rho"]),
            data_cut=rows["data_cut"],
        )

    def with_values(self, **values: object) -> Parameters:
        """A copy with some values replaced (used by the calibration script)."""
        return replace(self, **values)

    def pp_death_probability(self, line: np.ndarray) -> np.ndarray:
        """Probability of dying after progression of ``line`` without a further line."""
        x = self.pp_death_logit_intercept + self.pp_death_logit_slope * (line - 1)
        return 1.0 / (1.0 + np.exp(-x))

    @property
    def data_cut_day(self) -> int:
        return day(self.data_cut)


def day(iso: str) -> int:
    """Days since 1970-01-01 of an ISO date (``YYYY-MM`` means the first of the month)."""
    if len(iso) == 7:
        iso += "-01"
    return (date.fromisoformat(iso) - date(1970, 1, 1)).days


def line_slot(line: np.ndarray) -> np.ndarray:
    """Index into the per-line parameter arrays."""
    return np.minimum(line, LINES_MODELLED) - 1
