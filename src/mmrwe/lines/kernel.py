"""The line-opening state machine over patient-sorted exposure arrays (compiled with Numba).

Only the *starts* of lines are decided here; which line each exposure day belongs to follows from
the starts (rule 9) and is computed column-wise in :mod:`mmrwe.lines.derive`. Inputs are one row
per exposure, sorted by patient, start day, :data:`KIND_ORDER` and drug; days are integers (days
since 1970-01-01), end days already filled (ongoing = last contact; ASCT and CAR-T = start).
"""

from __future__ import annotations

import numpy as np
from numba import njit

# exposure kinds
THERAPY = 0  # an anti-myeloma drug (counts for rules 1, 2, 4)
ASCT = 1  # autologous stem cell transplant (rule 5)
CAR_T = 2  # CAR-T infusion (rule 6)
LEUKAPHERESIS = 3  # cell collection before CAR-T (rule 6)
PREP = 4  # a non-anti-myeloma mobilisation, conditioning or lymphodepleting drug (G-CSF,
# plerixafor, fludarabine): it matters only before an ASCT or a CAR-T infusion (rules 5 and 6)

# rules that open a line (codes written to ``start_rule_code``)
RULE_FIRST = 0  # the first anti-myeloma therapy
RULE_NEW_DRUG = 2  # a drug not in the line started after the regimen window
RULE_GAP = 4  # a start more than gap_days after all exposures ended
RULE_ASCT = 5  # an ASCT beyond the transplant window
RULE_ASCT_PREP = 51  # conditioning/mobilisation of an ASCT beyond the transplant window
RULE_CAR_T = 6  # a CAR-T product

# how a CAR-T line's start was set (``start_detail``)
CAR_T_AT_INFUSION = 0
CAR_T_AT_LEUKAPHERESIS = 1
CAR_T_AT_BRIDGING = 2


@njit(cache=True)
def open_lines(
    bounds: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    episode_start: np.ndarray,
    drug: np.ndarray,
    kind: np.ndarray,
    is_conditioning: np.ndarray,
    is_mobilisation: np.ndarray,
    is_lymphodepletion: np.ndarray,
    n_drugs: int,
    regimen_window: int,
    gap_days: int,
    asct_window: int,
    conditioning_days: int,
    mobilisation_days: int,
    maintenance_window: int,
    bridging_window: int,
    lymphodepletion_days: int,
    leukapheresis_window: int,
) -> tuple[np.ndarray, ...]:
    """Decide the line starts of every patient.

    ``bounds[p]:bounds[p+1]`` are patient ``p``'s rows. ``episode_start`` is the start of the
    row's episode of the same drug (records of one drug less than ``gap_days`` apart, such as one
    record per cycle): bridging and mobilisation are judged on when a drug was first started, not
    on its latest cycle record. Returns arrays, one element per line:
    patient index, start day, rule code, trigger row, rule value (days), CAR-T infusion row (-1),
    CAR-T start detail; and per row the role tag (0 none, 1 conditioning/mobilisation, 2
    lymphodepletion, 3 bridging) and the anchor day that places the row in a line (its start,
    or for lymphodepletion the infusion it prepares: it belongs to the CAR-T line without moving
    that line's start).
    """
    n = start.shape[0]
    out_patient = np.empty(n, np.int64)
    out_start = np.empty(n, np.int64)
    out_rule = np.empty(n, np.int64)
    out_trigger = np.empty(n, np.int64)
    out_value = np.empty(n, np.int64)
    out_infusion = np.empty(n, np.int64)
    out_detail = np.empty(n, np.int64)
    tag = np.zeros(n, np.int64)
    anchor = start.astype(np.int64)
    in_line = np.zeros(n_drugs, np.bool_)
    n_lines = 0
    for p in range(bounds.shape[0] - 1):
        lo = bounds[p]
        hi = bounds[p + 1]
        # --- rule 6: the span of each CAR-T line before its infusion --------------------------
        car_start = np.full(hi - lo, -1, np.int64)  # per CAR-T row: its line's start day
        car_detail = np.zeros(hi - lo, np.int64)
        car_rows = np.empty(hi - lo, np.int64)
        n_car = 0
        n_asct = 0
        for i in range(lo, hi):
            if kind[i] == CAR_T:
                if n_car > 0:
                    prev = car_rows[n_car - 1]
                    if drug[prev] == drug[i] and start[i] - start[prev] <= regimen_window:
                        continue  # the same product recorded again: part of the open CAR-T line
                car_rows[n_car] = i
                n_car += 1
            elif kind[i] == ASCT:
                n_asct += 1
        previous_infusion = -(10**9)
        for ci in range(n_car):
            i = car_rows[ci]
            inf = start[i]
            s = inf
            detail = CAR_T_AT_INFUSION
            for j in range(lo, hi):
                sj = start[j]
                if sj > inf or sj <= previous_infusion:
                    continue
                if kind[j] == LEUKAPHERESIS and sj >= inf - leukapheresis_window:
                    if sj < s:
                        s = sj
                        detail = CAR_T_AT_LEUKAPHERESIS
                elif (kind[j] == THERAPY or kind[j] == PREP) and sj < inf:
                    lymph = is_lymphodepletion[j] and sj >= inf - lymphodepletion_days
                    if lymph:
                        tag[j] = 2
                        anchor[j] = inf
                    elif kind[j] == THERAPY and episode_start[j] >= inf - bridging_window:
                        tag[j] = 3
                        if sj < s:
                            s = sj
                            detail = CAR_T_AT_BRIDGING
            car_start[i - lo] = s
            car_detail[i - lo] = detail
            previous_infusion = inf
        # --- rule 5: conditioning and mobilisation attached to the ASCT they precede ----------
        prep_for = np.full(hi - lo, -1, np.int64)  # the ASCT day a row prepares, or -1
        for j in range(lo, hi):
            if n_asct == 0 or (kind[j] != THERAPY and kind[j] != PREP) or tag[j] != 0:
                continue
            if not (is_conditioning[j] or is_mobilisation[j]):
                continue
            for a in range(lo, hi):
                if kind[a] != ASCT or start[a] < start[j]:
                    continue
                days = start[a] - episode_start[j]
                if (is_conditioning[j] and days <= conditioning_days) or (
                    is_mobilisation[j] and days <= mobilisation_days
                ):
                    prep_for[j - lo] = start[a]
                    tag[j] = 1
                    break
        # --- the sequential pass ----------------------------------------------------------------
        have_line = False
        line_start = 0
        last_asct = -1
        car_infusion = -1  # infusion day of the current CAR-T line, -1 if not a CAR-T line
        max_end = -(10**9)
        for i in range(lo, hi):
            k = kind[i]
            si = start[i]
            if tag[i] == 2:
                continue  # lymphodepletion belongs to its CAR-T line and opens nothing
            if k == PREP and tag[i] != 1:
                continue  # G-CSF or plerixafor not before an ASCT: supportive care
            opened = False
            rule = -1
            value = 0
            # CAR-T spans take precedence over every other rule (rule 7: 6 over 5 over 4 over 2)
            car_row = -1
            new_start = si
            for ci in range(n_car):
                c = car_rows[ci]
                if car_start[c - lo] <= si <= start[c]:
                    if car_infusion != start[c]:
                        car_row = c
                    else:
                        car_row = -2  # inside the CAR-T line already open
                    break
            if car_row >= 0:
                opened = True
                rule = RULE_CAR_T
                value = start[car_row] - car_start[car_row - lo]
                new_start = car_start[car_row - lo]
            elif car_row == -2:
                pass
            elif k == LEUKAPHERESIS:
                continue  # a collection not followed by an infusion is not therapy
            elif not have_line:
                opened = True
                rule = RULE_FIRST
                new_start = si
            elif k == ASCT:
                if si - line_start > asct_window:
                    opened = True
                    rule = RULE_ASCT
                    value = si - line_start
                    new_start = si
            elif prep_for[i - lo] >= 0:
                if prep_for[i - lo] - line_start > asct_window:
                    opened = True
                    rule = RULE_ASCT_PREP
                    value = prep_for[i - lo] - line_start
                    new_start = si
            elif last_asct >= 0 and si - last_asct <= maintenance_window:
                pass  # consolidation / maintenance after ASCT (rule 5 over 4 and 2)
            elif si - max_end > gap_days:
                opened = True
                rule = RULE_GAP
                value = si - max_end
                new_start = si
            elif si - line_start <= regimen_window:
                pass
            elif in_line[drug[i]]:
                pass
            elif car_infusion >= 0 and si <= car_infusion:
                pass
            else:
                opened = True
                rule = RULE_NEW_DRUG
                value = si - line_start
                new_start = si
            if opened:
                in_line[:] = False
                out_patient[n_lines] = p
                out_start[n_lines] = new_start
                out_rule[n_lines] = rule
                out_trigger[n_lines] = i if car_row < 0 else car_row
                out_value[n_lines] = value
                out_infusion[n_lines] = car_row if car_row >= 0 else -1
                out_detail[n_lines] = car_detail[car_row - lo] if car_row >= 0 else 0
                n_lines += 1
                have_line = True
                line_start = new_start
                last_asct = -1
                car_infusion = start[car_row] if car_row >= 0 else -1
                # rule 1: drugs active on the start day join the new line's regimen
                for j in range(lo, i):
                    if kind[j] == THERAPY and end[j] >= new_start:
                        in_line[drug[j]] = True
            if k == ASCT:
                last_asct = si
            if k == THERAPY or k == ASCT or k == CAR_T:  # PREP drugs are not myeloma therapy
                in_line[drug[i]] = True
                if end[i] > max_end:
                    max_end = end[i]
    return (
        out_patient[:n_lines],
        out_start[:n_lines],
        out_rule[:n_lines],
        out_trigger[:n_lines],
        out_value[:n_lines],
        out_infusion[:n_lines],
        out_detail[:n_lines],
        tag,
        anchor,
    )


@njit(cache=True)
def episode_starts(
    new_group: np.ndarray, start: np.ndarray, end: np.ndarray, gap_days: int
) -> np.ndarray:
    """Start day of each record's episode: rows sorted by patient, drug and start; a record more
    than ``gap_days`` after every earlier record of its group ended begins a new episode."""
    n = start.shape[0]
    out = np.empty(n, np.int64)
    episode = 0
    latest_end = 0
    for i in range(n):
        if new_group[i] or start[i] - latest_end > gap_days:
            episode = start[i]
            latest_end = end[i]
        elif end[i] > latest_end:
            latest_end = end[i]
        out[i] = episode
    return out
