"""A small run directory written by hand, as ``mmrwe run`` lays it out, for the report tests.

Values are chosen so each check is visible: suppressed counts (``<11``, ``withheld``), a group
below the threshold, a median not reached, a figure with SVG and PNG and one with PNG only.
"""

from __future__ import annotations

import json
from pathlib import Path

from mmrwe.lines.rules import LineRules
from mmrwe.report.figures.sequences import plot_sequences
from mmrwe.report.figures.style import save_figure, save_png
from mmrwe.response.rules import ResponseRules
from tests.report.test_figures_response import _rates
from tests.report.test_figures_sequences import LINES

ATTRITION = """step,patients_before,patients_excluded,patients_after,rows_excluded,reason
1,140,0,140,0,patients in the input cohort
2,140,<11,withheld,0,patients without anti-myeloma therapy (no line of therapy)
3,withheld,12,120,12,lines outside the study population
"""

BASELINE = """characteristic,level,line 1,line 2,Total
Patients,n,80,40,120
Sex,female,35 (43.8%),<11,withheld
Sex,male,withheld,<11,withheld
Sex,unknown,0,0,0
"""

SUMMARY_BY_LINE = """group,group_order,endpoint,n_patients,n_events,median_months,median_lower,median_upper,rate_12m,rate_12m_lower,rate_12m_upper,rate_24m,rate_24m_lower,rate_24m_upper,median_followup_months
line 1,1,PFS,80,61,14.356262833675565,11.498973305954825,,0.5812,0.4711,0.7170,,,,30.0205
line 2,2,PFS,40,<11,,,,0.9,0.8,0.99,0.85,0.7,0.95,12.5
line 3,3,PFS,<11,<11,,,,,,,,,,
"""

SUBGROUPS = """subgroup,level,reference,n_patients,n_events,hr,lower,upper,p,n_missing,note
age,<65,<65,50,30,1.0,,,,0,reference
age,>=65,<65,70,40,0.7234,0.5512,0.9498,0.0198,0,
sex,F,F,<11,<11,,,,,0,withheld (< 11 patients)
"""

#: a Table 1 as wide as the demo's: six lines and the Total column (simulated cohort, 2,000)
WIDE_BASELINE = """characteristic,level,line 1,line 2,line 3,line 4,line 5,line 6+,Total
Patients,n,2000,1613,1056,541,131,14,5355
Age at index (years),median (IQR),68.0 (62.0-74.0),70.0 (64.0-76.0),70.0 (65.0-77.0),70.0 (65.0-76.0),72.0 (65.5-77.0),72.5 (64.5-76.8),69.0 (63.0-76.0)
Age at index (years),≥ 65,1307 (65.4%),1151 (71.4%),793 (75.1%),408 (75.4%),withheld,<11,3770 (70.4%)
Sex,female,884 (44.2%),710 (44.0%),479 (45.4%),249 (46.0%),withheld,<11,2382 (44.5%)
Sex,male,1116 (55.8%),903 (56.0%),577 (54.6%),292 (54.0%),withheld,<11,2973 (55.5%)
ISS stage at diagnosis,I,619 (31.0%),508 (31.5%),320 (30.3%),161 (29.8%),33 (25.2%),0,1641 (30.6%)
"""

#: the demo's comparison with ICARIA-MM (14 columns, a long note and long sources)
COMPARISON = """trial,arm,endpoint,matched_on,measure,time,rw_unadjusted,rw_weighted,rw_weighted_lower,rw_weighted_upper,trial_published,difference,ess,note
ICARIA-MM,ICARIA-MM (Isa-Pd),PFS,none (unadjusted),median,,14.652977412731007,14.652977412731007,9.19917864476386,18.299794661190965,11.5,3.1529774127310066,73.0,no digitised curve: medians and landmark rates only
"""
ATTAL = (
    "Attal M, et al. Isatuximab plus pomalidomide and low-dose dexamethasone versus "
    "pomalidomide and low-dose dexamethasone (ICARIA-MM). Lancet 2019;394:2096"
)
PUBLISHED = f"""measure,time_months,value,lower,upper,not_reached,subgroup,source
median,,11.5,,,false,,"{ATTAL}"
hazard ratio,,0.596,,,false,,"{ATTAL}"
"""

UNMAPPED = """drug,rows,patients
herbal tea,4,<11
"""

#: an identifier present in the run's patient-level tables, never in the report
PATIENT_ID = "MM-SECRET-0042"


def write_comparison(path: Path) -> Path:
    """A comparison directory as ``mmrwe compare`` writes it (tables, manifest; no figure)."""
    import io

    import polars as pl

    path.mkdir(parents=True, exist_ok=True)
    for name, text in (("comparison", COMPARISON), ("published", PUBLISHED)):
        pl.read_csv(io.StringIO(text)).write_parquet(path / f"{name}.parquet")
    manifest = {
        "command": "compare",
        "citation": ATTAL,
        "method": "unadjusted; no digitised curve: medians and landmark rates only",
        "run": "isa-pd",
        "simulated_data": True,
        "trial": {
            "arm": "ICARIA-MM (Isa-Pd)",
            "endpoint": "PFS",
            "matched_on": "none (unadjusted)",
            "trial": "ICARIA-MM",
        },
        "figures": [],
        "warnings": [],
    }
    (path / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return path


def write_run(
    path: Path, *, with_figures: bool = True, with_subgroups: bool = False, wide: bool = False
) -> Path:
    """Write the run directory at ``path`` and return it; ``wide``: the demo's wide Table 1
    (six lines and Total) and its comparison with ICARIA-MM."""
    path.mkdir(parents=True, exist_ok=True)
    if with_subgroups:
        (path / "subgroup_hazard_ratios.csv").write_text(SUBGROUPS)
    (path / "attrition.csv").write_text(ATTRITION)
    (path / "baseline.csv").write_text(WIDE_BASELINE if wide else BASELINE)
    if wide:
        write_comparison(path / "comparisons" / "icaria-mm")
    (path / "summary_by_line.csv").write_text(SUMMARY_BY_LINE)
    (path / "unmapped_drugs.csv").write_text(UNMAPPED)
    _rates().write_csv(path / "response_rates.csv")
    (path / "lines.csv").write_text(f"patient_id,line\n{PATIENT_ID},1\n")
    (path / "analysis_lines.csv").write_text(f"patient_id,line,group\n{PATIENT_ID},1,line 1\n")
    figures = []
    if with_figures:
        (path / "figures").mkdir(exist_ok=True)
        save_figure(plot_sequences(LINES), path / "figures" / "sequences")
        save_png(plot_sequences(LINES, max_line=2), path / "figures" / "extra_flows.png")
        figures = [
            {
                "name": "sequences",
                "title": "Treatment sequences by regimen class",
                "files": ["figures/sequences.png", "figures/sequences.svg"],
            },
            {
                "name": "extra_flows",
                "title": "Lines 1 to 2 only",
                "files": ["figures/extra_flows.png"],
            },
        ]
    manifest = {
        "mmrwe_version": "0.1.0",
        "command": "run",
        "python": "3.11.7",
        "packages": {"polars": "2.1.0", "numpy": "2.4.6"},
        "config": {
            "study": {
                "name": "Outcomes <by> line",
                "description": "A hand-made run for the report tests.",
                "index": "all_lines",
                "group_by": "line",
                "max_line": 6,
                "data_cutoff": None,
                "small_cell_threshold": 11,
                "patient_level_figures": None,
                "subgroups": [],
            },
            "population": {"lines": None, "min_prior_lines": 1, "refractory_to": []},
            "lines": LineRules().model_dump(mode="json") | {"gap_days": 60},
            "response": ResponseRules().model_dump(mode="json"),
        },
        "inputs": [{"table": "patients", "file": "patients.csv", "sha256": "ab" * 32}],
        "analysed": {"patients": 100, "lines": 120},
        "simulated_data": True,
        "patient_level_figures": True,
        "figures": figures,
        "figures_skipped": [{"name": "forest", "reason": "the study defines no subgroups"}],
        "timings_seconds": {"total": 1.234},
    }
    (path / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return path
