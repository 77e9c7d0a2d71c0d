"""``derive_lines_of_therapy``: lines of therapy from drug exposures, with an audit trail.

Data flow (every step a table): treatments → vocabulary mapping → exposures (days as integers,
ongoing ends filled with the last contact) → line starts (the compiled state machine of
:mod:`mmrwe.lines.kernel`) → lines (ends, flags, regimen names, the rule that opened each) and
``line_exposures`` (every exposure split at line boundaries, rule 9).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from mmrwe.io.attrition import attrition_table
from mmrwe.io.cohort import Cohort
from mmrwe.lines import kernel as K
from mmrwe.lines.rules import LineRules
from mmrwe.vocab import (
    Vocabulary,
    load_vocabulary,
    map_drugs,
    name_maintenance,
    name_regimens,
    read_drug_map,
)

EPOCH = dt.date(1970, 1, 1)
ASCT_NAME = "autologous stem cell transplant"
LEUKAPHERESIS_NAME = "leukapheresis"
#: patients per partition: memory is bounded by the partition, not the cohort
DEFAULT_PARTITION = 200_000

LINE_COLUMNS = [
    "patient_id",
    "line",
    "start_date",
    "end_date",
    "end_reason",
    "regimen",
    "maintenance",
    "drugs",
    "drug_classes",
    "includes_asct",
    "includes_car_t",
    "infusion_date",
    "prior_lines",
    "start_rule",
    "start_rule_code",
]
EXPOSURE_COLUMNS = [
    "patient_id",
    "line",
    "drug",
    "drug_class",
    "start_date",
    "end_date",
    "role",
    "source_row",
]


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
    partition_size: int = DEFAULT_PARTITION,
    on_progress: Callable[[int], None] | None = None,
) -> LinesOfTherapy:
    """Derive lines of therapy by the IMWG consensus rules (Rajkumar 2011), rules 1-10.

    ``drug_map`` is a user drug map (a CSV path ``name, generic_name, class``, or the table
    :func:`mmrwe.vocab.read_drug_map` returns). ``lines`` has one row per patient and line; ``line_exposures`` one row per exposure and line
    it falls in. Refractoriness flags are added by :func:`mmrwe.lines.derive_refractoriness`.
    Patients are processed in partitions of ``partition_size`` so memory stays bounded.
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
    # inside the stage a patient is its rank among the sorted ids: integer sorts, joins and
    # windows instead of string ones; the ids are put back at the end
    ids = patients["patient_id"]
    codes = pl.DataFrame({"patient_id": ids, "_code": pl.int_range(ids.len(), eager=True)})
    coded = (
        mapped.join(codes, on="patient_id", how="inner")
        .drop("patient_id")
        .rename({"_code": "patient_id"})
    )
    patients = patients.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("patient_id"))
    lines_parts, exposure_parts = [], []
    for lo in range(0, max(patients.height, 1), partition_size):
        part = coded.filter(pl.col("patient_id").is_between(lo, lo + partition_size - 1))
        part_patients = patients.slice(lo, partition_size)
        lines, exposures = _derive_partition(part, part_patients, rules, vocabulary)
        lines_parts.append(lines)
        exposure_parts.append(exposures)
        if on_progress:
            on_progress(part_patients.height)
    lines = _decode(pl.concat(lines_parts), ids)
    line_exposures = _decode(pl.concat(exposure_parts), ids)
    attrition = _attrition(cohort, mapped, lines, line_exposures)
    return LinesOfTherapy(lines, line_exposures, unmapped, attrition)


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
    mapped: pl.DataFrame, patients: pl.DataFrame, rules: LineRules, vocabulary: Vocabulary
) -> tuple[pl.DataFrame, pl.DataFrame]:
    exposures = _exposures(mapped, patients, rules)
    therapy = exposures.filter(pl.col("kind") >= 0).with_row_index("row")
    drug_codes = therapy["_drug"].to_numpy() - 1
    pid = therapy["patient_id"].to_numpy()
    bounds = np.flatnonzero(np.r_[True, pid[1:] != pid[:-1], True]) if len(pid) else np.array([0])
    patient_of_segment = (
        therapy["patient_id"].gather(bounds[:-1]) if len(pid) else pl.Series([], dtype=pl.Int64)
    )
    out = K.open_lines(
        bounds.astype(np.int64),
        therapy.select(_days("start_date")).to_series().to_numpy(),
        therapy.select(_days("end_date")).to_series().to_numpy(),
        therapy.select(_days("episode_start")).to_series().to_numpy(),
        drug_codes.astype(np.int64),
        therapy["kind"].to_numpy().astype(np.int64),
        therapy["is_conditioning"].to_numpy(),
        therapy["is_mobilisation"].to_numpy(),
        therapy["is_lymphodepletion"].to_numpy(),
        int(drug_codes.max()) + 1 if len(drug_codes) else 1,
        rules.regimen_window_days,
        rules.gap_days,
        rules.asct_window_days,
        rules.conditioning_days,
        rules.mobilisation_days,
        rules.maintenance_window_days,
        rules.bridging_window_days,
        rules.lymphodepletion_days,
        rules.leukapheresis_window_days,
    )
    seg, start, rule, trigger, value, _infusion_row, detail, tag, anchor = out
    therapy = therapy.with_columns(pl.Series("tag", tag), pl.Series("anchor", anchor).cast(pl.Date))
    trig = therapy.select("generic_name", "start_date").gather(trigger) if len(trigger) else None
    starts = pl.DataFrame(
        {
            "patient_id": patient_of_segment.gather(seg)
            if len(seg)
            else pl.Series([], dtype=pl.Int64),
            "start_date": pl.Series(start).cast(pl.Date),
            "start_rule_code": pl.Series(rule, dtype=pl.Int64),
            "rule_value": pl.Series(value, dtype=pl.Int64),
            "trigger_drug": trig["generic_name"]
            if trig is not None
            else pl.Series([], dtype=pl.String),
            "trigger_date": trig["start_date"]
            if trig is not None
            else pl.Series([], dtype=pl.Date),
            "start_detail": pl.Series(detail, dtype=pl.Int64),
        }
    )
    lines = _line_frame(starts, patients)
    steroids = exposures.filter(pl.col("kind") < 0).with_columns(
        pl.lit(0, pl.Int64).alias("tag"), pl.col("start_date").alias("anchor")
    )
    kept = therapy.drop("row").filter((pl.col("kind") != K.PREP) | pl.col("tag").is_in([1, 2]))
    pieces = _split_exposures(pl.concat([kept, steroids], how="diagonal_relaxed"), lines)
    lines = _describe_lines(lines, pieces, rules, vocabulary)
    line_exposures = pieces.select(
        "patient_id",
        "line",
        pl.col("generic_name").alias("drug"),
        "drug_class",
        "start_date",
        "end_date",
        pl.col("tag")
        .replace_strict(
            {0: "", 1: "conditioning/mobilisation", 2: "lymphodepletion", 3: "bridging"}
        )
        .alias("role"),
        "source_row",
    ).sort(["patient_id", "line", "start_date", "drug", "source_row"])
    return lines, line_exposures


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
    """Rule 9: every exposure day in exactly one line; lymphodepletion goes whole to its CAR-T line."""
    bounds = lines.select("patient_id", "line", "start_date", "end_date").rename(
        {"start_date": "line_start", "end_date": "line_end"}
    )
    first = bounds.group_by("patient_id").agg(pl.col("line_start").min().alias("first_start"))
    ex = (
        exposures.join(first, on="patient_id", how="inner")
        .with_columns(
            pl.when(pl.col("tag") == 2)
            .then(pl.col("anchor"))
            .otherwise(pl.max_horizontal("start_date", "first_start"))
            .alias("from_day"),
            pl.when(pl.col("tag") == 2)
            .then(pl.col("anchor"))
            .otherwise(pl.col("end_date"))
            .alias("to_day"),
        )
        .filter(pl.col("from_day") <= pl.col("to_day"))
        .with_row_index("exposure")
    )
    lookup = bounds.select("patient_id", "line", "line_start").sort(["patient_id", "line_start"])
    first_line = (
        ex.sort("from_day")
        .join_asof(
            lookup,
            left_on="from_day",
            right_on="line_start",
            by="patient_id",
            strategy="backward",
            check_sortedness=False,
        )
        .select("exposure", pl.col("line").alias("line_from"))
    )
    last_line = (
        ex.sort("to_day")
        .join_asof(
            lookup,
            left_on="to_day",
            right_on="line_start",
            by="patient_id",
            strategy="backward",
            check_sortedness=False,
        )
        .select("exposure", pl.col("line").alias("line_to"))
    )
    pieces = (
        ex.join(first_line, on="exposure")
        .join(last_line, on="exposure")
        .with_columns(pl.int_ranges("line_from", pl.col("line_to") + 1).alias("line"))
        .explode("line")
        .join(bounds, on=["patient_id", "line"], how="left")
        .with_columns(
            pl.when(pl.col("tag") == 2)
            .then(pl.col("start_date"))
            .otherwise(pl.max_horizontal("start_date", "line_start"))
            .alias("start_date"),
            pl.when(pl.col("tag") == 2)
            .then(pl.col("end_date"))
            .otherwise(pl.min_horizontal("end_date", "line_end"))
            .alias("end_date"),
            (pl.col("start_date") >= pl.col("line_start")).alias("started_in_line"),
        )
    )
    return pieces.drop("exposure", "line_from", "line_to", "from_day", "to_day", "first_start")


def _describe_lines(
    lines: pl.DataFrame, pieces: pl.DataFrame, rules: LineRules, vocabulary: Vocabulary
) -> pl.DataFrame:
    """Drugs, classes, flags, regimen and maintenance names, and the opening rule in words."""
    is_drug = (pl.col("drug_class") != "procedure") & ~pl.col("kind").is_in(
        [K.LEUKAPHERESIS, K.PREP]
    )
    before_asct = pl.col("first_asct").is_null() | (pl.col("start_date") < pl.col("first_asct"))
    window_end = pl.col("line_start") + pl.duration(days=rules.regimen_window_days)
    first_asct = (
        pieces.filter(pl.col("kind") == K.ASCT)
        .group_by("patient_id", "line")
        .agg(pl.col("start_date").min().alias("first_asct"))
    )
    p = pieces.join(first_asct, on=["patient_id", "line"], how="left")
    in_regimen = (
        is_drug
        & (pl.col("tag") == 0)
        & (
            ((pl.col("kind") == K.THERAPY) & (pl.col("start_date") <= window_end) & before_asct)
            | ((pl.col("kind") < 0) & before_asct)
            | (pl.col("kind") == K.CAR_T)
        )
    )
    in_maintenance = (
        (pl.col("kind") == K.THERAPY)
        & (pl.col("tag") == 0)
        & pl.col("first_asct").is_not_null()
        & (pl.col("start_date") > pl.col("first_asct"))
        & pl.col("started_in_line")
    )
    agg = p.group_by("patient_id", "line").agg(
        pl.col("generic_name").filter(is_drug).unique().sort().alias("drug_list"),
        pl.col("drug_class").filter(is_drug).unique().sort().alias("class_list"),
        (pl.col("kind") == K.ASCT).any().alias("includes_asct"),
        (pl.col("kind") == K.CAR_T).any().alias("includes_car_t"),
        pl.col("start_date").filter(pl.col("kind") == K.CAR_T).min().alias("infusion_date"),
        pl.col("generic_name").filter(in_regimen).unique().sort().alias("regimen_drugs"),
        pl.col("generic_name").filter(in_maintenance).unique().sort().alias("maintenance_drugs"),
        pl.col("generic_name")
        .filter(pl.col("kind") == K.CAR_T)
        .unique()
        .sort()
        .alias("car_t_drugs"),
        pl.col("generic_name")
        .filter(pl.col("drug_class") == "procedure")
        .unique()
        .sort()
        .str.join(";")
        .alias("procedure_key"),
    )
    agg = agg.with_columns(
        pl.when(pl.col("includes_car_t"))
        .then(pl.col("car_t_drugs"))
        .otherwise(pl.col("regimen_drugs"))
        .alias("regimen_drugs")
    )
    agg = agg.with_columns(
        pl.when(pl.col("regimen_drugs").list.len() == 0)
        .then(pl.lit(None, pl.String))
        .otherwise(pl.col("regimen_drugs").list.join(";"))
        .alias("regimen_key"),
        pl.col("maintenance_drugs").list.join(";").alias("maintenance_key"),
    )
    agg = agg.with_columns(
        name_regimens(agg["regimen_key"], vocabulary).alias("regimen"),
        _name_each(agg["maintenance_key"], lambda s: name_maintenance(s, vocabulary)).alias(
            "maintenance"
        ),
    ).with_columns(
        # a line made only of a procedure (salvage ASCT, allogeneic transplant) is named after it
        pl.coalesce("regimen", name_regimens(agg["procedure_key"], vocabulary)).alias("regimen")
    )
    out = lines.join(agg, on=["patient_id", "line"], how="left").with_columns(
        pl.col("drug_list").list.join(";").fill_null("").alias("drugs"),
        pl.col("class_list").list.join(";").fill_null("").alias("drug_classes"),
        pl.col("includes_asct").fill_null(False),
        pl.col("includes_car_t").fill_null(False),
        pl.col("maintenance").fill_null(""),
        _start_rule(rules).alias("start_rule"),
    )
    return out.select(LINE_COLUMNS).sort(["patient_id", "line"])


def _name_each(keys: pl.Series, name: Callable[[list[str]], str]) -> pl.Series:
    """Name each distinct ``;``-joined drug set once and map the names back."""
    names = {k: name([d for d in k.split(";") if d]) for k in keys.drop_nulls().unique()}
    return keys.replace_strict(names, default="", return_dtype=pl.String)


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
    return (
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


def _attrition(
    cohort: Cohort, mapped: pl.DataFrame, lines: pl.DataFrame, line_exposures: pl.DataFrame
) -> pl.DataFrame:
    """Patients and treatment rows that do not enter any line, with their reasons."""
    n = cohort.patients.height
    with_lines = lines["patient_id"].n_unique()
    in_lines = line_exposures.select("patient_id", "source_row").unique()
    outside = mapped.join(in_lines, on=["patient_id", "source_row"], how="anti")
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
