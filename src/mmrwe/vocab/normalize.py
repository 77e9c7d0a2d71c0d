"""The one rule that turns a drug name as written into a lookup key.

Rule (applied identically by :func:`normalize_drug` in Python and :func:`normalize_drug_expr`
in Polars): Unicode NFKC normalisation, then lower case, then every whitespace character,
hyphen or dash (``-`` and the Unicode dashes), underscore and the marks ``®`` and ``™`` are
removed. Nothing else changes: letters with accents, digits, slashes and brackets are kept, so
"Darzalex Faspro", "darzalex-faspro" and "DARZALEX  FASPRO®" share the key ``darzalexfaspro``,
while "daratumumab/hyaluronidase" keeps its slash.
"""

from __future__ import annotations

import re
import unicodedata

import polars as pl

#: Whitespace as Python defines it (``str.isspace``), listed explicitly so that the Python and
#: the Rust (Polars) regular expression engines drop exactly the same characters.
WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
#: Hyphen, the Unicode hyphens and dashes, minus sign, underscore, registered and trade marks.
DASHES_AND_MARKS = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212_\u00ae\u2122"
#: Characters dropped from a name; one pattern used by both implementations.
DROPPED_CHARACTERS = "[" + WHITESPACE + DASHES_AND_MARKS.replace("-", "\\-", 1) + "]"

_DROPPED = re.compile(DROPPED_CHARACTERS)


def normalize_drug(name: str) -> str:
    """Return the lookup key of a drug name: case-, space- and hyphen-insensitive.

    >>> normalize_drug("Darzalex Faspro")
    'darzalexfaspro'
    >>> normalize_drug("ide-cel") == normalize_drug("IDE CEL")
    True
    """
    return _DROPPED.sub("", unicodedata.normalize("NFKC", name).lower())


def normalize_drug_expr(expr: pl.Expr) -> pl.Expr:
    """The same key as :func:`normalize_drug`, as a vectorised Polars expression."""
    return (
        expr.cast(pl.String)
        .str.normalize("NFKC")
        .str.to_lowercase()
        .str.replace_all(DROPPED_CHARACTERS, "")
    )
