"""The shipped drug vocabulary: ingredients, the names they are written under, regimen names.

Three CSV files ship with the package (``docs/vocabulary.md`` describes every column):

- ``drugs.csv``: one row per ingredient or procedure with its class (values of the rules file),
  whether it is anti-myeloma therapy, its default role and the abbreviation used in regimen
  names, plus RxNorm/ATC codes where they were verified from a cited source.
- ``drug_names.csv``: every generic, brand, abbreviation, formulation and common misspelling,
  each pointing at one generic name.
- ``regimens.csv``: sets of generic names and the regimen name clinicians write for them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

import polars as pl

from mmrwe.errors import InvalidDataError
from mmrwe.vocab.normalize import normalize_drug, normalize_drug_expr

#: Drug classes, as listed in the clinical rules (values of ``drug_classes``).
DRUG_CLASSES: tuple[str, ...] = (
    "IMiD",
    "PI",
    "anti-CD38",
    "anti-SLAMF7",
    "BCMA ADC",
    "bispecific",
    "CAR-T",
    "XPO1",
    "BCL2",
    "alkylator",
    "anthracycline",
    "HDAC",
    "steroid",
    "investigational",
    "supportive",
    "procedure",
)

#: Default role of an ingredient; the line engine may reassign by timing (e.g. cyclophosphamide
#: given as mobilisation before an ASCT, or as lymphodepletion before a CAR-T infusion).
ROLES: tuple[str, ...] = (
    "therapy",
    "steroid",
    "supportive",
    "procedure",
    "conditioning",
    "mobilisation",
    "lymphodepletion",
)

#: Kinds of names in ``drug_names.csv``; ``drug map`` marks names added by a user's drug map.
NAME_KINDS: tuple[str, ...] = (
    "generic",
    "brand",
    "abbreviation",
    "formulation",
    "misspelling",
    "drug map",
)

DRUG_COLUMNS = (
    "generic_name",
    "drug_class",
    "anti_myeloma",
    "role",
    "abbreviation",
    "rxnorm",
    "atc",
    "code_source",
    "note",
)
NAME_COLUMNS = ("name", "generic_name", "kind", "key")
REGIMEN_COLUMNS = ("regimen", "drugs", "variant", "also_written", "example_source")


@dataclass(frozen=True, eq=False)
class Vocabulary:
    """Drug vocabulary tables (Polars): ``drugs``, ``names`` (with the lookup ``key``), ``regimens``.

    Build it with :func:`load_vocabulary`; extend it with a user's drug map through
    :meth:`with_drug_map`. Instances are immutable and compared by identity.
    """

    drugs: pl.DataFrame
    names: pl.DataFrame
    regimens: pl.DataFrame

    @functools.cached_property
    def generic_of_key(self) -> dict[str, str]:
        """Lookup key -> generic name."""
        return dict(zip(self.names["key"], self.names["generic_name"], strict=True))

    @functools.cached_property
    def drug_info(self) -> dict[str, dict[str, object]]:
        """Generic name -> its row of ``drugs`` as a dict."""
        return {row["generic_name"]: row for row in self.drugs.iter_rows(named=True)}

    def generic_name(self, name: str) -> str | None:
        """Generic name for a name as written, or ``None`` when it is not in the vocabulary."""
        return self.generic_of_key.get(normalize_drug(name))

    def with_drug_map(self, drug_map: pl.DataFrame) -> Vocabulary:
        """A new vocabulary extended (and, for the same names, overridden) by a user drug map.

        ``drug_map`` is the table returned by :func:`mmrwe.vocab.read_drug_map`.
        """
        from mmrwe.vocab.drug_map import extend_vocabulary

        return extend_vocabulary(self, drug_map)


def _read(name: str) -> pl.DataFrame:
    source = resources.files("mmrwe.vocab").joinpath(name)
    with source.open("rb") as handle:
        return pl.read_csv(handle.read(), infer_schema=False)


def build_vocabulary(
    drugs: pl.DataFrame, names: pl.DataFrame, regimens: pl.DataFrame
) -> Vocabulary:
    """Type, key and check the three tables; raise :class:`InvalidDataError` when inconsistent."""
    drugs = drugs.with_columns(
        pl.col("anti_myeloma").str.to_lowercase().eq("true").alias("anti_myeloma")
        if drugs.schema["anti_myeloma"] == pl.String
        else pl.col("anti_myeloma")
    ).select(DRUG_COLUMNS)
    names = names.with_columns(key=normalize_drug_expr(pl.col("name"))).select(NAME_COLUMNS)
    regimens = regimens.with_columns(
        pl.col("variant").fill_null(""),
        pl.col("drugs")
        .str.split(";")
        .list.eval(pl.element().str.strip_chars())
        .list.sort()
        .list.join(";"),
    ).select(REGIMEN_COLUMNS)
    vocabulary = Vocabulary(drugs=drugs, names=names, regimens=regimens)
    problems = check_vocabulary(vocabulary)
    if problems:
        raise InvalidDataError(
            "The drug vocabulary is inconsistent: " + "; ".join(problems) + ". Fix the tables."
        )
    return vocabulary


@functools.cache
def load_vocabulary() -> Vocabulary:
    """The vocabulary shipped with mmrwe (read once per process, then cached)."""
    return build_vocabulary(_read("drugs.csv"), _read("drug_names.csv"), _read("regimens.csv"))


def check_vocabulary(vocabulary: Vocabulary) -> list[str]:
    """Every inconsistency of the tables, as sentences (empty when consistent)."""
    drugs, names, regimens = vocabulary.drugs, vocabulary.names, vocabulary.regimens
    problems: list[str] = []
    generics = set(drugs["generic_name"])
    if drugs["generic_name"].is_duplicated().any():
        dup = sorted(set(drugs.filter(pl.col("generic_name").is_duplicated())["generic_name"]))
        problems.append(f"generic names listed twice in drugs: {dup}")
    for column, allowed in (("drug_class", DRUG_CLASSES), ("role", ROLES)):
        values = drugs[column]
        bad = sorted(set(values.drop_nulls()) - set(allowed))
        if bad or values.null_count():
            problems.append(f"drugs.{column} has values outside {list(allowed)}: {bad or [None]}")
    bad_kind = sorted(set(names["kind"].fill_null("")) - set(NAME_KINDS))
    if bad_kind:
        problems.append(f"drug_names.kind has values outside {list(NAME_KINDS)}: {bad_kind}")
    unknown = sorted(set(names["generic_name"]) - generics)
    if unknown:
        problems.append(f"drug_names points at generic names missing from drugs: {unknown}")
    missing = sorted(generics - set(names["generic_name"]))
    if missing:
        problems.append(f"generic names without a name row: {missing}")
    clashes = (
        names.group_by("key")
        .agg(pl.col("generic_name").unique())
        .filter(pl.col("generic_name").list.len() > 1)
    )
    for key, targets in clashes.sort("key").iter_rows():
        problems.append(f"the name key {key!r} maps to several generic names {sorted(targets)}")
    for regimen, drug_set in regimens.select("regimen", "drugs").iter_rows():
        outside = sorted(set(drug_set.split(";")) - generics)
        if outside:
            problems.append(f"regimen {regimen!r} uses generic names missing from drugs: {outside}")
    if regimens.select("drugs", "variant").is_duplicated().any():
        problems.append("regimens lists the same drug set and variant twice")
    return problems
