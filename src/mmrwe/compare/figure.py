"""The comparison figure: the real-world Kaplan–Meier curve (unweighted and MAIC-weighted) over
the trial arm's (reconstructed patient data), or its published median when no curve exists."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from matplotlib.figure import Figure

from mmrwe.privacy import SMALL_CELL_THRESHOLD


def _curve(km: Any, label: str, counted: Any = None) -> pl.DataFrame:
    """The fit's curve labelled; with ``counted`` (the unweighted fit of the same patients) its
    numbers at risk are the patients counted, not the weights summed."""
    table = km.table_
    if counted is not None:
        patients = counted.table_.select("group", "time", pl.col("n_risk").alias("_n"))
        table = (
            table.join(patients, on=["group", "time"], how="left", nulls_equal=True)
            .with_columns(pl.col("_n").alias("n_risk"))
            .drop("_n")
        )
    return table.with_columns(pl.lit(label).alias("group"))


def plot_comparison(
    time: np.ndarray,
    event: np.ndarray,
    weights: np.ndarray | None,
    trial_ipd: pl.DataFrame | None,
    published: Any,
    *,
    trial_label: str,
    threshold: int = SMALL_CELL_THRESHOLD,
    simulated: bool = False,
) -> Figure:
    """KM curves in months: real-world (unadjusted), real-world weighted (when matched) and the
    trial (from ``trial_ipd``); without trial data the published median is marked instead.
    Numbers at risk follow the small-cell rule (``threshold``)."""
    from mmrwe.report.figures.km import plot_km, risk_table_times
    from mmrwe.stats import KaplanMeier

    rw = "Real-world (simulated data)" if simulated else "Real-world"
    plain = KaplanMeier().fit(time, event)
    fits = [(plain, rw)]
    if weights is not None:
        fits.append((KaplanMeier().fit(time, event, weights=weights), f"{rw}, MAIC-weighted"))
    # the small-cell rule counts patients: the weighted curve is cut, and its numbers at risk
    # printed, by the unweighted count of real-world patients at risk (same times)
    counted = {id(fits[1][0]): plain} if weights is not None else {}
    if trial_ipd is not None:
        fits.append(
            (
                KaplanMeier().fit(trial_ipd["time"].to_numpy(), trial_ipd["event"].to_numpy()),
                f"{trial_label} (reconstructed)",
            )
        )
    curve = pl.concat(
        [_curve(km, label, counted.get(id(km))) for km, label in fits], how="vertical_relaxed"
    )
    horizon = max(float(np.quantile(time, 0.95)) if time.size else 1.0, 1.0)
    ticks = risk_table_times(horizon)
    at_risk = pl.concat(
        [
            counted.get(id(km), km).at_times(ticks).with_columns(pl.lit(label).alias("group"))
            for km, label in fits
        ],
        how="vertical_relaxed",
    )
    medians = {label: km.median_[0] for km, label in fits}
    note = None
    median = getattr(published, "median", None)
    if trial_ipd is None and median is not None:
        shown = "not reached" if median.value is None else f"{median.value:g} months"
        note = f"{trial_label}: published median {published.name} {shown} (no digitised curve)"
    fig = plot_km(
        curve,
        at_risk,
        time_unit="months",
        title=f"{published.name}: real-world cohort and {trial_label}",
        medians=medians,
        annotation=note,
        small_cell_threshold=threshold,
        max_time=ticks[-1] if ticks else None,
    )
    if trial_ipd is None and median is not None and median.value is not None:
        ax = fig.axes[0]
        ax.plot([median.value], [0.5], marker="D", color="#000000", ms=6, zorder=5)
    return fig
