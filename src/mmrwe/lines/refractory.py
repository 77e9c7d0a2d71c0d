"""Refractoriness and exposure at each line's start (IMWG; Rajkumar SV et al., Blood 2011).

A patient is refractory to a drug when the disease progressed while on it (after its first day:
a progression dated on the day a drug starts is the one that led to it) or at most
``refractory_window_days`` (60) after its last dose, or when the line containing it failed to
reach at least a minimal response (applied only when best responses per line are given). Flags at
a line's start are cumulative over all *earlier* lines and use only progression dated on or before
that start (a progression on the start day counts); line 1 has no prior exposure.

Class flags: lenalidomide; any proteasome inhibitor; any anti-CD38 antibody; triple-class
(an IMiD, a PI and an anti-CD38); penta (lenalidomide, pomalidomide, bortezomib, carfilzomib and an
anti-CD38). Exposure flags (``triple_class_exposed``, ``penta_exposed``) count exposure alone.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import polars as pl

from mmrwe.io.cohort import patient_index
from mmrwe.lines import line_kernel as LK
from mmrwe.lines.derive import DERIVED_LINES_TABLE, LINE_EXPOSURES_TABLE
from mmrwe.lines.exposures import NULL_DAY, days, sort_order
from mmrwe.lines.rules import LineRules
from mmrwe.vocab import Vocabulary, load_vocabulary

REFRACTORY_COLUMNS = [
    "len_refractory",
    "pi_refractory",
    "anti_cd38_refractory",
    "triple_class_refractory",
    "penta_refractory",
    "triple_class_exposed",
    "penta_exposed",
]
#: the ``lines`` table written by every command: the derived lines with their flags
LINES_TABLE = DERIVED_LINES_TABLE.extend("lines", dict.fromkeys(REFRACTORY_COLUMNS, pl.Boolean()))
_OWNER = "derive_refractoriness"
#: Best responses that fail the "at least minimal response" test.
BELOW_MR = ("SD", "PD")


def derive_refractoriness(
    lines: pl.DataFrame,
    line_exposures: pl.DataFrame,
    progression: pl.DataFrame,
    best_response: pl.DataFrame | None = None,
    rules: LineRules | None = None,
    vocabulary: Vocabulary | None = None,
) -> pl.DataFrame:
    """Add the refractory and exposure flags of :data:`REFRACTORY_COLUMNS` to ``lines``.

    ``progression``: ``patient_id, date`` of each progression (recorded PD, or lab-derived PD
    from the response stage). ``best_response``: optional ``patient_id, line, best_response`` for
    the no-minimal-response clause.
    """
    rules = rules or LineRules()
    DERIVED_LINES_TABLE.require(lines, _OWNER, ("patient_id", "line", "start_date"))
    LINE_EXPOSURES_TABLE.require(
        line_exposures,
        _OWNER,
        ("patient_id", "line", "drug", "start_date", "end_date", "source_row"),
    )
    if "drug_class" not in line_exposures.columns:
        vocabulary = vocabulary or load_vocabulary()
        classes = vocabulary.drugs.select(pl.col("generic_name").alias("drug"), "drug_class")
        line_exposures = line_exposures.join(classes, on="drug", how="left")
    ids = lines["patient_id"]
    ids = ids.rle().struct.field("value") if ids.is_sorted() else ids.unique().sort()
    at = _LineIndex.of(lines, ids)
    p = patient_index(ids, line_exposures["patient_id"])
    line = at.find(p, line_exposures["line"].cast(pl.Int64).fill_null(-1).to_numpy())
    drug_bits, drug = _bits(line_exposures["drug"], _DRUG_BITS)
    bits = drug_bits | _bits(line_exposures["drug_class"], _CLASS_BITS)[0]
    start, end = days(line_exposures["start_date"]), days(line_exposures["end_date"])
    # the first day of each exposure (its pieces share source_row): a progression dated on the day
    # a drug starts is the progression that led to it, not progression on it
    source_row = line_exposures["source_row"].to_numpy()
    exposure_start = _group_min(start, [p, source_row, drug])
    # only exposures with a later line matter; their evidence counts from that line on
    later = np.flatnonzero((line >= 0) & (at.next_start[np.maximum(line, 0)] != NULL_DAY))
    next_start = at.next_start[line[later]]
    # evidence of refractoriness: a PD on the drug or within the window after its last dose,
    # effective from the first later line starting on or after the PD
    pd = _progression_keys(progression, ids)
    lower = np.maximum(start[later], exposure_start[later] + 1)
    hit = np.searchsorted(pd, (p[later] << 32) + lower)
    pd_key = pd[np.minimum(hit, len(pd) - 1)] if len(pd) else np.zeros(len(hit), np.int64)
    pd_day = pd_key - (p[later] << 32)
    window = rules.refractory_window_days
    on_drug = (hit < len(pd)) & (pd_key >> 32 == p[later]) & (end[later] != NULL_DAY)
    on_drug &= pd_day <= end[later] + window
    refractory = [(later[on_drug], np.maximum(pd_day, next_start)[on_drug])]
    if best_response is not None:
        no_mr = best_response.filter(pl.col("best_response").is_in(BELOW_MR))
        failed = np.zeros(len(at.start) + 1, np.bool_)  # the last: no line
        no_mr_line = no_mr["line"].cast(pl.Int64).fill_null(-1).to_numpy()
        failed[at.find(patient_index(ids, no_mr["patient_id"]), no_mr_line)] = True
        refractory.append((later[failed[line[later]]], next_start[failed[line[later]]]))
    exposed = at.flags(p[later], next_start, bits[later])
    rows = np.concatenate([r for r, _ in refractory])
    flagged = at.flags(p[rows], np.concatenate([f for _, f in refractory]), bits[rows])
    cd38 = flagged & CD38 != 0
    columns = {
        "len_refractory": flagged & LEN != 0,
        "pi_refractory": flagged & PI != 0,
        "anti_cd38_refractory": cd38,
        "triple_class_refractory": flagged & TRIPLE == TRIPLE,
        "penta_refractory": flagged & PENTA == PENTA,
        "triple_class_exposed": exposed & TRIPLE == TRIPLE,
        "penta_exposed": exposed & PENTA == PENTA,
    }
    return lines.with_columns(pl.Series(c, columns[c]) for c in REFRACTORY_COLUMNS)


# the drugs and classes of the flags, one bit each (IMWG; Rajkumar 2011)
LEN, POM, BORT, CARF, IMID, PI, CD38 = (1 << k for k in range(7))
_DRUG_BITS = {"lenalidomide": LEN, "pomalidomide": POM, "bortezomib": BORT, "carfilzomib": CARF}
_CLASS_BITS = {"IMiD": IMID, "PI": PI, "anti-CD38": CD38}
TRIPLE = IMID | PI | CD38  # triple-class: an IMiD, a PI and an anti-CD38
PENTA = LEN | POM | BORT | CARF | CD38  # penta: the four drugs and an anti-CD38


def _bits(values: pl.Series, bits: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's flag bits (int64) by its value (``bits``; others 0), and its value's code
    among the distinct values (:func:`_codes`)."""
    code, names = _codes(values)
    by_name = names.replace_strict(bits, default=0, return_dtype=pl.Int64).to_numpy()
    return np.r_[by_name, 0][code], code


class _LineIndex(NamedTuple):
    """The lines of the ``lines`` table (rows in table order) with integer keys."""

    key: np.ndarray  # patient code << 32 | line number, sorted
    row_of_key: np.ndarray  # the table row of each sorted key
    patient: np.ndarray  # per row: patient code
    start: np.ndarray  # per row: start day
    next_start: np.ndarray  # per row: the start of the patient's next line (NULL_DAY if none)

    @classmethod
    def of(cls, lines: pl.DataFrame, ids: pl.Series) -> _LineIndex:
        patient = patient_index(ids, lines["patient_id"])
        start = days(lines["start_date"])
        # the next row of the same patient in table order
        by_patient = np.argsort(patient, kind="stable")
        followed = np.flatnonzero(patient[by_patient][1:] == patient[by_patient][:-1])
        next_start = np.full(len(patient), NULL_DAY, np.int64)
        next_start[by_patient[followed]] = start[by_patient[followed + 1]]
        key = (patient << 32) | lines["line"].cast(pl.Int64).to_numpy()
        row_of_key = np.argsort(key, kind="stable")
        return cls(key[row_of_key], row_of_key, patient, start, next_start)

    def find(self, patient: np.ndarray, line: np.ndarray) -> np.ndarray:
        """The table row of each (patient code, line), -1 where there is none."""
        at = np.searchsorted(self.key, (patient << 32) | line)
        found = (at < len(self.key)) & (patient >= 0)
        found[found] = self.key[at[found]] == ((patient[found] << 32) | line[found])
        return np.where(found, self.row_of_key[np.minimum(at, len(self.key) - 1)], -1)

    def flags(self, patient: np.ndarray, since: np.ndarray, bits: np.ndarray) -> np.ndarray:
        """Per line, the OR of the ``bits`` of the evidence whose ``since`` day is on or before
        the line's start (the evidence's patient's lines only)."""
        order = sort_order([self.patient, self.start], np.arange(len(self.start)))
        keys = (self.patient[order] << 32) + self.start[order]
        first = np.searchsorted(keys, (patient << 32) + since)
        inside = first < len(keys)
        inside[inside] = self.patient[order][first[inside]] == patient[inside]
        at = np.zeros(len(keys), np.int64)
        np.bitwise_or.at(at, first[inside], bits[inside])
        out = LK.carry_flags(self.patient[order], at)
        flags = np.zeros(len(keys), np.int64)
        flags[order] = out
        return flags


def _group_min(values: np.ndarray, keys: list[np.ndarray]) -> np.ndarray:
    """Per row, the minimum of ``values`` over the rows with the same ``keys`` (int64 arrays)."""
    n = len(values)
    if n == 0:
        return values
    order = sort_order(keys, np.arange(n))
    change = np.zeros(n, np.bool_)
    change[0] = True
    for k in keys:
        k = k[order]
        change[1:] |= k[1:] != k[:-1]
    first = np.flatnonzero(change)
    out = np.empty(n, np.int64)
    out[order] = np.repeat(np.minimum.reduceat(values[order], first), np.diff(np.r_[first, n]))
    return out


def _codes(s: pl.Series) -> tuple[np.ndarray, pl.Series]:
    """Each value's index among the distinct non-null values of ``s`` (a null: one more), and
    those values."""
    names = s.drop_nulls().unique()
    code = s.cast(pl.Enum(names)).to_physical().fill_null(names.len()).cast(pl.Int64)
    return code.to_numpy(), names


def _progression_keys(progression: pl.DataFrame, ids: pl.Series) -> np.ndarray:
    """Sorted ``patient code << 32 + day`` of each dated progression of a patient of ``ids``."""
    p = patient_index(ids, progression["patient_id"])
    day = days(progression["date"])
    keep = (p >= 0) & (day != NULL_DAY)
    return np.unique((p[keep] << 32) + day[keep])


def recorded_progression(responses: pl.DataFrame) -> pl.DataFrame:
    """``patient_id, date`` of physician-recorded progression (response PD)."""
    return (
        responses.filter(pl.col("response") == "PD")
        .select("patient_id", "date")
        .unique()
        .sort("patient_id", "date")
    )


def all_progression(*progressions: pl.DataFrame) -> pl.DataFrame:
    """``patient_id, date`` of every progression of the given sources (e.g. lab-derived PD of
    :func:`mmrwe.response.progression_dates` and :func:`recorded_progression`), once each."""
    return (
        pl.concat([p.select("patient_id", "date") for p in progressions])
        .unique()
        .sort("patient_id", "date")
    )
