"""Study configuration: one TOML file, validated by pydantic, every problem reported at once.

Sections override the documented defaults of each stage::

    [lines]                 # mmrwe.lines.LineRules
    regimen_window_days = 21
    gap_days = 60

    [response]              # mmrwe.response.ResponseRules
    assessment_window_days = 7

An unknown section or field, or a value of the wrong type, is an error naming the field.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mmrwe.errors import ConfigError
from mmrwe.lines.rules import LineRules
from mmrwe.response.rules import ResponseRules


class StudyConfig(BaseModel):
    """The effective configuration of a run (defaults filled in)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lines: LineRules = Field(default_factory=LineRules, description="Line-of-therapy rules.")
    response: ResponseRules = Field(
        default_factory=ResponseRules, description="IMWG response and progression rules."
    )


def load_config(path: str | Path | None) -> StudyConfig:
    """Read a study TOML file (``None``: the defaults); raise :class:`ConfigError` listing every
    problem with its field."""
    if path is None:
        return StudyConfig()
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"The study configuration '{path}' does not exist.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}). Fix the syntax at that line.") from None
    try:
        return StudyConfig.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"[{'.'.join(str(p) for p in err['loc'])}] {err['msg']} (got {err.get('input')!r})"
            for err in exc.errors()
        ]
        raise ConfigError(
            f"{path}: {len(problems)} problem(s): "
            + "; ".join(problems)
            + ". Fix: see docs/lines.md and docs/response.md for the fields and their permitted "
            "values."
        ) from None
