"""summary_by_line against R's survfit on a fixed 62-row data set (below).

The data: four analysis groups ("line 1" 26 patient-lines, "line 2" 16, "line 3" 13 with 2 PFS
events, "line 4+" 7), PFS, OS and TTNT in days, and three subgroups (used by
test_subgroups.py). Written to data.csv (columns as the tuple below; empty = NA) and run with
R 4 / survival 3.5.3:

    d <- read.csv("data.csv", na.strings = "")
    for (ep in c("pfs", "os", "ttnt")) {
      t <- d[[paste0(ep, "_days")]] / 30.4375; e <- d[[paste0(ep, "_event")]]
      fit <- survfit(Surv(t, e) ~ group, data = d)          # conf.type = "log" (default)
      print(quantile(fit, 0.5))                             # -> MEDIANS
      s <- summary(fit, times = c(12, 24))                  # -> LANDMARKS (rows R omits: None)
      print(data.frame(strata = s$strata, time = s$time, surv = s$surv, lower = s$lower,
                       upper = s$upper))
    }
    fu <- survfit(Surv(os_days / 30.4375, 1 - os_event) ~ group, data = d)
    print(quantile(fu, 0.5))                                # -> FOLLOWUP (reverse KM of OS)
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from mmrwe.errors import InvalidDataError, ParameterError
from mmrwe.privacy import recoverable_cells
from mmrwe.stats.summary_by_line import DAYS_PER_MONTH, summary_by_line

# patient_id, line, group, group_order, sex, age, iss, pfs_days, pfs_event, os_days,
# os_event, ttnt_days, ttnt_event
ROWS = [
    ("P001", 1, "line 1", 1, "M", ">=65", "II", 68, 1, 587, 1, 820, 1),
    ("P002", 1, "line 1", 1, "F", ">=65", "I", 129, 1, 578, 0, 1248, 1),
    ("P003", 1, "line 1", 1, "F", ">=65", "II", 482, 1, 506, 0, 1116, 1),
    ("P004", 1, "line 1", 1, "M", "<65", "I", 39, 1, 101, 0, 1244, 1),
    ("P005", 1, "line 1", 1, None, "<65", "III", 408, 0, 1112, 0, 376, 1),
    ("P006", 1, "line 1", 1, "F", ">=65", None, 114, 0, 1400, 0, 1293, 1),
    ("P007", 1, "line 1", 1, "M", "<65", "I", 194, 1, 1400, 1, 702, 1),
    ("P008", 1, "line 1", 1, "F", ">=65", "II", 302, 1, 536, 1, 809, 1),
    ("P009", 1, "line 1", 1, "F", ">=65", "II", 136, 1, 917, 1, 602, 0),
    ("P010", 1, "line 1", 1, None, ">=65", "II", 205, 0, 395, 0, 187, 1),
    ("P011", 1, "line 1", 1, "M", "<65", "II", 172, 1, 894, 1, 29, 0),
    ("P012", 1, "line 1", 1, "F", "<65", "I", 218, 1, 1400, 0, 423, 0),
    ("P013", 1, "line 1", 1, "F", "<65", "III", 1400, 1, 678, 0, 1400, 1),
    ("P014", 1, "line 1", 1, "F", "<65", "I", 1278, 1, 141, 1, 940, 1),
    ("P015", 1, "line 1", 1, "F", ">=65", "I", 10, 1, 17, 0, 71, 1),
    ("P016", 1, "line 1", 1, "M", ">=65", "II", 1400, 1, 460, 1, 775, 1),
    ("P017", 1, "line 1", 1, "F", ">=65", "III", 380, 1, 995, 1, 681, 1),
    ("P018", 1, "line 1", 1, "F", ">=65", "I", 1400, 1, 371, 0, 14, 1),
    ("P019", 1, "line 1", 1, "F", ">=65", "III", 31, 1, 262, 1, 941, 1),
    ("P020", 1, "line 1", 1, "F", ">=65", "II", 526, 0, 1400, 1, 921, 1),
    ("P021", 1, "line 1", 1, "F", "<65", "I", 129, 1, 1400, 1, 180, 0),
    ("P022", 1, "line 1", 1, "F", "<65", "I", 782, 1, 1349, 1, 1400, 1),
    ("P023", 1, "line 1", 1, "M", ">=65", "I", 995, 1, 1400, 0, 940, 1),
    ("P024", 1, "line 1", 1, "F", "<65", "I", 525, 1, 66, 1, 733, 1),
    ("P025", 1, "line 1", 1, "M", "<65", "II", 244, 1, 696, 0, 369, 0),
    ("P026", 1, "line 1", 1, "F", ">=65", "II", 1174, 1, 1400, 1, 764, 1),
    ("P001", 2, "line 2", 2, "M", ">=65", "II", 656, 0, 237, 0, 194, 1),
    ("P002", 2, "line 2", 2, "F", ">=65", "I", 31, 1, 1400, 0, 191, 0),
    ("P003", 2, "line 2", 2, "F", ">=65", "II", 944, 1, 186, 0, 61, 0),
    ("P004", 2, "line 2", 2, "M", ">=65", "I", 491, 1, 810, 0, 638, 0),
    ("P005", 2, "line 2", 2, None, ">=65", "III", 226, 0, 364, 1, 56, 0),
    ("P006", 2, "line 2", 2, "F", "<65", None, 470, 1, 1400, 0, 234, 1),
    ("P007", 2, "line 2", 2, "M", "<65", "I", 34, 1, 98, 0, 25, 0),
    ("P008", 2, "line 2", 2, "F", "<65", "II", 330, 1, 1277, 1, 250, 1),
    ("P009", 2, "line 2", 2, "F", ">=65", "II", 67, 1, 276, 0, 837, 1),
    ("P010", 2, "line 2", 2, None, "<65", "II", 299, 1, 1112, 0, 28, 1),
    ("P011", 2, "line 2", 2, "M", "<65", "II", 247, 0, 370, 1, 309, 0),
    ("P012", 2, "line 2", 2, "F", "<65", "I", 1195, 1, 277, 0, 15, 1),
    ("P013", 2, "line 2", 2, "F", ">=65", "III", 89, 1, 76, 1, 85, 0),
    ("P014", 2, "line 2", 2, "F", "<65", "I", 210, 1, 1400, 0, 1379, 0),
    ("P015", 2, "line 2", 2, "F", "<65", "I", 324, 0, 368, 0, 418, 1),
    ("P016", 2, "line 2", 2, "M", ">=65", "II", 35, 1, 65, 1, 325, 1),
    ("P001", 3, "line 3", 3, "M", ">=65", "II", 187, 0, 700, 0, 108, 1),
    ("P002", 3, "line 3", 3, "F", ">=65", "I", 202, 1, 1400, 0, 285, 1),
    ("P003", 3, "line 3", 3, "F", ">=65", "II", 1400, 0, 554, 0, 39, 0),
    ("P004", 3, "line 3", 3, "M", ">=65", "I", 1061, 0, 1037, 0, 86, 0),
    ("P005", 3, "line 3", 3, None, "<65", "III", 61, 0, 433, 0, 1076, 0),
    ("P006", 3, "line 3", 3, "F", ">=65", None, 181, 0, 1369, 0, 684, 0),
    ("P007", 3, "line 3", 3, "M", ">=65", "I", 88, 0, 1253, 1, 382, 1),
    ("P008", 3, "line 3", 3, "F", ">=65", "II", 402, 1, 1400, 0, 223, 0),
    ("P009", 3, "line 3", 3, "F", "<65", "II", 910, 0, 1400, 0, 248, 0),
    ("P010", 3, "line 3", 3, None, ">=65", "II", 1400, 0, 1081, 0, 876, 0),
    ("P011", 3, "line 3", 3, "M", "<65", "II", 291, 0, 1400, 1, 1400, 0),
    ("P012", 3, "line 3", 3, "F", "<65", "I", 1400, 0, 1400, 0, 65, 0),
    ("P013", 3, "line 3", 3, "F", "<65", "III", 1400, 0, 1400, 0, 1267, 1),
    ("P001", 4, "line 4+", 4, "M", "<65", "II", 222, 1, 1177, 1, 34, 0),
    ("P002", 4, "line 4+", 4, "F", ">=65", "I", 15, 0, 117, 0, 39, 1),
    ("P003", 4, "line 4+", 4, "F", "<65", "II", 169, 1, 357, 1, 139, 1),
    ("P004", 4, "line 4+", 4, "M", ">=65", "I", 389, 1, 295, 0, 682, 1),
    ("P005", 4, "line 4+", 4, None, ">=65", "III", 89, 1, 80, 1, 271, 1),
    ("P006", 4, "line 4+", 4, "F", ">=65", None, 363, 1, 694, 0, 292, 0),
    ("P007", 4, "line 4+", 4, "M", ">=65", "I", 477, 1, 356, 0, 112, 1),
]

COLUMNS = [
    "patient_id", "line", "group", "group_order", "sex", "age", "iss",
    "pfs_days", "pfs_event", "os_days", "os_event", "ttnt_days", "ttnt_event",
]  # fmt: skip
DATA = pl.DataFrame(ROWS, schema=COLUMNS, orient="row")
GROUPS = ["line 1", "line 2", "line 3", "line 4+"]


def tables(data: pl.DataFrame = DATA) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(analysis_lines, endpoints) as mmrwe writes them, from the wide test rows."""
    analysis = data.select(
        "patient_id",
        "line",
        "group",
        "group_order",
        *[pl.col(c).alias(f"subgroup_{c}") for c in ("sex", "age", "iss")],
    )
    endpoints = pl.concat(
        data.select(
            "patient_id",
            "line",
            pl.lit(e.upper()).alias("endpoint"),
            pl.col(f"{e}_days").alias("time_days"),
            (pl.col(f"{e}_days") / DAYS_PER_MONTH).alias("time_months"),
            pl.col(f"{e}_event").cast(pl.Int8).alias("event"),
        )
        for e in ("pfs", "os", "ttnt")
    )
    return analysis, endpoints


# R: quantile(survfit(...), 0.5): (median, lower, upper) in months; NA -> None
MEDIANS = {
    "PFS": {
        "line 1": (12.484599589, 6.373716632, 38.57084189),
        "line 2": (10.841889117, 2.924024641, None),
        "line 3": (None, None, None),
        "line 4+": (9.609856263, 5.552361396, None),
    },
    "OS": {
        "line 1": (44.32032854, 29.37166324, None),
        "line 2": (43.97535934, 12.15605749, None),
        "line 3": (None, 45.99589322, None),
        "line 4+": (38.66940452, 11.72895277, None),
    },
    "TTNT": {
        "line 1": (26.940451745, 25.100616016, 40.87063655),
        "line 2": (10.677618070, 7.687885010, None),
        "line 3": (41.626283368, 12.550308008, None),
        "line 4+": (6.735112936, 3.679671458, None),
    },
}
# R: summary(fit, times = c(12, 24)): (surv, lower, upper) at 12 and 24 months; R omits a time
# past the group's last follow-up (line 4+ PFS and TTNT at 24 months) -> None
LANDMARKS = {
    "PFS": {
        "line 1": ((0.5157509158, 0.3510218149, 0.7577848321), (0.3782173382, 0.2242569653, 0.6378769762)),
        "line 2": ((0.4557291667, 0.2542207232, 0.8169635847), (0.2734375000, 0.1085867896, 0.6885558243)),
        "line 3": ((0.8888888889, 0.7055575015, 1.0), (0.7619047619, 0.5207517321, 1.0)),
        "line 4+": ((0.3333333333, 0.1075071392, 1.0), (None, None, None)),
    },
    "OS": {
        "line 1": ((0.8765217391, 0.7549105142, 1.0), (0.7294397631, 0.5642264326, 0.9430298498)),
        "line 2": ((0.7777777778, 0.5784658320, 1.0), (0.6666666667, 0.4366227781, 1.0)),
        "line 3": ((1.0, 1.0, 1.0), (1.0, 1.0, 1.0)),
        "line 4+": ((0.5714285714, 0.2429221641, 1.0), (0.5714285714, 0.2429221641, 1.0)),
    },
    "TTNT": {
        "line 1": ((0.8795891608, 0.7604481072, 1.0), (0.7373026789, 0.5754564763, 0.9446678642)),
        "line 2": ((0.4642857143, 0.2387024971, 0.9030539150), (0.3482142857, 0.1453985443, 0.8339367452)),
        "line 3": ((0.7714285714, 0.5348489473, 1.0), (0.6428571429, 0.3852424636, 1.0)),
        "line 4+": ((0.3333333333, 0.1075071392, 1.0), (None, None, None)),
    },
}  # fmt: skip
# R: quantile(survfit(Surv(os_days / 30.4375, 1 - os_event) ~ group), 0.5)$quantile
FOLLOWUP = {
    "line 1": 45.99589322,
    "line 2": 26.61190965,
    "line 3": 45.99589322,
    "line 4+": 17.24845996,
}
# events per group and endpoint, counted from ROWS
EVENTS = {
    "PFS": {"line 1": 22, "line 2": 12, "line 3": 2, "line 4+": 6},
    "OS": {"line 1": 14, "line 2": 5, "line 3": 2, "line 4+": 3},
}
N = {"line 1": 26, "line 2": 16, "line 3": 13, "line 4+": 7}


def _close(ours: float | None, r: float | None) -> bool:
    if r is None:
        return ours is None
    return ours is not None and ours == pytest.approx(r, rel=1e-8, abs=1e-9)


def _row(df: pl.DataFrame, group: str, endpoint: str) -> dict:
    rows = df.filter(pl.col("group") == group, pl.col("endpoint") == endpoint)
    assert rows.height == 1
    return rows.row(0, named=True)


@pytest.fixture(scope="module")
def unsuppressed() -> pl.DataFrame:
    return summary_by_line(*tables(), threshold=0)


@pytest.fixture(scope="module")
def published() -> pl.DataFrame:
    return summary_by_line(*tables())


@pytest.mark.parametrize("endpoint", ["PFS", "OS", "TTNT"])
@pytest.mark.parametrize("group", GROUPS)
def test_median_and_limits_equal_survfit(unsuppressed: pl.DataFrame, group: str, endpoint: str):
    row = _row(unsuppressed, group, endpoint)
    ours = (row["median_months"], row["median_lower"], row["median_upper"])
    for got, want, name in zip(
        ours, MEDIANS[endpoint][group], ("median", "lower", "upper"), strict=True
    ):
        assert _close(got, want), f"{group} {endpoint} {name}: {got} vs R {want}"


def test_unreached_median_and_limit_are_null_not_numbers(unsuppressed: pl.DataFrame) -> None:
    """line 3 PFS: 2 events in 13, the curve stays above 0.5 (median and limits NR); line 2
    PFS: median reached, the upper confidence curve never reaches 0.5 (upper limit NR)."""
    line3 = _row(unsuppressed, "line 3", "PFS")
    assert line3["median_months"] is None and line3["median_upper"] is None
    line2 = _row(unsuppressed, "line 2", "PFS")
    assert line2["median_months"] is not None and line2["median_upper"] is None


@pytest.mark.parametrize("endpoint", ["PFS", "OS", "TTNT"])
@pytest.mark.parametrize("group", GROUPS)
def test_landmark_rates_equal_summary_times(unsuppressed: pl.DataFrame, group: str, endpoint: str):
    row = _row(unsuppressed, group, endpoint)
    for month, want in zip((12, 24), LANDMARKS[endpoint][group], strict=True):
        ours = (row[f"rate_{month}m"], row[f"rate_{month}m_lower"], row[f"rate_{month}m_upper"])
        for got, r in zip(ours, want, strict=True):
            assert _close(got, r), f"{group} {endpoint} {month} months: {ours} vs R {want}"


@pytest.mark.parametrize("group", GROUPS)
def test_followup_is_reverse_km_of_os_on_every_endpoint_row(
    unsuppressed: pl.DataFrame, group: str
) -> None:
    values = unsuppressed.filter(pl.col("group") == group)["median_followup_months"].to_list()
    assert len(values) == 3
    assert all(_close(v, FOLLOWUP[group]) for v in values)


def test_counts_rows_and_order(unsuppressed: pl.DataFrame) -> None:
    assert unsuppressed["group"].to_list() == [g for g in GROUPS for _ in range(3)]
    assert unsuppressed["endpoint"].to_list() == ["PFS", "OS", "TTNT"] * 4
    assert unsuppressed["group_order"].to_list() == [k for k in (1, 2, 3, 4) for _ in range(3)]
    for endpoint, events in EVENTS.items():
        for group, n in events.items():
            row = _row(unsuppressed, group, endpoint)
            assert (row["n_patients"], row["n_events"]) == (str(N[group]), str(n))


def test_small_cells_shown_as_text_and_estimates_withheld(published: pl.DataFrame) -> None:
    """Threshold 11: line 4+ (7 patient-lines) is withheld whole; fewer than 11 events (line 2
    OS: 5, line 3 PFS: 2) read <11 and their row's estimates are withheld too (the curve gives
    the events back: issue 20); the group's other rows keep theirs."""
    assert published.schema["n_patients"] == pl.String
    assert published.schema["n_events"] == pl.String
    small = published.filter(pl.col("group") == "line 4+")
    assert small["n_patients"].to_list() == ["<11"] * 3
    assert small["n_events"].to_list() == ["<11"] * 3
    estimates = [c for c in published.columns if c.startswith(("median", "rate"))]
    assert all(small[c].null_count() == 3 for c in estimates)
    assert _row(published, "line 2", "OS")["n_events"] == "<11"
    assert _row(published, "line 2", "OS")["median_months"] is None
    assert _row(published, "line 2", "PFS")["median_months"] is not None
    assert _row(published, "line 3", "PFS")["n_events"] == "<11"
    assert _row(published, "line 1", "PFS")["n_events"] == "22"
    assert recoverable_cells(published, ["n_patients", "n_events"], []) == []


def test_threshold_is_a_parameter(published: pl.DataFrame) -> None:
    five = summary_by_line(*tables(), threshold=5)
    row = _row(five, "line 4+", "OS")
    assert (row["n_patients"], row["n_events"]) == ("7", "<5")
    assert row["median_months"] is None  # 3 events: withheld with them (issue 20)
    row = _row(five, "line 4+", "PFS")
    assert (row["n_patients"], row["n_events"]) == ("7", "6")
    assert row["median_months"] is not None


def test_few_patients_with_many_lines_are_withheld() -> None:
    """A pooled group ("line 4+") whose 12 patient-lines come from 3 patients: 12 rows pass
    the threshold, 3 people do not, so its counts and estimates are withheld."""
    extra = DATA.filter(pl.col("group") == "line 1").head(12)
    pooled = extra.with_columns(
        pl.format("Q{}", pl.int_range(pl.len()) % 3).alias("patient_id"),
        (pl.int_range(pl.len(), dtype=pl.Int64) + 4).alias("line"),
        pl.lit("line 4+").alias("group"),
        pl.lit(4, pl.Int64).alias("group_order"),
    )
    data = pl.concat([DATA.filter(pl.col("group") != "line 4+"), pooled])
    out = summary_by_line(*tables(data))
    row = _row(out, "line 4+", "PFS")
    assert row["n_patients"] == "withheld" and row["median_months"] is None
    assert _row(out, "line 1", "PFS")["median_months"] == pytest.approx(12.484599589)


def test_by_another_column_with_missing_values() -> None:
    """by = a subgroup: levels sorted, missing values a group of their own placed last; the
    medians are R's survfit(Surv(pfs_days / 30.4375, pfs_event) ~ sex) (test_subgroups.py)."""
    out = summary_by_line(*tables(), by="subgroup_sex", endpoint_names=["PFS"], threshold=0)
    assert out["group"].to_list() == ["F", "M", "(missing)"]
    assert out["group_order"].to_list() == [1, 2, 3]
    assert out["n_patients"].to_list() == ["36", "19", "7"]
    assert out["median_months"][0] == pytest.approx(13.20739220)
    assert out["median_months"][1] == pytest.approx(12.78028747)


def test_numeric_by_column_is_ordered_as_numbers() -> None:
    analysis, endpoints = tables()
    analysis = analysis.with_columns((pl.col("line") * 5).alias("line_x5"))  # 5, 10, 15, 20
    out = summary_by_line(analysis, endpoints, by="line_x5", endpoint_names=["OS"], threshold=0)
    assert out["group"].to_list() == ["5", "10", "15", "20"]
    assert out["group_order"].to_list() == [1, 2, 3, 4]
    assert out["n_patients"].to_list() == ["26", "16", "13", "7"]


def test_response_endpoints_have_their_own_counts() -> None:
    """DOR exists only for responders: its rows count fewer patient-lines than PFS."""
    analysis, endpoints = tables()
    dor = endpoints.filter(pl.col("endpoint") == "PFS", pl.col("line") == 1).head(12)
    endpoints = pl.concat([endpoints, dor.with_columns(pl.lit("DOR").alias("endpoint"))])
    out = summary_by_line(analysis, endpoints, endpoint_names=["PFS", "DOR"])
    line1 = out.filter(pl.col("group") == "line 1")
    assert line1["n_patients"].to_list() == ["26", "12"]
    assert out.filter(pl.col("endpoint") == "DOR").height == 1


def test_no_landmarks() -> None:
    out = summary_by_line(*tables(), landmarks_months=[], threshold=0)
    assert not [c for c in out.columns if c.startswith("rate")]
    assert out.height == 12


def test_landmarks_and_confidence_are_parameters() -> None:
    out = summary_by_line(*tables(), landmarks_months=[6], conf_level=0.9, threshold=0)
    assert "rate_6m" in out.columns and "rate_12m" not in out.columns
    wide = _row(summary_by_line(*tables(), threshold=0), "line 1", "PFS")
    narrow = _row(out, "line 1", "PFS")
    assert narrow["median_months"] == wide["median_months"]
    assert narrow["median_lower"] >= wide["median_lower"]


def test_months_are_days_over_30_4375() -> None:
    """One group, one event at 30.4375 * 6 days: the median is exactly 6 months."""
    analysis = pl.DataFrame({"patient_id": ["a"], "line": [1], "group": ["g"], "group_order": [1]})
    endpoints = pl.DataFrame(
        {"patient_id": ["a"], "line": [1], "endpoint": ["OS"], "time_days": [182.625],
         "event": [1]}
    )  # fmt: skip
    out = summary_by_line(analysis, endpoints, endpoint_names=["OS"], threshold=0)
    assert out["median_months"].to_list() == [6.0]


def test_missing_column_names_table_and_column() -> None:
    analysis, endpoints = tables()
    with pytest.raises(
        InvalidDataError, match=r"'endpoints' table lacks the column\(s\) 'time_days'"
    ):
        summary_by_line(analysis, endpoints.drop("time_days"))
    with pytest.raises(InvalidDataError, match="'analysis_lines' table lacks the column"):
        summary_by_line(analysis.drop("group"), endpoints)


def test_duplicate_and_disjoint_keys_are_errors() -> None:
    analysis, endpoints = tables()
    with pytest.raises(InvalidDataError, match="rows sharing"):
        summary_by_line(pl.concat([analysis, analysis.head(1)]), endpoints)
    with pytest.raises(InvalidDataError, match="do not meet"):
        summary_by_line(analysis.with_columns(pl.col("line") + 10), endpoints)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"endpoint_names": ["PFS", "EFS"]}, "endpoint_names"),
        ({"threshold": -1}, "threshold"),
        ({"conf_level": 95}, "conf_level"),
        ({"conf_type": "logit"}, "conf_type"),
        ({"landmarks_months": [0]}, "landmarks_months"),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs: dict, name: str) -> None:
    with pytest.raises(ParameterError, match=f"The '{name}' parameter of summary_by_line"):
        summary_by_line(*tables(), **kwargs)


R_SCRIPT = r"""
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], na.strings = "")
out <- NULL
num <- function(x) ifelse(is.finite(x), x, NA)
for (ep in c("pfs", "os", "ttnt")) {
  t <- d[[paste0(ep, "_days")]] / 30.4375; e <- d[[paste0(ep, "_event")]]
  fit <- survfit(Surv(t, e) ~ group, data = d)
  q <- quantile(fit, 0.5)
  g <- sub("group=", "", names(fit$strata))
  out <- rbind(out, data.frame(endpoint = toupper(ep), group = g, what = "median",
    estimate = num(q$quantile[, 1]), lower = num(q$lower[, 1]), upper = num(q$upper[, 1])))
  s <- summary(fit, times = c(12, 24))
  out <- rbind(out, data.frame(endpoint = toupper(ep), group = sub("group=", "", s$strata),
    what = paste0("rate_", s$time), estimate = s$surv, lower = s$lower, upper = s$upper))
}
fu <- quantile(survfit(Surv(os_days / 30.4375, 1 - os_event) ~ group, data = d), 0.5)
out <- rbind(out, data.frame(endpoint = "OS", group = sub("group=", "", rownames(fu$quantile)),
  what = "followup", estimate = fu$quantile[, 1], lower = NA, upper = NA))
write.csv(out, args[2], row.names = FALSE, na = "")
"""


def rerun_r(script: str, data: pl.DataFrame, tmp_path: Path) -> pl.DataFrame:
    """Run an R script (``Rscript ref.R data.csv r.csv``) on ``data`` and read what it wrote."""
    import shutil
    import subprocess

    assert shutil.which("Rscript"), "pytest -m r needs R: apt-get install r-cran-survival"
    (tmp_path / "ref.R").write_text(script)
    data.write_csv(tmp_path / "data.csv")
    subprocess.run(
        ["Rscript", str(tmp_path / "ref.R"), str(tmp_path / "data.csv"), str(tmp_path / "r.csv")],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return pl.read_csv(tmp_path / "r.csv", infer_schema_length=None)


@pytest.mark.r
def test_rerun_r_reproduces_the_numbers_above(tmp_path) -> None:
    """Opt-in (``pytest -m r``): R recomputes MEDIANS, LANDMARKS and FOLLOWUP from DATA."""
    r = rerun_r(R_SCRIPT, DATA, tmp_path)
    seen = 0
    for endpoint, group, what, estimate, lower, upper in r.iter_rows():
        if what == "median":
            want = MEDIANS[endpoint][group]
        elif what == "followup":
            want = (FOLLOWUP[group], None, None)
        else:
            want = LANDMARKS[endpoint][group][(12, 24).index(int(what[5:]))]
        for ours, theirs in zip(want, (estimate, lower, upper), strict=True):
            assert _close(theirs, ours), (endpoint, group, what, theirs, ours)
        seen += 1
    assert seen == 12 + 22 + 4  # 12 medians, 22 landmark rows (2 beyond follow-up), 4 groups
