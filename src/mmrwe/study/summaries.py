"""The aggregate tables of a run, with small cells suppressed (``docs/privacy.md``).

Every table here is an aggregate output: no patient identifier, counts below the study's
``small_cell_threshold`` written as ``<N`` with complementary cells protected.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from mmrwe.pipeline import AnalysedPopulation

if TYPE_CHECKING:  # typing only: importing the rules would load the compiled stages
    from mmrwe.study.config import StudyConfig


def summarise(
    population: AnalysedPopulation, attrition: pl.DataFrame, study: StudyConfig
) -> dict[str, pl.DataFrame]:
    """``summary_by_line``, ``response_rates``, ``adverse_events``, ``baseline``,
    ``subgroup_hazard_ratios`` (when the study names subgroups), ``attrition`` and
    ``unmapped_drugs``, all suppressed."""
    from mmrwe.privacy import protect_attrition, suppress_counts
    from mmrwe.stats.adverse_events import adverse_events
    from mmrwe.stats.baseline import baseline_table
    from mmrwe.stats.response_rates import response_rates
    from mmrwe.stats.subgroups import subgroup_hazard_ratios
    from mmrwe.stats.summary_by_line import summary_by_line

    threshold = study.study.small_cell_threshold
    lines = population.analysis_lines
    out = {
        "summary_by_line": summary_by_line(
            lines, population.endpoints, by="group", threshold=threshold
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
    out["unmapped_drugs"] = suppress_counts(
        population.unmapped_drugs, ["rows", "patients"], threshold
    )
    return out
