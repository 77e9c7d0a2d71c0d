"""Percentages rounded as R prints them (issue 20).

R's ``round`` rounds "the represented number and not the printed number" (R documentation,
?round, Details) and ``sprintf("%.1f", x)`` passes the double to the C library, which rounds
its exact binary value. 100 * 153 / 2000 is the double 7.6500000000000003552713678800500929355621337890625, so
R gives ``sprintf("%.1f", 100*153/2000)`` = "7.7" and ``round(100*153/2000, 1)`` = 7.7;
153 / 2000 * 100 is 7.64999999999999946709… and gives 7.6 in both. A tie exactly representable
(0.125 to two decimals) goes to the even digit: 0.12.
"""

from decimal import Decimal

import polars as pl

from mmrwe.stats.response_rates import response_rates
from mmrwe.stats.rounding import round_exact, round_like_r


def test_exact_binary_value_decides() -> None:
    assert Decimal(100 * 153 / 2000) > Decimal("7.65") > Decimal(153 / 2000 * 100)
    assert round_exact([100 * 153 / 2000, 153 / 2000 * 100, 0.125, float("nan")], 1)[
        :2
    ].tolist() == [7.7, 7.6]
    assert round_exact([0.125], 2).tolist() == [0.12]
    out = pl.DataFrame({"n": [153, None], "d": [2000, 4]}).select(
        round_like_r(100 * pl.col("n") / pl.col("d")).alias("pct")
    )
    assert out["pct"].to_list() == [7.7, None]


def test_response_rate_percentage_is_rs() -> None:
    # 153 of 2000 patient-lines with CR: R sprintf("%.1f", 100*153/2000) prints 7.7 (Polars'
    # round(1) gave 7.6)
    lines = pl.DataFrame(
        {"patient_id": [f"P{i}" for i in range(2000)], "line": [1] * 2000, "group": ["g"] * 2000}
    )
    best = ["CR"] * 153 + ["PR"] * 1847
    lr = lines.select("patient_id", "line").with_columns(pl.Series("best_response", best))
    table = response_rates(lines, lr, threshold=0)
    assert table["pct_CR"][0] == 7.7
