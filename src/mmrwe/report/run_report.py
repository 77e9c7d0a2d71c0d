"""The figures of a run and its HTML report, drawn from the run's tables.

Every shareable figure is saved under ``shareable/figures/``, listed in ``manifest.json``
(``figures``: name, title, files) and embedded in ``report.html``; the patient-level figures
(swimmer, trajectory, waterfall) are saved under ``patient_level/figures/`` and listed in the
patient-level manifest, unless the study shares them (``share_patient_level_figures``). Kaplan–Meier curves follow the small-cell rule: they stop where fewer than the
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
    from mmrwe.stats.km_groups import GroupCurves
    from mmrwe.study.config import StudyConfig

#: the columns the figures read of a written patient-level table (assessments and lines are read
#: without the text columns they never draw: half their memory at a million patients)
FIGURE_COLUMNS: dict[str, list[str]] = {
    "lines": [
        "patient_id",
        "line",
        "start_date",
        "end_date",
        "end_reason",
        "regimen",
        "drug_classes",
        "infusion_date",
    ],
    "assessments": [
        "patient_id",
        "line",
        "date",
        "role",
        "category",
        "serum_m",
        "urine_m",
        "dflc",
    ],
    "line_response": [
        "patient_id",
        "line",
        "best_response",
        "measurable_by",
        "first_response_date",
        "progression_date",
    ],
}
#: the patient-level tables read only for the analysed patients (every figure draws them alone)
ANALYSED_ONLY = ("lines", "line_response")
#: the tables the figures scan lazily instead of reading whole (the largest, one row per
#: assessment: the waterfall aggregates it, the trajectory filters one patient)
LAZY_TABLES = ("assessments",)
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
    groups, the Cox hazard ratio (computed by :func:`mmrwe.stats.km_groups.km_by_group`)."""
    from mmrwe.report.figures.km import plot_km, risk_table_times
    from mmrwe.stats.km_groups import km_by_group as curves_by_group

    data = (
        endpoints.filter(pl.col("endpoint") == endpoint)
        .join(
            analysis_lines.select("patient_id", "line", "group", "group_order"),
            on=["patient_id", "line"],
        )
        .sort("group_order", "patient_id", "line")
    )
    sizes = data["group"].value_counts()["count"]
    if threshold > 0 and (sizes.is_empty() or int(sizes.max()) < threshold):
        from mmrwe.report.figures.style import NothingToDrawError

        raise NothingToDrawError(
            f"Every group has fewer than {threshold} patients: its curves are withheld."
        )
    time, event = data["time_months"].to_numpy(), data["event"].to_numpy().astype(bool)
    fitted = curves_by_group(
        time, event, data["group"].to_numpy(), threshold=threshold, independent=compare
    )
    horizon = float(np.quantile(time, 0.95)) if time.size else 1.0
    ticks = risk_table_times(max(horizon, 1.0))
    return plot_km(
        fitted.curve,
        fitted.km.at_times(ticks),
        conf_label="95% CI, log",
        time_unit="months",
        title=KM_ENDPOINTS.get(endpoint, endpoint),
        medians=fitted.medians,
        annotation=_annotation(fitted),
        small_cell_threshold=threshold,
        max_time=ticks[-1] if ticks else None,
    )


def _endpoint_rows(population: AnalysedPopulation, endpoint: str) -> pl.DataFrame:
    """The analysed lines' rows of one endpoint, read from the kept tables."""
    return population.kept.scan("endpoints").filter(pl.col("endpoint") == endpoint).collect()


def _annotation(fitted: GroupCurves) -> str | None:
    """'HR B vs A: 0.72 (95 % CI 0.55–0.94); log-rank p = 0.0123', or the p alone."""
    if fitted.logrank_p is None:
        return None
    text = f"log-rank p = {fitted.logrank_p:.3g}"
    hr = fitted.hazard_ratio
    if hr is not None:
        text = (
            f"HR {hr.group} vs {hr.reference}: {hr.hr:.2f} (95 % CI {hr.lower:.2f}–"
            f"{hr.upper:.2f}); " + text
        )
    return text


class FigureWriter:
    """Saves figures as PNG and SVG under ``figures/`` of ``shareable/`` (listed for the
    manifest) or, for a patient-level figure the study does not share, of ``patient_level/``
    (listed for the patient-level manifest)."""

    def __init__(self, output: OutputDirectory, share_patient_level: bool = False) -> None:
        self.output = output
        self.share_patient_level = share_patient_level
        self.listed: list[dict[str, Any]] = []
        #: patient-level figures kept in ``patient_level/figures/``
        self.kept: list[dict[str, Any]] = []
        self.skipped: list[dict[str, str]] = []

    def add(self, name: str, title: str, draw: Callable[[], Figure | None]) -> None:
        """Draw and save one figure; a figure the data cannot support is listed as skipped."""
        from mmrwe.report.figures.style import save_figure

        try:
            fig = draw()
        except (ValueError, MmrweError) as exc:  # e.g. nothing to draw in the population
            self.skipped.append({"name": name, "reason": str(exc)})
            return
        if fig is None:
            return
        from mmrwe.report.figure_set import PATIENT_LEVEL_FIGURES

        kept = name in PATIENT_LEVEL_FIGURES and not self.share_patient_level
        folder = self.output.file("figures", patient_level=kept)
        folder.mkdir(exist_ok=True)
        save_figure(fig, folder / name)
        files = [f"figures/{name}.png", f"figures/{name}.svg"]
        (self.kept if kept else self.listed).append({"name": name, "title": title, "files": files})


def write_figures_and_report(
    output: OutputDirectory,
    population: AnalysedPopulation,
    summaries: dict[str, pl.DataFrame],
    study: StudyConfig,
    patient_level: bool,
) -> None:
    """Draw the run's figures into ``figures/`` (of ``shareable/``, or of ``patient_level/``
    for the patient-level figures a study does not share), list them in the manifests and
    write ``shareable/report.html``."""
    threshold = study.study.small_cell_threshold
    compare = study.study.index == "first_eligible"
    figures = FigureWriter(output, bool(output.manifest.get("patient_level_figures_shared")))
    lines = population.analysis_lines
    for endpoint, title in KM_ENDPOINTS.items():
        figures.add(
            f"km_{endpoint.lower()}",
            f"{title} by {study.study.group_by if study.study.group_by != 'none' else 'cohort'}",
            lambda endpoint=endpoint: km_by_group(
                lines,
                _endpoint_rows(population, endpoint),
                endpoint,
                threshold=threshold,
                compare=compare,
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
    analysed_ids = lines["patient_id"].unique() if lines.height else pl.Series([], dtype=pl.String)

    def read(name: str) -> pl.DataFrame | pl.LazyFrame:
        if name in LAZY_TABLES:  # scanned at each use: figures filter or aggregate it
            return pl.scan_parquet(output.file(f"{name}.parquet")).select(FIGURE_COLUMNS[name])
        if name not in tables:
            scan = pl.scan_parquet(output.file(f"{name}.parquet"))
            if name in FIGURE_COLUMNS:
                scan = scan.select(FIGURE_COLUMNS[name])
            if name in ANALYSED_ONLY:  # a filter keeps the table's order
                scan = scan.filter(pl.col("patient_id").is_in(analysed_ids.implode()))
            tables[name] = scan.collect()
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
    output.manifest["patient_level_figures_kept"] = [f["name"] for f in figures.kept]
    output.patient_level["figures"] = figures.kept
    output.manifest["outputs"]["report.html"] = 1
    output.write_manifest()
    from mmrwe.report.html import build_report

    build_report(output.layout.shareable)
