"""``mmrwe demo``: the whole product on a simulated cohort, with no data of your own."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import typer
from rich.table import Table

from mmrwe.cli.app import app
from mmrwe.cli.common import info, progress, stdout
from mmrwe.io.cohort import Cohort
from mmrwe.io.output import refuse_existing
from mmrwe.io.read import read_cohort
from mmrwe.io.schema import TABLES

#: counts below this are printed as <11 (aggregate output; CMS cell-size rule)
SMALL_CELL = 11


@app.command("demo")
def demo_command(
    out: Path = typer.Option(Path("mmrwe-demo"), "--out", help="Directory for the demo's outputs."),
    patients: int = typer.Option(2000, "--patients", min=1, help="Number of simulated patients."),
    seed: int = typer.Option(42, "--seed", help="Random seed."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing directory."),
) -> None:
    """Simulate a calibrated cohort, read and validate it, derive lines of therapy, and print a
    summary."""
    from mmrwe.lines import derive_lines_of_therapy
    from mmrwe.simulate import simulate_cohort

    refuse_existing(out, overwrite)
    cohort_dir = out / "cohort"
    out.mkdir(parents=True, exist_ok=True)
    with progress("simulating patients", patients) as advance:
        simulate_cohort(
            cohort_dir, n_patients=patients, seed=seed, overwrite=True, on_progress=advance
        )
    info(f"simulated cohort: {cohort_dir}")
    with progress("reading and validating", len(TABLES)) as advance:
        cohort = read_cohort(cohort_dir, on_progress=advance)
    stdout.print(cohort_summary(cohort))
    with progress("deriving lines of therapy", cohort.n_patients) as advance:
        lines = derive_lines_of_therapy(cohort, on_progress=advance).lines
    stdout.print(lines_summary(lines))
    n_warn = len(cohort.report.warnings)
    info(
        f"validation: no errors, {n_warn} warning(s) (the simulator writes partial dates as real "
        f"data has them); run 'mmrwe validate {cohort_dir}' to list them"
    )


def count(n: int, threshold: int = SMALL_CELL) -> str:
    """A count as printed in aggregate output: below the small-cell threshold as ``<11``."""
    return f"<{threshold}" if 0 < n < threshold else f"{n:,}"


def lines_summary(lines: pl.DataFrame, top: int = 3) -> Table:
    """Patients starting each line and their most frequent regimens (no identifiers)."""
    table = Table(title="Lines of therapy (IMWG rules)", header_style="bold")
    table.add_column("line", justify="right")
    table.add_column("patients", justify="right")
    table.add_column(f"most frequent regimens (top {top})")
    by_line = lines.group_by("line").agg(pl.len().alias("n")).sort("line")
    for line, n in by_line.filter(pl.col("line") <= 6).iter_rows():
        regimens = (
            lines.filter(pl.col("line") == line)
            .group_by("regimen")
            .agg(pl.len().alias("n"))
            .sort(["n", "regimen"], descending=[True, False])
            .head(top)
        )
        text = ", ".join(f"{r} {count(k)}" for r, k in regimens.iter_rows())
        table.add_row(str(line), count(n), text)
    return table


def cohort_summary(cohort: Cohort) -> Table:
    """A short table describing a cohort (no patient identifiers)."""
    p = cohort.patients
    years = p.select(
        pl.col("diagnosis_date").dt.year().min().alias("a"),
        pl.col("diagnosis_date").dt.year().max().alias("b"),
    ).row(0)
    deaths = p["death_date"].is_not_null().sum()
    follow = p.select(
        (
            (pl.col("last_contact_date") - pl.col("diagnosis_date")).dt.total_days() / 30.4375
        ).median()
    ).item()
    table = Table(title="Simulated RRMM cohort", header_style="bold")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("patients", f"{p.height:,}")
    table.add_row("diagnosed", f"{years[0]}–{years[1]}")
    table.add_row("deaths", f"{deaths:,} ({deaths / max(p.height, 1):.0%})")
    table.add_row("median time from diagnosis to last contact (months)", f"{follow:.1f}")
    for name in ("treatments", "labs", "responses", "adverse_events"):
        table.add_row(f"{name} rows", f"{cohort.table(name).height:,}")
    return table
