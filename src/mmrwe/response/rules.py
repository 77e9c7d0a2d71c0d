"""The rules of IMWG response assessment, as one frozen configuration object.

Defaults follow the IMWG 2016 consensus criteria for response and minimal residual disease
(Kumar S et al., Lancet Oncol 2016;17:e328-e346), the uniform response criteria they refine
(Durie BGM et al., Leukemia 2006;20:1467-1473) and the IMWG consensus on uniform reporting
(Rajkumar SV et al., Blood 2011;117:4691-4695). Thresholds are fractions (0.5 = 50 %) or
quantities in canonical units (serum M g/dL, urine M mg/24h, FLC mg/L, marrow %). Every
threshold is inclusive in the direction the criterion states ("≥ 50 % reduction": exactly 50 %
meets it); "> 100 mg/L" for dFLC progression is strict, as written.

A study configuration overrides them in a ``[response]`` TOML section.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ResponseRules(BaseModel):
    """Parameters of IMWG response (``docs/response.md``). Days are calendar days, inclusive."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # --- assessments and baseline ----------------------------------------------------------
    assessment_window_days: int = Field(
        7,
        ge=0,
        description="A lab result opens an assessment dated on it; results of the next this many "
        "days join it (windows are not chained; mmrwe default, a visit's tests are often drawn "
        "over a few days).",
    )
    baseline_window_days: int = Field(
        60,
        ge=0,
        description="Baseline of each component: its last value on or before the line's index "
        "date, at most this many days before it (mmrwe default; trials require baseline labs "
        "within 4-8 weeks of the first dose).",
    )
    # --- measurability (Kumar 2016, Durie 2006) ---------------------------------------------
    serum_measurable_g_dl: float = Field(
        1.0, gt=0, description="Serum M-protein ≥ this (g/dL) is measurable (Kumar 2016)."
    )
    urine_measurable_mg_24h: float = Field(
        200.0, gt=0, description="Urine M-protein ≥ this (mg/24h) is measurable (Kumar 2016)."
    )
    flc_measurable_mg_l: float = Field(
        100.0,
        gt=0,
        description="FLC-only disease: involved FLC ≥ this (mg/L) with an abnormal κ/λ ratio, "
        "when neither serum nor urine M is measurable (Kumar 2016).",
    )
    flc_ratio_low: float = Field(
        0.26, gt=0, description="Lower limit of the normal κ/λ ratio (Kumar 2016; Freelite)."
    )
    flc_ratio_high: float = Field(
        1.65, gt=0, description="Upper limit of the normal κ/λ ratio (Kumar 2016; Freelite)."
    )
    # --- response thresholds (reductions from baseline, fractions) -------------------------
    pr_serum_reduction: float = Field(
        0.5, gt=0, le=1, description="PR: ≥ 50 % reduction of serum M (Kumar 2016)."
    )
    pr_urine_reduction: float = Field(
        0.9, gt=0, le=1, description="PR: ≥ 90 % reduction of urine M ... (Kumar 2016)."
    )
    pr_urine_below_mg_24h: float = Field(
        200.0, gt=0, description="... or urine M < 200 mg/24h (Kumar 2016)."
    )
    pr_flc_reduction: float = Field(
        0.5, gt=0, le=1, description="PR, FLC-only disease: ≥ 50 % dFLC reduction (Kumar 2016)."
    )
    vgpr_serum_reduction: float = Field(
        0.9, gt=0, le=1, description="VGPR: ≥ 90 % reduction of serum M (Kumar 2016)."
    )
    vgpr_urine_below_mg_24h: float = Field(
        100.0,
        gt=0,
        description="VGPR: urine M < 100 mg/24h, whenever urine is measured (Kumar 2016).",
    )
    vgpr_flc_reduction: float = Field(
        0.9,
        gt=0,
        le=1,
        description="VGPR, FLC-only disease: ≥ 90 % dFLC reduction (mmrwe reading of Kumar 2016, "
        "which defines VGPR by M-protein; used as in FLC-only trial cohorts).",
    )
    mr_serum_reduction: float = Field(
        0.25, gt=0, le=1, description="MR: ≥ 25 % (and < 50 %) reduction of serum M (Kumar 2016)."
    )
    mr_urine_reduction: float = Field(
        0.5, gt=0, le=1, description="MR: ≥ 50 % (and < 90 %) reduction of urine M (Kumar 2016)."
    )
    cr_marrow_below_pct: float = Field(
        5.0, gt=0, description="CR: < 5 % plasma cells in the bone marrow (Kumar 2016)."
    )
    require_marrow_for_cr: bool = Field(
        True,
        description="Without any marrow result a CR cannot be confirmed and is reported as VGPR "
        "(Kumar 2016 requires the marrow; real-world data often lack it).",
    )
    scr_requires_clonality: bool = Field(
        True,
        description="sCR needs a negative test for clonal marrow plasma cells "
        "(bm_clonal_cells = negative); without that test the category stays CR (Kumar 2016).",
    )
    # --- progression --------------------------------------------------------------------------
    pd_increase: float = Field(
        0.25, gt=0, description="PD: ≥ 25 % increase from the nadir (Kumar 2016)."
    )
    pd_serum_absolute_g_dl: float = Field(
        0.5, gt=0, description="PD: serum M increase ≥ 0.5 g/dL in absolute terms (Kumar 2016)."
    )
    pd_serum_high_nadir_g_dl: float = Field(
        5.0,
        gt=0,
        description="When the serum nadir is ≥ this (g/dL), an increase of "
        "`pd_serum_high_nadir_increase_g_dl` suffices (Kumar 2016).",
    )
    pd_serum_high_nadir_increase_g_dl: float = Field(
        1.0, gt=0, description="Serum increase that suffices from a high nadir (Kumar 2016)."
    )
    pd_urine_absolute_mg_24h: float = Field(
        200.0, gt=0, description="PD: urine M increase ≥ 200 mg/24h (Kumar 2016)."
    )
    pd_flc_absolute_mg_l: float = Field(
        100.0,
        gt=0,
        description="PD, FLC-only disease: dFLC increase > 100 mg/L (strict; Kumar 2016).",
    )
    unconfirmed_pd_window_days: int = Field(
        60,
        ge=0,
        description="A single PD-level assessment (the line's last) followed by the next line or "
        "death within this many days counts as PD on its date (Kumar 2016: confirmation is "
        "not needed when treatment is changed for progression).",
    )
    # --- physician-recorded responses -----------------------------------------------------------
    confirm_recorded: bool = Field(
        False,
        description="false: physician-recorded responses are confirmed clinical judgements, used "
        "as recorded. true: they are per-visit investigator calls (CDISC RS style) and count "
        "only when confirmed as IMWG requires (Kumar 2016; admiralonco's IMWG ADRS vignette): "
        "sCR/CR/VGPR/PR/MR by the line's next call at least as good (a lower next call confirms "
        "the lower category; the next call must be on a later date, with no minimum or maximum "
        "interval: 'no minimal time interval, but a different sample'); an unconfirmed response "
        "counts as SD; PD by a next PD call or, as the line's last call, by the next line or "
        "death within `unconfirmed_pd_window_days`; an unconfirmed PD is ignored.",
    )

    @model_validator(mode="after")
    def _ratio_limits_ordered(self) -> ResponseRules:
        if self.flc_ratio_low >= self.flc_ratio_high:
            raise ValueError(
                f"flc_ratio_low ({self.flc_ratio_low}) must be below flc_ratio_high "
                f"({self.flc_ratio_high})"
            )
        return self
