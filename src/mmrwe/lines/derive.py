"""``derive_lines_of_therapy``: lines of therapy from drug exposures, with an audit trail.

Data flow (every step a table): treatments → vocabulary mapping → exposures (days as integers,
ongoing ends filled with the last contact) → line starts (the compiled state machine of
:mod:`mmrwe.lines.kernel`) → lines (ends, flags, regimen names, the rule that opened each) and
``line_exposures`` (every exposure split at line boundaries, rule 9).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from mmrwe.contract import TableContract
from mmrwe.io.attrition import attrition_table
from mmrwe.io.cohort import NO_PATIENT, Cohort, patient_index
from mmrwe.lines import kernel as K
from mmrwe.lines.rules import (
    ROLE_BRIDGING,
    ROLE_LYMPHODEPLETION,
    ROLE_PREPARATION,
    ROLE_REGIMEN,
    LineRules,
)
from mmrwe.vocab import (
    Vocabulary,
    load_vocabulary,
    map_drugs,
    name_maintenance,
    name_regimen,
    read_drug_map,
)

ASCT_NAME = "autologous stem cell transplant"
LEUKAPHERESIS_NAME = "leukapheresis"

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
    mapped, unmapped = map_drugs(cohort.treatments, vocabulary)
    patients = cohort.patients.select(
        "patient_id", "last_contact_date", "death_date", "prior_lines_before_data"
    ).sort("patient_id")
    # inside the stage a patient is its rank among the sorted ids (mmrwe.io.patient_index):
    # integer sorts, joins and windows instead of string ones; the ids are put back at the end
    ids = patients["patient_id"]
    coded = mapped.with_columns(
        pl.Series("patient_id", patient_index(ids, mapped["patient_id"]), pl.Int64)
    ).filter(pl.col("patient_id") != NO_PATIENT)
    patients = patients.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("patient_id"))
    progression = _coded_progression(cohort, progression, ids)
    lines, exposures = _derive_partition(coded, patients, rules, vocabulary, progression)
    lines = _decode(lines, ids)
    line_exposures = _decode(exposures, ids)
    attrition = _attrition(cohort, mapped, lines, line_exposures)
    return LinesOfTherapy(lines, line_exposures, unmapped, attrition)


def _coded_progression(
    cohort: Cohort, progression: pl.DataFrame | None, ids: pl.Series
) -> pl.DataFrame:
    """Progression days (``patient_id`` as its :func:`patient_index` among the sorted ``ids``,
    ``day``) sorted, once each: the given table, or the cohort's physician-recorded PD."""
    if progression is None:
        from mmrwe.lines.refractory import recorded_progression  # refractory imports derive

        progression = recorded_progression(cohort.responses)
    progression = progression.sort("patient_id")
    return (
        progression.select(
            pl.Series("patient_id", patient_index(ids, progression["patient_id"]), pl.Int64),
            _days("date").alias("day"),
        )
        .filter(pl.col("patient_id") != NO_PATIENT)
        .unique()
        .sort("patient_id", "day")
    )


def _decode(df: pl.DataFrame, ids: pl.Series) -> pl.DataFrame:
    """Put the patient ids back in place of their integer codes."""
    return df.with_columns(ids.gather(df["patient_id"]).alias("patient_id"))


def _days(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.Int64)


def _exposures(mapped: pl.DataFrame, patients: pl.DataFrame, rules: LineRules) -> pl.DataFrame:
    """Mapped treatments as exposures with integer days, kinds and rule-5/6 drug flags."""
    g = pl.col("generic_name")
    kind = (
        pl.when(g == ASCT_NAME)
        .then(K.ASCT)
        .when(pl.col("drug_class") == "CAR-T")
        .then(K.CAR_T)
        .when(g == LEUKAPHERESIS_NAME)
        .then(K.LEUKAPHERESIS)
        .when(pl.col("anti_myeloma"))
        .then(K.THERAPY)
        .when(pl.col("drug_class") == "steroid")
        .then(-1)  # steroids: listed in the line they fall in, never open or close one
        .when(
            g.is_in(
                [*rules.mobilisation_drugs, *rules.conditioning_drugs, *rules.lymphodepletion_drugs]
            )
        )
        .then(K.PREP)  # G-CSF, plerixafor, fludarabine: only before an ASCT or CAR-T (rules 5-6)
    )
    # procedures happen on one day: ASCT, CAR-T infusion, leukapheresis, allogeneic transplant
    point = kind.is_in([K.ASCT, K.CAR_T, K.LEUKAPHERESIS]) | (pl.col("drug_class") == "procedure")
    return (
        mapped.filter(g.is_not_null())
        .with_columns(kind.alias("kind"))
        .filter(pl.col("kind").is_not_null())
        .join(patients, on="patient_id", how="inner")
        .with_columns(
            pl.when(point)
            .then(pl.col("start_date"))
            .otherwise(
                pl.min_horizontal(
                    pl.col("end_date").fill_null(pl.col("last_contact_date")),
                    pl.col("last_contact_date"),
                )
            )
            .alias("end_date")
        )
        .with_columns(
            pl.max_horizontal("end_date", "start_date").alias("end_date"),
            g.is_in(list(rules.conditioning_drugs)).alias("is_conditioning"),
            g.is_in(list(rules.mobilisation_drugs)).alias("is_mobilisation"),
            g.is_in(list(rules.lymphodepletion_drugs)).alias("is_lymphodepletion"),
        )
        .pipe(_episodes, rules.gap_days)
        .sort(["patient_id", "start_date", "kind", "_drug", "source_row"])
    )


def _episodes(exposures: pl.DataFrame, gap_days: int) -> pl.DataFrame:
    """``episode_start``: the first start of the run of records of the same drug, each starting
    at most ``gap_days`` after the previous ones ended (one record per cycle is one episode)."""
    ex = exposures.with_columns(
        pl.col("generic_name").rank("dense").cast(pl.Int64).alias("_drug")
    ).sort(["patient_id", "_drug", "start_date", "source_row"])
    pid, drug = ex["patient_id"].to_numpy(), ex["_drug"].to_numpy()
    new_group = np.ones(len(pid), dtype=np.bool_)
    if len(pid) > 1:
        new_group[1:] = (pid[1:] != pid[:-1]) | (drug[1:] != drug[:-1])
    starts = K.episode_starts(
        new_group,
        ex.select(_days("start_date")).to_series().to_numpy(),
        ex.select(_days("end_date")).to_series().to_numpy(),
        gap_days,
    )
    return ex.with_columns(pl.Series("episode_start", starts).cast(pl.Date))


def _derive_partition(
    mapped: pl.DataFrame,
    patients: pl.DataFrame,
    rules: LineRules,
    vocabulary: Vocabulary,
    progression: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Lines and line exposures of one partition of patients (integer-coded ids);
    ``progression``: coded ``patient_id, day`` of documented progression, sorted."""
    exposures = _exposures(mapped, patients, rules)
    therapy = exposures.filter(pl.col("kind") >= 0).with_row_index("row")
    arrays, patient_of_segment = _kernel_exposures(therapy)
    pd = _kernel_progression(progression, patient_of_segment)
    out = K.open_lines(arrays, pd, K.KernelRules.from_rules(rules))
    therapy = therapy.with_columns(
        pl.Series("role_code", out.role), pl.Series("anchor", out.anchor).cast(pl.Date)
    )
    lines = _line_frame(_starts_frame(out, therapy, patient_of_segment), patients)
    steroids = exposures.filter(pl.col("kind") < 0).with_columns(
        pl.lit(K.ROLE_NONE, pl.Int64).alias("role_code"), pl.col("start_date").alias("anchor")
    )
    prep_roles = [K.ROLE_TRANSPLANT_PREP, K.ROLE_LYMPHODEPLETION]
    kept = therapy.drop("row").filter(
        (pl.col("kind") != K.PREP) | pl.col("role_code").is_in(prep_roles)
    )
    pieces = _split_exposures(pl.concat([kept, steroids], how="diagonal_relaxed"), lines)
    lines = _describe_lines(lines, pieces, rules, vocabulary)
    line_exposures = pieces.select(
        "patient_id",
        "line",
        pl.col("generic_name").alias("drug"),
        "drug_class",
        "start_date",
        "end_date",
        pl.col("role_code").replace_strict(ROLE_WORDS, return_dtype=pl.String).alias("role"),
        "source_row",
    ).sort(["patient_id", "line", "start_date", "drug", "source_row"])
    return lines, line_exposures


def _kernel_exposures(therapy: pl.DataFrame) -> tuple[K.KernelExposures, pl.Series]:
    """The kernel's input arrays from the sorted exposure rows, and each segment's patient."""
    drug_codes = therapy["_drug"].to_numpy() - 1
    pid = therapy["patient_id"].to_numpy()
    bounds = np.flatnonzero(np.r_[True, pid[1:] != pid[:-1], True]) if len(pid) else np.array([0])
    patient_of_segment = (
        therapy["patient_id"].gather(bounds[:-1]) if len(pid) else pl.Series([], dtype=pl.Int64)
    )
    arrays = K.KernelExposures(
        bounds=bounds.astype(np.int64),
        start=therapy.select(_days("start_date")).to_series().to_numpy(),
        end=therapy.select(_days("end_date")).to_series().to_numpy(),
        episode_start=therapy.select(_days("episode_start")).to_series().to_numpy(),
        drug=drug_codes.astype(np.int64),
        kind=therapy["kind"].to_numpy().astype(np.int64),
        is_conditioning=therapy["is_conditioning"].to_numpy(),
        is_mobilisation=therapy["is_mobilisation"].to_numpy(),
        is_lymphodepletion=therapy["is_lymphodepletion"].to_numpy(),
        n_drugs=int(drug_codes.max()) + 1 if len(drug_codes) else 1,
    )
    return arrays, patient_of_segment


def _kernel_progression(progression: pl.DataFrame, patients: pl.Series) -> K.KernelProgression:
    """Each kernel patient's progression days: ``day[first[p]:stop[p]]``."""
    pid = progression["patient_id"].to_numpy().astype(np.int64)
    codes = patients.to_numpy().astype(np.int64)
    return K.KernelProgression(
        first=np.searchsorted(pid, codes, side="left").astype(np.int64),
        stop=np.searchsorted(pid, codes, side="right").astype(np.int64),
        day=progression["day"].to_numpy().astype(np.int64),
    )


def _starts_frame(
    out: K.LineStarts, therapy: pl.DataFrame, patient_of_segment: pl.Series
) -> pl.DataFrame:
    """One row per line start: patient, day, the rule that opened it and what it measured."""
    trig = therapy.select("generic_name", "start_date").gather(out.trigger)
    return pl.DataFrame(
        {
            "patient_id": patient_of_segment.gather(out.patient)
            if len(out.patient)
            else pl.Series([], dtype=pl.Int64),
            "start_date": pl.Series(out.start).cast(pl.Date),
            "start_rule_code": pl.Series(out.rule, dtype=pl.Int64),
            "rule_value": pl.Series(out.value, dtype=pl.Int64),
            "trigger_drug": trig["generic_name"],
            "trigger_date": trig["start_date"],
            "start_detail": pl.Series(out.detail, dtype=pl.Int64),
            "progression_day": pl.Series(out.progression, dtype=pl.Int64),
        }
    ).with_columns(
        pl.when(pl.col("progression_day") != K.NEVER)
        .then(pl.col("progression_day"))
        .cast(pl.Date)
        .alias("progression_date")
    )


def _line_frame(starts: pl.DataFrame, patients: pl.DataFrame) -> pl.DataFrame:
    """Line numbers and ends (rule 8): the day before the next line, death, or last contact."""
    return (
        starts.join(patients, on="patient_id", how="left")
        .with_columns(
            (pl.int_range(pl.len()).over("patient_id") + 1 + pl.col("prior_lines_before_data"))
            .cast(pl.Int64)
            .alias("line"),
            pl.col("start_date").shift(-1).over("patient_id").alias("next_start"),
        )
        .with_columns(
            pl.when(pl.col("next_start").is_not_null())
            .then(pl.col("next_start") - pl.duration(days=1))
            .when(pl.col("death_date").is_not_null())
            .then(pl.col("death_date"))
            .otherwise(pl.col("last_contact_date"))
            .alias("end_date"),
            pl.when(pl.col("next_start").is_not_null())
            .then(pl.lit("next_line"))
            .when(pl.col("death_date").is_not_null())
            .then(pl.lit("death"))
            .otherwise(pl.lit("last_contact"))
            .alias("end_reason"),
            (pl.col("line") - 1).alias("prior_lines"),
        )
    )


def _split_exposures(exposures: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """Rule 9: every exposure day in exactly one line; lymphodepletion goes whole to its CAR-T line.

    Lines are sorted by patient code and start, so the line holding a day is found by a binary
    search over ``patient * 2**32 + day`` keys, and an exposure spanning k lines becomes k pieces.
    """
    lines = lines.sort("patient_id", "start_date")
    line_patient = lines["patient_id"].to_numpy().astype(np.int64)
    line_start = lines.select(_days("start_date")).to_series().to_numpy()
    line_end = lines.select(_days("end_date")).to_series().to_numpy()
    line_keys = (line_patient << 32) + line_start
    patient = exposures["patient_id"].to_numpy().astype(np.int64)
    none = np.iinfo(np.int64).max
    size = int(max(line_patient.max(initial=-1), patient.max(initial=-1))) + 1
    first_start = np.full(size, none)
    np.minimum.at(first_start, line_patient, line_start)

    start = exposures.select(_days("start_date")).to_series().to_numpy()
    end = exposures.select(_days("end_date")).to_series().to_numpy()
    anchor = exposures.select(_days("anchor")).to_series().to_numpy()
    lymph = exposures["role_code"].to_numpy() == K.ROLE_LYMPHODEPLETION
    first = first_start[patient]
    has_line = first != none
    from_day = np.where(lymph, anchor, np.maximum(start, np.where(has_line, first, 0)))
    to_day = np.where(lymph, anchor, end)
    keep = has_line & (from_day <= to_day)
    idx = np.flatnonzero(keep)
    line_from = np.searchsorted(line_keys, (patient[idx] << 32) + from_day[idx], side="right") - 1
    line_to = np.searchsorted(line_keys, (patient[idx] << 32) + to_day[idx], side="right") - 1
    counts = line_to - line_from + 1
    row = np.repeat(idx, counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    line_row = np.repeat(line_from, counts) + offsets
    piece_start = np.where(lymph[row], start[row], np.maximum(start[row], line_start[line_row]))
    piece_end = np.where(lymph[row], end[row], np.minimum(end[row], line_end[line_row]))
    return exposures[row].with_columns(
        lines["line"].gather(line_row).alias("line"),
        pl.Series("line_start", line_start[line_row]).cast(pl.Date),
        pl.Series("started_in_line", start[row] >= line_start[line_row]),
        pl.Series("start_date", piece_start).cast(pl.Date),
        pl.Series("end_date", piece_end).cast(pl.Date),
    )


#: bits per mask word: drug sets are aggregated as bit masks (one bit per drug code)
_BITS = 62


def _describe_lines(
    lines: pl.DataFrame, pieces: pl.DataFrame, rules: LineRules, vocabulary: Vocabulary
) -> pl.DataFrame:
    """Drugs, classes, flags, regimen and maintenance names, and the opening rule in words.

    Each line's drug sets (all drugs, regimen, maintenance, CAR-T product, procedures) are
    aggregated as bit masks over drug codes; each distinct set is then named once.
    """
    kind, role = pl.col("kind"), pl.col("role_code")
    is_drug = (pl.col("drug_class") != "procedure") & ~kind.is_in([K.LEUKAPHERESIS, K.PREP])
    first_asct = pl.col("start_date").filter(kind == K.ASCT).min().over("patient_id", "line")
    p = pieces.with_columns(first_asct.alias("first_asct"))
    before_asct = pl.col("first_asct").is_null() | (pl.col("start_date") < pl.col("first_asct"))
    window_end = pl.col("line_start") + pl.duration(days=rules.regimen_window_days)
    sets = {
        "drug": is_drug,
        "regimen": is_drug
        & (role == K.ROLE_NONE)
        & (
            ((kind == K.THERAPY) & (pl.col("start_date") <= window_end) & before_asct)
            | ((kind < 0) & before_asct)
        ),
        "maintenance": (kind == K.THERAPY)
        & (role == K.ROLE_NONE)
        & pl.col("first_asct").is_not_null()
        & (pl.col("start_date") > pl.col("first_asct"))
        & pl.col("started_in_line"),
        "car_t": kind == K.CAR_T,
        "procedure": pl.col("drug_class") == "procedure",
    }
    names = p.select(pl.col("_drug"), pl.col("generic_name"), pl.col("drug_class")).unique("_drug")
    code_name = dict(zip(names["_drug"].to_list(), names["generic_name"].to_list(), strict=True))
    code_class = dict(zip(names["_drug"].to_list(), names["drug_class"].to_list(), strict=True))
    words = max(code_name, default=0) // _BITS + 1
    bit = pl.lit(2, pl.Int64).pow(pl.col("_drug") % _BITS).cast(pl.Int64)
    word = pl.col("_drug") // _BITS
    mask_cols = [f"{name}_{w}" for name in sets for w in range(words)]
    agg = p.group_by("patient_id", "line").agg(
        *[
            pl.when(pred & (word == w)).then(bit).otherwise(0).bitwise_or().alias(f"{name}_{w}")
            for name, pred in sets.items()
            for w in range(words)
        ],
        (kind == K.ASCT).any().alias("includes_asct"),
        (kind == K.CAR_T).any().alias("includes_car_t"),
        pl.col("start_date").filter(kind == K.CAR_T).min().alias("infusion_date"),
    )

    def decode(row: tuple[int, ...]) -> list[str]:
        return sorted(
            code_name[w * _BITS + b] for w, m in enumerate(row) for b in range(_BITS) if m >> b & 1
        )

    described: dict[str, list] = {c: [] for c in mask_cols}
    described |= {"drugs": [], "drug_classes": [], "regimen": [], "maintenance": []}
    distinct = agg.select(mask_cols).unique()
    for row in distinct.iter_rows(named=True):
        for c in mask_cols:
            described[c].append(row[c])
        get = {n: decode(tuple(row[f"{n}_{w}"] for w in range(words))) for n in sets}
        regimen_drugs = get["car_t"] or get["regimen"]
        regimen = name_regimen(regimen_drugs, vocabulary) if regimen_drugs else None
        if not regimen and get["procedure"]:
            regimen = name_regimen(get["procedure"], vocabulary)
        described["drugs"].append(";".join(get["drug"]))
        classes = sorted(
            {
                code_class[w * _BITS + b]
                for w in range(words)
                for b in range(_BITS)
                if row[f"drug_{w}"] >> b & 1
            }
        )
        described["drug_classes"].append(";".join(classes))
        described["regimen"].append(regimen)
        described["maintenance"].append(
            name_maintenance(get["maintenance"], vocabulary) if get["maintenance"] else ""
        )
    table = pl.DataFrame(described, schema_overrides={c: pl.Int64 for c in mask_cols})
    agg = agg.join(table, on=mask_cols, how="left")
    out = lines.join(agg, on=["patient_id", "line"], how="left").with_columns(
        pl.col("drugs").fill_null(""),
        pl.col("drug_classes").fill_null(""),
        pl.col("includes_asct").fill_null(False),
        pl.col("includes_car_t").fill_null(False),
        pl.col("maintenance").fill_null(""),
        _start_rule(rules).alias("start_rule"),
    )
    return out.select(LINE_COLUMNS).sort(["patient_id", "line"])


def _start_rule(rules: LineRules) -> pl.Expr:
    """The rule that opened each line, in words."""
    drug = pl.col("trigger_drug")
    date = pl.col("trigger_date").dt.strftime("%Y-%m-%d")
    n = pl.col("rule_value").cast(pl.String)
    code = pl.col("start_rule_code")
    car_t_from = pl.col("start_detail").replace_strict(
        {
            K.CAR_T_AT_INFUSION: "the infusion",
            K.CAR_T_AT_LEUKAPHERESIS: "the leukapheresis",
            K.CAR_T_AT_BRIDGING: "the first bridging therapy",
        },
        return_dtype=pl.String,
    )
    opened = (
        pl.when(code == K.RULE_FIRST)
        .then(
            pl.concat_str(
                pl.lit("first anti-myeloma therapy: "), drug, pl.lit(" started on "), date
            )
        )
        .when(code == K.RULE_NEW_DRUG)
        .then(
            pl.concat_str(
                drug,
                pl.lit(" started "),
                n,
                pl.lit(
                    f" days after line start, outside the {rules.regimen_window_days}-day regimen window (rule 2)"
                ),
            )
        )
        .when(code == K.RULE_GAP)
        .then(
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
        )
        .when(code == K.RULE_ASCT)
        .then(
            pl.concat_str(
                pl.lit("ASCT on "),
                date,
                pl.lit(", "),
                n,
                pl.lit(
                    f" days after the previous line's start, beyond the {rules.asct_window_days}-day transplant window (rule 5)"
                ),
            )
        )
        .when(code == K.RULE_ASCT_PREP)
        .then(
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
        )
        .when(code == K.RULE_CAR_T)
        .then(
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
        )
    )
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
    return (
        pl.when(pl.col("progression_date").is_null())
        .then(opened)
        .otherwise(pl.concat_str(opened, ended))
    )


def _attrition(
    cohort: Cohort, mapped: pl.DataFrame, lines: pl.DataFrame, line_exposures: pl.DataFrame
) -> pl.DataFrame:
    """Patients and treatment rows that do not enter any line, with their reasons."""
    n = cohort.patients.height
    with_lines = lines["patient_id"].n_unique()
    # source_row numbers the treatments rows, so it identifies a row on its own
    outside = mapped.filter(~pl.col("source_row").is_in(line_exposures["source_row"].implode()))
    unmapped = outside.filter(pl.col("generic_name").is_null()).height
    steroid = outside.filter(pl.col("drug_class") == "steroid").height
    other = outside.height - unmapped - steroid
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
