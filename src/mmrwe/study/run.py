"""``run_study``: a cohort and a study definition in, the tables of a publication out.

``mmrwe lines``, ``mmrwe response`` and ``mmrwe run`` are :func:`run_study` stopped after the
``lines``, ``response`` and ``population`` stage of the one patient-level chain
(:mod:`mmrwe.pipeline`); only the whole run adds the summaries, figures and report.

The run directory holds the patient-level tables (``lines``, ``line_exposures``,
``assessments``, ``line_response``, ``endpoints``, ``adtte``, ``analysis_lines``), the aggregate
tables (``summary_by_line``, ``response_rates``, ``adverse_events``, ``baseline``,
``subgroup_hazard_ratios``, ``attrition``, ``unmapped_drugs``) with small cells suppressed, the
figures, ``report.html`` and ``manifest.json``. It is written aside and moved into place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from mmrwe.errors import MmrweError, check_parameter
from mmrwe.io.attrition import chain_attrition
from mmrwe.io.cohort import Cohort
from mmrwe.io.output import OutputDirectory, input_manifest, refuse_existing
from mmrwe.pipeline import STAGES, AnalysedPopulation, Stage, progression_source
from mmrwe.timing import StageTimer

if TYPE_CHECKING:  # typing only: importing the rules would load the compiled stages
    from mmrwe.engine import Engine
    from mmrwe.study.config import StudyConfig
    from mmrwe.vocab import Vocabulary

#: the lab columns the response stage reads (``mmrwe.response``)
LAB_COLUMNS_ANALYSED = ("patient_id", "date", "test", "value", "result", "value_rule")
#: the optional tables read and validated for a chain stopped after each stage (None: all)
TABLES_READ: dict[str, tuple[str, ...] | None] = {
    "lines": ("responses",),
    "response": ("labs", "responses"),
    "endpoints": ("labs", "responses"),
    "population": None,
}
#: the command each stop is (the manifest's ``command``)
COMMANDS: dict[str, str] = {"lines": "lines", "response": "response"}
#: what the progress line says while the chain runs
CHAIN_NAMES: dict[str, str] = {
    "lines": "lines of therapy",
    "response": "lines, response",
    "endpoints": "lines, response, endpoints",
    "population": "lines, response, endpoints",
}


@dataclass
class RunResult:
    """What a run wrote: its directory, the study and the aggregate tables (suppressed)."""

    out: Path
    study: StudyConfig
    summaries: dict[str, pl.DataFrame]
    manifest: dict[str, object] = field(default_factory=dict)
    #: what the chain kept (rows per table, tallies; the analysed population of a whole run)
    population: AnalysedPopulation | None = None


def is_simulated(cohort: Path) -> bool:
    """A cohort written by ``mmrwe simulate`` (it carries the simulator's ``truth/`` folder)."""
    return Path(cohort).is_dir() and (Path(cohort) / "truth").is_dir()


class StudySelectsNothing(MmrweError):
    """The study's population criteria leave no line of therapy to analyse."""

    def __init__(self, name: str, attrition: pl.DataFrame) -> None:
        last = attrition.filter(
            (pl.col("patients_after") == 0) & (pl.col("patients_before") > 0)
        ).head(1)
        where = (
            f" The last patients were excluded at attrition step {last['step'][0]}: "
            f"{last['reason'][0]}."
            if last.height
            else ""
        )
        super().__init__(
            f"The study '{name}' selects no line of therapy: no line of the cohort meets its "
            f"[population] criteria.{where} Loosen the criteria, or check the cohort (e.g. with "
            "'mmrwe lines')."
        )


def data_warnings(present: frozenset[str]) -> list[str]:
    """What the tables present cannot support (said in the manifest, the CLI and the report)."""
    notes = []
    if not {"labs", "responses"} & present:
        notes.append(
            "The cohort has neither labs nor responses: no disease assessment exists, so "
            "progression cannot be observed. PFS and DOR count deaths only and every other line "
            "is censored at its start (no_assessment); response rates are all NE. Report OS, "
            "TTNT and TTD."
        )
    if "adverse_events" not in present:
        notes.append("The cohort has no adverse_events table: the safety table is empty.")
    return notes


def run_study(
    cohort: Path,
    out: Path,
    *,
    config: Path | str | StudyConfig | None = None,
    drug_map: Path | None = None,
    overwrite: bool = False,
    stop_after: Stage = "population",
    partition_size: int | None = None,
    report: bool = True,
    on_stage: Callable[[str], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    delimiter: str = ",",
    engine: Engine | None = None,
) -> RunResult:
    """Read and validate ``cohort``, run the patient-level chain up to ``stop_after`` partition
    by partition and write the run directory (for ``population``: with the summaries and, with
    ``report``, the figures and ``report.html``).

    ``config``: a study TOML path, the name of a shipped example, a :class:`StudyConfig`, or
    ``None`` (the default study: outcomes by line). ``on_stage`` is told each stage's name as it
    starts; ``on_progress`` is advanced by the patients done; ``delimiter`` separates the
    fields of the cohort's CSV tables. ``engine`` runs the patient-level chain (default
    :class:`mmrwe.engine.LocalEngine`; :class:`mmrwe.engine.spark.SparkEngine` on Spark);
    everything else is the same whichever engine runs it.
    """
    from mmrwe.engine import LocalEngine
    from mmrwe.io.read import read_cohort
    from mmrwe.study.config import StudyConfig, load_config

    check_parameter(stop_after in STAGES, "stop_after", "run_study", f"one of {STAGES}", stop_after)
    stage = on_stage or (lambda name: None)
    refuse_existing(out, overwrite)
    study = config if isinstance(config, StudyConfig) else load_config(config)
    vocabulary = _vocabulary(drug_map)
    engine = engine or LocalEngine()
    timer = StageTimer()
    stage("reading and validating")
    with timer.stage("read_validate"):
        data = read_cohort(cohort, tables=TABLES_READ[stop_after], delimiter=delimiter)
    truncated, cutoff_attrition = _source(data, study)
    command = COMMANDS.get(stop_after, "run")
    with OutputDirectory(out, overwrite=overwrite, command=command, timer=timer) as output:
        stage(CHAIN_NAMES[stop_after])
        with timer.stage("patient_level"):
            population = engine.analyse(
                truncated,
                study,
                vocabulary,
                output,
                stop_after=stop_after,
                partition_size=partition_size,
                on_progress=on_progress,
            )
        timer.merge(population.timings, "patient_level.")
        sas_transport = _sas_transport(output, stop_after, timer)
        attrition = chain_attrition(data.attrition, cutoff_attrition, population.attrition)
        output.manifest.update(
            input_manifest(data, study, drug_map),
            progression_source=progression_source(stop_after),
            **engine.manifest(),
        )
        if population.response_sources:
            output.manifest["response_sources"] = [
                [k, v] for k, v in population.response_sources.items()
            ]
        summaries: dict[str, pl.DataFrame] = {}
        if stop_after != "population":
            output.write("unmapped_drugs", population.unmapped_drugs)
            output.write("attrition", attrition)
        else:
            summaries = _summaries(output, cohort, data, population, attrition, study, timer, stage)
            if report:
                from mmrwe.report.run_report import write_figures_and_report

                stage("figures and report")
                with timer.stage("figures_report"):
                    write_figures_and_report(
                        output,
                        population,
                        summaries,
                        study,
                        output.manifest["patient_level_figures"],
                    )
        if sas_transport is not None:
            with timer.stage("adam_xpt_wait"):
                output.manifest["sas_transport"] = sas_transport()
        output.record_timings(timer)
    return RunResult(
        out=Path(out),
        study=study,
        summaries=summaries,
        manifest=output.manifest,
        population=population,
    )


def _sas_transport(
    output: OutputDirectory, stop_after: Stage, timer: StageTimer
) -> Callable[[], list[str]] | None:
    """Start writing the ADaM datasets as SAS transport files (a whole run only, else None; in
    a separate process for large runs, so that the summaries and figures go on meanwhile); the
    returned function waits for them and gives the file names."""
    if stop_after != "population":
        return None
    from mmrwe.adam import DATASETS, start_transport_files

    output.close_parts()  # the patient-level tables are complete; read back for SAS
    rows = sum(output.manifest["outputs"].get(d.lower(), 0) for d in DATASETS)
    with timer.stage("adam_xpt"):
        return start_transport_files(output.staging, rows)


def _vocabulary(drug_map: Path | None) -> Vocabulary:
    """The shipped vocabulary, extended by the user drug map when one is given."""
    from mmrwe.vocab import load_vocabulary, read_drug_map

    vocabulary = load_vocabulary()
    if drug_map is not None:
        vocabulary = vocabulary.with_drug_map(read_drug_map(drug_map, vocabulary))
    return vocabulary


def _source(data: Cohort, study: StudyConfig) -> tuple[Cohort, pl.DataFrame]:
    """The cohort the chain reads: the lab columns it uses (the others, kept for reading rules
    and validation, are about a fifth of the cohort's memory), as known on the study's data
    cut-off; and the cut-off's attrition steps."""
    from mmrwe.study.cutoff import apply_data_cutoff

    data = dataclasses.replace(data, labs=data.labs.select(LAB_COLUMNS_ANALYSED))
    return apply_data_cutoff(data, study.study.data_cutoff)


def _summaries(
    output: OutputDirectory,
    cohort: Path,
    data: Cohort,
    population: AnalysedPopulation,
    attrition: pl.DataFrame,
    study: StudyConfig,
    timer: StageTimer,
    stage: Callable[[str], None],
) -> dict[str, pl.DataFrame]:
    """The aggregate tables of a whole run (small cells suppressed), written, and the
    manifest's fields of a whole run."""
    from mmrwe.privacy import count_text
    from mmrwe.study.summaries import summarise

    if population.analysis_lines.is_empty():
        raise StudySelectsNothing(study.study.name, attrition)
    cut = study.study.small_cell_threshold
    stage("summaries")
    with timer.stage("summaries"):
        summaries = summarise(population, attrition, study)
        output.write("analysis_lines", population.analysis_lines)
        for name, table in summaries.items():
            output.write(name, table)
    simulated = is_simulated(cohort)
    chosen = study.study.patient_level_figures
    output.manifest.update(
        simulated_data=simulated,
        patient_level_figures=simulated if chosen is None else chosen,
        analysed={
            "patients": count_text(population.analysis_lines["patient_id"].n_unique(), cut),
            "lines": count_text(population.analysis_lines.height, cut),
        },
        figures=[],
        warnings=data_warnings(data.present),
    )
    return summaries
