"""Real-world cohorts next to published trials.

- :func:`load_benchmarks` → :class:`Library`: published trial and real-world figures, each with
  its citation (``compare/data/benchmarks.toml``); unknown values stay empty;
- :func:`reconstruct_ipd`: pseudo patient data from a digitised Kaplan–Meier curve and its
  numbers at risk (Guyot P et al., BMC Med Res Methodol 2012;12:9).
"""

from mmrwe.compare.library import Arm, Endpoint, Library, Source, Study, Value, load_benchmarks
from mmrwe.compare.maic import (
    MAIC,
    MaicWarning,
    compare_summary,
    compare_survival,
    maic_weights,
    median_as_proportion,
)
from mmrwe.compare.reconstruct import ReconstructionWarning, reconstruct_ipd

__all__ = [
    "MAIC",
    "Arm",
    "Endpoint",
    "Library",
    "MaicWarning",
    "ReconstructionWarning",
    "Source",
    "Study",
    "Value",
    "compare_summary",
    "compare_survival",
    "load_benchmarks",
    "maic_weights",
    "median_as_proportion",
    "reconstruct_ipd",
]
