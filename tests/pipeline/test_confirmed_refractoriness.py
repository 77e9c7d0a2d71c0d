"""With ``[response] confirm_recorded = true`` an unconfirmed per-visit PD call makes no drug
refractory (Rajkumar SV et al., Blood 2011;117:4691: refractory = progression on therapy; IMWG
2016, Kumar S et al., Lancet Oncol 2016;17:e328: a progression needs confirming). Found when
refractoriness still read every recorded PD call in confirm mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmrwe.io.read import read_cohort
from mmrwe.pipeline import analyse_partition
from mmrwe.response.rules import ResponseRules
from mmrwe.study.config import StudyConfig
from mmrwe.vocab import load_vocabulary
from tests.response.helpers import write_case

#: Rd from day 0 to 300, then Kd from day 420 (rule 4's gap). Investigator calls on Rd: PD on day
#: 150 not followed by another PD (PR on 180 and 210, both confirmed), so in confirm mode the PD
#: is unconfirmed and the line's confirmed best response is PR (>= MR): not lenalidomide
#: refractory at Kd's start. As recorded, the PD on day 150 on lenalidomide makes it refractory.
CASE = {
    "id": "unconfirmed_pd",
    "therapy": [
        ["lenalidomide", 0, 300],
        ["dexamethasone", 0, 300],
        ["carfilzomib", 420, -1],
        ["dexamethasone", 420, -1],
    ],
    "responses": [[60, "SD"], [150, "PD"], [180, "PR"], [210, "PR"]],
    "last_contact": 700,
}


@pytest.mark.parametrize(("confirm", "refractory"), [(False, True), (True, False)])
def test_unconfirmed_pd_call_is_not_refractoriness(
    confirm: bool, refractory: bool, tmp_path: Path
) -> None:
    cohort = read_cohort(write_case(CASE, tmp_path / "case"))
    tables = {name: cohort.table(name) for name in ("patients", "treatments", "labs", "responses")}
    config = StudyConfig(response=ResponseRules(confirm_recorded=confirm))
    result = analyse_partition(tables, config, load_vocabulary(), stop_after="response")
    lines = result.tables["lines"].sort("line")
    assert lines["regimen"].to_list() == ["Rd", "Kd"]
    assert lines["len_refractory"].to_list() == [False, refractory]
