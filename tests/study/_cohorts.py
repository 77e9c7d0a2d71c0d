"""Hand-made cohorts for the review tests: a few patients, each with the regimens given."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

#: regimen → drugs (generic names of the vocabulary)
REGIMEN_DRUGS = {
    "Rd": ("lenalidomide", "dexamethasone"),
    "Kd": ("carfilzomib", "dexamethasone"),
    "Pd": ("pomalidomide", "dexamethasone"),
}


def write_cohort(
    path: Path,
    journeys: list[list[str]],
    *,
    fmt: str = "parquet",
    extra_treatments: list[dict[str, object]] = (),  # type: ignore[assignment]
) -> Path:
    """One patient per journey (``["Rd", "Kd"]``: Rd then Kd); lines of 200 days, 30 days apart,
    from 2019-02-01; diagnosis 2019-01-01, alive at 2023-12-31, born 1950. Patients are
    ``P000``, ``P001``, ...; ``extra_treatments`` rows are added as given."""
    path.mkdir(parents=True)
    patients, treatments, responses = [], [], []
    for i, journey in enumerate(journeys):
        pid = f"P{i:03d}"
        patients.append(
            {
                "patient_id": pid,
                "diagnosis_date": dt.date(2019, 1, 1),
                "last_contact_date": dt.date(2023, 12, 31),
                "death_date": None,
                "sex": "F" if i % 2 else "M",
                "birth_year": 1950,
            }
        )
        start = dt.date(2019, 2, 1)
        for regimen in journey:
            end = start + dt.timedelta(days=200)
            for drug in REGIMEN_DRUGS[regimen]:
                treatments.append(
                    {"patient_id": pid, "drug": drug, "start_date": start, "end_date": end}
                )
            for day in (60, 120):
                responses.append(
                    {
                        "patient_id": pid,
                        "date": start + dt.timedelta(days=day),
                        "response": "PR",
                    }
                )
            responses.append(
                {"patient_id": pid, "date": end + dt.timedelta(days=5), "response": "PD"}
            )
            start = end + dt.timedelta(days=30)
    treatments += list(extra_treatments)
    tables = {
        "patients": pl.DataFrame(
            patients,
            schema={
                "patient_id": pl.String,
                "diagnosis_date": pl.Date,
                "last_contact_date": pl.Date,
                "death_date": pl.Date,
                "sex": pl.String,
                "birth_year": pl.Int64,
            },
        ),
        "treatments": pl.DataFrame(
            treatments,
            schema={
                "patient_id": pl.String,
                "drug": pl.String,
                "start_date": pl.Date,
                "end_date": pl.Date,
            },
        ),
        "responses": pl.DataFrame(
            responses, schema={"patient_id": pl.String, "date": pl.Date, "response": pl.String}
        ),
    }
    for name, table in tables.items():
        if fmt == "csv":
            table.write_csv(path / f"{name}.csv")
        else:
            table.write_parquet(path / f"{name}.parquet")
    return path


def study_file(path: Path, text: str) -> Path:
    """A study TOML file with ``text``."""
    path.write_text(text, encoding="utf-8")
    return path
