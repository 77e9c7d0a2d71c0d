"""Validation problems: collected all at once, reported as a table a person can fix from."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import polars as pl

Severity = Literal["error", "warning"]

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


@dataclass
class ValidationReport:
    """Every problem found in a cohort, in the order the checks ran."""

    problems: list[Problem] = field(default_factory=list)
    #: Rows beyond MAX_ROWS_PER_CHECK per (check, file, column), counted not listed.
    omitted: dict[tuple[str, str, str | None], int] = field(default_factory=dict)
    #: Counts of values read by a documented rule (partial dates, censored lab values, words).
    counts: dict[str, int] = field(default_factory=dict)
    _listed: dict[tuple[str, str, str | None], int] = field(default_factory=dict, repr=False)

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    def add_rows(
        self,
        severity: Severity,
        check: str,
        file: str,
        column: str | None,
        rows: Iterable[int],
        values: Iterable[object],
        what: str,
        fix: str,
    ) -> int:
        """Add one problem per failing row and return the count. At most MAX_ROWS_PER_CHECK rows
        are listed per (check, file, column) over all calls (a file read in chunks lists no
        more than one read at once); the rest are counted in ``omitted``."""
        key = (check, file, column)
        n = 0
        for row, value in zip(rows, values, strict=True):
            if self._listed.get(key, 0) < MAX_ROWS_PER_CHECK:
                self._listed[key] = self._listed.get(key, 0) + 1
                self.add(
                    Problem(
                        severity,
                        check,
                        file,
                        column,
                        int(row),
                        None if value is None else str(value),
                        what,
                        fix,
                    )
                )
            else:
                self.omitted[key] = self.omitted.get(key, 0) + 1
            n += 1
        return n

    def room(self, check: str, file: str, column: str | None) -> int:
        """How many more rows of (check, file, column) would be listed."""
        return max(MAX_ROWS_PER_CHECK - self._listed.get((check, file, column), 0), 0)

    def count(self, key: str, n: int) -> None:
        """Record that ``n`` values were read by the documented rule ``key``."""
        if n:
            self.counts[key] = self.counts.get(key, 0) + n

    def extend(self, other: ValidationReport) -> None:
        self.problems.extend(other.problems)
        for k, v in other.omitted.items():
            self.omitted[k] = self.omitted.get(k, 0) + v
        for k, v in other.counts.items():
            self.count(k, v)
        for k, v in other._listed.items():
            self._listed[k] = self._listed.get(k, 0) + v

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors

    def n_errors(self) -> int:
        """Errors including those counted but not listed."""
        listed = {(p.check, p.file, p.column) for p in self.errors}
        return len(self.errors) + sum(v for k, v in self.omitted.items() if k in listed)

    def to_frame(self) -> pl.DataFrame:
        """The problems as a table with columns ``PROBLEM_COLUMNS``."""
        rows = [asdict(p) for p in self.problems]
        schema = {c: pl.String() for c in PROBLEM_COLUMNS} | {"row": pl.Int64()}
        return pl.DataFrame(rows, schema=schema).select(PROBLEM_COLUMNS)

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "errors": self.n_errors(),
            "warnings": len(self.warnings),
            "problems": [asdict(p) for p in self.problems],
            "not_listed": [
                {"check": k[0], "file": k[1], "column": k[2], "more_rows": v}
                for k, v in sorted(self.omitted.items(), key=lambda kv: tuple(map(str, kv[0])))
            ],
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
