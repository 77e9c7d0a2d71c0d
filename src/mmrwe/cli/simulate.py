"""``mmrwe simulate``: write a calibrated synthetic RRMM cohort with its ground truth."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from mmrwe.cli.app import app
from mmrwe.cli.common import info, progress


class CohortFormat(StrEnum):
    parquet = "parquet"
    csv = "csv"
    omop = "omop"


@app.command("simulate")
def simulate_command(
    out: Path = typer.Option(
        ..., "--out", help="Directory to write the cohort into (--format omop: the .duckdb file)."
    ),
    patients: int = typer.Option(2000, "--patients", min=1, help="Number of patients."),
    seed: int = typer.Option(42, "--seed", help="Random seed (same seed, same files)."),
    format: CohortFormat = typer.Option(CohortFormat.parquet, "--format", help="Table format."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing directory."),
) -> None:
    """Write a synthetic cohort in the native format, with the simulator's truth in DIR/truth/;
    with --format omop, the same patients as an OMOP CDM v5.4 DuckDB file (docs/omop.md)."""
    from mmrwe.simulate import simulate_cohort

    if format is CohortFormat.omop:
        from mmrwe.omop.render import simulate_omop

        with progress("simulating patients", patients) as advance:
            n = simulate_omop(
                out, n_patients=patients, seed=seed, overwrite=overwrite, on_progress=advance
            )
        info(f"wrote {n:,} simulated patients as an OMOP CDM v5.4: omop+duckdb://{out.resolve()}")
        return

    with progress("simulating patients", patients) as advance:
        summary = simulate_cohort(
            out,
            n_patients=patients,
            seed=seed,
            format=format.value,
            overwrite=overwrite,
            on_progress=advance,
        )
    rows = ", ".join(f"{n:,} {t}" for t, n in summary.rows.items() if not t.startswith("truth/"))
    info(f"wrote {summary.n_patients:,} simulated patients ({rows}) and their truth to {out}")
