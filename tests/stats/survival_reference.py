"""The R reference values of ``tests/r/`` (made by ``tests/r/make_reference.R``).

``ANALYSES`` mirrors the ``specs`` list of the R script: data set, entry, weight and group
columns, the times given to ``summary(fit, times=, extend=TRUE)`` and the ``rmean`` taus.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import polars as pl

R_DIR = Path(__file__).resolve().parents[1] / "r"
RTOL = 1e-6  # relative tolerance against R (issue 6)
ATOL = 1e-12  # for values that are exactly 0 in R

ANALYSES: dict[str, tuple[str, str | None, str | None, str | None, list[float], list[float]]] = {
    "lung": (
        "lung2",
        None,
        None,
        None,
        [0, 30, 90, 183.5, 365, 500, 730, 1000, 1022, 1100],
        [365, 730, 1022],
    ),
    "lung_sex": ("lung2", None, None, "sex", [0, 90, 365, 730, 900, 1100], [365, 730]),
    "lung_wfrac": ("lung2", None, "w_frac", None, [90, 365, 730, 1100], [365, 730]),
    "lung_wint": ("lung2", None, "w_int", "sex", [90, 365, 730, 1100], [365]),
    "lung_entry": ("lung2", "entry", None, "sex", [1, 90, 365, 730], [365]),
    "lung_entry_wfrac": ("lung2", "entry", "w_frac", "sex", [1, 90, 365, 730], [365]),
    "vet_trt": ("vet", None, None, "trt", [30, 100, 365, 1000], [100, 365]),
    "vet_cell": ("vet", None, None, "celltype", [30, 100, 365], [100]),
    "ova_rx": ("ova", None, None, "rx", [100, 365, 730, 1300], [365, 730]),
    "colon_rx": ("col2", None, None, "rx", [365, 1826, 3000, 4000], [1826]),
    "ties": ("ties", None, None, None, [1, 2, 2.5, 8, 12, 13], [5, 12]),
    "ties_group": ("ties", None, None, "group", [1, 3, 8, 12], [8]),
    "entry": ("entry", None, None, None, [2, 3, 5, 8], [6]),
    "entry_delayed": ("entry", "entry", None, None, [2.5, 3, 5, 8, 11, 12, 15], [6, 12]),
    "entry_delayed_group": ("entry", "entry", None, "group", [3, 7, 10], [9]),
    "zero_weights": ("zw", None, "w", None, [2, 3, 7, 12, 20], [10]),
    "flat": ("flat", None, None, None, [3, 8], [8]),
    "flat_end": ("flat_end", None, None, None, [2, 4], [4]),
}
CONFS = [
    ("log", 0.95),
    ("log-log", 0.95),
    ("plain", 0.95),
    ("log", 0.90),
    ("log-log", 0.80),
    ("plain", 0.99),
]


@cache
def data(name: str) -> pl.DataFrame:
    """An input data set exported by the R script (lung2, vet, ova, col2, ties, ...)."""
    return pl.read_csv(R_DIR / "data" / f"{name}.csv", infer_schema_length=None)


@cache
def expected(name: str) -> pl.DataFrame:
    """An expected-value table of ``tests/r/expected`` with ``group`` as text ("" = none)."""
    df = pl.read_csv(R_DIR / "expected" / f"{name}.csv", infer_schema_length=None)
    if "group" in df.columns:
        df = df.with_columns(pl.col("group").cast(pl.String).fill_null(""))
    return df


def fit_kwargs(analysis: str) -> dict[str, pl.Series | None]:
    """Arguments of ``KaplanMeier.fit`` for an analysis of ``ANALYSES``."""
    ds, entry, weight, group, _, _ = ANALYSES[analysis]
    d = data(ds)
    return {
        "time": d["time"],
        "event": d["event"],
        "entry": d[entry] if entry else None,
        "weights": d[weight] if weight else None,
        "group": d[group] if group else None,
    }


def with_text_group(df: pl.DataFrame) -> pl.DataFrame:
    """Our result with ``group`` as text, "" for no group, to join on R's."""
    return df.with_columns(pl.col("group").cast(pl.String).fill_null(""))


def assert_close(ours: pl.Series | np.ndarray, theirs: pl.Series | np.ndarray, what: str) -> None:
    """Equal to R within RTOL, null exactly where R has NA."""
    a = np.asarray(pl.Series(ours).cast(pl.Float64).to_numpy(), dtype=np.float64)
    b = np.asarray(pl.Series(theirs).cast(pl.Float64).to_numpy(), dtype=np.float64)
    assert a.shape == b.shape, f"{what}: {a.shape} values, R has {b.shape}"
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=f"{what}: null pattern")
    np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True, err_msg=what)


def max_rel_error(ours: np.ndarray, theirs: np.ndarray) -> float:
    """Largest relative difference where both are defined and R's value is non-zero."""
    ok = ~np.isnan(ours) & ~np.isnan(theirs) & (theirs != 0)
    return float(np.max(np.abs(ours[ok] - theirs[ok]) / np.abs(theirs[ok]), initial=0.0))
