"""The follow-up cut-off: the cohort as it was known on a date.

Everything dated after the cut-off is ignored, so that no later information (a later
progression, a confirming assessment, a death) reaches the analysis:

- patients diagnosed after the cut-off are excluded;
- last contact becomes the earlier of last contact and the cut-off; a death after the cut-off is
  not known (the patient is alive at the cut-off);
- treatments started after the cut-off are dropped; treatments still running at the cut-off
  become ongoing (end date empty: ongoing at last contact);
- labs, responses and adverse events dated after the cut-off are dropped.

Every dropped patient and row is counted in the attrition table.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import polars as pl

from mmrwe.io.attrition import attrition_table
from mmrwe.io.cohort import Cohort

#: the date column of each optional table compared with the cut-off
EVENT_DATES = {"labs": "date", "responses": "date", "adverse_events": "onset_date"}


def apply_data_cutoff(cohort: Cohort, cutoff: dt.date | None) -> tuple[Cohort, pl.DataFrame]:
    """The cohort truncated at ``cutoff`` and its attrition (no steps when ``cutoff`` is None)."""
    if cutoff is None:
        return cohort, attrition_table([])
    n = cohort.n_patients
    kept = cohort.patients.filter(pl.col("diagnosis_date") <= cutoff)
    patients = kept.with_columns(
        pl.min_horizontal("last_contact_date", pl.lit(cutoff)).alias("last_contact_date"),
        pl.when(pl.col("death_date") <= cutoff).then(pl.col("death_date")).alias("death_date"),
    )
    ids = patients.select("patient_id")
    steps = [(n, n - kept.height, 0, f"patients diagnosed after the data cut-off {cutoff}")]
    changes: dict[str, pl.DataFrame] = {"patients": patients}
    treatments = cohort.treatments.join(ids, on="patient_id", how="semi")
    before = cohort.treatments.height
    treatments = treatments.filter(pl.col("start_date") <= cutoff).with_columns(
        pl.when(pl.col("end_date") <= cutoff).then(pl.col("end_date")).alias("end_date")
    )
    changes["treatments"] = treatments
    steps.append(
        (
            kept.height,
            0,
            before - treatments.height,
            f"treatment rows started after the data cut-off {cutoff} (or of excluded patients)",
        )
    )
    for name, column in EVENT_DATES.items():
        table = cohort.table(name)
        out = table.join(ids, on="patient_id", how="semi").filter(pl.col(column) <= cutoff)
        changes[name] = out
        steps.append(
            (
                kept.height,
                0,
                table.height - out.height,
                f"{name} rows dated after the data cut-off {cutoff} (or of excluded patients)",
            )
        )
    return dataclasses.replace(cohort, **changes), attrition_table(steps)
