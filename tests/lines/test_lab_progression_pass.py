"""Rule 5's progression exception with lab-derived PD (the second lines pass).

The patient (hand-adjudicated): VRd induction (days 0-111), melphalan-ASCT on day 200,
lenalidomide maintenance from +60 (day 260) stopped at +80, daratumumab-pomalidomide-
dexamethasone from +100 (day 300). Serum M-protein 3.0 g/dL at baseline, 0.2 g/dL on days 150
and 180 (the nadir, held at two consecutive assessments), 1.0 on day 270 and 1.2 on day 285: a
rise of ≥ 25 % and ≥ 0.5 g/dL from the nadir, confirmed, so IMWG progression dated day 270 (Kumar S
et al., Lancet Oncol 2016;17:e328). No physician-recorded PD. Relapse after the ASCT ends the
planned sequence (Rajkumar SV et al., Blood 2015;126:921), so DPd opens line 2 (rule 2) although
it starts inside the 180-day maintenance window; without the lab PD it stays in line 1.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from mmrwe.io import read_cohort
from mmrwe.lines import (
    derive_lines_of_therapy,
    patients_to_rederive,
    rederive_after_lab_progression,
)
from mmrwe.response import derive_assessments, derive_line_response, progression_dates
from tests.lines.helpers import day
from tests.response.helpers import write_case

TREATMENT = [
    ["bortezomib", 0, 111],
    ["lenalidomide", 0, 111],
    ["dexamethasone", 0, 111],
    ["melphalan", 198, 198],
    ["autologous stem cell transplant", 200, 200],
    ["lenalidomide", 260, 280],
    ["daratumumab", 300, 900],
    ["pomalidomide", 300, 900],
    ["dexamethasone", 300, 900],
]
SERUM_M = [(-5, 3.0), (60, 1.0), (150, 0.2), (180, 0.2), (270, 1.0), (285, 1.2)]


def _cohort(tmp_path: Path, with_relapse: bool):
    labs = [[d, "serum_m_protein", v, "g/dL"] for d, v in SERUM_M if with_relapse or d < 270]
    case = {"therapy": TREATMENT, "labs": labs, "last_contact": 1200}
    return read_cohort(write_case(case, tmp_path / ("relapse" if with_relapse else "none")))


def _lab_progression(cohort, lines: pl.DataFrame) -> pl.DataFrame:
    assessments = derive_assessments(cohort.labs, lines)
    response = derive_line_response(assessments, lines, cohort.responses, cohort.patients)
    return progression_dates(response)


def test_lab_pd_after_the_asct_ends_the_planned_sequence(tmp_path: Path) -> None:
    cohort = _cohort(tmp_path, with_relapse=True)
    first = derive_lines_of_therapy(cohort)
    assert first.lines["start_date"].to_list() == [day(0)]  # recorded PD only: none
    lab_pd = _lab_progression(cohort, first.lines)
    assert lab_pd["date"].to_list() == [day(270)]
    assert patients_to_rederive(first, lab_pd).to_list() == ["X"]
    final = rederive_after_lab_progression(cohort, first, lab_pd)
    lines = final.lines
    assert lines["start_date"].to_list() == [day(0), day(300)]
    assert lines["end_date"].to_list() == [day(299), day(1200)]
    assert lines["regimen"].to_list() == ["VRd", "DPd"]
    assert lines["maintenance"].to_list() == ["R", ""]
    assert lines["start_rule_code"].to_list() == [0, 2]
    assert "progression documented on 2020-09-27" in lines["start_rule"][1]
    # exact: the lab PD of line 1 is the same after the split (its assessments are unchanged)
    assert _lab_progression(cohort, lines).filter(pl.col("date") < day(300)).equals(lab_pd)
    # the same as one pass given every progression at once
    once = derive_lines_of_therapy(cohort, progression=lab_pd)
    assert final.lines.equals(once.lines)
    assert final.line_exposures.equals(once.line_exposures)


def test_without_progression_nothing_is_derived_again(tmp_path: Path) -> None:
    cohort = _cohort(tmp_path, with_relapse=False)
    first = derive_lines_of_therapy(cohort)
    lab_pd = _lab_progression(cohort, first.lines)
    assert lab_pd.is_empty()
    assert rederive_after_lab_progression(cohort, first, lab_pd) is first
    assert first.lines["maintenance"].to_list() == ["D-RP"]  # DPd kept as planned therapy


def test_other_patients_rows_are_kept_as_they_are(tmp_path: Path) -> None:
    relapse = _cohort(tmp_path, with_relapse=True)
    other = _cohort(tmp_path, with_relapse=False)
    renamed = {
        t: getattr(other, t).with_columns(pl.lit("Y").alias("patient_id"))
        for t in ("patients", "treatments", "labs", "responses")
    }
    cohort = type(relapse)(
        **{t: pl.concat([getattr(relapse, t), renamed[t]]) for t in renamed},
    )
    first = derive_lines_of_therapy(cohort)
    final = rederive_after_lab_progression(cohort, first, _lab_progression(cohort, first.lines))
    assert final.lines["patient_id"].to_list() == ["X", "X", "Y"]
    y = pl.col("patient_id") == "Y"
    assert final.lines.filter(y).equals(first.lines.filter(y))
    assert final.line_exposures.filter(y).equals(first.line_exposures.filter(y))
    assert final.attrition.equals(first.attrition)


def test_the_pipeline_second_pass_equals_a_full_rerun(tmp_path: Path) -> None:
    """On 2,000 simulated patients (some relapse within 180 days of an ASCT, documented only by
    labs), the pipeline's spliced second pass gives the tables of running lines and response again
    for every patient with recorded and lab PD."""
    from polars.testing import assert_frame_equal

    from mmrwe.io.read import read_cohort as read
    from mmrwe.lines import all_progression, recorded_progression
    from mmrwe.pipeline import analyse_partition
    from mmrwe.simulate import simulate_cohort
    from mmrwe.study.config import load_config
    from mmrwe.vocab import load_vocabulary

    simulate_cohort(tmp_path / "c", n_patients=2000, seed=1)
    cohort = read(tmp_path / "c")
    config, vocabulary = load_config(None), load_vocabulary()
    tables = {t: getattr(cohort, t) for t in ("patients", "treatments", "labs", "responses")}
    got = analyse_partition(tables, config, vocabulary, stop_after="response").tables

    def response(lines: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        a = derive_assessments(cohort.labs, lines, config.response)
        return a, derive_line_response(a, lines, cohort.responses, cohort.patients, config.response)

    first = derive_lines_of_therapy(cohort, config.lines)
    lab_pd = progression_dates(response(first.lines)[1])
    assert patients_to_rederive(first, lab_pd).len() > 0
    full = derive_lines_of_therapy(
        cohort,
        config.lines,
        progression=all_progression(recorded_progression(cohort.responses), lab_pd),
    )
    assessments, line_response = response(full.lines)
    assert_frame_equal(got["line_exposures"], full.line_exposures)
    assert_frame_equal(got["lines"].select(full.lines.columns), full.lines)
    assert_frame_equal(got["assessments"], assessments)
    assert_frame_equal(got["line_response"], line_response)
