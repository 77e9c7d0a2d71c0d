"""Real-world cohorts next to published trials.

- :func:`load_benchmarks` → :class:`Library`: published trial and real-world figures, each with
  its citation (``compare/data/benchmarks.toml``); unknown values stay empty;
- :func:`reconstruct_ipd`: pseudo patient data from a digitised Kaplan–Meier curve and its
  numbers at risk (Guyot P et al., BMC Med Res Methodol 2012;12:9).
"""

from mmrwe.compare.library import Arm, Endpoint, Library, Source, Study, Value, load_benchmarks
from mmrwe.compare.reconstruct import ReconstructionWarning, reconstruct_ipd

__all__ = [
    "Arm",
    "Endpoint",
    "Library",
    "ReconstructionWarning",
    "Source",
    "Study",
    "Value",
    "load_benchmarks",
    "reconstruct_ipd",
]
