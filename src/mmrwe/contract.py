"""Table contracts: the columns and Polars dtypes of each table passed between stages.

Each table is declared once, as a :class:`TableContract`, in the module of the stage that
produces it (``mmrwe.lines.derive.LINES``, ``mmrwe.response.assess.ASSESSMENTS``, ...);
consumers import the declaration and check what they are handed with :meth:`~TableContract.require`,
which raises the one column error of mmrwe (:class:`mmrwe.errors.MissingColumnsError`).
``docs/architecture.md`` lists every contract in the order of the chain.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import polars as pl

from mmrwe.errors import require_columns


@dataclass(frozen=True)
class TableContract:
    """One table's name and its columns with their Polars dtypes, in their written order.

    ``open_ended``: the table carries further columns set by the study (``analysis_lines``:
    one ``subgroup_<name>`` per requested subgroup) after the declared ones.
    """

    name: str
    schema: dict[str, pl.DataType]
    open_ended: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        """The declared column names, in order."""
        return tuple(self.schema)

    def require(
        self, df: pl.DataFrame, owner: str | None = None, columns: Iterable[str] | None = None
    ) -> None:
        """Raise :class:`~mmrwe.errors.MissingColumnsError` unless ``df`` has ``columns`` (by
        default every declared column); ``owner`` names the function the table was passed to."""
        require_columns(df, self.name, self.columns if columns is None else columns, owner)

    def empty(self) -> pl.DataFrame:
        """A table of no rows with the declared columns and dtypes."""
        return pl.DataFrame(schema=dict(self.schema))

    def mismatches(self, df: pl.DataFrame) -> list[str]:
        """How ``df`` departs from the contract (missing, extra or re-typed columns, order);
        empty when it conforms. Tests check every stage's output with it."""
        out = [f"missing {c}" for c in self.schema if c not in df.schema]
        out += [
            f"{c}: {df.schema[c]} instead of {dtype}"
            for c, dtype in self.schema.items()
            if c in df.schema and df.schema[c] != dtype
        ]
        declared = [c for c in df.columns if c in self.schema]
        if not out and declared != list(self.schema):
            out.append(f"column order {declared} instead of {list(self.schema)}")
        extra = [c for c in df.columns if c not in self.schema]
        if extra and not self.open_ended:
            out.append(f"undeclared columns {extra}")
        return out

    def extend(
        self, name: str, more: Mapping[str, pl.DataType], *, open_ended: bool = False
    ) -> TableContract:
        """A contract of this table's columns followed by ``more`` (a later stage's additions)."""
        return TableContract(name, {**self.schema, **more}, open_ended=open_ended)
