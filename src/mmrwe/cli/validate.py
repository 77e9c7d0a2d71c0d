"""``mmrwe validate COHORT``: check a cohort and print every problem."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from mmrwe.cli.app import app
from mmrwe.cli.common import info, progress, stdout
from mmrwe.io.problems import ValidationReport
from mmrwe.io.read import validate_cohort
from mmrwe.io.schema import TABLES


@app.command("validate")
def validate_command(
    cohort: Path = typer.Argument(
        ..., help="Cohort directory (CSV/Parquet tables) or DuckDB file."
    ),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the problems as JSON."),
    drug_map: Path | None = typer.Option(
        None,
        "--drug-map",
        help="User drug map CSV (name, generic_name, class) to check with the cohort.",
    ),
) -> None:
    """Check a cohort directory; print a table of problems; exit 1 if any error."""
    with progress("validating", len(TABLES)) as advance:
        result, report = validate_cohort(cohort, on_progress=advance)
    if drug_map is not None:
        _check_drug_map(drug_map, report)
    print_report(report)
    if json_out is not None:
        report.write_json(json_out)
        info(f"problems written to {json_out}")
    if result is not None:
        counts = ", ".join(f"{n:,} {t}" for t, n in result.row_counts().items())
        info(f"read {counts}")
    if not report.ok:
        raise typer.Exit(1)


def print_report(report: ValidationReport) -> None:
    """The problems as a table on stdout, then one summary line."""
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
    n_err, n_warn = report.n_errors(), len(report.warnings)
    verdict = "[red]invalid[/red]" if n_err else "[green]valid[/green]"
    stdout.print(f"{verdict}: {n_err:,} error(s), {n_warn:,} warning(s) listed")


def _check_drug_map(path: Path, report: ValidationReport) -> None:
    """Validate a user drug map with the vocabulary stage, adding its problems to ``report``."""
    from mmrwe.errors import MmrweError
    from mmrwe.io.problems import Problem

    try:
        from mmrwe.vocab import read_drug_map

        read_drug_map(path)
    except MmrweError as exc:
        report.add(
            Problem(
                "error", "drug_map", str(path), None, None, None, str(exc), "correct the drug map"
            )
        )
