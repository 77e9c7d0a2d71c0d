"""Validation problems: collected all at once, reported as a table a person can fix from.

A problem's severity and fix text come from :data:`mmrwe.io.catalog.CHECKS` (:meth:`flag`,
:meth:`add_rows`). The first :data:`MAX_ROWS_PER_CHECK` rows of each check, file and column are
listed one by one (the console table); every further row is kept too, compactly, for the totals
and the JSON (:meth:`all_problems`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import polars as pl

from mmrwe.io.catalog import CHECKS, Severity

#: How many rows of one problem kind are listed one by one before the rest are summarised.
MAX_ROWS_PER_CHECK = 20

PROBLEM_COLUMNS = ("severity", "check", "file", "column", "row", "value", "what", "fix")


@dataclass(frozen=True)
class Problem:
    """One problem in the input: where it is, what is wrong and how to fix it.

    ``row`` is the data row of ``file`` counted from 1 (header excluded), or ``None`` when the
    problem concerns the whole file or column. ``check`` is the code of the check that found it
    (see ``docs/validation.md``).
    """

    severity: Severity
    check: str
    file: str
    column: str | None
    row: int | None
    value: str | None
    what: str
    fix: str

    def sentence(self) -> str:
        """The problem as one readable sentence."""
        where = self.file
        if self.column:
            where += f", column '{self.column}'"
        if self.row is not None:
            where += f", row {self.row}"
        value = f" (value {self.value!r})" if self.value is not None else ""
        return f"{where}{value}: {self.what}. Fix: {self.fix}"


@dataclass(frozen=True)
class _MoreRows:
    """Rows of one check beyond those listed: one problem per row of ``rows`` (row, value)."""

    severity: Severity
    check: str
    file: str
    column: str | None
    what: str
    fix: str
    rows: pl.DataFrame

    def problems(self) -> Iterator[Problem]:
        for row, value in self.rows.iter_rows():
            p = (self.severity, self.check, self.file, self.column, int(row), value)
            yield Problem(*p, self.what, self.fix)


@dataclass
class ValidationReport:
    """Every problem found in a cohort, in the order the checks ran.

    ``problems`` holds those listed one by one (at most MAX_ROWS_PER_CHECK per check, file and
    column); :meth:`all_problems`, :meth:`n_errors` and :meth:`n_warnings` count every one.
    """

    problems: list[Problem] = field(default_factory=list)
    #: Rows beyond MAX_ROWS_PER_CHECK per (check, file, column): how many, not listed.
    omitted: dict[tuple[str, str, str | None], int] = field(default_factory=dict)
    #: Counts of values read by a documented rule (partial dates, censored lab values, words).
    counts: dict[str, int] = field(default_factory=dict)
    _listed: dict[tuple[str, str, str | None], int] = field(default_factory=dict, repr=False)
    _more: list[_MoreRows] = field(default_factory=list, repr=False)

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    def flag(
        self,
        check: str,
        file: str,
        column: str | None = None,
        row: int | None = None,
        value: object = None,
        *,
        what: str,
        **fix_values: object,
    ) -> None:
        """Add one problem of ``check``: its severity and fix from :data:`CHECKS`."""
        spec = CHECKS[check]
        text = None if value is None else str(value)
        fix = spec.fix_text(**fix_values)
        self.add(Problem(spec.severity, check, file, column, row, text, what, fix))

    def add_rows(
        self,
        check: str,
        file: str,
        column: str | None,
        rows: Iterable[int],
        values: Iterable[object],
        what: str,
        more: pl.DataFrame | None = None,
        **fix_values: object,
    ) -> int:
        """Add one problem of ``check`` per failing row and return the count.

        At most MAX_ROWS_PER_CHECK rows are listed per (check, file, column) over all calls (a
        file read in chunks lists no more than one read at once); the rest, and ``more`` (a
        frame of further ``row, value``), are kept for the totals and the JSON.
        """
        spec = CHECKS[check]
        fix = spec.fix_text(**fix_values)
        key = (check, file, column)
        pairs = list(zip(rows, values, strict=True))
        room = self.room(check, file, column)
        for row, value in pairs[:room]:
            text = None if value is None else str(value)
            self.add(Problem(spec.severity, check, file, column, int(row), text, what, fix))
        self._listed[key] = self._listed.get(key, 0) + min(room, len(pairs))
        extra = [
            pl.DataFrame(
                {
                    "row": [int(r) for r, _ in pairs[room:]],
                    "value": [_text(v) for _, v in pairs[room:]],
                },
                schema={"row": pl.Int64, "value": pl.String},
            )
        ]
        if more is not None:
            extra.append(
                more.select(
                    pl.col(more.columns[0]).cast(pl.Int64).alias("row"),
                    pl.col(more.columns[1]).cast(pl.String).alias("value"),
                )
            )
        tail = pl.concat(extra)
        if tail.height:
            self.omitted[key] = self.omitted.get(key, 0) + tail.height
            self._more.append(_MoreRows(spec.severity, check, file, column, what, fix, tail))
        return len(pairs) + (0 if more is None else more.height)

    def room(self, check: str, file: str, column: str | None) -> int:
        """How many more rows of (check, file, column) would be listed."""
        return max(MAX_ROWS_PER_CHECK - self._listed.get((check, file, column), 0), 0)

    def count(self, key: str, n: int) -> None:
        """Record that ``n`` values were read by the documented rule ``key``."""
        if n:
            self.counts[key] = self.counts.get(key, 0) + n

    def extend(self, other: ValidationReport) -> None:
        self.problems.extend(other.problems)
        self._more.extend(other._more)
        for k, v in other.omitted.items():
            self.omitted[k] = self.omitted.get(k, 0) + v
        for k, v in other.counts.items():
            self.count(k, v)
        for k, v in other._listed.items():
            self._listed[k] = self._listed.get(k, 0) + v

    @property
    def errors(self) -> list[Problem]:
        """The errors listed one by one (:meth:`n_errors` counts every one)."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """The warnings listed one by one (:meth:`n_warnings` counts every one)."""
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors

    def _total(self, severity: Severity) -> int:
        listed = sum(p.severity == severity for p in self.problems)
        return listed + sum(m.rows.height for m in self._more if m.severity == severity)

    def n_errors(self) -> int:
        """Every error, listed or not."""
        return self._total("error")

    def n_warnings(self) -> int:
        """Every warning, listed or not."""
        return self._total("warning")

    def all_problems(self) -> Iterator[Problem]:
        """Every problem: the listed ones in the order found, then the rows beyond them."""
        yield from self.problems
        for more in self._more:
            yield from more.problems()

    def to_frame(self) -> pl.DataFrame:
        """Every problem as a table with columns ``PROBLEM_COLUMNS``."""
        rows = [asdict(p) for p in self.all_problems()]
        schema = {c: pl.String() for c in PROBLEM_COLUMNS} | {"row": pl.Int64()}
        return pl.DataFrame(rows, schema=schema).select(PROBLEM_COLUMNS)

    def to_json(self) -> dict[str, object]:
        """Totals and every problem (none left out), and the values read by documented rules."""
        return {
            "ok": self.ok,
            "errors": self.n_errors(),
            "warnings": self.n_warnings(),
            "problems": [asdict(p) for p in self.all_problems()],
            "values_read_by_rule": dict(sorted(self.counts.items())),
        }

    def write_json(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n")

    def summary(self, limit: int = 10) -> str:
        """A paragraph naming the first ``limit`` errors, for error messages."""
        errs = self.errors
        lines = [p.sentence() for p in errs[:limit]]
        more = self.n_errors() - len(lines)
        tail = (
            f" ... and {more} more error(s); run 'mmrwe validate' for the full table."
            if more
            else ""
        )
        return f"{self.n_errors()} error(s) in the cohort: " + " | ".join(lines) + tail


def _text(value: object) -> str | None:
    return None if value is None else str(value)
