"""``mmrwe omop check URL``: what mmrwe reads from an OMOP CDM, before any run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from mmrwe.cli.app import app
from mmrwe.cli.common import info, progress, stdout

omop_app = typer.Typer(help="OMOP CDM v5.4 sources (docs/omop.md).", no_args_is_help=True)
app.add_typer(omop_app, name="omop")


@omop_app.command("check")
def check_command(
    url: str = typer.Argument(
        ..., help="omop+duckdb:///ABS/PATH/cdm.duckdb or omop+postgresql://USER:PW@HOST:PORT/DB"
    ),
    concept_map: Path | None = typer.Option(
        None, "--concept-map", help="Concept map CSV extending or overriding the shipped sets."
    ),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the numbers as JSON."),
) -> None:
    """The CDM version and schemas, persons with myeloma, rows mapped per table, unmapped drug
    names (top 20), concept-set codes the vocabulary lacks, unit problems and rows outside
    observation periods; exit 1 if the extracted cohort has validation errors."""
    from mmrwe.omop.check import omop_check

    with progress("reading the OMOP CDM", None):
        numbers = omop_check(url, concept_map)
    for table in _tables(numbers):
        stdout.print(table)
    if json_out is not None:
        json_out.write_text(json.dumps(numbers, indent=2, default=str))
        info(f"numbers written to {json_out}")
    if numbers["validation"]["errors"]:
        raise typer.Exit(1)


def _tables(n: dict[str, Any]) -> list[Table]:
    """The check's numbers as console tables."""
    head = Table(title="OMOP CDM", header_style="bold")
    head.add_column("measure")
    head.add_column("value", justify="right")
    for label, value in (
        ("location", n["url"]),
        ("CDM version", n["cdm_version"]),
        ("vocabulary version", n["vocabulary_version"]),
        ("cdm_schema / vocab_schema", f"{n['cdm_schema']} / {n['vocab_schema']}"),
        ("persons", f"{n['persons']:,}"),
        ("persons with multiple myeloma", f"{n['persons_with_myeloma']:,}"),
        ("patients read", f"{n['patients_read']:,}"),
        (
            "validation errors / warnings",
            f"{n['validation']['errors']} / {n['validation']['warnings']}",
        ),
    ):
        head.add_row(label, str(value))
    rows = Table(title="Rows of the myeloma persons", header_style="bold")
    for col in ("CDM table", "rows", "mapped", "outside every observation period"):
        rows.add_column(col, justify="right" if col != "CDM table" else "left")
    for name, r in n["rows"].items():
        rows.add_row(
            name, f"{r['myeloma_persons']:,}", f"{r['mapped']:,}", f"{n['excluded'].get(name, 0):,}"
        )
    out = [head, rows]
    out.append(_list("Drug names not mapped (top 20)", ("drug", "rows"), n["unmapped_drugs_top20"]))
    out.append(
        _list("Units that cannot be converted", ("test", "unit", "rows"), n["unit_problems"])
    )
    out.append(
        _list(
            "Concept-set codes not in the CDM's vocabulary",
            ("domain", "vocabulary_id", "concept_code", "mmrwe_name"),
            n["codes_not_in_vocabulary"],
        )
    )
    return out


def _list(title: str, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> Table:
    table = Table(title=title, header_style="bold")
    for col in columns:
        table.add_column(col)
    for r in rows:
        table.add_row(*(str(r[c]) for c in columns))
    if not rows:
        table.add_row(*(["none"] + [""] * (len(columns) - 1)))
    return table
