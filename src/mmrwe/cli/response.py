"""``mmrwe response COHORT --out DIR``: lines of therapy plus IMWG response (Kumar 2016)."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from mmrwe.cli.app import app
from mmrwe.cli.common import info, progress
from mmrwe.cli.lines import read_and_derive_lines
from mmrwe.io.attrition import chain_attrition
from mmrwe.io.output import OutputDirectory, refuse_existing

#: optional tables this command reads and validates (patients and treatments always are)
RESPONSE_TABLES = ("labs", "responses")

PROGRESSION_SOURCE = (
    "earliest of lab-derived PD (IMWG, from the labs table) and recorded PD (responses table, "
    "response = PD); refractoriness also counts lines whose best response is below MR (SD, PD)"
)


@app.command("response")
def response_command(
    cohort: Path = typer.Argument(..., help="Cohort directory or DuckDB file."),
    out: Path = typer.Option(..., "--out", help="Output directory."),
    config: Path | None = typer.Option(
        None, "--config", help="Study TOML ([lines] and [response] overrides)."
    ),
    drug_map: Path | None = typer.Option(
        None, "--drug-map", help="User drug map CSV: name, generic_name, class."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing directory."),
) -> None:
    """Derive lines of therapy and IMWG response (Kumar 2016) and write lines (refractoriness
    with lab-derived PD), line_exposures, unmapped_drugs, assessments, line_response, attrition
    and manifest.json."""
    from mmrwe.lines import all_progression, derive_refractoriness, recorded_progression
    from mmrwe.response import derive_assessments, derive_line_response, progression_dates
    from mmrwe.response.attrition import response_attrition

    refuse_existing(out, overwrite)
    study, data, result, timings = read_and_derive_lines(cohort, config, drug_map, RESPONSE_TABLES)
    rules = study.response
    car_t_index = study.lines.car_t_index
    t0 = time.perf_counter()
    n_with_lines = result.lines["patient_id"].n_unique()
    with progress("assessing response", n_with_lines) as advance:
        assessments = derive_assessments(
            data.labs, result.lines, rules, car_t_index=car_t_index, on_progress=advance
        )
    line_response = derive_line_response(
        assessments, result.lines, data.responses, data.patients, rules, car_t_index=car_t_index
    )
    timings["response"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    lines = derive_refractoriness(
        result.lines,
        result.line_exposures,
        all_progression(progression_dates(line_response), recorded_progression(data.responses)),
        line_response.select("patient_id", "line", "best_response"),
        rules=study.lines,
    )
    timings["refractoriness"] = time.perf_counter() - t0
    with OutputDirectory(out, overwrite=overwrite, command="response") as output:
        output.write("lines", lines)
        output.write("line_exposures", result.line_exposures)
        output.write("unmapped_drugs", result.unmapped_drugs)
        output.write("assessments", assessments)
        output.write("line_response", line_response)
        output.write(
            "attrition",
            chain_attrition(
                data.attrition,
                result.attrition,
                response_attrition(data.labs, result.lines, line_response),
            ),
        )
        output.manifest["inputs"] = data.inputs
        output.manifest["input_rows"] = data.row_counts()
        output.manifest["config"] = study.model_dump(mode="json")
        output.manifest["drug_map"] = str(drug_map) if drug_map else None
        output.manifest["progression_source"] = PROGRESSION_SOURCE
        output.manifest["response_sources"] = (
            line_response["response_source"].value_counts().sort("response_source").rows()
        )
        output.manifest["timings_seconds"].update({k: round(v, 3) for k, v in timings.items()})
    counts = dict(line_response["response_source"].value_counts().rows())
    info(
        f"{line_response.height:,} lines for {n_with_lines:,} patients written to {out}: "
        f"{counts.get('labs', 0):,} judged on labs, {counts.get('physician', 0):,} on physician "
        f"responses, {counts.get('none', 0):,} not evaluable (NE)"
    )
