"""The aggregate tables of a run, with small cells suppressed (``docs/privacy.md``).

Every table here is an aggregate output: no patient identifier, counts below the study's
``small_cell_threshold`` written as ``<N`` with complementary cells protected.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from mmrwe.pipeline import AnalysedPopulation

if TYPE_CHECKING:  # typing only: importing the rules would load the compiled stages
    from mmrwe.privacy.ledger import Ledger
    from mmrwe.study.config import StudyConfig


def summarise(
    population: AnalysedPopulation, attrition: pl.DataFrame, study: StudyConfig
) -> dict[str, pl.DataFrame]:
    """The shared aggregate tables (see :func:`summarise_release`)."""
    return summarise_release(population, attrition, study)[0]


def summarise_release(
    population: AnalysedPopulation,
    attrition: pl.DataFrame,
    study: StudyConfig,
    ledger: Ledger | None = None,
) -> tuple[dict[str, pl.DataFrame], dict[str, int | str]]:
    """``summary_by_line``, ``response_rates``, ``adverse_events``, ``baseline``,
    ``subgroup_hazard_ratios`` (when the study names subgroups), ``attrition`` and
    ``unmapped_drugs``, all suppressed; and the analysed patients and lines as the manifest
    shares them. Each table is protected on its own, then all of them together with the
    manifest's counts (``protect_release``, last: docs/privacy.md), with the earlier releases of
    the cohort in ``ledger`` when given."""
    from mmrwe.privacy import count_text, protect_attrition
    from mmrwe.privacy.release import protect_release
    from mmrwe.stats.adverse_events import adverse_events
    from mmrwe.stats.baseline import baseline_table, withhold_summaries
    from mmrwe.stats.response_rates import response_rates
    from mmrwe.stats.subgroups import subgroup_hazard_ratios
    from mmrwe.stats.summary_by_line import summary_by_line

    threshold = study.study.small_cell_threshold
    lines = population.analysis_lines
    out = {
        "summary_by_line": summary_by_line(
            lines, population.kept.scan("endpoints"), by="group", threshold=threshold
        ),
        "response_rates": response_rates(
            lines, population.line_response, by="group", threshold=threshold
        ),
        "adverse_events": adverse_events(
            lines, population.adverse_events, by="regimen", threshold=threshold
        ),
        "baseline": baseline_table(lines, population.patients, by="group", threshold=threshold),
    }
    if study.study.subgroups:
        out["subgroup_hazard_ratios"] = subgroup_hazard_ratios(
            lines,
            population.endpoints,
            endpoint=study.study.subgroup_endpoint,
            subgroups=[f"subgroup_{name}" for name in study.study.subgroups],
            threshold=threshold,
        )
    out["attrition"] = protect_attrition(attrition, threshold)
    out["unmapped_drugs"] = shared_unmapped(population.unmapped_drugs, threshold)
    analysed = {
        "patients": count_text(lines["patient_id"].n_unique(), threshold),
        "lines": count_text(lines.height, threshold),
    }
    manifest = pl.DataFrame({k: [str(v)] for k, v in analysed.items()})
    shared = protect_release(
        {**out, "manifest": manifest},
        threshold,
        subgroup_endpoint=study.study.subgroup_endpoint,
        ledger=ledger,
    )
    shared["baseline"] = withhold_summaries(shared["baseline"])
    row = shared.pop("manifest").row(0, named=True)
    return shared, {k: v if threshold == 0 else _as_count(row[k]) for k, v in analysed.items()}


def _as_count(text: str) -> int | str:
    """A manifest count: the number when published, else its text (``<11``, ``withheld``)."""
    return int(text) if text.isdigit() else text


def shared_unmapped(unmapped: pl.DataFrame, threshold: int) -> pl.DataFrame:
    """The unmapped drug names as shared: by name (an order by rows would rank the suppressed
    counts), small counts suppressed."""
    from mmrwe.privacy import suppress_counts

    return suppress_counts(unmapped.sort("drug"), ["rows", "patients"], threshold)
