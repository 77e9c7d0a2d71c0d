"""Review of the summary tables and the KM figure per group: small counts a reader can work out
from one published table, and the figure's hazard-ratio annotation, on hand-made inputs.

A reader of an aggregate table knows more than the declared sums: a count of patient-lines
with an event (an adverse event, a progression) cannot exceed the patient-lines it is counted
among. The privacy audit (docs/privacy.md: "no suppressed count can be recovered") must hold
with that bound too; the tests solve the reader's integer programme (scipy ``milp``).
"""

from __future__ import annotations

import datetime as dt
import warnings

import matplotlib
import numpy as np
import polars as pl
from scipy.optimize import Bounds, LinearConstraint, milp

from mmrwe.report.run_report import km_by_group
from mmrwe.stats.adverse_events import adverse_events
from mmrwe.stats.subgroups import subgroup_hazard_ratios

matplotlib.use("Agg")

THRESHOLD = 11
BIG = 10**6


def _bounds(text: str | None, upper: float) -> tuple[float, float]:
    """What a published cell tells a reader: a number, ``<11`` (1..10), ``withheld`` (>= 11);
    never more than ``upper`` (the patient-lines it is counted among)."""
    if text == f"<{THRESHOLD}":
        return 1.0, min(THRESHOLD - 1.0, upper)
    if text == "withheld":
        return float(THRESHOLD), upper
    return float(text), float(text)


def _range(lo: np.ndarray, hi: np.ndarray, a: np.ndarray, j: int) -> tuple[float, float]:
    """Smallest and largest whole value of unknown ``j`` with ``a x = 0`` and the bounds."""
    ends = []
    for sign in (1.0, -1.0):
        c = np.zeros(lo.size)
        c[j] = sign
        res = milp(
            c,
            constraints=LinearConstraint(a, 0, 0),
            integrality=np.ones(lo.size),
            bounds=Bounds(lo, hi),
        )
        assert res.status == 0, "the published table contradicts itself"
        ends.append(sign * res.fun)
    return ends[0], ends[1]


def _number(text: str | None) -> float:
    return float(text) if text is not None and text.isdigit() else BIG


# --------------------------------------------------------------------------------------------
# adverse_events: a grade count recoverable through n_any_grade <= n_patients
# --------------------------------------------------------------------------------------------


def test_adverse_event_grade_count_not_recoverable_through_patient_lines() -> None:
    """12 patient-lines on Kd: 11 with CRS grade 1 at worst, 1 with CRS grade 4.

    Found: n_patients 12, n_any_grade withheld (>= 11), n_grade_1 withheld (>= 11), n_grade_4
    ``<11``: since n_any_grade <= n_patients = 12 and n_any_grade = n_grade_1 + n_grade_4 with
    n_grade_1 >= 11, the reader gets n_grade_1 = 11 and n_grade_4 = 1. docs/privacy.md: no
    suppressed count may be recoverable from the published ones. Expected: every ``<11`` cell
    of the row keeps at least two possible values."""
    n = 12
    ids = [f"P{i:02d}" for i in range(n)]
    day = dt.date(2020, 1, 1)
    lines = pl.DataFrame(
        {
            "patient_id": ids,
            "line": [1] * n,
            "regimen": ["Kd"] * n,
            "index_date": [day] * n,
            "end_date": [dt.date(2020, 6, 30)] * n,
        }
    )
    events = pl.DataFrame(
        {
            "patient_id": ids,
            "term": ["CRS"] * n,
            "onset_date": [dt.date(2020, 2, 1)] * n,
            "grade": [4] + [1] * (n - 1),
            "grading": ["ASTCT"] * n,
        }
    )
    row = adverse_events(lines, events, threshold=THRESHOLD).row(0, named=True)
    names = ["n_any_grade", "n_grade_3_plus", *[f"n_grade_{g}" for g in range(1, 6)]]
    upper = _number(row["n_patients"])
    lo, hi = map(np.array, zip(*[_bounds(row[c], upper) for c in names], strict=True))
    a = np.array(
        [
            [-1, 0, 1, 1, 1, 1, 1],  # any grade = grades 1..5
            [0, -1, 0, 0, 1, 1, 1],  # grade >= 3 = grades 3..5
        ],
        dtype=float,
    )
    determined = [
        names[j]
        for j, c in enumerate(names)
        if row[c] == f"<{THRESHOLD}" and len(set(_range(lo, hi, a, j))) == 1
    ]
    assert determined == [], f"published row {row} lets a reader recover {determined}"


# --------------------------------------------------------------------------------------------
# subgroup_hazard_ratios: an event count recoverable through n_events <= n_patients
# --------------------------------------------------------------------------------------------


def test_subgroup_event_count_not_recoverable_through_patient_lines() -> None:
    """Subgroup age: level X 30 patient-lines with 9 events, level Y 11 patient-lines, all 11
    with an event; no level missing.

    Found: overall 20 events, X ``<11``, Y withheld (>= 11) next to Y's 11 patient-lines: Y's
    events are at most 11, so Y = 11 and X = 20 - 11 = 9. Expected (docs/privacy.md): X's
    event count keeps at least two possible values."""
    nx, ny = 30, 11
    n = nx + ny
    ids = [f"P{i:02d}" for i in range(n)]
    lines = pl.DataFrame(
        {"patient_id": ids, "line": [2] * n, "subgroup_age": ["X"] * nx + ["Y"] * ny}
    )
    endpoints = pl.DataFrame(
        {
            "patient_id": ids,
            "line": [2] * n,
            "endpoint": ["PFS"] * n,
            "time_days": np.arange(1, n + 1) * 30.4375,
            "event": [1] * 9 + [0] * 21 + [1] * ny,
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = subgroup_hazard_ratios(lines, endpoints, subgroups=["age"], threshold=THRESHOLD)
    overall = table.filter(pl.col("subgroup") == "overall").row(0, named=True)
    levels = table.filter(pl.col("subgroup") == "age").sort("level")
    assert levels["n_missing"].to_list() == ["0", "0"]
    cells = [overall["n_events"], *levels["n_events"].to_list()]
    uppers = [_number(overall["n_patients"])] + [
        min(_number(p), _number(overall["n_patients"])) for p in levels["n_patients"]
    ]
    lo, hi = map(
        np.array, zip(*[_bounds(c, u) for c, u in zip(cells, uppers, strict=True)], strict=True)
    )
    a = np.array([[-1.0, 1.0, 1.0]])  # overall events = X + Y (no missing level)
    small = [j for j, c in enumerate(cells) if c == f"<{THRESHOLD}"]
    assert small, "the small event count of X is shown as <11"
    for j in small:
        low, high = _range(lo, hi, a, j)
        assert low != high, f"published {cells} (patients {uppers}) fix cell {j} at {low:.0f}"


# --------------------------------------------------------------------------------------------
# KM figure per analysis group (run_report.km_by_group): the hazard-ratio annotation
# --------------------------------------------------------------------------------------------


def _figure_texts(groups: list[str], months: list[float], event: list[int], threshold: int):
    n = len(groups)
    ids = [f"P{i:02d}" for i in range(n)]
    order = {g: k for k, g in enumerate(dict.fromkeys(groups))}
    lines = pl.DataFrame(
        {
            "patient_id": ids,
            "line": [2] * n,
            "group": groups,
            "group_order": [order[g] for g in groups],
        }
    )
    endpoints = pl.DataFrame(
        {
            "patient_id": ids,
            "line": [2] * n,
            "endpoint": ["PFS"] * n,
            "time_months": [float(m) for m in months],
            "event": event,
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = km_by_group(lines, endpoints, "PFS", threshold=threshold, compare=True)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    import matplotlib.pyplot as plt

    plt.close(fig)
    return texts


def test_km_figure_two_groups_without_events_is_drawn() -> None:
    """first_eligible run, two groups of 15, no PFS event yet (early data cut).

    Found: ``CoxPH().fit`` raises InvalidDataError("There are no events ...") inside
    km_by_group; FigureWriter.add only catches ValueError, so ``mmrwe run`` stops. R draws the
    curves and ``coxph(Surv(t, e) ~ g)`` returns an NA coefficient without an error
    (survival 3.5). Expected: the figure is drawn, without a hazard ratio."""
    texts = _figure_texts(["A"] * 15 + ["B"] * 15, list(range(1, 31)), [0] * 30, THRESHOLD)
    assert not any("HR" in t for t in texts), texts


def test_km_figure_shows_no_infinite_hazard_ratio() -> None:
    """Two groups of 15: A has 15 events (months 1-15), B none (censored at 16-30).

    R: ``coxph(Surv(1:30, rep(1:0, each = 15)) ~ g)`` warns "coefficient may be infinite",
    exp(coef) 1.4e-10, se 11855, limits 0 and Inf. Found: the annotation prints
    "HR B vs A: 0.00 (95 % CI 0.00–inf)". Expected, as for subgroup hazard ratios
    (docs/summaries.md: a level without events has no finite HR, null with a note): no
    hazard ratio with an infinite limit is printed."""
    texts = _figure_texts(
        ["A"] * 15 + ["B"] * 15, list(range(1, 31)), [1] * 15 + [0] * 15, THRESHOLD
    )
    hr = [t for t in texts if "HR" in t]
    assert not any("inf" in t.lower() or "0.00 (" in t for t in hr), hr


def test_km_figure_hides_hazard_ratio_of_group_below_threshold() -> None:
    """Group A 25 patient-lines, group B 5 (below the threshold 11), times interleaved.

    B's curve and numbers at risk are hidden (fewer than 11 at risk from the start), yet the
    annotation prints B's hazard ratio against A. Expected (summary_by_line and
    docs/summaries.md on subgroups: the estimates of a group below the threshold are
    withheld): no hazard ratio naming B."""
    groups = ["A"] * 25 + ["B"] * 5
    months = [float(m) for m in range(1, 26)] + [2.5, 7.5, 12.5, 17.5, 22.5]
    texts = _figure_texts(groups, months, [1] * 30, THRESHOLD)
    assert not any("HR B" in t for t in texts), texts


# --------------------------------------------------------------------------------------------
# baseline_table: a group's count recoverable through (level count) <= (group's patient-lines)
# --------------------------------------------------------------------------------------------


def test_baseline_age_count_not_recoverable_through_group_size() -> None:
    """Group A 11 patient-lines, all aged 70; group B 20, 9 aged 70 and 11 aged 50.

    Found: "≥ 65" reads A withheld (>= 11), B ``<11``, Total 20, next to A's 11 patient-lines:
    A's count is at most 11, so A = 11 and B = 20 - 11 = 9. Expected (docs/privacy.md): B's
    count keeps at least two possible values."""
    from mmrwe.stats.baseline import FLAGS, baseline_table

    na, nb = 11, 20
    n = na + nb
    data: dict[str, list] = {
        "patient_id": [f"P{i:02d}" for i in range(n)],
        "group": ["A"] * na + ["B"] * nb,
        "group_order": [1] * na + [2] * nb,
        "age_at_index": [70] * (na + 9) + [50] * 11,
        "years_since_diagnosis": [3.0] * n,
        "prior_lines": [2] * n,
        "sex": ["F"] * n,
        "iss_stage": ["I"] * n,
        "r_iss_stage": ["I"] * n,
        "cytogenetic_risk": ["standard"] * n,
        "ecog": [0] * n,
    }
    data |= {column: [False] * n for _, column in FLAGS}
    table = baseline_table(pl.DataFrame(data), pl.DataFrame(), by="group", threshold=THRESHOLD)

    def cell(level: str, column: str) -> str:
        text = table.filter(pl.col("level") == level)[column][0]
        return text.split(" ")[0]  # "20 (64.5%)" -> "20"

    sizes = [_number(cell("n", c)) for c in ("A", "B", "Total")]
    cells = [cell("≥ 65", c) for c in ("A", "B", "Total")]
    lo, hi = map(
        np.array, zip(*[_bounds(c, u) for c, u in zip(cells, sizes, strict=True)], strict=True)
    )
    a = np.array([[1.0, 1.0, -1.0]])  # Total = A + B
    small = [j for j, c in enumerate(cells) if c == f"<{THRESHOLD}"]
    assert small, cells
    for j in small:
        low, high = _range(lo, hi, a, j)
        assert low != high, f"published ≥ 65: {cells} (patient-lines {sizes}) fix cell {j}"
