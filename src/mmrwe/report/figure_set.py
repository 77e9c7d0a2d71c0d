"""The patient-journey, sequence, response and safety figures of a run, as drawing recipes.

``standard_figures`` returns (name, title, draw) triples; ``draw()`` reads the tables it needs
through ``read(name)`` only when called, so a run can hand them to its figure writer one by one
(memory holds one figure's tables at a time). Patient-level figures are listed only when the run
allows them.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
from matplotlib.figure import Figure

from mmrwe.privacy import SMALL_CELL_THRESHOLD

Recipe = tuple[str, str, Callable[[], Figure]]


def standard_figures(
    read: Callable[[str], pl.DataFrame],
    *,
    patient_level: bool,
    threshold: int = SMALL_CELL_THRESHOLD,
    seed: int = 42,
    group_label: str = "group",
) -> list[Recipe]:
    """Recipes of: ``sequences``, ``response_distribution``, ``adverse_events``, and with
    ``patient_level`` also ``swimmer``, ``trajectory`` (one patient drawn with ``seed`` among
    those with at least two lines and a measurable line) and ``waterfall``."""
    from mmrwe.report.figures.journeys import plot_swimmer
    from mmrwe.report.figures.response import plot_response_distribution, plot_waterfall
    from mmrwe.report.figures.safety import plot_adverse_events
    from mmrwe.report.figures.sequences import plot_sequences

    by = f" by {group_label}" if group_label not in ("", "none", None) else ""
    recipes: list[Recipe] = [
        (
            "sequences",
            "Treatment sequences by regimen class, lines 1 to 4",
            lambda: plot_sequences(read("lines"), threshold=threshold),
        ),
        (
            "response_distribution",
            f"Best overall response{by}",
            lambda: plot_response_distribution(read("response_rates")),
        ),
        (
            "adverse_events",
            "Adverse events at any grade and at grade ≥ 3",
            lambda: plot_adverse_events(read("adverse_events")),
        ),
    ]
    if patient_level:
        recipes += [
            (
                "swimmer",
                "Patient journeys of 30 randomly drawn patients",
                lambda: plot_swimmer(
                    read("lines"), read("line_response"), n=30, seed=seed, allow_patient_level=True
                ),
            ),
            (
                "trajectory",
                "M-protein course of one randomly drawn patient",
                lambda: _trajectory(read, seed),
            ),
            (
                "waterfall",
                f"Best change in M-protein from baseline{by}",
                lambda: plot_waterfall(
                    read("assessments"),
                    read("line_response"),
                    read("analysis_lines"),
                    allow_patient_level=True,
                    seed=seed,
                ),
            ),
        ]
    return recipes


def _trajectory(read: Callable[[str], pl.DataFrame], seed: int) -> Figure:
    """A patient with ≥ 2 lines and a measurable line, drawn at random (``seed``)."""
    import numpy as np

    from mmrwe.report.figures.journeys import plot_trajectory
    from mmrwe.report.figures.style import NothingToDrawError

    lines, response = read("lines"), read("line_response")
    measurable = response.filter(pl.col("measurable_by").fill_null("none") != "none")
    candidates = (
        lines.group_by("patient_id")
        .len()
        .filter(pl.col("len") >= 2)
        .join(measurable, on="patient_id", how="semi")
        .sort("patient_id")["patient_id"]
    )
    if candidates.is_empty():
        raise NothingToDrawError("No patient with two lines and measurable disease to draw.")
    patient = candidates[int(np.random.default_rng(seed).integers(candidates.len()))]
    return plot_trajectory(read("assessments"), lines, patient, allow_patient_level=True)
