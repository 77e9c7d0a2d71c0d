"""Treatment-sequence (alluvial) figure: flows, small-cell suppression, nothing recoverable."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmrwe.errors import ParameterError
from mmrwe.report.figures.sequences import (
    _labels,
    plot_sequences,
    sequence_flows,
    sequence_nodes,
)
from tests.report.figure_data import D, lines_table

CLASSES = {
    "PI + IMiD": ("VRd", "IMiD;PI;steroid"),
    "IMiD": ("Rd", "IMiD;steroid"),
    "anti-CD38 + IMiD": ("D-Rd", "IMiD;anti-CD38;steroid"),
    "anti-CD38 + PI": ("D-Vd", "PI;anti-CD38;steroid"),
    "PI": ("Kd", "PI;steroid"),
    "CAR-T": ("ide-cel", "CAR-T;PI;alkylator;steroid"),
    "bispecific": ("teclistamab", "bispecific"),
}


def cohort(paths: list[tuple[int, tuple[str, ...]]]) -> pl.DataFrame:
    """``lines`` for ``count`` patients following each sequence of regimen classes."""
    rows, pid = [], 0
    for count, sequence in paths:
        for _ in range(count):
            pid += 1
            for k, name in enumerate(sequence, start=1):
                regimen, classes = CLASSES[name]
                start = D(2015 + k, 1, 1)
                rows.append(
                    (f"SEQ{pid:04d}", k, start, D(2015 + k, 12, 31), "next_line", regimen, classes)
                )
    return lines_table(rows)


# line 1: 40 PI + IMiD, 20 IMiD
# line 2: PI + IMiD → anti-CD38 + IMiD 25, → anti-CD38 + PI 12 (3 stop);
#         IMiD → anti-CD38 + IMiD 4 (a small band), → PI + IMiD 14 (2 stop)
# line 3: anti-CD38 + IMiD → PI 12, → CAR-T 5; anti-CD38 + PI → PI 11, → bispecific 1
#         (CAR-T 5 and bispecific 1 are small classes: merged into "other", 6 patients)
PATHS = [
    (12, ("PI + IMiD", "anti-CD38 + IMiD", "PI")),
    (5, ("PI + IMiD", "anti-CD38 + IMiD", "CAR-T")),
    (8, ("PI + IMiD", "anti-CD38 + IMiD")),
    (11, ("PI + IMiD", "anti-CD38 + PI", "PI")),
    (1, ("PI + IMiD", "anti-CD38 + PI", "bispecific")),
    (3, ("PI + IMiD",)),
    (4, ("IMiD", "anti-CD38 + IMiD")),
    (14, ("IMiD", "PI + IMiD")),
    (2, ("IMiD",)),
]
LINES = cohort(PATHS)


def test_nodes_merge_small_classes_into_other():
    nodes = sequence_nodes(LINES, threshold=11)
    got = {(k, c): n for k, c, n in nodes.rows()}
    assert got == {
        (1, "PI + IMiD"): 40,
        (1, "IMiD"): 20,
        (2, "anti-CD38 + IMiD"): 29,
        (2, "anti-CD38 + PI"): 12,
        (2, "PI + IMiD"): 14,
        (3, "PI"): 23,
        (3, "other"): 6,  # CAR-T 5 + bispecific 1
    }


def test_flows_sum_to_the_patients_continuing():
    flows = sequence_flows(LINES, threshold=11)
    for k in (1, 2):
        continuing = (
            LINES.filter(pl.col("line") == k)
            .join(LINES.filter(pl.col("line") == k + 1), on="patient_id", how="semi")
            .height
        )
        assert flows.filter(pl.col("from_line") == k)["n"].sum() == continuing
    got = {(k, a, b): (n, shown) for k, a, b, n, shown in flows.rows()}
    assert got[(1, "IMiD", "anti-CD38 + IMiD")] == (4, False)
    assert got[(1, "PI + IMiD", "anti-CD38 + IMiD")] == (25, True)
    assert got[(2, "anti-CD38 + IMiD", "other")] == (5, False)


def _label_texts(fig, prefix: str) -> dict[str, str]:
    ax = fig.axes[0]
    return {t.get_gid(): t.get_text() for t in ax.texts if (t.get_gid() or "").startswith(prefix)}


def test_figure_draws_only_shown_flows_and_prints_no_small_count():
    fig = plot_sequences(LINES, threshold=11)
    flows = sequence_flows(LINES, threshold=11)
    drawn = [p.get_gid() for p in fig.axes[0].patches if (p.get_gid() or "").startswith("flow-")]
    assert len(drawn) == flows["shown"].sum() == 5  # 25, 12, 14, 12, 11
    assert "flow-1-IMiD-anti-CD38 + IMiD" not in drawn
    printed = list(_label_texts(fig, "flow-label-").values()) + [
        v for v in _label_texts(fig, "node-label-").values() if not v.startswith("<")
    ]
    assert all(int(v) >= 11 for v in printed)
    for text in (t.get_text() for t in fig.axes[0].texts):
        assert text not in {"4", "5", "6", "3", "1"}
    notes = " ".join(t.get_text() for t in fig.texts)
    assert "band(s) of fewer than 11 patients are not drawn" in notes


def test_complementary_labels_are_withheld():
    fig = plot_sequences(LINES, threshold=11)
    nodes = _label_texts(fig, "node-label-")
    flows = _label_texts(fig, "flow-label-")
    # node 29 minus its one printed band (25) would reveal the small band of 4: 25 is withheld
    assert nodes["node-label-2-anti-CD38 + IMiD"] == "29"
    assert "flow-label-1-PI + IMiD-anti-CD38 + IMiD" not in flows
    # line 3: "other" (6) is written <11; the line's total is published elsewhere, so the
    # other node (PI, 23) loses its label, and then one of its two bands (11 + 12 = 23) too
    assert nodes["node-label-3-other"] == "<11"
    assert "node-label-3-PI" not in nodes
    assert sum(k.startswith("flow-label-2-") and k.endswith("-PI") for k in flows) == 1


def _recoverable(nodes, flows, node_ok, flow_ok, line_totals: dict[int, int]) -> list[str]:
    """Unprinted counts that the printed ones determine uniquely (the relations: each node is
    the sum of its incoming bands plus patients entering there; each line's total is the sum
    of its nodes, published elsewhere). A cell is determined when its unit vector lies in the
    row space of the relations restricted to the unknowns."""
    names, values, printed = [], [], []
    for (k, c, n), ok in zip(nodes.rows(), node_ok, strict=True):
        names.append(("node", k, c))
        values.append(n)
        printed.append(ok)
    for (k, a, b, n, _), ok in zip(flows.rows(), flow_ok, strict=True):
        names.append(("flow", k, a, b))
        values.append(n)
        printed.append(ok)
    index = {name: i for i, name in enumerate(names)}
    rows = []
    first_line = min(nodes["line"])
    for k, c, _ in nodes.rows():
        if k == first_line:
            continue
        row = np.zeros(len(names))
        row[index[("node", k, c)]] = 1
        for fk, a, b, _, _ in flows.rows():
            if fk + 1 == k and b == c:
                row[index[("flow", fk, a, b)]] = -1
        rows.append(row)
    for k in line_totals:
        row = np.zeros(len(names))
        for nk, c, _ in nodes.rows():
            if nk == k:
                row[index[("node", nk, c)]] = 1
        rows.append(row)
    unknown = [i for i, ok in enumerate(printed) if not ok]
    if not unknown or not rows:
        return []
    a = np.array(rows)[:, unknown]
    rank = np.linalg.matrix_rank(a)
    out = []
    for j, i in enumerate(unknown):
        unit = np.zeros((1, len(unknown)))
        unit[0, j] = 1
        if np.linalg.matrix_rank(np.vstack([a, unit])) == rank and values[i] > 0:
            out.append(str(names[i]))
    return out


def test_no_withheld_count_is_recoverable_in_the_example():
    nodes = sequence_nodes(LINES, threshold=11)
    flows = sequence_flows(LINES, threshold=11)
    node_ok, flow_ok = _labels(nodes, flows, 11)
    assert _recoverable(nodes, flows, node_ok, flow_ok, {1: 60, 2: 55, 3: 29}) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(1, 25),
            st.lists(st.sampled_from(sorted(CLASSES)), min_size=1, max_size=3),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_no_withheld_count_is_recoverable(paths):
    lines = cohort([(n, tuple(seq)) for n, seq in paths])
    nodes = sequence_nodes(lines, threshold=11)
    flows = sequence_flows(lines, threshold=11)
    node_ok, flow_ok = _labels(nodes, flows, 11)
    printed_nodes = [n for n, ok in zip(nodes["n"], node_ok, strict=True) if ok]
    printed_flows = [n for n, ok in zip(flows["n"], flow_ok, strict=True) if ok]
    assert all(n >= 11 for n in printed_nodes + printed_flows)
    # the patients on each line are published in other tables unless fewer than the threshold
    totals = {k: int(n) for k, n in nodes.group_by("line").agg(pl.col("n").sum()).rows() if n >= 11}
    assert _recoverable(nodes, flows, node_ok, flow_ok, totals) == []


def test_threshold_zero_draws_and_labels_every_flow():
    fig = plot_sequences(LINES, threshold=0)
    flows = sequence_flows(LINES, threshold=0)
    drawn = [p for p in fig.axes[0].patches if (p.get_gid() or "").startswith("flow-")]
    assert len(drawn) == flows.height
    assert sequence_nodes(LINES, threshold=0).filter(pl.col("line") == 3)[
        "regimen_class"
    ].to_list() == [
        "PI",
        "CAR-T",
        "bispecific",
    ]


def test_max_line_limits_the_columns():
    fig = plot_sequences(LINES, max_line=2, threshold=11)
    headers = [t.get_text() for t in fig.axes[0].texts if t.get_text().startswith("Line ")]
    assert headers == ["Line 1", "Line 2"]
    with pytest.raises(ParameterError, match="'max_line' parameter"):
        plot_sequences(LINES, max_line=1)


def test_the_recoverability_check_finds_cells_without_complementary_protection():
    """Primary suppression alone leaves the small band recoverable (29 − 25 = 4)."""
    nodes = sequence_nodes(LINES, threshold=11)
    flows = sequence_flows(LINES, threshold=11)
    node_ok = [n >= 11 for n in nodes["n"]]
    flow_ok = list(flows["shown"])
    found = _recoverable(nodes, flows, node_ok, flow_ok, {1: 60, 2: 55, 3: 29})
    assert "('flow', 1, 'IMiD', 'anti-CD38 + IMiD')" in found
    assert "('node', 3, 'other')" in found  # 29 − 23
