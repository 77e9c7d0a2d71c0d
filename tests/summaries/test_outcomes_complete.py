"""summary_by_line reports DOR, TTR and TTD by default, each with its denominator (responders
for DOR and TTR), against hand-computed Kaplan–Meier values that R reproduces:

    # one group, 12 analysed lines; 6 responders carry DOR and TTR (days)
    ttd <- data.frame(t = c(30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 330, 360),
                      e = c(1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 1))
    dor <- data.frame(t = c(100, 200, 300, 400, 500, 600), e = c(1, 0, 1, 1, 0, 1))
    ttr <- data.frame(t = c(30, 61, 61, 91, 122, 183), e = rep(1, 6))
    for (d in list(ttd, dor, ttr)) {
      fit <- survfit(Surv(t / 30.4375, e) ~ 1, data = d)
      print(quantile(fit, 0.5)$quantile * 30.4375)   # 240, 400, 76 days
    }
    summary(survfit(Surv(t / 30.4375, e) ~ 1, data = ttd), times = 6)$surv   # 0.5555556

By hand (product-limit):
- TTD: 12 at risk; events at 30, 60 -> 10/12; 90 censored; 120 (9 at risk) -> 0.7407;
  150 (8) -> 0.6481; 180 (7) -> 0.5556; 210 censored; 240 (5 at risk) -> 0.4444 <= 0.5: median
  240 days. S(6 months = 182.6 days) = 0.5556.
- DOR: 100 (6 at risk) -> 0.8333; 200 censored; 300 (4) -> 0.625; 400 (3) -> 0.4167: median
  400 days.
- TTR: 30 (6) -> 0.8333; 61 (5, two events) -> 0.5 exactly, flat until 91: R's median is the
  midpoint of the flat stretch, (61 + 91) / 2 = 76 days.
"""

from __future__ import annotations

import polars as pl
import pytest

from mmrwe.stats.summary_by_line import DAYS_PER_MONTH, summary_by_line

TTD = [(30, 1), (60, 1), (90, 0), (120, 1), (150, 1), (180, 1), (210, 0), (240, 1), (270, 1),
       (300, 1), (330, 1), (360, 1)]  # fmt: skip
DOR = [(100, 1), (200, 0), (300, 1), (400, 1), (500, 0), (600, 1)]
TTR = [(30, 1), (61, 1), (61, 1), (91, 1), (122, 1), (183, 1)]


def tables() -> tuple[pl.DataFrame, pl.DataFrame]:
    ids = [f"P{i:02d}" for i in range(12)]
    analysis = pl.DataFrame({"patient_id": ids, "line": [2] * 12, "group": ["line 2"] * 12})
    rows = []
    for name, data, who in (("TTD", TTD, ids), ("OS", TTD, ids), ("PFS", TTD, ids),
                            ("DOR", DOR, ids[:6]), ("TTR", TTR, ids[:6])):  # fmt: skip
        rows += [(p, 2, name, t, e) for p, (t, e) in zip(who, data, strict=True)]
    endpoints = pl.DataFrame(
        rows, schema=["patient_id", "line", "endpoint", "time_days", "event"], orient="row"
    )
    return analysis, endpoints


def test_dor_ttr_and_ttd_are_summarised_with_their_denominators() -> None:
    out = summary_by_line(*tables(), landmarks_months=[6], threshold=0)
    assert out["endpoint"].to_list() == ["PFS", "OS", "DOR", "TTR", "TTD"]
    by = {r["endpoint"]: r for r in out.iter_rows(named=True)}
    assert by["TTD"]["denominator"] == "analysed lines"
    assert by["DOR"]["denominator"] == by["TTR"]["denominator"] == "responders"
    assert (by["TTD"]["n_patients"], by["TTD"]["n_events"]) == ("12", "10")
    assert (by["DOR"]["n_patients"], by["DOR"]["n_events"]) == ("6", "4")
    assert (by["TTR"]["n_patients"], by["TTR"]["n_events"]) == ("6", "6")
    assert by["TTD"]["median_months"] == pytest.approx(240 / DAYS_PER_MONTH, rel=1e-12)
    assert by["DOR"]["median_months"] == pytest.approx(400 / DAYS_PER_MONTH, rel=1e-12)
    assert by["TTR"]["median_months"] == pytest.approx(76 / DAYS_PER_MONTH, rel=1e-12)
    assert by["TTD"]["rate_6m"] == pytest.approx(5 / 9, rel=1e-12)


def test_the_denominator_column_follows_the_endpoint() -> None:
    out = summary_by_line(*tables(), threshold=0)
    assert out.columns[:4] == ["group", "group_order", "endpoint", "denominator"]
