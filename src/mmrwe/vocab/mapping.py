"""Map the drugs of a treatments table to the vocabulary, and report what is not in it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from mmrwe.contract import TableContract
from mmrwe.io.cohort import TREATMENTS_TABLE
from mmrwe.vocab.drug_map import read_drug_map
from mmrwe.vocab.normalize import normalize_drug_expr
from mmrwe.vocab.tables import Vocabulary, load_vocabulary

#: Columns :func:`map_drugs` adds to a treatments table.
MAPPED_COLUMNS = ("generic_name", "drug_class", "anti_myeloma", "role")
#: ``unmapped_drugs``: one row per distinct unmapped name as written
UNMAPPED_DRUGS_TABLE = TableContract(
    "unmapped_drugs", {"drug": pl.String(), "rows": pl.Int64(), "patients": pl.Int64()}
)
UNMAPPED_COLUMNS = UNMAPPED_DRUGS_TABLE.columns


def map_drugs(
    treatments: pl.DataFrame,
    vocabulary: Vocabulary | None = None,
    drug_map: pl.DataFrame | str | Path | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Add ``generic_name, drug_class, anti_myeloma, role`` to ``treatments``; list unmapped names.

    ``treatments`` needs the columns ``patient_id`` and ``drug`` (as written). Names are matched
    on their normalised key (:func:`mmrwe.vocab.normalize_drug`) in one join over the distinct
    names; a ``drug_map`` (path or the table of :func:`read_drug_map`) extends the vocabulary
    first. Rows whose name is not in the vocabulary keep a null ``generic_name`` and
    ``anti_myeloma = false``: they are never guessed and are not therapy (rule 10).

    Returns ``(mapped, unmapped_drugs)``: the treatments in their original row order with the
    added columns (existing columns of those names are replaced), and one row per distinct
    unmapped name as written, ``drug, rows, patients``, sorted by rows (descending) then drug.
    """
    TREATMENTS_TABLE.require(treatments, "map_drugs", ("patient_id", "drug"))
    vocabulary = load_vocabulary() if vocabulary is None else vocabulary
    if drug_map is not None:
        table = (
            drug_map if isinstance(drug_map, pl.DataFrame) else read_drug_map(drug_map, vocabulary)
        )
        vocabulary = vocabulary.with_drug_map(table)
    codes, distinct = drug_lookup(treatments["drug"], vocabulary)
    mapped = treatments.drop([c for c in MAPPED_COLUMNS if c in treatments.columns]).with_columns(
        pl.col("drug").cast(pl.String),
        *distinct.select(MAPPED_COLUMNS)[codes].get_columns(),
    )
    return mapped, unmapped_drugs(treatments, codes, distinct)


def drug_lookup(drug: pl.Series, vocabulary: Vocabulary) -> tuple[np.ndarray, pl.DataFrame]:
    """Each row's index into the table of its distinct names as written (``drug``, then the
    :data:`MAPPED_COLUMNS`; a null name is the last row, unmapped): one lookup per distinct name,
    so the cost of the string work grows with the names, not the rows."""
    lookup = (
        vocabulary.names.select("key", "generic_name")
        .join(
            vocabulary.drugs.select("generic_name", "drug_class", "anti_myeloma", "role"),
            on="generic_name",
            how="left",
        )
        .unique(subset="key", keep="first", maintain_order=True)
    )  # one row per key (tables.py)
    drug = drug.cast(pl.String)
    names = drug.drop_nulls().unique(maintain_order=True)
    distinct = (
        pl.concat([names.to_frame("drug"), pl.DataFrame({"drug": [None]}, {"drug": pl.String})])
        .with_columns(key=normalize_drug_expr(pl.col("drug")))
        .join(lookup, on="key", how="left", maintain_order="left")
        .drop("key")
        .with_columns(pl.col("anti_myeloma").fill_null(False))
    )
    codes = drug.cast(pl.Enum(names)).to_physical().fill_null(names.len())
    return codes.cast(pl.Int64).to_numpy(), distinct


def unmapped_drugs(
    treatments: pl.DataFrame, codes: np.ndarray, distinct: pl.DataFrame
) -> pl.DataFrame:
    """``unmapped_drugs``: rows and patients of each distinct name in no vocabulary (rule 10)."""
    unmapped_code = np.flatnonzero(distinct["generic_name"].is_null().to_numpy())
    rows = np.flatnonzero(np.isin(codes, unmapped_code))
    return (
        treatments.select("patient_id", pl.col("drug").cast(pl.String))[rows]
        .group_by("drug")
        .agg(rows=pl.len().cast(pl.Int64), patients=pl.col("patient_id").n_unique().cast(pl.Int64))
        .sort(["rows", "drug"], descending=[True, False], nulls_last=True)
        .select(UNMAPPED_COLUMNS)
    )
