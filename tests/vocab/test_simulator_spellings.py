"""Every drug spelling the simulator writes maps to its generic name; its unmapped names stay
unmapped. Keeps the vocabulary and the synthetic cohort in step."""

from __future__ import annotations

import polars as pl

from mmrwe.simulate.names import DRUG_SPELLINGS, UNMAPPED_DRUG_NAMES
from mmrwe.vocab import load_vocabulary, map_drugs


def test_simulator_spellings_map_to_their_generic_names() -> None:
    rows = [(g, s) for g, spellings in DRUG_SPELLINGS.items() for s in spellings]
    treatments = pl.DataFrame(rows, schema=["expected", "drug"], orient="row").with_columns(
        pl.lit("P1").alias("patient_id")
    )
    mapped, unmapped = map_drugs(treatments, load_vocabulary())
    wrong = mapped.filter(pl.col("generic_name") != pl.col("expected"))
    assert unmapped.height == 0, unmapped
    assert wrong.height == 0, wrong


def test_simulator_unmapped_names_stay_unmapped() -> None:
    treatments = pl.DataFrame({"patient_id": "P1", "drug": list(UNMAPPED_DRUG_NAMES)})
    mapped, unmapped = map_drugs(treatments, load_vocabulary())
    assert mapped["generic_name"].null_count() == len(UNMAPPED_DRUG_NAMES)
    assert sorted(unmapped["drug"]) == sorted(UNMAPPED_DRUG_NAMES)
