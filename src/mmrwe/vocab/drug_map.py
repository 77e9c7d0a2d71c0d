"""A user's drug map: local names and investigational agents added to the vocabulary.

The map is a CSV with columns ``name, generic_name, class`` (extra columns are ignored):

- ``name``: the name as written in the treatments table (required);
- ``generic_name``: a shipped generic name (or any shipped name of it, e.g. a brand) to map a
  local spelling to a known drug, or a new ingredient's name; empty = the name itself;
- ``class``: one of the rules' drug classes; required for a new ingredient, optional (and
  then it must agree) for a shipped one. ``investigational`` counts as anti-myeloma therapy.

User names override shipped names with the same key. Every problem is collected and reported
at once in one :class:`~mmrwe.errors.ConfigError` naming file, column, row, value and the fix.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from mmrwe.errors import ConfigError
from mmrwe.io.problems import Problem
from mmrwe.vocab.normalize import normalize_drug, normalize_drug_expr
from mmrwe.vocab.tables import DRUG_CLASSES, Vocabulary, build_vocabulary, load_vocabulary

DRUG_MAP_COLUMNS = ("name", "generic_name", "class")

#: Classes that are not anti-myeloma therapy when a drug map adds an ingredient of that class.
NON_THERAPY_CLASSES = {"steroid": "steroid", "supportive": "supportive", "procedure": "procedure"}


def _problem(
    file: str, column: str | None, row: int | None, value: str | None, what: str, fix: str
) -> Problem:
    return Problem("error", "drug_map", file, column, row, value, what, fix)


def _read_csv(path: Path) -> pl.DataFrame:
    if not path.is_file():
        raise ConfigError(
            f"The drug map {str(path)!r} does not exist. Fix: give the path of a CSV file with "
            "columns name, generic_name, class."
        )
    try:
        table = pl.read_csv(path, infer_schema=False, encoding="utf8")
    except Exception as exc:  # Polars raises several error types for unreadable CSV
        raise ConfigError(
            f"The drug map {str(path)!r} could not be read as CSV ({exc}). Fix: save it as UTF-8 "
            "CSV with a header row name,generic_name,class."
        ) from exc
    return table.rename({c: c.strip().lower() for c in table.columns})


def read_drug_map(path: str | Path, vocabulary: Vocabulary | None = None) -> pl.DataFrame:
    """Read and validate a user drug map against ``vocabulary`` (default: the shipped one).

    Returns one row per distinct name: ``name, generic_name, drug_class, key, row`` with
    ``generic_name`` resolved to a shipped generic name where the user gave a known name and
    ``drug_class`` filled from the vocabulary for shipped ingredients. ``row`` is the data row
    in the file (header excluded, counted from 1).
    """
    vocabulary = load_vocabulary() if vocabulary is None else vocabulary
    path = Path(path)
    file = path.name
    table = _read_csv(path)
    missing = [c for c in DRUG_MAP_COLUMNS if c not in table.columns]
    if missing:
        raise ConfigError(
            f"{file}: the drug map lacks the column(s) {', '.join(missing)} (found: "
            f"{', '.join(table.columns) or 'none'}). Fix: add a header row name,generic_name,class."
        )
    problems: list[Problem] = []
    resolved: list[dict[str, object]] = []
    for row, (name, generic, cls) in enumerate(table.select(DRUG_MAP_COLUMNS).iter_rows(), 1):
        entry = _resolve_row(file, row, name, generic, cls, vocabulary, problems)
        if entry is not None:
            resolved.append(entry)
    _check_across_rows(file, resolved, problems)
    if problems:
        sentences = "\n".join(f"- {p.sentence()}" for p in problems)
        raise ConfigError(f"The drug map {file} has {len(problems)} problem(s):\n{sentences}")
    out = pl.DataFrame(
        resolved,
        schema={
            "name": pl.String,
            "generic_name": pl.String,
            "drug_class": pl.String,
            "key": pl.String,
            "row": pl.Int64,
        },
    )
    return out.unique(subset="key", keep="first", maintain_order=True)


def _resolve_row(
    file: str,
    row: int,
    name: str | None,
    generic: str | None,
    cls: str | None,
    vocabulary: Vocabulary,
    problems: list[Problem],
) -> dict[str, object] | None:
    name, generic, cls = ((v or "").strip() for v in (name, generic, cls))
    if not name or not normalize_drug(name):
        problems.append(
            _problem(
                file,
                "name",
                row,
                name or None,
                "the name is empty",
                "write the drug name as it appears in the treatments table, or delete the row",
            )
        )
        return None
    if cls and cls not in DRUG_CLASSES:
        problems.append(
            _problem(
                file,
                "class",
                row,
                cls,
                "unknown drug class",
                f"use one of: {', '.join(DRUG_CLASSES)} (exact spelling)",
            )
        )
        return None
    shipped = vocabulary.generic_name(generic or name)
    if shipped is not None:
        shipped_class = vocabulary.drug_info[shipped]["drug_class"]
        if cls and cls != shipped_class:
            problems.append(
                _problem(
                    file,
                    "class",
                    row,
                    cls,
                    f"'{generic or name}' is the shipped drug {shipped}, whose class is {shipped_class}",
                    f"leave class empty or write {shipped_class}",
                )
            )
            return None
        return {
            "name": name,
            "generic_name": shipped,
            "drug_class": shipped_class,
            "key": normalize_drug(name),
            "row": row,
        }
    if not cls:
        what = (
            f"generic_name '{generic}' is not in the vocabulary and no class is given"
            if generic
            else "neither a known generic_name nor a class is given"
        )
        problems.append(
            _problem(
                file,
                "class",
                row,
                None,
                what,
                "write a shipped generic name in generic_name, or give the class "
                "(investigational for an agent under study)",
            )
        )
        return None
    return {
        "name": name,
        "generic_name": generic or name,
        "drug_class": cls,
        "key": normalize_drug(name),
        "row": row,
    }


def _check_across_rows(
    file: str, resolved: list[dict[str, object]], problems: list[Problem]
) -> None:
    first_by_key: dict[object, dict[str, object]] = {}
    class_of_generic: dict[object, dict[str, object]] = {}
    spelling: dict[str, object] = {}
    for entry in resolved:
        # one spelling per new ingredient: the first one written
        entry["generic_name"] = spelling.setdefault(
            normalize_drug(str(entry["generic_name"])), entry["generic_name"]
        )
        earlier = first_by_key.setdefault(entry["key"], entry)
        if earlier["generic_name"] != entry["generic_name"]:
            problems.append(
                _problem(
                    file,
                    "generic_name",
                    int(entry["row"]),
                    str(entry["generic_name"]),
                    f"the name '{entry['name']}' is also mapped to '{earlier['generic_name']}' in row {earlier['row']}",
                    "keep one generic name per name (names match ignoring case, spaces and hyphens)",
                )
            )
        generic_key = normalize_drug(str(entry["generic_name"]))
        same = class_of_generic.setdefault(generic_key, entry)
        if same["drug_class"] != entry["drug_class"]:
            problems.append(
                _problem(
                    file,
                    "class",
                    int(entry["row"]),
                    str(entry["drug_class"]),
                    f"'{entry['generic_name']}' has class {same['drug_class']} in row {same['row']}",
                    "give one class per generic name",
                )
            )


def extend_vocabulary(vocabulary: Vocabulary, drug_map: pl.DataFrame) -> Vocabulary:
    """Add the drug map's new ingredients and names; its names replace shipped names with the same key."""
    known = set(vocabulary.drugs["generic_name"])
    new = (
        drug_map.filter(~pl.col("generic_name").is_in(sorted(known)))
        .group_by("generic_name", maintain_order=True)
        .agg(pl.col("drug_class").first())
    )
    added_drugs = new.select(
        "generic_name",
        "drug_class",
        anti_myeloma=~pl.col("drug_class").is_in(list(NON_THERAPY_CLASSES)),
        role=pl.col("drug_class").replace_strict(NON_THERAPY_CLASSES, default="therapy"),
        abbreviation=pl.lit(None, pl.String),
        rxnorm=pl.lit(None, pl.String),
        atc=pl.lit(None, pl.String),
        code_source=pl.lit("user drug map"),
        note=pl.lit(None, pl.String),
    )
    user_names = pl.concat(
        [
            drug_map.select("name", "generic_name"),
            new.select(name="generic_name", generic_name="generic_name"),
        ]
    ).with_columns(kind=pl.lit("drug map"))
    user_names = user_names.with_columns(key=normalize_drug_expr(pl.col("name")))
    user_names = user_names.unique(subset="key", keep="first", maintain_order=True)
    names = pl.concat(
        [
            user_names.select("name", "generic_name", "kind"),
            vocabulary.names.filter(~pl.col("key").is_in(user_names["key"].to_list())).select(
                "name", "generic_name", "kind"
            ),
        ]
    )
    return build_vocabulary(pl.concat([vocabulary.drugs, added_drugs]), names, vocabulary.regimens)
