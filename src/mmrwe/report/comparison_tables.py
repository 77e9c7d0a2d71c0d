"""The tables of a comparison (``mmrwe compare``) in the report's words.

Each renderer takes the table as written (every column as text) and the endpoint, and returns
an HTML table: columns named as the rest of the report names them, an estimate joined with its
interval, medians in months, survival rates and shares in %. A column this module does not know
is shown with its name in words, so nothing a newer comparison writes is lost.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from mmrwe.report.html_tables import estimate, html_table, number

#: shown for a value that does not apply to a row (never "None")
EMPTY = ""


def _label(column: str) -> str:
    """A column this module does not know: its name in words."""
    return column.replace("_", " ").capitalize()


def _get(row: dict[str, str | None], key: str) -> str | None:
    value = row.get(key)
    return None if value in (None, "", "None", "null") else value


def _measure(row: dict[str, str | None], endpoint: str) -> tuple[str, float]:
    """The row's measure in words and the scale of its values (100 for a rate in %)."""
    measure, time = (_get(row, "measure") or ""), _get(row, "time")
    if measure == "median":
        return f"Median {endpoint}, months", 1.0
    if measure in ("survival rate", "rate") and time is not None:
        return f"{float(time):g}-month {endpoint}, %", 100.0
    return measure.capitalize() or EMPTY, 1.0


def comparison_table(table: pl.DataFrame, endpoint: str) -> str:
    """The real-world cohort beside the trial arm: a summary (medians and landmark rates against
    the published ones) or hazard ratios (against the trial's patient data)."""
    if "analysis" in table.columns:
        return _hazard_ratios(table, endpoint)
    weighted = any(
        _get(r, "rw_weighted") != _get(r, "rw_unadjusted") for r in table.iter_rows(named=True)
    )
    # unweighted, the estimate is shown once, with its interval
    header = ["Measure", "Real-world, unadjusted"] if weighted else ["Measure"]
    header += ["Real-world, MAIC-weighted (95 % CI)"] if weighted else ["Real-world (95 % CI)"]
    header += ["Trial, published", "Difference, real-world − trial", "Effective sample size"]
    rows = []
    for r in table.iter_rows(named=True):
        label, scale = _measure(r, endpoint)
        point = [estimate(_get(r, "rw_unadjusted"), None, None, scale=scale)] if weighted else []
        rows.append(
            [
                label,
                *point,
                estimate(
                    _get(r, "rw_weighted"),
                    _get(r, "rw_weighted_lower"),
                    _get(r, "rw_weighted_upper"),
                    scale=scale,
                ),
                number(_get(r, "trial_published"), 1, scale) or "not published",
                number(_get(r, "difference"), 1, scale) or EMPTY,
                number(_get(r, "ess"), 1) or EMPTY,
            ]
        )
    notes = sorted({n for r in table.iter_rows(named=True) if (n := _get(r, "note"))})
    caption = "Real-world cohort against the trial arm"
    caption += (" (" + "; ".join(notes) + ")" if notes else "") + ". Rates and differences of "
    caption += "rates in % (percentage points); NR: median not reached; NE: limit not estimable."
    return html_table(rows, header, caption=caption, numeric_from=1)


def _hazard_ratios(table: pl.DataFrame, endpoint: str) -> str:
    """Hazard ratios of the real-world cohort against the trial's (reconstructed) patients."""
    words = {"unadjusted": "Unadjusted", "weighted": "MAIC-weighted"}
    header = [
        "Analysis",
        f"HR of {endpoint}, real-world vs trial (95 % CI)",
        "Bootstrap 95 % CI",
        "Bootstrap resamples used",
        "Effective sample size",
        "Real-world patients",
        "Trial patients",
        f"Median {endpoint}, real-world, months",
        f"Median {endpoint}, trial, months",
    ]
    rows = [
        [
            words.get(_get(r, "analysis") or "", _get(r, "analysis") or EMPTY),
            estimate(_get(r, "hr"), _get(r, "lower"), _get(r, "upper"), decimals=2),
            _interval(_get(r, "lower_boot"), _get(r, "upper_boot")),
            _get(r, "n_boot") or EMPTY,
            number(_get(r, "ess"), 1) or EMPTY,
            _get(r, "n_rw") or EMPTY,
            _get(r, "n_trial") or EMPTY,
            estimate(_get(r, "median_rw"), None, None),
            estimate(_get(r, "median_trial"), None, None),
        ]
        for r in table.iter_rows(named=True)
    ]
    caption = (
        "Hazard ratios against the trial's patient data (Cox; weighted: robust variance); "
        "NR: median not reached; NE: limit not estimable."
    )
    return html_table(rows, header, caption=caption, numeric_from=1)


def _interval(lower: str | None, upper: str | None) -> str:
    if lower is None and upper is None:
        return EMPTY
    return f"{number(lower, 2) or 'NE'}–{number(upper, 2) or 'NE'}"


BALANCE = {
    "covariate": "Characteristic",
    "target": "Trial (target)",
    "mean_before": "Real-world, unweighted",
    "mean_after": "Real-world, weighted",
    "smd_before": "Standardised difference, unweighted",
    "smd_after": "Standardised difference, weighted",
    "note": "Note",
}


def balance_table(table: pl.DataFrame, endpoint: str) -> str:
    """The matched characteristics before and after weighting (shares as proportions)."""
    columns = [c for c in table.columns if c != "coef"]
    rows = [
        [
            (number(v, 3) if c not in ("covariate", "note") else v) or EMPTY
            for c, v in ((c, _get(r, c)) for c in columns)
        ]
        for r in table.iter_rows(named=True)
    ]
    header = [BALANCE.get(c, _label(c)) for c in columns]
    caption = (
        "Balance of the matched characteristics before and after weighting (means, shares as "
        "proportions 0–1; standardised differences)."
    )
    return html_table(rows, header, caption=caption, numeric_from=1)


WEIGHTS = {
    "patients_used": "Real-world patients used",
    "patients_missing_a_characteristic": "Left out: a matched characteristic missing",
    "patients_without_the_endpoint": "Left out: without the endpoint",
    "ess": "Effective sample size",
    "weight_min": "Weight, minimum",
    "weight_q25": "Weight, 25th percentile",
    "weight_median": "Weight, median",
    "weight_q75": "Weight, 75th percentile",
    "weight_max": "Weight, maximum",
    "weight_top1pct_share": "Share of the total weight, heaviest 1 %",
    "weight_top5pct_share": "Share of the total weight, heaviest 5 %",
    "weight_max_share": "Share of the total weight, heaviest patient",
}


def weights_table(table: pl.DataFrame, endpoint: str) -> str:
    """Patients used and left out, the effective sample size and the weights' distribution, one
    row per quantity (the table has one row)."""
    row = table.row(0, named=True)
    rows = [[WEIGHTS.get(c, _label(c)), _weight_value(c, _get(row, c))] for c in table.columns]
    return html_table(
        rows,
        ["", "Value"],
        caption="Patients used and the distribution of the weights.",
        numeric_from=1,
    )


def _weight_value(column: str, value: str | None) -> str:
    if value is None:
        return EMPTY
    if column.endswith("_share"):
        return number(value, 1, 100.0) + " %"  # type: ignore[operator]
    if column == "ess" or column.startswith("weight_"):
        return number(value, 2 if column.startswith("weight_") else 1) or value
    return value


def published_table(table: pl.DataFrame, endpoint: str) -> str:
    """The trial arm's published figures of the endpoint, each with its source."""
    rows = []
    for r in table.iter_rows(named=True):
        measure, time = _get(r, "measure") or "", _get(r, "time_months")
        if measure == "survival rate" and time is not None:
            label, scale, digits = f"{float(time):g}-month {endpoint}, %", 100.0, 1
        elif measure == "median":
            label, scale, digits = f"Median {endpoint}, months", 1.0, 1
        elif "hazard" in measure:
            label, scale, digits = "Hazard ratio against the trial's comparator arm", 1.0, 3
        else:
            label, scale, digits = measure.capitalize(), 1.0, 1
        value = (
            "NR"
            if (_get(r, "not_reached") or "").lower() == "true"
            else estimate(
                _get(r, "value"), _get(r, "lower"), _get(r, "upper"), scale=scale, decimals=digits
            )
        )
        subgroup = _get(r, "subgroup")
        rows.append(
            [label + (f" ({subgroup})" if subgroup else ""), _get(r, "source") or EMPTY, value]
        )
    return html_table(
        rows,
        ["Published figure", "Source", "Value (95 % CI)"],
        caption="The trial arm's published figures, with their sources.",
        numeric_from=2,
    )


#: the comparison's tables in the order shown, each with its renderer
TABLES: dict[str, Callable[[pl.DataFrame, str], str]] = {
    "comparison": comparison_table,
    "balance": balance_table,
    "weights": weights_table,
    "published": published_table,
}
