"""Concept sets as data: the CSVs in ``mmrwe/omop/concepts/`` and a user ``--concept-map``.

Columns ``domain,vocabulary_id,concept_code,mmrwe_name,unit,source`` (``source``: where the code
was verified; optional in a user map). A user row wins over a shipped row for the same
``(vocabulary_id, concept_code)``. Codes are resolved to concept ids through the CDM's own
``concept`` table, never by hard-coded concept ids: a code the CDM's vocabulary does not hold is
listed by :func:`resolve` as not found.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl

from mmrwe.errors import InvalidDataError

DOMAINS = ("condition", "drug", "procedure", "measurement", "observation", "regimen")
COLUMNS = ("domain", "vocabulary_id", "concept_code", "mmrwe_name", "unit", "source")
KEY = ("vocabulary_id", "concept_code")


def shipped_concepts() -> pl.DataFrame:
    """Every shipped concept-set row (all CSVs of ``mmrwe/omop/concepts``)."""
    folder = resources.files("mmrwe.omop") / "concepts"
    frames = [
        pl.read_csv(f.read_bytes(), infer_schema=False)
        for f in sorted(folder.iterdir(), key=lambda f: f.name)
        if f.name.endswith(".csv")
    ]
    return pl.concat(frames).select(COLUMNS)


def read_concept_map(path: str | Path) -> pl.DataFrame:
    """A user concept map in the shipped format (``source`` optional); bad rows are errors
    naming the file, row and fix."""
    path = Path(path)
    if not path.is_file():
        raise InvalidDataError(f"The concept map '{path}' does not exist.")
    df = pl.read_csv(path, infer_schema=False).rename(lambda c: c.strip().lower())
    missing = [c for c in COLUMNS[:5] if c not in df.columns]
    if missing:
        raise InvalidDataError(
            f"{path.name}: the column(s) {', '.join(missing)} are missing; a concept map has the "
            f"columns {','.join(COLUMNS)} (source optional)."
        )
    if "source" not in df.columns:
        df = df.with_columns(source=pl.lit(f"user concept map {path.name}"))
    df = df.select(COLUMNS).with_columns(pl.col(c).str.strip_chars() for c in COLUMNS)
    df = df.with_columns(pl.col("unit").fill_null(""), pl.col("domain").str.to_lowercase())
    for i, row in enumerate(df.iter_rows(named=True), start=2):
        if row["domain"] not in DOMAINS:
            raise InvalidDataError(
                f"{path.name} line {i}: domain '{row['domain']}' is not one of {', '.join(DOMAINS)}."
            )
        if not row["vocabulary_id"] or not row["concept_code"] or not row["mmrwe_name"]:
            raise InvalidDataError(
                f"{path.name} line {i}: vocabulary_id, concept_code and mmrwe_name are required."
            )
    return df


def concept_sets(concept_map: str | Path | pl.DataFrame | None = None) -> pl.DataFrame:
    """The shipped concept sets with a user map applied (user rows win per code)."""
    shipped = shipped_concepts().with_columns(pl.col("unit").fill_null(""))
    if concept_map is None:
        return shipped
    user = concept_map if isinstance(concept_map, pl.DataFrame) else read_concept_map(concept_map)
    kept = shipped.join(user.select(KEY), on=list(KEY), how="anti")
    return pl.concat([kept, user.select(COLUMNS)])


def resolve(con: Any, vocab_schema: str, sets: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The concept ids of ``sets`` in the CDM's ``concept`` table: ``(resolved, not_found)``;
    ``resolved`` adds ``concept_id`` and ``standard_concept`` to each row found."""
    concept = con.table("concept", database=vocab_schema)
    codes = sets["concept_code"].unique().to_list()
    found = (
        concept.filter(concept.concept_code.isin(codes))
        .select("concept_id", "vocabulary_id", "concept_code", "standard_concept")
        .to_polars()
        .with_columns(pl.col("concept_id").cast(pl.Int64))
    )
    resolved = sets.join(found, on=list(KEY), how="inner")
    return resolved, sets.join(found.select(KEY), on=list(KEY), how="anti")


def concept_ids(
    con: Any, vocab_schema: str, vocabulary_id: str, codes: list[str]
) -> dict[str, int]:
    """``concept_code → concept_id`` of ``codes`` in one vocabulary (e.g. Gender M/F, the
    measurement value operators), read from the CDM's ``concept`` table."""
    concept = con.table("concept", database=vocab_schema)
    rows = (
        concept.filter((concept.vocabulary_id == vocabulary_id) & concept.concept_code.isin(codes))
        .select("concept_code", "concept_id")
        .to_pyarrow()
        .to_pylist()
    )
    return {r["concept_code"]: int(r["concept_id"]) for r in rows}
