"""The methods paragraph and references of the report, generated from a run's manifest.

Every number in the text is read from the effective configuration the run recorded
(``manifest.json`` → ``config``), so the paragraph describes the rules actually applied.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mmrwe.study.config import StudyConfig

#: references cited by the methods paragraph (author, year, journal; no web addresses)
REFERENCES = {
    "rajkumar2011": "Rajkumar SV, Harousseau JL, Durie B, et al. Consensus recommendations for the "
    "uniform reporting of clinical trials: report of the International Myeloma Workshop "
    "Consensus Panel 1. Blood. 2011;117(18):4691–4695.",
    "rajkumar2015": "Rajkumar SV, Richardson P, San Miguel JF. Guidelines for determination of the "
    "number of prior lines of therapy in multiple myeloma. Blood. 2015;126(7):921–922.",
    "kumar2016": "Kumar S, Paiva B, Anderson KC, et al. International Myeloma Working Group "
    "consensus criteria for response and minimal residual disease assessment in multiple "
    "myeloma. Lancet Oncol. 2016;17(8):e328–e346.",
    "durie2006": "Durie BGM, Harousseau JL, Miguel JS, et al. International uniform response "
    "criteria for multiple myeloma. Leukemia. 2006;20(9):1467–1473.",
    "lee2019": "Lee DW, Santomasso BD, Locke FL, et al. ASTCT consensus grading for cytokine "
    "release syndrome and neurologic toxicity associated with immune effector cells. Biol Blood "
    "Marrow Transplant. 2019;25(4):625–638.",
    "kaplan1958": "Kaplan EL, Meier P. Nonparametric estimation from incomplete observations. "
    "J Am Stat Assoc. 1958;53(282):457–481.",
    "brookmeyer1982": "Brookmeyer R, Crowley J. A confidence interval for the median survival "
    "time. Biometrics. 1982;38(1):29–41.",
    "schemper1996": "Schemper M, Smith TL. A note on quantifying follow-up in studies of failure "
    "time. Control Clin Trials. 1996;17(4):343–346.",
    "clopper1934": "Clopper CJ, Pearson ES. The use of confidence or fiducial limits illustrated "
    "in the case of the binomial. Biometrika. 1934;26(4):404–413.",
    "cox1972": "Cox DR. Regression models and life-tables. J R Stat Soc Series B. "
    "1972;34(2):187–220.",
    "okabe2008": "Okabe M, Ito K. Color Universal Design (CUD): how to make figures and "
    "presentations that are friendly to colorblind people. J*Fly; 2008.",
}
CITE = {key: i for i, key in enumerate(REFERENCES, start=1)}


def cite(*keys: str) -> str:
    """The citation marker of the given reference keys, e.g. [1, 3]."""
    return "[" + ", ".join(str(CITE[k]) for k in keys) + "]"


def methods_paragraphs(manifest: dict[str, Any], config: StudyConfig | None = None) -> list[str]:
    """Plain-text paragraphs (cite markers included) describing the run's rules and methods:
    every rule value is the run's effective configuration (``config``; read, typed, from the
    manifest's ``config`` when not given)."""
    if config is None:
        from mmrwe.study.config import StudyConfig

        config = StudyConfig.model_validate(manifest.get("config") or {})
    lines, response = config.lines, config.response
    threshold = config.study.small_cell_threshold
    out = [
        "Lines of therapy were derived from the treatment records following the IMWG consensus "
        f"definition {cite('rajkumar2011', 'rajkumar2015')}: anti-myeloma drugs started within "
        f"{lines.regimen_window_days} days of a line's start form its regimen; starting a "
        "new anti-myeloma drug after that window opens a new line; a gap of more than "
        f"{lines.gap_days} days without therapy opens a new line even for the same "
        "regimen; an autologous transplant within "
        f"{lines.asct_window_days} days of a line's start, with its conditioning, "
        "mobilisation and consolidation or maintenance started within "
        f"{lines.maintenance_window_days} days of the transplant, belongs to that line "
        "(planned sequential therapy) unless a progression was documented between the transplant "
        "and that start; each CAR-T product opens a new line, with bridging "
        f"therapy started up to {lines.bridging_window_days} days before the infusion. "
        "Steroids never open or close a line. Refractoriness at a line's start is progression on "
        f"a drug or within {lines.refractory_window_days} days of its last dose, or "
        "failure to reach a minimal response while on it.",
        "Response and progression were assessed from the laboratory results by the IMWG uniform "
        f"response criteria {cite('kumar2016', 'durie2006', 'rajkumar2011')}: results within "
        f"{response.assessment_window_days} days form one assessment; the baseline of "
        "each component is its last value at most "
        f"{response.baseline_window_days} days before the line's start; a category "
        "counts when two consecutive assessments meet it; a complete response "
        + (
            "requires a bone-marrow result"
            if response.require_marrow_for_cr
            else "does not require a bone-marrow result"
        )
        + ". Physician-recorded responses were used when the laboratory data could not be "
        "assessed. "
        + (
            "They were taken as per-visit investigator assessments and counted only when "
            "confirmed by the next assessment, progression by a second one or by a new line or "
            "death within "
            f"{response.unconfirmed_pd_window_days} days (confirm_recorded = true). "
            if response.confirm_recorded
            else "They were used as recorded, as confirmed clinical judgements "
            "(confirm_recorded = false). "
        )
        + "Progression is the earliest of laboratory-derived and recorded progression.",
        "Endpoints were measured from each line's start"
        + (" (CAR-T lines: from the infusion)" if lines.car_t_index == "infusion" else "")
        + ": progression-free survival (to progression or death), overall survival, time to "
        "next treatment or death, and, among responders, duration of response; times in months "
        "are days / 30.4375. Survival was estimated by the Kaplan–Meier method "
        f"{cite('kaplan1958')} with log-transformed 95 % confidence intervals and medians with "
        f"the Brookmeyer–Crowley interval {cite('brookmeyer1982')} (as R's survival package); "
        f"median follow-up by the reverse Kaplan–Meier method {cite('schemper1996')}. Response "
        f"rates carry exact Clopper–Pearson 95 % intervals {cite('clopper1934')}; hazard ratios "
        f"come from Cox models with Efron ties {cite('cox1972')}. Adverse events are counted "
        "once per patient-line and term at the worst grade (CTCAE; CRS and ICANS by ASTCT "
        f"{cite('lee2019')}), after recorded terms known as synonyms (e.g. CRS, ICANS, CTCAE "
        "US spellings) were replaced by their MedDRA preferred term; other terms are shown as "
        "recorded and listed under data quality.",
    ]
    privacy = (
        "Small cells: counts from 1 to "
        f"{threshold - 1} are shown as <{threshold}, and further cells are withheld where a "
        "suppressed count could be recovered by subtraction from the same table; Kaplan–Meier "
        f"curves stop where fewer than {threshold} patients remain at risk."
        if threshold
        else "Small-cell suppression was turned off for this run (small_cell_threshold = 0)."
    )
    out.append(privacy + " Patient identifiers appear in no table or figure of this report.")
    packages = manifest.get("packages", {}) or {}
    versions = ", ".join(f"{k} {v}" for k, v in sorted(packages.items()) if k != "python")
    out.append(
        f"Software: mmrwe {manifest.get('mmrwe_version', '?')} on Python "
        f"{manifest.get('python', packages.get('python', '?'))}"
        + (f" ({versions})" if versions else "")
        + f". Figures use the Okabe–Ito colour-blind-safe palette {cite('okabe2008')}."
    )
    return out
