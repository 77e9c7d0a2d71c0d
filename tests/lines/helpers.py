"""Building small cohorts for line tests from day offsets (day 0 = diagnosis = 2020-01-01)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from mmrwe.io.cohort import PATIENTS_SCHEMA, RESPONSES_SCHEMA, TREATMENTS_SCHEMA, Cohort

DAY0 = dt.date(2020, 1, 1)


def day(n: int) -> dt.date:
    return DAY0 + dt.timedelta(days=n)


def cohort_from_histories(histories: Sequence[dict]) -> Cohort:
    """A cohort from dicts with ``patient_id, last_contact, death, prior_lines, treatments`` and
    optionally ``progression`` (days of physician-recorded PD, rows of the responses table)."""
    patients, treatments, responses = [], [], []
    row = 0
    for i, h in enumerate(histories):
        patients.append(
            {
                "patient_id": h["patient_id"],
                "diagnosis_date": DAY0,
                "last_contact_date": day(h["last_contact"]),
                "death_date": day(h["death"]) if h.get("death") is not None else None,
                "prior_lines_before_data": h.get("prior_lines", 0),
                "source_row": i + 1,
            }
        )
        for pd_day in h.get("progression", []):
            responses.append((h["patient_id"], day(pd_day), "PD", len(responses) + 1))
        for name, start, end in h["treatments"]:
            row += 1
            treatments.append(
                {
                    "patient_id": h["patient_id"],
                    "drug": name,
                    "start_date": day(start),
                    "end_date": None if end < 0 else day(end),
                    "start_date_imputed": False,
                    "end_date_imputed": False,
                    "source_row": row,
                }
            )
    p = pl.DataFrame(
        patients, schema_overrides={k: v for k, v in PATIENTS_SCHEMA.items() if k in patients[0]}
    )
    t = pl.DataFrame(
        treatments,
        schema_overrides={k: v for k, v in TREATMENTS_SCHEMA.items() if k in treatments[0]},
    )
    p = p.select(
        [
            (pl.col(c) if c in p.columns else pl.lit(None)).cast(d).alias(c)
            for c, d in PATIENTS_SCHEMA.items()
        ]
    )
    t = t.select(
        [
            (pl.col(c) if c in t.columns else pl.lit(None)).cast(d).alias(c)
            for c, d in TREATMENTS_SCHEMA.items()
        ]
    )
    r = pl.DataFrame(responses, schema=RESPONSES_SCHEMA, orient="row")
    return Cohort(
        patients=p.sort("patient_id"),
        treatments=t.sort("patient_id", "start_date", "source_row"),
        responses=r.sort("patient_id", "date", "source_row"),
    )
