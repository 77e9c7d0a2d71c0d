"""The rules of time-to-event endpoints per line, as one frozen configuration object.

Defaults follow the IMWG consensus on uniform reporting of clinical trials (Rajkumar SV et al.,
Blood 2011;117:4691-4695: PFS from the start of treatment to progression or death, duration of
response from the first documented response, time to next treatment), the FDA guidance on
clinical trial endpoints for cancer drugs (FDA, Guidance for Industry, 2018: PFS censored at the
last adequate assessment) and the CDISC ADaM basic data structure for time-to-event analyses
(CDISC ADaM BDS for TTE, 2012). Days are calendar days.

A study configuration overrides them in an ``[endpoints]`` TOML section.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mmrwe.io.schema import RESPONSE_CODES
from mmrwe.lines.rules import ROLE_LYMPHODEPLETION, ROLE_PREPARATION

RESPONSE_CATEGORIES = RESPONSE_CODES


class EndpointRules(BaseModel):
    """Parameters of the endpoint rules (``docs/endpoints.md``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pfs_censor: Literal["last_assessment", "last_contact"] = Field(
        "last_assessment",
        description="PFS and DOR without an event are censored at the last disease assessment "
        "(lab assessment or recorded response) before the next line (FDA 2018; Rajkumar 2011), "
        "or at the last contact ('last_contact', or the day before the next line when that "
        "comes first).",
    )
    pfs_death_is_event: bool = Field(
        True,
        description="Death before the next line ends PFS and DOR as an event (Rajkumar 2011: "
        "'progression or death from any cause'); false: deaths are not events and the line is "
        "censored as without an event.",
    )
    ttnt_death_is_event: bool = Field(
        True,
        description="Death before a next line ends TTNT as an event (time to next treatment or "
        "death, as in real-world myeloma cohorts, e.g. Jagannath S et al., Expert Rev Hematol "
        "2016;9:707); false: censored at the last contact.",
    )
    responder_categories: tuple[str, ...] = Field(
        ("sCR", "CR", "VGPR", "PR"),
        min_length=1,
        description="Best responses that make a line a responder for DOR and TTR: partial "
        "response or better (Kumar S et al., Lancet Oncol 2016;17:e328).",
    )
    ttd_excluded_classes: tuple[str, ...] = Field(
        ("steroid", "supportive"),
        description="Drug classes whose exposures do not count as anti-myeloma drug for TTD "
        "(steroids and supportive care continue after the regimen stops; mmrwe rule).",
    )
    ttd_excluded_roles: tuple[str, ...] = Field(
        (ROLE_PREPARATION, ROLE_LYMPHODEPLETION),
        description="Exposure roles (``line_exposures.role``) that do not count for TTD: "
        "transplant conditioning and mobilisation and CAR-T lymphodepletion prepare a procedure "
        "whose own day counts (mmrwe rule).",
    )
    ttd_excluded_drugs: tuple[str, ...] = Field(
        ("leukapheresis",),
        description="Procedures that are not anti-myeloma therapy (leukapheresis collects "
        "T cells for CAR-T manufacture; the vocabulary marks it anti_myeloma = false).",
    )
    days_per_month: float = Field(
        30.4375,
        gt=0,
        description="Days in a month for time_months (365.25 / 12, the convention of R survival "
        "and SAS reports).",
    )

    @field_validator("responder_categories")
    @classmethod
    def _known_categories(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [c for c in value if c not in RESPONSE_CATEGORIES]
        if unknown:
            raise ValueError(
                f"unknown response categories {unknown}; use some of {list(RESPONSE_CATEGORIES)}"
            )
        return value
