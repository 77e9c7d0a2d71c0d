"""Figures shared by the command line and the HTML report (matplotlib, Agg backend).

Each takes stage or summary tables (documented columns), so users can draw them from their own
data; ``docs/figures.md`` lists them.
"""

from mmrwe.report.figures.by_line import plot_outcomes_by_line
from mmrwe.report.figures.forest import plot_forest
from mmrwe.report.figures.journeys import plot_swimmer, plot_trajectory
from mmrwe.report.figures.km import plot_km, risk_table_times
from mmrwe.report.figures.response import plot_response_distribution, plot_waterfall
from mmrwe.report.figures.safety import plot_adverse_events
from mmrwe.report.figures.sequences import plot_sequences
from mmrwe.report.figures.style import OKABE_ITO, regimen_class, save_figure

__all__ = [
    "OKABE_ITO",
    "plot_adverse_events",
    "plot_forest",
    "plot_km",
    "plot_outcomes_by_line",
    "plot_response_distribution",
    "plot_sequences",
    "plot_swimmer",
    "plot_trajectory",
    "plot_waterfall",
    "regimen_class",
    "risk_table_times",
    "save_figure",
]
