"""Shared fixtures: small hand-written cohorts in the native format."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--slow",
        action="store_true",
        help="also run the large-simulation tests marked slow (always run when CI=true)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect (never skip) opt-in tests unless chosen.

    ``slow`` (large simulations): run with --slow, -m slow, or when CI=true.
    ``r`` (reruns R to regenerate reference values): run with -m r.
    """
    if config.getoption("-m"):
        return  # an explicit marker expression decides
    opt_in = {"r"}
    if not (config.getoption("--slow") or os.environ.get("CI") == "true"):
        opt_in.add("slow")
    keep, dropped = [], []
    for item in items:
        (dropped if any(item.get_closest_marker(m) for m in opt_in) else keep).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


PATIENTS = """patient_id,diagnosis_date,last_contact_date,death_date,sex,birth_year,iss_stage,r_iss_stage,cytogenetic_risk,ecog,prior_lines_before_data
P001,2015-03-02,2020-01-01,,F,1950,II,II,standard,1,
P002,2016-05-10,2019-06-30,2019-06-30,M,1948,III,III,high,2,0
P003,2017-01-10,2021-01-01,,U,,,,unknown,,1
"""

TREATMENTS = """patient_id,drug,start_date,end_date,dose,dose_unit,route
P001,Revlimid,2015-04-01,2016-01-01,25,mg,oral
P001,dex,2015-04-01,2015-12-01,40,mg,oral
P002,bortezomib,2016-06-01,2016-10-01,1.3,mg/m2,sc
P003,dara,2017-02-01,2020-06-01,16,mg/kg,iv
P003,pomalidomide,2020-07-01,,4,mg,oral
"""

LABS = """patient_id,date,test,value,unit
P001,2015-03-20,serum_m_protein,3.1,g/dL
P001,2015-05-20,serum_m_protein,15,g/L
P001,2015-06-20,serum_m_protein,<0.1,g/dL
P001,2015-06-20,serum_ife,positive,
P002,2016-06-01,urine_m_protein,0.5,g/24h
P002,2016-06-01,kappa_flc,12.5,mg/dL
P002,2016-06-01,lambda_flc,8.0,mg/L
P003,2017-02-01,serum_m_protein,not detected,g/dl
P003,2017-03-01,bm_plasma_cells,<5,%
"""

RESPONSES = """patient_id,date,response
P001,2015-07-01,VGPR
P002,2016-09-01,PR
"""

ADVERSE_EVENTS = """patient_id,term,onset_date,grade,grading,serious
P002,peripheral neuropathy,2016-08-01,2,CTCAE,false
P003,neutropenia,2017-03-01,3,,true
"""

TABLES = {
    "patients": PATIENTS,
    "treatments": TREATMENTS,
    "labs": LABS,
    "responses": RESPONSES,
    "adverse_events": ADVERSE_EVENTS,
}


def write_cohort(directory: Path, tables: dict[str, str] | None = None) -> Path:
    """Write CSV tables (name -> text) into ``directory``; return it."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in (TABLES if tables is None else tables).items():
        (directory / f"{name}.csv").write_text(text, encoding="utf-8")
    return directory


@pytest.fixture
def small_cohort(tmp_path: Path) -> Path:
    """A valid three-patient cohort as CSV files."""
    return write_cohort(tmp_path / "cohort")
