"""Survival statistics that agree with R's ``survival`` package (Therneau).

Estimators follow the scikit-learn/lifelines style: settings in ``__init__``, ``fit`` returns
``self``, results in attributes ending in ``_`` and a Polars ``summary_`` table. See
``docs/statistics.md`` for what each computes and which R call it matches.
"""

from mmrwe.stats.adverse_events import adverse_events
from mmrwe.stats.baseline import baseline_table
from mmrwe.stats.confint import CONF_TYPES, survival_confint
from mmrwe.stats.cox import CoxPH
from mmrwe.stats.km import KaplanMeier, median_followup
from mmrwe.stats.logrank import LogRankTest
from mmrwe.stats.proportions import clopper_pearson, proportion_table
from mmrwe.stats.quantile import find_quantile
from mmrwe.stats.response_rates import response_rates
from mmrwe.stats.subgroups import subgroup_hazard_ratios
from mmrwe.stats.summary_by_line import summary_by_line

__all__ = [
    "CONF_TYPES",
    "CoxPH",
    "KaplanMeier",
    "LogRankTest",
    "adverse_events",
    "baseline_table",
    "clopper_pearson",
    "find_quantile",
    "median_followup",
    "proportion_table",
    "response_rates",
    "subgroup_hazard_ratios",
    "summary_by_line",
    "survival_confint",
]
