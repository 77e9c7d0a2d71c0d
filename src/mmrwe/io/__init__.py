"""Reading and validating cohorts in the native format; writing run outputs.

Public API: :func:`read_cohort`, :func:`validate_cohort`, :class:`Cohort`,
:class:`ValidationReport`, :class:`Problem`, :class:`OutputDirectory`.
"""

from mmrwe.io.cohort import Cohort
from mmrwe.io.output import OutputDirectory, write_table
from mmrwe.io.problems import Problem, ValidationReport
from mmrwe.io.read import read_cohort, validate_cohort

__all__ = [
    "Cohort",
    "OutputDirectory",
    "Problem",
    "ValidationReport",
    "read_cohort",
    "validate_cohort",
    "write_table",
]
