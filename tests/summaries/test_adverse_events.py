"""Adverse events per regimen on hand-made histories; small cells protected.

Histories (threshold 0 unless stated):
  P1 ide-cel, infused 2021-02-01 (line from 2021-01-01 to 2021-12-31): CRS grade 2 on 01-20
     during bridging (before the infusion: not this line's), CRS grade 1 on 02-02 and grade 3 on
     02-05 (one patient, counted once at grade 3), neutrophil count decreased grade 4.
  P2 ide-cel, infused 2021-03-01, line ends 2021-06-30: CRS grade 2 on the infusion day
     (counted: the window is inclusive), ICANS grade 5 (counts in grade >= 3), neutrophil count
     decreased grade 2 on the last day of the line, fatigue on 07-01 (after the line: not counted).
  P5 ide-cel, no adverse event.
  P3 KRd 2020-01-01 to 2020-06-30: fatigue grade 3 then grade 1 (worst 3), nausea the day
     before the line (not counted).
  P4 KRd from 2020-05-01, line still open (no end): fatigue grade 2 in 2025 (counted).
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from mmrwe.errors import InvalidDataError
from mmrwe.privacy import WITHHELD, Same, Sum, recoverable_cells
from mmrwe.stats.adverse_events import adverse_events

#: terms as MedDRA preferred terms (recorded so, they are kept so)
CRS = "Cytokine release syndrome"
ICANS = "Immune effector cell-associated neurotoxicity syndrome"
NEUTRO = "Neutrophil count decreased"
D = dt.date


def lines() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "patient_id": ["P3", "P1", "P2", "P4", "P5"],
            "line": [2, 2, 3, 2, 4],
            "regimen": ["KRd", "ide-cel", "ide-cel", "KRd", "ide-cel"],
            "group": ["line 2", "line 2", "line 3+", "line 2", "line 3+"],
            "group_order": [1, 1, 2, 1, 2],
            "index_date": [
                D(2020, 1, 1),
                D(2021, 2, 1),
                D(2021, 3, 1),
                D(2020, 5, 1),
                D(2022, 1, 1),
            ],
            "end_date": [D(2020, 6, 30), D(2021, 12, 31), D(2021, 6, 30), None, D(2022, 9, 1)],
        }
    )


def events() -> pl.DataFrame:
    rows = [
        ("P1", CRS, D(2021, 1, 20), 2, "ASTCT"),
        ("P1", CRS, D(2021, 2, 5), 3, "ASTCT"),
        ("P1", CRS, D(2021, 2, 2), 1, "ASTCT"),
        ("P1", NEUTRO, D(2021, 2, 10), 4, "CTCAE"),
        ("P2", CRS, D(2021, 3, 1), 2, "ASTCT"),
        ("P2", ICANS, D(2021, 3, 10), 5, "ASTCT"),
        ("P2", NEUTRO, D(2021, 6, 30), 2, "CTCAE"),
        ("P2", "Fatigue", D(2021, 7, 1), 1, "CTCAE"),
        ("P3", "Fatigue", D(2020, 2, 1), 3, "CTCAE"),
        ("P3", "Fatigue", D(2020, 3, 1), 1, "CTCAE"),
        ("P3", "Nausea", D(2019, 12, 31), 1, "CTCAE"),
        ("P4", "Fatigue", D(2025, 1, 1), 2, "CTCAE"),
    ]
    return pl.DataFrame(
        rows, schema=["patient_id", "term", "onset_date", "grade", "grading"], orient="row"
    )


def row(out: pl.DataFrame, regimen: str, term: str) -> dict:
    return out.filter(pl.col("regimen") == regimen, pl.col("term") == term).row(0, named=True)


def test_counts_per_regimen_and_term() -> None:
    out = adverse_events(lines(), events(), threshold=0)
    crs = row(out, "ide-cel", CRS)
    assert (crs["n_patients"], crs["n_any_grade"], crs["n_grade_3_plus"]) == (3, 2, 1)
    assert [crs[f"n_grade_{g}"] for g in range(1, 6)] == [0, 1, 1, 0, 0]
    assert crs["pct_any_grade"] == 66.7
    icans = row(out, "ide-cel", ICANS)
    assert (icans["n_any_grade"], icans["n_grade_3_plus"], icans["n_grade_5"]) == (1, 1, 1)
    neutro = row(out, "ide-cel", NEUTRO)
    assert (neutro["n_any_grade"], neutro["n_grade_3_plus"], neutro["n_grade_1"]) == (2, 1, None)
    assert row(out, "ide-cel", "Fatigue")["n_any_grade"] == 0
    fatigue = row(out, "KRd", "Fatigue")
    assert (fatigue["n_patients"], fatigue["n_any_grade"], fatigue["n_grade_3_plus"]) == (2, 2, 1)
    assert fatigue["pct_grade_3_plus"] == 50.0
    assert "Nausea" not in out["term"]  # only before a line: the term is not listed at all
    assert row(out, "KRd", CRS)["n_grade_2"] == 0  # every group shows every term


def test_order() -> None:
    out = adverse_events(lines(), events(), threshold=0)
    assert out.select("regimen", "term").rows() == [
        ("KRd", "Fatigue"),
        ("KRd", CRS),
        ("KRd", ICANS),
        ("KRd", NEUTRO),
        ("ide-cel", CRS),
        ("ide-cel", NEUTRO),
        ("ide-cel", ICANS),
        ("ide-cel", "Fatigue"),
    ]


def test_by_analysis_group() -> None:
    out = adverse_events(lines(), events(), by="group", threshold=0)
    assert out["group"].unique(maintain_order=True).to_list() == ["line 2", "line 3+"]
    line3 = out.filter(pl.col("group") == "line 3+", pl.col("term") == CRS).row(0, named=True)
    assert (line3["n_patients"], line3["n_any_grade"], line3["n_grade_2"]) == (2, 1, 1)


def cohort(spec: dict[str, tuple[int, list[tuple[str, str, list[int]]]]]):
    """Lines and events from {regimen: (patients, [(term, grading, patients by worst grade)])}."""
    lines_rows, ae_rows = [], []
    for regimen, (n, terms) in spec.items():
        ids = [f"{regimen}-{i}" for i in range(n)]
        lines_rows += [(pid, 1, regimen, D(2022, 1, 1), D(2022, 12, 31)) for pid in ids]
        for term, grading, by_grade in terms:
            k = 0
            for grade, count in enumerate(by_grade, start=1):
                ae_rows += [(ids[k + j], term, D(2022, 3, 1), grade, grading) for j in range(count)]
                k += count
    return (
        pl.DataFrame(
            lines_rows,
            schema=["patient_id", "line", "regimen", "index_date", "end_date"],
            orient="row",
        ),
        pl.DataFrame(
            ae_rows, schema=["patient_id", "term", "onset_date", "grade", "grading"], orient="row"
        ),
    )


def test_small_cells_are_protected() -> None:
    analysis_lines, ae = cohort(
        {
            "cilta-cel": (
                40,
                [
                    (CRS, "ASTCT", [20, 12, 3, 0, 1]),
                    (NEUTRO, "CTCAE", [4, 6, 10, 5, 0]),
                    (ICANS, "ASTCT", [5, 8, 0, 0, 0]),
                ],
            ),
            "Pd": (8, [("Fatigue", "CTCAE", [2, 1, 0, 0, 0])]),
        }
    )
    out = adverse_events(analysis_lines, ae)
    grades = tuple(f"n_grade_{g}" for g in range(1, 6))
    counts = ["n_patients", "n_any_grade", "n_grade_3_plus", *grades]
    relations = [
        Same("n_patients", ("regimen",)),
        Sum("n_any_grade", grades),
        Sum("n_grade_3_plus", grades[2:]),
    ]
    assert recoverable_cells(out, counts, relations) == []
    crs = row(out, "cilta-cel", CRS)
    # grade >= 3 (4) = any (36) - grade 1 (20) - grade 2 (12): grade 2 has to go as well
    assert (crs["n_any_grade"], crs["n_grade_1"], crs["n_grade_2"]) == ("36", "20", WITHHELD)
    assert (crs["n_grade_3"], crs["n_grade_5"], crs["n_grade_3_plus"]) == ("<11", "<11", "<11")
    assert crs["pct_grade_3"] is None
    assert crs["pct_any_grade"] == 90.0
    neutro = row(out, "cilta-cel", NEUTRO)
    assert (neutro["n_any_grade"], neutro["n_grade_3_plus"]) == ("25", "15")
    icans = row(out, "cilta-cel", ICANS)
    assert (icans["n_any_grade"], icans["n_grade_1"], icans["n_grade_2"]) == ("13", "<11", "<11")
    # a group of 8 patient-lines: its size and every percentage withheld
    pd_rows = out.filter(pl.col("regimen") == "Pd")
    assert set(pd_rows["n_patients"]) == {"<11"}
    assert pd_rows["pct_any_grade"].null_count() == pd_rows.height
    # order as published: counts, then '<11', then zeros
    assert out.filter(pl.col("regimen") == "cilta-cel")["n_any_grade"].to_list() == [
        "36",
        "25",
        "13",
        "0",
    ]
    assert pd_rows["term"].to_list()[0] == "Fatigue"
    assert "patient_id" not in out.columns
    ids = set(analysis_lines["patient_id"])
    assert not any(v in ids for col in out.columns for v in out[col].cast(pl.String).to_list())


def test_same_patient_counted_once_per_line() -> None:
    analysis_lines, ae = cohort({"cilta-cel": (12, [(CRS, "ASTCT", [0, 12, 0, 0, 0])])})
    ae = pl.concat(
        [ae, ae.with_columns(grade=pl.lit(1, pl.Int64), onset_date=pl.lit(D(2022, 4, 1)))]
    )
    out = adverse_events(analysis_lines, ae, threshold=0)
    crs = row(out, "cilta-cel", CRS)
    assert (crs["n_any_grade"], crs["n_grade_1"], crs["n_grade_2"]) == (12, 0, 12)


def test_grade_outside_one_to_five_is_an_error() -> None:
    bad = events().with_columns(
        grade=pl.when(pl.col("term") == "Nausea").then(6).otherwise(pl.col("grade"))
    )
    with pytest.raises(InvalidDataError, match="patient 'P3', term 'Nausea', grade 6"):
        adverse_events(lines(), bad)


def test_terms_are_normalised_to_meddra_preferred_terms() -> None:
    """Issue 15 item 10: 'CRS' and 'Cytokine release syndrome' are one term (MedDRA PT
    Cytokine release syndrome; ASTCT abbreviations, Lee DW et al., Biol Blood Marrow Transplant
    2019). P1's CRS grade 1 (as 'CRS') and grade 3 (as 'Cytokine release syndrome') count once,
    at grade 3; P2's 'ICANS' is the PT Immune effector cell-associated neurotoxicity syndrome;
    'tumour flare' is in no synonym list: kept as recorded and marked unmapped."""
    rows = [
        ("P1", "CRS", D(2021, 2, 2), 1, "ASTCT"),
        ("P1", " Cytokine release  syndrome", D(2021, 2, 5), 3, "ASTCT"),
        ("P2", "cytokine release syndrome", D(2021, 3, 1), 2, "ASTCT"),
        ("P2", "ICANS", D(2021, 3, 10), 5, "ASTCT"),
        ("P2", "tumour flare", D(2021, 3, 11), 1, "CTCAE"),
    ]
    ae = pl.DataFrame(
        rows, schema=["patient_id", "term", "onset_date", "grade", "grading"], orient="row"
    )
    out = adverse_events(lines(), ae, threshold=0).filter(pl.col("regimen") == "ide-cel")
    assert sorted(out["term"].to_list()) == [
        "Cytokine release syndrome",
        "Immune effector cell-associated neurotoxicity syndrome",
        "tumour flare",
    ]
    crs = row(out, "ide-cel", "Cytokine release syndrome")
    assert (crs["n_any_grade"], crs["n_grade_3_plus"], crs["n_grade_1"]) == (2, 1, 0)
    coding = dict(zip(out["term"], out["term_coding"], strict=True))
    assert coding["Cytokine release syndrome"] == "MedDRA PT"
    assert coding["tumour flare"] == "unmapped"


def test_synonym_list_is_sourced_and_closed() -> None:
    """Every synonym names its source; every preferred term maps to itself; keys are unique."""
    from mmrwe.stats.adverse_events import term_synonyms

    syn = term_synonyms()
    assert syn["term"].is_unique().all()
    assert syn["source"].str.len_chars().min() > 0
    pts = set(syn["preferred_term"])
    assert pts <= set(
        syn.filter(pl.col("term") == pl.col("preferred_term").str.to_lowercase())["preferred_term"]
    )
