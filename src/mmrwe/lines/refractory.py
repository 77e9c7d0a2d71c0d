"""Refractoriness and exposure at each line's start (IMWG; Rajkumar SV et al., Blood 2011).

A patient is refractory to a drug when the disease progressed while on it (after its first day:
a progression dated on the day a drug starts is the one that led to it) or at most
``refractory_window_days`` (60) after its last dose, or when the line containing it failed to
reach at least a minimal response (applied only when best responses per line are given). Flags at
a line's start are cumulative over all *earlier* lines and use only progression dated on or before
that start (a progression on the start day counts); line 1 has no prior exposure.

Class flags: lenalidomide; any proteasome inhibitor; any anti-CD38 antibody; triple-class
(an IMiD, a PI and an anti-CD38); penta (lenalidomide, pomalidomide, bortezomib, carfilzomib and an
anti-CD38). Exposure flags (``triple_class_exposed``, ``penta_exposed``) count exposure alone.
"""

from __future__ import annotations

import polars as pl

from mmrwe.lines.derive import DERIVED_LINES_TABLE, LINE_EXPOSURES_TABLE
from mmrwe.lines.rules import LineRules
from mmrwe.vocab import Vocabulary, load_vocabulary

REFRACTORY_COLUMNS = [
    "len_refractory",
    "pi_refractory",
    "anti_cd38_refractory",
    "triple_class_refractory",
    "penta_refractory",
    "triple_class_exposed",
    "penta_exposed",
]
#: the ``lines`` table written by every command: the derived lines with their flags
LINES_TABLE = DERIVED_LINES_TABLE.extend("lines", dict.fromkeys(REFRACTORY_COLUMNS, pl.Boolean()))
_OWNER = "derive_refractoriness"
#: Best responses that fail the "at least minimal response" test.
BELOW_MR = ("SD", "PD")


def derive_refractoriness(
    lines: pl.DataFrame,
    line_exposures: pl.DataFrame,
    progression: pl.DataFrame,
    best_response: pl.DataFrame | None = None,
    rules: LineRules | None = None,
    vocabulary: Vocabulary | None = None,
) -> pl.DataFrame:
    """Add the refractory and exposure flags of :data:`REFRACTORY_COLUMNS` to ``lines``.

    ``progression``: ``patient_id, date`` of each progression (recorded PD, or lab-derived PD
    from the response stage). ``best_response``: optional ``patient_id, line, best_response`` for
    the no-minimal-response clause.
    """
    rules = rules or LineRules()
    DERIVED_LINES_TABLE.require(lines, _OWNER, ("patient_id", "line", "start_date"))
    LINE_EXPOSURES_TABLE.require(
        line_exposures,
        _OWNER,
        ("patient_id", "line", "drug", "start_date", "end_date", "source_row"),
    )
    if "drug_class" not in line_exposures.columns:
        vocabulary = vocabulary or load_vocabulary()
        classes = vocabulary.drugs.select(pl.col("generic_name").alias("drug"), "drug_class")
        line_exposures = line_exposures.join(classes, on="drug", how="left")
    starts = lines.select("patient_id", "line", pl.col("start_date").alias("line_start"))
    next_start = starts.with_columns(
        pl.col("line_start").shift(-1).over("patient_id").alias("next_start")
    ).select("patient_id", "line", "next_start")
    # the first day of each exposure (its pieces share source_row): a progression dated on the day
    # a drug starts is the progression that led to it, not progression on it
    exposure_start = pl.col("start_date").min().over("patient_id", "source_row", "drug")
    ex = (
        line_exposures.with_columns(exposure_start.alias("exposure_start"))
        .join(next_start, on=["patient_id", "line"], how="left")
        .filter(pl.col("next_start").is_not_null())  # only exposures with a later line matter
    )
    window = pl.duration(days=rules.refractory_window_days)
    prog = progression.select("patient_id", pl.col("date").alias("pd_date")).unique()
    # evidence of refractoriness: a PD on the drug or within the window after its last dose,
    # effective from the first later line starting on or after the PD
    by_pd = (
        ex.join(prog, on="patient_id", how="inner")
        .filter(
            (pl.col("pd_date") >= pl.col("start_date"))
            & (pl.col("pd_date") > pl.col("exposure_start"))
            & (pl.col("pd_date") <= pl.col("end_date") + window)
        )
        .select(
            "patient_id",
            "drug",
            "drug_class",
            pl.max_horizontal("pd_date", "next_start").alias("from"),
        )
    )
    evidence = [by_pd]
    if best_response is not None:
        no_mr = best_response.filter(pl.col("best_response").is_in(BELOW_MR)).select(
            "patient_id", "line"
        )
        evidence.append(
            ex.join(no_mr, on=["patient_id", "line"], how="inner").select(
                "patient_id", "drug", "drug_class", pl.col("next_start").alias("from")
            )
        )
    refractory_from = (
        pl.concat(evidence).group_by("patient_id", "drug", "drug_class").agg(pl.col("from").min())
    )
    exposed_from = ex.group_by("patient_id", "drug", "drug_class").agg(
        pl.col("next_start").min().alias("from")
    )
    flags = _flags(starts, refractory_from, "refractory").join(
        _flags(starts, exposed_from, "exposed"),
        on=["patient_id", "line"],
        how="full",
        coalesce=True,
    )
    out = lines.join(flags, on=["patient_id", "line"], how="left").with_columns(
        pl.col(c).fill_null(False) for c in REFRACTORY_COLUMNS
    )
    return out


def _flags(starts: pl.DataFrame, evidence: pl.DataFrame, kind: str) -> pl.DataFrame:
    """Per line, which drugs and classes the evidence covers by the line's start."""
    d, c = pl.col("drug"), pl.col("drug_class")
    at = (
        starts.join(evidence, on="patient_id", how="inner")
        .filter(pl.col("from") <= pl.col("line_start"))
        .group_by("patient_id", "line")
        .agg(
            (d == "lenalidomide").any().alias("len"),
            (d == "pomalidomide").any().alias("pom"),
            (d == "bortezomib").any().alias("bort"),
            (d == "carfilzomib").any().alias("carf"),
            (c == "IMiD").any().alias("imid"),
            (c == "PI").any().alias("pi"),
            (c == "anti-CD38").any().alias("cd38"),
        )
    )
    triple = pl.col("imid") & pl.col("pi") & pl.col("cd38")
    penta = pl.col("len") & pl.col("pom") & pl.col("bort") & pl.col("carf") & pl.col("cd38")
    if kind == "refractory":
        cols = [
            pl.col("len").alias("len_refractory"),
            pl.col("pi").alias("pi_refractory"),
            pl.col("cd38").alias("anti_cd38_refractory"),
            triple.alias("triple_class_refractory"),
            penta.alias("penta_refractory"),
        ]
    else:
        cols = [triple.alias("triple_class_exposed"), penta.alias("penta_exposed")]
    return at.select("patient_id", "line", *cols)


def recorded_progression(responses: pl.DataFrame) -> pl.DataFrame:
    """``patient_id, date`` of physician-recorded progression (response PD)."""
    return (
        responses.filter(pl.col("response") == "PD")
        .select("patient_id", "date")
        .unique()
        .sort("patient_id", "date")
    )


def all_progression(*progressions: pl.DataFrame) -> pl.DataFrame:
    """``patient_id, date`` of every progression of the given sources (e.g. lab-derived PD of
    :func:`mmrwe.response.progression_dates` and :func:`recorded_progression`), once each."""
    return (
        pl.concat([p.select("patient_id", "date") for p in progressions])
        .unique()
        .sort("patient_id", "date")
    )
