"""The Spark engine: the patient-level chain as Arrow UDFs over buckets of whole patients.

The driver reads and validates the cohort exactly as the local engine does (same checks, same
messages, same attrition) and hands its typed tables to Spark. Spark buckets the patients
(``pmod(xxhash64(patient_id), buckets)``: a stable hash, so every row of a patient, whichever
file it came from, lands in one bucket), groups the five tables' rows by bucket and calls
:func:`~mmrwe.pipeline.analyse_partition` once per bucket (``applyInArrow``, the tables crossing
as one tagged union, :mod:`mmrwe.engine.wire`). The union of the results is written once by
Spark (partitioned by table); each patient-level table is then published from it as its own
partitioned Parquet folder, and the few tables the summaries read come back to the driver, where
the analysis-wide decisions are taken as the local engine takes them (``assign_groups``,
``sum_attrition``, ``sum_unmapped``).

Faults: every write goes through Spark's file commit protocol (a task attempt writes to its own
temporary files, committed only when the task succeeds), so a task retried after a failure
leaves no duplicate rows; a mapping or validation error in a call comes back as data and is
raised on the driver with the local engine's message (:mod:`mmrwe.engine.call`).
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
from functools import reduce
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import polars as pl

from mmrwe.engine.call import BucketCall, FailOnce, raise_error
from mmrwe.engine.wire import (
    BUCKET,
    KEPT_GROUPS,
    ROW,
    SEPARATOR,
    TAG,
    column,
    from_union,
    input_schemas,
    output_schemas,
    spark_schema,
    union_schema,
)
from mmrwe.errors import MmrweError
from mmrwe.io.cohort import Cohort
from mmrwe.pipeline import (
    AnalysedPopulation,
    KeptTables,
    Stage,
    sum_attrition,
    sum_unmapped,
    tables_of,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from mmrwe.io.output import OutputDirectory
    from mmrwe.study.config import StudyConfig
    from mmrwe.vocab import Vocabulary

#: patients per call of the chain (a bucket), above two buckets per core
PATIENTS_PER_BUCKET = 5_000
#: the JVM's memory in local mode (Spark's default of 1 GB fails from about 50,000 patients)
LOCAL_MEMORY = "4g"
#: rows per Parquet file of the cohort handed to Spark
ROWS_PER_FILE = 1_000_000
#: the tables the driver reads back (besides the analysed lines and their kept rows)
DRIVER_TAGS = ("analysis_lines", *KEPT_GROUPS, "unmapped_drugs", "attrition", "counts")
DRIVER_TAGS += ("timings", "error")


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
        work = output.file("_spark")
        n = cohort.n_patients
        self.used_buckets = self.buckets or max(
            2 * spark.sparkContext.defaultParallelism, math.ceil(n / PATIENTS_PER_BUCKET)
        )
        try:
            with _timed(timings, "spark_input"), python_errors():
                frame = cohort_frame(spark, cohort, work / "input", self.used_buckets, self)
            with _timed(timings, "spark_chain"), python_errors():
                union = self._run(frame, config, vocabulary, stop_after, work / "union")
            with _timed(timings, "spark_collect"), python_errors():
                driver = _collect(spark, union)
            _raise_first_error(driver)
            with _timed(timings, "spark_publish"), python_errors():
                for name in tables_of(stop_after):
                    publish(spark, union, name, output, config, stop_after)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if on_progress is not None:
            on_progress(n)
        analysed = population(driver, cohort, config, stop_after, timings)
        for name, count in analysed.counts.items():  # exact counts: patient-level manifest
            output.outputs(name)[name] = count
        return analysed

    def _run(
        self,
        frame: DataFrame,
        config: StudyConfig,
        vocabulary: Vocabulary,
        stop_after: Stage,
        path: Path,
    ) -> str:
        """Run the chain on every bucket; write the union of the results, partitioned by
        table; return where."""
        from pyspark.sql.pandas.types import to_arrow_schema

        schema = spark_schema(union_schema(output_schemas(config, stop_after)))
        call = BucketCall(config, vocabulary, stop_after, to_arrow_schema(schema), self.fail_once)
        result = frame.groupBy(BUCKET).applyInArrow(call.function(), schema)
        target = spark_path(path)
        result.write.partitionBy(TAG).parquet(target)
        return target


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


def spark_path(path: Path) -> str:
    """A path of the output directory as Spark names it (``/dbfs/x`` is ``dbfs:/x``)."""
    text = str(Path(path).absolute())
    return "dbfs:" + text[len("/dbfs") :] if text.startswith("/dbfs/") else text


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


def cohort_frame(
    spark: SparkSession, cohort: Cohort, path: Path, buckets: int, engine: SparkEngine
) -> DataFrame:
    """The cohort's tables as one Spark frame of tagged rows with their patient's bucket,
    written as Parquet parts (``engine.rows_per_file`` rows each) and read by Spark."""
    from pyspark.sql import functions as F

    frames = []
    for name, schema in input_schemas().items():
        table = cohort.table(name)
        if "source_row" not in table.columns:  # the chain's labs: their order is the tie-break
            table = table.with_columns(pl.int_range(1, table.height + 1).alias("source_row"))
        columns = {c: d for c, d in schema.items() if c in table.columns}
        folder = path / name
        folder.mkdir(parents=True)
        typed = table.select(list(columns)).cast(columns)  # type: ignore[arg-type]
        for i in range(max(1, math.ceil(typed.height / engine.rows_per_file))):
            part = typed.slice(i * engine.rows_per_file, engine.rows_per_file)
            part.write_parquet(folder / f"part-{i:05d}.parquet")
        df = spark.read.schema(spark_schema(columns)).parquet(spark_path(folder))
        df = df.select(*(F.col(c).alias(column(name, c)) for c in columns))
        bucket = F.pmod(F.xxhash64(column(name, "patient_id")), F.lit(buckets)).cast("int")
        frames.append(df.withColumn(TAG, F.lit(name)).withColumn(BUCKET, bucket))
    return reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), frames)


def _collect(spark: SparkSession, union: str) -> pl.DataFrame:
    """The union rows the driver reads (analysed lines, kept rows, sums, tallies, errors), with
    only their own columns (the union's width would multiply what crosses to the driver)."""
    from pyspark.sql import functions as F

    groups = {KEPT_GROUPS.get(tag, tag) for tag in DRIVER_TAGS}
    frame = spark.read.parquet(union)
    wanted = [c for c in frame.columns if c.split(SEPARATOR)[0] in groups or SEPARATOR not in c]
    rows = frame.where(F.col(TAG).isin(*DRIVER_TAGS)).select(*wanted).toArrow()
    out = pl.from_arrow(rows)
    assert isinstance(out, pl.DataFrame)
    return out


def _raise_first_error(driver: pl.DataFrame) -> None:
    """Raise the error of the lowest bucket that returned one (deterministic)."""
    errors = driver.filter(pl.col(TAG) == "error").sort(BUCKET)
    if errors.height:
        raise_error(errors[column("error", "message")][0], errors[column("error", "pickled")][0])


def publish(
    spark: SparkSession,
    union: str,
    name: str,
    output: OutputDirectory,
    config: StudyConfig,
    stop_after: Stage,
) -> None:
    """Write one patient-level table from the union as its own folder of Parquet parts in the
    run directory."""
    from pyspark.sql import functions as F

    schema = output_schemas(config, stop_after)[name]
    rows = spark.read.parquet(union).where(F.col(TAG) == name)
    table = rows.select(*(F.col(column(name, c)).alias(c) for c in schema))
    table.write.parquet(spark_path(output.file(name)))


def _table(driver: pl.DataFrame, tag: str, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """One kept table in the local engine's order: by patient, then as the chain returned its
    rows (patients are whole in one call, so this is the order of consecutive partitions)."""
    group = KEPT_GROUPS.get(tag, tag)
    rows = driver.filter(pl.col(TAG) == tag).sort(column(group, "patient_id"), ROW)
    return from_union(rows, tag, schema).cast(schema)  # type: ignore[arg-type]


def population(
    driver: pl.DataFrame,
    cohort: Cohort,
    config: StudyConfig,
    stop_after: Stage,
    timings: dict[str, float],
) -> AnalysedPopulation:
    """What the summaries read, from the rows the calls returned, combined as the local engine
    combines its partitions (analysis groups on the whole analysed population)."""
    from mmrwe.study.select import assign_groups

    schemas = output_schemas(config, stop_after)
    empty = pl.DataFrame()
    lines, endpoints, line_response = empty, empty, empty
    adverse_events, patients = empty, cohort.patients.clear()
    if stop_after == "population":
        lines = assign_groups(
            _table(driver, "analysis_lines", schemas["analysis_lines"]), config.study
        )
        endpoints = _table(driver, "kept_endpoints", schemas["endpoints"])
        line_response = _table(driver, "kept_line_response", schemas["line_response"])
        ids = lines.select("patient_id").unique()
        patients = cohort.patients.join(ids, on="patient_id", how="semi")
        keys = lines.select("patient_id", "line")
        adverse_events = cohort.adverse_events.join(keys, on="patient_id", how="semi")
    counts = _sums(driver, "counts", "name", "n")
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
        unmapped_drugs=sum_unmapped(
            [from_union(driver, "unmapped_drugs", schemas["unmapped_drugs"])]
        ),
        attrition=sum_attrition([from_union(driver, "attrition", schemas["attrition"])]),
        counts={name: int(counts.get(f"rows:{name}", 0)) for name in tables_of(stop_after)},
        timings=_sums(driver, "timings", "stage", "seconds") | timings,
        patients_with_lines=int(counts.get("patients_with_lines", 0)),
        response_sources={
            k.removeprefix("source:"): int(v)
            for k, v in sorted(counts.items())
            if k.startswith("source:")
        },
    )


def _sums(driver: pl.DataFrame, tag: str, key: str, value: str) -> dict[str, float]:
    """A tally summed over the calls, by key."""
    rows = driver.filter(pl.col(TAG) == tag).select(
        pl.col(column(tag, key)).alias(key), pl.col(column(tag, value)).alias(value)
    )
    summed = rows.group_by(key, maintain_order=True).agg(pl.col(value).sum())
    return dict(summed.sort(key).rows())
