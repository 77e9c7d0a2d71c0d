"""map_drugs: adds vocabulary columns in row order; unmapped names are reported, never guessed."""

from __future__ import annotations

import polars as pl
import pytest

from mmrwe.errors import InvalidDataError
from mmrwe.vocab import load_vocabulary, map_drugs

# Deliberately unsorted, with brand/abbreviation spellings, two unmapped names (one in two
# spellings that must be reported separately, as written), a null drug and a supportive drug.
TREATMENTS = pl.DataFrame(
    {
        "patient_id": ["P3", "P1", "P1", "P2", "P2", "P3", "P1", "P2", "P4"],
        "drug": [
            "Darzalex Faspro",
            "Revlimid",
            "dex",
            "Zometa",
            "mystery-mab",
            "mystery-mab",
            "mystery-mab",
            "Mystery mab",
            None,
        ],
        "start_date": ["2020-01-01"] * 9,
    }
)


def test_columns_added_in_original_row_order():
    mapped, _ = map_drugs(TREATMENTS, load_vocabulary())
    assert mapped.columns == [
        *TREATMENTS.columns,
        "generic_name",
        "drug_class",
        "anti_myeloma",
        "role",
    ]
    assert mapped.select("patient_id", "drug").equals(TREATMENTS.select("patient_id", "drug"))
    assert mapped["generic_name"].to_list() == [
        "daratumumab",
        "lenalidomide",
        "dexamethasone",
        "zoledronic acid",
        None,
        None,
        None,
        None,
        None,
    ]
    assert mapped["drug_class"].to_list()[:4] == ["anti-CD38", "IMiD", "steroid", "supportive"]
    assert mapped["anti_myeloma"].to_list() == [
        True,
        True,
        False,
        False,
        False,
        False,
        False,
        False,
        False,
    ]
    assert mapped["role"].to_list()[:5] == ["therapy", "therapy", "steroid", "supportive", None]


def test_unmapped_rows_and_patients():
    _, unmapped = map_drugs(TREATMENTS)
    # mystery-mab: 3 rows in P2, P3, P1 -> 3 patients; "Mystery mab" is written differently
    # (same key) and reported as written: 1 row; the null drug: 1 row, listed last.
    assert unmapped.columns == ["drug", "rows", "patients"]
    assert unmapped.to_dicts() == [
        {"drug": "mystery-mab", "rows": 3, "patients": 3},
        {"drug": "Mystery mab", "rows": 1, "patients": 1},
        {"drug": None, "rows": 1, "patients": 1},
    ]
    assert unmapped.schema["rows"] == pl.Int64 and unmapped.schema["patients"] == pl.Int64


def test_patients_counted_once_per_name():
    treatments = pl.DataFrame(
        {"patient_id": ["A", "A", "A", "B"], "drug": ["foo", "foo", "foo", "foo"]}
    )
    _, unmapped = map_drugs(treatments)
    assert unmapped.to_dicts() == [{"drug": "foo", "rows": 4, "patients": 2}]


def test_nothing_unmapped_gives_an_empty_table():
    mapped, unmapped = map_drugs(TREATMENTS.filter(pl.col("drug").is_in(["Revlimid", "dex"])))
    assert unmapped.height == 0 and unmapped.columns == ["drug", "rows", "patients"]
    assert mapped["generic_name"].null_count() == 0


def test_existing_vocabulary_columns_are_replaced():
    stale = TREATMENTS.with_columns(generic_name=pl.lit("stale"), anti_myeloma=pl.lit(True))
    mapped, _ = map_drugs(stale)
    assert mapped["generic_name"].to_list()[:2] == ["daratumumab", "lenalidomide"]
    assert mapped.columns.count("generic_name") == 1


def test_spellings_of_one_drug_map_identically():
    treatments = pl.DataFrame(
        {
            "patient_id": ["A"] * 6,
            "drug": [
                "ide-cel",
                "IDE CEL",
                "idecel",
                "Abecma",
                "idecabtagene vicleucel",
                "Idecabtagene-Vicleucel",
            ],
        }
    )
    mapped, unmapped = map_drugs(treatments)
    assert set(mapped["generic_name"]) == {"idecabtagene vicleucel"} and unmapped.height == 0


def test_missing_columns_are_named():
    with pytest.raises(
        InvalidDataError,
        match=r"'treatments' table passed to map_drugs lacks the column\(s\) 'patient_id'",
    ):
        map_drugs(pl.DataFrame({"drug": ["len"]}))
