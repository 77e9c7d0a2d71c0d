"""``mmrwe compare RUN_DIR --trial NAME --arm ARM --out DIR``: a run's cohort beside a trial."""

from __future__ import annotations

from pathlib import Path

import typer

from mmrwe.cli.app import app
from mmrwe.cli.common import info, stdout, warn


@app.command("compare")
def compare_command(
    run_dir: Path = typer.Argument(..., help="Output directory of `mmrwe run`."),
    trial: str = typer.Option(
        ..., "--trial", help="Trial of the benchmark library, e.g. icaria-mm."
    ),
    arm: str = typer.Option(..., "--arm", help="Arm of the trial, e.g. isa-pd."),
    out: Path = typer.Option(..., "--out", help="Output directory."),
    endpoint: str = typer.Option("PFS", "--endpoint", help="PFS, OS, DOR or TTNT."),
    match_on: str = typer.Option(
        "",
        "--match-on",
        help="Comma-separated published characteristics to match on (MAIC): median_age, "
        "median_prior_lines, triple_class_refractory, penta_refractory, "
        "high_risk_cytogenetics, r_iss_iii, ecog_0, ecog_1, ecog_2_plus, prior_asct (each "
        "where the arm publishes it). Empty: unadjusted.",
    ),
    trial_ipd: Path | None = typer.Option(
        None,
        "--trial-ipd",
        help="Trial patient data (time in months, event), e.g. from "
        "`mmrwe reconstruct-ipd`. Without it: medians and landmark rates only.",
    ),
    bootstrap: int = typer.Option(1000, "--bootstrap", min=0, help="Bootstrap resamples."),
    seed: int = typer.Option(2010, "--seed", help="Seed of the bootstrap."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing directory."),
) -> None:
    """Compare the real-world cohort of a run with a trial arm of the benchmark library:
    unadjusted and MAIC-weighted (Signorovitch 2010), against reconstructed trial patient data
    (Guyot 2012) or the published median and rates. Writes comparison, balance, weights,
    published, figures/comparison.png|svg, comparison.html and manifest.json (all aggregate);
    under RUN_DIR/shareable/comparisons/ it also becomes a section of the run's report."""
    from mmrwe.compare.run import compare_run

    names = tuple(n.strip() for n in match_on.split(",") if n.strip())
    result = compare_run(
        run_dir,
        out,
        trial=trial,
        arm=arm,
        endpoint=endpoint,
        match_on=names,
        trial_ipd=trial_ipd,
        n_bootstrap=bootstrap,
        seed=seed,
        overwrite=overwrite,
    )
    for message in result.warnings:
        warn(message)
    stdout.print(comparison_table(result.tables["comparison"]))
    info(f"written to {out}; page: {out / 'comparison.html'}")


#: the comparison's columns in the words of the report (``report/comparison_tables.py``)
WORDS = {
    "hr": "Hazard ratio",
    "lower": "Lower limit",
    "upper": "Upper limit",
    "lower_boot": "Lower limit (bootstrap)",
    "upper_boot": "Upper limit (bootstrap)",
    "n_boot": "Bootstrap samples used",
    "ess": "Effective sample size",
    "n_rw": "Real-world patients",
    "n_trial": "Trial patients",
    "median_rw": "Median, real world (months)",
    "median_trial": "Median, trial (months)",
    "conf_level": "Confidence level",
    "time": "Time (months)",
    "rw_unadjusted": "Real world, unadjusted",
    "rw_weighted": "Real world, MAIC-weighted",
    "rw_weighted_lower": "Lower limit, weighted",
    "rw_weighted_upper": "Upper limit, weighted",
    "trial_published": "Trial, published",
    "difference": "Difference (weighted − trial)",
    "note": "Note",
}
#: the analyses' names in words
ANALYSES = {"unadjusted": "Unadjusted", "weighted": "MAIC-weighted"}


def comparison_table(comparison):  # type: ignore[no-untyped-def]
    """The comparison as a terminal table in the report's words: one column per analysis or
    measure; a value that does not apply is blank (never 'None')."""
    from rich.table import Table

    table = Table(
        title=f"{comparison['trial'][0]}: {comparison['endpoint'][0]}", header_style="bold"
    )
    table.add_column("")
    for row in comparison.iter_rows(named=True):
        name = str(row.get("analysis") or row.get("measure"))
        table.add_column(ANALYSES.get(name, name.capitalize()), justify="right")
    skip = {"trial", "endpoint", "analysis", "measure"}
    for column in comparison.columns:
        if column in skip:
            continue
        values = comparison[column].to_list()
        cells = [
            "" if v is None else f"{v:.3g}" if isinstance(v, float) else str(v) for v in values
        ]
        table.add_row(WORDS.get(column, column.replace("_", " ").capitalize()), *cells)
    return table
