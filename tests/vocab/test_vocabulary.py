"""The shipped vocabulary: consistent tables, the normalisation rule, names -> generic names."""

from __future__ import annotations

import polars as pl
import pytest

from mmrwe.errors import InvalidDataError
from mmrwe.vocab import DRUG_CLASSES, ROLES, load_vocabulary, normalize_drug
from mmrwe.vocab.tables import NAME_KINDS, build_vocabulary, check_vocabulary

#: The class list of the clinical rules, copied from docs/spec (clinical-rules.md, "Drug classes").
RULES_CLASSES = [
    "IMiD",
    "PI",
    "anti-CD38",
    "anti-SLAMF7",
    "BCMA ADC",
    "bispecific",
    "CAR-T",
    "XPO1",
    "BCL2",
    "alkylator",
    "anthracycline",
    "HDAC",
    "steroid",
    "investigational",
    "supportive",
    "procedure",
]


@pytest.fixture(scope="module")
def vocab():
    return load_vocabulary()


def test_class_list_is_the_rules_list():
    assert list(DRUG_CLASSES) == RULES_CLASSES


def test_tables_are_consistent(vocab):
    assert check_vocabulary(vocab) == []


def test_every_class_role_and_kind_is_valid(vocab):
    assert set(vocab.drugs["drug_class"]) <= set(RULES_CLASSES)
    assert set(vocab.drugs["role"]) <= set(ROLES)
    assert set(vocab.names["kind"]) <= set(NAME_KINDS) - {"drug map"}
    assert vocab.drugs["anti_myeloma"].dtype == pl.Boolean


def test_no_name_maps_to_two_generic_names(vocab):
    per_key = vocab.names.group_by("key").agg(pl.col("generic_name").n_unique().alias("n"))
    assert per_key["n"].max() == 1
    assert vocab.names["key"].is_unique().all()


def test_every_generic_name_is_a_name_of_itself(vocab):
    for generic in vocab.drugs["generic_name"]:
        assert vocab.generic_name(generic) == generic


def test_loading_is_cached(vocab):
    assert load_vocabulary() is vocab


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("Darzalex Faspro", "darzalexfaspro"),
        ("DARZALEX-FASPRO", "darzalexfaspro"),
        ("  darzalex\tfaspro ", "darzalexfaspro"),
        ("ide–cel", "idecel"),  # en dash
        ("Revlimid®", "revlimid"),
        ("daratumumab/hyaluronidase", "daratumumab/hyaluronidase"),  # the slash stays
        ("VP_16", "vp16"),
    ],
)
def test_normalisation_rule(written, key):
    assert normalize_drug(written) == key


# Every anti-myeloma drug and procedure the issue names, with one brand or abbreviation each.
NAMES = [
    ("Revlimid", "lenalidomide"),
    ("len", "lenalidomide"),
    ("LENA", "lenalidomide"),
    ("lenalidomid", "lenalidomide"),
    ("Thalomid", "thalidomide"),
    ("Pomalyst", "pomalidomide"),
    ("Imnovid", "pomalidomide"),
    ("pom", "pomalidomide"),
    ("Velcade", "bortezomib"),
    ("VEL", "bortezomib"),
    ("bort", "bortezomib"),
    ("Kyprolis", "carfilzomib"),
    ("carfil", "carfilzomib"),
    ("Ninlaro", "ixazomib"),
    ("dara", "daratumumab"),
    ("Darzalex", "daratumumab"),
    ("Darzalex Faspro", "daratumumab"),
    ("daratumumab and hyaluronidase-fihj", "daratumumab"),
    ("Sarclisa", "isatuximab"),
    ("isa", "isatuximab"),
    ("Empliciti", "elotuzumab"),
    ("Blenrep", "belantamab mafodotin"),
    ("Tecvayli", "teclistamab"),
    ("Elrexfio", "elranatamab"),
    ("Talvey", "talquetamab"),
    ("Lynozyfic", "linvoseltamab"),
    ("ide-cel", "idecabtagene vicleucel"),
    ("Abecma", "idecabtagene vicleucel"),
    ("cilta-cel", "ciltacabtagene autoleucel"),
    ("Carvykti", "ciltacabtagene autoleucel"),
    ("Xpovio", "selinexor"),
    ("Venclexta", "venetoclax"),
    ("Farydak", "panobinostat"),
    ("Zolinza", "vorinostat"),
    ("Alkeran", "melphalan"),
    ("Pepaxto", "melphalan flufenamide"),
    ("melflufen", "melphalan flufenamide"),
    ("Cytoxan", "cyclophosphamide"),
    ("Treanda", "bendamustine"),
    ("Adriamycin", "doxorubicin"),
    ("Doxil", "doxorubicin"),
    ("Platinol", "cisplatin"),
    ("VP-16", "etoposide"),
    ("BCNU", "carmustine"),
    ("Busulfex", "busulfan"),
    ("dex", "dexamethasone"),
    ("Decadron", "dexamethasone"),
    ("dexamethazone", "dexamethasone"),
    ("prednisone", "prednisone"),
    ("prednisolone", "prednisolone"),
    ("Solu-Medrol", "methylprednisolone"),
    ("ASCT", "autologous stem cell transplant"),
    ("auto-SCT", "autologous stem cell transplant"),
    ("allo-SCT", "allogeneic stem cell transplant"),
    ("leukapheresis", "leukapheresis"),
    ("Mozobil", "plerixafor"),
    ("G-CSF", "filgrastim"),
    ("Neulasta", "pegfilgrastim"),
    ("Fludara", "fludarabine"),
    ("Zometa", "zoledronic acid"),
    ("Aredia", "pamidronate"),
    ("Xgeva", "denosumab"),
    ("aciclovir", "acyclovir"),
    ("Valtrex", "valacyclovir"),
    ("Bactrim", "co-trimoxazole"),
    ("IVIG", "immune globulin"),
    ("Epogen", "epoetin alfa"),
]


@pytest.mark.parametrize(("written", "generic"), NAMES)
def test_brand_abbreviation_and_misspelling_map_to_generic(vocab, written, generic):
    assert vocab.generic_name(written) == generic


def test_daratumumab_iv_and_sc_are_one_ingredient(vocab):
    iv = ["daratumumab", "Darzalex", "Darzalex IV", "daratumumab intravenous", "dara iv"]
    sc = [
        "Darzalex Faspro",
        "daratumumab and hyaluronidase",
        "daratumumab SC",
        "Dara-SC",
        "daratumumab/hyaluronidase",
        "subcutaneous daratumumab",
    ]
    assert {vocab.generic_name(n) for n in iv + sc} == {"daratumumab"}
    assert vocab.drugs.filter(pl.col("generic_name").str.contains("daratumumab")).height == 1


@pytest.mark.parametrize(
    ("generic", "drug_class", "anti_myeloma", "role"),
    [
        ("lenalidomide", "IMiD", True, "therapy"),
        ("carfilzomib", "PI", True, "therapy"),
        ("isatuximab", "anti-CD38", True, "therapy"),
        ("elotuzumab", "anti-SLAMF7", True, "therapy"),
        ("belantamab mafodotin", "BCMA ADC", True, "therapy"),
        ("talquetamab", "bispecific", True, "therapy"),
        ("ciltacabtagene autoleucel", "CAR-T", True, "therapy"),
        ("selinexor", "XPO1", True, "therapy"),
        ("venetoclax", "BCL2", True, "therapy"),
        ("panobinostat", "HDAC", True, "therapy"),
        ("doxorubicin", "anthracycline", True, "therapy"),
        ("busulfan", "alkylator", True, "conditioning"),
        ("dexamethasone", "steroid", False, "steroid"),
        ("autologous stem cell transplant", "procedure", True, "procedure"),
        ("leukapheresis", "procedure", False, "procedure"),
        ("fludarabine", "supportive", False, "lymphodepletion"),
        ("plerixafor", "supportive", False, "mobilisation"),
        ("zoledronic acid", "supportive", False, "supportive"),
    ],
)
def test_class_anti_myeloma_and_role(vocab, generic, drug_class, anti_myeloma, role):
    row = vocab.drug_info[generic]
    assert (row["drug_class"], row["anti_myeloma"], row["role"]) == (drug_class, anti_myeloma, role)


def test_codes_only_with_a_source(vocab):
    coded = vocab.drugs.filter(pl.col("rxnorm").is_not_null() | pl.col("atc").is_not_null())
    assert coded["code_source"].null_count() == 0
    atc = vocab.drugs["atc"].drop_nulls()
    assert atc.str.contains(r"^[A-Z]\d{2}[A-Z]{2}\d{2}$").all()
    assert vocab.drugs["rxnorm"].drop_nulls().str.contains(r"^\d+$").all()


def test_inconsistent_tables_are_refused(vocab):
    names = pl.concat(
        [
            vocab.names.select("name", "generic_name", "kind"),
            pl.DataFrame(
                {"name": ["Revlimid"], "generic_name": ["thalidomide"], "kind": ["brand"]}
            ),
        ]
    )
    with pytest.raises(InvalidDataError, match="revlimid"):
        build_vocabulary(vocab.drugs, names, vocab.regimens)
    drugs = vocab.drugs.with_columns(
        pl.when(pl.col("generic_name") == "lenalidomide")
        .then(pl.lit("immunomodulator"))
        .otherwise(pl.col("drug_class"))
        .alias("drug_class")
    )
    with pytest.raises(InvalidDataError, match="immunomodulator"):
        build_vocabulary(drugs, vocab.names.select("name", "generic_name", "kind"), vocab.regimens)
