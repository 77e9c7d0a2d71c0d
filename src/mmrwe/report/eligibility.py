"""The trial's eligibility beside the real-world study's, said before a comparison's numbers.

The trial's prior lines and refractoriness come from the benchmark library (``prior_lines``,
``refractoriness`` of the study, as published); the real-world study's from the effective
configuration of its run (``[population]``). Prior lines are compared when the library states
them as ``>= N`` or ``A-B``; refractoriness, free text in the library, is set beside the study's
criteria, and called a difference only when the study sets none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mmrwe.report.html_tables import esc
from mmrwe.study.config import StudyConfig

#: the study's refractoriness criteria in words (Population.refractory_to values)
REFRACTORY_WORDS = {
    "lenalidomide": "lenalidomide",
    "pi": "proteasome inhibitor",
    "anti_cd38": "anti-CD38 antibody",
    "triple_class": "triple-class",
    "penta": "penta-drug",
}


@dataclass(frozen=True)
class TrialEligibility:
    """As the library states it: e.g. prior_lines ">= 2", refractoriness "...". None: not
    stated."""

    prior_lines: str | None
    refractoriness: str | None


def trial_eligibility(trial: str, recorded: dict[str, object]) -> TrialEligibility | None:
    """The eligibility recorded in the comparison's manifest (``trial``), else the library's
    for ``trial``; None when neither knows the trial."""
    if "prior_lines" in recorded or "refractoriness" in recorded:
        return TrialEligibility(
            _text(recorded.get("prior_lines")), _text(recorded.get("refractoriness"))
        )
    from mmrwe.compare.library import load_benchmarks
    from mmrwe.errors import MmrweError

    try:
        study = load_benchmarks().study(trial)
    except (MmrweError, KeyError):
        return None
    return TrialEligibility(study.prior_lines, study.refractoriness)


def _text(value: object) -> str | None:
    return None if value in (None, "") else str(value)


def _words(text: str | None) -> str:
    """Library text for reading: >= and <= as ≥ and ≤."""
    return (text or "not stated").replace(">=", "≥").replace("<=", "≤")


def prior_line_range(text: str | None) -> tuple[int, int | None] | None:
    """(minimum, maximum or None) of ">= 2", "1-3", "2" (leading statement; a remark after it
    is ignored); None when the text states no range."""
    if not text:
        return None
    if m := re.match(r"\s*>=\s*(\d+)", text):
        return int(m.group(1)), None
    if m := re.match(r"\s*(\d+)\s*-\s*(\d+)", text):
        return int(m.group(1)), int(m.group(2))
    if m := re.match(r"\s*(\d+)\s*$", text):
        return int(m.group(1)), int(m.group(1))
    return None


def _lines(n: int) -> str:
    return f"{n} prior line" + ("" if n == 1 else "s")


def _range_words(low: int, high: int | None) -> str:
    if high is None:
        return f"≥ {_lines(low)}"
    return _lines(low) if low == high else f"{low} to {high} prior lines"


def _study_criteria(config: StudyConfig) -> tuple[str, str]:
    """The study's prior-lines and refractoriness criteria in words."""
    p = config.population
    low, high = p.min_prior_lines or 0, p.max_prior_lines
    lines = "any number of prior lines" if low == 0 and high is None else _range_words(low, high)
    refractory = [REFRACTORY_WORDS.get(r, r) for r in p.refractory_to]
    exposed = [
        label
        for label, flag in (
            ("triple-class exposed", p.triple_class_exposed),
            ("penta-exposed", p.penta_exposed),
        )
        if flag
    ]
    words = ([f"refractory to {', '.join(refractory)}"] if refractory else []) + exposed
    return lines, "; ".join(words) or "no refractoriness criterion"


def differences(trial: TrialEligibility, config: StudyConfig) -> list[str]:
    """How the study's population differs from the trial's eligibility, one phrase each."""
    out = []
    p = config.population
    low, high = p.min_prior_lines or 0, p.max_prior_lines
    wanted = prior_line_range(trial.prior_lines)
    if wanted is not None:
        t_low, t_high = wanted
        if low < t_low:
            out.append(
                f"prior lines: the study admits patients after {_lines(low)}, the trial required "
                f"{_range_words(t_low, t_high)}"
            )
        if t_high is not None and (high is None or high > t_high):
            out.append(f"prior lines: the study admits more than the trial's {t_high}")
    no_refractoriness = not (p.refractory_to or p.triple_class_exposed or p.penta_exposed)
    if trial.refractoriness and no_refractoriness:
        out.append(
            f"refractoriness: the trial required {_words(trial.refractoriness)}; the study sets no "
            "refractoriness criterion"
        )
    return out


def eligibility_html(trial_name: str, trial: TrialEligibility | None, config: StudyConfig) -> str:
    """A paragraph setting the two populations side by side; a warning when they differ."""
    lines, refractory = _study_criteria(config)
    study = f"The real-world study ({config.study.name}) selected {lines}; {refractory}."
    if trial is None:
        return (
            f"<p><strong>Eligibility.</strong> {esc(trial_name)} is not in the benchmark "
            f"library: its eligibility cannot be set beside the study's. {esc(study)}</p>"
        )
    enrolled = (
        f"{trial_name} enrolled patients with prior lines {_words(trial.prior_lines)}; "
        f"refractoriness: {_words(trial.refractoriness)}."
    )
    found = differences(trial, config)
    if not found:
        return f"<p><strong>Eligibility.</strong> {esc(enrolled)} {esc(study)}</p>"
    return (
        '<p class="warning"><strong>Eligibility.</strong> The real-world population differs '
        f"from the trial's eligibility: {esc('; '.join(found))}. The numbers below compare "
        f"different populations. {esc(enrolled)} {esc(study)}</p>"
    )
