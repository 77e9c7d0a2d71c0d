"""Lines of therapy from drug exposures (IMWG consensus, Rajkumar 2011), with an audit trail.

- :func:`derive_lines_of_therapy` → ``lines``, ``line_exposures``, ``unmapped_drugs``, ``attrition``;
- :func:`derive_refractoriness` adds refractory and exposure flags at each line's start;
- :func:`rederive_after_lab_progression` is the second pass that lets lab-derived PD end a planned
  transplant sequence (rule 5);
- :class:`LineRules` holds every rule parameter with its source.
"""

from mmrwe.lines.derive import LinesOfTherapy, derive_lines_of_therapy
from mmrwe.lines.progression import patients_to_rederive, rederive_after_lab_progression
from mmrwe.lines.refractory import (
    REFRACTORY_COLUMNS,
    all_progression,
    derive_refractoriness,
    recorded_progression,
)
from mmrwe.lines.rules import LineRules

__all__ = [
    "REFRACTORY_COLUMNS",
    "LineRules",
    "LinesOfTherapy",
    "all_progression",
    "derive_lines_of_therapy",
    "derive_refractoriness",
    "patients_to_rederive",
    "recorded_progression",
    "rederive_after_lab_progression",
]
