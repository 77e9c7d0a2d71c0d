"""From an OMOP CDM to mmrwe's native cohort tables, one range of person ids at a time.

The mapping rules (documented with their sources in ``docs/omop.md``):

- patients: persons with a multiple-myeloma condition — a standard condition concept of the
  condition concept set or any of its descendants (``concept_ancestor``), or a source concept of
  the set (ICD-10-CM C90.0 family) — diagnosis date = the first such condition; last contact =
  the end of the person's last observation period (the death date when that is later); sex from
  the ``Gender`` concept code (M/F, else U); ``year_of_birth``. ``person_id`` is the patient id;
  ``person_source_value`` is never read.
- treatments: every ``drug_exposure`` rolled up to its RxNorm / RxNorm Extension ingredient(s)
  through ``concept_ancestor`` and named by the ingredient's concept name (mmrwe's vocabulary maps
  the name); a drug concept of the drug concept set (e.g. HCPCS Q2055) is named by the set. End =
  ``drug_exposure_end_date``, else start + ``days_supply`` − 1, else the start (a one-day record);
  an exposure reaching the end of the person's observation is ongoing at the last contact.
  ``procedure_occurrence`` rows of the procedure concept set are treatments named by the set.
- labs: ``measurement`` rows of the measurement concept set; number with its operator (``<``,
  ``>``), or the name of ``value_as_concept_id`` (Positive, Negative, Detected …); unit from
  ``unit_concept_id`` (UCUM code) or ``unit_source_value`` or the set's implied unit, converted by
  the native unit rules. A unit that cannot be converted excludes the row (counted).
- responses: ``observation`` rows of the observation concept set, named by the set.
- adverse events (CRS, ICANS by their ICD-10-CM grade codes) and ECOG at diagnosis:
  :mod:`mmrwe.omop.clinical`.
- every event dated outside all of the person's observation periods is excluded (counted).

The tables go to the native reader typed (dates, lab numbers; no text round trip), each range
sorted by the person id as text (the native order), ranges taken in that order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from mmrwe.io.labs import VALUE_TEXT, unit_key
from mmrwe.io.schema import LAB_TESTS, UNIT_FACTORS
from mmrwe.omop.clinical import (
    BASELINE_MEASUREMENTS,
    adverse_event_sets,
    adverse_events,
    baseline_ecog,
)
from mmrwe.omop.concepts import concept_ids, resolve
from mmrwe.omop.url import OmopLocation

#: RxNorm vocabularies whose Ingredient concepts are the roll-up target.
INGREDIENT_VOCABULARIES = ("RxNorm", "RxNorm Extension")
#: UCUM spellings the native unit rules do not read, and their native spelling.
UCUM_UNITS = {"mg/(24.h)": "mg/24h", "g/(24.h)": "g/24h", "mg/d": "mg/24h", "g/d": "g/24h"}
#: How a drug exposure without an RxNorm ingredient is named (then counted in unmapped_drugs).
UNMAPPED_DRUG = "no RxNorm ingredient: "
#: OMOP ``Meas Value Operator`` concept codes kept with a number.
OPERATORS = ("<", "<=", ">", ">=")


@dataclass
class Mapping:
    """The concept sets resolved in one CDM."""

    myeloma_standard: list[int]
    myeloma_source: list[int]
    by_domain: dict[str, pl.DataFrame]  # concept_id, mmrwe_name, unit
    not_found: pl.DataFrame
    gender: dict[int, str]
    operators: dict[int, str]
    #: adverse-event condition concepts: ``concept_id, term, grade`` (:mod:`mmrwe.omop.clinical`)
    adverse_events: pl.DataFrame = field(default_factory=pl.DataFrame)
    #: measurement concepts of ECOG performance status
    ecog: list[int] = field(default_factory=list)
    #: the rules of every distinct measurement code combination of the CDM, numbered (``combo``):
    #: found once, on the first range (:func:`_measurements`)
    measurement_rules: pl.DataFrame | None = None


@dataclass
class Extract:
    """One person range's native raw tables and what was excluded on the way."""

    tables: dict[str, pl.DataFrame]
    excluded: dict[str, int] = field(default_factory=dict)
    #: source rows mapped per CDM table (a drug exposure counts once, whatever its ingredients)
    mapped: dict[str, int] = field(default_factory=dict)
    unit_problems: pl.DataFrame | None = None
    #: the CDM row of each ``treatments`` row, in the same order: ``patient_id, event_table``
    #: (``drug_exposure`` or ``procedure_occurrence``), ``event_id`` (that table's primary key)
    events: pl.DataFrame | None = None
    #: ``patients``, ``labs`` and ``responses``: the ``person_id`` and the CDM row's primary key
    #: (``cdm_id``) of each row, in the same order (validation messages name them)
    keys: dict[str, pl.DataFrame] = field(default_factory=dict)


def build_mapping(con: Any, loc: OmopLocation, sets: pl.DataFrame) -> Mapping:
    """Resolve the concept sets to this CDM's concept ids (standard myeloma concepts expanded to
    their descendants)."""
    resolved, not_found = resolve(con, loc.vocab_schema, sets)
    cond = resolved.filter(pl.col("domain") == "condition")
    events = adverse_event_sets(cond)
    cond = cond.filter(~pl.col("concept_id").is_in(events["concept_id"].implode()))
    standard = cond.filter(pl.col("standard_concept") == "S")["concept_id"].to_list()
    source = cond.filter(pl.col("standard_concept") != "S")["concept_id"].to_list()
    source += cond.filter(pl.col("standard_concept").is_null())["concept_id"].to_list()
    if standard:
        ca = con.table("concept_ancestor", database=loc.vocab_schema)
        rows = ca.filter(ca.ancestor_concept_id.isin(standard)).descendant_concept_id.to_pyarrow()
        standard = sorted(set(standard) | {int(x) for x in rows.to_pylist()})
    baseline = pl.col("mmrwe_name").is_in(BASELINE_MEASUREMENTS)
    by_domain = {
        d: resolved.filter((pl.col("domain") == d) & ~baseline).select(
            "concept_id", "mmrwe_name", "unit"
        )
        for d in ("drug", "procedure", "measurement", "observation")
    }
    ecog = resolved.filter((pl.col("domain") == "measurement") & (pl.col("mmrwe_name") == "ecog"))
    gender = concept_ids(con, loc.vocab_schema, "Gender", ["M", "F"])
    ops = concept_ids(con, loc.vocab_schema, "Meas Value Operator", list(OPERATORS))
    return Mapping(
        myeloma_standard=standard,
        myeloma_source=sorted(set(source)),
        by_domain=by_domain,
        not_found=not_found,
        gender={v: k for k, v in gender.items()},
        operators={v: k for k, v in ops.items()},
        adverse_events=events,
        ecog=ecog["concept_id"].to_list(),
    )


def myeloma_persons(con: Any, loc: OmopLocation, mapping: Mapping) -> Any:
    """The ibis expression of ``person_id, diagnosis_date`` of persons with a myeloma condition."""
    co = con.table("condition_occurrence", database=loc.cdm_schema)
    hit = co.filter(
        co.condition_concept_id.isin(mapping.myeloma_standard or [-1])
        | co.condition_source_concept_id.isin(mapping.myeloma_source or [-1])
    )
    return hit.group_by("person_id").aggregate(diagnosis_date=hit.condition_start_date.min())


def person_ranges(ids: list[int], size: int) -> list[tuple[str, str]]:
    """Consecutive ``(first, last)`` person ids of ``size`` persons each, as text and in text
    order: the native tables are ordered by the patient id as text, so ranges extracted in this
    order, each sorted so, need no sorting by the native reader."""
    text = sorted(str(i) for i in ids)
    return [(text[i], text[min(i + size, len(text)) - 1]) for i in range(0, len(text), size)]


def _person_text(table: Any) -> Any:
    return table.person_id.cast("string")


def _in_range(table: Any, members: Any) -> Any:
    """The rows of ``table`` of the range's myeloma persons (``members``: their ids, sent to
    the database once per range)."""
    return table.semi_join(members, "person_id")


def extract_range(
    con: Any, loc: OmopLocation, mapping: Mapping, cohort: Any, lo: str, hi: str
) -> Extract:
    """The native raw tables of the myeloma persons with ids in ``[lo, hi]`` as text (only their
    rows leave the database), each sorted by the patient id as text, date and CDM id."""
    import ibis

    diagnosed = cohort.filter(_person_text(cohort).between(lo, hi)).to_polars()
    cohort = ibis.memtable(diagnosed.select("person_id").to_arrow())
    cdm = loc.cdm_schema
    periods = _in_range(con.table("observation_period", database=cdm), cohort)
    periods = periods.select(
        "person_id", start="observation_period_start_date", end="observation_period_end_date"
    ).to_polars()
    patients, excluded = _patients(con, loc, mapping, cohort, diagnosed, periods)
    periods = periods.with_columns(pl.col("person_id").cast(pl.Int64))
    drugs = _drugs(con, loc, mapping, cohort)
    raw = {
        "procedure_occurrence": _procedures(con, loc, mapping, cohort),
        "measurement": _measurements(con, loc, mapping, cohort),
        "observation": _observations(con, loc, mapping, cohort),
    }
    mapped = {k: v.height for k, v in raw.items()}
    known = ~pl.col("drug").str.starts_with(UNMAPPED_DRUG)
    mapped["drug_exposure"] = drugs.filter(known)["drug_exposure_id"].n_unique()
    drugs = drugs.rename({"drug_exposure_id": "event_id"}).with_columns(
        event_table=pl.lit("drug_exposure")
    )
    treatments, out_drug = _inside(drugs, periods)
    procedures, out_proc = _inside(raw["procedure_occurrence"], periods)
    labs, out_labs = _inside(raw["measurement"], periods)
    responses, out_resp = _inside(raw["observation"], periods)
    labs, units = _convertible(labs)
    ends = periods.group_by("person_id").agg(pl.col("end").max().alias("op_end"))
    treatments = _ongoing(pl.concat([treatments, procedures], how="diagonal"), ends)
    excluded |= {
        "drug_exposure": out_drug,
        "procedure_occurrence": out_proc,
        "measurement": out_labs,
        "observation": out_resp,
        "measurement_unit": units.height and int(units["rows"].sum()),
    }
    treatments = _native(
        treatments, ["drug", "start_date", "end_date", "event_table", "event_id"]
    ).sort("patient_id", "start_date", "event_table", "event_id", "drug")
    tables = {
        "patients": patients,
        "treatments": treatments.drop("event_table", "event_id"),
        "labs": _native(labs, ["date", "test", "value", VALUE_TEXT, "unit"]),
        "responses": _native(responses, ["date", "response"]),
    }
    events = treatments.select("patient_id", "event_table", "event_id")
    keys = {
        "patients": patients.select(
            person_id=pl.col("patient_id").cast(pl.Int64),
            cdm_id=pl.col("patient_id").cast(pl.Int64),
        ),
        "labs": labs.select("person_id", "cdm_id"),
        "responses": responses.select("person_id", "cdm_id"),
    }
    out = Extract(tables, excluded, mapped, units, events, keys)
    _clinical(con, loc, mapping, cohort, diagnosed, periods, out)
    return out


def _clinical(
    con: Any,
    loc: OmopLocation,
    mapping: Mapping,
    members: Any,
    diagnosed: pl.DataFrame,
    periods: pl.DataFrame,
    out: Extract,
) -> None:
    """Adverse events and ECOG at diagnosis into ``out`` when their concept sets are in this CDM
    (else the native tables and columns stay absent, as not read from the CDM)."""
    if mapping.adverse_events.height:
        ae = adverse_events(con, loc.cdm_schema, mapping.adverse_events, members)
        ae, outside = _inside(ae, periods)
        graded = ae.filter(pl.col("grade").is_not_null())
        out.excluded |= {
            "condition_occurrence": outside,
            "condition_no_grade": ae.height - graded.height,
        }
        out.mapped["condition_occurrence"] = graded.height
        out.tables["adverse_events"] = _native(
            graded, ["term", pl.col("date").alias("onset_date"), "grade"]
        )
        out.keys["adverse_events"] = graded.select("person_id", "cdm_id")
    if mapping.ecog:
        ecog, read, bad = baseline_ecog(
            con, loc.cdm_schema, mapping.ecog, members, diagnosed, loc.rules.ecog_window_days
        )
        out.excluded["measurement_ecog_value"] = bad
        out.mapped["measurement"] = out.mapped.get("measurement", 0) + read
        ecog = ecog.select(patient_id=pl.col("person_id").cast(pl.String), ecog="ecog")
        patients = out.tables["patients"].join(
            ecog, on="patient_id", how="left", maintain_order="left"
        )
        out.tables["patients"] = patients


def _patients(
    con: Any,
    loc: OmopLocation,
    mapping: Mapping,
    cohort: Any,
    diagnosed: pl.DataFrame,
    periods: pl.DataFrame,
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Native patients of the range; persons without an observation period, or whose first
    myeloma condition lies after their last observation, are excluded (counted)."""
    person = _in_range(con.table("person", database=loc.cdm_schema), cohort)
    person = person.select("person_id", "gender_concept_id", "year_of_birth").to_polars()
    death = _in_range(con.table("death", database=loc.cdm_schema), cohort)
    death = death.group_by("person_id").aggregate(death_date=death.death_date.min()).to_polars()
    op = periods.group_by("person_id").agg(pl.col("end").max().alias("op_end"))
    df = (
        person.join(diagnosed, on="person_id", how="left")
        .join(death, on="person_id", how="left")
        .join(op, on="person_id", how="left")
        .with_columns(
            last_contact_date=pl.max_horizontal("op_end", "death_date"),
            sex=pl.col("gender_concept_id").replace_strict(mapping.gender, default="U"),
        )
    )
    no_period = df.filter(pl.col("op_end").is_null()).height
    df = df.filter(pl.col("op_end").is_not_null())
    late = df.filter(pl.col("diagnosis_date") > pl.col("last_contact_date")).height
    df = df.filter(pl.col("diagnosis_date") <= pl.col("last_contact_date"))
    df = df.sort(pl.col("person_id").cast(pl.String))
    out = df.select(
        patient_id=pl.col("person_id").cast(pl.String),
        diagnosis_date=pl.col("diagnosis_date").cast(pl.Date),
        last_contact_date=pl.col("last_contact_date").cast(pl.Date),
        death_date=pl.col("death_date").cast(pl.Date),
        sex=pl.col("sex"),
        birth_year=pl.col("year_of_birth").cast(pl.Int64),
    )
    return out, {"person_no_observation_period": no_period, "person_diagnosis_after_last": late}


def _drugs(con: Any, loc: OmopLocation, m: Mapping, cohort: Any) -> pl.DataFrame:
    """Drug exposures with their ingredient names (or their drug-set name), start and end."""
    vocab = loc.vocab_schema
    de = _in_range(con.table("drug_exposure", database=loc.cdm_schema), cohort)
    ca = con.table("concept_ancestor", database=vocab)
    c = con.table("concept", database=vocab)
    ing = c.filter(
        (c.concept_class_id == "Ingredient") & c.vocabulary_id.isin(INGREDIENT_VOCABULARIES)
    )
    roll = ca.join(ing, ca.ancestor_concept_id == ing.concept_id).select(
        drug_concept_id=ca.descendant_concept_id, ingredient=ing.concept_name
    )
    de = de.select(
        "person_id",
        "drug_exposure_id",
        "drug_concept_id",
        "drug_source_concept_id",
        start_date="drug_exposure_start_date",
        end_raw="drug_exposure_end_date",
        days_supply="days_supply",
    )
    named = c.select(drug_concept_id=c.concept_id, concept_name=c.concept_name)
    rows = de.left_join(roll, "drug_concept_id").left_join(named, "drug_concept_id")
    df = rows.select(
        "person_id",
        "drug_exposure_id",
        "drug_concept_id",
        "drug_source_concept_id",
        "start_date",
        "end_raw",
        "days_supply",
        "ingredient",
        "concept_name",
    ).to_polars()
    sets = dict(
        zip(m.by_domain["drug"]["concept_id"], m.by_domain["drug"]["mmrwe_name"], strict=True)
    )
    set_name = pl.coalesce(
        pl.col("drug_concept_id").replace_strict(sets, default=None, return_dtype=pl.String),
        pl.col("drug_source_concept_id").replace_strict(sets, default=None, return_dtype=pl.String),
    )
    start = pl.col("start_date").cast(pl.Date)
    supply_end = start + pl.duration(days=pl.col("days_supply").cast(pl.Int64) - 1)
    df = df.with_columns(
        drug=pl.coalesce(
            set_name,
            pl.col("ingredient"),
            pl.concat_str(
                pl.lit(UNMAPPED_DRUG),
                pl.col("concept_name").fill_null(pl.col("drug_concept_id").cast(pl.String)),
            ),
        ),
        start_date=start,
        end_date=pl.coalesce(
            pl.col("end_raw").cast(pl.Date),
            pl.when(pl.col("days_supply") > 0).then(supply_end),
            start,
        ),
        set_hit=set_name.is_not_null(),
    )
    # a drug-set concept is named once, not once per ingredient
    df = df.unique(["drug_exposure_id", "drug"], keep="first", maintain_order=True)
    return df.select(
        "person_id",
        pl.col("drug_exposure_id").cast(pl.Int64),
        "drug",
        "start_date",
        "end_date",
        date=pl.col("start_date"),
    )


def _procedures(con: Any, loc: OmopLocation, m: Mapping, cohort: Any) -> pl.DataFrame:
    """Procedures of the procedure concept set, as one-day treatments named by the set."""
    ids = m.by_domain["procedure"]["concept_id"].to_list() or [-1]
    po = _in_range(con.table("procedure_occurrence", database=loc.cdm_schema), cohort)
    po = po.filter(po.procedure_concept_id.isin(ids) | po.procedure_source_concept_id.isin(ids))
    df = po.select(
        "person_id",
        "procedure_occurrence_id",
        "procedure_concept_id",
        "procedure_source_concept_id",
        "procedure_date",
    ).to_polars()
    names = dict(
        zip(
            m.by_domain["procedure"]["concept_id"],
            m.by_domain["procedure"]["mmrwe_name"],
            strict=True,
        )
    )
    day = pl.col("procedure_date").cast(pl.Date)
    return df.select(
        "person_id",
        event_id=pl.col("procedure_occurrence_id").cast(pl.Int64),
        event_table=pl.lit("procedure_occurrence"),
        drug=pl.coalesce(
            pl.col("procedure_concept_id").replace_strict(
                names, default=None, return_dtype=pl.String
            ),
            pl.col("procedure_source_concept_id").replace_strict(
                names, default=None, return_dtype=pl.String
            ),
        ),
        start_date=day,
        end_date=day,
        date=day,
    )


#: The columns of a measurement row that decide its test, operator, word and unit: every string
#: rule is applied once per distinct combination of them, then joined to the rows.
MEASUREMENT_KEYS = (
    "measurement_concept_id",
    "operator_concept_id",
    "value_as_concept_id",
    "unit_concept_id",
    "unit_source_value",
)


def _measurements(con: Any, loc: OmopLocation, m: Mapping, cohort: Any) -> pl.DataFrame:
    """Measurements of the measurement concept set, typed: native ``test`` and ``unit``, the
    number (``value``, rescaled) or, for a censored number or a word, its text (``VALUE_TEXT``,
    value null), and ``unit_ok`` (the native rules convert the unit, or the value is a word)."""
    import ibis

    sets = m.by_domain["measurement"]
    table = con.table("measurement", database=loc.cdm_schema)
    table = table.filter(table.measurement_concept_id.isin(sets["concept_id"].to_list() or [-1]))
    if m.measurement_rules is None:
        # the distinct code combinations are found and numbered once, in the database; the rows
        # come with their combination's number only, sorted there, and the rules are gathered
        distinct = table.select(*MEASUREMENT_KEYS).distinct().to_polars()
        coded = pl.Categorical(pl.Categories.random())  # 4 bytes a row, no hashing by the reader
        m.measurement_rules = (
            _measurement_rules(con, loc, m, distinct)
            .with_row_index("combo")
            .with_columns(pl.col("combo").cast(pl.Int64), pl.col("test", "unit").cast(coded))
        )
    combos = m.measurement_rules
    me = _in_range(table, cohort)
    numbered = ibis.memtable(combos.select("combo", *MEASUREMENT_KEYS).to_arrow())
    joined = me.left_join(numbered, [me[k].identical_to(numbered[k]) for k in MEASUREMENT_KEYS])
    # rows in a fixed order (a database join returns them in any): same input, same bytes
    rows = joined.select(
        "person_id", "measurement_id", "combo", "value_as_number", "measurement_date"
    )
    df = rows.order_by(_person_text(rows), "measurement_date", "measurement_id").to_polars()
    at = df["combo"]
    rules = pl.DataFrame(
        {c: combos[c].gather(at) for c in ("test", "op", "word", "unit", "factor", "unit_ok")}
    )
    number = pl.col("value_as_number").cast(pl.Float64) / pl.col("factor")
    plain = pl.col("op").fill_null("") == ""
    censored = pl.concat_str("op", number.cast(pl.String))
    return pl.concat([df, rules], how="horizontal").select(
        pl.col("person_id").cast(pl.Int64),
        cdm_id=pl.col("measurement_id").cast(pl.Int64),
        date=pl.col("measurement_date").cast(pl.Date),
        test="test",
        value=pl.when(plain).then(number),
        **{VALUE_TEXT: pl.when(number.is_null()).then("word").when(~plain).then(censored)},
        unit="unit",
        unit_ok=pl.col("unit_ok") | ~(number.is_not_null() & number.is_finite()),
    )


def _measurement_rules(
    con: Any, loc: OmopLocation, m: Mapping, combos: pl.DataFrame
) -> pl.DataFrame:
    """For each distinct combination of :data:`MEASUREMENT_KEYS`: ``test``, ``op`` (``<``,
    ``>``), ``word`` (the value concept's name, lower case), ``unit`` (UCUM code of the unit
    concept, else ``unit_source_value``, else the set's implied unit; a word's is the canonical),
    ``factor`` (an SI-prefix rescale to a listed unit) and ``unit_ok``."""
    ids = pl.concat([combos["value_as_concept_id"], combos["unit_concept_id"]]).drop_nulls()
    c = con.table("concept", database=loc.vocab_schema)
    named = (
        c.filter(c.concept_id.isin(ids.unique().to_list() or [-1]))
        .select("concept_id", "concept_name", "concept_code")
        .to_polars()
        .with_columns(pl.col("concept_id").cast(pl.Int64))
    )
    words = dict(zip(named["concept_id"], named["concept_name"], strict=True))
    codes = dict(zip(named["concept_id"], named["concept_code"], strict=True))
    sets = m.by_domain["measurement"]
    df = combos.join(
        sets.rename({"concept_id": "measurement_concept_id", "mmrwe_name": "test"}),
        on="measurement_concept_id",
        how="left",
    )
    op = pl.col("operator_concept_id").replace_strict(
        m.operators, default="", return_dtype=pl.String
    )
    unit = pl.coalesce(
        pl.col("unit_concept_id").replace_strict(codes, default=None, return_dtype=pl.String),
        pl.col("unit_source_value"),
        pl.col("unit").replace("", None),
    )
    df = df.with_columns(
        op=op.str.replace("=", ""),
        word=pl.col("value_as_concept_id")
        .replace_strict(words, default=None, return_dtype=pl.String)
        .str.to_lowercase(),
        unit=unit.replace(UCUM_UNITS).fill_null(
            pl.col("test").replace_strict(LAB_TESTS, default="", return_dtype=pl.String)
        ),
    )
    df = _rescale(df)
    ok = [
        unit_key(u or "") in UNIT_FACTORS.get(t or "", {})
        for t, u in df.select("test", "unit").iter_rows()
    ]
    return df.with_columns(unit_ok=pl.Series(ok, dtype=pl.Boolean)).select(
        *MEASUREMENT_KEYS, "test", "op", "word", "unit", "factor", "unit_ok"
    )


#: Mass units by their factor to grams, and the volume/time units they may be per.
MASS = {"g": 1.0, "mg": 1e-3, "ug": 1e-6, "µg": 1e-6}
MASS_UNIT = re.compile(r"^(g|mg|ug|µg)/(dl|l|24h)$")


def _rescale(df: pl.DataFrame) -> pl.DataFrame:
    """``factor`` (a divisor) and ``unit`` of each ``test, unit``: a mass unit the native rules do
    not list for its test (e.g. serum M-protein in mg/dL) is rescaled by the SI prefix to a listed
    unit per the same volume or time (mg/dL → g/dL: ÷ 1000); other units keep factor 1 and are left
    for the unit check."""
    pairs = df.select("test", "unit").unique().drop_nulls()
    factors: dict[tuple[str, str], tuple[float, str]] = {}
    for test, unit in pairs.iter_rows():
        key = unit_key(unit)
        m = MASS_UNIT.match(key)
        if key in UNIT_FACTORS.get(test, {}) or not m:
            continue
        for target in UNIT_FACTORS.get(test, {}):
            t = MASS_UNIT.match(target)
            if t and t.group(2) == m.group(2):
                factors[(test, unit)] = (MASS[t.group(1)] / MASS[m.group(1)], target)  # divisor
                break
    table = pl.DataFrame(
        [(t, u, f, target) for (t, u), (f, target) in factors.items()],
        schema={"test": pl.String, "unit": pl.String, "factor": pl.Float64, "target": pl.String},
        orient="row",
    )
    out = df.join(table, on=["test", "unit"], how="left")
    return out.with_columns(
        factor=pl.col("factor").fill_null(1.0), unit=pl.coalesce("target", "unit")
    ).drop("target")


def _observations(con: Any, loc: OmopLocation, m: Mapping, cohort: Any) -> pl.DataFrame:
    """Recorded responses: observations of the observation concept set, named by the set."""
    sets = m.by_domain["observation"]
    ob = _in_range(con.table("observation", database=loc.cdm_schema), cohort)
    ob = ob.filter(ob.observation_concept_id.isin(sets["concept_id"].to_list() or [-1]))
    df = (
        ob.select("person_id", "observation_id", "observation_concept_id", date="observation_date")
        .to_polars()
        .sort(pl.col("person_id").cast(pl.String), "date", "observation_id")
    )
    names = dict(zip(sets["concept_id"], sets["mmrwe_name"], strict=True))
    return df.select(
        "person_id",
        cdm_id=pl.col("observation_id").cast(pl.Int64),
        date=pl.col("date").cast(pl.Date),
        response=pl.col("observation_concept_id").replace_strict(names, return_dtype=pl.String),
    )


def _inside(df: pl.DataFrame, periods: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """The rows dated inside one of their person's observation periods, and how many were not.
    With one period per person (the usual CDM) a row is checked against its person's period in
    one join; otherwise against each of them."""
    df = df.with_columns(pl.col("person_id").cast(pl.Int64))
    if periods["person_id"].is_unique().all():
        span = periods.select(
            "person_id", __s=pl.col("start").cast(pl.Date), __e=pl.col("end").cast(pl.Date)
        )
        joined = df.join(span, on="person_id", how="left", maintain_order="left")
        inside = pl.col("date").is_between("__s", "__e").fill_null(False)
        kept = joined.filter(inside).drop("__s", "__e")
        return kept, df.height - kept.height
    df = df.with_row_index("__i")
    hits = (
        df.select("__i", "person_id", "date")
        .join(periods, on="person_id")
        .filter(
            (pl.col("date") >= pl.col("start").cast(pl.Date))
            & (pl.col("date") <= pl.col("end").cast(pl.Date))
        )
        .select("__i")
        .unique()
    )
    kept = df.join(hits, on="__i", how="semi").drop("__i")
    return kept, df.height - kept.height


def _convertible(labs: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Labs whose unit the native rules convert (``unit_ok``: decided once per distinct
    combination in :func:`_measurement_rules`; a word needs none); the others counted by test
    and unit."""
    bad = labs.filter(~pl.col("unit_ok")).group_by("test", "unit").agg(rows=pl.len())
    bad = bad.sort("rows", "test", "unit", descending=[True, False, False])
    return labs.filter(pl.col("unit_ok")).drop("unit_ok"), bad


def _ongoing(treatments: pl.DataFrame, ends: pl.DataFrame) -> pl.DataFrame:
    """An exposure reaching the end of its person's observation is ongoing at the last contact
    (end left empty): the data cannot say it stopped."""
    df = treatments.join(ends, on="person_id", how="left")
    return df.with_columns(
        end_date=pl.when(pl.col("end_date") >= pl.col("op_end").cast(pl.Date))
        .then(None)
        .otherwise(pl.col("end_date"))
    ).drop("op_end")


def _native(df: pl.DataFrame, columns: list[Any]) -> pl.DataFrame:
    return df.select(pl.col("person_id").cast(pl.String).alias("patient_id"), *columns)
