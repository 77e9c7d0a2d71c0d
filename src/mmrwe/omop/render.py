"""A native cohort rendered as an OMOP CDM v5.4 instance (``mmrwe simulate --format omop``).

The vocabulary subset holds the concepts the data use, with real codes where one is verified:
SNOMED 109989006 / ICD-10-CM C90.00 for the myeloma condition, LOINC for the labs (the shipped
measurement concept set), UCUM units, CPT-4 38241 for the transplant, SNOMED qualifier values for
Positive/Negative/Detected/Not detected, RxNorm ingredient codes from mmrwe's drug vocabulary
(``drugs.csv``, column ``rxnorm``). Where no code is verified the concept is mmrwe's own (RxNorm
Extension ``mmrwe-…`` ingredients, local ``mmrwe`` codes of the concept CSVs). Every drug exposure
is a clinical drug (an ``mmrwe-cd-…`` RxNorm Extension concept) with ``concept_ancestor`` rows to
its ingredient. Concept ids are mmrwe's own: readers resolve codes, never ids.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from mmrwe.io.labs import classify_value
from mmrwe.omop.concepts import shipped_concepts
from mmrwe.omop.ddl import CDM_DDL, create_sql

#: SNOMED qualifier values for qualitative results (public FHIR value sets: 10828004 Positive,
#: 260385009 Negative, 260373001 Detected, 260415000 Not detected).
RESULT_WORDS = {
    "positive": "10828004",
    "negative": "260385009",
    "detected": "260373001",
    "not detected": "260415000",
}
#: Native unit text → UCUM code of the unit concept.
UCUM = {
    "g/dl": "g/dL",
    "g/l": "g/L",
    "mg/l": "mg/L",
    "mg/dl": "mg/dL",
    "%": "%",
    "mg/24h": "mg/(24.h)",
    "g/24h": "g/(24.h)",
}
EPOCH = dt.date(1970, 1, 1)


class Vocab:
    """The concept table being built: one id per (vocabulary, code)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.ids: dict[tuple[str, str], int] = {}
        self.ancestors: list[tuple[int, int, int]] = []

    def add(
        self, vocabulary: str, code: str, name: str, domain: str, cls: str, std: str | None
    ) -> int:
        key = (vocabulary, code)
        if key not in self.ids:
            self.ids[key] = 1_000 + len(self.rows)
            self.rows.append(
                {
                    "concept_id": self.ids[key],
                    "concept_name": name,
                    "domain_id": domain,
                    "vocabulary_id": vocabulary,
                    "concept_class_id": cls,
                    "standard_concept": std,
                    "concept_code": code,
                    "valid_start_date": EPOCH,
                    "valid_end_date": dt.date(2099, 12, 31),
                    "invalid_reason": None,
                }
            )
            self.ancestors.append((self.ids[key], self.ids[key], 0))
        return self.ids[key]


def render_cohort(cohort_dir: Path) -> dict[str, pl.DataFrame]:
    """The CDM tables of the native cohort at ``cohort_dir`` (Parquet, as ``mmrwe simulate``
    writes it); ``person_source_value`` keeps the native patient id."""
    from mmrwe.io import read_cohort

    cohort = read_cohort(cohort_dir)
    vocab = Vocab()
    ids = cohort.patients.select("patient_id").with_row_index("person_id", offset=1)
    ids = ids.with_columns(pl.col("person_id").cast(pl.Int64))
    tables = {"person": _person(cohort.patients, ids, vocab)}
    tables["death"] = _death(cohort.patients, ids)
    tables["condition_occurrence"] = _condition(cohort.patients, ids, vocab)
    tables["drug_exposure"], tables["procedure_occurrence"] = _treatments(
        cohort.treatments, ids, vocab, cohort.patients.select("patient_id", "last_contact_date")
    )
    # the raw value texts, numbered as the reader numbers rows (across parts, in order)
    whole = Path(cohort_dir) / "labs.parquet"
    parts = sorted((Path(cohort_dir) / "labs").glob("*.parquet"))
    raw = pl.read_parquet(whole if whole.exists() else parts, columns=["value", "unit"])
    row = cohort.labs["source_row"] - 1
    labs = cohort.labs.select("patient_id", "date", "test").with_columns(
        value=raw["value"].cast(pl.String).gather(row), unit=raw["unit"].cast(pl.String).gather(row)
    )
    del raw, row
    cohort.labs = cohort.labs.clear()  # 20 million rows at 200,000 patients: free them early
    tables["measurement"] = _measurements(labs, ids, vocab)
    del labs
    tables["observation"] = _observations(cohort.responses, ids, vocab)
    tables["observation_period"] = _periods(cohort.patients, ids, tables)
    _episode_concepts(vocab)
    tables["concept"] = pl.DataFrame(vocab.rows)
    tables["concept_ancestor"] = pl.DataFrame(
        vocab.ancestors,
        schema=["ancestor_concept_id", "descendant_concept_id", "min_levels_of_separation"],
        orient="row",
    ).with_columns(max_levels_of_separation=pl.col("min_levels_of_separation"))
    tables["vocabulary"] = pl.DataFrame(
        {"vocabulary_id": sorted({r["vocabulary_id"] for r in vocab.rows})}
    ).with_columns(
        vocabulary_name=pl.col("vocabulary_id"), vocabulary_version=pl.lit("mmrwe subset")
    )
    tables["cdm_source"] = pl.DataFrame(
        {
            "cdm_source_name": ["mmrwe synthetic RRMM cohort"],
            "cdm_source_abbreviation": ["mmrwe"],
            "cdm_holder": ["mmrwe"],
            "cdm_version": ["v5.4"],
            "vocabulary_version": ["mmrwe subset"],
            "source_release_date": [dt.date.today()],
            "cdm_release_date": [dt.date.today()],
        }
    )
    return tables


def _person(patients: pl.DataFrame, ids: pl.DataFrame, vocab: Vocab) -> pl.DataFrame:
    gender = {
        s: vocab.add("Gender", s, n, "Gender", "Gender", "S")
        for s, n in (("F", "FEMALE"), ("M", "MALE"))
    }
    return patients.join(ids, on="patient_id").select(
        "person_id",
        gender_concept_id=pl.col("sex").replace_strict(gender, default=0, return_dtype=pl.Int64),
        year_of_birth=pl.col("birth_year"),
        race_concept_id=pl.lit(0),
        ethnicity_concept_id=pl.lit(0),
        person_source_value=pl.col("patient_id"),
        gender_source_value=pl.col("sex"),
    )


def _death(patients: pl.DataFrame, ids: pl.DataFrame) -> pl.DataFrame:
    return (
        patients.filter(pl.col("death_date").is_not_null())
        .join(ids, on="patient_id")
        .select("person_id", "death_date", death_type_concept_id=pl.lit(0))
    )


def _condition(patients: pl.DataFrame, ids: pl.DataFrame, vocab: Vocab) -> pl.DataFrame:
    std = vocab.add("SNOMED", "109989006", "Multiple myeloma", "Condition", "Disorder", "S")
    src = vocab.add(
        "ICD10CM",
        "C90.00",
        "Multiple myeloma not having achieved remission",
        "Condition",
        "5-char billing code",
        None,
    )
    return patients.join(ids, on="patient_id").select(
        condition_occurrence_id=pl.col("person_id"),
        person_id="person_id",
        condition_concept_id=pl.lit(std),
        condition_start_date="diagnosis_date",
        condition_type_concept_id=pl.lit(0),
        condition_source_value=pl.lit("C90.00"),
        condition_source_concept_id=pl.lit(src),
    )


def _episode_concepts(vocab: Vocab) -> None:
    """The concepts ``--write-omop`` resolves (mmrwe.omop.writeback.EPISODE_CONCEPTS), named as
    in OHDSI's vocabulary; the ids are mmrwe's own, as every id of this CDM."""
    from mmrwe.omop.writeback import EPISODE_CONCEPTS

    domains = {"Episode": ("Episode", "Episode"), "Type Concept": ("Type Concept", "Type Concept")}
    for c in EPISODE_CONCEPTS:
        domain, cls = domains.get(c.vocabulary_id, ("Metadata", "Field"))
        code = c.value if c.column == "concept_code" else f"mmrwe-{c.role}"
        name = c.value if c.column == "concept_name" else c.role.replace("_", " ").title()
        vocab.add(c.vocabulary_id, code, name, domain, cls, "S")


def _treatments(
    treatments: pl.DataFrame, ids: pl.DataFrame, vocab: Vocab, last_contact: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Drug exposures as clinical drugs of their ingredient; procedures by their code."""
    from mmrwe.vocab import load_vocabulary, map_drugs

    vocabulary = load_vocabulary()
    mapped, _ = map_drugs(treatments, vocabulary)
    rxnorm = dict(zip(vocabulary.drugs["generic_name"], vocabulary.drugs["rxnorm"], strict=True))
    procs = shipped_concepts().filter(pl.col("domain") == "procedure")
    proc_code = {}
    for r in procs.iter_rows(named=True):
        proc_code.setdefault(r["mmrwe_name"], (r["vocabulary_id"], r["concept_code"]))
    # OMOP has no open exposure: one ongoing at the last contact ends there (read back as ongoing)
    mapped = mapped.join(last_contact, on="patient_id").with_columns(
        end_date=pl.coalesce("end_date", "last_contact_date")
    )
    df = mapped.join(ids, on="patient_id").with_columns(
        name=pl.coalesce("generic_name", pl.col("drug").str.to_lowercase())
    )
    is_proc = pl.col("name").is_in(list(proc_code))
    clinical = {}
    for name in sorted(df.filter(~is_proc)["name"].unique()):
        code = rxnorm.get(name)
        vid, code = ("RxNorm", str(code)) if code else ("RxNorm Extension", f"mmrwe-{name}")
        ing = vocab.add(vid, code, name, "Drug", "Ingredient", "S")
        cd = vocab.add(
            "RxNorm Extension",
            f"mmrwe-cd-{name}",
            f"{name} [clinical drug]",
            "Drug",
            "Clinical Drug",
            "S",
        )
        vocab.ancestors.append((ing, cd, 1))
        clinical[name] = cd
    drugs = (
        df.filter(~is_proc)
        .with_row_index("drug_exposure_id", offset=1)
        .select(
            pl.col("drug_exposure_id").cast(pl.Int64),
            "person_id",
            drug_concept_id=pl.col("name").replace_strict(clinical, return_dtype=pl.Int64),
            drug_exposure_start_date="start_date",
            drug_exposure_end_date="end_date",
            drug_type_concept_id=pl.lit(0),
            drug_source_value="name",
            drug_source_concept_id=pl.lit(0),
        )
    )
    pids = {}
    for name, (vid, code) in proc_code.items():
        pids[name] = vocab.add(vid, code, name, "Procedure", "Procedure", "S")
    procedures = (
        df.filter(is_proc)
        .with_row_index("procedure_occurrence_id", offset=1)
        .select(
            pl.col("procedure_occurrence_id").cast(pl.Int64),
            "person_id",
            procedure_concept_id=pl.col("name").replace_strict(pids, return_dtype=pl.Int64),
            procedure_date="start_date",
            procedure_type_concept_id=pl.lit(0),
            procedure_source_value="name",
            procedure_source_concept_id=pl.lit(0),
        )
    )
    return drugs, procedures


def _measurements(labs: pl.DataFrame, ids: pl.DataFrame, vocab: Vocab) -> pl.DataFrame:
    """Labs as LOINC measurements: a number with its operator and UCUM unit, or a result word
    as ``value_as_concept_id``."""
    sets = shipped_concepts().filter(pl.col("domain") == "measurement")
    test_ids = {
        r["mmrwe_name"]: vocab.add(
            r["vocabulary_id"], r["concept_code"], r["mmrwe_name"], "Measurement", "Lab Test", "S"
        )
        for r in sets.iter_rows(named=True)
    }
    ops = {
        k: vocab.add("Meas Value Operator", k, k, "Meas Value Operator", "Meas Value Operator", "S")
        for k in ("<", ">")
    }
    person = dict(zip(ids["patient_id"], ids["person_id"], strict=True))
    df = labs.with_columns(
        person_id=pl.col("patient_id").replace_strict(person, return_dtype=pl.Int64)
    ).drop("patient_id")
    # each distinct value text and unit is classified once (20 million rows at 200,000 patients)
    values = df.select(pl.col("value").fill_null("")).unique().sort("value")
    kinds = [classify_value(v) for v in values["value"]]
    words = {}
    for v, (kind, _) in zip(values["value"], kinds, strict=True):
        if kind not in ("number", "below", "above"):
            text = v.strip().lower()
            vid, code = ("SNOMED", RESULT_WORDS[text]) if text in RESULT_WORDS else ("mmrwe", text)
            words[v] = vocab.add(vid, code, text.capitalize(), "Meas Value", "Qualifier Value", "S")
    value_table = values.with_columns(
        value_as_number=pl.Series(
            [n if k in ("number", "below", "above") else None for k, n in kinds], dtype=pl.Float64
        ),
        operator_concept_id=pl.Series(
            [{"below": ops["<"], "above": ops[">"]}.get(k) for k, _ in kinds], dtype=pl.Int64
        ),
        value_as_concept_id=pl.Series([words.get(v) for v in values["value"]], dtype=pl.Int64),
    )
    units = {}
    for u in df["unit"].drop_nulls().unique().sort():
        ucum = UCUM.get(u.strip().lower())
        if ucum:
            units[u] = vocab.add("UCUM", ucum, ucum, "Unit", "Unit", "S")
    df = df.with_columns(__v=pl.col("value").fill_null("")).join(
        value_table.rename({"value": "__v"}), on="__v", how="left", maintain_order="left"
    )
    is_number = pl.col("value_as_number").is_not_null()
    df = df.select(
        "person_id",
        measurement_concept_id=pl.col("test")
        .cast(pl.String)
        .replace_strict(test_ids, return_dtype=pl.Int64),
        measurement_date="date",
        value_as_number="value_as_number",
        operator_concept_id="operator_concept_id",
        value_as_concept_id="value_as_concept_id",
        unit_concept_id=pl.when(is_number).then(
            pl.col("unit").replace_strict(units, default=None, return_dtype=pl.Int64)
        ),
        unit_source_value="unit",
        value_source_value="value",
    )
    return df.with_row_index("measurement_id", offset=1).with_columns(
        pl.col("measurement_id").cast(pl.Int64), measurement_type_concept_id=pl.lit(0)
    )


def _observations(responses: pl.DataFrame, ids: pl.DataFrame, vocab: Vocab) -> pl.DataFrame:
    sets = shipped_concepts().filter(pl.col("domain") == "observation")
    oid = {
        r["mmrwe_name"]: vocab.add(
            r["vocabulary_id"],
            r["concept_code"],
            f"IMWG response {r['mmrwe_name']}",
            "Observation",
            "Observable Entity",
            "S",
        )
        for r in sets.iter_rows(named=True)
    }
    return (
        responses.join(ids, on="patient_id")
        .with_row_index("observation_id", offset=1)
        .select(
            pl.col("observation_id").cast(pl.Int64),
            "person_id",
            observation_concept_id=pl.col("response").replace_strict(oid, return_dtype=pl.Int64),
            observation_date="date",
            observation_type_concept_id=pl.lit(0),
        )
    )


def _periods(
    patients: pl.DataFrame, ids: pl.DataFrame, tables: dict[str, pl.DataFrame]
) -> pl.DataFrame:
    """One observation period a person: from the first of diagnosis and every event to the last
    contact."""
    dates = [
        tables["drug_exposure"].select("person_id", d="drug_exposure_start_date"),
        tables["procedure_occurrence"].select("person_id", d="procedure_date"),
        tables["measurement"].select("person_id", d="measurement_date"),
        tables["observation"].select("person_id", d="observation_date"),
    ]
    first = pl.concat(dates).group_by("person_id").agg(pl.col("d").min())
    return (
        patients.join(ids, on="patient_id")
        .join(first, on="person_id", how="left")
        .select(
            observation_period_id=pl.col("person_id"),
            person_id="person_id",
            observation_period_start_date=pl.min_horizontal("diagnosis_date", "d"),
            observation_period_end_date="last_contact_date",
            period_type_concept_id=pl.lit(0),
        )
        .sort("person_id")
    )


def write_cdm(tables: dict[str, pl.DataFrame], con: Any, schema: str) -> None:
    """Create the DDL's tables in ``schema`` of a DB-API connection (DuckDB or psycopg) and load
    ``tables`` into them (columns the data lack are NULL)."""
    cur = con.cursor()
    for name, columns in CDM_DDL.items():
        cur.execute(create_sql(name, schema))
        df = tables.get(name)
        if df is None or df.is_empty():
            continue
        cols = [c for c, _ in columns if c in df.columns]
        marks = ", ".join(["%s"] * len(cols))
        if type(con).__module__.startswith("duckdb"):
            marks = ", ".join(["?"] * len(cols))
        cur.executemany(
            f"INSERT INTO {schema}.{name} ({', '.join(cols)}) VALUES ({marks})",
            df.select(cols).rows(),
        )


def write_duckdb(tables: dict[str, pl.DataFrame], path: Path, schema: str = "main") -> None:
    """The CDM as a DuckDB file (``omop+duckdb:///PATH``)."""
    import duckdb

    with duckdb.connect(str(path)) as con:
        if schema != "main":
            con.execute(f"CREATE SCHEMA {schema}")
        for name, columns in CDM_DDL.items():
            con.execute(create_sql(name, schema))
            df = tables.get(name)
            if df is None or df.is_empty():
                continue
            cols = [c for c, _ in columns if c in df.columns]
            frame = df.select(cols)  # noqa: F841 (read by DuckDB's replacement scan)
            con.execute(f"INSERT INTO {schema}.{name} ({', '.join(cols)}) SELECT * FROM frame")


def simulate_omop(
    out: Path,
    *,
    n_patients: int,
    seed: int,
    overwrite: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Simulate ``n_patients`` (:func:`mmrwe.simulate.simulate_cohort`) and write them as an OMOP
    CDM v5.4 DuckDB file at ``out``; return the number of persons. Nothing is left at ``out`` if
    it fails."""
    import shutil
    import tempfile

    from mmrwe.io.output import refuse_existing
    from mmrwe.simulate import simulate_cohort

    out = Path(out)
    refuse_existing(out, overwrite)
    work = Path(tempfile.mkdtemp(prefix="mmrwe-sim-"))
    try:
        simulate_cohort(work / "cohort", n_patients=n_patients, seed=seed, on_progress=on_progress)
        tables = render_cohort(work / "cohort")
        write_duckdb(tables, work / "cdm.duckdb")
        if out.exists():
            out.unlink() if out.is_file() else shutil.rmtree(out)
        shutil.move(work / "cdm.duckdb", out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return tables["person"].height
