"""Clopper–Pearson intervals against R's binom.test (tests/r/expected/clopper_pearson.csv).

R:  binom.test(x, n, conf.level = level)$conf.int
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest

from mmrwe.errors import ParameterError
from mmrwe.stats import clopper_pearson, proportion_table
from tests.stats.survival_reference import assert_close, expected


def test_matches_binom_test() -> None:
    r = expected("clopper_pearson")
    for level in (0.95, 0.9):
        rows = r.filter(r["level"] == level)
        est, lower, upper = clopper_pearson(rows["x"], rows["n"], level)
        assert_close(lower, rows["lower"], f"lower {level}")
        assert_close(upper, rows["upper"], f"upper {level}")
        assert_close(est, rows["x"] / rows["n"], "estimate")


@pytest.mark.parametrize(("x", "n"), [(0, 10), (3, 10), (10, 10), (45, 120)])
def test_agrees_with_scipy_exact(x: int, n: int) -> None:
    ci = binomtest(x, n).proportion_ci(0.95, method="exact")
    _, lower, upper = clopper_pearson(x, n)
    assert np.isclose(lower[0], ci.low, rtol=1e-9, atol=1e-15)
    assert np.isclose(upper[0], ci.high, rtol=1e-9)


def test_table_has_null_for_empty_denominator() -> None:
    t = proportion_table([3, 0], [10, 0], labels=["ORR", "CR"])
    assert t["estimate"].to_list()[1] is None
    assert t["lower"].to_list()[1] is None
    assert t["label"].to_list() == ["ORR", "CR"]


def test_rejects_more_successes_than_trials() -> None:
    with pytest.raises(ParameterError, match="'successes' parameter of clopper_pearson"):
        clopper_pearson(11, 10)
