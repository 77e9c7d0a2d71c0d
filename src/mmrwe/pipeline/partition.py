"""The patient-level chain on one partition of whole patients: a pure function, no I/O.

:func:`analyse_partition` runs lines → response → endpoints → population on the cohort tables
of some patients (every row of each of them) and stops after the stage asked for. It is what
``mmrwe lines``, ``mmrwe response`` and ``mmrwe run`` run on each partition, and what an external
engine (e.g. Spark ``applyInArrow`` over groups of patients) calls on an Arrow table of whole
patients.

From ``response`` on, a lab-derived PD that ends a planned transplant sequence (rule 5) derives
the lines of the patients concerned again, with their response (:func:`_lab_progression_pass`).
Refractoriness (Rajkumar 2011) is judged on the progression evidence the chain has derived when
it stops: after ``lines``, recorded PD; from ``response`` on, the earlier of lab-derived (IMWG)
and recorded PD, and lines whose best response is below MR.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, get_args

import numpy as np
import polars as pl
import pyarrow as pa

from mmrwe.errors import check_parameter
from mmrwe.io.cohort import COHORT_SCHEMAS, Cohort, empty_table, sort_cohort_table
from mmrwe.timing import StageTimer
from mmrwe.vocab import Vocabulary

if TYPE_CHECKING:  # typing only: importing the stages would load their compiled kernels
    from mmrwe.lines import LinesOfTherapy
    from mmrwe.study.config import StudyConfig

#: the stages of the chain, in order; ``stop_after`` names the last one run
Stage = Literal["lines", "response", "endpoints", "population"]
STAGES: tuple[Stage, ...] = get_args(Stage)

#: patient-level tables of the chain, in the order they are written, and the stage making each
PATIENT_TABLES: dict[str, Stage] = {
    "lines": "lines",
    "line_exposures": "lines",
    "assessments": "response",
    "line_response": "response",
    "endpoints": "endpoints",
    "adtte": "endpoints",
    "adrs": "endpoints",
    "adsl": "population",
}

#: where the manifest says the progression evidence of refractoriness came from
PROGRESSION_SOURCES: dict[Stage, str] = {
    "lines": "recorded PD (responses table, response = PD); lab-derived PD is added by "
    "'mmrwe response' and 'mmrwe run'",
    "response": "earliest of lab-derived PD (IMWG, from the labs table) and recorded PD "
    "(responses table, response = PD); refractoriness also counts lines whose best response "
    "is below MR (SD, PD)",
}


def tables_of(stop_after: Stage) -> tuple[str, ...]:
    """The patient-level tables a chain stopped after ``stop_after`` writes, in order."""
    last = STAGES.index(stop_after)
    return tuple(t for t, s in PATIENT_TABLES.items() if STAGES.index(s) <= last)


def progression_source(stop_after: Stage) -> str:
    """The manifest's ``progression_source`` for a chain stopped after ``stop_after``."""
    return PROGRESSION_SOURCES["lines" if stop_after == "lines" else "response"]


@dataclass
class PartitionResult:
    """What one partition gives: its patient-level tables (:data:`PATIENT_TABLES` up to the
    stop), its analysed lines (``population`` only; without ``group``, which depends on the
    whole analysed population), unmapped drug names, attrition steps and seconds per stage."""

    tables: dict[str, pl.DataFrame]
    unmapped_drugs: pl.DataFrame
    attrition: pl.DataFrame
    analysis_lines: pl.DataFrame | None = None
    timings: dict[str, float] = field(default_factory=dict)


def partition_cohort(tables: Mapping[str, pa.Table | pl.DataFrame]) -> Cohort:
    """A :class:`Cohort` of one partition's tables. Polars tables are taken as
    :func:`mmrwe.io.read_cohort` returns them (typed, sorted by patient); Arrow tables (from an
    external engine) are typed to the cohort contract and sorted here. Absent optional tables
    are empty."""
    frames: dict[str, pl.DataFrame] = {}
    for name in COHORT_SCHEMAS:
        table = tables.get(name)
        if table is None:
            frames[name] = empty_table(name)
        elif isinstance(table, pa.Table):
            df = pl.from_arrow(table)
            assert isinstance(df, pl.DataFrame)
            typed = {c: d for c, d in COHORT_SCHEMAS[name].items() if c in df.columns}
            frames[name] = sort_cohort_table(name, df.cast(typed))  # type: ignore[arg-type]
        else:
            frames[name] = table
    return Cohort(**frames, present=frozenset(tables))


def analyse_partition(
    tables: Mapping[str, pa.Table | pl.DataFrame],
    config: StudyConfig,
    vocabulary: Vocabulary,
    *,
    stop_after: Stage = "population",
) -> PartitionResult:
    """The patient-level chain on the cohort tables of whole patients (``patients``,
    ``treatments``, ``labs``, ``responses``, ``adverse_events``; optional ones may be absent),
    stopped after ``stop_after`` (one of :data:`STAGES`). Pure: no I/O, no global state; the
    same tables give the same result whichever partition they are cut into.

    ``vocabulary`` carries the user drug map (:meth:`Vocabulary.with_drug_map`)."""
    check_parameter(
        stop_after in STAGES, "stop_after", "analyse_partition", f"one of {STAGES}", stop_after
    )
    cohort = partition_cohort(tables)
    timer = StageTimer()
    with timer.stage("lines"):
        lot = _lines(cohort, config, vocabulary)
    out = {"line_exposures": lot.line_exposures}
    attrition = [lot.attrition]
    best = None
    if stop_after == "lines":
        progression = _recorded(cohort)
    else:
        with timer.stage("response"):
            out["assessments"], out["line_response"] = _response(cohort, lot.lines, config)
            lot = _lab_progression_pass(cohort, lot, out, config, vocabulary)
            out["line_exposures"] = lot.line_exposures
        attrition.append(_response_attrition(cohort, lot.lines, out["line_response"]))
        progression = _progression(cohort, lot.lines, out["line_response"], config)
        best = out["line_response"].select("patient_id", "line", "best_response")
    with timer.stage("refractoriness"):
        out["lines"] = _refractoriness(lot, progression, best, config)
    analysis_lines = None
    if STAGES.index(stop_after) >= STAGES.index("endpoints"):
        with timer.stage("endpoints"):
            out["endpoints"], out["adtte"] = _endpoints(cohort, out, config)
            out["adrs"] = _adrs(out, config)
    if stop_after == "population":
        with timer.stage("population"):
            analysis_lines, selection = _population(cohort, out["lines"], config)
            out["adsl"] = _adsl(cohort, analysis_lines, config)
        attrition.append(selection)
    return PartitionResult(
        tables={name: out[name] for name in tables_of(stop_after)},
        unmapped_drugs=lot.unmapped_drugs,
        attrition=_chain(attrition),
        analysis_lines=analysis_lines,
        timings=timer.seconds,
    )


def _chain(tables: list[pl.DataFrame]) -> pl.DataFrame:
    from mmrwe.io.attrition import chain_attrition

    return chain_attrition(*tables)


def _lines(cohort: Cohort, config: StudyConfig, vocabulary: Vocabulary) -> LinesOfTherapy:
    """Lines of therapy (IMWG, Rajkumar 2011) without refractoriness."""
    from mmrwe.lines import derive_lines_of_therapy

    return derive_lines_of_therapy(cohort, config.lines, vocabulary=vocabulary)


def _response(
    cohort: Cohort, lines: pl.DataFrame, config: StudyConfig
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """IMWG assessments and each line's best response and progression (Kumar 2016)."""
    from mmrwe.response import derive_assessments, derive_line_response

    car_t_index = config.lines.car_t_index
    assessments = derive_assessments(cohort.labs, lines, config.response, car_t_index=car_t_index)
    line_response = derive_line_response(
        assessments,
        lines,
        cohort.responses,
        cohort.patients,
        config.response,
        car_t_index=car_t_index,
    )
    return assessments, line_response


def _lab_progression_pass(
    cohort: Cohort,
    lot: LinesOfTherapy,
    out: dict[str, pl.DataFrame],
    config: StudyConfig,
    vocabulary: Vocabulary,
) -> LinesOfTherapy:
    """Rule 5's exception with lab-derived PD (:func:`mmrwe.lines.rederive_after_lab_progression`):
    the lines of the patients a lab PD concerns are derived again, and their assessments and line
    response replaced in ``out``; every other patient's rows are kept."""
    from mmrwe.lines import patients_to_rederive, rederive_after_lab_progression
    from mmrwe.response import progression_dates

    lab_pd = progression_dates(out["line_response"])
    final = rederive_after_lab_progression(cohort, lot, lab_pd, config.lines, vocabulary=vocabulary)
    if final is lot:
        return lot
    redone = patients_to_rederive(lot, lab_pd, config.lines)
    redo = pl.col("patient_id").is_in(redone.implode())
    subset = Cohort(
        patients=cohort.patients.filter(redo),
        treatments=cohort.treatments.filter(redo),
        labs=cohort.labs.filter(redo),
        responses=cohort.responses.filter(redo),
    )
    assessments, line_response = _response(subset, final.lines.filter(redo), config)
    out["assessments"] = _splice_patients(out["assessments"], assessments, redone)
    out["line_response"] = _splice_patients(out["line_response"], line_response, redone)
    return final


def _splice_patients(old: pl.DataFrame, new: pl.DataFrame, patients: pl.Series) -> pl.DataFrame:
    """``old`` with the rows of ``patients`` replaced by ``new`` (their rows only). Both are
    sorted by ``patient_id`` first and the result keeps that order: the new rows are merged in
    by patient in one gather, instead of sorting the whole table again (its reason texts)."""
    keep = ~old["patient_id"].is_in(patients.implode()).to_numpy()
    kept_ids = old["patient_id"].filter(pl.Series(keep))
    at = kept_ids.search_sorted(new["patient_id"], side="left").to_numpy().astype(np.int64)
    is_new = np.zeros(kept_ids.len() + new.height, np.bool_)
    is_new[at + np.arange(new.height)] = True
    order = np.empty(is_new.size, np.int64)
    order[is_new] = old.height + np.arange(new.height)
    order[~is_new] = np.flatnonzero(keep)
    return pl.concat([old, new.select(old.columns)], rechunk=True)[order]  # gathers 1 chunk


def _response_attrition(
    cohort: Cohort, lines: pl.DataFrame, line_response: pl.DataFrame
) -> pl.DataFrame:
    from mmrwe.response.attrition import response_attrition

    return response_attrition(cohort.labs, lines, line_response)


def _recorded(cohort: Cohort) -> pl.DataFrame:
    """Progression evidence before the response stage: physician-recorded PD."""
    from mmrwe.lines import recorded_progression

    return recorded_progression(cohort.responses)


def _progression(
    cohort: Cohort, lines: pl.DataFrame, line_response: pl.DataFrame, config: StudyConfig
) -> pl.DataFrame:
    """Progression evidence after the response stage: lab-derived and recorded PD (only the
    confirmed calls when ``[response] confirm_recorded``)."""
    from mmrwe.lines import all_progression
    from mmrwe.response import progression_dates, recorded_progression_dates

    recorded = recorded_progression_dates(
        lines,
        cohort.responses,
        cohort.patients,
        config.response,
        car_t_index=config.lines.car_t_index,
    )
    return all_progression(progression_dates(line_response), recorded)


def _refractoriness(
    lot: LinesOfTherapy, progression: pl.DataFrame, best: pl.DataFrame | None, config: StudyConfig
) -> pl.DataFrame:
    """The ``lines`` table with its refractory and exposure flags."""
    from mmrwe.lines import derive_refractoriness

    return derive_refractoriness(
        lot.lines, lot.line_exposures, progression, best, rules=config.lines
    )


def _endpoints(
    cohort: Cohort, out: dict[str, pl.DataFrame], config: StudyConfig
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """PFS, OS, TTNT, DOR, TTR and TTD per line, and their ADaM ADTTE form."""
    from mmrwe.endpoints import derive_endpoints, to_adtte

    endpoints = derive_endpoints(
        out["lines"],
        out["line_exposures"],
        out["line_response"],
        out["assessments"],
        cohort.responses,
        cohort.patients,
        config.endpoints,
        car_t_index=config.lines.car_t_index,
        data_cutoff=config.study.data_cutoff,
    )
    return endpoints, to_adtte(endpoints, study_id=config.study.name)


def _adrs(out: dict[str, pl.DataFrame], config: StudyConfig) -> pl.DataFrame:
    """The ADaM response dataset (IMWG; per assessment and per line)."""
    from mmrwe.adam import to_adrs

    return to_adrs(
        out["assessments"],
        out["line_response"],
        study_id=config.study.name,
        responders=config.endpoints.responder_categories,
    )


def _adsl(cohort: Cohort, analysis_lines: pl.DataFrame, config: StudyConfig) -> pl.DataFrame:
    """The ADaM subject-level dataset: every patient of the partition, the analysed flagged."""
    from mmrwe.adam import to_adsl

    return to_adsl(
        cohort.patients,
        analysis_lines,
        study_id=config.study.name,
        data_cutoff=config.study.data_cutoff,
    )


def _population(
    cohort: Cohort, lines: pl.DataFrame, config: StudyConfig
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The analysed lines of the study (without their analysis group) and the selection's
    attrition steps."""
    from mmrwe.study.select import select_population

    return select_population(
        lines,
        cohort.patients,
        config.study,
        config.population,
        car_t_index=config.lines.car_t_index,
        groups=False,
    )
