"""What runs inside a Spark task: one call of the patient-level chain on one bucket of whole
patients (:func:`~mmrwe.pipeline.analyse_partition`), its results as union rows
(:mod:`mmrwe.engine.wire`).

A mapping or validation error (:class:`~mmrwe.errors.MmrweError`) is not a task failure: it is
returned as an ``error`` row carrying the pickled error, and the driver raises it again with
the message the local engine prints (retrying a data error would only fail again).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

from mmrwe.engine.wire import BUCKET, ERROR_SCHEMA, output_schemas, split_input, to_union
from mmrwe.errors import MmrweError
from mmrwe.pipeline import PartitionResult, Stage, analyse_partition

if TYPE_CHECKING:
    from mmrwe.study.config import StudyConfig
    from mmrwe.vocab import Vocabulary


@dataclass(frozen=True)
class FailOnce:
    """Fault injection for tests: the first call on ``bucket`` raises (as a killed task would),
    leaving ``marker`` behind; Spark retries the task and the retry runs normally. Needs
    ``spark.task.maxFailures`` ≥ 2 (in local mode the master ``local[N,2]``)."""

    bucket: int
    marker: Path

    def check(self, bucket: int) -> None:
        """Raise on the first call on the chosen bucket."""
        if bucket == self.bucket and not self.marker.exists():
            self.marker.write_text("failed once\n")
            raise RuntimeError(f"injected fault: first attempt on bucket {bucket}")


@dataclass
class BucketCall:
    """The function Spark's ``applyInArrow`` calls once per bucket of whole patients."""

    config: StudyConfig
    vocabulary: Vocabulary
    stop_after: Stage
    arrow_schema: pa.Schema
    fail_once: FailOnce | None = None

    def function(self) -> Callable[[pa.Table], pa.Table]:
        """A plain function of one argument (Spark reads a callable's signature to decide
        whether to pass the grouping key)."""

        def run(table: pa.Table) -> pa.Table:
            return self(table)

        return run

    def __call__(self, table: pa.Table) -> pa.Table:
        bucket = int(table.column(BUCKET)[0].as_py())
        if self.fail_once is not None:
            self.fail_once.check(bucket)
        try:
            result = analyse_partition(
                split_input(table), self.config, self.vocabulary, stop_after=self.stop_after
            )
            tables = returned_tables(result)
        except MmrweError as error:
            tables = {"error": error_row(error)}
        union = to_union(tables, output_schemas(self.config, self.stop_after), bucket)
        return union.to_arrow(compat_level=pl.CompatLevel.oldest()).cast(self.arrow_schema)


def returned_tables(result: PartitionResult) -> dict[str, pl.DataFrame]:
    """A call's tables by tag: the patient-level tables, and what the driver keeps as the local
    engine does (analysed lines, their endpoints and line response, unmapped drugs, attrition,
    tallies and stage timings)."""
    tables = dict(result.tables)
    if result.analysis_lines is not None:
        keys = result.analysis_lines.select("patient_id", "line")
        tables["analysis_lines"] = result.analysis_lines
        for name in ("endpoints", "line_response"):
            tables[f"kept_{name}"] = tables[name].join(keys, on=["patient_id", "line"], how="semi")
    tables["unmapped_drugs"] = result.unmapped_drugs
    tables["attrition"] = result.attrition
    tables["counts"] = tallies(result.tables)
    tables["timings"] = pl.DataFrame(
        {"stage": list(result.timings), "seconds": list(result.timings.values())},
        schema={"stage": pl.String(), "seconds": pl.Float64()},
    )
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


def error_row(error: MmrweError) -> pl.DataFrame:
    """An error as one row: its message, and the error pickled (to be raised again as it is)."""
    try:
        pickled = pickle.dumps(error)
    except Exception:  # an error holding something unpicklable: its message is enough
        pickled = b""
    return pl.DataFrame({"message": [str(error)], "pickled": [pickled]}, schema=ERROR_SCHEMA)


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
