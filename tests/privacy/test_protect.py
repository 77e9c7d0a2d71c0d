"""Small-cell suppression on hand-made tables: which cells are hidden, and why.

Threshold 11 unless stated (CMS cell-size suppression policy). ``<11`` is a count of 1-10;
``withheld`` a count hidden so that a small one cannot be recovered (it is >= 11).
"""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from mmrwe.errors import InvalidDataError, ParameterError
from mmrwe.privacy import (
    ATTRITION_COUNTS,
    WITHHELD,
    Relation,
    RowSum,
    Same,
    Sum,
    attrition_relations,
    protect,
    protect_attrition,
    recoverable_cells,
    suppress_counts,
)

PARTS = ("a", "b", "c", "d", "e")
COUNTS = ["n", *PARTS]
ROW_SUM = [Sum("n", PARTS)]


def one_row(n: int, parts: list[int]) -> pl.DataFrame:
    return pl.DataFrame(
        {"group": ["x"], "n": [n], **{p: [v] for p, v in zip(PARTS, parts, strict=True)}}
    )


def cells(df: pl.DataFrame) -> list[str]:
    return list(df.select(COUNTS).row(0))


def test_one_small_cell_in_a_group_of_five_hides_two() -> None:
    # 3 of 60 is small; the total is published, so one more part must go: the smallest, 12
    # (the first of the two 12s). 60 - 15 - 18 - 12 = 15 = a + b with a in 1..10, b >= 11.
    out = protect(one_row(60, [3, 12, 15, 18, 12]), COUNTS, relations=ROW_SUM)
    assert cells(out) == ["60", "<11", WITHHELD, "15", "18", "12"]
    assert recoverable_cells(out, COUNTS, ROW_SUM) == []


def test_small_total_hides_every_non_zero_cell_and_shows_zeros() -> None:
    out = protect(one_row(8, [3, 5, 0, 0, 0]), COUNTS, relations=ROW_SUM)
    assert cells(out) == ["<11", "<11", "<11", "0", "0", "0"]


def test_small_total_with_one_part() -> None:
    # 9 = 9 + 0 + …: total and part both below the threshold, nothing else to hide
    out = protect(one_row(9, [0, 9, 0, 0, 0]), COUNTS, relations=ROW_SUM)
    assert cells(out) == ["<11", "0", "<11", "0", "0", "0"]


def test_bounds_force_the_total_out() -> None:
    # 12 = 1 + 11: with '1' as <11 (1..10) and '11' withheld (>= 11), 12 leaves only 1 + 11,
    # so the total has to be withheld as well.
    out = protect(one_row(12, [1, 11, 0, 0, 0]), COUNTS, relations=ROW_SUM)
    assert cells(out) == [WITHHELD, "<11", WITHHELD, "0", "0", "0"]
    naive = pl.DataFrame(
        {c: [v] for c, v in zip(COUNTS, ["12", "<11", WITHHELD, "0", "0", "0"], strict=True)}
    )
    found = recoverable_cells(naive, COUNTS, ROW_SUM)
    assert [(r.column, r.value, r.method) for r in found] == [
        ("a", 1, "bounds"),
        ("b", 11, "bounds"),
    ]


def test_primary_suppression_alone_is_undone_by_subtraction() -> None:
    naive = pl.DataFrame(
        {c: [v] for c, v in zip(COUNTS, ["60", "<11", "12", "15", "18", "12"], strict=True)}
    )
    (found,) = recoverable_cells(naive, COUNTS, ROW_SUM)
    assert (found.row, found.column, found.value, found.method) == (0, "a", 3, "relation")


def test_nested_sums_are_solved_together() -> None:
    # n = a + b + c and s = a + b: hiding a, b and c leaves c = n - s (no single relation
    # has one unknown, the two together do)
    df = pl.DataFrame({"n": ["30"], "s": ["25"], "a": [WITHHELD], "b": [WITHHELD], "c": ["<11"]})
    rel = [Sum("n", ("a", "b", "c")), Sum("s", ("a", "b"))]
    (found,) = recoverable_cells(df, ["n", "s", "a", "b", "c"], rel)
    assert (found.column, found.value, found.method) == ("c", 5, "linear")


def test_nested_sums_are_protected() -> None:
    df = pl.DataFrame({"n": [40], "s": [30], "a": [12], "b": [18], "c": [4], "d": [6]})
    rel = [Sum("n", ("a", "b", "c", "d")), Sum("s", ("a", "b"))]
    out = protect(df, ["n", "s", "a", "b", "c", "d"], relations=rel)
    # c and d are small, a + b = s is published: c + d = 10 is published by difference, which
    # fixes neither. Nothing more needs hiding.
    assert out.row(0) == ("40", "30", "12", "18", "<11", "<11")
    assert recoverable_cells(out, ["n", "s", "a", "b", "c", "d"], rel) == []


def test_two_way_table_with_margins() -> None:
    # rows: levels of a characteristic, columns: groups and their total; one small cell forces
    # a rectangle of four hidden cells (Cox, 1980, J Am Stat Assoc)
    df = pl.DataFrame(
        {
            "level": ["all", "F", "M"],
            "g1": [50, 20, 30],
            "g2": [40, 4, 36],
            "total": [90, 24, 66],
        }
    )
    rel = [RowSum(("g1", "g2", "total"), "level", "all", ("F", "M")), Sum("total", ("g1", "g2"))]
    out = protect(df, ["g1", "g2", "total"], relations=rel)
    assert out["g2"].to_list() == ["40", "<11", WITHHELD]
    assert out["g1"].to_list() == ["50", WITHHELD, WITHHELD]
    assert out["total"].to_list() == ["90", "24", "66"]
    assert recoverable_cells(out, ["g1", "g2", "total"], rel) == []


def test_repeated_count_is_hidden_everywhere() -> None:
    df = pl.DataFrame({"group": ["a", "a", "b", "b"], "n": [7, 7, 30, 30], "x": [2, 0, 12, 20]})
    out = protect(df, ["n", "x"], relations=[Same("n", ("group",))])
    assert out["n"].to_list() == ["<11", "<11", "30", "30"]


def test_attrition_chain_hides_a_small_exclusion() -> None:
    # 500 -> (3 excluded) -> 497 -> (97) -> 400 -> (0) -> 400. Showing 497 would give 3 back
    # (500 - 497), so 497 goes, in both places it appears; then 97 = 497 - 400 must go too.
    attrition = pl.DataFrame(
        {
            "step": [1, 2, 3],
            "patients_before": [500, 497, 400],
            "patients_excluded": [3, 97, 0],
            "patients_after": [497, 400, 400],
            "rows_excluded": [5, 150, 0],
            "reason": ["no diagnosis date", "line not in [2]", "no lines"],
        }
    )
    out = protect_attrition(attrition)
    assert out["patients_before"].to_list() == ["500", WITHHELD, "400"]
    assert out["patients_excluded"].to_list() == ["<11", WITHHELD, "0"]
    assert out["patients_after"].to_list() == [WITHHELD, "400", "400"]
    assert out["rows_excluded"].to_list() == ["<11", "150", "0"]
    assert out["reason"].to_list() == attrition["reason"].to_list()
    assert recoverable_cells(out, list(ATTRITION_COUNTS), attrition_relations(out)) == []


def test_attrition_small_exclusion_at_the_last_step() -> None:
    attrition = pl.DataFrame(
        {
            "step": [1, 2],
            "patients_before": [500, 300],
            "patients_excluded": [200, 4],
            "patients_after": [300, 296],
            "rows_excluded": [200, 4],
            "reason": ["a", "b"],
        }
    )
    out = protect_attrition(attrition)
    assert out.row(1)[1:4] == ("300", "<11", WITHHELD)
    assert out.row(0)[1:4] == ("500", "200", "300")


def test_derived_values_of_hidden_counts_are_withheld() -> None:
    df = pl.DataFrame(
        {"n": [60, 8], "x": [3, 4], "y": [57, 4], "pct_x": [5.0, 50.0], "pct_y": [95.0, 50.0]}
    )
    out = protect(
        df,
        ["n", "x", "y"],
        relations=[Sum("n", ("x", "y"))],
        derived={"pct_x": ["x", "n"], "pct_y": ["y", "n"]},
    )
    assert out["pct_x"].to_list() == [None, None]
    assert out["pct_y"].to_list() == [None, None]  # y is withheld in row 1, n small in row 2
    assert out["y"].to_list() == [WITHHELD, "<11"]


def test_threshold_zero_turns_suppression_off() -> None:
    df = one_row(12, [1, 11, 0, 0, 0])
    assert_frame_equal(protect(df, COUNTS, threshold=0, relations=ROW_SUM), df)


def test_threshold_sets_the_marker() -> None:
    out = protect(one_row(60, [3, 12, 15, 18, 12]), COUNTS, threshold=5, relations=ROW_SUM)
    assert cells(out) == ["60", "<5", WITHHELD, "15", "18", "12"]


def test_counts_become_text_and_nulls_stay_null() -> None:
    df = pl.DataFrame({"n": [30, None]}, schema={"n": pl.Int64})
    out = suppress_counts(df, ["n"])
    assert out.schema["n"] == pl.String
    assert out["n"].to_list() == ["30", None]


def test_cell_relation_by_hand() -> None:
    # any two cells can be related: row 0 holds the sum of rows 1 and 2
    df = pl.DataFrame({"n": [20, 5, 15]})
    out = protect(df, ["n"], relations=[Relation((0, "n"), ((1, "n"), (2, "n")))])
    assert out["n"].to_list() == ["20", "<11", WITHHELD]


def test_patient_identifiers_are_refused() -> None:
    with pytest.raises(InvalidDataError, match="patient_id"):
        protect(pl.DataFrame({"patient_id": ["P1"], "n": [3]}), ["n"])


@pytest.mark.parametrize(
    ("df", "message"),
    [
        (pl.DataFrame({"n": [-1]}), "negative"),
        (pl.DataFrame({"n": [1.5]}), "integers"),
        (pl.DataFrame({"m": [1]}), "no count column 'n'"),
    ],
)
def test_bad_counts(df: pl.DataFrame, message: str) -> None:
    with pytest.raises(InvalidDataError, match=message):
        protect(df, ["n"])


@pytest.mark.parametrize("threshold", [-1, 1, 2, 2.5])
def test_bad_threshold(threshold: object) -> None:
    with pytest.raises(ParameterError, match="'threshold' parameter of protect"):
        protect(pl.DataFrame({"n": [1]}), ["n"], threshold=threshold)  # type: ignore[arg-type]


def test_two_small_cells_adding_up_to_twice_the_largest_small_count() -> None:
    # 20 = a + b with both in 1..10 leaves a = b = 10
    df = pl.DataFrame({"n": ["20"], "a": ["<11"], "b": ["<11"]})
    found = recoverable_cells(df, ["n", "a", "b"], [Sum("n", ("a", "b"))])
    assert [(r.column, r.value, r.method) for r in found] == [
        ("a", 10, "bounds"),
        ("b", 10, "bounds"),
    ]
    out = protect(
        pl.DataFrame({"n": [20], "a": [10], "b": [10]}),
        ["n", "a", "b"],
        relations=[Sum("n", ("a", "b"))],
    )
    assert out.row(0) == (WITHHELD, "<11", "<11")


def test_contradictory_published_table() -> None:
    df = pl.DataFrame({"n": ["21"], "a": ["<11"], "b": ["<11"]})  # 21 is not two of 1..10
    with pytest.raises(InvalidDataError, match="contradict"):
        recoverable_cells(df, ["n", "a", "b"], [Sum("n", ("a", "b"))])
