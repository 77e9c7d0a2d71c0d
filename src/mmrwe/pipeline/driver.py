"""The one partitioning mechanism: a cohort cut into partitions of whole patients, each run
through :func:`~mmrwe.pipeline.partition.analyse_partition`, the results combined.

Memory is bounded by the partition size: ``workers`` partitions are analysed at a time in
threads (the stages release the GIL in Polars and the compiled kernels), each partition's
patient-level tables are handed to ``sink`` in one background thread while the next partitions
are analysed, and only what the summaries read is kept. Results are taken in partition order, so
the output does not depend on the partition size or the number of workers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

from mmrwe.errors import check_parameter
from mmrwe.io.attrition import ATTRITION_TABLE
from mmrwe.io.cohort import COHORT_SCHEMAS, Cohort
from mmrwe.pipeline.kept import KeptTables
from mmrwe.pipeline.partition import (
    PartitionResult,
    Stage,
    analyse_partition,
    partition_cohort,
    tables_of,
)
from mmrwe.timing import StageTimer
from mmrwe.vocab import Vocabulary
from mmrwe.vocab.mapping import UNMAPPED_DRUGS_TABLE

if TYPE_CHECKING:  # typing only: importing the rules would load the compiled stages
    from mmrwe.study.config import StudyConfig

#: patients per partition (memory is bounded by it)
DEFAULT_PARTITION = 10_000
#: partitions analysed at the same time, in threads
DEFAULT_WORKERS = 2

#: the endpoint columns the summaries and the report read (the rest is in the written table)
KEPT_ENDPOINT_COLUMNS = ("patient_id", "line", "endpoint", "time_days", "time_months", "event")
#: the line response columns the summaries read (response rates)
KEPT_RESPONSE_COLUMNS = ("patient_id", "line", "best_response")
#: the text columns of ``analysis_lines`` no summary or figure reads: kept on disk only (they
#: are half its memory), written to the output table from there
UNSUMMARISED_COLUMNS = ("start_rule", "drugs", "drug_classes", "maintenance")

Sink = Callable[[str, pl.DataFrame], None]
#: one partition's cohort tables (every row of some patients), as a source hands them
Tables = Mapping[str, pa.Table | pl.DataFrame]


@dataclass
class AnalysedPopulation:
    """What the chain keeps of all partitions: the analysed lines (in memory, with their
    groups, without :data:`UNSUMMARISED_COLUMNS`; whole by :meth:`analysis_line_parts`), and on
    disk (:class:`KeptTables`, read back on demand) their patient-level results that the
    summaries and figures read (``endpoints`` with :data:`KEPT_ENDPOINT_COLUMNS` only,
    ``line_response`` with :data:`KEPT_RESPONSE_COLUMNS` only, ``adverse_events``,
    ``patients``; empty when the chain stopped before ``population``); the combined unmapped drugs and attrition, rows per patient-level table, a
    few tallies and timings."""

    analysis_lines: pl.DataFrame
    kept: KeptTables
    unmapped_drugs: pl.DataFrame
    attrition: pl.DataFrame
    counts: dict[str, int]
    timings: dict[str, float]
    #: patients with at least one line of therapy
    patients_with_lines: int = 0
    #: lines per ``line_response.response_source`` (labs, physician, none), sorted by source
    response_sources: dict[str, int] = field(default_factory=dict)

    def analysis_line_parts(self) -> Iterator[pl.DataFrame]:
        """The whole ``analysis_lines`` table, every column, one partition at a time (with the
        groups of :attr:`analysis_lines`)."""
        from mmrwe.study.select import attach_groups

        if "analysis_lines" not in self.kept:
            yield self.analysis_lines
            return
        offset = 0
        for part in self.kept.parts("analysis_lines"):
            groups = self.analysis_lines.slice(offset, part.height)
            offset += part.height
            yield attach_groups(part, groups)

    @property
    def endpoints(self) -> pl.DataFrame:
        """The analysed lines' endpoints (read from disk at each use)."""
        return self.kept.read("endpoints")

    @property
    def line_response(self) -> pl.DataFrame:
        """The analysed lines' best responses (:data:`KEPT_RESPONSE_COLUMNS`; read from disk at
        each use)."""
        return self.kept.read("line_response")

    @property
    def adverse_events(self) -> pl.DataFrame:
        """The analysed patients' adverse events (read from disk at each use)."""
        return self.kept.read("adverse_events")

    @property
    def patients(self) -> pl.DataFrame:
        """The analysed patients' rows of the patients table (read from disk at each use)."""
        return self.kept.read("patients")


def cohort_partitions(cohort: Cohort, size: int) -> Iterator[Cohort]:
    """Consecutive partitions of at most ``size`` whole patients (every table sliced by
    patient; the tables are sorted by patient, as :func:`mmrwe.io.read_cohort` returns them)."""
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
    columns = list(ATTRITION_TABLE.columns)
    if not tables:
        return ATTRITION_TABLE.empty()
    stacked = pl.concat([t.select(columns) for t in tables])
    return (
        stacked.group_by("step", maintain_order=True)
        .agg(
            pl.col("patients_before", "patients_excluded", "patients_after", "rows_excluded").sum(),
            pl.col("reason").first(),
        )
        .sort("step")
        .select(columns)
    )


def sum_unmapped(tables: list[pl.DataFrame]) -> pl.DataFrame:
    """Partitions' unmapped drug names added up (patients are disjoint across partitions)."""
    if not tables:
        return UNMAPPED_DRUGS_TABLE.empty()
    return (
        pl.concat(tables)
        .group_by("drug")
        .agg(pl.col("rows", "patients").sum())
        .sort(["rows", "drug"], descending=[True, False], nulls_last=True)
        .select(UNMAPPED_DRUGS_TABLE.columns)
    )


class _Kept:
    """What is kept of each partition while the patient-level tables are written away: the
    analysed lines in memory, their patient-level results on disk (:class:`KeptTables`)."""

    def __init__(self, stop_after: Stage, workdir: Path | None = None) -> None:
        self.counts = dict.fromkeys(tables_of(stop_after), 0)
        self.sources: dict[str, int] = {}
        self.with_lines = 0
        self.analysis_lines: list[pl.DataFrame] = []
        self.unmapped: list[pl.DataFrame] = []
        self.attrition: list[pl.DataFrame] = []
        self.tables = KeptTables(workdir)

    def add(self, part: Cohort, result: PartitionResult) -> None:
        tables = result.tables
        for name in self.counts:
            self.counts[name] += tables[name].height
        self.with_lines += tables["lines"]["patient_id"].n_unique()
        if "line_response" in tables:
            for source, n in tables["line_response"]["response_source"].value_counts().rows():
                self.sources[source] = self.sources.get(source, 0) + n
        self.unmapped.append(result.unmapped_drugs)
        self.attrition.append(result.attrition)
        if result.analysis_lines is not None:
            keys = result.analysis_lines.select("patient_id", "line")
            on = ["patient_id", "line"]
            kept = self.tables
            kept.append("analysis_lines", result.analysis_lines)
            narrow = result.analysis_lines.drop(UNSUMMARISED_COLUMNS, strict=False)
            self.analysis_lines.append(narrow)
            endpoints = tables["endpoints"].select(KEPT_ENDPOINT_COLUMNS)
            kept.append("endpoints", endpoints.join(keys, on=on, how="semi"))
            response = tables["line_response"].select(KEPT_RESPONSE_COLUMNS)
            kept.append("line_response", response.join(keys, on=on, how="semi"))
            ae = part.adverse_events.join(keys, on="patient_id", how="semi")
            kept.append("adverse_events", ae)
            kept.append("patients", part.patients.join(keys, on="patient_id", how="semi"))

    def population(self, config: StudyConfig, timings: dict[str, float]) -> AnalysedPopulation:
        analysis_lines = pl.DataFrame()
        if self.analysis_lines:
            from mmrwe.study.select import assign_groups

            analysis_lines = assign_groups(pl.concat(self.analysis_lines), config.study)
        return AnalysedPopulation(
            analysis_lines=analysis_lines,
            kept=self.tables,
            unmapped_drugs=sum_unmapped(self.unmapped),
            attrition=sum_attrition(self.attrition),
            counts=self.counts,
            timings=timings,
            patients_with_lines=self.with_lines,
            response_sources=dict(sorted(self.sources.items())),
        )


def analyse_cohort(
    cohort: Cohort,
    config: StudyConfig,
    vocabulary: Vocabulary,
    sink: Sink,
    *,
    stop_after: Stage = "population",
    partition_size: int = DEFAULT_PARTITION,
    workers: int = DEFAULT_WORKERS,
    on_progress: Callable[[int], None] | None = None,
) -> AnalysedPopulation:
    """Run the chain up to ``stop_after`` on a cohort in memory, partition by partition
    (``partition_size`` whole patients each): :func:`analyse_partitions` of
    :func:`cohort_partitions`."""
    check_partition_size(partition_size, "analyse_cohort")
    parts = (
        {n: p.table(n) for n in COHORT_SCHEMAS} for p in cohort_partitions(cohort, partition_size)
    )
    return analyse_partitions(
        parts,
        config,
        vocabulary,
        sink,
        stop_after=stop_after,
        workers=workers,
        on_progress=on_progress,
    )


def check_partition_size(partition_size: int, owner: str) -> None:
    """A partition size must be a whole number of patients of at least 1."""
    check_parameter(
        isinstance(partition_size, int)
        and not isinstance(partition_size, bool)
        and partition_size >= 1,
        "partition_size",
        owner,
        "a whole number of patients of at least 1",
        partition_size,
    )


def prefetched(parts: Iterable[Tables], timer: StageTimer, name: str) -> Iterator[Tables]:
    """``parts`` read one ahead in a background thread (reading partition k+1 while k is
    analysed), the thread's busy seconds added to ``timer`` as ``name``. An error while
    reading is raised where the partition would have been taken."""
    box: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def read() -> None:
        it = iter(parts)
        try:
            while not stop.is_set():
                t = time.perf_counter()
                part = next(it, None)
                timer.add(name, time.perf_counter() - t)
                if part is None:
                    break
                box.put(("part", part))
            box.put(("end", None))
        except BaseException as exc:  # handed to the consumer
            box.put(("error", exc))

    thread = threading.Thread(target=read, name="mmrwe-reader", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = box.get()
            if kind == "end":
                return
            if kind == "error":
                assert isinstance(value, BaseException)
                raise value
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        while thread.is_alive():  # unblock a reader waiting to put
            with contextlib.suppress(queue.Empty):
                box.get(timeout=0.05)
        thread.join()


def analyse_partitions(
    parts: Iterable[Tables],
    config: StudyConfig,
    vocabulary: Vocabulary,
    sink: Sink,
    *,
    stop_after: Stage = "population",
    workers: int = DEFAULT_WORKERS,
    on_progress: Callable[[int], None] | None = None,
    workdir: Path | None = None,
) -> AnalysedPopulation:
    """Run the chain up to ``stop_after`` on each partition of ``parts`` (the cohort tables of
    whole patients, e.g. :meth:`mmrwe.io.stream.CohortSource.partitions`), ``workers`` at a
    time; hand each partition's patient-level tables to ``sink(name, table)`` in partition
    order; return what is kept. ``on_progress`` is advanced by the patients done; ``workdir``:
    where the kept rows are written (a run's staging folder; default: the system's temporary
    directory)."""
    kept = _Kept(stop_after, workdir)
    timer = StageTimer()
    names = tables_of(stop_after)

    def analyse(tables: Tables) -> tuple[Cohort, PartitionResult]:
        part = partition_cohort(tables)
        tables = {n: part.table(n) for n in COHORT_SCHEMAS}
        return part, analyse_partition(tables, config, vocabulary, stop_after=stop_after)

    def write(tables: dict[str, pl.DataFrame]) -> None:
        for name in names:
            sink(name, tables[name])

    with (
        ThreadPoolExecutor(max_workers=1) as writer,
        ThreadPoolExecutor(max_workers=workers) as analysts,
    ):
        pending: Future[None] | None = None
        running: deque[Future[tuple[Cohort, PartitionResult]]] = deque()
        source = iter(parts)
        while True:
            while len(running) < workers and (tables := next(source, None)) is not None:
                running.append(analysts.submit(analyse, tables))
            if not running:
                break
            part, result = running.popleft().result()  # in partition order
            timer.merge(result.timings)
            with timer.stage("waiting_for_writes"):
                if pending is not None:
                    pending.result()  # the previous partition is written; memory holds one
            pending = writer.submit(write, result.tables)
            kept.add(part, result)
            if on_progress is not None:
                on_progress(part.n_patients)
        if pending is not None:
            pending.result()
    return kept.population(config, timer.seconds)
