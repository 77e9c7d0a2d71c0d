"""The kernel reads each rule setting from the LineRules field of the same rule: a swap (e.g.
conditioning_days for mobilisation_days) would compile and run silently, so it is pinned here with
distinct values written by hand."""

from __future__ import annotations

from mmrwe.lines import LineRules
from mmrwe.lines.kernel import KernelRules


def test_each_kernel_setting_comes_from_its_own_field() -> None:
    rules = LineRules(
        regimen_window_days=1,
        gap_days=2,
        asct_window_days=3,
        conditioning_days=4,
        mobilisation_days=5,
        maintenance_window_days=6,
        bridging_window_days=7,
        lymphodepletion_days=8,
        leukapheresis_window_days=9,
    )
    assert KernelRules.from_rules(rules) == KernelRules(
        regimen_window=1,
        gap_days=2,
        asct_window=3,
        conditioning_days=4,
        mobilisation_days=5,
        maintenance_window=6,
        bridging_window=7,
        lymphodepletion_days=8,
        leukapheresis_window=9,
    )


def test_every_day_setting_of_the_line_rules_reaches_the_kernel() -> None:
    days = {
        name
        for name, field in LineRules.model_fields.items()
        if field.annotation is int and name != "refractory_window_days"  # refractoriness stage
    }
    assert len(days) == len(KernelRules._fields) == 9


def test_the_maintenance_window_default_is_180_days() -> None:
    # Rule 5 (issue 14): maintenance after consolidation starts about day +120 to +180 (IFM 2009,
    # EMN02, StaMINA), so the window from the last ASCT is 180 days.
    assert LineRules().maintenance_window_days == 180
