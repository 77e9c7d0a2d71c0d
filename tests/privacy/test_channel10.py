"""Issue 20, channel 10: Table 1 summaries, Kaplan-Meier estimates and messages that narrow
or print small counts."""

from __future__ import annotations

import polars as pl

from mmrwe.privacy import WITHHELD
from mmrwe.stats.baseline import baseline_table


def _table_one(ages: list[int]) -> pl.DataFrame:
    """Table 1 of one group of patients with these ages (threshold 11)."""
    n = len(ages)
    lines = pl.DataFrame(
        {
            "patient_id": [f"P{i}" for i in range(n)],
            "group": ["all"] * n,
            "group_order": [1] * n,
            "age_at_index": ages,
            "prior_lines": [1] * n,
            "years_since_diagnosis": [3.0] * n,
            **{
                c: [False] * n
                for c in (
                    "len_refractory",
                    "pi_refractory",
                    "anti_cd38_refractory",
                    "triple_class_refractory",
                    "penta_refractory",
                    "triple_class_exposed",
                )
            },
        }
    )
    patients = pl.DataFrame(
        {
            "patient_id": lines["patient_id"],
            "sex": ["F"] * 6 + ["M"] * (n - 6),
            **{c: [None] * n for c in ("iss_stage", "r_iss_stage", "cytogenetic_risk")},
            "ecog": [0] * n,
        },
        schema_overrides={c: pl.String for c in ("iss_stage", "r_iss_stage", "cytogenetic_risk")},
    )
    return baseline_table(lines, patients, threshold=11)


def _cell(table: pl.DataFrame, level: str) -> str:
    return table.filter(
        pl.col("characteristic").str.starts_with("Age") & (pl.col("level") == level)
    )["all"][0]


def test_age_quartiles_do_not_narrow_a_hidden_age_count() -> None:
    # 12 patients, 9 of them 65 or older: '≥ 65' is '<11' (1..10). Before, the table
    # published the quartiles '68.5 (65.5-71.2)': Q1 (R type 7) lies between the 3rd and 4th
    # ages, so Q1 = 65.5 > 65 puts the 4th to 12th ages at 65 or more: 9 or 10 patients, two
    # values (the rule asks three)
    table = _table_one([60, 62, 64, 67, 66, 68, 69, 70, 71, 72, 73, 74])
    assert _cell(table, "≥ 65") == "<11"
    assert _cell(table, "median (IQR)") == WITHHELD
    assert _cell(table, "range (to 5 years)") == WITHHELD


def test_the_age_range_is_no_one_patients_age() -> None:
    # before: 'range' 40-93, the youngest's and the oldest's ages; now the ends are widened
    # to multiples of 5 years
    ages = [40, 93] + [76 + i % 15 for i in range(20)]
    table = _table_one(ages)
    assert _cell(table, "range (to 5 years)") == "40-95"
    assert "93" not in " ".join(table.drop("characteristic", "level").to_series().to_list())


def _outcomes(events_by: list[float], censored_at: list[float]) -> dict:
    """summary_by_line's PFS row (threshold 11) of one group: events and censorings at these
    months."""
    from mmrwe.stats.summary_by_line import summary_by_line

    months = events_by + censored_at
    n = len(months)
    lines = pl.DataFrame(
        {"patient_id": [f"P{i}" for i in range(n)], "line": [2] * n, "group": ["line 2"] * n}
    ).with_columns(group_order=pl.lit(1))
    endpoints = pl.DataFrame(
        {
            "patient_id": lines["patient_id"],
            "line": [2] * n,
            "endpoint": ["PFS"] * n,
            "time_days": [m * 30.4375 for m in months],
            "time_months": months,
            "event": [1] * len(events_by) + [0] * len(censored_at),
        }
    )
    out = summary_by_line(lines, endpoints, endpoint_names=("PFS",), threshold=11)
    return out.row(0, named=True)


def test_km_rates_do_not_give_back_a_hidden_event_count() -> None:
    # 20 patient-lines, 8 events in the first 8 months, 12 censored after 24 months. Before:
    # n_events '<11' beside rate_12m = 0.6: 20 x (1 - 0.6) = 8 events by 12 months, so 8, 9
    # or 10 in all; and the 12-month limits and the median follow-up pin it further
    row = _outcomes([1, 2, 3, 4, 5, 6, 7, 8], [25 + i for i in range(12)])
    assert (row["n_patients"], row["n_events"]) == ("20", "<11")
    estimates = [k for k in row if k.startswith(("median", "rate"))]
    assert estimates and all(row[k] is None for k in estimates)


def test_km_estimates_stay_when_the_events_are_published() -> None:
    row = _outcomes([1 + i / 2 for i in range(12)], [25 + i for i in range(8)])
    assert (row["n_patients"], row["n_events"]) == ("20", "12")
    assert abs(row["rate_12m"] - 0.4) < 1e-12 and row["median_months"] is not None


def test_median_follow_up_of_a_tiny_group_is_withheld() -> None:
    # 6 patient-lines: a median follow-up would be one patient's censoring time
    row = _outcomes([1, 2], [10, 14, 20, 30])
    assert row["n_patients"] == "<11" and row["median_followup_months"] is None
