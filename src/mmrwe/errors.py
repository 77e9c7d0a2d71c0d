"""The one error hierarchy of mmrwe.

Every error a user can meet derives from :class:`MmrweError`; the CLI prints its message
as one paragraph (no traceback unless ``--debug``) and exits 1. Messages are written for
a person: what is wrong, where (file, column, row, value) and how to fix it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from difflib import get_close_matches
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mmrwe.io.problems import ValidationReport


class MmrweError(Exception):
    """Base class of every error raised by mmrwe on purpose.

    Messages name the library's terms, never command-line flags; ``cli_hint`` (optional) is what
    the command line adds, naming its flags."""

    cli_hint: str = ""


class InvalidDataError(MmrweError):
    """Input data failed validation; ``report`` holds every problem found."""

    def __init__(self, message: str, report: ValidationReport | None = None) -> None:
        super().__init__(message)
        self.report = report


class ConfigError(MmrweError):
    """A configuration (study TOML, rule override, drug map) is invalid."""


class OutputExistsError(MmrweError):
    """An output directory exists and replacing it was not asked for."""

    cli_hint = "On the command line: choose another --out, or pass --overwrite."


class ParameterError(MmrweError, ValueError):
    """A function was called with an invalid parameter value.

    Message template (as scikit-learn): "The 'x' parameter of F must be ... Got ... instead."
    """


def close_matches(value: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """The ``n`` choices closest to ``value`` (difflib ratio at least 0.6), closest first."""
    return get_close_matches(value, list(choices), n=n, cutoff=0.6)


def check_parameter(ok: bool, name: str, owner: str, must: str, got: object) -> None:
    """Raise :class:`ParameterError` in the one template unless ``ok``."""
    if not ok:
        raise ParameterError(
            f"The '{name}' parameter of {owner} must be {must}. Got {got!r} instead."
        )


class MissingColumnsError(InvalidDataError, ParameterError):
    """A table handed to a stage lacks columns its contract requires (one type for every
    table check: it is both bad data and a bad parameter, so either ``except`` catches it)."""


def require_columns(df: Any, table: str, columns: Iterable[str], owner: str | None = None) -> None:
    """Raise :class:`MissingColumnsError` naming every column of ``columns`` that the ``table``
    table (a Polars frame) lacks, and the columns it has. The one column check of mmrwe
    (:meth:`mmrwe.contract.TableContract.require` calls it)."""
    if not hasattr(df, "columns"):
        raise MissingColumnsError(
            f"The '{table}' table{f' passed to {owner}' if owner else ''} must be a Polars "
            f"table. Got {type(df).__name__} instead."
        )
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise MissingColumnsError(
            f"The '{table}' table{f' passed to {owner}' if owner else ''} lacks the column(s) "
            f"{', '.join(repr(c) for c in missing)} (it has {', '.join(df.columns)}). Pass the "
            f"'{table}' table as mmrwe writes it (docs/architecture.md lists every table's columns)."
        )


def did_you_mean(
    value: str, choices: Iterable[str] | Mapping[str, str], *, prefix: bool = False
) -> str:
    """`` Did you mean 'a', 'b'?`` for up to three ``choices`` close to ``value`` (difflib ratio
    at least 0.6; with ``prefix``, also a choice that starts ``value`` or that it starts), or
    ``""``. A mapping is matched on its keys and answers with their values (aliases → names)."""
    names = choices if isinstance(choices, Mapping) else {c: c for c in choices}
    close = [c for c in names if c.startswith(value) or value.startswith(c)] if prefix else []
    close += close_matches(value, names)
    shown = list(dict.fromkeys(names[c] for c in close))[:3]
    return f" Did you mean {', '.join(repr(c) for c in shown)}?" if shown else ""
