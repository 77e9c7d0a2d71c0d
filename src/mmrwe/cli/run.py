"""``mmrwe run COHORT --out DIR``: the whole analysis of a study."""

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
    stdout,
    warn,
)
from mmrwe.cli.validate import warn_unmapped_drugs


@app.command("run")
def run_command(
    cohort: Path = typer.Argument(
        ..., help="Cohort directory, DuckDB file, or OMOP CDM URL (docs/omop.md)."
    ),
    out: Path = typer.Option(..., "--out", help="Output directory."),
    config: Path | None = typer.Option(
        None,
        "--config",
        help="Study TOML, or the name of a shipped example (outcomes-by-line, isa-pd, ide-cel, "
        "...). Default: outcomes by line.",
    ),
    drug_map: Path | None = typer.Option(
        None, "--drug-map", help="User drug map CSV: name, generic_name, class."
    ),
    concept_map: Path | None = typer.Option(None, "--concept-map", help=CONCEPT_MAP_HELP),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing directory."),
    csv: bool = typer.Option(
        False, "--csv", help="Patient-level tables as CSV too (always Parquet)."
    ),
    xpt: bool | None = typer.Option(
        None,
        "--xpt/--no-xpt",
        help="ADaM datasets as SAS transport files (.xpt) too. Default: when they hold at most "
        "5,000,000 rows (about 80,000 patients; docs/adam.md).",
    ),
    delimiter: str = typer.Option(",", "--delimiter", help=DELIMITER_HELP),
    no_report: bool = typer.Option(False, "--no-report", help="Tables only: no figures, no HTML."),
    engine: str = engine_option(),
    ledger: Path | None = typer.Option(
        None,
        "--ledger",
        help="Release ledger of the cohort (a JSON file, created when absent): the counts "
        "earlier runs of the same input files published. The run protects its small cells "
        "against them too and records its own release (docs/privacy.md). Without it, "
        "releases of one cohort are protected one by one only.",
    ),
    write_omop: bool = typer.Option(
        False,
        "--write-omop",
        help="OMOP CDM source only: also write the lines as OMOP episode and episode_event rows "
        "(patient-level files; docs/omop.md).",
    ),
    omop_target_schema: str | None = typer.Option(
        None,
        "--omop-target-schema",
        help="With --write-omop: also load episode and episode_event into this schema of the "
        "CDM's database (created if absent; never the CDM or vocabulary schema).",
    ),
    spark_master: str | None = spark_master_option(),
) -> None:
    """Run the whole study: lines of therapy, IMWG response, endpoints per line, the analysed
    population: patient-level tables under OUT/patient_level/, and summary tables (small cells
    suppressed), figures, report.html and manifest.json under OUT/shareable/ (audited before
    success: what may leave the site)."""
    source = cohort_source(cohort, concept_map)
    result = run_chain(
        source,
        out,
        "population",
        config=config,
        drug_map=drug_map,
        overwrite=overwrite,
        delimiter=delimiter,
        report=not no_report,
        csv=csv,
        engine=engine,
        spark_master=spark_master,
        ledger=ledger,
        write_omop=omop_settings(source, write_omop, omop_target_schema, overwrite),
        xpt=xpt,
    )
    for note in [*result.manifest.get("warnings", []), *result.patient_level.get("warnings", [])]:
        warn(note)
    stdout.print(outcome_table(result.summaries["summary_by_line"], result.study.study.name))
    from mmrwe.io.output import run_file

    report = run_file(out, "report.html")
    info(f"written to {out}" + (f"; report: {report}" if report.exists() else ""))
    warn_unmapped_drugs(result.summaries.get("unmapped_drugs"))


def omop_settings(source: Path | str, write: bool, target: str | None, overwrite: bool):  # type: ignore[no-untyped-def]
    """``--write-omop`` / ``--omop-target-schema`` as :class:`mmrwe.omop.writeback.WriteOmop`
    (``None`` without ``--write-omop``); refused for a source that is not an OMOP CDM."""
    from mmrwe.errors import ParameterError
    from mmrwe.omop.url import is_omop_url
    from mmrwe.omop.writeback import WriteOmop

    if target is not None and not write:
        raise ParameterError("--omop-target-schema goes with --write-omop.")
    if not write:
        return None
    if not is_omop_url(source):
        raise ParameterError(
            f"--write-omop writes OMOP episodes back for an OMOP CDM source (omop+duckdb://…, "
            f"omop+postgresql://…), not for the cohort '{source}'."
        )
    return WriteOmop(str(source), target, replace=overwrite)


def outcome_table(summary_by_line, title: str):  # type: ignore[no-untyped-def]
    """The run's headline as a terminal table: patients and median PFS/OS per group."""
    import polars as pl
    from rich.table import Table

    table = Table(title=title, header_style="bold")
    table.add_column("group")
    table.add_column("patients", justify="right")
    for endpoint in ("PFS", "OS"):
        table.add_column(f"median {endpoint}, months (95 % CI)", justify="right")
    wide = summary_by_line.sort("group_order")
    for group in wide["group"].unique(maintain_order=True):
        rows = {
            r["endpoint"]: r for r in wide.filter(pl.col("group") == group).iter_rows(named=True)
        }
        cells = []
        for endpoint in ("PFS", "OS"):
            cells.append(median_text(rows[endpoint]) if endpoint in rows else "")
        first = next(iter(rows.values()))
        table.add_row(str(group), str(first["n_patients"]), *cells)
    return table


def median_text(row: dict) -> str:  # type: ignore[type-arg]
    """'11.1 (9.0–13.2)'; a median not reached is NR, a limit that cannot be estimated NE,
    e.g. 'NR (24.3–NE)'; 'withheld' for a suppressed group."""

    def fmt(x: object, missing: str = "NE") -> str:
        return missing if x is None else f"{x:.1f}"

    if not str(row["n_patients"]).isdigit():
        return "withheld (small group)"
    median = fmt(row["median_months"], "NR")
    return f"{median} ({fmt(row['median_lower'])}–{fmt(row['median_upper'])})"
