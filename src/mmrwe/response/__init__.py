"""IMWG response and progression from laboratory data (Kumar S et al., Lancet Oncol 2016).

- :func:`derive_assessments` → ``assessments``: per line its baseline and every on-line
  assessment with its category, confirmation and reason in words;
- :func:`derive_line_response` → ``line_response``: best overall response, first response,
  progression and relapse from CR per line, from labs or the physician-recorded responses;
- :func:`progression_dates` → ``patient_id, date`` for :func:`mmrwe.lines.derive_refractoriness`;
- :class:`ResponseRules` holds every threshold with its source.
"""

from mmrwe.response.assess import ASSESSMENT_SCHEMA, derive_assessments
from mmrwe.response.best import (
    LINE_RESPONSE_SCHEMA,
    derive_line_response,
    progression_dates,
    recorded_progression_dates,
)
from mmrwe.response.categories import CATEGORIES
from mmrwe.response.rules import ResponseRules

__all__ = [
    "ASSESSMENT_SCHEMA",
    "CATEGORIES",
    "LINE_RESPONSE_SCHEMA",
    "ResponseRules",
    "derive_assessments",
    "derive_line_response",
    "progression_dates",
    "recorded_progression_dates",
]
