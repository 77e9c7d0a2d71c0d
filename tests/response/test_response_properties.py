"""Invariances of the response stage on a small simulated cohort: input order (partitioning:
``tests/pipeline``)."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from mmrwe.io.read import read_cohort
from mmrwe.lines import derive_lines_of_therapy
from mmrwe.response import (
    LINE_RESPONSE_SCHEMA,
    derive_assessments,
    derive_line_response,
    progression_dates,
)
from mmrwe.simulate import simulate_cohort


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("sim") / "cohort"
    simulate_cohort(path, n_patients=300, seed=11)
    data = read_cohort(path)
    return data, derive_lines_of_therapy(data).lines


def test_input_order_does_not_change_the_result(cohort) -> None:
    data, lines = cohort
    assessments = derive_assessments(data.labs, lines)
    shuffled_labs = data.labs.sample(fraction=1.0, shuffle=True, seed=3)
    assert_frame_equal(assessments, derive_assessments(shuffled_labs, lines))
    expected = derive_line_response(assessments, lines, data.responses, data.patients)
    shuffled = assessments.sample(fraction=1.0, shuffle=True, seed=4)
    got = derive_line_response(shuffled, lines, data.responses, data.patients)
    assert_frame_equal(expected, got)
    assert expected.schema == pl.Schema(LINE_RESPONSE_SCHEMA)
    assert expected.height == lines.height


def test_progression_dates_are_the_line_progressions(cohort) -> None:
    data, lines = cohort
    lr = derive_line_response(
        derive_assessments(data.labs, lines), lines, data.responses, data.patients
    )
    pd_dates = progression_dates(lr)
    assert pd_dates.columns == ["patient_id", "date"]
    assert (
        pd_dates.height
        == lr.filter(pl.col("progression_date").is_not_null())
        .select("patient_id", "progression_date")
        .unique()
        .height
        > 0
    )
