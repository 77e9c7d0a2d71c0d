"""Rounding printed estimates as R's ``sprintf("%.1f", x)`` and ``round(x, 1)`` do.

R rounds the double as represented, not its shortest decimal text (``?round``: "the rounding
rule applies to the represented number and not to the printed number"), and ``sprintf``
hands the double to the C library, which rounds its exact binary value, ties to even.
100 * 153 / 2000 is stored as 7.65000000000000035527…, so R prints 7.7; Polars' and NumPy's
``round(1)`` scale by 10 first (76.5 exactly after rounding) and give 7.6. CPython's
``round(float, n)`` rounds the exact binary value like the C library, and is used here on the
cells of aggregate tables (a few hundred values, never per patient).
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl


def round_exact(values: np.ndarray | list, digits: int = 1) -> np.ndarray:
    """``values`` rounded to ``digits`` decimals on their exact binary value (NaN stays NaN)."""
    return np.array(
        [v if v is None or math.isnan(v) else round(float(v), digits) for v in values],
        dtype=np.float64,
    )


def round_like_r(expr: pl.Expr, digits: int = 1) -> pl.Expr:
    """Polars expression rounded as R prints it (nulls stay null)."""
    return expr.map_batches(
        lambda s: (
            pl.Series(s.name, round_exact(s.cast(pl.Float64).fill_null(np.nan).to_numpy(), digits))
            .fill_nan(None)
            .cast(pl.Float64)
        ),
        return_dtype=pl.Float64,
    )
