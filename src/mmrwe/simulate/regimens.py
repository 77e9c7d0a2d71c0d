"""The regimen catalogue the simulator draws lines from.

Each regimen states its drugs (generic names), when it became available (approval dates rounded
to the month, US FDA unless stated), where it is used (first line with or without transplant,
relapse), its eligibility (prior lines, triple-class exposure), its relative efficacy (a time
ratio on the line's progression time), its response distribution and its adverse events.

Response targets cite the reference figures of the project (ORR = overall response, ≥PR):
POLLUX (Dimopoulos, NEJM 2016), CASTOR (Palumbo, NEJM 2016), ICARIA-MM (Attal, Lancet 2019),
TOURMALINE-MM1 (Moreau, NEJM 2016), Iino (IMS 2022), DREAMM-2 (Lonial, Lancet Oncol 2020),
Shragai (IMS 2022), KarMMa (Munshi, NEJM 2021), CARTITUDE-1 (Berdeja, Lancet 2021),
MajesTEC-1 (Moreau, NEJM 2022), Fucci (Leuk Res Rep 2022). Regimens without a cited figure carry
assumed values (``source = "assumption"``) and have no target.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: CTCAE grade distribution (grades 1-4) used unless an event states its own.
MILD = (0.45, 0.35, 0.17, 0.03)
CYTOPENIA = (0.15, 0.35, 0.35, 0.15)
CRS_IDE = (0.55, 0.39, 0.05, 0.01)  # KarMMa: CRS 84 %, grade >= 3 5 %


@dataclass(frozen=True)
class AdverseEvent:
    """An adverse event of a regimen: probability per line, grade distribution, onset window."""

    term: str
    probability: float
    grades: tuple[float, float, float, float] = MILD
    grading: str = "CTCAE"
    onset_days: tuple[int, int] = (7, 180)


@dataclass(frozen=True)
class Regimen:
    """One regimen. ``efficacy`` multiplies the line's median time to progression."""

    name: str
    drugs: tuple[str, ...]
    available: str
    efficacy: float
    orr: float
    vgpr_plus: float
    cr_plus: float
    weight: float = 1.0
    first_te: bool = False
    first_nte: bool = False
    relapse: bool = True
    withdrawn: str = "2100-01-01"
    min_prior_lines: int = 1
    needs_tce: bool = False
    car_t: bool = False
    fixed_days: int = 0
    orr_target: tuple[float, float] | None = None
    source: str = "assumption"
    events: tuple[AdverseEvent, ...] = field(default_factory=tuple)

    def response_probabilities(self) -> np.ndarray:
        """Probabilities of intended best response, order PD, SD, MR, PR, VGPR, CR, sCR."""
        non = 1.0 - self.orr
        return np.array(
            [
                0.15 * non,
                0.50 * non,
                0.35 * non,
                self.orr - self.vgpr_plus,
                self.vgpr_plus - self.cr_plus,
                0.6 * self.cr_plus,
                0.4 * self.cr_plus,
            ]
        )


AE = AdverseEvent
NEUTRO = AE("neutrophil count decreased", 0.30, CYTOPENIA, onset_days=(14, 120))
THROMBO = AE("platelet count decreased", 0.20, CYTOPENIA, onset_days=(14, 120))
ANAEMIA = AE("anaemia", 0.20, MILD, onset_days=(14, 120))
NEUROPATHY = AE(
    "peripheral sensory neuropathy", 0.30, (0.5, 0.38, 0.11, 0.01), onset_days=(40, 200)
)
PNEUMONIA = AE("pneumonia", 0.10, (0.05, 0.35, 0.5, 0.1))
FATIGUE = AE("fatigue", 0.25)
RASH = AE("rash", 0.12)
IRR = AE("infusion related reaction", 0.35, (0.5, 0.45, 0.05, 0.0), onset_days=(0, 1))
HTN = AE("hypertension", 0.15, (0.2, 0.5, 0.28, 0.02))
CARDIAC = AE("cardiac failure", 0.04, (0.1, 0.4, 0.4, 0.1))
URTI = AE("upper respiratory tract infection", 0.20, (0.4, 0.5, 0.1, 0.0))


def _car_t_events(crs: float, icans: float) -> tuple[AdverseEvent, ...]:
    return (
        AE("cytokine release syndrome", crs, CRS_IDE, "ASTCT", (1, 9)),
        AE("ICANS", icans, (0.5, 0.3, 0.17, 0.03), "ASTCT", (2, 12)),
        AE("neutrophil count decreased", 0.85, (0.0, 0.1, 0.3, 0.6), onset_days=(1, 30)),
        AE("platelet count decreased", 0.60, CYTOPENIA, onset_days=(1, 30)),
        AE("anaemia", 0.60, CYTOPENIA, onset_days=(1, 30)),
    )


def _bispecific_events(crs: float) -> tuple[AdverseEvent, ...]:
    return (
        AE("cytokine release syndrome", crs, (0.6, 0.39, 0.01, 0.0), "ASTCT", (1, 10)),
        AE("ICANS", 0.03, (0.6, 0.3, 0.1, 0.0), "ASTCT", (2, 14)),
        NEUTRO,
        PNEUMONIA,
        AE("hypogammaglobulinaemia", 0.25, MILD),
    )


_IMID_PI = (NEUTRO, THROMBO, ANAEMIA, NEUROPATHY, FATIGUE, RASH)
_DARA = (IRR, NEUTRO, URTI, PNEUMONIA, FATIGUE)

REGIMENS: tuple[Regimen, ...] = (
    # ---- first line, transplant-eligible induction (followed by ASCT and lenalidomide) ----
    Regimen("VRd", ("bortezomib", "lenalidomide", "dexamethasone"), "2008-01", 1.0, 0.90, 0.55,
            0.18, 3.0, first_te=True, first_nte=False, relapse=True, min_prior_lines=0,
            events=_IMID_PI),
    Regimen("CyBorD", ("cyclophosphamide", "bortezomib", "dexamethasone"), "2008-01", 0.85, 0.85,
            0.45, 0.12, 0.8, first_te=True, first_nte=True, relapse=True, min_prior_lines=0,
            fixed_days=168, events=(NEUTRO, NEUROPATHY, FATIGUE, ANAEMIA)),
    # ---- first line, not transplant-eligible ----
    Regimen("Rd", ("lenalidomide", "dexamethasone"), "2008-01", 1.0, 0.82, 0.30, 0.08, 2.0,
            first_nte=True, min_prior_lines=0, orr_target=(0.65, 0.85),
            source="POLLUX control arm (Dimopoulos, NEJM 2016): ORR 76.4 %",
            events=(NEUTRO, THROMBO, ANAEMIA, RASH, FATIGUE, AE("diarrhoea", 0.20))),
    Regimen("VRd-lite", ("bortezomib", "lenalidomide", "dexamethasone"), "2012-01", 1.25, 0.86,
            0.50, 0.15, 2.0, first_nte=True, relapse=False, min_prior_lines=0, events=_IMID_PI),
    Regimen("VMP", ("bortezomib", "melphalan", "prednisone"), "2008-01", 0.9, 0.71, 0.35, 0.12,
            1.5, first_nte=True, relapse=False, withdrawn="2015-01", min_prior_lines=0,
            fixed_days=378, events=(NEUTRO, THROMBO, NEUROPATHY, AE("nausea", 0.15))),
    Regimen("D-Rd", ("daratumumab", "lenalidomide", "dexamethasone"), "2016-11", 2.0, 0.92, 0.70,
            0.35, 3.0, first_nte=True, min_prior_lines=0, orr_target=(0.80, 0.96),
            source="POLLUX (Dimopoulos, NEJM 2016): ORR 92.9 %; Fucci (Leuk Res Rep 2022): 88 %",
            events=(*_DARA, AE("diarrhoea", 0.25))),
    # ---- relapse ----
    Regimen("CTd", ("thalidomide", "cyclophosphamide", "dexamethasone"), "2008-01", 0.75, 0.60,
            0.20, 0.05, 0.25, withdrawn="2015-01", fixed_days=252,
            events=(NEUROPATHY, AE("constipation", 0.3), AE("deep vein thrombosis", 0.06))),
    Regimen("Vd", ("bortezomib", "dexamethasone"), "2008-01", 0.7, 0.72, 0.25, 0.08, 1.0,
            fixed_days=168, orr_target=(0.55, 0.72),
            source="CASTOR control arm (Palumbo, NEJM 2016): ORR 63.2 %",
            events=(NEUROPATHY, THROMBO, FATIGUE)),
    Regimen("D-Vd", ("daratumumab", "bortezomib", "dexamethasone"), "2016-11", 1.6, 0.83, 0.55,
            0.18, 2.0, fixed_days=0, orr_target=(0.75, 0.92),
            source="CASTOR (Palumbo, NEJM 2016): ORR 82.9 %; Fucci (Leuk Res Rep 2022): 88 %",
            events=(*_DARA, NEUROPATHY, THROMBO)),
    Regimen("DPd", ("daratumumab", "pomalidomide", "dexamethasone"), "2017-06", 1.4, 0.65, 0.35,
            0.10, 2.5, events=(*_DARA, AE("neutrophil count decreased", 0.6, CYTOPENIA))),
    Regimen("D-Kd", ("daratumumab", "carfilzomib", "dexamethasone"), "2020-08", 1.7, 0.84, 0.65,
            0.25, 1.0, events=(*_DARA, HTN, CARDIAC)),
    Regimen("Isa-Pd", ("isatuximab", "pomalidomide", "dexamethasone"), "2020-03", 1.35, 0.60,
            0.32, 0.05, 1.5, orr_target=(0.50, 0.70),
            source="ICARIA-MM (Attal, Lancet 2019): ORR 60.4 %",
            events=(IRR, AE("neutrophil count decreased", 0.45, CYTOPENIA), PNEUMONIA, URTI)),
    Regimen("Isa-Kd", ("isatuximab", "carfilzomib", "dexamethasone"), "2021-03", 1.7, 0.87, 0.72,
            0.30, 1.2, events=(IRR, HTN, URTI, PNEUMONIA, CARDIAC)),
    Regimen("IRd", ("ixazomib", "lenalidomide", "dexamethasone"), "2015-11", 1.1, 0.70, 0.30,
            0.10, 1.5, orr_target=(0.50, 0.80),
            source="TOURMALINE-MM1 (Moreau, NEJM 2016): ORR 78.3 %; Iino (IMS 2022): 53.9 %",
            events=(AE("diarrhoea", 0.271, (0.55, 0.33, 0.11, 0.01)),
                    AE("platelet count decreased", 0.264, CYTOPENIA, onset_days=(14, 120)),
                    AE("neutrophil count decreased", 0.258, CYTOPENIA, onset_days=(14, 120)),
                    AE("white blood cell decreased", 0.237, CYTOPENIA, onset_days=(14, 120)),
                    RASH, NEUROPATHY)),
    Regimen("KRd", ("carfilzomib", "lenalidomide", "dexamethasone"), "2015-07", 1.5, 0.87, 0.70,
            0.30, 1.5, events=(HTN, CARDIAC, NEUTRO, URTI, AE("diarrhoea", 0.3))),
    Regimen("Kd", ("carfilzomib", "dexamethasone"), "2016-01", 1.1, 0.77, 0.50, 0.12, 1.5,
            events=(HTN, CARDIAC, AE("dyspnoea", 0.25), ANAEMIA)),
    Regimen("Pd", ("pomalidomide", "dexamethasone"), "2013-02", 0.8, 0.35, 0.10, 0.02, 1.5,
            orr_target=(0.28, 0.45),
            source="ICARIA-MM control arm (Attal, Lancet 2019): ORR 35.3 %",
            events=(AE("neutrophil count decreased", 0.5, CYTOPENIA), PNEUMONIA, FATIGUE)),
    Regimen("PVd", ("pomalidomide", "bortezomib", "dexamethasone"), "2019-06", 1.15, 0.82, 0.50,
            0.15, 1.0, events=(NEUTRO, NEUROPATHY, THROMBO, PNEUMONIA)),
    Regimen("Elo-Pd", ("elotuzumab", "pomalidomide", "dexamethasone"), "2018-11", 1.05, 0.53,
            0.20, 0.05, 0.6, events=(IRR, NEUTRO, URTI)),
    Regimen("Elo-Rd", ("elotuzumab", "lenalidomide", "dexamethasone"), "2015-11", 1.05, 0.79,
            0.33, 0.05, 0.4, events=(IRR, NEUTRO, FATIGUE, AE("diarrhoea", 0.3))),
    Regimen("daratumumab", ("daratumumab",), "2015-11", 0.8, 0.31, 0.12, 0.03, 0.6,
            min_prior_lines=3, events=(IRR, URTI, FATIGUE)),
    Regimen("Sd", ("selinexor", "dexamethasone"), "2019-07", 0.6, 0.26, 0.06, 0.01, 0.8,
            min_prior_lines=4, needs_tce=True,
            events=(AE("nausea", 0.70), AE("hyponatraemia", 0.35), FATIGUE, THROMBO)),
    Regimen("belantamab", ("belantamab mafodotin",), "2020-08", 0.8, 0.40, 0.16, 0.04, 1.0,
            withdrawn="2023-06", min_prior_lines=4, needs_tce=True, orr_target=(0.28, 0.50),
            source="DREAMM-2 (Lonial, Lancet Oncol 2020): ORR 31 %; Shragai (IMS 2022): 45.5 %",
            events=(AE("keratopathy", 0.70, (0.3, 0.4, 0.28, 0.02), onset_days=(20, 120)),
                    THROMBO, AE("blurred vision", 0.2))),
    Regimen("ide-cel", ("idecabtagene vicleucel",), "2021-03", 1.75, 0.82, 0.50, 0.33, 1.5,
            min_prior_lines=3, needs_tce=True, car_t=True, orr_target=(0.65, 0.90),
            source="KarMMa (Munshi, NEJM 2021): ORR 73 %, ≥CR 33 %; Hansen (IMS 2022): 86 %",
            events=_car_t_events(0.84, 0.18)),
    Regimen("cilta-cel", ("ciltacabtagene autoleucel",), "2022-02", 3.0, 0.96, 0.90, 0.70, 1.0,
            min_prior_lines=3, needs_tce=True, car_t=True, orr_target=(0.85, 1.0),
            source="CARTITUDE-1 (Berdeja, Lancet 2021): ORR 97.9 %",
            events=_car_t_events(0.95, 0.21)),
    Regimen("teclistamab", ("teclistamab",), "2022-10", 1.9, 0.64, 0.55, 0.35, 1.5,
            min_prior_lines=4, needs_tce=True, orr_target=(0.55, 0.72),
            source="MajesTEC-1 (Moreau, NEJM 2022): ORR 63 %",
            events=_bispecific_events(0.72)),
    Regimen("elranatamab", ("elranatamab",), "2023-08", 1.9, 0.61, 0.50, 0.30, 0.8,
            min_prior_lines=4, needs_tce=True, events=_bispecific_events(0.58)),
    Regimen("talquetamab", ("talquetamab",), "2023-08", 1.7, 0.70, 0.55, 0.30, 0.6,
            min_prior_lines=4, needs_tce=True,
            events=(*_bispecific_events(0.79), AE("dysgeusia", 0.6), AE("nail disorder", 0.5))),
)  # fmt: skip

#: Bridging regimens given between leukapheresis and CAR-T infusion (drugs, weight).
BRIDGING: tuple[tuple[tuple[str, ...], float], ...] = (
    ((), 0.25),
    (("carfilzomib", "dexamethasone"), 0.25),
    (("pomalidomide", "dexamethasone"), 0.15),
    (("cyclophosphamide", "dexamethasone"), 0.2),
    (("bortezomib", "dexamethasone"), 0.15),
)

#: Drug classes used for prior-exposure rules (triple-class exposure = one of each).
IMID = ("lenalidomide", "pomalidomide", "thalidomide")
PI = ("bortezomib", "carfilzomib", "ixazomib")
ANTI_CD38 = ("daratumumab", "isatuximab")
