"""``read_omop``: an OMOP CDM v5.4 as an mmrwe :class:`~mmrwe.io.cohort.Cohort`.

The myeloma persons are extracted range by range (:func:`extract_cohort`, each range through
:func:`mmrwe.omop.extract.extract_range`) into native tables, which then pass the native reader's
every check and unit rule (:func:`mmrwe.io.read.validate_cohort`) like any cohort. What the
mapping excluded (persons without myeloma, rows outside observation, unconvertible units) opens
the attrition table; the numbers of ``mmrwe omop check`` go in the cohort's ``inputs`` (and so
into a run's ``manifest.json``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from mmrwe.errors import InvalidDataError
from mmrwe.io.attrition import attrition_table
from mmrwe.omop.concepts import concept_sets
from mmrwe.omop.extract import (
    Extract,
    Mapping,
    build_mapping,
    extract_range,
    myeloma_persons,
    person_ranges,
)
from mmrwe.omop.problems import in_cdm_words
from mmrwe.omop.url import OmopLocation, check_cdm, connect, parse_url

if TYPE_CHECKING:
    from mmrwe.io.cohort import Cohort
    from mmrwe.io.problems import ValidationReport
    from mmrwe.vocab import Vocabulary

#: Counts below this are written ``<11`` in the mapping summary (docs/privacy.md).
SMALL_CELL = 11
#: Persons per extracted range.
RANGE_SIZE = 25_000
#: ``Cohort.omop_events``: the CDM row each ``treatments`` row was read from
TREATMENT_EVENTS_SCHEMA = {
    "source_row": pl.Int64(),
    "patient_id": pl.String(),
    "event_table": pl.String(),
    "event_id": pl.Int64(),
}


@dataclass
class OmopSession:
    """An opened, checked CDM with its concept sets resolved."""

    location: OmopLocation
    con: Any
    facts: dict[str, str]
    mapping: Mapping
    persons: int = 0
    cohort: Any = None
    ids: list[int] = field(default_factory=list)
    #: the CDM row of each extracted treatments row (:func:`treatment_events`)
    events: pl.DataFrame | None = None


def open_omop(url: str | Path, concept_map: str | Path | None = None) -> OmopSession:
    """Open the CDM at ``url``, check it is a v5.4 CDM, resolve the concept sets and find the
    myeloma persons (their ids only leave the database)."""
    location = parse_url(url)
    con = connect(location)
    facts = check_cdm(con, location)
    mapping = build_mapping(con, location, concept_sets(concept_map))
    if not mapping.myeloma_standard and not mapping.myeloma_source:
        raise InvalidDataError(
            f"None of the multiple-myeloma condition codes is in the concept table of schema "
            f"'{location.vocab_schema}' of {location.label}: the vocabulary lacks SNOMED/ICD10CM, "
            "or vocab_schema points at the wrong schema (?vocab_schema=NAME)."
        )
    person = con.table("person", database=location.cdm_schema)
    cohort = myeloma_persons(con, location, mapping)
    ids = [int(i) for i in cohort.person_id.to_pyarrow().to_pylist()]
    return OmopSession(location, con, facts, mapping, int(person.count().execute()), cohort, ids)


def extract_cohort(session: OmopSession, size: int = RANGE_SIZE) -> Iterator[Extract]:
    """The native raw tables of the myeloma persons, one range of ``size`` person ids at a time."""
    for lo, hi in person_ranges(session.ids, size):
        yield extract_range(session.con, session.location, session.mapping, session.cohort, lo, hi)


def read_omop(
    url: str | Path,
    *,
    concept_map: str | Path | None = None,
    strict: bool = True,
    tables: Iterable[str] | None = None,
    extract_date: dt.date | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> Cohort:
    """Read the OMOP CDM at ``url`` as a validated :class:`Cohort` (see the module docstring)."""
    cohort, report = validate_omop(
        url,
        concept_map=concept_map,
        tables=tables,
        extract_date=extract_date,
        on_progress=on_progress,
    )
    if cohort is None or (strict and not report.ok):
        raise InvalidDataError(report.summary(), report)
    return cohort


def validate_omop(
    url: str | Path,
    *,
    concept_map: str | Path | None = None,
    tables: Iterable[str] | None = None,
    extract_date: dt.date | None = None,
    vocabulary: Vocabulary | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[Cohort | None, ValidationReport]:
    """:func:`mmrwe.io.read.validate_cohort` for an OMOP URL: extract, then the native checks."""
    from mmrwe.io.read import validate_frames

    location = parse_url(url)
    concept_map = concept_map or _url_concept_map(url)
    session = open_omop(_without_map(url), concept_map)
    frames, keys, summary = _extract(session)
    cohort, report = validate_frames(
        frames,
        "OMOP CDM extract",
        tables=tables,
        extract_date=extract_date,
        vocabulary=vocabulary,
        on_progress=on_progress,
    )
    report = in_cdm_words(report, keys, session.events)
    if cohort is not None:
        cohort.attrition = pl.concat([_mapping_attrition(session, summary), cohort.attrition])
        cohort.attrition = cohort.attrition.with_columns(
            step=pl.int_range(1, cohort.attrition.height + 1, dtype=pl.Int64)
        )
        summary["unmapped_drugs_top20"] = unmapped_top(cohort, vocabulary)
        cohort.inputs = [
            {"table": "omop", "file": location.label, **session.facts, "omop_mapping": summary}
        ]
        cohort.omop_events = session.events
    return cohort, report


def _url_concept_map(url: str | Path) -> str | None:
    """A ``concept_map=FILE`` option of the URL (how the CLI's ``--concept-map`` travels)."""
    from urllib.parse import parse_qs

    query = str(url).partition("?")[2]
    return parse_qs(query).get("concept_map", [None])[-1]


def _without_map(url: str | Path) -> str:
    base, _, query = str(url).partition("?")
    kept = [p for p in query.split("&") if p and not p.startswith("concept_map=")]
    return base + ("?" + "&".join(kept) if kept else "")


def _extract(
    session: OmopSession,
) -> tuple[dict[str, list[pl.DataFrame]], dict[str, pl.DataFrame], dict[str, Any]]:
    """Each range's native tables (typed, in memory, in the native order), the CDM keys of the
    patients, labs and responses rows (:func:`mmrwe.omop.problems.in_cdm_words`), and the
    mapping summary with the summed exclusions."""
    excluded: dict[str, int] = {}
    mapped: dict[str, int] = {}
    units: list[pl.DataFrame] = []
    events: list[pl.DataFrame] = []
    names = ("patients", "treatments", "labs", "responses")
    frames: dict[str, list[pl.DataFrame]] = {name: [] for name in names}
    keys: dict[str, list[pl.DataFrame]] = {}
    for part in extract_cohort(session):
        for name, table in part.tables.items():
            frames.setdefault(name, []).append(table)
        for k, v in part.excluded.items():
            excluded[k] = excluded.get(k, 0) + int(v or 0)
        for k, v in part.mapped.items():
            mapped[k] = mapped.get(k, 0) + int(v or 0)
        if part.unit_problems is not None and part.unit_problems.height:
            units.append(part.unit_problems)
        if part.events is not None:
            events.append(part.events)
        for name, key in part.keys.items():
            keys.setdefault(name, []).append(key)
    if not session.ids:
        frames = {name: [_empty(name)] for name in names}
    unit_rows = (
        pl.concat(units)
        .group_by("test", "unit")
        .agg(pl.col("rows").sum())
        .sort("rows", descending=True)
        if units
        else pl.DataFrame(schema={"test": pl.String, "unit": pl.String, "rows": pl.UInt32})
    )
    session.events = treatment_events(events)
    return (
        frames,
        {k: pl.concat(v) for k, v in keys.items()},
        {
            "cdm_schema": session.location.cdm_schema,
            "vocab_schema": session.location.vocab_schema,
            "persons": session.persons,
            "persons_with_myeloma": len(session.ids),
            "rows": {
                t: {"myeloma_persons": n, "mapped": mapped.get(t, 0)}
                for t, n in _domain_rows(session).items()
            },
            "excluded": excluded,
            "unit_problems": unit_rows.to_dicts(),
            "codes_not_in_vocabulary": session.mapping.not_found.select(
                "domain", "vocabulary_id", "concept_code", "mmrwe_name"
            ).to_dicts(),
        },
    )


def treatment_events(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """The CDM row of each extracted ``treatments`` row: ``source_row`` (1-based, counted across the
    ranges in order, as the native reader numbers them), ``patient_id``, ``event_table``,
    ``event_id``."""
    if not parts:
        return pl.DataFrame(schema=TREATMENT_EVENTS_SCHEMA)
    df = pl.concat(parts).with_row_index("source_row", offset=1)
    return df.cast(TREATMENT_EVENTS_SCHEMA).select(list(TREATMENT_EVENTS_SCHEMA))  # type: ignore[arg-type]


def _domain_rows(session: OmopSession) -> dict[str, int]:
    """Rows of the myeloma persons in each CDM event table (a count: no row leaves);
    ``condition_occurrence`` (every condition, myeloma's too) when adverse events are read."""
    out = {}
    names = ["drug_exposure", "procedure_occurrence", "measurement", "observation"]
    if session.mapping.adverse_events.height:
        names.append("condition_occurrence")
    for name in names:
        table = session.con.table(name, database=session.location.cdm_schema)
        rows = table.semi_join(session.cohort.select("person_id"), "person_id").count()
        out[name] = int(rows.execute())
    return out


def _empty(name: str) -> pl.DataFrame:
    cols = {
        "patients": ["patient_id", "diagnosis_date", "last_contact_date"],
        "treatments": ["patient_id", "drug", "start_date", "end_date"],
        "labs": ["patient_id", "date", "test", "value", "unit"],
        "responses": ["patient_id", "date", "response"],
    }[name]
    return pl.DataFrame(schema={c: pl.String for c in cols})


def _mapping_attrition(session: OmopSession, summary: dict[str, Any]) -> pl.DataFrame:
    """The mapping's exclusions as the first attrition steps (persons, then rows)."""
    ex = summary["excluded"]
    n = session.persons
    with_mm = len(session.ids)
    no_period = ex.get("person_no_observation_period", 0)
    late = ex.get("person_diagnosis_after_last", 0)
    kept = with_mm - no_period - late
    rows = [
        (n, 0, 0, "persons in the OMOP CDM"),
        (n, n - with_mm, 0, "persons without a multiple-myeloma condition (condition concept set)"),
        (with_mm, no_period, 0, "myeloma persons without an observation_period"),
        (
            with_mm - no_period,
            late,
            0,
            "myeloma persons whose first myeloma condition is after their last observation",
        ),
    ]
    for key, what in (
        ("drug_exposure", "drug_exposure rows dated outside every observation period"),
        (
            "procedure_occurrence",
            "procedure_occurrence rows dated outside every observation period",
        ),
        ("measurement", "measurement rows dated outside every observation period"),
        ("observation", "observation rows dated outside every observation period"),
        (
            "measurement_unit",
            "measurement rows whose unit cannot be converted to the canonical unit",
        ),
        (
            "condition_occurrence",
            "condition_occurrence rows (adverse events) dated outside every observation period",
        ),
        (
            "condition_no_grade",
            "adverse-event conditions without a grade (e.g. ICD-10-CM D89.839, G92.00)",
        ),
        (
            "measurement_ecog_value",
            "ECOG measurements whose value is not a whole number 0-4",
        ),
    ):
        if key in ex or key in ALWAYS_COUNTED:  # adverse events, ECOG: when their sets are read
            rows.append((kept, 0, ex.get(key, 0), what))
    return attrition_table(rows)


#: exclusions shown in the attrition table even when none (the others only when their concept
#: set is in the CDM's vocabulary)
ALWAYS_COUNTED = (
    "drug_exposure",
    "procedure_occurrence",
    "measurement",
    "observation",
    "measurement_unit",
)


def unmapped_top(
    cohort: Cohort, vocabulary: Vocabulary | None, n: int = 20
) -> list[dict[str, Any]]:
    """The ``n`` drug names (ingredients, or drug concepts without an ingredient) with most rows
    that mmrwe's vocabulary does not map; counts below the small-cell threshold as ``<11``."""
    from mmrwe.vocab import map_drugs

    _, unmapped = map_drugs(cohort.treatments.select("patient_id", "drug"), vocabulary)
    return [
        {"drug": r["drug"], "rows": r["rows"] if r["rows"] >= SMALL_CELL else f"<{SMALL_CELL}"}
        for r in unmapped.head(n).iter_rows(named=True)
    ]
