"""Variable metadata of the ADaM datasets: name, label and type, as the ADaM IG lays them out.

Names, labels and types follow the CDISC Analysis Data Model Implementation Guide v1.3 (CDISC,
2021; ADSL and BDS variables) and the ADaM Basic Data Structure for Time-to-Event Analyses v1.0
(CDISC, 2012; ``STARTDT``, ``CNSR``, ``EVNTDESC``, ``CNSDTDSC``, ``SRCDOM``, ``SRCVAR``). Variables
the guides do not name (myeloma disease characteristics, refractoriness, the line of therapy)
are sponsor-defined with names of at most 8 characters and labels of at most 40, as the SAS
transport v5 format requires. Every variable is documented in docs/adam.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

#: SAS transport v5 limits (SAS Technical Support TS-140): names, labels, dataset names
MAX_NAME, MAX_LABEL, MAX_DATASET_NAME = 8, 40, 8


@dataclass(frozen=True)
class Variable:
    """One ADaM variable: its name, label and Polars type (text is SAS character; numbers and
    dates are SAS numeric, dates with the ``DATE9.`` format)."""

    name: str
    label: str
    dtype: pl.DataType


def _vars(*rows: tuple[str, str, pl.DataType]) -> tuple[Variable, ...]:
    return tuple(Variable(*row) for row in rows)


TEXT, INT, DATE = pl.String(), pl.Int64(), pl.Date()

STUDY_KEYS = _vars(
    ("STUDYID", "Study Identifier", TEXT),
    ("USUBJID", "Unique Subject Identifier", TEXT),
)

ADSL = STUDY_KEYS + _vars(
    ("SEX", "Sex", TEXT),
    ("AGE", "Age", INT),
    ("AGEU", "Age Units", TEXT),
    ("AGEGR1", "Pooled Age Group 1", TEXT),
    ("DIAGDT", "Date of Initial Diagnosis", DATE),
    ("ISSSTG", "ISS Stage at Diagnosis", TEXT),
    ("RISSSTG", "R-ISS Stage at Diagnosis", TEXT),
    ("CYTORISK", "Cytogenetic Risk at Diagnosis", TEXT),
    ("ECOGDX", "ECOG Performance Status at Diagnosis", INT),
    ("INDXLINE", "Index Line of Therapy", INT),
    ("TRTSDT", "Date of First Exposure to Treatment", DATE),
    ("INDEXDT", "Index Date", DATE),
    ("TRT01A", "Actual Treatment for Period 01", TEXT),
    ("PRIORLN", "Number of Prior Lines of Therapy", INT),
    ("PRASCTFL", "Prior Autologous Transplant Flag", TEXT),
    ("LENREFFL", "Lenalidomide-Refractory Flag", TEXT),
    ("PIREFFL", "Proteasome Inhibitor-Refractory Flag", TEXT),
    ("CD38RFFL", "Anti-CD38-Refractory Flag", TEXT),
    ("TCRFFL", "Triple-Class-Refractory Flag", TEXT),
    ("PENTRFFL", "Penta-Refractory Flag", TEXT),
    ("TCEXPFL", "Triple-Class-Exposed Flag", TEXT),
    ("PENTEXFL", "Penta-Exposed Flag", TEXT),
    ("NANLINES", "Number of Analysed Lines of Therapy", INT),
    ("DTHFL", "Subject Death Flag", TEXT),
    ("DTHDT", "Date of Death", DATE),
    ("LSTALVDT", "Date Last Known Alive", DATE),
    ("DCUTDT", "Data Cutoff Date", DATE),
    ("FASFL", "Full Analysis Set Population Flag", TEXT),
)

ADTTE = STUDY_KEYS + _vars(
    ("PARAMCD", "Parameter Code", TEXT),
    ("PARAM", "Parameter", TEXT),
    ("PARAMN", "Parameter (N)", INT),
    ("PARCAT1", "Parameter Category 1", TEXT),
    ("LINE", "Line of Therapy", INT),
    ("STARTDT", "Time-to-Event Origin Date for Subject", DATE),
    ("ADT", "Analysis Date", DATE),
    ("ADTF", "Analysis Date Imputation Flag", TEXT),
    ("AVAL", "Analysis Value", INT),
    ("AVALU", "Analysis Value Unit", TEXT),
    ("CNSR", "Censor", pl.Int8()),
    ("EVNTDESC", "Event or Censoring Description", TEXT),
    ("CNSDTDSC", "Censor Date Description", TEXT),
    ("SRCDOM", "Source Data", TEXT),
    ("SRCVAR", "Source Variable", TEXT),
)

ADRS = STUDY_KEYS + _vars(
    ("PARAMCD", "Parameter Code", TEXT),
    ("PARAM", "Parameter", TEXT),
    ("PARAMN", "Parameter (N)", INT),
    ("PARCAT1", "Parameter Category 1", TEXT),
    ("LINE", "Line of Therapy", INT),
    ("ADT", "Analysis Date", DATE),
    ("AVALC", "Analysis Value (C)", TEXT),
    ("AVAL", "Analysis Value", INT),
    ("CNFRMFL", "Confirmed Response Flag", TEXT),
    ("RSSRC", "Source of Response Assessment", TEXT),
)

#: dataset name → (label, variables)
DATASETS: dict[str, tuple[str, tuple[Variable, ...]]] = {
    "ADSL": ("Subject-Level Analysis Dataset", ADSL),
    "ADTTE": ("Time-to-Event Analysis Dataset", ADTTE),
    "ADRS": ("Response Analysis Dataset", ADRS),
}


def contract(dataset: str):  # type: ignore[no-untyped-def]
    """The run's table contract of one dataset (its file name in lower case)."""
    from mmrwe.contract import TableContract

    return TableContract(dataset.lower(), schema(dataset))


def schema(dataset: str) -> dict[str, pl.DataType]:
    """Column name → Polars type of one dataset, in its variable order."""
    return {v.name: v.dtype for v in DATASETS[dataset][1]}


def labels(dataset: str) -> dict[str, str]:
    """Column name → label of one dataset."""
    return {v.name: v.label for v in DATASETS[dataset][1]}
