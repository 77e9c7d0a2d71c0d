"""The sequential parts of IMWG response over patient-sorted arrays (compiled with Numba).

Everything that depends on the order of results is here: assessment windows, the per-assessment
maxima, which line an assessment belongs to and each line's baseline, the nadir, carrying the
marrow forward, confirmation and best response. Days are integers (days since 1970-01-01);
``NaN`` marks a missing quantity, ``-1`` a missing qualitative result or row. Groups are given as
CSR pointers: rows ``ptr[g]:ptr[g+1]`` belong to group ``g``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# lab test codes (order of :data:`mmrwe.response.assess.TEST_CODES`)
SERUM_M, URINE_M, KAPPA, LAMBDA, SERUM_IFE, URINE_IFE, BM_PC, BM_CLONAL = range(8)

# rows of the per-assessment quantity matrix ``qty`` (:func:`aggregate`; NaN: not measured) and
# of the per-line baseline matrix ``base`` (:func:`place`; serum, urine, κ, λ only)
QTY_SERUM, QTY_URINE, QTY_KAPPA, QTY_LAMBDA, QTY_MARROW = range(5)
# rows of the per-assessment qualitative matrix ``qual`` (:func:`aggregate`): 1 positive (marrow:
# below the CR limit), 0 negative (marrow: not below), -1 missing or unknown
QUAL_SERUM_IFE, QUAL_URINE_IFE, QUAL_CLONAL, QUAL_MARROW_BELOW = range(4)
# rows of ``base_row`` (:func:`place`): the assessment that gave each baseline component
BASE_SERUM, BASE_URINE, BASE_FLC = range(3)
# by test code: the ``qty`` row of a quantity (-1: qualitative test) ...
QTY_ROW_OF_TEST = np.array([QTY_SERUM, QTY_URINE, QTY_KAPPA, QTY_LAMBDA, -1, -1, QTY_MARROW, -1])
# ... and the ``qual`` row a positive result goes to: an IFE, clonality, or for a serum or urine
# M-protein a positive word such as ``trace`` (a positive IFE of that component); -1: none
QUAL_ROW_OF_TEST = np.array(
    [QUAL_SERUM_IFE, QUAL_URINE_IFE, -1, -1, QUAL_SERUM_IFE, QUAL_URINE_IFE, -1, QUAL_CLONAL]
)

# category codes: higher is better, PD lowest, -1 not evaluable
NOT_EVALUABLE, PD, SD, MR, PR, VGPR, CR, SCR = -1, 0, 1, 2, 3, 4, 5, 6
# value rules of a lab result (``value_rule``): a number, ``<x`` or ``>x``
EXACT, BELOW, ABOVE = 0, 1, 2
NO_DAY = -(2**31)
FAR = 2**31 - 1


@njit(cache=True, nogil=True)
def open_days(pat: np.ndarray, day: np.ndarray, brk_ptr: np.ndarray, brk_day: np.ndarray, window):
    """Assessment date of every lab row (rows sorted by patient and day).

    A result opens an assessment unless one opened at most ``window`` days earlier is still open;
    windows are not chained, and a window closes at every break day (line starts and index
    dates): a result after a break never joins an assessment opened on or before it.
    """
    n = day.shape[0]
    out = np.empty(n, np.int64)
    current = -1
    opened = NO_DAY
    b = 0
    b_end = 0
    for i in range(n):
        p = pat[i]
        if p != current:
            current = p
            opened = NO_DAY
            b = brk_ptr[p]
            b_end = brk_ptr[p + 1]
        d = day[i]
        while b < b_end and brk_day[b] < d:
            b += 1
            opened = NO_DAY
        if opened == NO_DAY or d > opened + window:
            opened = d
        out[i] = opened
    return out


@njit(cache=True, nogil=True)
def marrow_below(flag, unknown, value, rule, limit):
    """One more marrow result of an assessment: the new ``(flag, unknown)`` of "every marrow
    result is below ``limit``" (flag 1 below, 0 not below, -1 unknown; ``unknown``: a ``>x``
    result with x below the limit was seen, which may be ≥ the limit, so "below" cannot be
    established). ``<5`` counts as below 5; ``>x`` with x ≥ the limit is not below."""
    if rule == ABOVE:
        if value >= limit:
            return 0, unknown
        return (-1 if flag == 1 else flag), True  # '>3': the value may be 5 % or more
    below = value < limit or (rule == BELOW and value <= limit)
    if not below:
        return 0, unknown
    if flag == -1 and not unknown:
        return 1, unknown
    return flag, unknown


@njit(cache=True, nogil=True)
def aggregate(pat, aday, test, value, positive, rule, marrow_limit):
    """One row per (patient, assessment day) run: the highest value of each test counts.

    Returns patient, day, ``qty`` (rows ``QTY_*``: serum, urine, κ, λ, marrow %; NaN if
    missing) and ``qual`` (rows ``QUAL_*``: serum and urine IFE, clonal cells as 1 positive, 0
    negative, -1 missing, a positive M-protein word such as ``trace`` counting as a positive
    IFE; marrow below ``marrow_limit`` by :func:`marrow_below`, every marrow result of the
    assessment must be below it). ``rule`` is each result's value rule (``EXACT``, ``BELOW``,
    ``ABOVE``).
    """
    n = pat.shape[0]
    starts = np.zeros(n + 1, np.int64)
    k = 0
    for i in range(n):
        if i == 0 or pat[i] != pat[i - 1] or aday[i] != aday[i - 1]:
            starts[k] = i
            k += 1
    starts[k] = n
    o_pat = np.empty(k, np.int64)
    o_day = np.empty(k, np.int64)
    qty = np.full((5, k), np.nan)
    qual = np.full((4, k), -1, np.int8)
    for a in range(k):
        marrow_unknown = False
        o_pat[a] = pat[starts[a]]
        o_day[a] = aday[starts[a]]
        for i in range(starts[a], starts[a + 1]):
            t = test[i]
            v = value[i]
            q = QTY_ROW_OF_TEST[t]
            if q >= 0:  # a quantity: the highest counts
                if not np.isnan(v) and (np.isnan(qty[q, a]) or v > qty[q, a]):
                    qty[q, a] = v
                word = QUAL_ROW_OF_TEST[t]  # serum or urine M: its IFE row
                if word >= 0 and positive[i] == 1:
                    qual[word, a] = 1  # an M-protein word such as "trace"
                if t == BM_PC and not np.isnan(v):
                    flag, marrow_unknown = marrow_below(
                        qual[QUAL_MARROW_BELOW, a], marrow_unknown, v, rule[i], marrow_limit
                    )
                    qual[QUAL_MARROW_BELOW, a] = flag
            else:  # qualitative: a positive result wins
                j = QUAL_ROW_OF_TEST[t]
                if positive[i] > qual[j, a]:
                    qual[j, a] = positive[i]
    return o_pat, o_day, qty, qual


@njit(cache=True, nogil=True)
def place(a_ptr, a_day, a_last, qty, l_ptr, l_index, l_next, baseline_window):
    """Which line each assessment is on, and each line's baseline.

    ``a_ptr``/``l_ptr``: CSR of assessments and lines per patient (assessments sorted by day,
    lines by number). An assessment is on line ``l`` when ``index < day < next line's start``.
    Baseline per component: its last value on or before the index, at most ``baseline_window``
    days before (an assessment counts when its last result, ``a_last``, is in that window);
    κ and λ are taken together from one assessment. Returns the line row of each
    assessment (-1 if none) and per line: ``base`` (rows ``QTY_SERUM`` … ``QTY_LAMBDA``),
    ``base_row`` (rows ``BASE_*``: the assessment that gave each, -1 if none) and the baseline
    date (latest of them, ``NO_DAY`` if no baseline).
    """
    n_a = a_day.shape[0]
    n_l = l_index.shape[0]
    line_of = np.full(n_a, -1, np.int64)
    base = np.full((4, n_l), np.nan)  # rows QTY_SERUM … QTY_LAMBDA
    base_row = np.full((3, n_l), -1, np.int64)  # rows BASE_SERUM, BASE_URINE, BASE_FLC
    base_day = np.full(n_l, NO_DAY, np.int64)
    for p in range(a_ptr.shape[0] - 1):
        lo, hi = a_ptr[p], a_ptr[p + 1]
        for li in range(l_ptr[p], l_ptr[p + 1]):
            idx = l_index[li]
            nxt = l_next[li]
            for i in range(lo, hi):
                d = a_day[i]
                if idx < d < nxt:
                    line_of[i] = li
            i = hi - 1
            while i >= lo and a_day[i] > idx:
                i -= 1
            while i >= lo and a_last[i] >= idx - baseline_window:
                if base_row[BASE_SERUM, li] < 0 and not np.isnan(qty[QTY_SERUM, i]):
                    base_row[BASE_SERUM, li] = i
                    base[QTY_SERUM, li] = qty[QTY_SERUM, i]
                if base_row[BASE_URINE, li] < 0 and not np.isnan(qty[QTY_URINE, i]):
                    base_row[BASE_URINE, li] = i
                    base[QTY_URINE, li] = qty[QTY_URINE, i]
                kappa, lam = qty[QTY_KAPPA, i], qty[QTY_LAMBDA, i]
                if base_row[BASE_FLC, li] < 0 and not np.isnan(kappa) and not np.isnan(lam):
                    base_row[BASE_FLC, li] = i  # κ and λ together, from one assessment
                    base[QTY_KAPPA, li] = kappa
                    base[QTY_LAMBDA, li] = lam
                i -= 1
            for c in (BASE_SERUM, BASE_URINE, BASE_FLC):
                r = base_row[c, li]
                if r >= 0 and a_day[r] > base_day[li]:
                    base_day[li] = a_day[r]
    return line_of, base, base_row, base_day


@njit(cache=True, nogil=True)
def nadir_before(g_ptr, x, baseline):
    """The nadir each assessment is compared with, per group (a line's on-line assessments).

    Nadir = the lowest value held at two consecutive measurements (the higher of each
    consecutive pair) before this assessment, or the baseline if lower. Without a baseline, the
    line's first measurement stands for it (a rise from it can be confirmed: the pair that
    holds the rise does not replace the lower first value). NaN when nothing precedes the
    assessment.
    """
    n = x.shape[0]
    out = np.full(n, np.nan)
    for g in range(g_ptr.shape[0] - 1):
        low = baseline[g]
        prev = np.nan
        for i in range(g_ptr[g], g_ptr[g + 1]):
            v = x[i]
            if np.isnan(v):
                continue
            out[i] = low
            if np.isnan(low):  # no baseline: the first measurement stands for it
                low = v
            if not np.isnan(prev):
                pair = max(prev, v)
                if np.isnan(low) or pair < low:
                    low = pair
            prev = v
    return out


@njit(cache=True, nogil=True)
def last_present(g_ptr, present):
    """Row of the last ``present`` row at or before each row within its group (-1 if none)."""
    n = present.shape[0]
    out = np.full(n, -1, np.int64)
    for g in range(g_ptr.shape[0] - 1):
        last = -1
        for i in range(g_ptr[g], g_ptr[g + 1]):
            if present[i]:
                last = i
            out[i] = last
    return out


@njit(cache=True, nogil=True)
def confirm(g_ptr, code):
    """Whether each assessment's category is met again at the next evaluable assessment of the
    line: PD by a PD; any other category by one at least as good that is not PD."""
    n = code.shape[0]
    out = np.zeros(n, np.bool_)
    for g in range(g_ptr.shape[0] - 1):
        prev = -1
        for i in range(g_ptr[g], g_ptr[g + 1]):
            c = code[i]
            if c == NOT_EVALUABLE:
                continue
            if prev >= 0:
                pc = code[prev]
                if pc == PD:
                    out[prev] = c == PD
                else:
                    out[prev] = c != PD and c >= pc
            prev = i
    return out


@njit(cache=True, nogil=True)
def best_response(g_ptr, code, day, reappear, next_start, death, cutoff, pd_window):
    """Per line: best confirmed category, its date, first ≥ PR date, lab PD date, relapse from CR.

    PD: the first of two consecutive PD assessments, or a PD that is the line's last evaluable
    assessment followed by the next line or death within ``pd_window`` days. The progression
    date used to bound the best response is the earlier of the lab PD and ``cutoff`` (recorded
    PD). A pair counts for the best response when both its assessments precede that date; its
    date is the first of the pair. Relapse from CR: the first assessment after a confirmed CR
    (or sCR) pair at which M-protein reappears (``reappear``), evaluable or not. Returns best code (-1 if no pair
    and no PD), best day, first response day, lab PD day, relapse day, number of evaluable
    assessments; days ``NO_DAY`` when absent.
    """
    n_g = g_ptr.shape[0] - 1
    best = np.full(n_g, NOT_EVALUABLE, np.int64)
    best_day = np.full(n_g, NO_DAY, np.int64)
    first_resp = np.full(n_g, NO_DAY, np.int64)
    pd_day = np.full(n_g, NO_DAY, np.int64)
    relapse = np.full(n_g, NO_DAY, np.int64)
    n_eval = np.zeros(n_g, np.int64)
    for g in range(n_g):
        lo, hi = g_ptr[g], g_ptr[g + 1]
        prev = -1
        for i in range(lo, hi):
            if code[i] == NOT_EVALUABLE:
                continue
            n_eval[g] += 1
            if prev >= 0 and code[prev] == PD and code[i] == PD and pd_day[g] == NO_DAY:
                pd_day[g] = day[prev]
            prev = i
        if pd_day[g] == NO_DAY and prev >= 0 and code[prev] == PD:
            nxt = min(next_start[g], death[g])
            if nxt - day[prev] <= pd_window:
                pd_day[g] = day[prev]
        stop = FAR
        if pd_day[g] != NO_DAY:
            stop = pd_day[g]
        if cutoff[g] < stop:
            stop = cutoff[g]
        prev = -1
        cr_after = FAR
        for i in range(lo, hi):
            c = code[i]
            # relapse from CR may show at an assessment without a measurable component
            if day[i] > cr_after and reappear[i] and relapse[g] == NO_DAY:
                relapse[g] = day[i]
            if c == NOT_EVALUABLE:
                continue
            if prev >= 0 and day[i] < stop and code[prev] != PD and c != PD:
                level = min(code[prev], c)
                if level > best[g]:
                    best[g] = level
                    best_day[g] = day[prev]
                if level >= PR and first_resp[g] == NO_DAY:
                    first_resp[g] = day[prev]
                if level >= CR and cr_after == FAR:
                    cr_after = day[i]
            prev = i
        if best[g] == NOT_EVALUABLE and pd_day[g] != NO_DAY:
            best[g] = PD
            best_day[g] = pd_day[g]
    return best, best_day, first_resp, pd_day, relapse, n_eval
