"""Assessment visits of every line and the intended response category at each.

Visits: the diagnosis (line 1's baseline); for a CAR-T line one visit 1-5 days before the
infusion (its baseline); scheduled visits every 28 days from the index date while on treatment
and every 91 days off it (±3 days); the progression visit; after progression one confirming
visit before the next line (or visits every 28 days until death or the end of follow-up).
About 6 % of plateau visits are missed, and visits around an ASCT are not held.

Intended response path: the line reaches its intended category at visit ``k_n`` (earlier visits
pass through lower categories) and holds it; the last 0-2 visits before progression show
regrowth (category unknown, ``-1``). Without a marrow result a CR cannot be confirmed, so CR-level
visits count as VGPR; MR is not defined for FLC-only disease (counts as SD).
"""

from __future__ import annotations

import numpy as np

from mmrwe.simulate.journeys import CR, MR, PD, PROGRESSION, SD, VGPR, grid_day

DIAG, PRE_INDEX, PLATEAU, REGROWTH, PROG, POST = range(6)


def ragged(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(owner index, 1-based position) for ``counts[i]`` items per owner."""
    owner = np.repeat(np.arange(counts.size), counts)
    first = np.cumsum(counts) - counts
    return owner, np.arange(owner.size) - first[owner] + 1


def plan_response(rng: np.random.Generator, lines: dict, flc_only: np.ndarray) -> None:
    """Add ``k_n`` (visits to nadir), ``regrowth`` and ``marrow`` (CR documented) to ``lines``."""
    n = lines["line"].size
    c = lines["cstar"]
    lo = np.select([c <= MR, c <= 3, c == VGPR], [1, 1, 2], 3)
    hi = np.select([c <= SD, c == MR, c == 3, c == VGPR], [1, 2, 3, 4], 5)
    k_n = lo + np.floor(rng.random(n) * (hi - lo + 1)).astype(np.int64)
    k_n = np.where(lines["fast"], np.minimum(k_n, 2), k_n)
    prog = lines["event"] == PROGRESSION
    room = lines["k_p"] - 1 - (k_n + 1)
    regrowth = np.where(prog & (c > PD), np.clip(rng.integers(0, 3, n), 0, np.maximum(room, 0)), 0)
    lines["k_n"] = k_n
    lines["regrowth"] = regrowth
    lines["marrow"] = (c >= CR) & (rng.random(n) < 0.7)
    lines["flc_only"] = flc_only
    c_eff = np.where((c >= CR) & ~lines["marrow"], VGPR, c)
    lines["c_eff"] = np.where((c_eff == MR) & flc_only, SD, c_eff)


def build_visits(rng: np.random.Generator, lines: dict, diagnosis: np.ndarray) -> dict:
    """All visits, sorted by line row then date: line row, phase, visit number, day, category."""
    idx, k_p, n_on = lines["index"], lines["k_p"], lines["n_on"]
    prog = lines["event"] == PROGRESSION
    has_next = lines["next"] < 10**9
    stop = lines["stop"]
    # scheduled visits before progression (or up to the end of the line)
    horizon = stop - idx - 4
    n_sched = np.where(
        prog, k_p - 1, np.maximum(np.where(horizon >= 28, _count(horizon, n_on), 0), 0)
    )
    own, k = ragged(n_sched)
    day = idx[own] + grid_day(k, n_on[own]) + rng.integers(-3, 4, own.size)
    phase = np.where(k >= k_p[own] - lines["regrowth"][own], REGROWTH, PLATEAU)
    phase = np.where(prog[own], phase, PLATEAU)
    keep = (k <= lines["k_n"][own] + 1) | (phase == REGROWTH) | (rng.random(own.size) >= 0.06)
    asct = lines["asct"][own]
    nadir_pair = (k >= lines["k_n"][own]) & (k <= lines["k_n"][own] + 1)
    keep &= ~((day >= asct - 7) & (day <= asct + 45)) | (phase == REGROWTH) | nadir_pair
    parts = [(own[keep], phase[keep], k[keep], day[keep])]
    # progression visit and what follows it
    p_rows = np.flatnonzero(prog)
    parts.append((p_rows, np.full(p_rows.size, PROG), k_p[p_rows], lines["progression"][p_rows]))
    nx = np.flatnonzero(prog & has_next)
    parts.append(
        (nx, np.full(nx.size, POST), k_p[nx] + 1, lines["next"][nx] - rng.integers(1, 4, nx.size))
    )
    tail = np.flatnonzero(prog & ~has_next)
    first = lines["progression"][tail] + rng.integers(14, 22, tail.size)
    last = np.where(lines["death"][tail] < 10**9, lines["death"][tail] - 1, stop[tail])
    n_tail = np.where(first <= last, 1 + (last - first) // 28, 0)
    t_own, j = ragged(n_tail)
    parts.append(
        (tail[t_own], np.full(t_own.size, POST), k_p[tail[t_own]] + j, first[t_own] + 28 * (j - 1))
    )
    car = np.flatnonzero(lines["car_t"])
    parts.append(
        (
            car,
            np.full(car.size, PRE_INDEX),
            np.zeros(car.size, np.int64),
            idx[car] - rng.integers(1, 6, car.size),
        )
    )
    first_line = np.flatnonzero(lines["line"] == 1)
    parts.append(
        (first_line, np.full(first_line.size, DIAG), np.full(first_line.size, -1),
         diagnosis[lines["pat"][first_line]])
    )  # fmt: skip
    row = np.concatenate([p[0] for p in parts])
    ph = np.concatenate([p[1] for p in parts])
    kk = np.concatenate([p[2] for p in parts])
    dd = np.concatenate([p[3] for p in parts])
    order = np.lexsort((dd, row))
    v = {"row": row[order], "phase": ph[order], "k": kk[order], "day": dd[order]}
    v["category"] = _path_category(lines, v)
    return v


def _count(t: np.ndarray, n_on: np.ndarray) -> np.ndarray:
    on = np.floor(t / 28.0)
    off = n_on + np.floor((t - 28.0 * n_on) / 91.0)
    return np.where(t < 28.0 * n_on, on, off).astype(np.int64)


def _path_category(lines: dict, v: dict) -> np.ndarray:
    """Intended category at each plateau visit (-1 elsewhere)."""
    r = v["row"]
    c, k_n, k = lines["c_eff"][r], lines["k_n"][r], v["k"]
    path = np.where(k >= k_n, c, np.minimum(np.ceil(c * k / np.maximum(k_n, 1)), VGPR))
    path = np.maximum(path, SD).astype(np.int64)
    path = np.where(c == PD, SD, path)
    path = np.where((path == MR) & lines["flc_only"][r], SD, path)
    return np.where(v["phase"] == PLATEAU, path, -1)


def best_response(lines: dict, v: dict) -> tuple[np.ndarray, np.ndarray]:
    """Intended best confirmed response per line and the first ≥ PR date (-1 if none).

    Best = the highest category held at two consecutive assessments before progression; a line
    without such a pair is PD when it progressed and NE otherwise (coded -1).
    """
    n = lines["line"].size
    r, cat, day = v["row"], v["category"], v["day"]
    pre = (v["phase"] == PLATEAU) | (v["phase"] == REGROWTH)
    pair = np.zeros(r.size, bool)
    pair[1:] = pre[1:] & pre[:-1] & (r[1:] == r[:-1])
    pmin = np.full(r.size, -9)
    pmin[1:] = np.minimum(cat[1:], cat[:-1])
    best = np.full(n, -9)
    np.maximum.at(best, r[pair], pmin[pair])
    prog = lines["event"] == PROGRESSION
    best = np.where(best >= 0, best, np.where(prog, PD, -1))
    first = np.full(n, 10**9)
    ok = pair & (pmin >= 3)
    prev_day = np.zeros(r.size, np.int64)
    prev_day[1:] = day[:-1]
    np.minimum.at(first, r[ok], prev_day[ok])
    return best, np.where(first < 10**9, first, -1)
