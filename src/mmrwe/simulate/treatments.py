"""Treatment rows (native ``treatments`` table) from the lines, as clinical records show them.

Per line: each regimen drug as its own row starting on the line's start day (20 % of the drugs
after the first, which is never a steroid, 1-5 days later); drugs stop 0-14 days after progression (before the next line), at death, at the end
of a fixed-duration regimen, or are ongoing (no end date) at the end of follow-up; bortezomib is
often stopped early and dexamethasone stopped early or paused and restarted. A transplant line
adds mobilisation (cyclophosphamide, G-CSF), melphalan conditioning, the ASCT and lenalidomide
maintenance started 70-100 days after it; a CAR-T line adds leukapheresis, bridging,
lymphodepletion (fludarabine, cyclophosphamide) and the infusion. Supportive care (bone agents,
acyclovir, G-CSF) and a few unmapped names are added; 1 % of rows are duplicated and 1 % split
into two overlapping records. When daratumumab is added to ongoing Rd (``pattern = add_on``),
the Rd line's lenalidomide record runs on through the D-Rd line.
"""

from __future__ import annotations

import numpy as np

from mmrwe.simulate import catalogue as cat
from mmrwe.simulate.journeys import ADD_ON, NEVER, PROGRESSION, RETREATMENT
from mmrwe.simulate.names import DRUG_CODE, STEROIDS, UNMAPPED_DRUG_NAMES
from mmrwe.simulate.regimens import BRIDGING, REGIMENS
from mmrwe.simulate.visits import ragged

NULL = -1
REG_DRUGS = [np.array([DRUG_CODE[d] for d in r.drugs]) for r in REGIMENS]
REG_N = np.array([len(d) for d in REG_DRUGS])
REG_FLAT = np.concatenate(REG_DRUGS)
REG_FIRST = np.cumsum(REG_N) - REG_N
BRIDGE_DRUGS = [np.array([DRUG_CODE[d] for d in b], dtype=np.int64) for b, _ in BRIDGING]
BRIDGE_N = np.array([len(b) for b in BRIDGE_DRUGS])
BRIDGE_FLAT = np.concatenate(BRIDGE_DRUGS)
BRIDGE_FIRST = np.cumsum(BRIDGE_N) - BRIDGE_N
C = DRUG_CODE
UNMAPPED_BASE = 1000  # codes >= this are unmapped names
STEROID_CODES = np.array([DRUG_CODE[d] for d in STEROIDS])


def _line_cumsum(flag: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Cumulative count of ``flag`` before each owner's first row (rows grouped by owner)."""
    total = np.cumsum(flag)
    start = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    before = np.r_[0, total][start]
    return np.repeat(before, np.diff(np.r_[start, owner.size]))


def _rows(line, code, start, end) -> dict[str, np.ndarray]:
    n = np.size(line)
    return {
        "line": np.broadcast_to(line, n).astype(np.int64),
        "code": np.broadcast_to(code, n).astype(np.int64),
        "start": np.asarray(start, np.int64),
        "end": np.asarray(end, np.int64),
    }


def _concat(parts: list[dict]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def drug_stop(rng: np.random.Generator, lines: dict) -> np.ndarray:
    """Last day of a line's continuous drugs (``NULL`` = ongoing at the end of follow-up)."""
    n = lines["line"].size
    p, nxt, death = lines["progression"], lines["next"], lines["death"]
    prog = lines["event"] == PROGRESSION
    limit = np.minimum(np.where(nxt < NEVER, nxt - 1, NEVER), np.where(death < NEVER, death, NEVER))
    limit = np.minimum(limit, lines["stop"])
    after_p = np.minimum(p + rng.integers(0, 15, n), limit)
    at_death = np.maximum(death - rng.integers(0, 21, n), lines["start"])
    return np.where(prog, after_p, np.where(death < NEVER, at_death, NULL))


def build_treatments(rng: np.random.Generator, lines: dict, censor_day: np.ndarray) -> dict:
    """Treatment rows of a block: line row (-1 supportive), drug code, start, end (-1 = none)."""
    stop = drug_stop(rng, lines)
    start, index, reg = lines["start"], lines["index"], lines["regimen"]
    transplant = lines["asct"] < NEVER
    asct_done = transplant & (lines["asct"] <= lines["stop"])
    # regimen drugs (not CAR-T products: those are added below with the CAR-T steps)
    counts = np.where(lines["car_t"], 0, REG_N[reg])
    own, pos = ragged(counts)
    code = REG_FLAT[REG_FIRST[reg[own]] + pos - 1]
    # the line opens with a drug not given in the previous line (its first such drug starts on
    # the line's start day; rule 2); other drugs may follow 1-5 days later
    new = ((lines["prev_mask"][own] >> code.astype(np.uint64)) & np.uint64(1)) == 0
    new &= ~np.isin(code, STEROID_CODES)
    new |= (lines["pattern"][own] == RETREATMENT) & ~np.isin(code, STEROID_CODES)
    first_new = new & (np.cumsum(new) - _line_cumsum(new, own) == 1)
    late = (rng.random(own.size) < 0.2) & (code != C["dexamethasone"]) & ~first_new
    s = np.minimum(start[own] + np.where(late, rng.integers(1, 6, own.size), 0), lines["stop"][own])
    e = stop[own]
    fixed_end = np.where(lines["fixed"][own], lines["tx_end"][own], NEVER)
    e = np.where((e == NULL) & (fixed_end < censor_day[lines["pat"][own]]), fixed_end, e)
    e = np.where(e == NULL, NULL, np.minimum(e, fixed_end))
    induction_end = lines["asct"][own] - rng.integers(21, 36, own.size)
    e = np.where(asct_done[own], induction_end, e)
    early = np.where(
        (code == C["bortezomib"]) & ~lines["fixed"][own] & (rng.random(own.size) < 0.6),
        s + rng.integers(168, 401, own.size),
        NEVER,
    )
    early = np.where(
        (code == C["dexamethasone"]) & (rng.random(own.size) < 0.35),
        s + rng.integers(90, 541, own.size),
        early,
    )
    e = np.where((early < NEVER) & ((e == NULL) | (early < e)), early, e)
    e = np.where(e == NULL, NULL, np.maximum(e, s))
    ok = s <= lines["stop"][own]
    # add-on (D-Rd after Rd): lenalidomide of the Rd line continues through the D-Rd line
    add_on = lines["pattern"] == ADD_ON
    is_len = code == C["lenalidomide"]
    ok &= ~(add_on[own] & is_len)
    carry = np.zeros(add_on.size, np.int64)
    carry[np.flatnonzero(add_on) - 1] = stop[add_on]
    continues = np.zeros(add_on.size, bool)
    continues[np.flatnonzero(add_on) - 1] = True
    e = np.where(continues[own] & is_len, carry[own], e)
    core = _rows(own[ok], code[ok], s[ok], e[ok])
    parts = [_split_dex(rng, core, lines)]
    # transplant: mobilisation, conditioning, ASCT, maintenance
    t = np.flatnonzero(asct_done)
    a = lines["asct"][t]
    mob = t[lines["mobilisation"][t]]
    mob_day = lines["asct"][mob] - rng.integers(25, 36, mob.size)
    gcsf = lines["asct"][t] - rng.integers(20, 31, t.size)
    mel = a - rng.integers(1, 3, t.size)
    parts += [
        _rows(mob, C["cyclophosphamide"], mob_day, mob_day + 1),
        _rows(t, C["filgrastim"], gcsf, gcsf + 5),
        _rows(t, C["melphalan"], mel, mel),
        _rows(t, C["autologous stem cell transplant"], a, a),
    ]
    m = t[
        (lines["maint"][t] <= lines["stop"][t])
        & ((stop[t] == NULL) | (lines["maint"][t] <= stop[t]))
    ]
    parts.append(_rows(m, C["lenalidomide"], lines["maint"][m], stop[m]))
    # CAR-T: leukapheresis, bridging, lymphodepletion, infusion
    ct = np.flatnonzero(lines["car_t"])
    inf = index[ct]
    product = REG_FLAT[REG_FIRST[reg[ct]]]
    b_own, b_pos = ragged(BRIDGE_N[lines["bridge"][ct]])
    b_code = BRIDGE_FLAT[BRIDGE_FIRST[lines["bridge"][ct[b_own]]] + b_pos - 1]
    b_start = start[ct[b_own]] + rng.integers(3, 11, b_own.size)
    b_end = np.maximum(inf[b_own] - rng.integers(7, 15, b_own.size), b_start)
    parts += [
        _rows(ct, C["leukapheresis"], start[ct], start[ct]),
        _rows(ct[b_own], b_code, b_start, b_end),
        _rows(ct, C["fludarabine"], inf - 5, inf - 3),
        _rows(ct, C["cyclophosphamide"], inf - 5, inf - 3),
        _rows(ct, product, inf, inf),
    ]
    parts.append(_supportive(rng, lines, stop, censor_day))
    rows = _concat(parts)
    return _mess(rng, rows)


def _split_dex(rng: np.random.Generator, rows: dict, lines: dict) -> dict:
    """Pause and restart 25 % of long dexamethasone records (14-45 days off)."""
    end_eff = np.where(rows["end"] == NULL, lines["stop"][rows["line"]], rows["end"])
    long = (rows["code"] == C["dexamethasone"]) & (end_eff - rows["start"] > 150)
    pick = np.flatnonzero(long & (rng.random(long.size) < 0.25))
    mid = (
        rows["start"][pick]
        + 60
        + (rng.random(pick.size) * (end_eff[pick] - rows["start"][pick] - 120)).astype(np.int64)
    )
    pause = rng.integers(14, 46, pick.size)
    first_end = mid.copy()
    second = _rows(rows["line"][pick], rows["code"][pick], mid + pause, rows["end"][pick])
    second["end"] = np.where(
        second["end"] == NULL, NULL, np.maximum(second["end"], second["start"])
    )
    rows = {k: v.copy() for k, v in rows.items()}
    rows["end"][pick] = first_end
    return _concat([rows, second])


def _supportive(rng, lines, stop, censor_day) -> dict:
    pat = lines["pat"]
    first = np.flatnonzero(lines["line"] == 1)
    last_day = np.full(censor_day.size, 0, np.int64)
    np.maximum.at(last_day, pat, np.minimum(lines["stop"], censor_day[pat]))
    u = rng.random(first.size)
    bone = np.where(u < 0.75, C["zoledronic acid"], C["denosumab"])
    has = u < 0.9
    b_start = lines["start"][first] + rng.integers(0, 61, first.size)
    b_end = b_start + rng.integers(365, 1101, first.size)
    limit = last_day[pat[first]]
    keep = has & (b_start <= limit)
    b_end = np.where(b_end <= limit, b_end, np.where(lines["patient_dead"][first], limit, NULL))
    parts = [_rows(-1 - pat[first][keep], bone[keep], b_start[keep], b_end[keep])]
    mask = cat.MASK[lines["regimen"]]
    antiviral = ((mask & (cat.PI_MASK | cat.CD38_MASK)) != 0) | lines["car_t"] | lines["fast"]
    av = np.flatnonzero(antiviral & (rng.random(antiviral.size) < 0.7))
    parts.append(_rows(-1 - pat[av], C["acyclovir"], lines["start"][av], stop[av]))
    g = np.flatnonzero(rng.random(pat.size) < 0.08)
    g_start = lines["index"][g] + rng.integers(20, 91, g.size)
    ok = g_start + 7 <= lines["stop"][g]
    g, g_start = g[ok], g_start[ok]
    parts.append(_rows(-1 - pat[g], C["filgrastim"], g_start, g_start + rng.integers(3, 8, g.size)))
    un = first[rng.random(first.size) < 0.03]
    u_start = lines["start"][un] + rng.integers(30, 400, un.size)
    u_end = u_start + rng.integers(10, 200, un.size)
    lim = last_day[pat[un]]
    ok = u_start <= lim
    u_end = np.where(u_end <= lim, u_end, NULL)
    u_code = UNMAPPED_BASE + rng.integers(0, len(UNMAPPED_DRUG_NAMES), un.size)
    parts.append(_rows(-1 - pat[un][ok], u_code[ok], u_start[ok], u_end[ok]))
    return _concat(parts)


def _mess(rng: np.random.Generator, rows: dict) -> dict:
    """Duplicate 1 % of therapy rows; split 1 % of long ones into two overlapping records."""
    therapy = rows["line"] >= 0
    dup = np.flatnonzero(therapy & (rng.random(therapy.size) < 0.01))
    long = therapy & (rows["end"] != NULL) & (rows["end"] - rows["start"] > 60)
    split = np.flatnonzero(long & (rng.random(therapy.size) < 0.01))
    mid = (rows["start"][split] + rows["end"][split]) // 2
    second = {k: v[split].copy() for k, v in rows.items()}
    second["start"] = mid
    out = {k: v.copy() for k, v in rows.items()}
    out["end"][split] = mid + 10
    return _concat([out, {k: v[dup] for k, v in rows.items()}, second])
