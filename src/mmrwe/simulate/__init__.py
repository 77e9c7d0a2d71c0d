"""simulate stage: a calibrated synthetic RRMM cohort in the native format, with ground truth.

Public API: :func:`simulate_cohort` and :class:`SimulationSummary`; the drug spellings it writes
are in :mod:`mmrwe.simulate.names`. The simulator imports no derivation code (lines, response,
endpoints, vocab): its truth tables are independent of them. See ``docs/simulator.md``.
"""

from mmrwe.simulate.cohort import SimulationSummary, simulate_cohort

__all__ = ["SimulationSummary", "simulate_cohort"]
