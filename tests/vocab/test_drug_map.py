"""User drug maps: every validation error with a failing input, overrides and extensions."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from mmrwe.errors import ConfigError
from mmrwe.vocab import load_vocabulary, map_drugs, read_drug_map

GOOD = """name,generic_name,class
LEN-25,lenalidomide,
Rev 10mg,Revlimid,IMiD
XYZ-123,,investigational
mezigdomide,mezigdomide,investigational
CC-92480,mezigdomide,investigational
"""


def write(tmp_path: Path, text: str, name: str = "map.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_good_map_is_resolved(tmp_path):
    table = read_drug_map(write(tmp_path, GOOD))
    rows = {
        r["name"]: (r["generic_name"], r["drug_class"], r["row"])
        for r in table.iter_rows(named=True)
    }
    assert rows == {
        "LEN-25": ("lenalidomide", "IMiD", 1),  # class filled from the vocabulary
        "Rev 10mg": ("lenalidomide", "IMiD", 2),  # a brand given as generic_name is resolved
        "XYZ-123": ("XYZ-123", "investigational", 3),  # empty generic_name = the name itself
        "mezigdomide": ("mezigdomide", "investigational", 4),
        "CC-92480": ("mezigdomide", "investigational", 5),
    }


def test_map_extends_the_vocabulary(tmp_path):
    vocab = load_vocabulary().with_drug_map(read_drug_map(write(tmp_path, GOOD)))
    assert vocab.generic_name("len 25") == "lenalidomide"
    assert vocab.generic_name("cc92480") == "mezigdomide"
    info = vocab.drug_info["mezigdomide"]
    assert (info["drug_class"], info["anti_myeloma"], info["role"]) == (
        "investigational",
        True,
        "therapy",
    )
    assert vocab.drug_info["XYZ-123"]["anti_myeloma"] is True
    # shipped names are untouched and the shipped vocabulary itself is not modified
    assert vocab.generic_name("Revlimid") == "lenalidomide"
    assert load_vocabulary().generic_name("len 25") is None


def test_user_name_overrides_a_shipped_name(tmp_path):
    # A site writes "MEL" for its own melflufen orders: the user's meaning wins.
    path = write(tmp_path, "name,generic_name,class\nMEL,melphalan flufenamide,\n")
    vocab = load_vocabulary().with_drug_map(read_drug_map(path))
    assert load_vocabulary().generic_name("mel") == "melphalan"
    assert vocab.generic_name("mel") == "melphalan flufenamide"
    assert vocab.names.filter(pl.col("key") == "mel").height == 1


def test_user_classes_for_new_ingredients(tmp_path):
    text = "name,generic_name,class\nhydrocortisone,,steroid\nondansetron-odt,ondansetron,\nrad,radiotherapy,procedure\n"
    vocab = load_vocabulary().with_drug_map(read_drug_map(write(tmp_path, text)))
    assert (
        vocab.drug_info["hydrocortisone"]["anti_myeloma"],
        vocab.drug_info["hydrocortisone"]["role"],
    ) == (False, "steroid")
    assert vocab.drug_info["radiotherapy"]["role"] == "procedure"
    assert vocab.generic_name("ondansetron ODT") == "ondansetron"


def test_map_drugs_with_a_drug_map_path(tmp_path):
    treatments = pl.DataFrame(
        {
            "patient_id": ["A", "A", "B"],
            "drug": ["XYZ-123", "len-25", "unknownium"],
        }
    )
    mapped, unmapped = map_drugs(treatments, drug_map=write(tmp_path, GOOD))
    assert mapped["generic_name"].to_list() == ["XYZ-123", "lenalidomide", None]
    assert mapped["anti_myeloma"].to_list() == [True, True, False]
    assert unmapped.to_dicts() == [{"drug": "unknownium", "rows": 1, "patients": 1}]


# (case, file text, column, row, value, words of the fix)
ERRORS = [
    (
        "empty name",
        "name,generic_name,class\n,lenalidomide,\n",
        "name",
        1,
        None,
        "write the drug name",
    ),
    (
        "blank name",
        "name,generic_name,class\nok,lenalidomide,\n  ,lenalidomide,\n",
        "name",
        2,
        None,
        "write the drug name",
    ),
    (
        "unknown class",
        "name,generic_name,class\nABC-1,abc,novel\n",
        "class",
        1,
        "'novel'",
        "use one of",
    ),
    (
        "class in wrong case",
        "name,generic_name,class\nABC-1,abc,imid\n",
        "class",
        1,
        "'imid'",
        "exact spelling",
    ),
    (
        "new drug without class",
        "name,generic_name,class\nABC-1,abcumab,\n",
        "class",
        1,
        None,
        "give the class",
    ),
    ("nothing to map to", "name,generic_name,class\nABC-1,,\n", "class", 1, None, "give the class"),
    (
        "class contradicts shipped class",
        "name,generic_name,class\nlen-5,lenalidomide,PI\n",
        "class",
        1,
        "'PI'",
        "write IMiD",
    ),
    (
        "name to two generics",
        "name,generic_name,class\nLEN 5,lenalidomide,\nlen-5,thalidomide,\n",
        "generic_name",
        2,
        "'thalidomide'",
        "one generic name per name",
    ),
    (
        "new generic with two classes",
        "name,generic_name,class\nA-1,abc,investigational\nA-2,abc,PI\n",
        "class",
        2,
        "'PI'",
        "one class per generic",
    ),
]


@pytest.mark.parametrize(
    ("case", "text", "column", "row", "value", "fix"), ERRORS, ids=[e[0] for e in ERRORS]
)
def test_drug_map_errors_name_file_column_row_value_and_fix(
    tmp_path, case, text, column, row, value, fix
):
    with pytest.raises(ConfigError) as info:
        read_drug_map(write(tmp_path, text, "site_map.csv"))
    message = str(info.value)
    assert f"site_map.csv, column '{column}', row {row}" in message
    if value is not None:
        assert f"(value {value})" in message
    assert "Fix:" in message and fix in message


def test_all_problems_are_reported_at_once(tmp_path):
    text = "name,generic_name,class\n,x,\nB,b,nonsense\nC,c,\n"
    with pytest.raises(ConfigError, match=r"3 problem\(s\)") as info:
        read_drug_map(write(tmp_path, text))
    assert all(f"row {r}" in str(info.value) for r in (1, 2, 3))


def test_missing_columns(tmp_path):
    with pytest.raises(
        ConfigError, match=r"map\.csv: the drug map lacks the column\(s\) class"
    ) as info:
        read_drug_map(write(tmp_path, "name,generic_name\nx,lenalidomide\n"))
    assert "Fix: add a header row name,generic_name,class" in str(info.value)


def test_header_case_and_extra_columns_are_tolerated(tmp_path):
    table = read_drug_map(
        write(tmp_path, "Name , Generic_Name,CLASS,comment\nlen-5,lenalidomide,,site A\n")
    )
    assert table["generic_name"].to_list() == ["lenalidomide"]


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        read_drug_map(tmp_path / "nowhere.csv")


def test_spreadsheet_byte_order_mark_is_tolerated(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbfname,generic_name,class\nlen-5,lenalidomide,\n")
    assert read_drug_map(path)["generic_name"].to_list() == ["lenalidomide"]


def test_unreadable_file(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("name,generic_name,class\nlénalidomide,lenalidomide,\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"could not be read as CSV.*UTF-8"):
        read_drug_map(path)
