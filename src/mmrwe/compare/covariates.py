"""Real-world covariates matched to the baseline characteristics a trial publishes.

Each characteristic of the benchmark library (``mmrwe.compare.library.BASELINE``) is read from
the run's ``analysis_lines`` at the index line: a published proportion becomes a 0/1 indicator,
a published median (age, prior lines) is matched as a proportion: 50 % of the weighted cohort
above it (NICE DSU TSD 18, Phillippo 2016). Patients with a missing value of a matched
characteristic are left out of the comparison and counted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl

from mmrwe.errors import ParameterError

Indicator = Callable[[float], pl.Expr]

#: characteristic → (its reading from analysis_lines, in words; indicator given the target)
CHARACTERISTICS: dict[str, tuple[str, Indicator]] = {
    "median_age": (
        "age at index above the published median (target 50 %)",
        lambda median: pl.col("age_at_index") > median,
    ),
    "median_prior_lines": (
        "prior lines above the published median (target 50 %)",
        lambda median: pl.col("prior_lines") > median,
    ),
    "triple_class_refractory": (
        "triple-class refractory at index",
        lambda _: pl.col("triple_class_refractory"),
    ),
    "penta_refractory": ("penta-refractory at index", lambda _: pl.col("penta_refractory")),
    "high_risk_cytogenetics": (
        "high-risk cytogenetics at diagnosis (unknown: missing)",
        lambda _: pl.when(pl.col("cytogenetic_risk").is_in(["high", "standard"])).then(
            pl.col("cytogenetic_risk") == "high"
        ),
    ),
    "r_iss_iii": ("R-ISS stage III at diagnosis", lambda _: pl.col("r_iss_stage") == "III"),
    "ecog_0": ("ECOG 0 at diagnosis", lambda _: pl.col("ecog") == 0),
    "ecog_1": ("ECOG 1 at diagnosis", lambda _: pl.col("ecog") == 1),
    "ecog_2_plus": ("ECOG 2 or more at diagnosis", lambda _: pl.col("ecog") >= 2),
    "prior_asct": (
        "an earlier line included an autologous transplant",
        lambda _: pl.col("prior_asct"),
    ),
}

#: published characteristics the native data model does not record
NOT_RECORDED = {
    "extramedullary": "the native data model records no extramedullary disease",
    "n": "the number of patients is not a characteristic to match on",
}


def unrecorded(names: Sequence[str]) -> list[str]:
    """Why each published characteristic of ``names`` that the native data model does not
    record cannot be matched on, in words (names as the library spells them)."""
    from mmrwe.compare.measures import BASELINE

    return [f"{BASELINE[n].label} ({n}): {NOT_RECORDED[n]}" for n in names if n in NOT_RECORDED]


#: targets that are medians, matched as the share above them
MEDIANS = ("median_age", "median_prior_lines")


def matching_targets(names: Sequence[str], published: dict[str, float]) -> dict[str, float]:
    """The target of each matched indicator: 0.5 for a published median, else the published
    proportion."""
    return {name: 0.5 if name in MEDIANS else float(published[name]) for name in names}


def real_world_covariates(
    analysis_lines: pl.DataFrame, names: Sequence[str], published: dict[str, float]
) -> tuple[pl.DataFrame, pl.Series]:
    """0/1 indicator columns of the matched characteristics, one row per patient with all of them
    known, and a boolean mask over ``analysis_lines`` of the rows kept."""
    refused = [n for n in names if n in NOT_RECORDED]
    unknown = [n for n in names if n not in CHARACTERISTICS and n not in NOT_RECORDED]
    if refused or unknown:
        reasons = [f"{n}: {NOT_RECORDED[n]}" for n in refused]
        reasons += [f"{n}: not a characteristic of the benchmark library" for n in unknown]
        raise ParameterError(
            "Cannot match on "
            + "; ".join(reasons)
            + ". Characteristics that can be matched: "
            + ", ".join(CHARACTERISTICS)
            + "."
        )
    exprs = [CHARACTERISTICS[n][1](published[n]).cast(pl.Float64).alias(n) for n in names]
    table = analysis_lines.select(exprs)
    known = table.select(pl.all_horizontal(pl.all().is_not_null()).alias("k"))["k"]
    return table.filter(known), known
