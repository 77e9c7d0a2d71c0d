"""Adverse events and baseline ECOG from an OMOP CDM, by documented concept sets.

- Adverse events: ``condition_occurrence`` rows whose source concept (or concept) is in the
  adverse-event concept set (``concepts/adverse_events.csv``: ICD-10-CM D89.83x cytokine release
  syndrome, G92.0x ICANS, the grade in the code). A set row's ``mmrwe_name`` is
  ``<term>, grade <1-5>`` or ``<term>, grade unspecified`` (:data:`AE_NAME`); the native row is
  ``term``, ``onset_date`` = ``condition_start_date``, ``grade``, ``grading`` empty (the native
  rule then reads CRS and ICANS as graded by ASTCT: ICD-10-CM does not name the grading system).
  A code without a grade (D89.839, G92.00) cannot fill the native ``grade`` (required, 1-5): the
  row is excluded and counted (``condition_no_grade``).
- ECOG at diagnosis: ``measurement`` rows of the concept set whose ``mmrwe_name`` is ``ecog``
  (LOINC 89247-1), ``value_as_number`` a whole number 0-4, dated within
  ``OmopRules.ecog_window_days`` (30) of the diagnosis date; the nearest to the diagnosis wins (the earlier
  on a tie, then the smaller ``measurement_id``). Other values (5 = dead, fractions, no number)
  are excluded and counted (``measurement_ecog_value``).
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl

#: ``mmrwe_name`` of an adverse-event concept: the native term and its grade (or ``unspecified``)
AE_NAME = re.compile(r"^(?P<term>.+), grade (?P<grade>[1-5]|unspecified)$")
#: ``mmrwe_name`` of measurement concepts read into the patients table, not the labs
BASELINE_MEASUREMENTS = ("ecog",)


def adverse_event_sets(conditions: pl.DataFrame) -> pl.DataFrame:
    """``concept_id, term, grade`` (grade null when unspecified) of the condition set rows named
    as adverse events (:data:`AE_NAME`)."""
    parts = conditions["mmrwe_name"].str.extract_groups(AE_NAME.pattern)
    df = conditions.select("concept_id").with_columns(
        term=parts.struct.field("term"),
        grade=parts.struct.field("grade").cast(pl.Int64, strict=False),
    )
    return df.filter(pl.col("term").is_not_null())


def adverse_events(con: Any, cdm: str, sets: pl.DataFrame, members: Any) -> pl.DataFrame:
    """The range's adverse-event conditions: ``person_id, cdm_id, date, term, grade`` sorted by
    person (as text), date and ``condition_occurrence_id``; the source concept names the event
    before the standard concept (it carries the grade)."""
    ids = sets["concept_id"].to_list() or [-1]
    co = con.table("condition_occurrence", database=cdm).semi_join(members, "person_id")
    co = co.filter(co.condition_source_concept_id.isin(ids) | co.condition_concept_id.isin(ids))
    df = co.select(
        "person_id",
        "condition_occurrence_id",
        "condition_concept_id",
        "condition_source_concept_id",
        date="condition_start_date",
    ).to_polars()
    terms = dict(zip(sets["concept_id"], sets["term"], strict=True))
    grades = dict(zip(sets["concept_id"], sets["grade"], strict=True))
    source, standard = pl.col("condition_source_concept_id"), pl.col("condition_concept_id")
    by = pl.when(source.is_in(list(terms))).then(source).otherwise(standard)
    df = df.with_columns(by.alias("__c"))
    return df.select(
        pl.col("person_id").cast(pl.Int64),
        cdm_id=pl.col("condition_occurrence_id").cast(pl.Int64),
        date=pl.col("date").cast(pl.Date),
        term=pl.col("__c").replace_strict(terms, return_dtype=pl.String),
        grade=pl.col("__c").replace_strict(grades, default=None, return_dtype=pl.Int64),
    ).sort(pl.col("person_id").cast(pl.String), "date", "cdm_id")


def baseline_ecog(
    con: Any,
    cdm: str,
    ecog_ids: list[int],
    members: Any,
    diagnosed: pl.DataFrame,
    window_days: int,
) -> tuple[pl.DataFrame, int, int]:
    """``person_id, ecog`` at diagnosis (module docstring; within ``window_days`` of it), the
    rows with a valid value and the rows excluded for their value."""
    me = con.table("measurement", database=cdm).semi_join(members, "person_id")
    me = me.filter(me.measurement_concept_id.isin(ecog_ids or [-1]))
    df = me.select(
        "person_id", "measurement_id", "value_as_number", date="measurement_date"
    ).to_polars()
    df = df.with_columns(pl.col("person_id").cast(pl.Int64))
    value = pl.col("value_as_number").cast(pl.Float64)
    valid = value.is_not_null() & value.is_between(0, 4) & (value == value.round(0))
    bad = df.filter(~valid.fill_null(False)).height
    diag = diagnosed.select(pl.col("person_id").cast(pl.Int64), "diagnosis_date")
    days = (pl.col("date").cast(pl.Date) - pl.col("diagnosis_date").cast(pl.Date)).dt.total_days()
    near = (
        df.filter(valid.fill_null(False))
        .join(diag, on="person_id")
        .with_columns(days=days)
        .filter(pl.col("days").abs() <= window_days)
        .sort("person_id", pl.col("days").abs(), "days", "measurement_id")
        .group_by("person_id", maintain_order=True)
        .first()
    )
    return near.select("person_id", ecog=value.cast(pl.Int64)), df.height - bad, bad
