"""What each line holds, in words: its drugs and classes, regimen and maintenance names (rules
1, 3, 5, 6), and the rule that opened it.

Each line's drug sets (all drugs, regimen, maintenance, CAR-T product, procedures) are OR-ed bit
masks over drug codes, aggregated over the line's contiguous pieces; each distinct combination of
sets is then named once, so string work grows with the combinations, not the lines.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import polars as pl

from mmrwe.lines import kernel as K
from mmrwe.lines import line_kernel as LK
from mmrwe.lines.exposures import DrugTable
from mmrwe.lines.rules import LineRules
from mmrwe.vocab import Vocabulary, name_maintenance, name_regimen

#: the drug sets aggregated per line, in mask order (line_kernel.SET_*)
SETS = ("drug", "regimen", "maintenance", "car_t", "procedure")


class Pieces(NamedTuple):
    """``line_exposures`` as arrays: every exposure split at line boundaries (rule 9), sorted by
    patient, line, start, drug and source row."""

    line_row: np.ndarray  # int64 index of the piece's line (lines in patient, line order)
    drug: np.ndarray  # int64 drug code
    kind: np.ndarray  # int64 kind (DrugTable.kind)
    role: np.ndarray  # int64 K.ROLE_*
    start: np.ndarray  # int64 the piece's first day
    end: np.ndarray  # int64 the piece's last day
    started_in_line: np.ndarray  # bool: the exposure started on or after the line's start
    source_row: np.ndarray  # int64 treatments.source_row
    treatment_row: np.ndarray  # int64 position of the exposure's row in the treatments table


class LineContents(NamedTuple):
    """Per line: the ``lines`` columns :func:`describe_lines` fills."""

    drugs: pl.Series
    drug_classes: pl.Series
    regimen: pl.Series
    maintenance: pl.Series
    includes_asct: np.ndarray  # bool
    includes_car_t: np.ndarray  # bool
    infusion: np.ndarray  # int64 day of the first CAR-T infusion, NULL_DAY if none


def describe_lines(
    pieces: Pieces,
    line_start: np.ndarray,
    drugs: DrugTable,
    rules: LineRules,
    vocabulary: Vocabulary,
) -> LineContents:
    """Drugs, classes, flags, regimen and maintenance names of each line (``line_start``: day)."""
    words = len(drugs.kind) // LK.BITS + 1
    arrays = LK.PieceArrays(
        line_row=pieces.line_row,
        drug=pieces.drug,
        kind=pieces.kind,
        role=pieces.role,
        start=pieces.start,
        started_in_line=pieces.started_in_line,
        is_procedure=drugs.is_procedure,
    )
    sets = LK.line_sets(arrays, line_start, words, rules.regimen_window_days)
    distinct, which = _distinct_rows(sets.masks)
    named = _name_sets(distinct, words, drugs, vocabulary)
    return LineContents(
        *(named[c].gather(which) for c in ("drugs", "drug_classes", "regimen", "maintenance")),
        includes_asct=sets.includes_asct,
        includes_car_t=sets.includes_car_t,
        infusion=sets.infusion,
    )


def _distinct_rows(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of ``masks`` and each row's index among them (one hash grouping)."""
    cols = [f"m{i}" for i in range(masks.shape[1])]
    groups = (
        pl.DataFrame(dict(zip(cols, masks.T, strict=True)))
        .with_row_index("row")
        .group_by(cols)
        .agg(pl.col("row"))
    )
    which = np.empty(len(masks), np.int64)
    rows = groups["row"]
    which[rows.explode().to_numpy()] = np.repeat(np.arange(len(groups)), rows.list.len().to_numpy())
    return groups.select(cols).to_numpy(), which


def _name_sets(
    distinct: np.ndarray, words: int, drugs: DrugTable, vocabulary: Vocabulary
) -> pl.DataFrame:
    """Names of each distinct row of drug-set masks: drugs and classes ``;``-joined, the regimen
    (the CAR-T product, else the regimen drugs, else the procedures; null if none) and the
    maintenance (rule 5; ``""`` if none)."""
    names, classes = drugs.name.to_list(), drugs.drug_class.to_list()

    def decode(row: np.ndarray) -> list[int]:
        return [
            w * LK.BITS + b for w in range(words) for b in range(LK.BITS) if int(row[w]) >> b & 1
        ]

    out: dict[str, list] = {"drugs": [], "drug_classes": [], "regimen": [], "maintenance": []}
    for row in distinct:
        get = {s: decode(row[i * words : (i + 1) * words]) for i, s in enumerate(SETS)}
        drug_names = {s: sorted(names[c] for c in codes) for s, codes in get.items()}
        regimen_drugs = drug_names["car_t"] or drug_names["regimen"]
        regimen = name_regimen(regimen_drugs, vocabulary) if regimen_drugs else None
        if not regimen and drug_names["procedure"]:
            regimen = name_regimen(drug_names["procedure"], vocabulary)
        out["drugs"].append(";".join(drug_names["drug"]))
        out["drug_classes"].append(";".join(sorted({classes[c] for c in get["drug"]})))
        out["regimen"].append(regimen)
        maintenance = drug_names["maintenance"]
        out["maintenance"].append(name_maintenance(maintenance, vocabulary) if maintenance else "")
    return pl.DataFrame(out, schema=dict.fromkeys(out, pl.String))


def start_rule(lines: pl.DataFrame, rules: LineRules) -> pl.Series:
    """The rule that opened each line, in words (``lines``: ``start_rule_code``,
    ``trigger_drug``, ``trigger_date``, ``rule_value``, ``start_detail``, ``progression_date``).
    Each text is written only for the lines it describes."""
    # rule 5's exception: a progression between the ASCT and the start ended the planned sequence
    ended = pl.concat_str(
        pl.lit("; progression documented on "),
        pl.col("progression_date").dt.strftime("%Y-%m-%d"),
        pl.lit(
            ", after the previous line's last ASCT, ended the planned transplant sequence: not "
            f"consolidation or maintenance although started within {rules.maintenance_window_days}"
            " days of the ASCT (rule 5)"
        ),
    )
    rows = lines.with_row_index("_row")
    code, no_pd = pl.col("start_rule_code"), pl.col("progression_date").is_null()
    parts = [
        rows.filter((code == c) & (no_pd if plain else ~no_pd)).select(
            "_row", (text if plain else pl.concat_str(text, ended)).alias("start_rule")
        )
        for c, text in _opening_texts(rules).items()
        for plain in (True, False)
    ]
    other = rows.filter(~code.is_in(list(_opening_texts(rules)))).select(
        "_row", pl.lit(None, pl.String).alias("start_rule")
    )
    return pl.concat([*parts, other]).sort("_row")["start_rule"]


def _opening_texts(rules: LineRules) -> dict[int, pl.Expr]:
    """Per RULE_* code, the text of the rule that opened a line."""
    drug = pl.col("trigger_drug")
    date = pl.col("trigger_date").dt.strftime("%Y-%m-%d")
    n = pl.col("rule_value").cast(pl.String)
    car_t_from = pl.col("start_detail").replace_strict(
        {
            K.CAR_T_AT_INFUSION: "the infusion",
            K.CAR_T_AT_LEUKAPHERESIS: "the leukapheresis",
            K.CAR_T_AT_BRIDGING: "the first bridging therapy",
        },
        return_dtype=pl.String,
    )
    return {
        K.RULE_FIRST: (  # rule 1: the first anti-myeloma therapy
            pl.concat_str(
                pl.lit("first anti-myeloma therapy: "), drug, pl.lit(" started on "), date
            )
        ),
        K.RULE_NEW_DRUG: (
            pl.concat_str(
                drug,
                pl.lit(" started "),
                n,
                pl.lit(
                    f" days after line start, outside the {rules.regimen_window_days}-day regimen window (rule 2)"
                ),
            )
        ),
        K.RULE_GAP: (
            pl.concat_str(
                drug,
                pl.lit(" started on "),
                date,
                pl.lit(" after a gap of "),
                n,
                pl.lit(
                    f" days since all anti-myeloma exposure ended, more than {rules.gap_days} (rule 4)"
                ),
            )
        ),
        K.RULE_ASCT: (
            pl.concat_str(
                pl.lit("ASCT on "),
                date,
                pl.lit(", "),
                n,
                pl.lit(
                    f" days after the previous line's start, beyond the {rules.asct_window_days}-day transplant window (rule 5)"
                ),
            )
        ),
        K.RULE_ASCT_PREP: (
            pl.concat_str(
                drug,
                pl.lit(" started on "),
                date,
                pl.lit(" to prepare an ASCT "),
                n,
                pl.lit(
                    f" days after the previous line's start, beyond the {rules.asct_window_days}-day transplant window (rule 5)"
                ),
            )
        ),
        K.RULE_CAR_T: (
            pl.concat_str(
                pl.lit("CAR-T "),
                drug,
                pl.lit(" infused on "),
                date,
                pl.lit("; the line starts at "),
                car_t_from,
                pl.lit(", "),
                n,
                pl.lit(" days before the infusion (rule 6)"),
            )
        ),
    }
