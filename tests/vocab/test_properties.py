"""Property tests: spelling variants (case, spaces, hyphens) map identically; naming ignores order."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from mmrwe.vocab import (
    load_vocabulary,
    map_drugs,
    name_regimen,
    normalize_drug,
    normalize_drug_expr,
)

VOCAB = load_vocabulary()
NAMES = sorted(VOCAB.names["name"])
SEPARATORS = [" ", "-", "  ", "\t", "\u2013", "_", "\u00a0"]


@st.composite
def spelling_variant(draw, name: str) -> str:
    """Re-case every letter and insert or replace separators anywhere in ``name``."""
    out = []
    for char in name:
        if char in " -":
            out.append(draw(st.sampled_from(SEPARATORS)))
            continue
        out.append(char.upper() if draw(st.booleans()) else char.lower())
        if draw(st.integers(0, 9)) == 0:
            out.append(draw(st.sampled_from(SEPARATORS)))
    prefix = draw(st.sampled_from(["", " ", "-"]))
    return prefix + "".join(out)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(NAMES).flatmap(lambda n: st.tuples(st.just(n), spelling_variant(n))))
def test_spelling_variants_map_to_the_same_generic(pair):
    name, variant = pair
    assert normalize_drug(variant) == normalize_drug(name)
    assert VOCAB.generic_name(variant) == VOCAB.generic_name(name) is not None


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(NAMES).flatmap(spelling_variant), min_size=1, max_size=30))
def test_vectorised_mapping_equals_lookup(variants):
    mapped, unmapped = map_drugs(
        pl.DataFrame({"patient_id": ["A"] * len(variants), "drug": variants}), VOCAB
    )
    assert mapped["generic_name"].to_list() == [VOCAB.generic_name(v) for v in variants]
    assert unmapped.height == 0


#: Characters assigned in Python's Unicode database; characters that only a newer Unicode
#: version assigns may be lower-cased differently by Rust (Polars), none occur in drug names.
ASSIGNED = st.characters(exclude_categories=("Cn", "Cs"))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=ASSIGNED, max_size=40))
def test_python_and_polars_normalisation_agree(text):
    polars_key = pl.select(normalize_drug_expr(pl.lit(text))).item()
    assert polars_key == normalize_drug(text)


GENERICS = sorted(VOCAB.drugs["generic_name"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(GENERICS), min_size=1, max_size=6, unique=True), st.randoms())
def test_regimen_name_is_order_independent(drugs, random):
    shuffled = drugs[:]
    random.shuffle(shuffled)
    assert name_regimen(shuffled, VOCAB) == name_regimen(drugs, VOCAB)
