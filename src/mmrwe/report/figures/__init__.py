"""Figures shared by the command line and the HTML report (matplotlib, Agg backend)."""

from mmrwe.report.figures.km import OKABE_ITO, plot_km, risk_table_times

__all__ = ["OKABE_ITO", "plot_km", "risk_table_times"]
