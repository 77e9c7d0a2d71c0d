"""OMOP CDM v5.4 as a cohort source, and the synthetic CDM (``docs/omop.md``).

Public API: :func:`read_omop` (an OMOP URL → :class:`mmrwe.io.Cohort`), :func:`extract_cohort`
(the native tables one person range at a time), :func:`is_omop_url`, :func:`render_cohort`.
"""

from mmrwe.omop.source import extract_cohort, open_omop, read_omop, validate_omop
from mmrwe.omop.url import is_omop_url, parse_url

__all__ = ["extract_cohort", "is_omop_url", "open_omop", "parse_url", "read_omop", "validate_omop"]
