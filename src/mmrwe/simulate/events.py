"""Physician-recorded responses and adverse events.

Responses: 35 % of patients have responses recorded by their physician at about half of the
plateau visits of lines with at least two assessments (the visit's intended category) and PD
0-5 days after 80 % of progression visits (never before the progression, never after the
line ends). Adverse events: each event of the line's regimen occurs with its probability, at a
uniform day of its onset window from the index date (CAR-T: the infusion) and within the line,
graded by its distribution (CTCAE, or ASTCT for CRS and ICANS); grade ≥ 3 events are serious
in 70 % of cases, others in 5 %.
"""

from __future__ import annotations

import numpy as np

from mmrwe.simulate import catalogue as cat
from mmrwe.simulate.regimens import REGIMENS
from mmrwe.simulate.visits import PLATEAU, PROG, ragged

CATEGORY_NAMES = np.array(["PD", "SD", "MR", "PR", "VGPR", "CR", "sCR"])
_EVENTS = [e for r in REGIMENS for e in r.events]
EV_N = np.array([len(r.events) for r in REGIMENS])
EV_FIRST = np.cumsum(EV_N) - EV_N
EV_TERM = np.array([e.term for e in _EVENTS])
EV_PROB = np.array([e.probability for e in _EVENTS])
EV_GRADE_CUM = np.cumsum(np.array([e.grades for e in _EVENTS]), axis=1)
EV_GRADE_CUM[:, -1] = 1.0
EV_GRADING = np.array([e.grading for e in _EVENTS])
EV_LO = np.array([e.onset_days[0] for e in _EVENTS])
EV_HI = np.array([e.onset_days[1] for e in _EVENTS])


def build_responses(rng: np.random.Generator, lines: dict, v: dict, n_patients: int) -> dict:
    """Physician-recorded responses: patient index, day, response code."""
    r, phase = v["row"], v["phase"]
    pat = lines["pat"][r]
    recorder = (rng.random(n_patients) < 0.35)[pat]
    post = np.zeros(lines["line"].size, np.int64)
    np.add.at(post, r, (phase >= PLATEAU).astype(np.int64))
    u = rng.random(r.size)
    visit = recorder & (post[r] >= 2) & (phase == PLATEAU) & (v["category"] >= 1) & (u < 0.5)
    pd = recorder & (phase == PROG) & (u < 0.8)
    pd_day = np.minimum(v["day"] + rng.integers(0, 6, r.size), lines["stop"][r])
    return {
        "pat": np.concatenate([pat[visit], pat[pd]]),
        "day": np.concatenate([v["day"][visit], pd_day[pd]]),
        "response": np.concatenate([CATEGORY_NAMES[v["category"][visit]], np.full(pd.sum(), "PD")]),
    }


def build_adverse_events(rng: np.random.Generator, lines: dict) -> dict:
    """Adverse events: patient index, term, onset day, grade, grading, serious."""
    reg = lines["regimen"]
    own, pos = ragged(EV_N[reg])
    ev = EV_FIRST[reg[own]] + pos - 1
    onset = (
        lines["index"][own]
        + EV_LO[ev]
        + np.floor(rng.random(own.size) * (EV_HI[ev] - EV_LO[ev] + 1)).astype(np.int64)
    )
    keep = (rng.random(own.size) < EV_PROB[ev]) & (onset <= lines["stop"][own])
    grade = cat.draw_index(EV_GRADE_CUM[ev], rng.random(own.size)) + 1
    u = rng.random(own.size)
    serious = np.where(grade >= 3, u < 0.7, u < 0.05)
    return {
        "pat": lines["pat"][own][keep],
        "term": EV_TERM[ev][keep],
        "day": onset[keep],
        "grade": grade[keep],
        "grading": EV_GRADING[ev][keep],
        "serious": serious[keep],
    }
