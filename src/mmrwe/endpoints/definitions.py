"""Every endpoint declared as data: population, start, event sources, censoring.

One generic evaluator (:mod:`mmrwe.endpoints.derive`) reads these definitions: the end of an
endpoint is the earliest date among its qualifying event sources (ties go to the source listed
first), else its censoring date. A source's date qualifies, for endpoints ``within_line``, when
it is before the next line's start; ``discontinuation`` also needs the last drug day to fall
before the last contact. (A date before the start contradicts the inputs and raises.)

Event sources (columns of the per-line frame, all dates):

- ``progression``: ``line_response.progression_date`` (IMWG PD, labs or physician);
- ``death``: ``patients.death_date``;
- ``next_line``: the next line's start (the line's ``end_date`` + 1 day when it ended by one);
- ``discontinuation``: the line's last day of anti-myeloma drug;
- ``response``: ``line_response.first_response_date`` (first ≥ PR).

Censoring sources: ``last_assessment`` (the last assessment after the start, before the next
line and on or before the last contact; none: the start, reason ``no_assessment``) and
``last_contact`` (for endpoints within the line: the day before the next line when that comes
first, reason ``next_line``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mmrwe.endpoints.rules import EndpointRules

EventSource = Literal["progression", "death", "next_line", "discontinuation", "response"]
CensorSource = Literal["last_assessment", "last_contact"]

#: The values of ``event_or_censor_reason``.
REASONS: tuple[str, ...] = (
    "progression",
    "death",
    "next_line",
    "discontinuation",
    "response",
    "last_assessment",
    "last_contact",
    "no_assessment",
    "data_cutoff",
)


@dataclass(frozen=True)
class EndpointDefinition:
    """One time-to-event endpoint per line (admiral's ``event_source``/``censor_source`` idea)."""

    code: str
    label: str
    population: Literal["all", "responders"]
    start: Literal["index", "first_response"]
    events: tuple[EventSource, ...]
    censor: CensorSource
    within_line: bool


PFS = EndpointDefinition(
    "PFS", "Progression-free survival", "all", "index",
    ("progression", "death"), "last_assessment", within_line=True,
)  # fmt: skip
OS = EndpointDefinition(
    "OS", "Overall survival", "all", "index", ("death",), "last_contact", within_line=False
)
TTNT = EndpointDefinition(
    "TTNT", "Time to next treatment", "all", "index",
    ("next_line", "death"), "last_contact", within_line=False,
)  # fmt: skip
DOR = EndpointDefinition(
    "DOR", "Duration of response", "responders", "first_response",
    ("progression", "death"), "last_assessment", within_line=True,
)  # fmt: skip
TTR = EndpointDefinition(
    "TTR", "Time to response", "responders", "index", ("response",), "last_contact",
    within_line=True,
)  # fmt: skip
TTD = EndpointDefinition(
    "TTD", "Time to treatment discontinuation", "all", "index",
    ("death", "discontinuation"), "last_contact", within_line=False,
)  # fmt: skip

#: The endpoints in their fixed output order.
ENDPOINTS: tuple[EndpointDefinition, ...] = (PFS, OS, TTNT, DOR, TTR, TTD)
ENDPOINT_ORDER: dict[str, int] = {d.code: i for i, d in enumerate(ENDPOINTS)}
LABELS: dict[str, str] = {d.code: d.label for d in ENDPOINTS}


def endpoint_definitions(rules: EndpointRules) -> tuple[EndpointDefinition, ...]:
    """The definitions with the rules' switches applied (death as an event, PFS censoring)."""

    def adjust(d: EndpointDefinition) -> EndpointDefinition:
        events, censor = d.events, d.censor
        if d.code in ("PFS", "DOR"):
            censor = rules.pfs_censor
            if not rules.pfs_death_is_event:
                events = tuple(e for e in events if e != "death")
        if d.code == "TTNT" and not rules.ttnt_death_is_event:
            events = tuple(e for e in events if e != "death")
        return EndpointDefinition(
            d.code, d.label, d.population, d.start, events, censor, d.within_line
        )

    return tuple(adjust(d) for d in ENDPOINTS)
