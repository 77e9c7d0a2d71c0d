"""The rules of the OMOP mapping that are choices rather than codes, as one frozen object.

They travel as options of the OMOP URL (``omop+duckdb:///cdm.duckdb?ecog_window_days=28``), the
way ``cdm_schema`` and ``concept_map`` do, so every command that takes a cohort takes them; the
manifest records them with the mapping's counts (``omop_mapping.rules``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class OmopRules(BaseModel):
    """Parameters of the OMOP mapping (``docs/omop.md``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ecog_window_days: int = Field(
        30,
        ge=0,
        le=365,
        description="ECOG performance status counts as 'at diagnosis' when measured at most "
        "this many days before or after the diagnosis date, the nearest winning. mmrwe's rule: "
        "no published convention for real-world data was found; trials take the assessment "
        "within about 28 days before the first dose.",
    )


#: the URL options that set :class:`OmopRules` fields
RULE_OPTIONS = tuple(OmopRules.model_fields)
