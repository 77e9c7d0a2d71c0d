"""A study definition: which lines enter, who is eligible at index, how results are grouped.

Two sections of the study TOML file (``docs/studies.md``)::

    [study]                       # StudySettings: index choice, groups, cut-off, privacy
    name = "Isa-Pd in routine care"
    index = "first_eligible"      # one index line per patient (or "all_lines")
    group_by = "regimen"
    data_cutoff = 2023-06-30

    [population]                  # Population: line and patient criteria at index
    drugs = ["isatuximab", "pomalidomide"]
    min_prior_lines = 1

Criteria are combined with AND. Names of regimens and drugs are checked against the vocabulary
(``mmrwe.vocab``), so a misspelt name is an error naming the field, not an empty study.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mmrwe.errors import did_you_mean

#: refractoriness criteria and the ``lines`` column each reads (Rajkumar 2011)
REFRACTORY_FLAGS: dict[str, str] = {
    "lenalidomide": "len_refractory",
    "pi": "pi_refractory",
    "anti_cd38": "anti_cd38_refractory",
    "triple_class": "triple_class_refractory",
    "penta": "penta_refractory",
}

Refractory = Literal["lenalidomide", "pi", "anti_cd38", "triple_class", "penta"]
Subgroup = Literal[
    "age",
    "sex",
    "iss_stage",
    "r_iss_stage",
    "cytogenetic_risk",
    "ecog",
    "prior_lines",
    "triple_class_refractory",
]
#: subgroups a study can ask for (levels in ``docs/studies.md``)
SUBGROUPS: tuple[str, ...] = get_args(Subgroup)


class StudySettings(BaseModel):
    """``[study]``: the analysis around the selected lines."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field("Outcomes by line of therapy", min_length=1, description="Study title.")
    description: str = Field("", description="One paragraph shown at the top of the report.")
    index: Literal["all_lines", "first_eligible"] = Field(
        "all_lines",
        description="'all_lines': every eligible line is analysed (outcomes by line, as Jagannath "
        "2016); 'first_eligible': each patient's first eligible line is the index line (one per "
        "patient, as regimen cohorts such as IMAGE or LocoMMotion).",
    )
    group_by: Literal["line", "regimen", "none"] = Field(
        "line",
        description="Analysis groups of every summary: line number, regimen name, or one group.",
    )
    max_line: int = Field(
        6,
        ge=1,
        description="With group_by = 'line', lines above this number are pooled into 'line N+' "
        "(later lines are few; mmrwe default).",
    )
    data_cutoff: dt.date | None = Field(
        None,
        description="Follow-up cut-off: data dated after it are ignored (counted in attrition) "
        "and follow-up is censored at it. Empty: each patient's last contact.",
    )
    small_cell_threshold: int = Field(
        11,
        ge=0,
        description="Counts from 1 to this minus 1 are written as '<N' in aggregate outputs, with "
        "complementary cells protected (CMS cell-size suppression policy: 11). 0 turns it off.",
    )
    patient_level_figures: bool | None = Field(
        None,
        description="Swimmer, trajectory and waterfall figures (no identifiers shown), drawn "
        "into patient_level/figures/. Empty: on for simulated data (or when shared), off for "
        "real data.",
    )
    share_patient_level_figures: bool = Field(
        False,
        description="Put the patient-level figures in shareable/ and the report instead of "
        "patient_level/. They show individual patients (docs/privacy.md: no patient-level "
        "content leaves the site unless the study says so), so only with a data-use agreement "
        "that permits it; they still draw only fully published groups.",
    )
    subgroups: tuple[Subgroup, ...] = Field(
        (),
        description="Subgroups for hazard ratios (forest plot): " + ", ".join(SUBGROUPS) + ".",
    )
    subgroup_endpoint: Literal["PFS", "OS", "TTNT"] = Field(
        "PFS", description="Endpoint of the subgroup hazard ratios."
    )
    age_cut: int = Field(65, ge=18, le=100, description="Age (years) splitting the age subgroup.")

    @field_validator("small_cell_threshold")
    @classmethod
    def _meaningful_threshold(cls, value: int) -> int:
        if 0 < value < 3:
            raise ValueError(
                f"{value} would publish exact counts ('<{value}' can only mean {value - 1}); "
                "use 0 (suppression off) or 3 or more"
            )
        return value

    @field_validator("subgroups")
    @classmethod
    def _unique_subgroups(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("a subgroup is listed twice")
        return value


class Population(BaseModel):
    """``[population]``: which lines may be index lines (all criteria must hold at the line's
    start). Empty fields do not restrict."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lines: tuple[int, ...] | None = Field(
        None, description="Line numbers that may enter (1 = first line), e.g. [2, 3]."
    )
    regimens: tuple[str, ...] | None = Field(
        None, description="Regimen names as mmrwe writes them (D-Rd, Isa-Pd, ide-cel, ...)."
    )
    drugs: tuple[str, ...] | None = Field(
        None,
        description="Generic or brand names: the line must contain all of them (e.g. "
        "['isatuximab', 'pomalidomide'] for any Isa-Pd-based line).",
    )
    drug_classes: tuple[str, ...] | None = Field(
        None, description="Drug classes the line must all contain (e.g. ['anti-CD38'])."
    )
    car_t: bool | None = Field(None, description="true: CAR-T lines only; false: none.")
    min_prior_lines: int | None = Field(None, ge=0, description="At least this many prior lines.")
    max_prior_lines: int | None = Field(None, ge=0, description="At most this many prior lines.")
    refractory_to: tuple[Refractory, ...] = Field(
        (),
        description="Refractory at the line's start to each of: lenalidomide, pi, anti_cd38, "
        "triple_class, penta (IMWG, Rajkumar 2011).",
    )
    triple_class_exposed: bool | None = Field(
        None, description="Exposed to an IMiD, a PI and an anti-CD38 antibody before the line."
    )
    penta_exposed: bool | None = Field(
        None, description="Exposed to len, pom, bortezomib, carfilzomib and an anti-CD38."
    )
    min_age: int | None = Field(None, ge=0, le=120, description="Age at index ≥ this (years).")
    max_age: int | None = Field(None, ge=0, le=120, description="Age at index ≤ this (years).")
    start_from: dt.date | None = Field(None, description="Line started on or after this date.")
    start_to: dt.date | None = Field(None, description="Line started on or before this date.")

    @field_validator("regimens")
    @classmethod
    def _known_regimens(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        names = regimen_names()
        canonical = {k.lower(): v for k, v in names.items()}
        out = []
        for name in value:
            if name.lower() not in canonical:
                raise ValueError(
                    f"unknown regimen {name!r}.{did_you_mean(name, sorted(set(names.values())))}"
                    " Use a regimen name of docs/vocabulary.md, or select by `drugs`"
                )
            out.append(canonical[name.lower()])
        return tuple(out)

    @field_validator("drugs")
    @classmethod
    def _known_drugs(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        from mmrwe.vocab import load_vocabulary

        vocabulary = load_vocabulary()
        out = []
        for name in value:
            generic = vocabulary.generic_name(name)
            if generic is None:
                choices = sorted(vocabulary.drugs["generic_name"])
                raise ValueError(
                    f"unknown drug {name!r}.{did_you_mean(name.lower(), choices)} Use a generic "
                    "or brand name of the vocabulary (docs/vocabulary.md)"
                )
            out.append(generic)
        return tuple(out)

    @field_validator("drug_classes")
    @classmethod
    def _known_classes(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        from mmrwe.vocab import load_vocabulary

        classes = sorted(set(load_vocabulary().drugs["drug_class"]) | {"investigational"})
        for name in value:
            if name not in classes:
                raise ValueError(
                    f"unknown drug class {name!r}.{did_you_mean(name, classes)} Classes: "
                    + ", ".join(classes)
                )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Population:
        problems = []
        if _inverted(self.min_prior_lines, self.max_prior_lines):
            problems.append("min_prior_lines is above max_prior_lines")
        if _inverted(self.min_age, self.max_age):
            problems.append("min_age is above max_age")
        if _inverted(self.start_from, self.start_to):
            problems.append("start_from is after start_to")
        if self.lines is not None and any(n < 1 for n in self.lines):
            problems.append("line numbers start at 1")
        if self.refractory_to and self.lines is not None and set(self.lines) == {1}:
            problems.append(
                "refractory_to cannot hold at line 1 (refractoriness needs an earlier line)"
            )
        if self.refractory_to and self.max_prior_lines == 0:
            problems.append("refractory_to cannot hold with max_prior_lines = 0")
        needs_prior = self.triple_class_exposed or self.penta_exposed
        if needs_prior and self.max_prior_lines == 0:
            problems.append("class exposure before the line cannot hold with max_prior_lines = 0")
        if self.car_t is False and self.regimens and {"ide-cel", "cilta-cel"} & set(self.regimens):
            problems.append("car_t = false excludes the CAR-T regimens listed in regimens")
        if problems:
            raise ValueError("contradictory criteria: " + "; ".join(problems))
        return self


def _inverted(low: object, high: object) -> bool:
    return low is not None and high is not None and low > high  # type: ignore[operator]


def regimen_names() -> dict[str, str]:
    """Every accepted regimen spelling (names and their ``also_written`` forms) → its name."""
    from mmrwe.vocab import load_vocabulary

    out: dict[str, str] = {}
    for regimen, also in load_vocabulary().regimens.select("regimen", "also_written").iter_rows():
        out[regimen] = regimen
        for alias in (also or "").split(";"):
            if alias.strip():
                out[alias.strip()] = regimen
    return out
