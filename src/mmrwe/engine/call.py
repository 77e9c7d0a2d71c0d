"""What runs inside a Spark task: the patient-level chain on one bucket of whole patients
(:func:`~mmrwe.pipeline.analyse_partition`), read from and written to Parquet files
(:mod:`mmrwe.engine.wire`); Spark carries the bucket number in and one status row out.

A mapping or validation error (:class:`~mmrwe.errors.MmrweError`) is not a task failure: it is
returned in the status row with the error pickled, and the driver raises it again with the
message the local engine prints (retrying a data error would only fail again).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

from mmrwe.engine.wire import STATUS_SCHEMA, BucketFiles, output_schemas, typed
from mmrwe.errors import MmrweError
from mmrwe.pipeline import PartitionResult, Stage, analyse_partition
from mmrwe.timing import StageTimer

if TYPE_CHECKING:
    from mmrwe.study.config import StudyConfig
    from mmrwe.vocab import Vocabulary


@dataclass(frozen=True)
class FailOnce:
    """Fault injection for tests: the first call on ``bucket`` raises (as a killed task would),
    leaving ``marker`` behind; Spark retries the task and the retry runs normally. Needs
    ``spark.task.maxFailures`` ≥ 2 (in local mode the master ``local[N,2]``). With ``after_write``
    the attempt fails after writing its files (a task killed before it reported success)."""

    bucket: int
    marker: Path
    after_write: bool = False

    def check(self, bucket: int, after_write: bool) -> None:
        """Raise on the first call on the chosen bucket, at the chosen moment."""
        if bucket == self.bucket and after_write == self.after_write and not self.marker.exists():
            self.marker.write_text("failed once\n")
            raise RuntimeError(f"injected fault: first attempt on bucket {bucket}")


@dataclass
class BucketCall:
    """The function Spark's ``mapInArrow`` calls on bucket numbers (one per task)."""

    config: StudyConfig
    vocabulary: Vocabulary
    stop_after: Stage
    files: BucketFiles
    fail_once: FailOnce | None = None

    def function(self) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
        """A plain function of the task's batches of bucket numbers, yielding status rows."""

        def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            for batch in batches:
                for bucket in batch.column(0).to_pylist():
                    yield self(int(bucket))

        return run

    def __call__(self, bucket: int) -> pa.RecordBatch:
        """Run the chain on ``bucket`` and write what it returns; its status row."""
        if self.fail_once is not None:
            self.fail_once.check(bucket, after_write=False)
        message, pickled = None, None
        timer = StageTimer()
        try:
            with timer.stage("spark_call.read"):
                tables = self.files.read_input(bucket)
            result = analyse_partition(
                tables, self.config, self.vocabulary, stop_after=self.stop_after
            )
            self._write(bucket, returned_tables(result), timer, result.timings)
        except MmrweError as error:
            message, pickled = str(error), error_bytes(error)
        if self.fail_once is not None:
            self.fail_once.check(bucket, after_write=True)
        status = pl.DataFrame(
            {"bucket": [bucket], "message": [message], "pickled": [pickled]}, schema=STATUS_SCHEMA
        )
        return status.to_arrow(compat_level=pl.CompatLevel.oldest()).to_batches()[0]

    def _write(
        self,
        bucket: int,
        tables: dict[str, pl.DataFrame],
        timer: StageTimer,
        chain: dict[str, float],
    ) -> None:
        """Every returned table's part of this bucket, the timings last (with the writes')."""
        schemas = output_schemas(self.config, self.stop_after)
        with timer.stage("spark_call.write"):
            for tag, df in tables.items():
                self.files.write(tag, bucket, typed(df, schemas[tag]))
        seconds = chain | timer.seconds
        timings = pl.DataFrame(
            {"stage": list(seconds), "seconds": list(seconds.values())},
            schema=schemas["timings"],
        )
        self.files.write("timings", bucket, timings)


def returned_tables(result: PartitionResult) -> dict[str, pl.DataFrame]:
    """A call's tables by tag: the patient-level tables, and what the driver keeps as the local
    engine does (analysed lines, their endpoints and line response, unmapped drugs, attrition
    and tallies)."""
    tables = dict(result.tables)
    if result.analysis_lines is not None:
        keys = result.analysis_lines.select("patient_id", "line")
        tables["analysis_lines"] = result.analysis_lines
        for name in ("endpoints", "line_response"):
            tables[f"kept_{name}"] = tables[name].join(keys, on=["patient_id", "line"], how="semi")
    tables["unmapped_drugs"] = result.unmapped_drugs
    tables["attrition"] = result.attrition
    tables["counts"] = tallies(result.tables)
    return tables


def tallies(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Rows per patient-level table (``rows:<table>``), patients with a line
    (``patients_with_lines``) and lines per response source (``source:<source>``)."""
    counts = {f"rows:{name}": df.height for name, df in tables.items()}
    counts["patients_with_lines"] = tables["lines"]["patient_id"].n_unique()
    if "line_response" in tables:
        for source, n in tables["line_response"]["response_source"].value_counts().rows():
            counts[f"source:{source}"] = n
    return pl.DataFrame(
        {"name": list(counts), "n": list(counts.values())},
        schema={"name": pl.String(), "n": pl.Int64()},
    )


def error_bytes(error: MmrweError) -> bytes:
    """The error pickled (to be raised again as it is); empty when it cannot be pickled (its
    message is enough)."""
    try:
        return pickle.dumps(error)
    except Exception:
        return b""


def raise_error(message: str, pickled: bytes | None) -> None:
    """Raise, on the driver, the error a call returned: the same error when it unpickles, else
    an :class:`MmrweError` with its message."""
    error: BaseException | None = None
    if pickled:
        try:
            error = pickle.loads(pickled)
        except Exception:
            error = None
    if not isinstance(error, MmrweError) or str(error) != message:
        error = MmrweError(message)
    raise error
