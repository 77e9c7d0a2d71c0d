"""One hand-made CDM fragment per mapping path (tests/omop/fragments.py), read by read_omop.

Expected values are adjudicated from the fragment and the mapping rules of docs/omop.md, not from
mmrwe's output: e.g. a 28-day days_supply from 2020-02-01 ends on 2020-02-28 (start + supply − 1,
the OMOP drug_exposure convention), 1500 mg/dL is 1.5 g/dL.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from mmrwe.io.output import run_file
from mmrwe.omop import read_omop
from mmrwe.omop.render import write_duckdb
from mmrwe.study import run_study

from .fragments import D, fragment


@pytest.fixture(scope="module")
def cdm(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("fragment") / "cdm.duckdb"
    write_duckdb(fragment(), path)
    return f"omop+duckdb://{path}"


@pytest.fixture(scope="module")
def cohort(cdm: str):
    return read_omop(cdm, tables=["labs"])


def _step(attrition: pl.DataFrame, reason: str) -> dict:
    return attrition.filter(pl.col("reason").str.starts_with(reason)).row(0, named=True)


def test_person_without_myeloma_is_excluded_and_counted(cohort) -> None:
    assert cohort.patients["patient_id"].to_list() == ["1", "2"]  # 2: by ICD-10-CM source only
    step = _step(cohort.attrition, "persons without a multiple-myeloma condition")
    assert (step["patients_before"], step["patients_excluded"]) == (3, 1)


def test_diagnosis_is_first_myeloma_condition_and_follow_up_the_observation(cohort) -> None:
    p = cohort.patients.row(0, named=True)
    assert p["diagnosis_date"] == dt.date(2020, 1, 10)
    assert p["last_contact_date"] == dt.date(2022, 12, 31)
    assert p["sex"] == "F" and p["birth_year"] == 1950


def test_branded_drug_rolls_up_to_its_ingredient(cohort) -> None:
    t = cohort.treatments.filter(pl.col("patient_id") == "1")
    len_rows = t.filter(pl.col("drug") == "lenalidomide")
    assert len_rows.select("start_date", "end_date").rows() == [
        (dt.date(2020, 2, 1), dt.date(2020, 8, 1))
    ]


def test_days_supply_only_exposure_ends_at_start_plus_supply_minus_one(cohort) -> None:
    t = cohort.treatments.filter((pl.col("patient_id") == "1") & (pl.col("drug") == "bortezomib"))
    assert t["end_date"].to_list() == [dt.date(2020, 2, 28)]


def test_exposure_without_end_or_supply_is_a_one_day_record(cohort) -> None:
    t = cohort.treatments.filter(pl.col("patient_id") == "2")
    assert t.select("start_date", "end_date").rows() == [(dt.date(2021, 5, 1), dt.date(2021, 5, 1))]


def test_exposure_outside_every_observation_period_is_excluded_and_counted(cohort) -> None:
    t = cohort.treatments.filter(pl.col("patient_id") == "1")
    assert dt.date(2019, 6, 1) not in t["start_date"].to_list()
    assert _step(cohort.attrition, "drug_exposure rows dated outside")["rows_excluded"] == 1


def test_m_protein_in_mg_per_dl_is_converted_to_g_per_dl(cohort) -> None:
    m = cohort.labs.filter(pl.col("test") == "serum_m_protein")
    assert m.select("value", "unit").rows() == [(1.5, "g/dL")]


def test_ife_from_value_as_concept(cohort) -> None:
    ife = cohort.labs.filter(pl.col("test") == "serum_ife")
    assert ife["result"].cast(pl.String).to_list() == ["positive"]


def test_unconvertible_unit_is_excluded_and_counted(cohort) -> None:
    assert cohort.labs.filter(pl.col("test") == "kappa_flc").height == 0
    step = _step(cohort.attrition, "measurement rows whose unit cannot be converted")
    assert step["rows_excluded"] == 1
    problems = cohort.inputs[0]["omop_mapping"]["unit_problems"]
    assert problems == [{"test": "kappa_flc", "unit": "mmol/L", "rows": 1}]


def test_unmapped_ingredient_and_drug_without_ingredient_are_counted(
    cdm: str, tmp_path: Path
) -> None:
    result = run_study(cdm, tmp_path / "run", stop_after="lines")
    unmapped = result.population.unmapped_drugs
    assert set(unmapped["drug"]) == {"curcumin", "no RxNorm ingredient: herbal tea (no ingredient)"}


def test_person_source_value_never_leaves_the_database(cdm: str, tmp_path: Path) -> None:
    run_study(cdm, tmp_path / "run", stop_after="lines")
    for f in (tmp_path / "run").rglob("*"):
        if f.is_file():
            assert b"MRN-" not in f.read_bytes(), f.name


def test_adjudicated_first_line_from_a_hand_made_cdm(cdm: str, tmp_path: Path) -> None:
    """Lenalidomide (branded) and bortezomib start the same day: one line (Rajkumar 2011,
    drugs started within the regimen window belong to one line), opened 2020-02-01."""
    run_study(cdm, tmp_path / "run", stop_after="lines")
    lines = pl.read_parquet(run_file(tmp_path / "run", "lines.parquet")).filter(
        pl.col("patient_id") == "1"
    )
    first = lines.row(0, named=True)
    assert first["start_date"] == dt.date(2020, 2, 1)
    assert first["drugs"] == "bortezomib;lenalidomide"


def test_user_concept_map_adds_a_local_code(tmp_path: Path) -> None:
    """A local measurement code mapped by --concept-map (user rows extend the shipped sets)."""
    tables = fragment()
    tables["measurement"] = tables["measurement"].with_columns(
        measurement_concept_id=pl.when(pl.col("measurement_id") == 1)
        .then(44)
        .otherwise(pl.col("measurement_concept_id"))
    )
    path = tmp_path / "cdm.duckdb"
    write_duckdb(tables, path)
    url = f"omop+duckdb://{path}"
    assert (
        read_omop(url, tables=["labs"]).labs.filter(pl.col("test") == "serum_m_protein").is_empty()
    )
    cmap = tmp_path / "map.csv"
    cmap.write_text(
        "domain,vocabulary_id,concept_code,mmrwe_name,unit\n"
        "measurement,Local,MSPIKE-LOCAL,serum_m_protein,\n"
    )
    labs = read_omop(url, concept_map=cmap, tables=["labs"]).labs
    assert labs.filter(pl.col("test") == "serum_m_protein")["value"].to_list() == [1.5]


def test_validation_messages_name_the_cdm_table_column_and_person(tmp_path: Path) -> None:
    """A drug exposure ending before it starts (drug_exposure_id 1 of person 1) and a serum
    M-protein with a negative value (measurement_id 1): the messages name the CDM table, its
    column, the row's id and the person_id, never the staged files."""
    from mmrwe.omop.source import validate_omop

    tables = fragment()
    tables["drug_exposure"] = tables["drug_exposure"].with_columns(
        drug_exposure_end_date=pl.when(pl.col("drug_exposure_id") == 1)
        .then(dt.date(2020, 1, 20))
        .otherwise(pl.col("drug_exposure_end_date"))
    )
    tables["measurement"] = tables["measurement"].with_columns(
        value_as_number=pl.when(pl.col("measurement_id") == 1)
        .then(-1500.0)
        .otherwise(pl.col("value_as_number"))
    )
    path = tmp_path / "cdm.duckdb"
    write_duckdb(tables, path)
    _, report = validate_omop(f"omop+duckdb://{path}", tables=["labs"])
    errors = [p.sentence() for p in report.errors]
    assert len(errors) == 2, errors
    drug = next(e for e in errors if "ends before it starts" in e)
    assert drug.startswith(
        "drug_exposure (drug_exposure_id 1, person_id 1), column 'drug_exposure_end_date'"
    ), drug
    assert "drug_exposure_start_date or drug_exposure_end_date" in drug, drug
    lab = next(e for e in errors if e is not drug)
    assert lab.startswith("measurement (measurement_id 1, person_id 1), column 'value_as_number"), (
        lab
    )
    assert not any("part-" in e or ".parquet" in e for e in errors), errors


def test_exposure_ending_on_the_last_observed_day_is_ongoing(tmp_path: Path) -> None:
    """Decision (docs/omop.md): the CDM cannot hold an open exposure (drug_exposure_end_date is
    required) and nothing after the end of observation is seen, so an exposure ending on (or
    after) the person's last observed day is ongoing at the last contact (TTD censored there);
    one ending the day before stopped (a discontinuation)."""
    tables = fragment()
    extra = pl.DataFrame(
        [
            (8, 1, 34, D(2022, 6, 1), D(2022, 12, 31), None),  # ends on the last observed day
            (9, 1, 32, D(2022, 6, 1), D(2022, 12, 30), None),  # the day before
            (10, 2, 34, D(2023, 1, 1), D(2024, 3, 1), None),  # beyond the end (2023-06-30)
        ],
        schema=tables["drug_exposure"].drop("drug_source_concept_id").schema,
        orient="row",
    ).with_columns(drug_source_concept_id=pl.lit(0))
    tables["drug_exposure"] = pl.concat([tables["drug_exposure"], extra])
    path = tmp_path / "cdm.duckdb"
    write_duckdb(tables, path)
    tr = read_omop(f"omop+duckdb://{path}").treatments
    late = tr.filter(pl.col("start_date") >= dt.date(2022, 6, 1)).sort("patient_id", "drug")
    assert late.select("patient_id", "drug", "end_date").rows() == [
        ("1", "bortezomib", None),
        ("1", "lenalidomide", dt.date(2022, 12, 30)),
        ("2", "bortezomib", None),
    ]
