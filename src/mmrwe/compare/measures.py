"""The fixed vocabulary of the benchmark library: measures and baseline characteristics.

Each measure has its endpoint (if any), kind, unit and admissible range; each baseline
characteristic its label, unit and range (docs/compare.md, "Benchmark library").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Measure:
    """A kind of published figure: its endpoint (if any), kind, unit and admissible range."""

    endpoint: str | None
    kind: str  # median, hr, rate, proportion, followup, ae
    unit: str
    low: float
    high: float


#: Time-to-event endpoints (``Arm.endpoint``).
ENDPOINTS = ("PFS", "OS", "DOR", "TTNT")

MONTHS, PROPORTION = "months", "proportion"
MEASURES: dict[str, Measure] = {
    "median_pfs": Measure("PFS", "median", MONTHS, 0, 240),
    "median_os": Measure("OS", "median", MONTHS, 0, 240),
    "median_dor": Measure("DOR", "median", MONTHS, 0, 240),
    "median_ttnt": Measure("TTNT", "median", MONTHS, 0, 240),
    "hr_pfs": Measure("PFS", "hr", "hazard ratio", 0, 10),
    "hr_os": Measure("OS", "hr", "hazard ratio", 0, 10),
    "hr_ttnt": Measure("TTNT", "hr", "hazard ratio", 0, 10),
    "rate_pfs": Measure("PFS", "rate", PROPORTION, 0, 1),
    "rate_os": Measure("OS", "rate", PROPORTION, 0, 1),
    "median_followup": Measure(None, "followup", MONTHS, 0, 240),
    "orr": Measure(None, "proportion", PROPORTION, 0, 1),
    "vgpr_or_better": Measure(None, "proportion", PROPORTION, 0, 1),
    "cr_or_better": Measure(None, "proportion", PROPORTION, 0, 1),
    "cr": Measure(None, "proportion", PROPORTION, 0, 1),
    "vgpr": Measure(None, "proportion", PROPORTION, 0, 1),
    "pr": Measure(None, "proportion", PROPORTION, 0, 1),
    "ae": Measure(None, "ae", PROPORTION, 0, 1),
}


@dataclass(frozen=True)
class Characteristic:
    """A baseline characteristic published for matching."""

    label: str
    unit: str
    low: float
    high: float


#: Baseline characteristics (the MAIC table). A published median (age, prior lines) is matched
#: as a proportion: half of the weighted cohort above it (docs/compare.md).
BASELINE: dict[str, Characteristic] = {
    "n": Characteristic("number of patients", "patients", 1, 1e6),
    "median_age": Characteristic("median age", "years", 18, 100),
    "median_prior_lines": Characteristic("median number of prior lines", "lines", 0, 20),
    "triple_class_refractory": Characteristic("triple-class refractory share", PROPORTION, 0, 1),
    "penta_refractory": Characteristic("penta-refractory share", PROPORTION, 0, 1),
    "high_risk_cytogenetics": Characteristic("high-risk cytogenetics share", PROPORTION, 0, 1),
    "r_iss_iii": Characteristic("R-ISS stage III share", PROPORTION, 0, 1),
    "extramedullary": Characteristic("extramedullary disease share", PROPORTION, 0, 1),
    "ecog_0": Characteristic("ECOG 0 share", PROPORTION, 0, 1),
    "ecog_1": Characteristic("ECOG 1 share", PROPORTION, 0, 1),
    "ecog_2_plus": Characteristic("ECOG >= 2 share", PROPORTION, 0, 1),
    "prior_asct": Characteristic("prior autologous transplant share", PROPORTION, 0, 1),
}
