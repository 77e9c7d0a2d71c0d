"""``mmrwe response COHORT --out DIR``: lines of therapy plus IMWG response (Kumar 2016)."""

from __future__ import annotations

from pathlib import Path

import typer

from mmrwe.cli.app import app
from mmrwe.cli.common import (
    CONCEPT_MAP_HELP,
    DELIMITER_HELP,
    cohort_source,
    engine_option,
    info,
    run_chain,
    spark_master_option,
)
from mmrwe.cli.validate import warn_unmapped_drugs


@app.command("response")
def response_command(
    cohort: Path = typer.Argument(
        ..., help="Cohort directory, DuckDB file, or OMOP CDM URL (docs/omop.md)."
    ),
    out: Path = typer.Option(..., "--out", help="Output directory."),
    config: Path | None = typer.Option(
        None, "--config", help="Study TOML ([lines] and [response] overrides)."
    ),
    drug_map: Path | None = typer.Option(
        None, "--drug-map", help="User drug map CSV: name, generic_name, class."
    ),
    concept_map: Path | None = typer.Option(None, "--concept-map", help=CONCEPT_MAP_HELP),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing directory."),
    csv: bool = typer.Option(
        False, "--csv", help="Patient-level tables as CSV too (always Parquet)."
    ),
    delimiter: str = typer.Option(",", "--delimiter", help=DELIMITER_HELP),
    engine: str = engine_option(),
    spark_master: str | None = spark_master_option(),
) -> None:
    """Derive lines of therapy and IMWG response (Kumar 2016) and write lines (refractoriness
    with lab-derived PD), line_exposures, assessments and line_response (OUT/patient_level/),
    unmapped_drugs, attrition and manifest.json (OUT/shareable/)."""
    result = run_chain(
        cohort_source(cohort, concept_map),
        out,
        "response",
        config=config,
        drug_map=drug_map,
        overwrite=overwrite,
        csv=csv,
        delimiter=delimiter,
        engine=engine,
        spark_master=spark_master,
    )
    population = result.population
    assert population is not None
    counts = population.response_sources
    info(
        f"{population.counts['line_response']:,} lines for {population.patients_with_lines:,} "
        f"patients written to {out}: {counts.get('labs', 0):,} judged on labs, "
        f"{counts.get('physician', 0):,} on physician responses, {counts.get('none', 0):,} not "
        "evaluable (NE)"
    )
    warn_unmapped_drugs(population.unmapped_drugs)
