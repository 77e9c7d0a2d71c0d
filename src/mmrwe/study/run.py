"""``run_study``: a cohort and a study definition in, the tables of a publication out.

``mmrwe lines``, ``mmrwe response`` and ``mmrwe run`` are :func:`run_study` stopped after the
``lines``, ``response`` and ``population`` stage of the one patient-level chain
(:mod:`mmrwe.pipeline`); only the whole run adds the summaries, figures and report.

The run directory holds, under ``patient_level/``, the patient-level tables (``lines``,
``line_exposures``, ``assessments``, ``line_response``, ``endpoints``, ``adtte``, ``adsl``,
``adrs``, ``analysis_lines``) and, under ``shareable/``, the aggregate tables
(``summary_by_line``, ``response_rates``, ``adverse_events``, ``baseline``,
``subgroup_hazard_ratios``, ``attrition``, ``unmapped_drugs``) with small cells suppressed, the
figures, ``report.html`` and ``manifest.json`` (:class:`mmrwe.io.output.RunLayout`). It is
written aside, ``shareable/`` is audited (:func:`mmrwe.privacy.shareable.check_shareable`), and
it is moved into place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from mmrwe.errors import InvalidDataError, MmrweError, check_parameter
from mmrwe.io.attrition import attrition_table, chain_attrition
from mmrwe.io.cohort import COHORT_SCHEMAS
from mmrwe.io.output import OutputDirectory, input_manifest, refuse_existing
from mmrwe.pipeline import STAGES, AnalysedPopulation, Stage, progression_source
from mmrwe.timing import StageTimer

if TYPE_CHECKING:  # typing only: importing the rules would load the compiled stages
    from mmrwe.engine import Engine
    from mmrwe.io.stream import CohortInMemory, FileCohortSource
    from mmrwe.omop.writeback import PreparedWriteBack, WriteOmop
    from mmrwe.privacy.ledger import Ledger
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
    #: exact counts that stay with the patient-level data (``manifest_patient_level.json``)
    patient_level: dict[str, object] = field(default_factory=dict)
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
    csv: bool = False,
    on_stage: Callable[[str], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    delimiter: str = ",",
    engine: Engine | None = None,
    ledger: Path | None = None,
    write_omop: WriteOmop | None = None,
    xpt: bool | None = None,
) -> RunResult:
    """Read, validate and analyse ``cohort`` partition by partition, straight from its files
    (:class:`mmrwe.io.stream.FileCohortSource`: reading partition k+1 while k is analysed), up
    to ``stop_after``, and write the run directory (for ``population``: with the summaries and,
    with ``report``, the figures and ``report.html``). Every validation problem of every
    partition is collected; any error stops the run once all are found, and nothing is written.

    ``config``: a study TOML path, the name of a shipped example, a :class:`StudyConfig`, or
    ``None`` (the default study: outcomes by line). ``csv``: patient-level tables as CSV too
    (they are Parquet; aggregate tables are both). ``on_stage`` is told each stage's name as it
    starts; ``on_progress`` is advanced by the patients done; ``delimiter`` separates the
    fields of the cohort's CSV tables. ``engine`` runs the patient-level chain (default: the
    local partitions; :class:`mmrwe.engine.spark.SparkEngine` on Spark, given the whole
    validated cohort); everything else is the same whichever engine runs it. ``ledger``: the
    release ledger of the cohort (docs/privacy.md): earlier releases are protected against, and
    this one is recorded once the run has succeeded. ``write_omop`` (an OMOP source only) also
    writes the lines as OMOP ``episode``/``episode_event`` rows (:mod:`mmrwe.omop.writeback`),
    checked against the CDM before anything runs. ``xpt``: the ADaM datasets as SAS transport files
    too: ``True`` always, ``False`` never, ``None`` when they hold at most
    :data:`mmrwe.adam.xpt.AUTO_MAX_ROWS` rows.
    """
    from mmrwe.io.stream import open_source
    from mmrwe.study.config import StudyConfig, load_config

    check_parameter(stop_after in STAGES, "stop_after", "run_study", f"one of {STAGES}", stop_after)
    if partition_size is not None:  # checked before reading, whichever engine runs the chain
        from mmrwe.pipeline import check_partition_size

        check_partition_size(partition_size, "run_study")
    stage = on_stage or (lambda name: None)
    refuse_existing(out, overwrite)
    study = config if isinstance(config, StudyConfig) else load_config(config)
    vocabulary = _vocabulary(drug_map)
    prepared = None
    if write_omop is not None:
        from mmrwe.omop.writeback import prepare_write_back

        prepared = prepare_write_back(write_omop)
    timer = StageTimer()
    command = COMMANDS.get(stop_after, "run")
    if engine is not None:
        engine.start()
    stage("reading and validating")
    with (
        OutputDirectory(out, overwrite=overwrite, command=command, timer=timer, csv=csv) as output,
        open_source(
            cohort, tables=TABLES_READ[stop_after], delimiter=delimiter, workdir=output.staging
        ) as source,
    ):
        stage(CHAIN_NAMES[stop_after])
        with timer.stage("patient_level"):
            analyse = _analyse if engine is None else _engine_analyse(engine)
            population, attrition = analyse(
                source, study, vocabulary, output, stop_after, partition_size, timer, on_progress
            )
        timer.merge(population.timings, "patient_level.")
        sas_transport = _sas_transport(output, stop_after, timer, xpt)
        if prepared is not None:
            _write_omop(prepared, output, source, timer)
        inputs = input_manifest(source, study, drug_map)
        output.patient_level["input_rows"] = inputs.pop("input_rows")
        released = _open_ledger(ledger, inputs, study, drug_map)
        output.manifest.update(
            inputs, progression_source=progression_source(stop_after), engine="local"
        )
        if engine is not None:
            output.manifest.update(engine.manifest())
        if population.response_sources:
            output.manifest["response_sources"] = [
                [k, v] for k, v in population.response_sources.items()
            ]
        summaries: dict[str, pl.DataFrame] = {}
        if stop_after != "population":
            output.write("unmapped_drugs", population.unmapped_drugs)
            output.write("attrition", attrition)
        else:
            summaries = _summaries(
                output, cohort, source.present, population, attrition, study, timer, stage, released
            )
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
        population.kept.close()  # the kept rows live in the staging folder, not in the run
        if sas_transport is not None:
            with timer.stage("adam_xpt_wait"):
                output.patient_level["sas_transport"] = sas_transport()
        if released is not None and released.pending is not None:
            output.manifest["release"] = released.pending["release"]
        _audit_shareable(output, study, timer)
        output.record_timings(timer)
    if released is not None:
        released.commit()
    return RunResult(
        out=Path(out),
        study=study,
        summaries=summaries,
        manifest=output.manifest,
        patient_level=output.patient_level,
        population=population,
    )


def _analyse(
    source: FileCohortSource | CohortInMemory,
    study: StudyConfig,
    vocabulary: Vocabulary,
    output: OutputDirectory,
    stop_after: Stage,
    partition_size: int | None,
    timer: StageTimer,
    on_progress: Callable[[int], None] | None,
) -> tuple[AnalysedPopulation, pl.DataFrame]:
    """The chain on every partition of ``source`` (read one ahead, in a background thread, as
    ``read_validate`` seconds); the run's attrition. Raises :class:`InvalidDataError` with every
    problem found once all partitions are read, if any is an error."""
    from mmrwe.pipeline import DEFAULT_PARTITION, analyse_partitions, prefetched

    size = partition_size or DEFAULT_PARTITION
    cutoffs: list[pl.DataFrame] = []

    def valid_parts() -> Iterator[dict[str, pl.DataFrame]]:
        for tables in source.partitions(size):
            if source.report.ok:  # after an error the rest is only validated
                part, cut = _prepare(tables, study)
                cutoffs.append(cut)
                yield part

    population = analyse_partitions(
        prefetched(valid_parts(), timer, "read_validate"),
        study,
        vocabulary,
        output.append,
        stop_after=stop_after,
        on_progress=on_progress,
        workdir=output.staging,
    )
    _require_valid(source)
    return population, _run_attrition(source, cutoffs, population)


def _require_valid(source: FileCohortSource | CohortInMemory) -> None:
    """Raise :class:`InvalidDataError` with every problem of every partition, if any is an
    error (or nothing usable was read)."""
    if not source.report.ok or not source.usable():
        raise InvalidDataError(source.report.summary(), source.report)


def _run_attrition(
    source: FileCohortSource | CohortInMemory,
    cutoffs: list[pl.DataFrame],
    population: AnalysedPopulation,
) -> pl.DataFrame:
    """The run's attrition: reading, the data cut-off (summed over partitions), the chain."""
    from mmrwe.pipeline import sum_attrition

    cutoff = sum_attrition(cutoffs) if cutoffs else attrition_table([])
    return chain_attrition(source.attrition(), cutoff, population.attrition)


def _engine_analyse(engine: Engine) -> Callable[..., tuple[AnalysedPopulation, pl.DataFrame]]:
    """:func:`_analyse` on another engine: every partition read, validated and cut off as for
    the local engine, the whole cohort handed to ``engine`` (``docs/scale.md``)."""

    def analyse(
        source: FileCohortSource | CohortInMemory,
        study: StudyConfig,
        vocabulary: Vocabulary,
        output: OutputDirectory,
        stop_after: Stage,
        partition_size: int | None,
        timer: StageTimer,
        on_progress: Callable[[int], None] | None,
    ) -> tuple[AnalysedPopulation, pl.DataFrame]:
        from mmrwe.io.cohort import Cohort
        from mmrwe.pipeline import DEFAULT_PARTITION

        parts: list[dict[str, pl.DataFrame]] = []
        cutoffs: list[pl.DataFrame] = []
        with timer.stage("read_validate"):
            for tables in source.partitions(partition_size or DEFAULT_PARTITION):
                if source.report.ok:
                    part, cut = _prepare(tables, study)
                    parts.append(part)
                    cutoffs.append(cut)
        _require_valid(source)
        whole = {name: pl.concat([p[name] for p in parts]) for name in COHORT_SCHEMAS}
        population = engine.analyse(
            Cohort(**whole),
            study,
            vocabulary,
            output,
            stop_after=stop_after,
            on_progress=on_progress,
        )
        return population, _run_attrition(source, cutoffs, population)

    return analyse


def _write_omop(
    prepared: PreparedWriteBack,
    output: OutputDirectory,
    source: FileCohortSource | CohortInMemory,
    timer: StageTimer,
) -> None:
    """The lines as OMOP ``episode``/``episode_event`` (patient-level files, and the target
    schema when one is given)."""
    from mmrwe.omop.writeback import write_back

    output.close_parts()
    with timer.stage("write_omop"):
        events = getattr(getattr(source, "cohort", None), "omop_events", None)
        for name, table in write_back(prepared, output.staging, events).items():
            output.write(name, table, patient_level=True)


def _sas_transport(
    output: OutputDirectory, stop_after: Stage, timer: StageTimer, asked: bool | None
) -> Callable[[], list[str]] | None:
    """Start writing the ADaM datasets as SAS transport files (a whole run only, else None; in
    a separate process for large runs, so that the summaries and figures go on meanwhile); the
    returned function waits for them and gives the file names. ``asked``: ``True`` always,
    ``False`` never, ``None`` up to :data:`mmrwe.adam.xpt.AUTO_MAX_ROWS` rows; a run that
    writes none says why (``warnings`` of the patient-level manifest)."""
    if stop_after != "population":
        return None
    from mmrwe.adam import DATASETS, start_transport_files
    from mmrwe.adam.xpt import transport_skipped

    output.close_parts()  # the patient-level tables are complete; read back for SAS
    rows = sum(output.outputs(d.lower()).get(d.lower(), 0) for d in DATASETS)
    skipped = transport_skipped(rows, asked)
    if skipped is not None:
        output.patient_level.setdefault("warnings", []).append(skipped)
        return lambda: []
    with timer.stage("adam_xpt"):
        return start_transport_files(output.layout.patient_level, rows)


def _audit_shareable(output: OutputDirectory, study: StudyConfig, timer: StageTimer) -> None:
    """The release-level audit of everything under ``shareable/`` as written (tables,
    manifest, figure data, report text), before the run reports success; a finding stops the
    run with the cell named and nothing is published."""
    from mmrwe.privacy.shareable import check_shareable

    output.close_parts()
    output.write_manifest()
    with timer.stage("privacy_audit"):
        check_shareable(output.layout.root, study.study.small_cell_threshold)


def _open_ledger(
    path: Path | None, inputs: dict, study: StudyConfig, drug_map: Path | None
) -> Ledger | None:
    """The release ledger of the run's cohort (None without one)."""
    if path is None:
        return None
    from mmrwe.privacy.ledger import Ledger

    return Ledger.open(path, inputs["inputs"], study, drug_map, study.study.name)


def _vocabulary(drug_map: Path | None) -> Vocabulary:
    """The shipped vocabulary, extended by the user drug map when one is given."""
    from mmrwe.vocab import load_vocabulary, read_drug_map

    vocabulary = load_vocabulary()
    if drug_map is not None:
        vocabulary = vocabulary.with_drug_map(read_drug_map(drug_map, vocabulary))
    return vocabulary


def _prepare(
    tables: dict[str, pl.DataFrame], study: StudyConfig
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """One partition as the chain reads it: the lab columns it uses (the others, kept for
    reading rules and validation, are about a fifth of the cohort's memory), as known on the
    study's data cut-off; and the cut-off's attrition steps for these patients."""
    from mmrwe.io.cohort import Cohort, empty_table
    from mmrwe.study.cutoff import apply_data_cutoff

    labs = tables.get("labs", empty_table("labs")).select(LAB_COLUMNS_ANALYSED)
    part = Cohort(
        patients=tables["patients"],
        treatments=tables.get("treatments", empty_table("treatments")),
        labs=labs,
        responses=tables.get("responses", empty_table("responses")),
        adverse_events=tables.get("adverse_events", empty_table("adverse_events")),
    )
    truncated, steps = apply_data_cutoff(part, study.study.data_cutoff)
    return {name: truncated.table(name) for name in COHORT_SCHEMAS}, steps


def _summaries(
    output: OutputDirectory,
    cohort: Path,
    present: frozenset[str],
    population: AnalysedPopulation,
    attrition: pl.DataFrame,
    study: StudyConfig,
    timer: StageTimer,
    stage: Callable[[str], None],
    ledger: Ledger | None = None,
) -> dict[str, pl.DataFrame]:
    """The aggregate tables of a whole run (small cells suppressed), written, and the
    manifest's fields of a whole run."""
    from mmrwe.study.summaries import summarise_release

    if population.analysis_lines.is_empty():
        raise StudySelectsNothing(study.study.name, attrition)
    stage("summaries")
    with timer.stage("summaries"):
        summaries, analysed = summarise_release(population, attrition, study, ledger)
        for part in population.analysis_line_parts():  # every column, partition by partition
            output.append("analysis_lines", part)
        for name, table in summaries.items():
            output.write(name, table)
    simulated = is_simulated(cohort)
    chosen, shared = study.study.patient_level_figures, study.study.share_patient_level_figures
    drawn = (simulated or shared) if chosen is None else chosen
    output.manifest.update(
        simulated_data=simulated,
        patient_level_figures=drawn,
        patient_level_figures_shared=drawn and shared,
        analysed=analysed,
        figures=[],
        warnings=data_warnings(present),
    )
    return summaries
