"""The whole analysis of a study, patient partition by patient partition.

Every patient-level stage is a function from the tables of one partition of patients to tables
(lines → response → refractoriness → endpoints → population); partitions are independent, so
memory is bounded by the partition size and the same functions could run in a distributed
engine. Patient-level results are handed to a ``sink`` partition by partition (the run writes
them out); what the summaries need (the analysed lines with their endpoints, responses and
adverse events) is kept and returned.
"""

from __future__ import annotations

import dataclasses
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from mmrwe.io.attrition import ATTRITION_SCHEMA
from mmrwe.io.cohort import COHORT_SCHEMAS, Cohort
from mmrwe.vocab import Vocabulary

if TYPE_CHECKING:  # typing only: importing the rules would load the compiled stages
    from mmrwe.study.config import StudyConfig

#: patients per partition of the run (memory is bounded by it)
DEFAULT_PARTITION = 25_000
#: partitions analysed at the same time, in threads (the stages release the GIL in Polars and
#: the compiled kernels); results are taken in partition order, so the output does not change
DEFAULT_WORKERS = 2

#: patient-level tables every partition produces, in the order they are written
PATIENT_TABLES = ("lines", "line_exposures", "assessments", "line_response", "endpoints", "adtte")

Sink = Callable[[str, pl.DataFrame], None]


@dataclass
class AnalysedPopulation:
    """What the summaries read: the analysed lines and their patient-level results."""

    analysis_lines: pl.DataFrame
    endpoints: pl.DataFrame
    line_response: pl.DataFrame
    adverse_events: pl.DataFrame
    patients: pl.DataFrame
    unmapped_drugs: pl.DataFrame
    attrition: pl.DataFrame
    counts: dict[str, int]
    timings: dict[str, float]


def cohort_partitions(cohort: Cohort, size: int) -> Iterator[Cohort]:
    """Consecutive partitions of at most ``size`` patients (every table sliced by patient)."""
    ids = cohort.patients["patient_id"]
    for lo in range(0, max(ids.len(), 1), size):
        part_ids = ids.slice(lo, size)
        if part_ids.is_empty():
            yield cohort
            return
        first, last = part_ids[0], part_ids[-1]
        tables = {}
        for name in COHORT_SCHEMAS:
            table = cohort.table(name)
            column = table["patient_id"]
            start = column.search_sorted(first, side="left")
            stop = column.search_sorted(last, side="right")
            tables[name] = table.slice(start, stop - start)
        yield dataclasses.replace(cohort, **tables)


def sum_attrition(tables: list[pl.DataFrame]) -> pl.DataFrame:
    """Partitions' attrition tables of the same steps added up step by step."""
    stacked = pl.concat([t.select(list(ATTRITION_SCHEMA)) for t in tables])
    return (
        stacked.group_by("step", maintain_order=True)
        .agg(
            pl.col("patients_before", "patients_excluded", "patients_after", "rows_excluded").sum(),
            pl.col("reason").first(),
        )
        .sort("step")
        .select(list(ATTRITION_SCHEMA))
    )


def analyse_partition(
    cohort: Cohort,
    study: StudyConfig,
    vocabulary: Vocabulary,
    timings: dict[str, float] | None = None,
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Patient-level tables of one partition, its analysed lines, unmapped drugs and attrition.

    ``timings`` (optional) accumulates the seconds of each stage."""
    from mmrwe.endpoints import derive_endpoints, to_adtte
    from mmrwe.io.attrition import chain_attrition
    from mmrwe.lines import (
        all_progression,
        derive_lines_of_therapy,
        derive_refractoriness,
        recorded_progression,
    )
    from mmrwe.response import derive_assessments, derive_line_response, progression_dates
    from mmrwe.response.attrition import response_attrition
    from mmrwe.study.select import select_population

    clock = _Clock(timings)
    car_t_index = study.lines.car_t_index
    result = derive_lines_of_therapy(cohort, study.lines, vocabulary=vocabulary)
    clock("lines")
    assessments = derive_assessments(
        cohort.labs, result.lines, study.response, car_t_index=car_t_index
    )
    line_response = derive_line_response(
        assessments,
        result.lines,
        cohort.responses,
        cohort.patients,
        study.response,
        car_t_index=car_t_index,
    )
    clock("response")
    progression = all_progression(
        progression_dates(line_response), recorded_progression(cohort.responses)
    )
    lines = derive_refractoriness(
        result.lines,
        result.line_exposures,
        progression,
        line_response.select("patient_id", "line", "best_response"),
        rules=study.lines,
    )
    clock("refractoriness")
    endpoints = derive_endpoints(
        lines,
        result.line_exposures,
        line_response,
        assessments,
        cohort.responses,
        cohort.patients,
        study.endpoints,
        car_t_index=car_t_index,
        data_cutoff=study.study.data_cutoff,
    )
    adtte = to_adtte(endpoints, study_id=study.study.name)
    clock("endpoints")
    analysis_lines, selection = select_population(
        lines, cohort.patients, study.study, study.population, car_t_index=car_t_index, groups=False
    )
    attrition = chain_attrition(
        result.attrition,
        response_attrition(cohort.labs, result.lines, line_response),
        selection,
    )
    clock("population")
    tables = {
        "lines": lines,
        "line_exposures": result.line_exposures,
        "assessments": assessments,
        "line_response": line_response,
        "endpoints": endpoints,
        "adtte": adtte,
    }
    return tables, analysis_lines, result.unmapped_drugs, attrition


class _Clock:
    """Adds the seconds since the previous call to ``timings[stage]``."""

    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings, self.t = timings, time.perf_counter()

    def __call__(self, stage: str) -> None:
        now = time.perf_counter()
        if self.timings is not None:
            self.timings[stage] = self.timings.get(stage, 0.0) + now - self.t
        self.t = now


def analyse_cohort(
    cohort: Cohort,
    study: StudyConfig,
    vocabulary: Vocabulary,
    sink: Sink,
    *,
    partition_size: int = DEFAULT_PARTITION,
    workers: int = DEFAULT_WORKERS,
    on_progress: Callable[[int], None] | None = None,
) -> AnalysedPopulation:
    """Run every patient-level stage partition by partition; hand each partition's patient-level
    tables to ``sink``; return what the summaries need.

    ``sink`` runs in one background thread, in partition order, while the next partition is
    analysed (writing overlaps computing); at most one partition waits to be written."""
    analysed, endpoints, responses, events, unmapped, attrition = [], [], [], [], [], []
    counts = dict.fromkeys(PATIENT_TABLES, 0)
    timings: dict[str, float] = {}

    def write(tables: dict[str, pl.DataFrame]) -> None:
        for name in PATIENT_TABLES:
            sink(name, tables[name])

    def analyse(part: Cohort) -> tuple[Cohort, tuple, dict[str, float]]:
        own: dict[str, float] = {}
        return part, analyse_partition(part, study, vocabulary, own), own

    with (
        ThreadPoolExecutor(max_workers=1) as writer,
        ThreadPoolExecutor(max_workers=workers) as analysts,
    ):
        pending: Future[None] | None = None
        running: deque[Future] = deque()
        parts = cohort_partitions(cohort, partition_size)
        while True:
            while len(running) < workers and (part := next(parts, None)) is not None:
                running.append(analysts.submit(analyse, part))
            if not running:
                break
            part, result, own = running.popleft().result()  # in partition order
            tables, analysis_lines, unmapped_part, attrition_part = result
            for stage, seconds in own.items():
                timings[stage] = timings.get(stage, 0.0) + seconds
            t0 = time.perf_counter()
            if pending is not None:
                pending.result()  # the previous partition is written; memory holds one
            timings["waiting_for_writes"] = (
                timings.get("waiting_for_writes", 0.0) + time.perf_counter() - t0
            )
            pending = writer.submit(write, tables)
            for name in PATIENT_TABLES:
                counts[name] += tables[name].height
            _keep(part, tables, analysis_lines, analysed, endpoints, responses, events)
            unmapped.append(unmapped_part)
            attrition.append(attrition_part)
            if on_progress is not None:
                on_progress(part.n_patients)
        if pending is not None:
            pending.result()
    unmapped_drugs = (
        pl.concat(unmapped)
        .group_by("drug")
        .agg(pl.col("rows", "patients").sum())
        .sort(["rows", "drug"], descending=[True, False])
    )
    from mmrwe.study.select import assign_groups

    analysis_lines = assign_groups(pl.concat(analysed), study.study)
    ids = analysis_lines.select("patient_id").unique()
    return AnalysedPopulation(
        analysis_lines=analysis_lines,
        endpoints=pl.concat(endpoints),
        line_response=pl.concat(responses),
        adverse_events=pl.concat(events),
        patients=cohort.patients.join(ids, on="patient_id", how="semi"),
        unmapped_drugs=unmapped_drugs,
        attrition=sum_attrition(attrition),
        counts=counts,
        timings=timings,
    )


def _keep(
    part: Cohort,
    tables: dict[str, pl.DataFrame],
    analysis_lines: pl.DataFrame,
    analysed: list[pl.DataFrame],
    endpoints: list[pl.DataFrame],
    responses: list[pl.DataFrame],
    events: list[pl.DataFrame],
) -> None:
    """Keep what the summaries read of one partition: its analysed lines and their results."""
    keys = analysis_lines.select("patient_id", "line")
    analysed.append(analysis_lines)
    endpoints.append(tables["endpoints"].join(keys, on=["patient_id", "line"], how="semi"))
    responses.append(tables["line_response"].join(keys, on=["patient_id", "line"], how="semi"))
    events.append(part.adverse_events.join(keys, on="patient_id", how="semi"))
