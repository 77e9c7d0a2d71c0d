"""ADSL: one record per patient (CDISC ADaM IG v1.3, section 3.2).

Every patient of ``patients`` has a record; ``FASFL`` is ``Y`` for the patients with an analysed
line (the study's population), and the index-line variables are those of the patient's first
analysed line (``INDXLINE``): its start (``TRTSDT``), index date (``INDEXDT``: the CAR-T infusion
when the study indexes CAR-T there), regimen (``TRT01A``), prior lines, and refractoriness and
exposure at its start (IMWG; Rajkumar SV et al., Blood 2011). Disease characteristics are those
recorded at diagnosis. Flags are ``Y``/``N`` (null when unknown), as the IG's ``*FL`` variables;
``DTHFL`` is ``Y`` or null, as SDTM DM's.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from mmrwe.adam.metadata import contract, schema
from mmrwe.errors import require_columns

ADSL_TABLE = contract("ADSL")
#: age (years, at index) from which a patient is in the older group (``AGEGR1``); the same cut
#: as the report's age subgroups
AGE_GROUP_CUT = 65
#: ADSL flag → ``analysis_lines`` column (at the index line's start)
INDEX_FLAGS: dict[str, str] = {
    "PRASCTFL": "prior_asct",
    "LENREFFL": "len_refractory",
    "PIREFFL": "pi_refractory",
    "CD38RFFL": "anti_cd38_refractory",
    "TCRFFL": "triple_class_refractory",
    "PENTRFFL": "penta_refractory",
    "TCEXPFL": "triple_class_exposed",
    "PENTEXFL": "penta_exposed",
}
PATIENT_COLUMNS = (
    "patient_id",
    "diagnosis_date",
    "last_contact_date",
    "death_date",
    "sex",
    "iss_stage",
    "r_iss_stage",
    "cytogenetic_risk",
    "ecog",
)
INDEX_COLUMNS = (
    "patient_id",
    "line",
    "start_date",
    "index_date",
    "regimen",
    "prior_lines",
    "age_at_index",
    *INDEX_FLAGS.values(),
)


def yes_no(expr: pl.Expr) -> pl.Expr:
    """A boolean as an ADaM flag: ``Y``, ``N``, null when unknown."""
    return pl.when(expr).then(pl.lit("Y")).when(expr.not_()).then(pl.lit("N"))


def index_lines(analysis_lines: pl.DataFrame) -> pl.DataFrame:
    """Each patient's first analysed line with the number of lines analysed (``n_lines``)."""
    return (
        analysis_lines.select(INDEX_COLUMNS)
        .sort("patient_id", "line")
        .group_by("patient_id", maintain_order=True)
        .agg(pl.all().first(), pl.len().alias("n_lines"))
    )


def to_adsl(
    patients: pl.DataFrame,
    analysis_lines: pl.DataFrame,
    *,
    study_id: str,
    data_cutoff: dt.date | None = None,
) -> pl.DataFrame:
    """ADSL records (:func:`mmrwe.adam.schema` ``"ADSL"``), one per patient in ``patients``
    order. ``analysis_lines``: the run's analysed lines (``select_population``)."""
    require_columns(patients, "patients", PATIENT_COLUMNS, "to_adsl")
    require_columns(analysis_lines, "analysis_lines", INDEX_COLUMNS, "to_adsl")
    index = index_lines(analysis_lines)
    frame = patients.select(PATIENT_COLUMNS).join(
        index, on="patient_id", how="left", maintain_order="left"
    )
    age = pl.col("age_at_index")
    return frame.select(
        pl.lit(study_id).alias("STUDYID"),
        pl.col("patient_id").alias("USUBJID"),
        pl.col("sex").alias("SEX"),
        age.alias("AGE"),
        pl.when(age.is_not_null()).then(pl.lit("YEARS")).alias("AGEU"),
        pl.when(age < AGE_GROUP_CUT)
        .then(pl.lit(f"<{AGE_GROUP_CUT}"))
        .when(age >= AGE_GROUP_CUT)
        .then(pl.lit(f">={AGE_GROUP_CUT}"))
        .alias("AGEGR1"),
        pl.col("diagnosis_date").alias("DIAGDT"),
        pl.col("iss_stage").alias("ISSSTG"),
        pl.col("r_iss_stage").alias("RISSSTG"),
        pl.col("cytogenetic_risk").alias("CYTORISK"),
        pl.col("ecog").alias("ECOGDX"),
        pl.col("line").alias("INDXLINE"),
        pl.col("start_date").alias("TRTSDT"),
        pl.col("index_date").alias("INDEXDT"),
        pl.col("regimen").alias("TRT01A"),
        pl.col("prior_lines").alias("PRIORLN"),
        *(yes_no(pl.col(column)).alias(flag) for flag, column in INDEX_FLAGS.items()),
        pl.col("n_lines").fill_null(0).alias("NANLINES"),
        pl.when(pl.col("death_date").is_not_null()).then(pl.lit("Y")).alias("DTHFL"),
        pl.col("death_date").alias("DTHDT"),
        pl.col("last_contact_date").alias("LSTALVDT"),
        pl.lit(data_cutoff, pl.Date).alias("DCUTDT"),
        yes_no(pl.col("line").is_not_null()).alias("FASFL"),
    ).cast(schema("ADSL"))
