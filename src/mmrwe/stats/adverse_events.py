"""Adverse events per group and term: patients with the event at any grade and at grade ≥ 3.

An adverse event belongs to an analysed line when its onset falls in [index date, line end]
(both inclusive; an open line has no end). Each patient-line counts once per term, at its worst
grade. CTCAE grades (NCI CTCAE v5.0, 2017); cytokine release syndrome and ICANS graded by ASTCT
consensus (Lee et al., 2019, Biol Blood Marrow Transplant) are also shown by grade 1–5.
Percentages (%, one decimal) are of the group's patient-lines (``n_patients``).

Terms are normalised before counting: a term recorded as a known synonym (``CRS``, ``ICANS``,
CTCAE v5.0 US spellings such as ``anemia``; matched ignoring case and repeated spaces) becomes
its MedDRA preferred term, so one event is one term (``adverse_event_terms.csv``, shipped with
its sources); any other term is kept as recorded and marked ``unmapped`` (``term_coding``).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import polars as pl

from mmrwe.errors import InvalidDataError, require_columns
from mmrwe.privacy import SMALL_CELL_THRESHOLD, WITHHELD, AtMost, Same, Sum, protect
from mmrwe.stats.response_rates import analysis_groups

GRADES = (1, 2, 3, 4, 5)
#: Grading whose events are also shown by grade (CRS, ICANS).
BY_GRADE = "ASTCT"


#: ``term_coding`` of a term found in the synonym list, and of one kept as recorded
CODED, UNMAPPED = "MedDRA PT", "unmapped"


@cache
def term_synonyms() -> pl.DataFrame:
    """The shipped synonym list: ``term`` (lower case, single spaces), ``preferred_term``
    (MedDRA PT), ``source``."""
    text = files("mmrwe.stats").joinpath("adverse_event_terms.csv").read_text(encoding="utf-8")
    return pl.read_csv(text.encode(), infer_schema=False)


def _match_key(term: pl.Expr) -> pl.Expr:
    return term.str.strip_chars().str.replace_all(r"\s+", " ").str.to_lowercase()


def normalise_terms(adverse_events: pl.DataFrame) -> pl.DataFrame:
    """``term`` as its MedDRA preferred term where the synonym list knows it (else as recorded,
    trimmed), with ``term_coding`` = "MedDRA PT" or "unmapped"."""
    synonyms = term_synonyms().select(
        pl.col("term").alias("_key"), pl.col("preferred_term").alias("_pt")
    )
    return (
        adverse_events.with_columns(_match_key(pl.col("term")).alias("_key"))
        .join(synonyms, on="_key", how="left")
        .with_columns(
            pl.coalesce("_pt", pl.col("term").str.strip_chars()).alias("term"),
            pl.when(pl.col("_pt").is_null())
            .then(pl.lit(UNMAPPED))
            .otherwise(pl.lit(CODED))
            .alias("term_coding"),
        )
        .drop("_key", "_pt")
    )


def _check(adverse_events: pl.DataFrame) -> None:
    require_columns(adverse_events, "adverse_events", ["patient_id", "term", "onset_date", "grade"])
    grade = adverse_events["grade"]
    bad = adverse_events.filter(grade.is_null() | ~grade.is_in(GRADES))
    if bad.height:
        raise InvalidDataError(
            f"adverse_events, column 'grade': {bad.height} rows hold a grade outside 1-5 (first: "
            f"patient {bad['patient_id'][0]!r}, term {bad['term'][0]!r}, grade "
            f"{bad['grade'][0]!r}); grade every event 1 to 5."
        )


def _worst_grades(lines: pl.DataFrame, adverse_events: pl.DataFrame, by: str) -> pl.DataFrame:
    """One row per group, patient-line, term and grading: the worst grade within the line."""
    ae = adverse_events.with_columns(
        pl.col("grading").fill_null("CTCAE")
        if "grading" in adverse_events.columns
        else pl.lit("CTCAE").alias("grading")
    ).select("patient_id", "term", "term_coding", "grading", "onset_date", "grade")
    in_line = (pl.col("onset_date") >= pl.col("index_date")) & (
        pl.col("end_date").is_null() | (pl.col("onset_date") <= pl.col("end_date"))
    )
    return (
        lines.join(ae, on="patient_id", how="inner")
        .filter(in_line)
        .group_by(by, "patient_id", "line", "term", "term_coding", "grading")
        .agg(pl.col("grade").max())
    )


def _counts(
    analysis_lines: pl.DataFrame, levels: pl.DataFrame, worst: pl.DataFrame, by: str
) -> pl.DataFrame:
    """Every group × (term, grading) seen in any group, with patient-line counts (0 if none)."""
    by_grade = pl.col("grading") == BY_GRADE
    counts = worst.group_by(by, "term", "term_coding", "grading").agg(
        pl.len().cast(pl.Int64).alias("n_any_grade"),
        (pl.col("grade") >= 3).sum().cast(pl.Int64).alias("n_grade_3_plus"),
        *[(pl.col("grade") == g).sum().cast(pl.Int64).alias(f"n_grade_{g}") for g in GRADES],
    )
    sizes = analysis_lines.group_by(by).agg(pl.len().cast(pl.Int64).alias("n_patients"))
    groups = levels.with_row_index("_order").join(sizes, on=by)
    keys = counts.select("term", "term_coding", "grading").unique()
    count_cols = ["n_any_grade", "n_grade_3_plus", *[f"n_grade_{g}" for g in GRADES]]
    grid = groups.join(keys, how="cross").join(
        counts, on=[by, "term", "term_coding", "grading"], how="left"
    )
    return grid.with_columns(
        pl.col("n_any_grade", "n_grade_3_plus").fill_null(0),
        *[
            pl.when(by_grade).then(pl.col(f"n_grade_{g}").fill_null(0)).alias(f"n_grade_{g}")
            for g in GRADES
        ],
    ).select("_order", by, "term", "term_coding", "grading", "n_patients", *count_cols)


def adverse_events(
    analysis_lines: pl.DataFrame,
    adverse_events: pl.DataFrame,
    *,
    by: str = "regimen",
    threshold: int = SMALL_CELL_THRESHOLD,
) -> pl.DataFrame:
    """Patient-lines with each adverse event, per group, small cells protected.

    One row per group and (term, grading), for every term seen in any group. Columns: ``by``,
    term (the MedDRA preferred term where known), term_coding, grading, n_patients, n_any_grade, pct_any_grade, n_grade_3_plus, pct_grade_3_plus,
    and for ASTCT-graded events n_grade_1 … n_grade_5 with pct (null for CTCAE terms).
    Sorted by group, then the published any-grade count, largest first (withheld, then
    ``<11``, then 0 after the published counts), then term.
    """
    require_columns(analysis_lines, "analysis_lines", [by, "patient_id", "line", "index_date"])
    require_columns(analysis_lines, "analysis_lines", ["end_date"])
    _check(adverse_events)
    adverse_events = normalise_terms(adverse_events)
    analysis_lines, levels = analysis_groups(analysis_lines, by)
    lines = analysis_lines.select(by, "patient_id", "line", "index_date", "end_date")
    table = _counts(analysis_lines, levels, _worst_grades(lines, adverse_events, by), by)
    names = ["any_grade", "grade_3_plus", *[f"grade_{g}" for g in GRADES]]
    table = table.with_columns(
        (100 * pl.col(f"n_{x}") / pl.col("n_patients")).round(1).alias(f"pct_{x}") for x in names
    ).select(
        by,
        "_order",
        "term",
        "term_coding",
        "grading",
        "n_patients",
        *[c for x in names for c in (f"n_{x}", f"pct_{x}")],
    )
    grades = tuple(f"n_grade_{g}" for g in GRADES)
    out = protect(
        table,
        ["n_patients", *[f"n_{x}" for x in names]],
        threshold=threshold,
        relations=[
            Same("n_patients", (by,)),
            Sum("n_any_grade", grades),
            Sum("n_grade_3_plus", grades[2:]),
            AtMost("n_patients", tuple(f"n_{x}" for x in names)),
        ],
        derived={f"pct_{x}": [f"n_{x}", "n_patients"] for x in names},
    )
    return out.sort(
        [pl.col("_order"), _display_rank(), _shown(), pl.col("term"), pl.col("grading")],
        descending=[False, False, True, False, False],
    ).drop("_order")


def _shown() -> pl.Expr:
    """The published any-grade count (null when suppressed)."""
    return pl.col("n_any_grade").cast(pl.Int64, strict=False)


def _display_rank() -> pl.Expr:
    """Order of the any-grade cell as published: counts >= the threshold, withheld counts
    (>= the threshold), counts below it, zeros — the order says no more than the cell."""
    shown = _shown()
    return (
        pl.when(shown > 0)
        .then(0)
        .when(pl.col("n_any_grade").cast(pl.String) == WITHHELD)
        .then(1)
        .when(shown.is_null())
        .then(2)
        .otherwise(3)
    )
