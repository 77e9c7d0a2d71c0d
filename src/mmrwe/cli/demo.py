"""``mmrwe demo``: the whole product on a simulated cohort, with no data of your own."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from mmrwe.cli.app import app
from mmrwe.cli.common import info, progress, stdout, warn
from mmrwe.errors import MmrweError
from mmrwe.io.output import refuse_existing


@app.command("demo")
def demo_command(
    out: Path = typer.Option(Path("mmrwe-demo"), "--out", help="Directory for the demo's outputs."),
    patients: int = typer.Option(2000, "--patients", min=1, help="Number of simulated patients."),
    seed: int = typer.Option(42, "--seed", help="Random seed."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing directory."),
    omop: bool = typer.Option(
        False, "--omop", help="Go through OMOP: the cohort as a CDM v5.4 DuckDB (OUT/cdm.duckdb)."
    ),
) -> None:
    """The whole product on simulated data: simulate a calibrated cohort (OUT/cohort), run the
    default study, outcomes by line of therapy (OUT/run, with shareable/report.html), set its Isa-Pd
    patients (OUT/isa-pd) beside ICARIA-MM's published figures, and print a summary."""
    import shutil

    from mmrwe.cli.run import outcome_table
    from mmrwe.compare.run import compare_run
    from mmrwe.io.output import RunLayout, run_file
    from mmrwe.report.html import build_report
    from mmrwe.simulate import simulate_cohort
    from mmrwe.study import run_study

    refuse_existing(out, overwrite)
    if out.exists():
        shutil.rmtree(out)
    cohort_dir, run_dir = out / "cohort", out / "run"
    out.mkdir(parents=True)
    with progress("simulating patients", patients) as advance:
        simulate_cohort(cohort_dir, n_patients=patients, seed=seed, on_progress=advance)
    info(f"simulated cohort (synthetic data, no real patient): {cohort_dir}")
    source: Path | str = cohort_dir
    if omop:
        from mmrwe.omop.render import render_cohort, write_duckdb

        write_duckdb(render_cohort(cohort_dir), out / "cdm.duckdb")
        source = f"omop+duckdb://{(out / 'cdm.duckdb').resolve()}"
        info(f"the same patients as an OMOP CDM v5.4, read through OMOP: {source}")
    with progress("analysing patients", patients) as advance:
        result = run_study(
            source,  # type: ignore[arg-type]
            run_dir,
            on_stage=lambda name: info(f"{name} ..."),
            on_progress=advance,
        )
    info("comparison: the simulated Isa-Pd cohort against ICARIA-MM (Attal 2019) ...")
    isa_dir = out / "isa-pd"
    try:
        run_study(source, isa_dir, config="isa-pd", report=False)  # type: ignore[arg-type]
        comparison = RunLayout(run_dir).shareable / "comparisons" / "icaria-mm"
        compare_run(isa_dir, comparison, trial="icaria-mm", arm="isa-pd")
    except MmrweError as exc:  # e.g. too few Isa-Pd patients in a small demo cohort
        warn(f"comparison with ICARIA-MM skipped: {exc}")
    build_report(run_dir)
    stdout.print(run_summary({**result.patient_level, **result.manifest}))
    stdout.print(outcome_table(result.summaries["summary_by_line"], result.study.study.name))
    info(f"report: {run_file(run_dir, 'report.html')}")


def run_summary(manifest: dict) -> Table:  # type: ignore[type-arg]
    """What went in and what came out of a run (counts of rows, no identifiers)."""
    table = Table(title="Simulated RRMM cohort, analysed", header_style="bold")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, rows in manifest["input_rows"].items():
        table.add_row(f"{name} rows read", f"{rows:,}")
    analysed = manifest["analysed"]
    table.add_row("patients analysed", _count(analysed["patients"]))
    table.add_row("lines of therapy analysed", _count(analysed["lines"]))
    table.add_row("figures", f"{len(manifest['figures'])}")
    return table


def _count(value: int | str) -> str:
    """A count of the manifest: a number, or its small-cell text (``<11``)."""
    return f"{value:,}" if isinstance(value, int) else str(value)
