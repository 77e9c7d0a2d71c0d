"""M-protein values at every visit, built so that IMWG rules read the intended course.

For each disease-defining component (serum M g/dL, urine M mg/24h, dFLC mg/L) and line:

- baseline ``B`` = the value at the last visit before the line's index date;
- on the way to and at the plateau the value is ``B × (1 − depth)`` (urine PR/VGPR: an absolute
  level), depth drawn inside the intended category's range with margins wide enough that ±4 %
  measurement noise never moves a value across an IMWG threshold;
- regrowth visits rise by at most 0.45 × the IMWG absolute PD increase (0.5 g/dL, 200 mg/24h,
  100 mg/L) above the plateau, so no PD is met before the intended progression;
- at the progression visit the value is 12-25 % above ``max(1.25 × nadir, nadir + increase)``,
  the nadir computed as IMWG defines it (lowest value held at two consecutive assessments, or
  the baseline if lower), and at least measurable for the next line (serum 1.15 g/dL, urine
  750 mg/24h, dFLC 160 mg/L); later values keep rising.
"""

from __future__ import annotations

import numpy as np

from mmrwe.simulate.visits import DIAG, PLATEAU, POST, PRE_INDEX, PROG, REGROWTH

#: relative depth ranges per category (PD, SD, MR, PR, VGPR, CR, sCR)
SERUM_DEPTH = np.array(
    [[0, 0.10], [0, 0.15], [0.33, 0.45], [0.58, 0.85], [0.92, 0.97], [1, 1], [1, 1]]
)
FLC_DEPTH = np.array(
    [[0, 0.10], [0.05, 0.35], [0.05, 0.35], [0.58, 0.85], [0.92, 0.97], [1, 1], [1, 1]]
)
URINE_DEPTH = np.array([[0, 0.10], [0, 0.35], [0.55, 0.60], [0, 0], [0, 0], [1, 1], [1, 1]])
URINE_ABSOLUTE = {3: (110.0, 180.0), 4: (10.0, 80.0)}  # urine PR / VGPR levels, mg/24h
INCREASE = {"serum": 0.5, "urine": 200.0, "flc": 100.0}
MEASURABLE_NEXT = {"serum": 1.15, "urine": 750.0, "flc": 160.0}
DEPTHS = {"serum": SERUM_DEPTH, "urine": URINE_DEPTH, "flc": FLC_DEPTH}


def noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """Multiplicative measurement noise, SD 2 %, truncated at ±4 %."""
    return 1.0 + np.clip(rng.normal(0.0, 0.02, n), -0.04, 0.04)


def component_values(
    rng: np.random.Generator,
    comp: str,
    lines: dict,
    v: dict,
    diag_value: np.ndarray,
) -> np.ndarray:
    """Observed values of one component at every visit (all patients; caller masks by type)."""
    n_lines = lines["line"].size
    r, phase = v["row"], v["phase"]
    val = np.zeros(r.size)
    u_depth = rng.random(n_lines)
    growth = rng.uniform(1.05, 1.2, n_lines)
    jump = rng.uniform(1.12, 1.25, n_lines)
    bridge_rise = rng.uniform(1.0, 1.08, n_lines)
    last = np.zeros(diag_value.size)  # last observed value per patient
    pat = lines["pat"]
    depth_table = DEPTHS[comp]
    a = INCREASE[comp]
    for line in range(1, int(lines["line"].max()) + 1):
        rows = np.flatnonzero(lines["line"] == line)
        sel = np.flatnonzero(lines["line"][r] == line)
        vr, vp = r[sel], phase[sel]
        base = np.where(line == 1, diag_value[pat[vr]], last[pat[vr]])
        pre_index = vp == PRE_INDEX
        val[sel[pre_index]] = base[pre_index] * bridge_rise[vr[pre_index]]
        base = np.where(lines["car_t"][vr], base * bridge_rise[vr], base)
        diag = vp == DIAG
        val[sel[diag]] = base[diag]
        # plateau: intended category's depth
        cat = np.maximum(v["category"][sel], 0)
        plateau = vp == PLATEAU
        lo, hi = depth_table[cat, 0], depth_table[cat, 1]
        value = base * (1 - (lo + u_depth[vr] * (hi - lo)))
        if comp == "urine":
            for c, (alo, ahi) in URINE_ABSOLUTE.items():
                value = np.where(cat == c, alo + u_depth[vr] * (ahi - alo), value)
        value = value * noise(rng, sel.size)
        val[sel[plateau]] = value[plateau]
        # regrowth: plateau level plus a sub-threshold rise
        cs = lines["c_eff"][vr]
        cs_lo, cs_hi = depth_table[cs, 0], depth_table[cs, 1]
        nadir = base * (1 - (cs_lo + u_depth[vr] * (cs_hi - cs_lo)))
        if comp == "urine":
            for c, (alo, ahi) in URINE_ABSOLUTE.items():
                nadir = np.where(cs == c, alo + u_depth[vr] * (ahi - alo), nadir)
        regrow = vp == REGROWTH
        step = v["k"][sel] - (lines["k_p"][vr] - lines["regrowth"][vr]) + 1
        frac = step / np.maximum(lines["regrowth"][vr], 1)
        val[sel[regrow]] = (nadir * noise(rng, sel.size) + 0.45 * a * frac)[regrow]
        # IMWG nadir over the pre-progression visits of each line
        pre = plateau | regrow
        x = val[sel]
        pm = np.full(sel.size, np.inf)
        same = np.zeros(sel.size, bool)
        same[1:] = pre[1:] & pre[:-1] & (vr[1:] == vr[:-1])
        pm[1:] = np.where(same[1:], np.maximum(x[1:], x[:-1]), np.inf)
        low = np.full(n_lines, np.inf)
        np.minimum.at(low, vr, pm)
        base_line = np.full(n_lines, np.inf)
        base_line[vr] = base
        low = np.minimum(low, base_line)
        # progression and after
        p = vp == PROG
        level = np.maximum(1.25 * low[vr], low[vr] + a) * jump[vr]
        level = np.maximum(level, MEASURABLE_NEXT[comp])
        val[sel[p]] = level[p]
        post = vp == POST
        j = v["k"][sel] - lines["k_p"][vr]
        val[sel[post]] = (level * growth[vr] ** j)[post]
        # remember the last value of each patient for the next line's baseline
        order_last = np.zeros(n_lines, np.int64) - 1
        np.maximum.at(order_last, vr, np.arange(sel.size))
        has = order_last[rows] >= 0
        last[pat[rows[has]]] = val[sel[order_last[rows[has]]]]
    return np.where(np.isfinite(val), val, 0.0)
