"""Regimen names: every table row named from its drug set; fallback deterministic; maintenance."""

from __future__ import annotations

import polars as pl
import pytest

from mmrwe.errors import ParameterError
from mmrwe.vocab import load_vocabulary, name_maintenance, name_regimen, name_regimens
from mmrwe.vocab.regimens import FALLBACK_CLASS_ORDER
from mmrwe.vocab.tables import DRUG_CLASSES

VOCAB = load_vocabulary()
ROWS = VOCAB.regimens.to_dicts()

# The regimen names the clinical rules list (clinical-rules.md, "Regimen names").
RULES_NAMES = [
    "D-Rd",
    "D-Vd",
    "DPd",
    "D-VRd",
    "Isa-Pd",
    "Isa-Kd",
    "IRd",
    "KRd",
    "Kd",
    "VRd",
    "VRd-lite",
    "Pd",
    "Rd",
    "Vd",
    "PVd",
    "Elo-Pd",
    "Sd",
    "belantamab",
    "teclistamab",
    "elranatamab",
    "talquetamab",
    "ide-cel",
    "cilta-cel",
]


def test_table_covers_the_rules_names_and_the_brief():
    names = set(VOCAB.regimens["regimen"])
    assert set(RULES_NAMES) <= names
    assert {"D-Kd", "Elo-Rd", "SVd", "CyBorD", "VTd", "VMP", "Ven-d"} <= names


@pytest.mark.parametrize("row", ROWS, ids=[f"{r['regimen']}|{r['variant']}" for r in ROWS])
def test_every_table_row_is_named_from_its_drug_set(row):
    drugs = row["drugs"].split(";")
    variant = row["variant"] or None
    assert name_regimen(drugs, VOCAB, variant=variant) == row["regimen"]
    assert name_regimen(list(reversed(drugs)), VOCAB, variant=variant) == row["regimen"]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        (["Darzalex Faspro", "Revlimid", "dex"], "D-Rd"),  # brand names and abbreviations
        (["daratumumab", "lenalidomide", "dexamethasone", "zoledronic acid", "acyclovir"], "D-Rd"),
        (["Velcade", "len", "dex"], "VRd"),
        (["lenalidomide"], "R"),  # dex absent: the name has no d
        (["Darzalex"], "daratumumab"),  # antibody monotherapy is written in full
        (["daratumumab", "lenalidomide"], "D-R"),
        (["isatuximab", "bortezomib", "dexamethasone"], "Isa-Vd"),
        (["teclistamab", "talquetamab"], "Tal-Tec"),
        (["carfilzomib", "thalidomide", "dexamethasone"], "KTd"),
        (["selinexor", "carfilzomib", "lenalidomide", "dexamethasone"], "SKRd"),
        (["belantamab mafodotin", "lenalidomide", "dexamethasone"], "Bela-Rd"),
        (["melphalan flufenamide", "dexamethasone"], "Melflu-d"),
        (["autologous stem cell transplant"], "ASCT"),  # a line of a transplant alone
        (["melphalan", "autologous stem cell transplant", "plerixafor", "filgrastim"], "M"),
        (["leukapheresis", "ciltacabtagene autoleucel", "fludarabine"], "cilta-cel"),
        (["zoledronic acid"], ""),  # nothing to name
        ([], ""),
    ],
)
def test_names(written, expected):
    assert name_regimen(written, VOCAB) == expected


def test_vrd_lite_only_when_the_caller_says_so():
    assert name_regimen(["bortezomib", "lenalidomide", "dexamethasone"]) == "VRd"
    assert (
        name_regimen(["bortezomib", "lenalidomide", "dexamethasone"], variant="lite") == "VRd-lite"
    )
    # a variant the table does not have for that set falls back to the default name
    assert name_regimen(["carfilzomib", "lenalidomide", "dexamethasone"], variant="lite") == "KRd"


def test_fallback_order_is_fixed_and_complete():
    assert sorted(FALLBACK_CLASS_ORDER) == sorted(DRUG_CLASSES)
    a = [
        "venetoclax",
        "daratumumab",
        "ixazomib",
        "pomalidomide",
        "dexamethasone",
        "cyclophosphamide",
    ]
    names = {name_regimen(order, VOCAB) for order in (a, a[::-1], sorted(a), a[2:] + a[:2])}
    assert names == {"D-Ven-IPCd"}


def test_investigational_agent_is_named_by_its_generic_name():
    drug_map = pl.DataFrame(
        {
            "name": ["mezigdomide"],
            "generic_name": ["mezigdomide"],
            "drug_class": ["investigational"],
            "key": ["mezigdomide"],
            "row": [1],
        }
    )
    vocab = VOCAB.with_drug_map(drug_map)
    assert name_regimen(["mezigdomide", "dexamethasone"], vocab) == "mezigdomide-d"
    assert name_regimen(["mezigdomide", "carfilzomib", "dexamethasone"], vocab) == "K-mezigdomide-d"


def test_unknown_name_is_an_error_not_a_guess():
    with pytest.raises(
        ParameterError, match=r"'generic_names' parameter of name_regimen.*'unknownium'"
    ):
        name_regimen(["lenalidomide", "unknownium"])


@pytest.mark.parametrize(
    ("drugs", "expected"),
    [
        (["lenalidomide"], "R"),
        (["bortezomib"], "V"),
        (["ixazomib"], "I"),
        (["daratumumab", "lenalidomide"], "D-R"),
        (["lenalidomide", "bortezomib"], "VR"),
        (["lenalidomide", "dexamethasone"], "Rd"),
        (["carfilzomib", "lenalidomide"], "KR"),
        ([], ""),
    ],
)
def test_maintenance_names(drugs, expected):
    assert name_maintenance(drugs) == expected


def test_vectorised_naming_equals_one_by_one():
    sets = pl.Series(
        [
            "dexamethasone;lenalidomide",
            "lenalidomide;dexamethasone",
            None,
            "daratumumab;dexamethasone;pomalidomide",
            "lenalidomide",
            "",
            "bortezomib;cyclophosphamide;dexamethasone",
            "dexamethasone;lenalidomide",
        ]
    )
    named = name_regimens(sets, VOCAB)
    assert named.to_list() == ["Rd", "Rd", None, "DPd", "R", "", "CyBorD", "Rd"]
    assert named.name == "regimen"
