"""``run_study``: a cohort and a study definition in, the tables of a publication out.

The run directory holds the patient-level tables (``lines``, ``line_exposures``,
``assessments``, ``line_response``, ``endpoints``, ``adtte``, ``analysis_lines``), the aggregate
tables (``summary_by_line``, ``response_rates``, ``adverse_events``, ``baseline``,
``subgroup_hazard_ratios``, ``attrition``, ``unmapped_drugs``) with small cells suppressed, the
figures, ``report.html`` and ``manifest.json``. It is written aside and moved into place.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from mmrwe.errors import MmrweError
from mmrwe.io.attrition import chain_attrition
from mmrwe.io.output import OutputDirectory, refuse_existing

if TYPE_CHECKING:  # typing only: importing the rules would load the compiled stages
    from mmrwe.study.config import StudyConfig

#: the lab columns the response stage reads (``mmrwe.response``)
LAB_COLUMNS_ANALYSED = ("patient_id", "date", "test", "value", "result", "value_rule")


@dataclass
class RunResult:
    """What a run wrote: its directory, the study and the aggregate tables (suppressed)."""

    out: Path
    study: StudyConfig
    summaries: dict[str, pl.DataFrame]
    manifest: dict[str, object] = field(default_factory=dict)


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
    partition_size: int | None = None,
    report: bool = True,
    on_stage: Callable[[str], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> RunResult:
    """Read and validate ``cohort``, run every stage of the study and write the run directory.

    ``config``: a study TOML path, the name of a shipped example, a :class:`StudyConfig`, or
    ``None`` (the default study: outcomes by line). ``on_stage`` is told each stage's name as it
    starts; ``on_progress`` is advanced by the patients done.
    """
    from mmrwe.io.read import read_cohort
    from mmrwe.privacy import count_text
    from mmrwe.study.config import StudyConfig, load_config
    from mmrwe.study.cutoff import apply_data_cutoff
    from mmrwe.study.pipeline import DEFAULT_PARTITION, analyse_cohort
    from mmrwe.study.summaries import summarise
    from mmrwe.vocab import load_vocabulary, read_drug_map

    stage = on_stage or (lambda name: None)
    refuse_existing(out, overwrite)
    study = config if isinstance(config, StudyConfig) else load_config(config)
    cut = study.study.small_cell_threshold
    vocabulary = load_vocabulary()
    if drug_map is not None:
        vocabulary = vocabulary.with_drug_map(read_drug_map(drug_map, vocabulary))
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    stage("reading and validating")
    data = read_cohort(cohort)
    timings["read_validate"] = time.perf_counter() - t0
    input_rows = data.row_counts()
    notes = data_warnings(data.present)
    # the lab columns kept for reading rules and validation are not used by any later stage:
    # dropping them frees about a fifth of the cohort's memory
    data = dataclasses.replace(data, labs=data.labs.select(LAB_COLUMNS_ANALYSED))
    truncated, cutoff_attrition = apply_data_cutoff(data, study.study.data_cutoff)
    simulated = is_simulated(cohort)
    patient_level = (
        simulated
        if study.study.patient_level_figures is None
        else study.study.patient_level_figures
    )
    with OutputDirectory(out, overwrite=overwrite, command="run") as output:
        t0 = time.perf_counter()
        stage("lines, response, endpoints")
        population = analyse_cohort(
            truncated,
            study,
            vocabulary,
            sink=output.append,
            partition_size=partition_size or DEFAULT_PARTITION,
            on_progress=on_progress,
        )
        timings["patient_level"] = time.perf_counter() - t0
        attrition = chain_attrition(data.attrition, cutoff_attrition, population.attrition)
        if population.analysis_lines.is_empty():
            raise StudySelectsNothing(study.study.name, attrition)
        timings |= {f"patient_level.{k}": v for k, v in population.timings.items()}
        t0 = time.perf_counter()
        stage("summaries")
        summaries = summarise(population, attrition, study)
        output.write("analysis_lines", population.analysis_lines)
        for name, table in summaries.items():
            output.write(name, table)
        timings["summaries"] = time.perf_counter() - t0
        output.manifest.update(
            inputs=data.inputs,
            input_rows=input_rows,
            config=study.model_dump(mode="json"),
            drug_map=str(drug_map) if drug_map else None,
            simulated_data=simulated,
            patient_level_figures=patient_level,
            progression_source="earliest of lab-derived PD (IMWG) and recorded PD",
            analysed={
                "patients": count_text(population.analysis_lines["patient_id"].n_unique(), cut),
                "lines": count_text(population.analysis_lines.height, cut),
            },
            figures=[],
            warnings=notes,
        )
        if report:
            t0 = time.perf_counter()
            stage("figures and report")
            from mmrwe.report.run_report import write_figures_and_report

            write_figures_and_report(output, population, summaries, study, patient_level)
            timings["figures_report"] = time.perf_counter() - t0
        output.manifest["timings_seconds"].update({k: round(v, 3) for k, v in timings.items()})
        manifest = output.manifest
    return RunResult(out=Path(out), study=study, summaries=summaries, manifest=manifest)
