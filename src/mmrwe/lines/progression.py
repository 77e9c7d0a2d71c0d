"""Rule 5's progression exception with lab-derived PD: a second pass over the affected patients.

Rule 5 keeps consolidation and maintenance started within ``maintenance_window_days`` of the last
ASCT in the transplant line unless a progression is documented between the ASCT and the drug's
start. Recorded PD (the responses table) is known before the lines; lab PD comes from the response
stage, which needs the lines (each line's baseline is at its start). The lab PD of a line ``L``
dated before a rule-5 drug start in ``L`` does not change when ``L`` is split at that start (the
assessments before the split, and the baseline at ``L``'s start, are the same), so deriving the
lines again for the patients concerned, with the lab PD added, is exact:

1. ``derive_lines_of_therapy(cohort)`` (recorded PD);
2. the response stage on those lines → lab PD (:func:`mmrwe.response.progression_dates`);
3. :func:`rederive_after_lab_progression` → the final lines; the response stage is then run
   again for the patients in :func:`patients_to_rederive` (their lines changed).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from mmrwe.io.cohort import Cohort
from mmrwe.lines.derive import LinesOfTherapy, derive_lines_of_therapy
from mmrwe.lines.exposures import ASCT_NAME
from mmrwe.lines.refractory import all_progression, recorded_progression
from mmrwe.lines.rules import LineRules
from mmrwe.vocab import Vocabulary


def patients_to_rederive(
    result: LinesOfTherapy, progression: pl.DataFrame, rules: LineRules | None = None
) -> pl.Series:
    """Patient ids (sorted) whose lines ``progression`` (``patient_id, date``) may change: a
    progression dated after an ASCT of a line and on or before either the start of an exposure
    that started later in that line (a drug rule 5 may have kept in the line) or the start of
    the next line when that started within ``maintenance_window_days`` of the line's last ASCT
    (the line rule 5's exception opened, whose text names the earliest progression)."""
    window = (rules or LineRules()).maintenance_window_days
    ex = result.line_exposures
    asct = ex.filter(pl.col("drug") == ASCT_NAME).select(
        "patient_id", "line", pl.col("start_date").alias("asct")
    )
    next_start = result.lines.filter(pl.col("end_reason") == "next_line").select(
        "patient_id", "line", (pl.col("end_date") + pl.duration(days=1)).alias("drug_start")
    )
    later = pl.concat(
        [ex.select("patient_id", "line", pl.col("start_date").alias("drug_start")), next_start]
    )
    pd = progression.select("patient_id", pl.col("date").alias("pd")).unique()
    hits = (
        asct.join(pd, on="patient_id", how="inner")
        .filter(pl.col("pd") > pl.col("asct"))
        .join(later, on=["patient_id", "line"], how="inner")
        .filter(
            (pl.col("drug_start") >= pl.col("pd"))
            & ((pl.col("drug_start") - pl.col("asct")).dt.total_days() <= window)
        )
    )
    return hits["patient_id"].unique().sort()


def rederive_after_lab_progression(
    cohort: Cohort,
    result: LinesOfTherapy,
    lab_progression: pl.DataFrame,
    rules: LineRules | None = None,
    *,
    drug_map: str | Path | pl.DataFrame | None = None,
    vocabulary: Vocabulary | None = None,
) -> LinesOfTherapy:
    """The lines of ``result`` (first pass, recorded PD) with lab-derived PD also ending planned
    transplant sequences (rule 5): the patients of :func:`patients_to_rederive` are derived again
    with recorded and lab PD; every other patient's rows are kept as they are. Returns ``result``
    itself when no patient is concerned. ``lab_progression``: ``patient_id, date``. Attrition and
    unmapped drugs do not change (splitting a line moves no row out of every line)."""
    affected = patients_to_rederive(result, lab_progression, rules)
    if affected.is_empty():
        return result
    keep = pl.col("patient_id").is_in(affected.implode())
    subset = Cohort(
        patients=cohort.patients.filter(keep),
        treatments=cohort.treatments.filter(keep),
        responses=cohort.responses.filter(keep),
    )
    progression = all_progression(
        recorded_progression(subset.responses), lab_progression.filter(keep)
    )
    again = derive_lines_of_therapy(
        subset, rules, drug_map=drug_map, vocabulary=vocabulary, progression=progression
    )
    return LinesOfTherapy(
        lines=_splice(result.lines, again.lines, keep, ["patient_id", "line"]),
        line_exposures=_splice(
            result.line_exposures,
            again.line_exposures,
            keep,
            ["patient_id", "line", "start_date", "drug", "source_row"],
        ),
        unmapped_drugs=result.unmapped_drugs,
        attrition=result.attrition,
    )


def _splice(
    old: pl.DataFrame, new: pl.DataFrame, replaced: pl.Expr, order: list[str]
) -> pl.DataFrame:
    """``old`` with the rows of the ``replaced`` patients taken from ``new``, in ``order``."""
    return pl.concat([old.filter(~replaced), new.select(old.columns)]).sort(order)
