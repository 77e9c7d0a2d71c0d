"""Hand-made OMOP CDM fragments built from published codes (not by mmrwe's renderer).

Codes: SNOMED 109989006 multiple myeloma, ICD-10-CM C90.00, LOINC 33358-3 serum monoclonal
protein and 25700-6 serum immunofixation, LOINC 36916-5 kappa free light chains, UCUM units,
SNOMED 10828004 Positive, RxNorm ingredients lenalidomide 342369 and bortezomib 358258 (CIBMTR, as
in mmrwe's drugs.csv). The branded and clinical drug concepts are the fixture's own (their codes
are not read: drugs roll up through concept_ancestor). Concept ids are arbitrary on purpose.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

D = dt.date

CONCEPTS = [
    # concept_id, name, domain, vocabulary, class, standard, code
    (11, "Multiple myeloma", "Condition", "SNOMED", "Disorder", "S", "109989006"),
    (
        12,
        "Multiple myeloma not having achieved remission",
        "Condition",
        "ICD10CM",
        "5-char billing code",
        None,
        "C90.00",
    ),
    (13, "Essential hypertension", "Condition", "SNOMED", "Disorder", "S", "59621000"),
    (21, "FEMALE", "Gender", "Gender", "Gender", "S", "F"),
    (22, "MALE", "Gender", "Gender", "Gender", "S", "M"),
    (31, "lenalidomide", "Drug", "RxNorm", "Ingredient", "S", "342369"),
    (32, "Revlimid 25 MG Oral Capsule", "Drug", "RxNorm", "Branded Drug", "S", "fixture-branded-1"),
    (33, "bortezomib", "Drug", "RxNorm", "Ingredient", "S", "358258"),
    (
        34,
        "bortezomib 3.5 MG Injection",
        "Drug",
        "RxNorm",
        "Clinical Drug",
        "S",
        "fixture-clinical-1",
    ),
    (35, "curcumin", "Drug", "RxNorm Extension", "Ingredient", "S", "fixture-ingredient-1"),
    (
        36,
        "curcumin 500 MG Oral Capsule",
        "Drug",
        "RxNorm Extension",
        "Clinical Drug",
        "S",
        "fixture-clinical-2",
    ),
    (
        37,
        "herbal tea (no ingredient)",
        "Drug",
        "RxNorm Extension",
        "Clinical Drug",
        "S",
        "fixture-clinical-3",
    ),
    (41, "Monoclonal protein", "Measurement", "LOINC", "Lab Test", "S", "33358-3"),
    (42, "Immunofixation", "Measurement", "LOINC", "Lab Test", "S", "25700-6"),
    (43, "Kappa light chains.free", "Measurement", "LOINC", "Lab Test", "S", "36916-5"),
    (
        44,
        "Monoclonal protein (local code)",
        "Measurement",
        "Local",
        "Lab Test",
        None,
        "MSPIKE-LOCAL",
    ),
    (51, "milligram per deciliter", "Unit", "UCUM", "Unit", "S", "mg/dL"),
    (52, "millimole per liter", "Unit", "UCUM", "Unit", "S", "mmol/L"),
    (53, "gram per deciliter", "Unit", "UCUM", "Unit", "S", "g/dL"),
    (61, "Positive", "Meas Value", "SNOMED", "Qualifier Value", "S", "10828004"),
]
ANCESTORS = [(31, 32, 1), (33, 34, 1), (35, 36, 1)] + [(c[0], c[0], 0) for c in CONCEPTS]

PERSONS = [(1, 21, 1950, "MRN-0001"), (2, 22, 1948, "MRN-0002"), (3, 21, 1960, "MRN-0003")]


def fragment() -> dict[str, pl.DataFrame]:
    """Person 1: myeloma by SNOMED; a branded lenalidomide exposure; a bortezomib exposure with
    days_supply only; curcumin (an ingredient outside mmrwe's vocabulary) and a drug without an
    ingredient; an exposure before every observation period; serum M-protein 1500 mg/dL; a
    positive serum IFE as a concept value; a kappa FLC in mmol/L (cannot be converted). Person 2:
    myeloma by ICD-10-CM source concept only. Person 3: hypertension only (no myeloma)."""
    concept = pl.DataFrame(
        CONCEPTS,
        schema=[
            "concept_id",
            "concept_name",
            "domain_id",
            "vocabulary_id",
            "concept_class_id",
            "standard_concept",
            "concept_code",
        ],
        orient="row",
    )
    drug = [  # id, person, concept, start, end, days_supply
        (1, 1, 32, D(2020, 2, 1), D(2020, 8, 1), None),
        (2, 1, 34, D(2020, 2, 1), None, 28),
        (3, 1, 36, D(2020, 3, 1), D(2020, 3, 10), None),
        (4, 1, 37, D(2020, 3, 1), D(2020, 3, 1), None),
        (5, 1, 32, D(2019, 6, 1), D(2019, 6, 30), None),
        (6, 2, 34, D(2021, 5, 1), None, None),
    ]
    meas = [  # id, person, concept, date, number, value concept, unit concept
        (1, 1, 41, D(2020, 1, 15), 1500.0, None, 51),
        (2, 1, 42, D(2020, 1, 15), None, 61, None),
        (3, 1, 43, D(2020, 1, 15), 3.0, None, 52),
    ]
    return {
        "person": pl.DataFrame(
            PERSONS,
            schema=["person_id", "gender_concept_id", "year_of_birth", "person_source_value"],
            orient="row",
        ).with_columns(race_concept_id=pl.lit(0), ethnicity_concept_id=pl.lit(0)),
        "observation_period": pl.DataFrame(
            [
                (1, 1, D(2020, 1, 1), D(2022, 12, 31)),
                (2, 2, D(2021, 1, 1), D(2023, 6, 30)),
                (3, 3, D(2020, 1, 1), D(2022, 12, 31)),
            ],
            schema=[
                "observation_period_id",
                "person_id",
                "observation_period_start_date",
                "observation_period_end_date",
            ],
            orient="row",
        ),
        "condition_occurrence": pl.DataFrame(
            [
                (1, 1, 11, D(2020, 1, 10), 0),
                (2, 2, 0, D(2021, 4, 1), 12),
                (3, 3, 13, D(2020, 5, 1), 0),
            ],
            schema=[
                "condition_occurrence_id",
                "person_id",
                "condition_concept_id",
                "condition_start_date",
                "condition_source_concept_id",
            ],
            orient="row",
        ),
        "drug_exposure": pl.DataFrame(
            drug,
            schema=[
                "drug_exposure_id",
                "person_id",
                "drug_concept_id",
                "drug_exposure_start_date",
                "drug_exposure_end_date",
                "days_supply",
            ],
            orient="row",
        ).with_columns(drug_source_concept_id=pl.lit(0)),
        "measurement": pl.DataFrame(
            meas,
            schema=[
                "measurement_id",
                "person_id",
                "measurement_concept_id",
                "measurement_date",
                "value_as_number",
                "value_as_concept_id",
                "unit_concept_id",
            ],
            orient="row",
        ),
        "concept": concept,
        "concept_ancestor": pl.DataFrame(
            ANCESTORS,
            schema=["ancestor_concept_id", "descendant_concept_id", "min_levels_of_separation"],
            orient="row",
        ),
        "cdm_source": pl.DataFrame(
            {"cdm_source_name": ["hand-made fragment"], "cdm_version": ["v5.4"]}
        ),
        "vocabulary": pl.DataFrame({"vocabulary_id": ["SNOMED", "LOINC", "RxNorm"]}),
    }


#: The concepts --write-omop resolves (docs/omop.md cites each): Treatment Regimen 32531
#: (Episode vocabulary, code OMOP4822256), "Episode algorithmically derived from EHR" 32545 (Type
#: Concept, found by name), and the CDM Field concepts of the two event ids (found by name; the ids
#: 1147094 and 1147082 are those public OMOP code uses). Codes written fixture-… are the
#: fixture's own and not read; the HemOnc regimen concept is mapped by a concept map in the test.
EPISODE_CONCEPTS = [
    (32531, "Treatment Regimen", "Episode", "Episode", "Episode", "S", "OMOP4822256"),
    (
        32545,
        "Episode algorithmically derived from EHR",
        "Type Concept",
        "Type Concept",
        "Type Concept",
        "S",
        "fixture-type-1",
    ),
    (
        1147094,
        "drug_exposure.drug_exposure_id",
        "Metadata",
        "CDM",
        "Field",
        "S",
        "fixture-field-1",
    ),
    (
        1147082,
        "procedure_occurrence.procedure_occurrence_id",
        "Metadata",
        "CDM",
        "Field",
        "S",
        "fixture-field-2",
    ),
    (38, "daratumumab", "Drug", "RxNorm", "Ingredient", "S", "1721947"),
    (39, "daratumumab 20 MG/ML Injection", "Drug", "RxNorm", "Clinical Drug", "S", "fixture-cd-4"),
    (71, "HPC autologous transplantation", "Procedure", "CPT4", "CPT4", "S", "38241"),
    (81, "Daratumumab monotherapy", "Regimen", "HemOnc", "Regimen", "S", "fixture-hemonc-1"),
]


def episode_fragment() -> dict[str, pl.DataFrame]:
    """Person 1 of :func:`fragment` with a treatment history whose lines are adjudicated by
    hand: lenalidomide (branded, id 1) and bortezomib (id 2) from 2020-02-01, curcumin (id 3,
    not myeloma therapy), an autologous transplant (CPT 38241, procedure 201) on 2020-08-01,
    then daratumumab (id 7) from 2021-06-01; the exposure before observation (id 5) is
    excluded. Person 2: bortezomib (id 6) from 2021-05-01."""
    tables = fragment()
    extra = pl.DataFrame(EPISODE_CONCEPTS, schema=tables["concept"].schema, orient="row")
    tables["concept"] = pl.concat([tables["concept"], extra])
    tables["concept_ancestor"] = pl.concat(
        [
            tables["concept_ancestor"],
            pl.DataFrame(
                [(38, 39, 1)] + [(c[0], c[0], 0) for c in EPISODE_CONCEPTS],
                schema=tables["concept_ancestor"].schema,
                orient="row",
            ),
        ]
    )
    drug = tables["drug_exposure"].filter(pl.col("drug_exposure_id") != 4)
    dara = pl.DataFrame(
        [(7, 1, 39, D(2021, 6, 1), D(2021, 11, 30), None)],
        schema=drug.drop("drug_source_concept_id").schema,
        orient="row",
    ).with_columns(drug_source_concept_id=pl.lit(0))
    tables["drug_exposure"] = pl.concat([drug, dara])
    tables["procedure_occurrence"] = pl.DataFrame(
        [(201, 1, 71, D(2020, 8, 1), 0)],
        schema=[
            "procedure_occurrence_id",
            "person_id",
            "procedure_concept_id",
            "procedure_date",
            "procedure_source_concept_id",
        ],
        orient="row",
    )
    return tables
