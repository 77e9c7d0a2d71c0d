"""The line-opening state machine over patient-sorted exposure arrays (compiled with Numba).

Only the *starts* of lines are decided here; which line each exposure day belongs to follows from
the starts (rule 9) and is computed by :func:`mmrwe.lines.line_kernel.split_exposures`. Inputs are one row
per exposure, sorted by patient, start day, kind and drug; days are integers (days since
1970-01-01), end days already filled (ongoing = last contact; ASCT and CAR-T = start).

:func:`open_lines` calls :func:`sequential_pass` per patient, which runs these phases in order:

1. :func:`car_t_products` and :func:`car_t_spans` (rule 6): the span of each CAR-T line before
   its infusion, its lymphodepletion and bridging;
2. :func:`transplant_preparation` (rule 5): conditioning and mobilisation attached to the ASCT
   they precede;
3. :func:`sequential_pass`: the rows in date order, each judged by :func:`opening_rule` (rules 1,
   2, 4, 5, 7) unless it falls in a CAR-T span (rule 6 over every other rule). Rule 5 keeps
   consolidation and maintenance in the transplant line unless a documented progression
   (:class:`KernelProgression`) falls between the ASCT and the drug's start.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from mmrwe.lines.rules import LineRules

# exposure kinds
THERAPY = 0  # an anti-myeloma drug (counts for rules 1, 2, 4)
ASCT = 1  # autologous stem cell transplant (rule 5)
CAR_T = 2  # CAR-T infusion (rule 6)
LEUKAPHERESIS = 3  # cell collection before CAR-T (rule 6)
PREP = 4  # a non-anti-myeloma mobilisation, conditioning or lymphodepleting drug (G-CSF,
# plerixafor, fludarabine): it matters only before an ASCT or a CAR-T infusion (rules 5 and 6)
STEROID = -1  # a steroid: listed in the line it falls in, never opens or closes one (rule 3);
# not an input of this kernel

# rules that open a line (codes written to ``start_rule_code``)
RULE_FIRST = 0  # the first anti-myeloma therapy
RULE_NEW_DRUG = 2  # a drug not in the line started after the regimen window
RULE_GAP = 4  # a start more than gap_days after all exposures ended
RULE_ASCT = 5  # an ASCT beyond the transplant window
RULE_ASCT_PREP = 51  # conditioning/mobilisation of an ASCT beyond the transplant window
RULE_CAR_T = 6  # a CAR-T product
# what :func:`opening_rule` answers for a row that opens no line
STAYS = -1  # the row belongs to the open line
SKIPPED = -2  # the row is not therapy for the sequence (it neither opens nor extends a line)

# how a CAR-T line's start was set (``start_detail``)
CAR_T_AT_INFUSION = 0
CAR_T_AT_LEUKAPHERESIS = 1
CAR_T_AT_BRIDGING = 2

# the role of an exposure in its line (``line_exposures.role``)
ROLE_NONE = 0  # ordinary therapy
ROLE_TRANSPLANT_PREP = 1  # conditioning or mobilisation of an ASCT (rule 5)
ROLE_LYMPHODEPLETION = 2  # lymphodepletion of a CAR-T infusion (rule 6)
ROLE_BRIDGING = 3  # bridging therapy before a CAR-T infusion (rule 6)

NO_ROW = -1  # no row (no CAR-T infusion, no prepared ASCT)
IN_OPEN_CAR_T = -2  # a row inside the CAR-T line already open
NEVER = -(10**9)  # a day before every real day


class KernelRules(NamedTuple):
    """The rule settings of :class:`~mmrwe.lines.rules.LineRules` the kernel uses, in days."""

    regimen_window: int  # rule 1: regimen_window_days
    gap_days: int  # rule 4: gap_days
    asct_window: int  # rule 5: asct_window_days
    conditioning_days: int  # rule 5: conditioning_days
    mobilisation_days: int  # rule 5: mobilisation_days
    maintenance_window: int  # rule 5: maintenance_window_days
    bridging_window: int  # rule 6: bridging_window_days
    lymphodepletion_days: int  # rule 6: lymphodepletion_days
    leukapheresis_window: int  # rule 6: leukapheresis_window_days

    @classmethod
    def from_rules(cls, rules: LineRules) -> KernelRules:
        """The kernel's settings from the stage's configuration (the one place they are read)."""
        return cls(
            regimen_window=rules.regimen_window_days,
            gap_days=rules.gap_days,
            asct_window=rules.asct_window_days,
            conditioning_days=rules.conditioning_days,
            mobilisation_days=rules.mobilisation_days,
            maintenance_window=rules.maintenance_window_days,
            bridging_window=rules.bridging_window_days,
            lymphodepletion_days=rules.lymphodepletion_days,
            leukapheresis_window=rules.leukapheresis_window_days,
        )


class KernelExposures(NamedTuple):
    """One row per exposure, sorted by patient, start, kind and drug; patient ``p``'s rows are
    ``bounds[p]:bounds[p+1]``. Days are int64 days since 1970-01-01."""

    bounds: np.ndarray  # int64, one more than the number of patients
    start: np.ndarray  # int64 start day
    end: np.ndarray  # int64 end day (filled)
    episode_start: np.ndarray  # int64 start of the row's episode of the same drug
    drug: np.ndarray  # int64 drug code, 0 .. n_drugs - 1
    kind: np.ndarray  # int64: THERAPY, ASCT, CAR_T, LEUKAPHERESIS or PREP
    is_conditioning: np.ndarray  # bool (rule 5)
    is_mobilisation: np.ndarray  # bool (rule 5)
    is_lymphodepletion: np.ndarray  # bool (rule 6)
    n_drugs: int


class KernelProgression(NamedTuple):
    """Documented progression (recorded or lab PD) of each patient: patient ``p``'s days are
    ``day[first[p]:stop[p]]``, sorted (``p`` as in :attr:`KernelExposures.bounds`)."""

    first: np.ndarray  # int64, one per patient
    stop: np.ndarray  # int64, one per patient
    day: np.ndarray  # int64 progression days


class OpenLine(NamedTuple):
    """The state of :func:`sequential_pass` (days; NEVER when there is none)."""

    start: int  # the open line's start (NEVER before the patient's first line)
    last_asct: int  # the open line's latest ASCT
    car_infusion: int  # the open CAR-T line's infusion
    max_end: int  # the latest end of all the patient's anti-myeloma exposures so far


class LineStarts(NamedTuple):
    """What :func:`open_lines` decides: per line (the first eight) and per exposure row."""

    patient: np.ndarray  # the line's patient (index into ``bounds``)
    start: np.ndarray  # the line's start day
    rule: np.ndarray  # the RULE_* code that opened it
    trigger: np.ndarray  # the row that opened it (a CAR-T line: the infusion row)
    value: np.ndarray  # the days the rule measured (printed in ``start_rule``)
    infusion: np.ndarray  # the CAR-T infusion row, or NO_ROW
    detail: np.ndarray  # a CAR-T line: CAR_T_AT_* (what set its start), else 0
    progression: np.ndarray  # the progression that ended the planned sequence (rule 5), or NEVER
    role: np.ndarray  # per row: its ROLE_* code
    anchor: np.ndarray  # per row: the day that places it in a line (rule 9)


@njit(cache=True)
def car_t_products(lo: int, hi: int, ex: KernelExposures, rules: KernelRules):
    """Rule 6: the rows of each distinct CAR-T infusion of rows ``lo:hi`` and their number; the
    same product recorded again within the regimen window is the same infusion."""
    rows = np.empty(hi - lo, np.int64)
    n = 0
    for i in range(lo, hi):
        if ex.kind[i] != CAR_T:
            continue
        if n > 0:
            prev = rows[n - 1]
            if ex.drug[prev] == ex.drug[i] and ex.start[i] - ex.start[prev] <= rules.regimen_window:
                continue  # the same product recorded again: part of the open CAR-T line
        rows[n] = i
        n += 1
    return rows, n


@njit(cache=True)
def car_t_spans(lo, hi, ex: KernelExposures, rules: KernelRules, car_rows, n_car, role, anchor):
    """Rule 6: each CAR-T line's start day and how it was set (CAR_T_AT_*), per CAR-T row
    (indexed ``row - lo``; -1 elsewhere).

    Between the previous infusion and this one, a leukapheresis ≤ ``leukapheresis_window`` days
    before the infusion and bridging therapy (a drug *first started* ≤ ``bridging_window`` days
    before) move the start earlier; lymphodepletion (≤ ``lymphodepletion_days`` before) is tagged
    and anchored at the infusion without moving the start. Sets ``role`` and ``anchor``.
    """
    car_start = np.full(hi - lo, -1, np.int64)
    car_detail = np.zeros(hi - lo, np.int64)
    previous_infusion = NEVER
    for ci in range(n_car):
        i = car_rows[ci]
        inf = ex.start[i]
        s = inf
        detail = CAR_T_AT_INFUSION
        for j in range(lo, hi):
            sj = ex.start[j]
            kj = ex.kind[j]
            if sj > inf or sj <= previous_infusion:
                continue
            if kj == LEUKAPHERESIS and sj >= inf - rules.leukapheresis_window:
                if sj < s:
                    s = sj
                    detail = CAR_T_AT_LEUKAPHERESIS
            elif (kj == THERAPY or kj == PREP) and sj < inf:
                if ex.is_lymphodepletion[j] and sj >= inf - rules.lymphodepletion_days:
                    role[j] = ROLE_LYMPHODEPLETION
                    anchor[j] = inf
                elif kj == THERAPY and ex.episode_start[j] >= inf - rules.bridging_window:
                    role[j] = ROLE_BRIDGING
                    if sj < s:
                        s = sj
                        detail = CAR_T_AT_BRIDGING
        car_start[i - lo] = s
        car_detail[i - lo] = detail
        previous_infusion = inf
    return car_start, car_detail


@njit(cache=True)
def transplant_preparation(lo: int, hi: int, ex: KernelExposures, rules: KernelRules, role):
    """Rule 5: per row (indexed ``row - lo``) the day of the first ASCT on or after it that it
    prepares, or NO_ROW: conditioning whose episode started ≤ ``conditioning_days`` and
    mobilisation ≤ ``mobilisation_days`` before the ASCT. Rows already given a CAR-T role keep
    it. Sets ``role`` to ROLE_TRANSPLANT_PREP."""
    prep_for = np.full(hi - lo, NO_ROW, np.int64)
    has_asct = False
    for a in range(lo, hi):
        has_asct = has_asct or ex.kind[a] == ASCT
    if not has_asct:
        return prep_for
    for j in range(lo, hi):
        kj = ex.kind[j]
        if (kj != THERAPY and kj != PREP) or role[j] != ROLE_NONE:
            continue
        conditioning = ex.is_conditioning[j]
        mobilisation = ex.is_mobilisation[j]
        if not (conditioning or mobilisation):
            continue
        for a in range(lo, hi):
            if ex.kind[a] != ASCT or ex.start[a] < ex.start[j]:
                continue
            days = ex.start[a] - ex.episode_start[j]
            if (conditioning and days <= rules.conditioning_days) or (
                mobilisation and days <= rules.mobilisation_days
            ):
                prep_for[j - lo] = ex.start[a]
                role[j] = ROLE_TRANSPLANT_PREP
                break
    return prep_for


@njit(cache=True)
def car_t_line_of(day, lo, ex: KernelExposures, car_rows, n_car, car_start, car_infusion):
    """Rule 6 over every other rule (rule 7): the CAR-T infusion row whose span (its line's start
    to the infusion) holds ``day`` and whose line is not open yet; IN_OPEN_CAR_T when that line
    is the open one (``car_infusion`` is its infusion day, NEVER if not a CAR-T line); NO_ROW
    outside every span."""
    for ci in range(n_car):
        c = car_rows[ci]
        if car_start[c - lo] <= day <= ex.start[c]:
            return c if car_infusion != ex.start[c] else IN_OPEN_CAR_T
    return NO_ROW


@njit(cache=True)
def first_progression(days, after: int, until: int) -> int:
    """The first of the sorted progression ``days`` after day ``after`` and on or before
    ``until`` (a progression on a drug's start day is the one that led to it), or NEVER."""
    for d in days:
        if d > until:
            break
        if d > after:
            return d
    return NEVER


@njit(cache=True)
def opening_rule(
    i: int, ex: KernelExposures, rules: KernelRules, prep_day: int, now: OpenLine, in_line, pd_days
):
    """The rule by which row ``i`` (outside every CAR-T span) opens a line, the days it measured
    and the progression that ended the planned sequence (NEVER if none); STAYS when the row
    belongs to the open line ``now``, SKIPPED when it is not therapy for the sequence.
    ``prep_day`` is the day of the ASCT the row prepares (NO_ROW if none); ``in_line`` marks the
    drugs given in the open line; ``pd_days`` are the patient's documented progression days."""
    k = ex.kind[i]
    si = ex.start[i]
    ended = NEVER
    if k == LEUKAPHERESIS:
        return SKIPPED, 0, ended  # a collection not followed by an infusion is not therapy
    if now.start == NEVER:
        return RULE_FIRST, 0, ended
    if k == ASCT:
        if si - now.start > rules.asct_window:
            return RULE_ASCT, si - now.start, ended  # rule 5: an ASCT beyond the window
        return STAYS, 0, ended
    if prep_day != NO_ROW:
        if prep_day - now.start > rules.asct_window:
            return RULE_ASCT_PREP, prep_day - now.start, ended  # rule 5: it prepares such an ASCT
        return STAYS, 0, ended
    if now.last_asct != NEVER and si - now.last_asct <= rules.maintenance_window:
        # rule 5: consolidation / maintenance after ASCT (over rules 4 and 2), unless a
        # progression documented since the ASCT ended the planned sequence: then the ordinary
        # rules below decide
        ended = first_progression(pd_days, now.last_asct, si)
        if ended == NEVER:
            return STAYS, 0, ended
    if si - now.max_end > rules.gap_days:
        return RULE_GAP, si - now.max_end, ended  # rule 4
    if si - now.start <= rules.regimen_window:
        return STAYS, 0, ended  # rule 1: the regimen window
    if in_line[ex.drug[i]]:
        return STAYS, 0, ended  # rule 2: resuming a drug of the line
    if now.car_infusion != NEVER and si <= now.car_infusion:
        return STAYS, 0, ended  # rule 6: between a CAR-T line's start and its infusion
    return RULE_NEW_DRUG, si - now.start, ended  # rule 2


@njit(cache=True)
def seed_regimen(lo: int, i: int, ex: KernelExposures, line_start: int, in_line) -> None:
    """Rule 1: a new line's regimen starts with the drugs of rows before ``i`` still active on
    its start day."""
    in_line[:] = False
    for j in range(lo, i):
        if ex.kind[j] == THERAPY and ex.end[j] >= line_start:
            in_line[ex.drug[j]] = True


@njit(cache=True)
def sequential_pass(
    p: int,
    ex: KernelExposures,
    pd: KernelProgression,
    rules: KernelRules,
    out: LineStarts,
    n_lines: int,
    in_line,
):
    """Patient ``p``'s rows in date order: open its lines, written to ``out`` from index
    ``n_lines``; returns the new number of lines (``in_line`` is scratch space, one per drug)."""
    lo = ex.bounds[p]
    hi = ex.bounds[p + 1]
    pd_days = pd.day[pd.first[p] : pd.stop[p]]
    role = out.role
    car_rows, n_car = car_t_products(lo, hi, ex, rules)
    car_start, car_detail = car_t_spans(lo, hi, ex, rules, car_rows, n_car, role, out.anchor)
    prep_for = transplant_preparation(lo, hi, ex, rules, role)
    now = OpenLine(NEVER, NEVER, NEVER, NEVER)
    for i in range(lo, hi):
        k = ex.kind[i]
        if role[i] == ROLE_LYMPHODEPLETION:
            continue  # lymphodepletion belongs to its CAR-T line and opens nothing
        if k == PREP and role[i] != ROLE_TRANSPLANT_PREP:
            continue  # G-CSF or plerixafor not before an ASCT: supportive care
        car_row = car_t_line_of(ex.start[i], lo, ex, car_rows, n_car, car_start, now.car_infusion)
        new_start = ex.start[i]
        ended = NEVER
        if car_row >= 0:  # rule 6
            rule = RULE_CAR_T
            value = ex.start[car_row] - car_start[car_row - lo]
            new_start = car_start[car_row - lo]
        elif car_row == IN_OPEN_CAR_T:
            rule = STAYS
            value = 0
        else:
            rule, value, ended = opening_rule(i, ex, rules, prep_for[i - lo], now, in_line, pd_days)
            if rule == SKIPPED:
                continue
        if rule != STAYS:
            out.patient[n_lines] = p
            out.start[n_lines] = new_start
            out.rule[n_lines] = rule
            out.trigger[n_lines] = i if car_row < 0 else car_row
            out.value[n_lines] = value
            out.infusion[n_lines] = car_row if car_row >= 0 else NO_ROW
            out.detail[n_lines] = car_detail[car_row - lo] if car_row >= 0 else 0
            out.progression[n_lines] = ended
            n_lines += 1
            infusion = ex.start[car_row] if car_row >= 0 else NEVER
            now = OpenLine(new_start, NEVER, infusion, now.max_end)
            seed_regimen(lo, i, ex, new_start, in_line)
        if k == ASCT:
            now = OpenLine(now.start, ex.start[i], now.car_infusion, now.max_end)
        if k == THERAPY or k == ASCT or k == CAR_T:  # PREP drugs are not myeloma therapy
            in_line[ex.drug[i]] = True
            now = OpenLine(now.start, now.last_asct, now.car_infusion, max(now.max_end, ex.end[i]))
    return n_lines


@njit(cache=True)
def open_lines(ex: KernelExposures, pd: KernelProgression, rules: KernelRules) -> LineStarts:
    """Decide the line starts of every patient (see the module docstring for the phases).

    ``episode_start`` is the start of the row's episode of the same drug (records of one drug less
    than ``gap_days`` apart, such as one record per cycle): bridging and mobilisation are judged
    on when a drug was first started, not on its latest cycle record. The anchor of a row is its
    start, or for lymphodepletion the infusion it prepares (it belongs to the CAR-T line without
    moving that line's start).
    """
    n = ex.start.shape[0]
    out = LineStarts(
        np.empty(n, np.int64),
        np.empty(n, np.int64),
        np.empty(n, np.int64),
        np.empty(n, np.int64),
        np.empty(n, np.int64),
        np.empty(n, np.int64),
        np.empty(n, np.int64),
        np.empty(n, np.int64),
        np.zeros(n, np.int64),
        ex.start.astype(np.int64),
    )
    in_line = np.zeros(ex.n_drugs, np.bool_)
    n_lines = 0
    for p in range(ex.bounds.shape[0] - 1):
        n_lines = sequential_pass(p, ex, pd, rules, out, n_lines, in_line)
    return LineStarts(
        out.patient[:n_lines],
        out.start[:n_lines],
        out.rule[:n_lines],
        out.trigger[:n_lines],
        out.value[:n_lines],
        out.infusion[:n_lines],
        out.detail[:n_lines],
        out.progression[:n_lines],
        out.role,
        out.anchor,
    )


@njit(cache=True)
def episode_starts(
    patient: np.ndarray,
    drug: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    n_drugs: int,
    gap_days: int,
) -> np.ndarray:
    """Start day of each record's episode of its drug (rule 4's gap within one drug): rows sorted
    by patient then start (a drug's records in start order); a record more than ``gap_days``
    after every earlier record of the same patient and drug ended begins a new episode."""
    n = start.shape[0]
    out = np.empty(n, np.int64)
    episode = np.zeros(n_drugs, np.int64)
    latest_end = np.zeros(n_drugs, np.int64)
    owner = np.full(n_drugs, -1, np.int64)  # the patient whose episode each drug's state holds
    for i in range(n):
        d = drug[i]
        if owner[d] != patient[i] or start[i] - latest_end[d] > gap_days:
            owner[d] = patient[i]
            episode[d] = start[i]
            latest_end[d] = end[i]
        elif end[i] > latest_end[d]:
            latest_end[d] = end[i]
        out[i] = episode[d]
    return out
