"""``mmrwe lines COHORT --out DIR``: lines of therapy with refractoriness from recorded PD."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mmrwe.cli.app import app
from mmrwe.cli.common import info, progress
from mmrwe.io.attrition import chain_attrition
from mmrwe.io.cohort import Cohort
from mmrwe.io.output import OutputDirectory, refuse_existing
from mmrwe.io.read import read_cohort
from mmrwe.io.schema import TABLES

if TYPE_CHECKING:  # the line engine (Numba) is imported only when a command runs
    from mmrwe.lines import LinesOfTherapy
    from mmrwe.study.config import StudyConfig

#: optional tables this command reads and validates (patients and treatments always are)
LINES_TABLES = ("responses",)

PROGRESSION_SOURCE = (
    "recorded PD (responses table, response = PD); lab-derived PD is added by 'mmrwe response' "
    "and 'mmrwe run'"
)


def read_and_derive_lines(
    cohort: Path, config: Path | None, drug_map: Path | None, tables: tuple[str, ...]
) -> tuple[StudyConfig, Cohort, LinesOfTherapy, dict[str, float]]:
    """What every command that needs lines does first: the study config, the user drug map,
    the cohort (``tables``: the optional tables it reads and validates) and its lines, timed."""
    from mmrwe.lines import derive_lines_of_therapy
    from mmrwe.study.config import load_config
    from mmrwe.vocab import load_vocabulary, read_drug_map

    study = load_config(config)
    vocabulary = load_vocabulary()
    table_map = read_drug_map(drug_map, vocabulary) if drug_map is not None else None
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    with progress("reading and validating", len(TABLES)) as advance:
        data = read_cohort(cohort, tables=tables, on_progress=advance)
    timings["read_validate"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with progress("deriving lines", data.n_patients) as advance:
        result = derive_lines_of_therapy(
            data, study.lines, drug_map=table_map, vocabulary=vocabulary, on_progress=advance
        )
    timings["lines"] = time.perf_counter() - t0
    return study, data, result, timings


@app.command("lines")
def lines_command(
    cohort: Path = typer.Argument(..., help="Cohort directory or DuckDB file."),
    out: Path = typer.Option(..., "--out", help="Output directory."),
    config: Path | None = typer.Option(None, "--config", help="Study TOML ([lines] overrides)."),
    drug_map: Path | None = typer.Option(
        None, "--drug-map", help="User drug map CSV: name, generic_name, class."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing directory."),
) -> None:
    """Derive lines of therapy (IMWG, Rajkumar 2011) and write lines, line_exposures,
    unmapped_drugs, attrition and manifest.json. Reads and validates patients, treatments and
    responses (recorded PD for refractoriness)."""
    from mmrwe.lines import derive_refractoriness, recorded_progression

    refuse_existing(out, overwrite)
    study, data, result, timings = read_and_derive_lines(cohort, config, drug_map, LINES_TABLES)
    t0 = time.perf_counter()
    lines = derive_refractoriness(
        result.lines, result.line_exposures, recorded_progression(data.responses), rules=study.lines
    )
    timings["refractoriness"] = time.perf_counter() - t0
    with OutputDirectory(out, overwrite=overwrite, command="lines") as output:
        output.write("lines", lines)
        output.write("line_exposures", result.line_exposures)
        output.write("unmapped_drugs", result.unmapped_drugs)
        output.write("attrition", chain_attrition(data.attrition, result.attrition))
        output.manifest["inputs"] = data.inputs
        output.manifest["input_rows"] = data.row_counts()
        output.manifest["config"] = study.model_dump(mode="json")
        output.manifest["drug_map"] = str(drug_map) if drug_map else None
        output.manifest["progression_source"] = PROGRESSION_SOURCE
        output.manifest["timings_seconds"].update({k: round(v, 3) for k, v in timings.items()})
    n_unmapped = result.unmapped_drugs.height
    info(
        f"{lines.height:,} lines for {lines['patient_id'].n_unique():,} patients written to {out}"
        + (f"; {n_unmapped} unmapped drug name(s) listed in unmapped_drugs" if n_unmapped else "")
    )
