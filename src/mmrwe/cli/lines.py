"""``mmrwe lines COHORT --out DIR``: lines of therapy with refractoriness from recorded PD."""

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


@app.command("lines")
def lines_command(
    cohort: Path = typer.Argument(
        ..., help="Cohort directory, DuckDB file, or OMOP CDM URL (docs/omop.md)."
    ),
    out: Path = typer.Option(..., "--out", help="Output directory."),
    config: Path | None = typer.Option(None, "--config", help="Study TOML ([lines] overrides)."),
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
    """Derive lines of therapy (IMWG, Rajkumar 2011) and write lines and line_exposures
    (OUT/patient_level/), unmapped_drugs, attrition and manifest.json (OUT/shareable/). Reads and validates patients, treatments and
    responses (recorded PD for refractoriness)."""
    result = run_chain(
        cohort_source(cohort, concept_map),
        out,
        "lines",
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
    info(
        f"{population.counts['lines']:,} lines for {population.patients_with_lines:,} patients "
        f"written to {out}"
    )
    warn_unmapped_drugs(population.unmapped_drugs)
