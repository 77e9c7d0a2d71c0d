"""The Spark engine: the patient-level chain as Spark tasks over buckets of whole patients.

The driver reads and validates the cohort exactly as the local engine does (same checks, same
messages, same attrition) and writes it as Parquet files in buckets of whole patients (the
local engine's consecutive partitions, :func:`~mmrwe.pipeline.cohort_partitions`). Spark runs
one task per bucket (``mapInArrow`` over the bucket numbers): the task reads its bucket's files,
calls :func:`~mmrwe.pipeline.analyse_partition` and writes each patient-level table's part
straight into the run directory, and what the summaries read into the engine's working folder
(:mod:`mmrwe.engine.wire`, :mod:`mmrwe.engine.call`). The driver then reads those parts and
takes the analysis-wide decisions as the local engine takes them (``assign_groups``,
``sum_attrition``, ``sum_unmapped``).

Faults: every file is written aside and renamed into place, one per table and bucket, so a task
retried after a failure (or run twice speculatively) replaces its files with the same rows and
duplicates nothing; a mapping or validation error in a call comes back in the call's status row
and is raised on the driver with the local engine's message (:mod:`mmrwe.engine.call`).
"""

from __future__ import annotations

import math
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import polars as pl

from mmrwe.engine.call import BucketCall, FailOnce, raise_error
from mmrwe.engine.wire import STATUS_DDL, STATUS_SCHEMA, BucketFiles, output_schemas
from mmrwe.errors import MmrweError
from mmrwe.io.cohort import COHORT_SCHEMAS, Cohort
from mmrwe.pipeline import (
    AnalysedPopulation,
    KeptTables,
    Stage,
    cohort_partitions,
    sum_attrition,
    sum_unmapped,
    tables_of,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from mmrwe.io.output import OutputDirectory
    from mmrwe.study.config import StudyConfig
    from mmrwe.vocab import Vocabulary

#: patients per call of the chain (a bucket), above two buckets per core
PATIENTS_PER_BUCKET = 5_000
#: the JVM's largest heap in local mode. For a cohort folder it only schedules the tasks (the
#: cohort crosses as files) and stays far below it; a source read through Spark
#: (``omop+spark://``, ``native+spark://``) collects its rows through it. The heap grows only as
#: needed, so the machine's memory stays for the driver's Python (the validated cohort) and the
#: Python workers (one bucket each)
LOCAL_MEMORY = "4g"
#: rows per Parquet file of a bucket's cohort table
ROWS_PER_FILE = 1_000_000


class SparkEngineError(MmrweError):
    """Spark could not be started, or a task failed for a reason other than the data."""


@dataclass
class SparkEngine:
    """Runs the patient-level chain on Spark. ``master``: a Spark master URL (default: the
    active session's, else ``local[*]``); ``session``: an existing SparkSession (Databricks,
    tests); ``buckets``: calls of the chain (default from the number of patients);
    ``rows_per_file``: rows per Parquet file handed to Spark; ``fail_once``: fault injection
    for tests."""

    master: str | None = None
    session: Any = None
    buckets: int | None = None
    rows_per_file: int = ROWS_PER_FILE
    fail_once: FailOnce | None = None
    name: ClassVar[str] = "spark"
    used_buckets: int = field(default=0, init=False)

    def spark(self) -> SparkSession:
        """The SparkSession: the one given, the active one, or a new one on ``master``."""
        if self.session is None:
            self.session = start_session(self.master)
        return self.session

    def start(self) -> None:
        """Start (or find) the SparkSession, so that a source read through Spark
        (``omop+spark://``) uses this engine's master."""
        self.spark()

    def manifest(self) -> dict[str, object]:
        """The manifest's record of the engine: its name, Spark's version and master."""
        spark = self.spark()
        return {
            "engine": self.name,
            "spark_version": spark.version,
            "spark_master": spark.sparkContext.master,
            "spark_buckets": self.used_buckets,
        }

    def analyse(
        self,
        cohort: Cohort,
        config: StudyConfig,
        vocabulary: Vocabulary,
        output: OutputDirectory,
        *,
        stop_after: Stage = "population",
        partition_size: int | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> AnalysedPopulation:
        """The chain up to ``stop_after`` on Spark; each patient-level table written into
        ``output`` as a folder of Parquet parts; what the summaries read returned as the local
        engine returns it. ``partition_size`` is the local engine's and is not used."""
        timings: dict[str, float] = {}
        with _timed(timings, "spark_start"):
            spark = self.spark()
        n = cohort.n_patients
        self.used_buckets = self.buckets or max(
            2 * spark.sparkContext.defaultParallelism, math.ceil(n / PATIENTS_PER_BUCKET)
        )
        published = {name: output.file(name) for name in tables_of(stop_after)}
        files = BucketFiles(output.file("_spark"), published)
        try:
            with _timed(timings, "spark_input"):
                buckets = write_buckets(cohort, files, self.used_buckets, self.rows_per_file)
                self.used_buckets = buckets  # fewer when the patients are fewer
            with _timed(timings, "spark_chain"), python_errors():
                call = BucketCall(config, vocabulary, stop_after, files, self.fail_once)
                status = run_calls(spark, call, buckets)
            _raise_first_error(status)
            with _timed(timings, "spark_collect"):
                schemas = output_schemas(config, stop_after)
                returned = {t: files.read(t, s) for t, s in schemas.items() if t not in published}
        finally:
            shutil.rmtree(files.work, ignore_errors=True)
        if on_progress is not None:
            on_progress(n)
        analysed = population(returned, cohort, config, stop_after, timings)
        for name, count in analysed.counts.items():  # exact counts: patient-level manifest
            output.outputs(name)[name] = count
        return analysed


def write_buckets(cohort: Cohort, files: BucketFiles, buckets: int, rows_per_file: int) -> int:
    """The cohort as at most ``buckets`` buckets of whole patients (consecutive, as the local
    engine's partitions), written as Parquet parts; the number of buckets written."""
    size = max(1, math.ceil(cohort.n_patients / buckets))
    written = 0
    for part in cohort_partitions(cohort, size):
        tables = {name: part.table(name) for name in COHORT_SCHEMAS}
        files.write_input(written, tables, rows_per_file)
        written += 1
    return written


def run_calls(spark: SparkSession, call: BucketCall, buckets: int) -> pl.DataFrame:
    """One Spark task per bucket, each calling the chain on its bucket; their status rows."""
    numbers = spark.range(0, buckets, 1, buckets)  # one bucket number per task
    rows = numbers.mapInArrow(call.function(), STATUS_DDL).toArrow()
    status = pl.from_arrow(rows)
    assert isinstance(status, pl.DataFrame)
    return status.cast(STATUS_SCHEMA)  # type: ignore[arg-type]


def start_session(master: str | None) -> SparkSession:
    """The active SparkSession when no master is named (Databricks, a notebook), else a new
    one; a clear error when pyspark or Java is missing."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as error:
        raise SparkEngineError(
            "The Spark engine needs pyspark: install mmrwe with its Spark extra, "
            "pip install 'mmrwe[spark]'."
        ) from error
    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        return active
    builder = SparkSession.builder.appName("mmrwe")
    if master is None and "PYSPARK_GATEWAY_PORT" in os.environ:
        pass  # under spark-submit: its master and configuration
    else:
        builder = builder.master(master or "local[*]")
    if (master or "local").startswith("local"):  # this machine: its Python, few shuffle tasks
        builder = (
            builder.config("spark.pyspark.python", sys.executable)
            .config("spark.driver.memory", LOCAL_MEMORY)  # local mode: the executors' too
            .config("spark.driver.maxResultSize", "2g")
            .config("spark.sql.shuffle.partitions", "8")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
        )
    try:
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("FATAL")  # errors reach the user as mmrwe's messages
        return session
    except Exception as error:
        raise SparkEngineError(
            f"Spark could not start on master {master or 'local[*]'!r}: {error}. The Spark "
            "engine needs Java 17 or later (java on the PATH, or JAVA_HOME)."
        ) from error


@contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - start


def _first_line(error: Exception) -> str:
    """The first line of a Py4J error's message (the JVM's stack trace follows it)."""
    lines = [t.strip(" :") for t in str(error).splitlines() if t.strip(" :")]
    return " ".join(lines[:2])[:300]


@contextmanager
def python_errors() -> Iterator[None]:
    """A task that failed in Python (after Spark's retries) as one clear error naming the
    Python exception, not a JVM stack trace."""
    from py4j.protocol import Py4JError
    from pyspark.errors import PythonException

    try:
        yield
    except (Py4JError, ConnectionError) as error:  # py4j retries a lost JVM: connection refused
        raise SparkEngineError(
            "Spark stopped during the patient-level chain (its JVM failed or was killed, most "
            "often out of memory): give Spark more memory (spark.driver.memory in local mode, executor "
            f"memory on a cluster) or more buckets. Spark said: {_first_line(error)}"
        ) from None
    except PythonException as error:
        lines = str(error).splitlines()
        last = next((t for t in reversed(lines) if re.match(r"[\w.]+(Error|Exception)\b", t)), "")
        last = last or next((t for t in reversed(lines) if t.strip()), str(error))
        raise SparkEngineError(f"A Spark task of the patient-level chain failed: {last}") from None


def _raise_first_error(status: pl.DataFrame) -> None:
    """Raise the error of the lowest bucket whose call returned one (deterministic)."""
    errors = status.filter(pl.col("message").is_not_null()).sort("bucket")
    if errors.height:
        raise_error(errors["message"][0], errors["pickled"][0])


def population(
    returned: dict[str, pl.DataFrame],
    cohort: Cohort,
    config: StudyConfig,
    stop_after: Stage,
    timings: dict[str, float],
) -> AnalysedPopulation:
    """What the summaries read, from the tables the calls returned (in bucket order: the
    local engine's order), combined as the local engine combines its partitions (analysis
    groups on the whole analysed population)."""
    from mmrwe.study.select import assign_groups

    empty = pl.DataFrame()
    lines, endpoints, line_response = empty, empty, empty
    adverse_events, patients = empty, cohort.patients.clear()
    if stop_after == "population":
        lines = assign_groups(returned["analysis_lines"], config.study)
        endpoints = returned["kept_endpoints"]
        line_response = returned["kept_line_response"]
        ids = lines.select("patient_id").unique()
        patients = cohort.patients.join(ids, on="patient_id", how="semi")
        keys = lines.select("patient_id", "line")
        adverse_events = cohort.adverse_events.join(keys, on="patient_id", how="semi")
    counts = _sums(returned["counts"], "name", "n")
    return AnalysedPopulation(
        analysis_lines=lines,
        kept=KeptTables.in_memory(
            {
                "endpoints": endpoints,
                "line_response": line_response,
                "adverse_events": adverse_events,
                "patients": patients,
            }
        ),
        unmapped_drugs=sum_unmapped([returned["unmapped_drugs"]]),
        attrition=sum_attrition([returned["attrition"]]),
        counts={name: int(counts.get(f"rows:{name}", 0)) for name in tables_of(stop_after)},
        timings=_sums(returned["timings"], "stage", "seconds") | timings,
        patients_with_lines=int(counts.get("patients_with_lines", 0)),
        response_sources={
            k.removeprefix("source:"): int(v)
            for k, v in sorted(counts.items())
            if k.startswith("source:")
        },
    )


def _sums(rows: pl.DataFrame, key: str, value: str) -> dict[str, float]:
    """A tally summed over the calls, by key."""
    summed = rows.group_by(key, maintain_order=True).agg(pl.col(value).sum())
    return dict(summed.sort(key).rows())
