"""Matching-adjusted indirect comparison (MAIC) of a real-world cohort with a published trial.

Signorovitch JE et al., Pharmacoeconomics 2010;28:935; Phillippo DM et al., NICE DSU Technical
Support Document 18, 2016. The real-world patients are reweighted so that their weighted
baseline means equal the trial's published ones (:class:`MAIC`), then their outcomes are set
beside the trial arm (:func:`compare_survival` with patient-level trial data,
:func:`compare_summary` with published medians and rates only). See ``docs/compare.md``.
"""

from mmrwe.compare._maic_survival import SUMMARY_NOTE, compare_summary, compare_survival
from mmrwe.compare._maic_weights import (
    MAIC,
    MATCH_TOLERANCE,
    MaicWarning,
    maic_weights,
    median_as_proportion,
)

__all__ = [
    "MAIC",
    "MATCH_TOLERANCE",
    "SUMMARY_NOTE",
    "MaicWarning",
    "compare_summary",
    "compare_survival",
    "maic_weights",
    "median_as_proportion",
]
