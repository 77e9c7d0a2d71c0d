"""Table 1 of a 12-patient toy population, every number worked out by hand.

'line 2' (7 patient-lines, P01-P07) and 'line 3+' (5, P08-P12); rows deliberately unsorted.
Age, prior lines, refractoriness and years since diagnosis come from analysis_lines; sex,
stages, cytogenetic risk and ECOG from patients (recorded at diagnosis). Missing values: P05's
birth year (age unknown) and sex 'U', P04's ISS/R-ISS/cytogenetics/ECOG, P03's R-ISS and
cytogenetic risk 'unknown', P11's R-ISS, cytogenetics and ECOG, P12's sex.
Quartiles by R's quantile(type = 7): position 1 + p (n - 1), linear between order statistics.
"""

from __future__ import annotations

import polars as pl
import pytest

from mmrwe.errors import InvalidDataError, MmrweError
from mmrwe.privacy import WITHHELD, recoverable_cells
from mmrwe.stats.baseline import baseline_relations, baseline_table

T, F = True, False
#: pid, group, age, prior lines, len, pi, cd38, triple, penta, triple-exposed, years
LINES = [
    ("P08", "line 3+", 64, 2, T, T, T, T, F, T, 5.0),
    ("P01", "line 2", 60, 1, T, F, F, F, F, F, 1.0),
    ("P02", "line 2", 66, 1, T, T, F, F, F, F, 2.0),
    ("P03", "line 2", 70, 1, F, F, F, F, F, F, 0.5),
    ("P09", "line 3+", 72, 3, T, T, T, T, T, T, 6.0),
    ("P04", "line 2", 75, 1, T, F, F, F, F, F, 3.0),
    ("P05", "line 2", None, 1, T, T, T, T, F, T, 1.5),
    ("P06", "line 2", 58, 1, F, F, F, F, F, F, 4.0),
    ("P10", "line 3+", 69, 4, T, T, T, T, F, T, 7.5),
    ("P07", "line 2", 81, 1, T, T, F, F, F, F, 2.5),
    ("P11", "line 3+", 77, 5, T, F, T, F, F, T, 3.5),
    ("P12", "line 3+", 65, 2, F, T, F, F, F, F, 4.5),
]
#: pid, sex, ISS, R-ISS, cytogenetic risk, ECOG
PATIENTS = [
    ("P01", "F", "I", "I", "standard", 0),
    ("P02", "M", "II", "II", "high", 1),
    ("P03", "M", "III", None, "unknown", 2),
    ("P04", "F", None, None, None, None),
    ("P05", "U", "II", "II", "standard", 3),
    ("P06", "F", "I", "I", "standard", 0),
    ("P07", "M", "III", "III", "high", 1),
    ("P08", "F", "II", "II", "standard", 1),
    ("P09", "M", "I", "I", "standard", 0),
    ("P10", "M", "III", "III", "high", 2),
    ("P11", "F", "II", None, "unknown", None),
    ("P12", None, "II", "II", "standard", 1),
]


def tables() -> tuple[pl.DataFrame, pl.DataFrame]:
    flags = [
        "len_refractory",
        "pi_refractory",
        "anti_cd38_refractory",
        "triple_class_refractory",
        "penta_refractory",
        "triple_class_exposed",
    ]
    lines = pl.DataFrame(
        LINES,
        schema=[
            "patient_id",
            "group",
            "age_at_index",
            "prior_lines",
            *flags,
            "years_since_diagnosis",
        ],
        orient="row",
    ).with_columns(
        group_order=pl.when(pl.col("group") == "line 2").then(1).otherwise(2),
        line=pl.col("prior_lines") + 1,
    )
    patients = pl.DataFrame(
        PATIENTS,
        schema=["patient_id", "sex", "iss_stage", "r_iss_stage", "cytogenetic_risk", "ecog"],
        orient="row",
    )
    return lines, patients


#: (characteristic, level): (line 2, line 3+, Total), by hand
EXPECTED = {
    ("Patients", "n"): ("7", "5", "12"),
    ("Age at index (years)", "median (IQR)"): (
        "68.0 (61.5-73.8)",  # 58 60 66 70 75 81: (66+70)/2; Q1 60+0.25*6; Q3 70+0.75*5
        "69.0 (65.0-72.0)",  # 64 65 69 72 77
        "69.0 (64.5-73.5)",  # 11 known ages: Q1 at 3.5 (64, 65), Q3 at 8.5 (72, 75)
    ),
    ("Age at index (years)", "range"): ("58-81", "64-77", "58-81"),
    ("Age at index (years)", "≥ 65"): ("4 (57.1%)", "4 (80.0%)", "8 (66.7%)"),
    ("Age at index (years)", "≥ 75"): ("2 (28.6%)", "1 (20.0%)", "3 (25.0%)"),
    ("Age at index (years)", "unknown"): ("1 (14.3%)", "0", "1 (8.3%)"),
    ("Sex", "female"): ("3 (42.9%)", "2 (40.0%)", "5 (41.7%)"),
    ("Sex", "male"): ("3 (42.9%)", "2 (40.0%)", "5 (41.7%)"),
    ("Sex", "unknown"): ("1 (14.3%)", "1 (20.0%)", "2 (16.7%)"),  # 'U' and missing
    ("ISS stage at diagnosis", "I"): ("2 (28.6%)", "1 (20.0%)", "3 (25.0%)"),
    ("ISS stage at diagnosis", "II"): ("2 (28.6%)", "3 (60.0%)", "5 (41.7%)"),
    ("ISS stage at diagnosis", "III"): ("2 (28.6%)", "1 (20.0%)", "3 (25.0%)"),
    ("ISS stage at diagnosis", "unknown"): ("1 (14.3%)", "0", "1 (8.3%)"),
    ("R-ISS stage at diagnosis", "I"): ("2 (28.6%)", "1 (20.0%)", "3 (25.0%)"),
    ("R-ISS stage at diagnosis", "II"): ("2 (28.6%)", "2 (40.0%)", "4 (33.3%)"),
    ("R-ISS stage at diagnosis", "III"): ("1 (14.3%)", "1 (20.0%)", "2 (16.7%)"),
    ("R-ISS stage at diagnosis", "unknown"): ("2 (28.6%)", "1 (20.0%)", "3 (25.0%)"),
    ("Cytogenetic risk at diagnosis", "high"): ("2 (28.6%)", "1 (20.0%)", "3 (25.0%)"),
    ("Cytogenetic risk at diagnosis", "standard"): ("3 (42.9%)", "3 (60.0%)", "6 (50.0%)"),
    ("Cytogenetic risk at diagnosis", "unknown"): ("2 (28.6%)", "1 (20.0%)", "3 (25.0%)"),
    ("ECOG performance status at diagnosis", "0"): ("2 (28.6%)", "1 (20.0%)", "3 (25.0%)"),
    ("ECOG performance status at diagnosis", "1"): ("2 (28.6%)", "2 (40.0%)", "4 (33.3%)"),
    ("ECOG performance status at diagnosis", "≥ 2"): ("2 (28.6%)", "1 (20.0%)", "3 (25.0%)"),
    ("ECOG performance status at diagnosis", "unknown"): ("1 (14.3%)", "1 (20.0%)", "2 (16.7%)"),
    ("Prior lines of therapy", "median (range)"): ("1 (1-1)", "3 (2-5)", "1 (1-5)"),
    ("Prior lines of therapy", "0"): ("0", "0", "0"),
    ("Prior lines of therapy", "1"): ("7 (100.0%)", "0", "7 (58.3%)"),
    ("Prior lines of therapy", "2"): ("0", "2 (40.0%)", "2 (16.7%)"),
    ("Prior lines of therapy", "3"): ("0", "1 (20.0%)", "1 (8.3%)"),
    ("Prior lines of therapy", "≥ 4"): ("0", "2 (40.0%)", "2 (16.7%)"),
    ("Prior lines of therapy", "unknown"): ("0", "0", "0"),
    ("Years from diagnosis to index", "median (IQR)"): (
        "2.0 (1.2-2.8)",  # 0.5 … 4.0: Q1 1.25, Q3 2.75 (printed half-to-even, as C/R sprintf)
        "5.0 (4.5-6.0)",
        "3.2 (1.9-4.6)",  # (3.0+3.5)/2 = 3.25; Q1 1.875; Q3 4.625
    ),
    ("Refractory: lenalidomide", "yes"): ("5 (71.4%)", "4 (80.0%)", "9 (75.0%)"),
    ("Refractory: proteasome inhibitor", "yes"): ("3 (42.9%)", "4 (80.0%)", "7 (58.3%)"),
    ("Refractory: anti-CD38 antibody", "yes"): ("1 (14.3%)", "4 (80.0%)", "5 (41.7%)"),
    ("Refractory: triple-class", "yes"): ("1 (14.3%)", "3 (60.0%)", "4 (33.3%)"),
    ("Refractory: penta-drug", "yes"): ("0", "1 (20.0%)", "1 (8.3%)"),
    ("Exposed: triple-class", "yes"): ("1 (14.3%)", "4 (80.0%)", "5 (41.7%)"),
}


def test_table_one_by_hand() -> None:
    out = baseline_table(*tables(), threshold=0)
    assert out.columns == ["characteristic", "level", "line 2", "line 3+", "Total"]
    got = {(r[0], r[1]): tuple(r[2:]) for r in out.rows()}
    assert got == EXPECTED
    assert [(r[0], r[1]) for r in out.rows()] == list(EXPECTED)  # display order


def test_unknowns_are_counted_not_dropped() -> None:
    out = baseline_table(*tables(), threshold=0)
    for characteristic in ("Sex", "ISS stage at diagnosis", "ECOG performance status at diagnosis"):
        levels = out.filter(pl.col("characteristic") == characteristic)
        total = sum(int(v.split(" ")[0]) for v in levels["Total"])
        assert total == 12, characteristic


def test_one_group_has_no_total_column() -> None:
    lines, patients = tables()
    out = baseline_table(lines.with_columns(group=pl.lit("all")), patients, threshold=0)
    assert out.columns == ["characteristic", "level", "all"]
    assert out.filter(pl.col("level") == "n")["all"].to_list() == ["12"]


def counts_of(out: pl.DataFrame) -> pl.DataFrame:
    """The published counts (the number before ' (x%)', or the marker) of the count rows."""
    summaries = ("median (IQR)", "range", "range (to 5 years)", "median (range)")
    cols = [c for c in out.columns if c not in ("characteristic", "level")]
    return out.filter(~pl.col("level").is_in(summaries)).with_columns(
        pl.col(cols).str.replace(r" \(.*\)$", "")
    )


def test_small_cells_are_protected() -> None:
    out = baseline_table(*tables())  # threshold 11: both groups are small
    counts = counts_of(out)
    cols = ["line 2", "line 3+", "Total"]
    assert recoverable_cells(counts, cols, baseline_relations(cols, ["line 2", "line 3+"])) == []
    n_row = out.filter(pl.col("level") == "n").row(0)
    assert n_row[2:] == ("<11", "<11", "12")
    age = out.filter(
        pl.col("level") == "median (IQR)", pl.col("characteristic").str.starts_with("Age")
    )
    # 7 and 5 ages: withheld; the Total's 12 too, since its '≥ 65' count is hidden (issue 20:
    # the quartiles bound it)
    assert age.row(0)[2:] == (WITHHELD, WITHHELD, WITHHELD)
    sex = out.filter(pl.col("characteristic") == "Sex")
    assert sex["Total"].to_list() == ["<11", "<11", "<11"]  # 5, 5, 2: no percentages
    for col in cols:
        assert not out[col].str.contains("%").any() or col == "Total"


def test_no_identifier_is_published() -> None:
    lines, patients = tables()
    out = baseline_table(lines, patients)
    ids = set(lines["patient_id"])
    assert not any(v in ids for c in out.columns for v in out[c].to_list())


def test_threshold_six() -> None:
    out = baseline_table(*tables(), threshold=6)
    counts = counts_of(out)
    cols = ["line 2", "line 3+", "Total"]
    assert recoverable_cells(counts, cols, baseline_relations(cols, ["line 2", "line 3+"])) == []
    # every published count is the true one, every hidden one is marked
    for r in counts.rows():
        for shown, true in zip(r[2:], EXPECTED[(r[0], r[1])], strict=True):
            n = int(true.split(" ")[0])
            assert shown in (str(n), "<6", WITHHELD)
            assert shown != "<6" or 1 <= n <= 5
            assert shown != WITHHELD or n >= 6
    assert out.row(0)[2:] == (WITHHELD, "<6", "12")  # 12 - 5 would give 7 back
    age = out.filter(pl.col("level") == "median (IQR)").row(0)
    # 6, 5, 11 known ages, but each column's '≥ 65' or '≥ 75' count is hidden: the quartiles
    # would bound it (issue 20)
    assert age[2:] == (WITHHELD, WITHHELD, WITHHELD)


def test_threshold_three_cannot_protect_the_toy() -> None:
    # '<3' means 1 or 2: with 7 patient-lines split 3/3/1 by sex, 2/2/2/1 by ISS, ... the
    # small counts pin each other even with every non-zero count hidden. mmrwe refuses.
    with pytest.raises(MmrweError, match="Group the levels or the analysis groups"):
        baseline_table(*tables(), threshold=3)


def test_missing_columns_are_named() -> None:
    lines, patients = tables()
    with pytest.raises(InvalidDataError, match=r"'patients' table lacks the column\(s\) 'ecog'"):
        baseline_table(lines, patients.drop("ecog"))


def test_patients_in_several_groups_are_counted_as_patient_lines() -> None:
    """Issue 15 item 6: by line, a patient is in several groups, so the Total column counts
    patient-lines, not patients. Here P01-P05 (line 2) are also P08-P12 (line 3+): 12
    patient-lines of 7 patients; the row and the column say patient-lines."""
    lines, patients = tables()
    same = {"P08": "P01", "P09": "P02", "P10": "P03", "P11": "P04", "P12": "P05"}
    lines = lines.with_columns(pl.col("patient_id").replace(same))
    out = baseline_table(lines, patients, threshold=0)
    assert out.columns == ["characteristic", "level", "line 2", "line 3+", "All patient-lines"]
    assert out.row(0) == ("Patient-lines", "n", "7", "5", "12")
    assert "Patients" not in out["characteristic"].to_list()


def test_distinct_patients_keep_the_patients_label() -> None:
    out = baseline_table(*tables(), threshold=0)
    assert out.row(0) == ("Patients", "n", "7", "5", "12")
