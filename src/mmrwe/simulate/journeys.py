"""Patient journeys: baseline characteristics and the timing of every line of therapy.

The model, per line (all patients of a block at once, one loop step per line number):

1. a regimen is drawn from those available on the line's start date, eligible at this line
   (transplant eligibility for line 1; prior lines and triple-class exposure later), with at least
   one drug not given in the previous line (daratumumab added to ongoing Rd at progression
   makes D-Rd with lenalidomide continuing in 60 % of Rd → D-Rd sequences), down-weighted when it contains drugs the patient is
   refractory to (0.15) or exposed to (0.5); after a fixed-duration regimen and a treatment-free
   gap of more than 120 days, half the patients are retreated with the same regimen;
2. the time to progression is Weibull with median ``ttp_median_months[line] × efficacy ×
   patient time ratio`` (frailty shared across lines; high-risk cytogenetics, ISS III, ECOG ≥ 2
   shorten it), counted from the line start (CAR-T: from the infusion) and moved to the
   assessment visit at which it is seen (every 28 days on treatment, 91 days off treatment);
3. death before progression has a constant hazard per line; after progression the patient dies
   without a further line with a probability rising with the line (logistic), else the next line
   starts 10-42 days after the progression visit;
4. follow-up ends at the data cut or at loss to follow-up (exponential, from 120 days after
   diagnosis: every patient starts a first line).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from mmrwe.simulate import catalogue as cat
from mmrwe.simulate.parameters import (
    DAYS_PER_MONTH,
    DIAGNOSIS_FROM,
    DIAGNOSIS_TO,
    MAX_LINES,
    Parameters,
    day,
    line_slot,
)

NEVER = 10**9  # a day beyond any follow-up
CENSORED, PROGRESSION, DEATH = 0, 1, 2
# intended response categories
PD, SD, MR, PR, VGPR, CR, SCR = range(7)
# line patterns
STANDARD, TRANSPLANT, CAR_T_PATTERN, RETREATMENT, ADD_ON = range(5)
PATTERN_NAMES = np.array(["standard", "transplant", "car_t", "retreatment", "add_on"])
_RD, _DRD = cat.NAMES.tolist().index("Rd"), cat.NAMES.tolist().index("D-Rd")
DISEASE_TYPES = np.array(["serum", "urine", "serum_urine", "flc_only"])


@dataclass
class Patients:
    """Baseline characteristics of a block of patients (arrays of equal length; days since 1970)."""

    diagnosis: np.ndarray
    censor: np.ndarray  # data cut or loss to follow-up, whichever first
    age: np.ndarray
    sex: np.ndarray
    iss: np.ndarray  # 1..3
    r_iss: np.ndarray  # 0 (unknown), 1..3
    cyto: np.ndarray  # 0 high, 1 standard, 2 unknown
    ecog: np.ndarray
    transplant_eligible: np.ndarray
    disease: np.ndarray  # index into DISEASE_TYPES
    kappa: np.ndarray
    time_ratio: np.ndarray  # multiplies every time to progression
    death_multiplier: np.ndarray

    def __len__(self) -> int:
        return len(self.diagnosis)


def draw_patients(rng: np.random.Generator, n: int, prm: Parameters) -> Patients:
    """Draw baseline characteristics of ``n`` patients diagnosed 2008-2020."""
    diagnosis = rng.integers(day(DIAGNOSIS_FROM), day(DIAGNOSIS_TO) + 1, n)
    age = np.clip(np.round(rng.normal(68.0, 9.5, n)), 35, 92).astype(np.int64)
    sex = np.where(rng.random(n) < 0.55, "M", "F")
    iss = cat.draw_index(np.cumsum([0.30, 0.37, 0.33])[None, :], rng.random(n)) + 1
    cyto = cat.draw_index(np.cumsum([0.17, 0.63, 0.20])[None, :], rng.random(n))
    high = cyto == 0
    r_iss = np.where(
        cyto == 2, 0, np.where(high & (iss == 3), 3, np.where((iss == 1) & ~high, 1, 2))
    )
    ecog = cat.draw_index(np.cumsum([0.35, 0.40, 0.17, 0.07, 0.01])[None, :], rng.random(n))
    ecog = np.minimum(ecog + ((age > 75) & (rng.random(n) < 0.3)), 4)
    p_te = np.where(age < 66, 0.85, np.where(age <= 70, 0.45, 0.03)) * np.where(ecog >= 2, 0.3, 1)
    transplant_eligible = rng.random(n) < p_te
    disease = cat.draw_index(np.cumsum([0.78, 0.03, 0.04, 0.15])[None, :], rng.random(n))
    kappa = rng.random(n) < 0.65
    cov = np.where(high, 0.7, 1.0) * np.where(iss == 3, 0.85, 1.0) * np.where(ecog >= 2, 0.85, 1.0)
    time_ratio = np.exp(rng.normal(0.0, prm.frailty_sd, n)) * cov
    death_multiplier = (
        np.where(age >= 75, 1.8, np.where(age >= 65, 1.2, 1.0))
        * np.where(ecog >= 2, 1.5, 1.0)
        * np.where(iss == 3, 1.3, 1.0)
    )
    ltfu = diagnosis + 120 + np.ceil(rng.exponential(365.25 / prm.ltfu_rate, n)).astype(np.int64)
    censor = np.minimum(prm.data_cut_day, ltfu)
    return Patients(
        diagnosis, censor, age, sex, iss, r_iss, cyto, ecog, transplant_eligible, disease, kappa,
        time_ratio, death_multiplier,
    )  # fmt: skip


def grid_day(k: np.ndarray, n_on: np.ndarray) -> np.ndarray:
    """Day (from the line's index date) of scheduled visit ``k``: 28-day, then 91-day spacing."""
    return np.where(k <= n_on, 28 * k, 28 * n_on + 91 * (k - n_on))


def visit_of(t: np.ndarray, n_on: np.ndarray) -> np.ndarray:
    """Index of the first scheduled visit on or after day ``t`` (≥ 1)."""
    on = np.ceil(t / 28.0)
    off = n_on + np.ceil((t - 28.0 * n_on) / 91.0)
    return np.maximum(np.where(t <= 28.0 * n_on, on, off), 1).astype(np.int64)


def _choose(
    rng: np.random.Generator,
    line: int,
    s: np.ndarray,
    pat: Patients,
    a: np.ndarray,
    state: dict[str, np.ndarray],
    censor: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw the regimen of each active patient; returns (regimen index, retreatment flag)."""
    na = a.size
    if line == 1:
        te = pat.transplant_eligible[a]
        elig = np.where(te[:, None], cat.FIRST_TE[None, :], cat.FIRST_NTE[None, :])
        avail = (cat.AVAILABLE_FIRST[None, :] <= s[:, None]) & (s[:, None] < cat.WITHDRAWN[None, :])
        w = cat.WEIGHT[None, :] * (elig & avail)
        era = (s[:, None] < cat.day("2013-01-01")) & (cat.NAMES[None, :] == "CyBorD")
        w = w * np.where(era, 3.0, 1.0)
        return cat.draw_index(np.cumsum(w, 1) / w.sum(1, keepdims=True), rng.random(na)), np.zeros(
            na, bool
        )
    exposed, refr, prev_mask = state["exposed"][a], state["refractory"][a], state["prev_mask"][a]
    tce = (
        ((exposed & cat.IMID_MASK) != 0)
        & ((exposed & cat.PI_MASK) != 0)
        & ((exposed & cat.CD38_MASK) != 0)
    )
    avail = (cat.AVAILABLE[None, :] <= s[:, None]) & (s[:, None] < cat.WITHDRAWN[None, :])
    novel = (cat.MASK[None, :] & ~prev_mask[:, None]) != 0
    base = cat.RELAPSE[None, :] & avail & novel
    fit = (
        (cat.MIN_PRIOR[None, :] <= line - 1)
        & (~cat.NEEDS_TCE[None, :] | tce[:, None])
        & (
            ~cat.CAR_T[None, :]
            | (
                (pat.age[a] < 76)
                & (pat.ecog[a] <= 1)
                & (s + 120 <= censor[a])
                & ~state["had_car_t"][a]
            )[:, None]
        )
    )
    penalty = np.where((cat.MASK[None, :] & refr[:, None]) != 0, 0.15, 1.0) * np.where(
        (cat.MASK[None, :] & exposed[:, None] & ~refr[:, None]) != 0, 0.5, 1.0
    )
    w = cat.WEIGHT[None, :] * cat.RELAPSE_WEIGHT[None, :] * base * fit * penalty
    empty = w.sum(1) == 0
    w[empty] = (cat.WEIGHT[None, :] * base * ~cat.CAR_T[None, :])[empty]
    empty = w.sum(1) == 0  # nothing new at relapse: any available regimen with a new drug
    w[empty] = (cat.WEIGHT[None, :] * avail * novel * ~cat.CAR_T[None, :])[empty]
    empty = w.sum(1) == 0
    w[empty, cat.NAMES.tolist().index("CTd")] = 1.0
    reg = cat.draw_index(np.cumsum(w, 1) / w.sum(1, keepdims=True), rng.random(na))
    prev = state["prev_regimen"][a]
    can_retreat = (
        state["prev_fixed"][a]
        & (state["prev_last"][a] + 120 < s)
        & avail[np.arange(na), np.maximum(prev, 0)]
    )
    retreat = can_retreat & (rng.random(na) < 0.5)
    return np.where(retreat, prev, reg), retreat


def draw_lines(
    rng: np.random.Generator, pat: Patients, prm: Parameters
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Every line of every patient (timing, outcome, intended response) and each death day.

    One loop step per line number, all patients still on treatment at once; the random draws
    are made in a fixed order (timing, then outcome, then the next line's exposure), so a seed
    gives the same cohort in every release."""
    n = len(pat)
    start = pat.diagnosis + rng.integers(7, 36, n)
    active = start <= pat.censor - 30
    state = {
        "exposed": np.zeros(n, np.uint64),
        "refractory": np.zeros(n, np.uint64),
        "prev_mask": np.zeros(n, np.uint64),
        "prev_regimen": np.full(n, -1),
        "prev_fixed": np.zeros(n, bool),
        "prev_last": np.zeros(n, np.int64),
        "had_car_t": np.zeros(n, bool),
    }
    death = np.full(n, NEVER, np.int64)
    chunks = []
    for line in range(1, MAX_LINES + 1):
        a = np.flatnonzero(active)
        if a.size == 0:
            break
        reg, retreat = _choose(rng, line, start[a], pat, a, state, pat.censor)
        timing = _line_timing(rng, line, a, start[a], reg, pat, prm)
        drawn = _line_outcome(rng, line, a, timing, state, prm, pat.censor[a])
        drawn["pattern"] = np.select(
            [retreat, drawn["car_t"], timing["transplant"], drawn.pop("add_on")],
            [RETREATMENT, CAR_T_PATTERN, TRANSPLANT, ADD_ON],
            STANDARD,
        )
        chunks.append(drawn)
        death[a] = np.minimum(death[a], drawn["death"])
        _advance_state(state, a, drawn, timing)
        active[:] = False
        active[a[drawn["next"] != NEVER]] = True
        start[a] = timing["nxt"]
    lines = {key: np.concatenate([ch[key] for ch in chunks]) for key in chunks[0]}
    order = np.lexsort((lines["line"], lines["pat"]))
    lines = {key: v[order] for key, v in lines.items()}
    return lines, death


def _line_timing(
    rng: np.random.Generator,
    line: int,
    a: np.ndarray,
    s: np.ndarray,
    reg: np.ndarray,
    pat: Patients,
    prm: Parameters,
) -> dict[str, np.ndarray]:
    """Days of one line for patients ``a`` starting on ``s``: index (CAR-T infusion), ASCT and
    maintenance, cycles on treatment, progression visit and death before progression."""
    na = a.size
    car_t = cat.CAR_T[reg]
    index = s + np.where(car_t, rng.integers(35, 61, na), 0)
    transplant = (line == 1) & pat.transplant_eligible[a]
    asct = s + rng.integers(120, 171, na)
    fixed = (cat.FIXED_DAYS[reg] > 0) & ~transplant
    n_on = np.where(
        fixed,
        np.maximum(np.floor(cat.FIXED_DAYS[reg] * rng.uniform(0.85, 1.1, na) / 28), 1),
        np.where(car_t, 13, 10**6),
    ).astype(np.int64)
    eff = np.where(transplant, prm.transplant_efficacy, cat.EFFICACY[reg])
    median = (
        np.asarray(prm.ttp_median_months)[line_slot(np.full(na, line))]
        * DAYS_PER_MONTH
        * eff
        * pat.time_ratio[a]
    )
    k = prm.weibull_shape
    u_t = rng.random(na)
    ttp = median / np.log(2) ** (1 / k) * (-np.log(u_t)) ** (1 / k)
    # the simulated ASCT happens only when progression comes at least 115 days after it (the
    # calibration of lines 1-2 assumes it; rule 5 keeps relapse therapy started after a
    # documented progression out of the transplant line whatever the window)
    transplant &= ttp >= (asct - s) + 115
    asct = np.where(transplant, asct, NEVER)
    maint = np.where(transplant, asct + rng.integers(70, 101, na), NEVER)
    k_p = visit_of(ttp, n_on)
    p_day = index + grid_day(k_p, n_on) + rng.integers(-3, 4, na)
    d_rate = (
        np.asarray(prm.inline_death_rate)[line_slot(np.full(na, line))]
        * pat.death_multiplier[a]
        / 365.25
    )
    d_day = index + 1 + np.floor(rng.exponential(1.0 / d_rate)).astype(np.int64)
    return {
        "s": s, "reg": reg, "car_t": car_t, "index": index, "transplant": transplant,
        "asct": asct, "maint": maint, "fixed": fixed, "n_on": n_on, "u_t": u_t, "k_p": k_p,
        "p_day": p_day, "d_day": d_day,
    }  # fmt: skip


def _line_outcome(
    rng: np.random.Generator,
    line: int,
    a: np.ndarray,
    t: dict[str, np.ndarray],
    state: dict[str, np.ndarray],
    prm: Parameters,
    c: np.ndarray,
) -> dict[str, np.ndarray]:
    """How one line ends (progression, death or censoring at ``c``), the intended best
    response (correlated with the time to progression) and the line's record."""
    na = a.size
    reg, car_t, fixed, p_day, d_day = t["reg"], t["car_t"], t["fixed"], t["p_day"], t["d_day"]
    z = -prm.response_rho * ndtri(t["u_t"]) + np.sqrt(1 - prm.response_rho**2) * rng.normal(size=na)
    cstar = cat.draw_index(cat.RESPONSE_CUM[reg], ndtr(z))
    cstar = np.where(t["k_p"] <= 2, PD, cstar)
    dies_first = d_day < p_day
    progresses = ~dies_first & (p_day <= c - 21)
    pp_death = (rng.random(na) < prm.pp_death_probability(np.full(na, line))) | (line == MAX_LINES)
    pp_day = p_day + np.maximum(10, np.round(rng.exponential(prm.pp_death_mean_days, na)))
    pp_day = np.where(pp_death, pp_day, NEVER).astype(np.int64)
    nxt = p_day + rng.integers(12, 43, na)
    t["nxt"] = nxt
    after = np.minimum(pp_day, np.where(d_day > p_day, d_day, NEVER))
    dead_after = progresses & (after <= c) & (pp_death | (after < nxt))
    has_next = progresses & ~dead_after & ~pp_death & (nxt <= c - 14)
    event = np.where(progresses, PROGRESSION, np.where(dies_first & (d_day <= c), DEATH, CENSORED))
    line_death = np.where(event == DEATH, d_day, np.where(dead_after, after, NEVER))
    tx_end = np.where(fixed, t["index"] + 28 * t["n_on"], NEVER)
    bridge = np.where(car_t, cat.draw_index(cat.BRIDGE_CUM[None, :], rng.random(na)), -1)
    mobilisation = t["transplant"] & (rng.random(na) < 0.35)
    add_on = (state["prev_regimen"][a] == _RD) & (reg == _DRD) & (rng.random(na) < 0.6)
    return {
        "pat": a, "line": np.full(na, line), "regimen": reg, "start": t["s"],
        "index": t["index"], "asct": t["asct"], "maint": t["maint"], "n_on": t["n_on"],
        "tx_end": tx_end, "k_p": t["k_p"],
        "progression": np.where(event == PROGRESSION, p_day, NEVER), "event": event,
        "next": np.where(has_next, nxt, NEVER),
        "stop": np.where(has_next, nxt - 1, np.minimum(line_death, c)), "death": line_death,
        "cstar": cstar, "bridge": bridge, "pattern": np.zeros(na, np.int64), "car_t": car_t,
        "fixed": fixed, "mobilisation": mobilisation,
        "prev_mask": state["prev_mask"][a].copy(), "add_on": add_on,
    }  # fmt: skip


def _advance_state(
    state: dict[str, np.ndarray],
    a: np.ndarray,
    drawn: dict[str, np.ndarray],
    t: dict[str, np.ndarray],
) -> None:
    """Drugs exposed and refractory to after this line (what the next line's choice reads)."""
    reg, car_t, fixed, p_day = drawn["regimen"], drawn["car_t"], drawn["fixed"], t["p_day"]
    transplant, bridge, tx_end = t["transplant"], drawn["bridge"], drawn["tx_end"]
    mask = cat.MASK[reg] | np.where(transplant, cat.ASCT_EXTRA_MASK | cat.LEN_MASK, np.uint64(0))
    mask = mask | np.where(drawn["mobilisation"], cat.CY_MASK, np.uint64(0))
    bridge_mask = np.where(car_t, cat.BRIDGE_MASK[np.maximum(bridge, 0)], np.uint64(0))
    mask = mask | bridge_mask | np.where(car_t, cat.LYMPHODEPLETION_MASK, np.uint64(0))
    mask = mask | np.where(reg == cat.NAMES.tolist().index("CyBorD"), cat.CY_MASK, 0).astype(
        np.uint64
    )
    on_drug = (drawn["event"] == PROGRESSION) & (~fixed | (p_day - tx_end <= 60))
    refr_mask = np.where(
        transplant & (p_day >= drawn["maint"]), cat.LEN_MASK, np.where(car_t, 0, cat.MASK[reg])
    ).astype(np.uint64)
    state["exposed"][a] |= mask
    state["refractory"][a] |= np.where(on_drug, refr_mask, np.uint64(0))
    state["prev_mask"][a] = mask
    state["prev_regimen"][a] = reg
    state["prev_fixed"][a] = fixed & (p_day > tx_end)
    state["prev_last"][a] = np.minimum(tx_end, p_day)
    state["had_car_t"][a] |= car_t
