"""Study configuration: one TOML file, validated by pydantic, every problem reported at once.

A study file defines the study and overrides the documented defaults of each stage::

    [study]                 # mmrwe.study.StudySettings: index choice, groups, cut-off, privacy
    name = "Isa-Pd in routine care"
    index = "first_eligible"

    [population]            # mmrwe.study.Population: which lines enter, eligibility at index
    drugs = ["isatuximab", "pomalidomide"]

    [lines]                 # mmrwe.lines.LineRules
    regimen_window_days = 21
    gap_days = 60

    [response]              # mmrwe.response.ResponseRules
    assessment_window_days = 7

    [endpoints]             # mmrwe.endpoints.EndpointRules
    pfs_censor = "last_assessment"

An unknown section or field, or a value of the wrong type, is an error naming the field.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mmrwe.endpoints.rules import EndpointRules
from mmrwe.errors import ConfigError, did_you_mean
from mmrwe.lines.rules import LineRules
from mmrwe.response.rules import ResponseRules
from mmrwe.study.definition import Population, StudySettings


class StudyConfig(BaseModel):
    """The effective configuration of a run (defaults filled in)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    study: StudySettings = Field(
        default_factory=StudySettings, description="The analysis: index, groups, cut-off, privacy."
    )
    population: Population = Field(
        default_factory=Population, description="Which lines enter and who is eligible at index."
    )
    lines: LineRules = Field(default_factory=LineRules, description="Line-of-therapy rules.")
    response: ResponseRules = Field(
        default_factory=ResponseRules, description="IMWG response and progression rules."
    )
    endpoints: EndpointRules = Field(
        default_factory=EndpointRules, description="Time-to-event endpoint rules."
    )


def example_studies() -> dict[str, Path]:
    """The study definitions shipped with mmrwe (``mmrwe/study/examples``), by name."""
    folder = Path(__file__).parent / "examples"
    return {p.stem: p for p in sorted(folder.glob("*.toml"))}


def _fields_at(loc: tuple[object, ...]) -> list[str]:
    """The field names of the configuration section at ``loc`` (empty when not a section)."""
    model: object = StudyConfig
    for part in loc:
        fields = getattr(model, "model_fields", {})
        if part not in fields:
            return []
        model = fields[part].annotation
    return list(getattr(model, "model_fields", {}))


def _problem(err: Any) -> str:
    """One validation problem in words; an unknown field names the closest known ones."""
    where = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        name = str(err["loc"][-1])
        fields = _fields_at(tuple(err["loc"][:-1]))
        return f"[{where}] unknown field {name!r}.{did_you_mean(name, fields)}"
    return f"[{where}] {err['msg']} (got {err.get('input')!r})"


def load_config(path: str | Path | None) -> StudyConfig:
    """Read a study TOML file (``None``: the defaults; the name of a shipped example such as
    ``isa-pd``: that example); raise :class:`ConfigError` listing every problem with its field."""
    if path is None:
        return StudyConfig()
    path = Path(path)
    examples = example_studies()
    if not path.exists() and str(path) in examples:
        path = examples[str(path)]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"The study configuration '{path}' does not exist. Give the path of a TOML file or "
            f"the name of a shipped example: {', '.join(examples)}."
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}). Fix the syntax at that line.") from None
    try:
        return StudyConfig.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(err) for err in exc.errors()]
        raise ConfigError(
            f"{path}: {len(problems)} problem(s): "
            + "; ".join(problems)
            + ". Fix: see docs/studies.md for the fields and their permitted values."
        ) from None
