"""Per-line reductions over patient- and line-sorted arrays (compiled with Numba): what each line
holds (rules 1, 3, 5, 6; :mod:`mmrwe.lines.describe`) and refractoriness carried along a patient's
lines (:mod:`mmrwe.lines.refractory`). Days are int64 days since 1970-01-01; a missing day is
:data:`NULL_DAY`."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from mmrwe.lines.kernel import (
    ASCT,
    CAR_T,
    LEUKAPHERESIS,
    PREP,
    ROLE_NONE,
    STEROID,
    THERAPY,
)

#: a missing day (a null date): later than every real day
NULL_DAY = np.iinfo(np.int64).max // 4

# the drug sets of a line, in mask order (``lines`` columns named from them)
SET_DRUG = 0  # every drug of the line (``drugs``, ``drug_classes``)
SET_REGIMEN = 1  # its regimen (rules 1 and 3): named in ``regimen``
SET_MAINTENANCE = 2  # maintenance after its first ASCT (rule 5): ``maintenance``
SET_CAR_T = 3  # its CAR-T product (rule 6): the regimen of a CAR-T line
SET_PROCEDURE = 4  # its procedures: the regimen of a line of procedures only
N_SETS = 5
BITS = 64  # drug codes per mask word


class PieceArrays(NamedTuple):
    """Pieces of exposures sorted by line (``line_row`` non-decreasing)."""

    line_row: np.ndarray  # int64 index of the piece's line
    drug: np.ndarray  # int64 drug code
    kind: np.ndarray  # int64 exposure kind (kernel THERAPY, ASCT, ..., STEROID)
    role: np.ndarray  # int64 ROLE_*
    start: np.ndarray  # int64 the piece's first day
    started_in_line: np.ndarray  # bool: the exposure started on or after the line's start
    is_procedure: np.ndarray  # bool per drug code: drug_class "procedure"


class LineSets(NamedTuple):
    """Per line: drug-set masks (``masks[line, set * words + word]``) and flags."""

    masks: np.ndarray  # uint64
    includes_asct: np.ndarray  # bool
    includes_car_t: np.ndarray  # bool
    infusion: np.ndarray  # int64 first CAR-T infusion day, NULL_DAY if none


@njit(cache=True)
def line_sets(pieces: PieceArrays, line_start, words: int, regimen_window: int) -> LineSets:
    """Each line's drug sets as bit masks over drug codes (one bit per drug) and its flags."""
    n_lines = line_start.shape[0]
    masks = np.zeros((n_lines, N_SETS * words), np.uint64)
    first_asct = np.full(n_lines, NULL_DAY, np.int64)
    infusion = np.full(n_lines, NULL_DAY, np.int64)
    includes_asct = np.zeros(n_lines, np.bool_)
    includes_car_t = np.zeros(n_lines, np.bool_)
    for i in range(pieces.line_row.shape[0]):
        line = pieces.line_row[i]
        if pieces.kind[i] == ASCT:
            includes_asct[line] = True
            first_asct[line] = min(first_asct[line], pieces.start[i])
        elif pieces.kind[i] == CAR_T:
            includes_car_t[line] = True
            infusion[line] = min(infusion[line], pieces.start[i])
    for i in range(pieces.line_row.shape[0]):
        line, k, d, day = pieces.line_row[i], pieces.kind[i], pieces.drug[i], pieces.start[i]
        bit = np.uint64(1) << np.uint64(d % BITS)
        word = d // BITS
        procedure = pieces.is_procedure[d]
        is_drug = not procedure and k != LEUKAPHERESIS and k != PREP
        ordinary = pieces.role[i] == ROLE_NONE
        asct = first_asct[line]
        if is_drug:
            masks[line, SET_DRUG * words + word] |= bit
            # rules 1 and 3: therapy started within the regimen window, and steroids, given
            # before the line's first ASCT
            in_window = k == THERAPY and day <= line_start[line] + regimen_window
            if ordinary and day < asct and (in_window or k == STEROID):
                masks[line, SET_REGIMEN * words + word] |= bit
        # rule 5: therapy started in the line after its first ASCT is maintenance
        after_asct = asct != NULL_DAY and day > asct
        if k == THERAPY and ordinary and after_asct and pieces.started_in_line[i]:
            masks[line, SET_MAINTENANCE * words + word] |= bit
        if k == CAR_T:  # rule 6: the CAR-T product names the line
            masks[line, SET_CAR_T * words + word] |= bit
        if procedure:
            masks[line, SET_PROCEDURE * words + word] |= bit
    return LineSets(masks, includes_asct, includes_car_t, infusion)


@njit(cache=True)
def carry_flags(patient: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """Along each patient's lines (rows sorted by patient, then start), the OR of the flag bits
    of the line and every earlier one: evidence, once effective, stays (refractoriness and
    exposure are cumulative over earlier lines)."""
    out = np.empty(bits.shape[0], np.int64)
    carried = 0
    for i in range(bits.shape[0]):
        if i == 0 or patient[i] != patient[i - 1]:
            carried = 0
        carried |= bits[i]
        out[i] = carried
    return out


class SplitInput(NamedTuple):
    """Exposures to split (sorted by patient) and the lines (sorted by patient, then start)."""

    patient: np.ndarray  # int64 per exposure
    start: np.ndarray  # int64 first day
    end: np.ndarray  # int64 last day (filled)
    anchor: np.ndarray  # int64 the day that places a lymphodepletion in its CAR-T line
    lymphodepletion: np.ndarray  # bool: goes whole to the line of its anchor (rule 6)
    drug: np.ndarray  # int64 drug code (sort key)
    source_row: np.ndarray  # int64 (sort key)
    line_patient: np.ndarray  # int64 per line
    line_start: np.ndarray  # int64
    line_end: np.ndarray  # int64
    line_number: np.ndarray  # int64 (sort key)


@njit(cache=True, inline="always")
def _pieces_of(e: int, x: SplitInput, first: int, stop: int, out, n: int, write: bool) -> int:
    """Rule 9: exposure ``e`` cut at the boundaries of its patient's lines ``first:stop``
    (days before the first line belong to none; lymphodepletion goes whole to the line holding
    its anchor); written from ``out`` row ``n`` when ``write``. Returns the new row count."""
    lymph = x.lymphodepletion[e]
    low = x.anchor[e] if lymph else max(x.start[e], x.line_start[first])
    high = x.anchor[e] if lymph else x.end[e]
    if low > high:
        return n
    k = first
    while k + 1 < stop and x.line_start[k + 1] <= low:
        k += 1
    while k < stop and x.line_start[k] <= high:
        if write:
            out[n, 0] = e
            out[n, 1] = k
            out[n, 2] = x.start[e] if lymph else max(x.start[e], x.line_start[k])
            out[n, 3] = x.end[e] if lymph else min(x.end[e], x.line_end[k])
        n += 1
        k += 1
    return n


@njit(cache=True)
def _split(x: SplitInput, out, write: bool) -> int:
    """The pieces of every exposure (:func:`_pieces_of`), patient by patient; their number."""
    n_ex, n_lines = x.patient.shape[0], x.line_patient.shape[0]
    n = 0
    first = 0
    e = 0
    while e < n_ex:
        p = x.patient[e]
        stop_e = e
        while stop_e < n_ex and x.patient[stop_e] == p:
            stop_e += 1
        while first < n_lines and x.line_patient[first] < p:
            first += 1
        stop = first
        while stop < n_lines and x.line_patient[stop] == p:
            stop += 1
        if stop > first:  # a patient without lines has no pieces
            for i in range(e, stop_e):
                n = _pieces_of(i, x, first, stop, out, n, write)
        e = stop_e
    return n


@njit(cache=True)
def _sort_pieces(x: SplitInput, out) -> None:
    """Insertion sort of each patient's pieces (they come nearly in order) by line, first day,
    drug and source row."""
    n = out.shape[0]
    key = np.empty((n, 4), np.int64)
    for i in range(n):
        key[i, 0] = x.line_number[out[i, 1]]
        key[i, 1] = out[i, 2]
        key[i, 2] = x.drug[out[i, 0]]
        key[i, 3] = x.source_row[out[i, 0]]
    begin = 0
    for i in range(1, n + 1):
        if i < n and x.patient[out[i, 0]] == x.patient[out[begin, 0]]:
            continue
        for a in range(begin + 1, i):
            j = a
            while j > begin:
                c = 0
                while c < 3 and key[j, c] == key[j - 1, c]:
                    c += 1
                if key[j, c] >= key[j - 1, c]:
                    break
                for c in range(4):
                    key[j, c], key[j - 1, c] = key[j - 1, c], key[j, c]
                    out[j, c], out[j - 1, c] = out[j - 1, c], out[j, c]
                j -= 1
        begin = i


@njit(cache=True)
def split_exposures(x: SplitInput):
    """Every exposure split at its patient's line boundaries (rule 9), pieces sorted by patient,
    line, start, drug and source row: per piece its exposure, its line (index into the sorted
    lines), first and last day (the columns of the returned int64 array)."""
    out = np.empty((_split(x, np.empty((0, 4), np.int64), False), 4), np.int64)
    _split(x, out, True)
    _sort_pieces(x, out)
    return out
