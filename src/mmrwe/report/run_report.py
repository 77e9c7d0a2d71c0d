"""The figures of a run and its HTML report, drawn from the run's tables.

Every figure is listed in ``manifest.json`` (``figures``: name, title, files) and embedded in
``report.html``. Kaplan–Meier curves follow the small-cell rule: they stop where fewer than the
threshold remain at risk and numbers at risk below it are printed ``<N``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from mmrwe.errors import MmrweError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from mmrwe.io.output import OutputDirectory
    from mmrwe.pipeline import AnalysedPopulation
    from mmrwe.study.config import StudyConfig

#: endpoints drawn as Kaplan–Meier curves, with their titles
KM_ENDPOINTS = {"PFS": "Progression-free survival", "OS": "Overall survival"}


def km_by_group(
    analysis_lines: pl.DataFrame,
    endpoints: pl.DataFrame,
    endpoint: str,
    *,
    threshold: int,
    compare: bool,
) -> Figure:
    """Kaplan–Meier curves of ``endpoint`` (months) per analysis group, with numbers at risk,
    medians, and — for independent groups (one line per patient) — the log-rank p and, for two
    groups, the Cox hazard ratio."""
    from mmrwe.report.figures.km import plot_km, risk_table_times
    from mmrwe.stats import KaplanMeier, LogRankTest

    data = (
        endpoints.filter(pl.col("endpoint") == endpoint)
        .join(
            analysis_lines.select("patient_id", "line", "group", "group_order"),
            on=["patient_id", "line"],
        )
        .sort("group_order", "patient_id", "line")
    )
    time, event = data["time_months"].to_numpy(), data["event"].to_numpy().astype(bool)
    group = data["group"].to_numpy()
    km = KaplanMeier("log").fit(time, event, group=group)
    order = data["group"].unique(maintain_order=True).to_list()
    curve = (
        km.table_.join(pl.DataFrame({"group": order, "_o": range(len(order))}), on="group")
        .sort("_o", "time")
        .drop("_o")
    )
    horizon = float(np.quantile(time, 0.95)) if time.size else 1.0
    ticks = risk_table_times(max(horizon, 1.0))
    at_risk = km.at_times(ticks)
    sizes = dict(zip(km.summary_["group"], km.summary_["n"], strict=True))
    shown = curve.filter(pl.col("n_risk") >= threshold).group_by("group").agg(pl.col("time").max())
    last_shown = dict(shown.iter_rows())
    # a median is drawn only where its curve is drawn (at least `threshold` at risk)
    medians = {
        g: m
        for g, m in zip(km.summary_["group"], km.summary_["median"], strict=True)
        if m is not None and g in last_shown and m <= last_shown[g]
    }
    # tests compare independent groups, each at least the small-cell threshold
    tested = [g for g in order if sizes[g] >= max(threshold, 1)]
    annotation = None
    if compare and len(tested) >= 2 and event.any():
        keep = np.isin(group, tested)
        p = LogRankTest().fit(time[keep], event[keep], group[keep]).p_value_
        annotation = f"log-rank p = {p:.3g}"
        if len(tested) == 2:
            hr = _hazard_ratio(time[keep], event[keep], group[keep] == tested[1])
            if hr is not None:
                annotation = f"HR {tested[1]} vs {tested[0]}: {hr}; " + annotation
    return plot_km(
        curve,
        at_risk,
        conf_label="95% CI, log",
        time_unit="months",
        title=KM_ENDPOINTS.get(endpoint, endpoint),
        medians=medians,
        annotation=annotation,
        small_cell_threshold=threshold,
        max_time=ticks[-1] if ticks else None,
    )


def _hazard_ratio(time: np.ndarray, event: np.ndarray, second: np.ndarray) -> str | None:
    """'0.72 (95 % CI 0.55–0.94)' of the second group against the first (Cox, Efron), or None
    when not estimable: a group without events, no convergence, or an infinite coefficient
    (monotone likelihood), as the subgroup table leaves it out."""
    from mmrwe.stats import CoxPH
    from mmrwe.stats.subgroups import MAX_LOG_HR_SE

    if not (event[second].any() and event[~second].any()):
        return None
    try:
        with np.errstate(over="ignore"):
            cox = CoxPH().fit(second.astype(float).reshape(-1, 1), time, event)
    except (np.linalg.LinAlgError, MmrweError):
        return None
    if not cox.converged_ or not np.all(np.isfinite(cox.se_) & (cox.se_ < MAX_LOG_HR_SE)):
        return None
    hr, lo, hi = (float(v) for v in cox.summary_.select("hr", "lower", "upper").row(0))
    return f"{hr:.2f} (95 % CI {lo:.2f}–{hi:.2f})"


class FigureWriter:
    """Saves figures as PNG and SVG under ``figures/`` and lists them for the manifest."""

    def __init__(self, output: OutputDirectory) -> None:
        self.folder = output.file("figures")
        self.folder.mkdir(exist_ok=True)
        self.listed: list[dict[str, Any]] = []
        self.skipped: list[dict[str, str]] = []

    def add(self, name: str, title: str, draw: Callable[[], Figure | None]) -> None:
        """Draw and save one figure; a figure the data cannot support is listed as skipped."""
        import matplotlib.pyplot as plt

        from mmrwe.report.figures.style import save_figure

        try:
            fig = draw()
        except (ValueError, MmrweError) as exc:  # e.g. nothing to draw in the population
            self.skipped.append({"name": name, "reason": str(exc)})
            return
        if fig is None:
            return
        save_figure(fig, self.folder / name)
        plt.close(fig)
        files = [f"figures/{name}.png", f"figures/{name}.svg"]
        self.listed.append({"name": name, "title": title, "files": files})


def write_figures_and_report(
    output: OutputDirectory,
    population: AnalysedPopulation,
    summaries: dict[str, pl.DataFrame],
    study: StudyConfig,
    patient_level: bool,
) -> None:
    """Draw the run's figures into ``figures/``, list them in the manifest and write
    ``report.html``."""
    threshold = study.study.small_cell_threshold
    compare = study.study.index == "first_eligible"
    figures = FigureWriter(output)
    lines, endpoints = population.analysis_lines, population.endpoints
    for endpoint, title in KM_ENDPOINTS.items():
        figures.add(
            f"km_{endpoint.lower()}",
            f"{title} by {study.study.group_by if study.study.group_by != 'none' else 'cohort'}",
            lambda endpoint=endpoint: km_by_group(
                lines, endpoints, endpoint, threshold=threshold, compare=compare
            ),
        )
    if study.study.group_by == "line":
        from mmrwe.report.figures.by_line import plot_outcomes_by_line

        figures.add(
            "outcomes_by_line",
            "Median PFS and OS by line of therapy",
            lambda: plot_outcomes_by_line(summaries["summary_by_line"]),
        )
    if "subgroup_hazard_ratios" in summaries:
        from mmrwe.report.figures.forest import plot_forest

        figures.add(
            "forest",
            f"Hazard ratios of {study.study.subgroup_endpoint} by subgroup",
            lambda: plot_forest(
                summaries["subgroup_hazard_ratios"], endpoint=study.study.subgroup_endpoint
            ),
        )
    output.close_parts()
    tables: dict[str, pl.DataFrame] = {**summaries, "analysis_lines": lines}

    def read(name: str) -> pl.DataFrame:
        if name not in tables:
            tables[name] = pl.read_parquet(output.file(f"{name}.parquet"))
        return tables[name]

    from mmrwe.report.figure_set import standard_figures

    for name, title, draw in standard_figures(
        read,
        patient_level=patient_level,
        threshold=threshold,
        group_label=study.study.group_by,
    ):
        figures.add(name, title, draw)
    output.manifest["figures"] = figures.listed
    output.manifest["figures_skipped"] = figures.skipped
    output.manifest["outputs"]["report.html"] = 1
    output.write_manifest()
    from mmrwe.report.html import build_report

    build_report(output.staging)
