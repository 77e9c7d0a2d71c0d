"""The vectorised lab-value classifier (``classify_values``, Polars expressions, used by the
reader) and the per-value one (``classify_value``, the rule as written, also used by the OMOP
renderer) are two implementations of one rule: they must agree on every spelling, and both give
the kinds the rule states (docs/data-model.md: numbers, censored values, words)."""

from __future__ import annotations

import math

from mmrwe.io.labs import _KINDS, BAD, classify_value, classify_values

SPELLINGS = [
    ("1.5", "number", 1.5),
    ("0", "number", 0.0),
    ("12", "number", 12.0),
    ("<0.1", "below", 0.1),
    (">=5", "above", 5.0),
    ("negative", "absent", None),
    ("Positive", "present", None),
    ("NaN", "bad", None),
    ("inf", "bad", None),
    ("1e400", "bad", None),
    ("abc", "bad", None),
    ("3,5", "bad", None),
    ("", "bad", None),
    ("≤0.5", None, None),  # outside printable ASCII: classify_value decides
]


def test_both_classifiers_agree_and_follow_the_rule() -> None:
    values = [s for s, _, _ in SPELLINGS]
    kinds, numbers = classify_values(values)
    for i, (text, kind, number) in enumerate(SPELLINGS):
        one_kind, one_number = classify_value(text)
        if kind is not None:
            assert (one_kind, one_number) == (kind, number), text
        assert kinds[i] == _KINDS.get(one_kind, BAD), text
        assert (math.isnan(numbers[i]) and one_number is None) or numbers[i] == one_number, text
