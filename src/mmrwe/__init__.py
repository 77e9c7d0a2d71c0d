"""mmrwe: real-world evidence in relapsed/refractory multiple myeloma.

Stages (one subpackage each, data flowing one way, tables in and tables out):
``io`` (read and validate a cohort), ``vocab`` (drug vocabulary), ``lines`` (lines of
therapy), ``response`` (IMWG response), ``endpoints`` (PFS, OS, ... per line), ``stats``
(survival statistics matching R's ``survival``), ``compare`` (real world versus trials),
``report`` (figures and HTML), ``simulate`` (calibrated synthetic cohorts), ``cli``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mmrwe")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
