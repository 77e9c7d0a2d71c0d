"""``derive_lines_of_therapy``: lines of therapy from drug exposures, with an audit trail.

Data flow (integer arrays inside, tables at the end): treatments → vocabulary mapping once per
distinct name → exposures (:mod:`mmrwe.lines.exposures`: patient and drug codes, days as
integers, ongoing ends filled with the last contact) → line starts (the compiled state machine of
:mod:`mmrwe.lines.kernel`) → lines (ends, rule 8) and their pieces of exposures (every exposure
split at line boundaries, rule 9) → what each line holds and the rule that opened it, in words
(:mod:`mmrwe.lines.describe`) → ``lines`` and ``line_exposures``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import polars as pl

from mmrwe.contract import TableContract
from mmrwe.io.attrition import attrition_table
from mmrwe.io.cohort import NO_PATIENT, TREATMENTS_TABLE, Cohort, patient_index
from mmrwe.lines import kernel as K
from mmrwe.lines import line_kernel as LK
from mmrwe.lines.describe import Pieces, describe_lines, start_rule
from mmrwe.lines.exposures import (
    NULL_DAY,
    DrugTable,
    Exposures,
    days,
    drug_table,
    exposures,
    sort_order,
)
from mmrwe.lines.rules import (
    ROLE_BRIDGING,
    ROLE_LYMPHODEPLETION,
    ROLE_PREPARATION,
    ROLE_REGIMEN,
    LineRules,
)
from mmrwe.vocab import Vocabulary, load_vocabulary, read_drug_map
from mmrwe.vocab.mapping import drug_lookup, unmapped_drugs

#: ``lines`` as derived (one row per patient and line; refractoriness is added by
#: :data:`mmrwe.lines.refractory.LINES_TABLE`)
DERIVED_LINES_TABLE = TableContract(
    "lines",
    {
        "patient_id": pl.String(),
        "line": pl.Int64(),
        "start_date": pl.Date(),
        "end_date": pl.Date(),
        "end_reason": pl.String(),
        "regimen": pl.String(),
        "maintenance": pl.String(),
        "drugs": pl.String(),
        "drug_classes": pl.String(),
        "includes_asct": pl.Boolean(),
        "includes_car_t": pl.Boolean(),
        "infusion_date": pl.Date(),
        "prior_lines": pl.Int64(),
        "start_rule": pl.String(),
        "start_rule_code": pl.Int64(),
    },
)
#: ``line_exposures``: every exposure split at line boundaries (rule 9), one row per piece
LINE_EXPOSURES_TABLE = TableContract(
    "line_exposures",
    {
        "patient_id": pl.String(),
        "line": pl.Int64(),
        "drug": pl.String(),
        "drug_class": pl.String(),
        "start_date": pl.Date(),
        "end_date": pl.Date(),
        "role": pl.String(),
        "source_row": pl.Int64(),
    },
)
LINE_COLUMNS = list(DERIVED_LINES_TABLE.columns)
#: ``line_exposures.role`` of each role code of the line kernel
ROLE_WORDS = {
    K.ROLE_NONE: ROLE_REGIMEN,
    K.ROLE_TRANSPLANT_PREP: ROLE_PREPARATION,
    K.ROLE_LYMPHODEPLETION: ROLE_LYMPHODEPLETION,
    K.ROLE_BRIDGING: ROLE_BRIDGING,
}


@dataclass
class LinesOfTherapy:
    """Result of :func:`derive_lines_of_therapy`: documented tables (``docs/lines.md``)."""

    lines: pl.DataFrame
    line_exposures: pl.DataFrame
    unmapped_drugs: pl.DataFrame
    attrition: pl.DataFrame


def derive_lines_of_therapy(
    cohort: Cohort,
    rules: LineRules | None = None,
    *,
    drug_map: str | Path | pl.DataFrame | None = None,
    vocabulary: Vocabulary | None = None,
    progression: pl.DataFrame | None = None,
) -> LinesOfTherapy:
    """Derive lines of therapy by the IMWG consensus rules (Rajkumar 2011), rules 1-10.

    ``drug_map`` is a user drug map (a CSV path ``name, generic_name, class``, or the table
    :func:`mmrwe.vocab.read_drug_map` returns). ``lines`` has one row per patient and line;
    ``line_exposures`` one row per exposure and line it falls in. Refractoriness flags are added
    by :func:`mmrwe.lines.derive_refractoriness`. Patients are independent: a large cohort is
    run in partitions of whole patients by :mod:`mmrwe.pipeline`.
    ``progression`` (``patient_id, date``) is the documented progression that ends a planned
    transplant sequence (rule 5); by default the physician-recorded PD of ``cohort.responses``.
    :func:`rederive_after_lab_progression` adds lab-derived PD in a second pass.
    """
    rules = rules or LineRules()
    vocabulary = vocabulary or load_vocabulary()
    if drug_map is not None:
        if not isinstance(drug_map, pl.DataFrame):
            drug_map = read_drug_map(drug_map, vocabulary)
        vocabulary = vocabulary.with_drug_map(drug_map)
    treatments = cohort.treatments
    TREATMENTS_TABLE.require(treatments, "derive_lines_of_therapy", ("patient_id", "drug"))
    name_code, distinct = drug_lookup(treatments["drug"], vocabulary)
    unmapped = unmapped_drugs(treatments, name_code, distinct)
    patients = cohort.patients.select(
        "patient_id", "last_contact_date", "death_date", "prior_lines_before_data"
    ).sort("patient_id")
    # inside the stage a patient is its rank among the sorted ids (mmrwe.io.patient_index) and a
    # drug its rank among the generic names (DrugTable): integer sorts and searches instead of
    # string ones; ids and names are put back at the end
    ids = patients["patient_id"]
    drugs, drug_of_name = drug_table(distinct, rules)
    ex = exposures(
        treatments,
        patient_index(ids, treatments["patient_id"]),
        drug_of_name[name_code],
        drugs,
        days(patients["last_contact_date"]),
        rules,
    )
    progression = _coded_progression(cohort, progression, ids)
    lines, pieces = _derive_partition(ex, drugs, patients, rules, vocabulary, progression)
    lines = _decode(lines, ids)
    line_exposures = _line_exposures(pieces, lines, ids, drugs)
    attrition = _attrition(cohort, lines, distinct, name_code, pieces)
    return LinesOfTherapy(lines, line_exposures, unmapped, attrition)


def _coded_progression(
    cohort: Cohort, progression: pl.DataFrame | None, ids: pl.Series
) -> pl.DataFrame:
    """Progression days (``patient_id`` as its :func:`patient_index` among the sorted ``ids``,
    ``day``) sorted, once each: the given table, or the cohort's physician-recorded PD."""
    if progression is None:  # physician-recorded PD (mmrwe.lines.recorded_progression)
        progression = cohort.responses.filter(pl.col("response") == "PD")
    return (
        pl.DataFrame(
            {
                "patient_id": patient_index(ids, progression["patient_id"]),
                "day": progression["date"].cast(pl.Int64),
            }
        )
        .filter(pl.col("patient_id") != NO_PATIENT)
        .unique()
        .sort("patient_id", "day")
    )


def _decode(df: pl.DataFrame, ids: pl.Series) -> pl.DataFrame:
    """Put the patient ids back in place of their integer codes."""
    return df.with_columns(ids.gather(df["patient_id"]).alias("patient_id"))


def _decode(df: pl.DataFrame, ids: pl.Series) -> pl.DataFrame:
    """Put the patient ids back in place of their integer codes."""
    return df.with_columns(ids.gather(df["patient_id"]).alias("patient_id"))


def _days(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.Int64)


def _date(day: np.ndarray, name: str) -> pl.Series:
    """Int64 days as a Date column (:data:`NULL_DAY` → null)."""
    return pl.Series(name, day).set(pl.Series(day == NULL_DAY), None).cast(pl.Date)


class LineFrame(NamedTuple):
    """The lines of a partition in patient and line order (rule 8), as arrays."""

    patient: np.ndarray  # int64 patient code
    line: np.ndarray  # int64 line number (prior lines before the data included)
    start: np.ndarray  # int64 start day
    end: np.ndarray  # int64 end day (NULL_DAY: no end known)
    end_reason: np.ndarray  # int64 index into END_REASONS


#: ``lines.end_reason`` by code (rule 8)
END_REASONS = ("next_line", "death", "last_contact")


def _derive_partition(
    ex: Exposures,
    drugs: DrugTable,
    patients: pl.DataFrame,
    rules: LineRules,
    vocabulary: Vocabulary,
    progression: pl.DataFrame,
) -> tuple[pl.DataFrame, Pieces]:
    """Lines (integer-coded patients) and their pieces of exposures of one partition;
    ``progression``: coded ``patient_id, day`` of documented progression, sorted."""
    therapy = np.flatnonzero(ex.kind >= 0)
    arrays, patient_of_segment = _kernel_exposures(ex, therapy, drugs)
    pd = _kernel_progression(progression, patient_of_segment)
    out = K.open_lines(arrays, pd, K.KernelRules.from_rules(rules))
    frame = _line_frame(out, patient_of_segment, patients)
    role = np.full(len(ex.kind), K.ROLE_NONE, np.int64)  # steroids: ordinary, at their start
    anchor = ex.start.copy()
    role[therapy], anchor[therapy] = out.role, out.anchor
    # PREP drugs only where rules 5-6 gave them a role (conditioning, mobilisation, lymphodepletion)
    kept = (ex.kind != K.PREP) | (role == K.ROLE_TRANSPLANT_PREP) | (role == K.ROLE_LYMPHODEPLETION)
    pieces = _split_exposures(ex, np.flatnonzero(kept), role, anchor, frame)
    contents = describe_lines(pieces, frame.start, drugs, rules, vocabulary)
    trigger = therapy[out.trigger]
    n = len(frame.line)
    lines = pl.DataFrame(
        {
            "patient_id": frame.patient,
            "line": frame.line,
            "start_date": _date(frame.start, "start_date"),
            "end_date": _date(frame.end, "end_date"),
            "end_reason": pl.Series(END_REASONS).gather(frame.end_reason) if n else [],
            "regimen": contents.regimen,
            "maintenance": contents.maintenance,
            "drugs": contents.drugs,
            "drug_classes": contents.drug_classes,
            "includes_asct": contents.includes_asct,
            "includes_car_t": contents.includes_car_t,
            "infusion_date": _date(contents.infusion, "infusion_date"),
            "prior_lines": frame.line - 1,
            "trigger_drug": drugs.name.gather(ex.drug[trigger]) if n else [],
            "trigger_date": _date(ex.start[trigger], "trigger_date"),
            "rule_value": out.value,
            "start_detail": out.detail,
            "progression_date": _date(
                np.where(out.progression == K.NEVER, NULL_DAY, out.progression), "p"
            ),
            "start_rule_code": out.rule,
        },
        schema_overrides={"end_reason": pl.String, "trigger_drug": pl.String},
    )
    return lines.with_columns(start_rule(lines, rules)).select(LINE_COLUMNS), pieces


def _kernel_exposures(
    ex: Exposures, therapy: np.ndarray, drugs: DrugTable
) -> tuple[K.KernelExposures, np.ndarray]:
    """The kernel's input arrays (the rows ``therapy`` of ``ex``), and each segment's patient."""
    pid = ex.patient[therapy]
    bounds = (
        np.flatnonzero(np.r_[True, pid[1:] != pid[:-1], True])
        if len(pid)
        else np.zeros(1, np.int64)
    )
    drug = ex.drug[therapy]
    arrays = K.KernelExposures(
        bounds=bounds.astype(np.int64),
        start=ex.start[therapy],
        end=ex.end[therapy],
        episode_start=ex.episode_start[therapy],
        drug=drug,
        kind=ex.kind[therapy],
        is_conditioning=drugs.is_conditioning[drug],
        is_mobilisation=drugs.is_mobilisation[drug],
        is_lymphodepletion=drugs.is_lymphodepletion[drug],
        n_drugs=max(len(drugs.kind), 1),
    )
    return arrays, pid[bounds[:-1]]


def _kernel_progression(progression: pl.DataFrame, patients: np.ndarray) -> K.KernelProgression:
    """Each kernel patient's progression days: ``day[first[p]:stop[p]]``."""
    pid = progression["patient_id"].to_numpy().astype(np.int64)
    return K.KernelProgression(
        first=np.searchsorted(pid, patients, side="left").astype(np.int64),
        stop=np.searchsorted(pid, patients, side="right").astype(np.int64),
        day=progression["day"].to_numpy().astype(np.int64),
    )


def _line_frame(
    out: K.LineStarts, patient_of_segment: np.ndarray, patients: pl.DataFrame
) -> LineFrame:
    """Line numbers and ends (rule 8): the day before the next line, death, or last contact.
    The kernel gives each patient's lines in order, patients in code order."""
    patient = patient_of_segment[out.patient]
    n = len(patient)
    new = np.r_[True, patient[1:] != patient[:-1]] if n else np.zeros(0, np.bool_)
    group_first = (
        np.maximum.accumulate(np.where(new, np.arange(n), 0)) if n else new.astype(np.int64)
    )
    # an empty prior_lines_before_data is 0, as the reader reads it (mmrwe.io.checks)
    prior = patients["prior_lines_before_data"].cast(pl.Int64).fill_null(0).to_numpy()[patient]
    line = np.arange(n) - group_first + 1 + prior
    has_next = np.r_[~new[1:], False] if n else new
    next_start = np.r_[out.start[1:], 0] if n else out.start
    death = days(patients["death_date"])[patient]
    contact = days(patients["last_contact_date"])[patient]
    end = np.where(has_next, next_start - 1, np.where(death != NULL_DAY, death, contact))
    reason = np.where(has_next, 0, np.where(death != NULL_DAY, 1, 2))
    return LineFrame(patient, line.astype(np.int64), out.start, end, reason)


def _split_exposures(
    ex: Exposures, rows: np.ndarray, role: np.ndarray, anchor: np.ndarray, lines: LineFrame
) -> Pieces:
    """Rule 9: every exposure day in exactly one line; lymphodepletion goes whole to its CAR-T
    line (:func:`mmrwe.lines.line_kernel.split_exposures` over the exposures ``rows``)."""
    by_start = sort_order([lines.patient, lines.start], np.arange(len(lines.start)))
    exposure, line, start, end = LK.split_exposures(
        LK.SplitInput(
            patient=ex.patient[rows],
            start=ex.start[rows],
            end=ex.end[rows],
            anchor=anchor[rows],
            lymphodepletion=role[rows] == K.ROLE_LYMPHODEPLETION,
            drug=ex.drug[rows],
            source_row=ex.source_row[rows],
            line_patient=lines.patient[by_start],
            line_start=lines.start[by_start],
            line_end=lines.end[by_start],
            line_number=lines.line[by_start],
        )
    ).T
    row, line_row = rows[exposure], by_start[line]
    return Pieces(
        line_row=line_row,
        drug=ex.drug[row],
        kind=ex.kind[row],
        role=role[row],
        start=start,
        end=end,
        started_in_line=ex.start[row] >= lines.start[line_row],
        source_row=ex.source_row[row],
        treatment_row=ex.row[row],
    )


def _line_exposures(
    pieces: Pieces, lines: pl.DataFrame, ids: pl.Series, drugs: DrugTable
) -> pl.DataFrame:
    """The ``line_exposures`` table of the pieces (``lines``: decoded, in the pieces' line order)."""
    roles = pl.Series([ROLE_WORDS[r] for r in sorted(ROLE_WORDS)])
    at = pl.Series(pieces.line_row)
    return pl.DataFrame(
        {
            "patient_id": lines["patient_id"].gather(at),
            "line": lines["line"].gather(at),
            "drug": drugs.name.gather(pieces.drug),
            "drug_class": drugs.drug_class.gather(pieces.drug),
            "start_date": _date(pieces.start, "start_date"),
            "end_date": _date(pieces.end, "end_date"),
            "role": roles.gather(pieces.role),
            "source_row": pieces.source_row,
        },
        schema=LINE_EXPOSURES_TABLE.columns,
    )


def _attrition(
    cohort: Cohort,
    lines: pl.DataFrame,
    distinct: pl.DataFrame,
    name_code: np.ndarray,
    pieces: Pieces,
) -> pl.DataFrame:
    """Patients and treatment rows that do not enter any line, with their reasons
    (``distinct``, ``name_code``: the names of :func:`mmrwe.vocab.drug_lookup`)."""
    n = cohort.patients.height
    with_lines = lines["patient_id"].n_unique()
    # the treatment rows that entered a line (as a piece of an exposure)
    inside = np.zeros(len(name_code), np.bool_)
    inside[pieces.treatment_row] = True
    outside = name_code[~inside]
    unmapped = int(distinct["generic_name"].is_null().to_numpy()[outside].sum())
    steroid = int((distinct["drug_class"] == "steroid").fill_null(False).to_numpy()[outside].sum())
    other = len(outside) - unmapped - steroid
    return attrition_table(
        [
            (
                n,
                0,
                unmapped,
                "treatment rows whose drug is in neither the vocabulary nor the "
                "drug map (listed in unmapped_drugs; not therapy, rule 10)",
            ),
            (
                n,
                0,
                steroid,
                "steroid rows outside every line (steroids alone are not a line, rule 3)",
            ),
            (
                n,
                0,
                other,
                "treatment rows of supportive drugs and procedures that belong to no "
                "line (e.g. G-CSF not before a transplant, a leukapheresis without CAR-T)",
            ),
            (
                n,
                n - with_lines,
                0,
                "patients without any anti-myeloma therapy (no line of therapy)",
            ),
        ]
    )
