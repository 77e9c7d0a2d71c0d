"""The patient-journey, sequence, response and safety figures of a run, as drawing recipes.

``standard_figures`` returns (name, title, draw) triples; ``draw()`` reads the tables it needs
through ``read(name)`` (a frame, or a lazy scan of a table too large to read whole) only when
called, so a run can hand them to its figure writer one by one
(memory holds one figure's tables at a time).

Every figure describes the study's analysed population (the patients of ``analysis_lines``):
the treatment sequences and patient journeys show these patients' lines (all their lines in
the data, before and after the analysed ones). Patient-level figures (swimmer, trajectory,
waterfall) are listed only when the run allows them, and publish nothing the tables withhold
(:data:`PATIENT_LEVEL_RULE`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import polars as pl
from matplotlib.figure import Figure

from mmrwe.privacy import SMALL_CELL_THRESHOLD

Recipe = tuple[str, str, Callable[[], Figure]]
#: a run's table by name (a lazy scan for tables too large to read whole: ``assessments``)
Reader = Callable[[str], "pl.DataFrame | pl.LazyFrame"]

#: patient-level figures (one mark per patient or patient-line)
PATIENT_LEVEL_FIGURES = ("swimmer", "trajectory", "waterfall")
#: patients a swimmer plot draws at most
SWIMMER_PATIENTS = 30
PATIENT_LEVEL_RULE = (
    "Patient-level figures draw only patients of analysis groups whose counts the tables "
    "publish (the group size and every count of the response table: a swimmer's response "
    "markers must not show what the response table withholds); the swimmer plot draws at most "
    f"{SWIMMER_PATIENTS} of them and never more than half, so it is a sample, not a census; the "
    "waterfall plot draws a group only when the response table publishes every count of it and "
    "no response category in it has fewer bars than the threshold."
)


def count_published(column: pl.Expr) -> pl.Expr:
    """True where a count cell is published as a number (not ``<N`` nor ``withheld``)."""
    return column.cast(pl.String).str.contains(r"^\d+$").fill_null(True)


def groups_with(response_rates: pl.DataFrame, columns: str = "all") -> tuple[list[str], list[str]]:
    """(published, withheld) groups of ``response_rates``: with ``columns="size"`` by the group
    size (``n_patients``) alone, with ``"all"`` by every count column (``n_…``)."""
    counts = [
        c
        for c in response_rates.columns
        if c == "n_patients" or (columns == "all" and c.startswith("n_"))
    ]
    ok = response_rates.select(
        pl.col("group").cast(pl.String),
        pl.all_horizontal([count_published(pl.col(c)) for c in counts]).alias("_ok"),
    )
    return (
        ok.filter(pl.col("_ok"))["group"].to_list(),
        ok.filter(~pl.col("_ok"))["group"].to_list(),
    )


def standard_figures(
    read: Reader,
    *,
    patient_level: bool,
    threshold: int = SMALL_CELL_THRESHOLD,
    seed: int = 42,
    group_label: str = "group",
) -> list[Recipe]:
    """Recipes of: ``sequences``, ``response_distribution``, ``adverse_events``, and with
    ``patient_level`` also ``swimmer``, ``trajectory`` (one patient drawn with ``seed`` among
    those with at least two lines and a measurable line) and ``waterfall``."""
    from mmrwe.report.figures.response import plot_response_distribution
    from mmrwe.report.figures.safety import plot_adverse_events
    from mmrwe.report.figures.sequences import plot_sequences

    population = _Population(read, threshold)
    by = f" by {group_label}" if group_label not in ("", "none", None) else ""
    recipes: list[Recipe] = [
        (
            "sequences",
            "Treatment sequences of the analysed patients by regimen class, lines 1 to 4",
            lambda: plot_sequences(population.sequence_lines(), threshold=threshold),
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
        recipes += _patient_level(population, seed, by)
    return recipes


def _patient_level(population: _Population, seed: int, by: str) -> list[Recipe]:
    from mmrwe.report.figures.journeys import plot_swimmer
    from mmrwe.report.figures.response import plot_waterfall

    read = population.read
    return [
        (
            "swimmer",
            "Patient journeys of analysed patients drawn at random",
            lambda: plot_swimmer(
                population.journey_lines(),
                read("line_response"),
                n=population.swimmer_size(),
                seed=seed,
                allow_patient_level=True,
                analysed=read("analysis_lines"),
            ),
        ),
        (
            "trajectory",
            "M-protein course of one analysed patient drawn at random",
            lambda: _trajectory(population, seed),
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
                threshold=population.threshold,
                withheld_groups=population.withheld_groups(),
            ),
        ),
    ]


class _Population:
    """The analysed population as the figures need it, read lazily (once) through ``read``."""

    def __init__(self, read: Reader, threshold: int) -> None:
        self.read, self.threshold = read, threshold
        self.lines = cache(self._lines)
        self.journey_lines = cache(self._journey_lines)

    def _patients(self) -> pl.DataFrame:
        return self.read("analysis_lines").select("patient_id").unique()

    def _lines(self) -> pl.DataFrame:
        """Every line (in the data) of the analysed patients."""
        return self.read("lines").join(self._patients(), on="patient_id", how="semi")

    def sequence_lines(self) -> pl.DataFrame:
        """The lines of the sequence chart: none for a population below the threshold (its
        bars would show how many of its patients reach each line, counts the tables withhold)."""
        from mmrwe.report.figures.style import NothingToDrawError

        lines = self.lines()
        n = lines["patient_id"].n_unique()
        if 0 < n < self.threshold:
            raise NothingToDrawError(
                f"The analysed population has fewer than {self.threshold} patients: its "
                "treatment sequences are withheld."
            )
        return lines

    def withheld_groups(self) -> list[str]:
        """Groups of which the response table withholds a count (none with suppression off)."""
        if self.threshold == 0:
            return []
        return groups_with(self.read("response_rates"), "all")[1]

    def _journey_lines(self) -> pl.DataFrame:
        """The lines of analysed patients with a line in a group whose counts are all published
        (issue: a patient-level figure is never drawn for a group whose counts are withheld)."""
        analysed = self.read("analysis_lines")
        if self.threshold > 0 and "group" in analysed.columns:
            published = groups_with(self.read("response_rates"), "all")[0]
            analysed = analysed.filter(pl.col("group").cast(pl.String).is_in(published))
        pool = analysed.select("patient_id").unique()
        return self.read("lines").join(pool, on="patient_id", how="semi")

    def swimmer_size(self) -> int:
        """At most SWIMMER_PATIENTS and at most half of the pool (a sample, never a census)."""
        from mmrwe.report.figures.style import NothingToDrawError

        pool = self.journey_lines()["patient_id"].n_unique()
        if pool < max(self.threshold, 2):
            raise NothingToDrawError(
                f"{pool} analysed patients in groups whose counts are all published (fewer than "
                f"{max(self.threshold, 2)})."
            )
        return min(SWIMMER_PATIENTS, pool // 2)


def _trajectory(population: _Population, seed: int) -> Figure:
    """An analysed patient with ≥ 2 lines and a measurable line, drawn at random (``seed``)."""
    import numpy as np

    from mmrwe.report.figures.journeys import plot_trajectory
    from mmrwe.report.figures.style import NothingToDrawError

    lines, response = population.journey_lines(), population.read("line_response")
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
    assessments = population.read("assessments").lazy().filter(pl.col("patient_id") == patient)
    return plot_trajectory(assessments.collect(), lines, patient, allow_patient_level=True)
