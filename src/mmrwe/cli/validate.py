"""``mmrwe validate COHORT``: check a cohort and print every problem."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from mmrwe.cli.app import app
from mmrwe.cli.common import CONCEPT_MAP_HELP, cohort_source, info, progress, stdout, warn
from mmrwe.io.problems import ValidationReport
from mmrwe.io.read import validate_cohort
from mmrwe.io.schema import TABLES

if TYPE_CHECKING:
    import polars as pl

    from mmrwe.vocab import Vocabulary

#: Unmapped drug names named on the ``run`` console (the rest are in ``unmapped_drugs``).
TOP_UNMAPPED = 5


@app.command("validate")
def validate_command(
    cohort: Path = typer.Argument(
        ...,
        help="Cohort directory (CSV/Parquet tables), DuckDB file, or OMOP CDM URL (docs/omop.md).",
    ),
    json_out: Path | None = typer.Option(
        None, "--json", help="Also write every problem (none left out) as JSON."
    ),
    drug_map: Path | None = typer.Option(
        None,
        "--drug-map",
        help="User drug map CSV (name, generic_name, class) to check with the cohort.",
    ),
    concept_map: Path | None = typer.Option(None, "--concept-map", help=CONCEPT_MAP_HELP),
    extract_date: str | None = typer.Option(
        None,
        "--extract-date",
        help="Data cut-off of the extract (YYYY-MM-DD): a later date is an error. Default: today.",
    ),
    delimiter: str = typer.Option(
        ",", "--delimiter", help="Character between the fields of the CSV tables, e.g. ';'."
    ),
) -> None:
    """Check a cohort directory; print a table of problems; exit 1 if any error."""
    report = ValidationReport()
    vocabulary = _vocabulary(drug_map, report)
    latest = _date(extract_date, "--extract-date")
    with progress("validating", len(TABLES)) as advance:
        result, found = validate_cohort(
            cohort_source(cohort, concept_map),
            extract_date=latest,
            vocabulary=vocabulary,
            on_progress=advance,
            delimiter=delimiter,
        )
    report.extend(found)
    print_report(report)
    if json_out is not None:
        report.write_json(json_out)
        info(f"every problem written to {json_out}")
    if result is not None:
        counts = ", ".join(f"{n:,} {t}" for t, n in result.row_counts().items())
        info(f"read {counts}")
    if not report.ok:
        raise typer.Exit(1)


def print_report(report: ValidationReport) -> None:
    """The listed problems as a table on stdout, the rows not listed counted, then the true
    totals in one line."""
    if report.problems:
        table = Table(show_lines=False, header_style="bold")
        for col in ("severity", "file", "column", "row", "value", "what", "fix"):
            table.add_column(col, overflow="fold")
        for p in report.problems:
            sev = "[red]error[/red]" if p.severity == "error" else "[yellow]warning[/yellow]"
            table.add_row(
                sev,
                p.file,
                p.column or "",
                "" if p.row is None else str(p.row),
                "" if p.value is None else p.value,
                p.what,
                p.fix,
            )
        stdout.print(table)
    for (check, file, column), more in sorted(report.omitted.items(), key=str):
        stdout.print(f"... and {more:,} more '{check}' rows in {file}, column {column}")
    if report.counts:
        stdout.print(
            "values read by documented rules: "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(report.counts.items()))
        )
    n_err, n_warn = report.n_errors(), report.n_warnings()
    verdict = "[red]invalid[/red]" if n_err else "[green]valid[/green]"
    listed = len(report.problems)
    shown = "" if listed == n_err + n_warn else f" ({listed:,} listed; --json writes every one)"
    stdout.print(f"{verdict}: {n_err:,} error(s), {n_warn:,} warning(s){shown}")


def unmapped_drugs_text(unmapped: pl.DataFrame, top: int = TOP_UNMAPPED) -> str | None:
    """One console sentence on the drug names outside the vocabulary (``unmapped_drugs``: drug,
    rows, patients; most rows first; counts as published, small ones suppressed), or ``None``
    when there are none."""
    if unmapped.height == 0:
        return None
    names = ", ".join(
        f"{r['drug']} ({r['rows']} rows)" for r in unmapped.head(top).iter_rows(named=True)
    )
    more = f" and {unmapped.height - top:,} more" if unmapped.height > top else ""
    return (
        f"{unmapped.height:,} drug names are not in the vocabulary, so their rows are not "
        f"therapy (they open no line): {names}{more} (all in unmapped_drugs). Map those that are "
        "myeloma therapy, such as an investigational drug, with --drug-map."
    )


def warn_unmapped_drugs(unmapped: pl.DataFrame | None) -> None:
    """Warn on the console about the drug names a run left unmapped (if any)."""
    text = None if unmapped is None else unmapped_drugs_text(unmapped)
    if text:
        warn(text)


def _vocabulary(drug_map: Path | None, report: ValidationReport) -> Vocabulary | None:
    """The vocabulary extended by the user drug map; a map that cannot be used is a
    ``drug_map`` error in ``report`` (and the names are then not checked)."""
    from mmrwe.errors import MmrweError
    from mmrwe.vocab import load_vocabulary, read_drug_map

    vocabulary = load_vocabulary()
    if drug_map is None:
        return vocabulary
    try:
        return vocabulary.with_drug_map(read_drug_map(drug_map, vocabulary))
    except MmrweError as exc:
        report.flag("drug_map", str(drug_map), what=str(exc))
        return None


def _date(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date YYYY-MM-DD", param_hint=option) from None
