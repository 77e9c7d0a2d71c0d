"""Exposures as patient-sorted integer arrays: the input of the line kernel (rules 1-7, 9).

Every treatment row's drug is looked up once per distinct name (:func:`mmrwe.vocab.drug_lookup`);
what the rules need of a drug (its kind, the rule-5/6 lists it is on, whether it is a
procedure) is decided once per generic name in :class:`DrugTable`, and reaches the rows as an
integer drug code (the generic name's rank, so sorting by code sorts by name). Days are integers
(days since 1970-01-01); a missing day is :data:`NULL_DAY`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import polars as pl

from mmrwe.lines import kernel as K
from mmrwe.lines.line_kernel import NULL_DAY
from mmrwe.lines.rules import LineRules

ASCT_NAME = "autologous stem cell transplant"
LEUKAPHERESIS_NAME = "leukapheresis"

#: the kind of a drug that is no exposure for the rules (supportive care other than rules 5-6)
NOT_EXPOSURE = -9


class DrugTable(NamedTuple):
    """The generic names of the treatments, sorted: a drug code is a position in this table."""

    name: pl.Series  # generic_name (String)
    drug_class: pl.Series  # its class (String)
    kind: np.ndarray  # int64: K.THERAPY, ASCT, CAR_T, LEUKAPHERESIS, PREP, STEROID or NOT_EXPOSURE
    is_conditioning: np.ndarray  # bool: in rules.conditioning_drugs (rule 5)
    is_mobilisation: np.ndarray  # bool: in rules.mobilisation_drugs (rule 5)
    is_lymphodepletion: np.ndarray  # bool: in rules.lymphodepletion_drugs (rule 6)
    is_procedure: np.ndarray  # bool: drug_class "procedure"


class Exposures(NamedTuple):
    """One row per exposure (a treatment row of a known patient whose drug is an exposure),
    sorted by patient, start, kind, drug code and source row."""

    patient: np.ndarray  # int64 patient code (mmrwe.io.patient_index)
    start: np.ndarray  # int64 start day
    end: np.ndarray  # int64 end day, filled: ongoing = last contact, procedures = start
    episode_start: np.ndarray  # int64 first start of the row's episode of the same drug
    drug: np.ndarray  # int64 drug code (DrugTable)
    kind: np.ndarray  # int64 kind (DrugTable.kind)
    source_row: np.ndarray  # int64 treatments.source_row
    row: np.ndarray  # int64 position of the row in the treatments table


def drug_table(distinct: pl.DataFrame, rules: LineRules) -> tuple[DrugTable, np.ndarray]:
    """The :class:`DrugTable` of the distinct names of :func:`mmrwe.vocab.drug_lookup`, and each
    distinct name's drug code (-1: unmapped, not therapy, rule 10)."""
    generics = (
        distinct.filter(pl.col("generic_name").is_not_null())
        .unique("generic_name")
        .sort("generic_name")
    )
    name, cls = generics["generic_name"], generics["drug_class"]
    is_in = lambda names: name.is_in(list(names)).to_numpy()  # noqa: E731
    prep = is_in(
        [*rules.mobilisation_drugs, *rules.conditioning_drugs, *rules.lymphodepletion_drugs]
    )
    is_cls = lambda c: (cls == c).fill_null(False).to_numpy()  # noqa: E731
    kind = np.select(
        [
            (name == ASCT_NAME).to_numpy(),
            is_cls("CAR-T"),
            (name == LEUKAPHERESIS_NAME).to_numpy(),
            generics["anti_myeloma"].fill_null(False).to_numpy(),
            is_cls("steroid"),  # listed in the line they fall in, never open or close one
            prep,  # G-CSF, plerixafor, fludarabine: only before an ASCT or CAR-T (rules 5-6)
        ],
        [K.ASCT, K.CAR_T, K.LEUKAPHERESIS, K.THERAPY, K.STEROID, K.PREP],
        NOT_EXPOSURE,
    ).astype(np.int64)
    table = DrugTable(
        name=name,
        drug_class=cls,
        kind=kind,
        is_conditioning=is_in(rules.conditioning_drugs),
        is_mobilisation=is_in(rules.mobilisation_drugs),
        is_lymphodepletion=is_in(rules.lymphodepletion_drugs),
        is_procedure=is_cls("procedure"),
    )
    code = np.full(distinct.height, -1, np.int64)
    mapped = distinct["generic_name"].is_not_null().to_numpy()
    code[mapped] = name.search_sorted(distinct["generic_name"].filter(mapped)).to_numpy()
    return table, code


def days(s: pl.Series) -> np.ndarray:
    """A date column as int64 days since 1970-01-01, :data:`NULL_DAY` for a null."""
    return s.cast(pl.Int64).fill_null(NULL_DAY).to_numpy()


def exposures(
    treatments: pl.DataFrame,
    patient: np.ndarray,
    drug: np.ndarray,
    drugs: DrugTable,
    last_contact: np.ndarray,
    rules: LineRules,
) -> Exposures:
    """The :class:`Exposures` of ``treatments`` (``patient``: each row's patient code, -1 when
    unknown; ``drug``: each row's drug code, -1 when unmapped; ``last_contact``: day per patient
    code)."""
    kind_all = np.full(len(drug), NOT_EXPOSURE, np.int64)
    mapped = drug >= 0
    kind_all[mapped] = drugs.kind[drug[mapped]]
    row = np.flatnonzero((patient >= 0) & (kind_all != NOT_EXPOSURE))
    p, d, kind = patient[row], drug[row], kind_all[row]
    start = days(treatments["start_date"])[row]
    end = days(treatments["end_date"])[row]
    source_row = treatments["source_row"].to_numpy()[row]
    contact = last_contact[p]
    # ongoing = last contact; an end after the last contact is cut there; never before the start
    end = np.minimum(np.where(end == NULL_DAY, contact, end), contact)
    end = np.maximum(np.where(end == NULL_DAY, start, end), start)
    # procedures happen on one day: ASCT, CAR-T infusion, leukapheresis, allogeneic transplant
    point = np.isin(kind, [K.ASCT, K.CAR_T, K.LEUKAPHERESIS]) | drugs.is_procedure[d]
    end = np.where(point, start, end)
    order = sort_order([p, start, kind, d], source_row)
    p, start, end, d, kind = p[order], start[order], end[order], d[order], kind[order]
    episode = K.episode_starts(p, d, start, end, len(drugs.kind), rules.gap_days)
    return Exposures(p, start, end, episode, d, kind, source_row[order], row[order])


def sort_order(keys: list[np.ndarray], tiebreak: np.ndarray) -> np.ndarray:
    """The row order sorting by the int64 ``keys`` in turn, then by ``tiebreak``: one stable sort
    of the keys packed into one int64 (rows come nearly sorted by patient and day), checked to
    leave ties in ``tiebreak`` order; else a lexicographic sort."""
    n = len(tiebreak)
    if n == 0:
        return np.zeros(0, np.int64)
    packed = np.zeros(n, np.int64)
    bits = 0
    for k in keys:
        low = int(k.min())
        width = max(int(k.max()) - low, 0).bit_length()
        bits += width
        packed = (packed << width) | (k - low)
    if bits <= 62:
        order = np.argsort(packed, kind="stable")
        sorted_key, sorted_tie = packed[order], tiebreak[order]
        tie = sorted_key[1:] == sorted_key[:-1]
        if not (sorted_tie[1:][tie] < sorted_tie[:-1][tie]).any():
            return order
    return np.lexsort([tiebreak, *reversed(keys)])
