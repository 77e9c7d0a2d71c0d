"""Engines that run the patient-level chain (``docs/scale.md``).

An engine takes the validated cohort (as :func:`mmrwe.io.read_cohort` returns it, on the study's
data cut-off), runs :func:`~mmrwe.pipeline.analyse_partition` on whole patients, writes the
patient-level tables into the run directory and returns what the summaries read
(:class:`~mmrwe.pipeline.AnalysedPopulation`). Everything before (reading, validation) and after
(summaries, figures, report, manifest) is the one code path of :func:`mmrwe.study.run_study`.

- ``local`` (:class:`LocalEngine`): partitions of whole patients in threads on this machine
  (:func:`mmrwe.pipeline.analyse_cohort`); each table one Parquet and one CSV file.
- ``spark`` (:class:`mmrwe.engine.spark.SparkEngine`): buckets of whole patients as Arrow UDFs
  on a Spark cluster; each table a folder of Parquet parts. Same rows, same aggregate tables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol, get_args

from mmrwe.errors import ParameterError, check_parameter

if TYPE_CHECKING:
    from mmrwe.io.cohort import Cohort
    from mmrwe.io.output import OutputDirectory
    from mmrwe.pipeline import AnalysedPopulation, Stage
    from mmrwe.study.config import StudyConfig
    from mmrwe.vocab import Vocabulary

EngineName = Literal["local", "spark"]
ENGINES: tuple[EngineName, ...] = get_args(EngineName)


class Engine(Protocol):
    """What :func:`mmrwe.study.run_study` asks of an engine."""

    name: ClassVar[str]

    def start(self) -> None:
        """Start what the engine needs before the source is read (a source may read through
        it: ``omop+spark://`` reads the CDM through the engine's SparkSession)."""
        ...

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
        """Run the chain up to ``stop_after``, write the patient-level tables into ``output``
        and return what the summaries read."""
        ...

    def manifest(self) -> dict[str, object]:
        """The manifest's record of the engine (``engine`` and its particulars)."""
        ...


@dataclass
class LocalEngine:
    """Partitions of whole patients on this machine (:func:`mmrwe.pipeline.analyse_cohort`)."""

    name: ClassVar[str] = "local"

    def start(self) -> None:
        """Nothing to start."""

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
        """The chain in partitions of ``partition_size`` patients, each table appended to
        ``output`` partition by partition."""
        from mmrwe.pipeline import DEFAULT_PARTITION, analyse_cohort

        return analyse_cohort(
            cohort,
            config,
            vocabulary,
            sink=output.append,
            stop_after=stop_after,
            partition_size=partition_size or DEFAULT_PARTITION,
            on_progress=on_progress,
        )

    def manifest(self) -> dict[str, object]:
        """``{"engine": "local"}``."""
        return {"engine": self.name}


def make_engine(name: str, master: str | None = None) -> Engine:
    """The engine called ``name`` (``local`` or ``spark``); ``master``: the Spark master URL."""
    try:
        check_parameter(name in ENGINES, "engine", "make_engine", f"one of {ENGINES}", name)
        check_parameter(
            master is None or name == "spark",
            "master",
            "make_engine",
            "None unless the engine is 'spark'",
            master,
        )
    except ParameterError as error:
        error.cli_hint = (
            "On the command line: --engine local or --engine spark; --spark-master only with "
            "--engine spark."
        )
        raise
    if name == "spark":
        from mmrwe.engine.spark import SparkEngine

        return SparkEngine(master=master)
    return LocalEngine()


__all__ = ["ENGINES", "Engine", "EngineName", "LocalEngine", "make_engine"]
