"""Response rates on a hand-made population, exact limits against R, small cells protected.

Population (unsorted on purpose): 'line 2' (30 patient-lines) is listed before 'line 1' (40).
  line 1: sCR 4, CR 6, VGPR 10, PR 8, MR 2, SD 5, PD 3, NE 2 (one of them has no line_response
          row: a line without an assessable response is NE)  -> ORR 28, >=VGPR 20, >=CR 10
  line 2: sCR 0, CR 3, VGPR 7, PR 9, MR 0, SD 6, PD 4, NE 1  -> ORR 19, >=VGPR 10, >=CR 3
"""

from __future__ import annotations

import polars as pl
import pytest

from mmrwe.errors import InvalidDataError, ParameterError
from mmrwe.privacy import WITHHELD, recoverable_cells
from mmrwe.stats.response_rates import (
    CATEGORIES,
    response_columns,
    response_rates,
    response_relations,
)

LINE_1 = {"sCR": 4, "CR": 6, "VGPR": 10, "PR": 8, "MR": 2, "SD": 5, "PD": 3, "NE": 2}
LINE_2 = {"sCR": 0, "CR": 3, "VGPR": 7, "PR": 9, "MR": 0, "SD": 6, "PD": 4, "NE": 1}

#: R 4.x: for (x, n) in ...: binom.test(x, n)$conf.int (Clopper-Pearson), in %
R_LIMITS = {
    ("line 1", "orr"): (53.46837147, 83.43727956),  # binom.test(28, 40)
    ("line 1", "vgpr_or_better"): (33.80178137, 66.19821863),  # binom.test(20, 40)
    ("line 1", "cr_or_better"): (12.69147989, 41.19619802),  # binom.test(10, 40)
    ("line 2", "orr"): (43.85598490, 80.07013750),  # binom.test(19, 30)
    ("line 2", "vgpr_or_better"): (17.28742215, 52.81200448),  # binom.test(10, 30)
    ("line 2", "cr_or_better"): (2.11171370, 26.52884505),  # binom.test(3, 30)
}


def population(groups: dict[str, dict[str, int]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """analysis_lines and line_response for patient-lines with the given best responses."""
    lines, responses = [], []
    for order, (group, counts) in enumerate(groups.items(), start=1):
        i = 0
        for category, n in counts.items():
            for _ in range(n):
                i += 1
                pid = f"{group}-{i:03d}"
                lines.append(
                    {"patient_id": pid, "line": 1, "group": group, "group_order": 3 - order}
                )
                if not (category == "NE" and i == sum(counts.values())):
                    responses.append({"patient_id": pid, "line": 1, "best_response": category})
    return pl.DataFrame(lines), pl.DataFrame(responses)


@pytest.fixture
def tables() -> tuple[pl.DataFrame, pl.DataFrame]:
    return population({"line 2": LINE_2, "line 1": LINE_1})


def test_counts_and_percentages(tables: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    lines, responses = tables
    assert responses.height == 70 - 2  # the last NE of each group has no response row
    out = response_rates(lines, responses, threshold=0)
    assert out["group"].to_list() == ["line 1", "line 2"]  # by group_order
    row1, row2 = out.row(0, named=True), out.row(1, named=True)
    for row, counts in ((row1, LINE_1), (row2, LINE_2)):
        assert [row[f"n_{c}"] for c in CATEGORIES] == [counts[c] for c in CATEGORIES]
    assert (row1["n_patients"], row1["n_evaluable"]) == (40, 38)
    assert (row1["n_orr"], row1["n_vgpr_or_better"], row1["n_cr_or_better"]) == (28, 20, 10)
    assert (row2["n_orr"], row2["n_vgpr_or_better"], row2["n_cr_or_better"]) == (19, 10, 3)
    assert row1["pct_orr"] == 70.0  # 28 / 40
    assert row1["pct_evaluable_orr"] == 73.7  # 28 / 38 = 73.68 %
    assert row2["pct_evaluable_cr_or_better"] == 10.3  # 3 / 29
    assert row1["pct_sCR"] == 10.0
    assert row2["pct_NE"] == 3.3  # 1 / 30


def test_limits_match_r_binom_test(tables: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    out = response_rates(*tables, threshold=0)
    for (group, rate), (lower, upper) in R_LIMITS.items():
        row = out.filter(pl.col("group") == group).row(0, named=True)
        assert row[f"lower_{rate}"] == pytest.approx(lower, abs=0.05 + 1e-9), (group, rate)
        assert row[f"upper_{rate}"] == pytest.approx(upper, abs=0.05 + 1e-9), (group, rate)


def test_conf_level(tables: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    # R: binom.test(28, 40, conf.level = 0.9)$conf.int = 0.5597202622 0.8168787294
    out = response_rates(*tables, threshold=0, conf_level=0.9)
    row = out.filter(pl.col("group") == "line 1").row(0, named=True)
    assert (row["lower_orr"], row["upper_orr"], row["conf_level"]) == (56.0, 81.7, 0.9)


def test_small_cells_are_protected(tables: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    out = response_rates(*tables)  # threshold 11
    _, counts, derived = response_columns("group")
    assert recoverable_cells(out, counts, response_relations()) == []
    row1 = out.row(0, named=True)
    # every category of line 1 is below 11; 40 patient-lines and ORR 28 are published with
    # the limits. >=VGPR (20) is withheld: 28 - 20 would give PR (8) back.
    assert (row1["n_patients"], row1["n_orr"], row1["n_vgpr_or_better"]) == ("40", "28", WITHHELD)
    assert (row1["lower_orr"], row1["upper_orr"]) == (53.5, 83.4)
    assert row1["pct_vgpr_or_better"] is None
    # ... every category below 11 is '<11' with no percentage
    for c in CATEGORIES:
        if LINE_1[c] < 11 and LINE_1[c] > 0:
            assert row1[f"n_{c}"] == "<11"
            assert row1[f"pct_{c}"] is None
    # n_evaluable = 40 - NE would give NE back: withheld, and the rates over it too
    assert row1["n_evaluable"] == WITHHELD
    assert row1["pct_evaluable_orr"] is None
    # no number derived from a hidden count is shown
    for col, sources in derived.items():
        for row in out.iter_rows(named=True):
            if any(not str(row[s]).isdigit() for s in sources):
                assert row[col] is None, col


def test_no_identifier_is_published(tables: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    lines, responses = tables
    out = response_rates(lines, responses)
    ids = set(lines["patient_id"])
    assert not any(v in ids for c in out.columns for v in out[c].cast(pl.String).to_list())


def test_zero_stays_zero(tables: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    out = response_rates(*tables)
    row2 = out.row(1, named=True)
    assert (row2["n_sCR"], row2["pct_sCR"], row2["n_MR"]) == ("0", 0.0, "0")


def test_other_grouping_column(tables: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    lines, responses = tables
    lines = lines.with_columns(
        regimen=pl.when(pl.col("group") == "line 1").then(pl.lit("KRd")).otherwise(pl.lit("DVd"))
    )
    out = response_rates(lines, responses, by="regimen", threshold=0)
    assert out["regimen"].to_list() == ["DVd", "KRd"]  # by name
    assert out["n_patients"].to_list() == [30, 40]


def test_missing_group_value_is_its_own_group_last(
    tables: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    lines, responses = tables
    lines = lines.with_columns(
        subgroup_sex=pl.when(pl.int_range(pl.len()) < 12).then(None).otherwise(pl.lit("F"))
    )
    out = response_rates(lines, responses, by="subgroup_sex", threshold=0)
    assert out["subgroup_sex"].to_list() == ["F", "(missing)"]
    assert out["n_patients"].to_list() == [58, 12]


def test_unknown_best_response_is_an_error(tables: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    lines, responses = tables
    bad = responses.with_columns(
        pl.when(pl.int_range(pl.len()) == 3)
        .then(pl.lit("nCR"))
        .otherwise(pl.col("best_response"))
        .alias("best_response")
    )
    with pytest.raises(InvalidDataError, match=r"best_response.*'nCR'"):
        response_rates(lines, bad)


def test_missing_column_is_named(tables: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    lines, responses = tables
    with pytest.raises(
        InvalidDataError, match=r"'analysis_lines' table lacks the column\(s\) 'group'"
    ):
        response_rates(lines.drop("group"), responses)


def test_bad_conf_level(tables: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    with pytest.raises(ParameterError, match="'conf_level' parameter of response_rates"):
        response_rates(*tables, conf_level=95)
