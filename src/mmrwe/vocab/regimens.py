"""Regimen names as clinicians write them, from the documented table ``regimens.csv``.

Naming rule (deterministic; the order of the input never matters):

1. Names are resolved to generic names (any shipped name, e.g. a brand, is accepted); a name
   outside the vocabulary is an error, never guessed.
2. Procedures (ASCT, leukapheresis), supportive, mobilisation and lymphodepletion agents are
   dropped: they are flags of a line, not part of its regimen. A set holding only procedures is
   named by their abbreviations (e.g. ``ASCT``).
3. The remaining set (anti-myeloma drugs and steroids) is looked up in the table. Steroids are
   part of the set: lenalidomide + dexamethasone is ``Rd``, lenalidomide alone ``R``.
   A ``variant`` (e.g. ``lite`` for VRd-lite, which only dose and schedule tell apart) is used
   only when the caller says so and the table has that variant; otherwise the default name.
4. A set not in the table is named from abbreviations (``drugs.csv``) in the fixed class order
   of :data:`FALLBACK_CLASS_ORDER`, alphabetically by generic name within a class. Adjacent
   one-letter abbreviations are written together (``V`` ``R`` ``d`` -> ``VRd``); a hyphen
   follows an antibody or cell therapy and separates any abbreviation longer than one letter
   (``D`` ``R`` -> ``D-R``; ``Isa`` ``V`` ``d`` -> ``Isa-Vd``). An ingredient without an
   abbreviation (e.g. an investigational agent from a drug map) is written by its generic name.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from mmrwe.errors import ParameterError
from mmrwe.vocab.tables import Vocabulary, load_vocabulary

#: Order of classes in a fallback name: antibodies and cell therapies first, then small
#: molecules, chemotherapy, and steroids last (as in D-VRd, Isa-Kd, SVd, VMP).
FALLBACK_CLASS_ORDER: tuple[str, ...] = (
    "anti-CD38",
    "anti-SLAMF7",
    "BCMA ADC",
    "bispecific",
    "CAR-T",
    "XPO1",
    "BCL2",
    "HDAC",
    "PI",
    "IMiD",
    "alkylator",
    "anthracycline",
    "investigational",
    "procedure",
    "supportive",
    "steroid",
)

#: Classes after whose abbreviation a hyphen is written (antibodies and cell therapies).
HYPHEN_AFTER = frozenset({"anti-CD38", "anti-SLAMF7", "BCMA ADC", "bispecific", "CAR-T"})

#: Roles that never appear in a regimen name.
NOT_IN_NAME = frozenset({"procedure", "supportive", "mobilisation", "lymphodepletion"})


def _generic_set(generic_names: Iterable[str], vocabulary: Vocabulary, owner: str) -> set[str]:
    out = set()
    for name in generic_names:
        generic = name if name in vocabulary.drug_info else vocabulary.generic_name(name)
        if generic is None:
            raise ParameterError(
                f"The 'generic_names' parameter of {owner} must hold names of the vocabulary. "
                f"Got {name!r} instead."
            )
        out.add(generic)
    return out


def _naming_set(generics: set[str], vocabulary: Vocabulary) -> set[str]:
    info = vocabulary.drug_info
    kept = {g for g in generics if info[g]["role"] not in NOT_IN_NAME}
    if kept:
        return kept
    return {g for g in generics if info[g]["role"] == "procedure" and info[g]["abbreviation"]}


def letter_name(generics: Iterable[str], vocabulary: Vocabulary) -> str:
    """Abbreviations in :data:`FALLBACK_CLASS_ORDER`, joined by the rule of this module."""
    info = vocabulary.drug_info
    rank = {c: i for i, c in enumerate(FALLBACK_CLASS_ORDER)}
    ordered = sorted(generics, key=lambda g: (rank[str(info[g]["drug_class"])], g))
    name, previous = "", None
    for generic in ordered:
        token = str(info[generic]["abbreviation"] or generic)
        if previous is not None:
            hyphen = len(previous[0]) > 1 or len(token) > 1 or previous[1] in HYPHEN_AFTER
            name += "-" if hyphen else ""
        name += token
        previous = (token, info[generic]["drug_class"])
    return name


def name_regimen(
    generic_names: Iterable[str],
    vocabulary: Vocabulary | None = None,
    *,
    variant: str | None = None,
) -> str:
    """The regimen name of a set of drugs (see the module docstring for the rule).

    >>> name_regimen(["dexamethasone", "Revlimid", "daratumumab"])
    'D-Rd'
    >>> name_regimen(["lenalidomide"])
    'R'
    """
    vocabulary = load_vocabulary() if vocabulary is None else vocabulary
    generics = _naming_set(_generic_set(generic_names, vocabulary, "name_regimen"), vocabulary)
    if not generics:
        return ""
    table = _regimen_lookup(vocabulary)
    key = ";".join(sorted(generics))
    if variant and (key, variant) in table:
        return table[(key, variant)]
    return table.get((key, ""), None) or letter_name(generics, vocabulary)


def name_maintenance(generic_names: Iterable[str], vocabulary: Vocabulary | None = None) -> str:
    """Name of maintenance after ASCT: abbreviations by the fallback rule (``R``, ``V``, ``D-R``).

    Maintenance is written with letters, not regimen names: lenalidomide -> ``R``;
    lenalidomide + dexamethasone -> ``Rd``. Empty input -> ``""``.
    """
    vocabulary = load_vocabulary() if vocabulary is None else vocabulary
    generics = _naming_set(_generic_set(generic_names, vocabulary, "name_maintenance"), vocabulary)
    return letter_name(generics, vocabulary) if generics else ""


def name_regimens(drug_sets: pl.Series, vocabulary: Vocabulary | None = None) -> pl.Series:
    """Vectorised :func:`name_regimen` over ``;``-joined generic names (any order; null -> null).

    Each distinct set is named once and the names are joined back, so the cost grows with the
    number of distinct combinations, not rows.
    """
    vocabulary = load_vocabulary() if vocabulary is None else vocabulary
    distinct = drug_sets.drop_nulls().unique()
    names = {s: name_regimen([d for d in s.split(";") if d.strip()], vocabulary) for s in distinct}
    return drug_sets.replace_strict(names, default=None, return_dtype=pl.String).alias("regimen")


def _regimen_lookup(vocabulary: Vocabulary) -> dict[tuple[str, str], str]:
    cached = vocabulary.__dict__.get("_regimen_lookup")
    if cached is None:
        rows = vocabulary.regimens.select("drugs", "variant", "regimen").iter_rows()
        cached = {(drugs, variant): regimen for drugs, variant, regimen in rows}
        vocabulary.__dict__["_regimen_lookup"] = cached
    return cached
