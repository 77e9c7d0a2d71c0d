"""``mmrwe reconstruct-ipd --curve CURVE.csv --at-risk RISK.csv [--total-events N] --out IPD.csv``.

Guyot et al. (BMC Med Res Methodol 2012;12:9) reconstruction of patient data from a digitised
Kaplan–Meier curve (``time,surv``; ``surv`` a proportion 0–1) and the numbers at risk printed under
it (``time,n_risk``). Writes ``time,event`` rows sorted by time; prints n, events and the median of
the reconstructed curve. Contract: ``docs/cli.md``; method: ``docs/compare.md``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import typer

from mmrwe.cli.app import app
from mmrwe.cli.common import stdout, warn
from mmrwe.cli.km import read_table
from mmrwe.errors import OutputExistsError


def _total_events(value: int | None) -> int | None:
    if value is not None and value < 0:
        raise typer.BadParameter(f"must be a whole number >= 0 (got {value}).")
    return value


@app.command("reconstruct-ipd")
def reconstruct_ipd_command(
    curve: Path = typer.Option(
        ...,
        "--curve",
        exists=True,
        dir_okay=False,
        help="Digitised curve, CSV with columns time,surv (surv a proportion 0-1).",
    ),
    at_risk: Path = typer.Option(
        ...,
        "--at-risk",
        exists=True,
        dir_okay=False,
        help="Numbers at risk, CSV with columns time,n_risk; the first row at time 0.",
    ),
    out: Path = typer.Option(..., "--out", dir_okay=False, help="Output CSV of time,event rows."),
    total_events: int | None = typer.Option(
        None, "--total-events", callback=_total_events, help="Total events reported for the arm."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out file."),
) -> None:
    """Reconstruct patient-level data from a published Kaplan–Meier curve (Guyot et al. 2012)."""
    from mmrwe.compare.reconstruct import ReconstructionWarning, reconstruct_ipd
    from mmrwe.stats import KaplanMeier

    if out.exists() and not overwrite:
        raise OutputExistsError(
            f"The output file '{out}' already exists. Choose another --out, remove it, or pass "
            "--overwrite to replace it."
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ReconstructionWarning)
        ipd = reconstruct_ipd(
            read_table(curve),
            read_table(at_risk),
            total_events,
            curve_source=f"'{curve}'",
            at_risk_source=f"'{at_risk}'",
        )
    for w in caught:
        if issubclass(w.category, ReconstructionWarning):
            warn(str(w.message))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    ipd.write_csv(tmp)
    os.replace(tmp, out)
    events = int(ipd["event"].sum())
    km = KaplanMeier().fit(ipd["time"], ipd["event"])
    median = km.median_[0]
    shown = "not reached" if median is None else f"{median:.4g}"
    stdout.print(
        f"Reconstructed {ipd.height} patients, {events} events; median of the reconstructed "
        f"Kaplan–Meier curve {shown} (time unit of the curve). Written to {out}",
        highlight=False,
    )
