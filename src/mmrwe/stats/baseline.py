"""Table 1: patient characteristics at the index date, one column per analysis group.

Rows are (characteristic, level); columns one per group plus ``Total`` (all analysed
patient-lines; only with several groups). When a patient is in several groups (groups by line),
the total counts patient-lines, not patients: the count row then reads ``Patient-lines`` and
the total column ``All patient-lines``. Cells are text ready to print: ``n (%)`` of the
column's patient-lines, ``median (Q1-Q3)`` or ``min-max``. Missing values are counted in an
``unknown`` level, never dropped; staging, cytogenetic risk and ECOG are recorded at diagnosis
and labelled so. Quartiles as R ``quantile(type = 7)`` (linear interpolation).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import polars as pl

from mmrwe.errors import require_columns
from mmrwe.privacy import SMALL_CELL_THRESHOLD, WITHHELD, AtMostRow, RowSum, Sum, protect
from mmrwe.stats.response_rates import analysis_groups
from mmrwe.stats.rounding import round_like_r

PATIENTS = "Patients"
TOTAL = "Total"
#: the count row and the total column when a patient is in several groups (e.g. by line)
PATIENT_LINES = "Patient-lines"
TOTAL_LINES = "All patient-lines"
AGE = "Age at index (years)"
PRIOR = "Prior lines of therapy"
YEARS = "Years from diagnosis to index"

#: Refractoriness and exposure at the line's start: (label, column).
FLAGS = (
    ("Refractory: lenalidomide", "len_refractory"),
    ("Refractory: proteasome inhibitor", "pi_refractory"),
    ("Refractory: anti-CD38 antibody", "anti_cd38_refractory"),
    ("Refractory: triple-class", "triple_class_refractory"),
    ("Refractory: penta-drug", "penta_refractory"),
    ("Exposed: triple-class", "triple_class_exposed"),
)


def _levels(levels: dict[str, pl.Expr]) -> list[tuple[str, pl.Expr]]:
    """A partition of the patient-lines: the given levels plus ``unknown`` (everything else)."""
    known = {k: e.fill_null(False) for k, e in levels.items()}
    unknown = ~pl.any_horizontal(list(known.values()))
    return [*known.items(), ("unknown", unknown)]


def _partitions() -> dict[str, list[tuple[str, pl.Expr]]]:
    """Characteristics whose levels add up to the column's patient-lines."""
    ecog, prior = pl.col("ecog"), pl.col("prior_lines")
    stages = ("I", "II", "III")
    return {
        "Sex": _levels({"female": pl.col("sex") == "F", "male": pl.col("sex") == "M"}),
        "ISS stage at diagnosis": _levels({s: pl.col("iss_stage") == s for s in stages}),
        "R-ISS stage at diagnosis": _levels({s: pl.col("r_iss_stage") == s for s in stages}),
        "Cytogenetic risk at diagnosis": _levels(
            {r: pl.col("cytogenetic_risk") == r for r in ("high", "standard")},
        ),
        "ECOG performance status at diagnosis": _levels(
            {"0": ecog == 0, "1": ecog == 1, "≥ 2": ecog >= 2}
        ),
        PRIOR: _levels({**{str(k): prior == k for k in range(4)}, "≥ 4": prior >= 4}),
    }


def _count_rows(df: pl.DataFrame) -> list[tuple[str, str, pl.Expr]]:
    """Every count row in display order: (characteristic, level, patient-line indicator)."""
    age = pl.col("age_at_index")
    rows = [(PATIENTS, "n", pl.col("patient_id").is_not_null() | True)]
    rows += [
        (AGE, "≥ 65", (age >= 65).fill_null(False)),
        (AGE, "≥ 75", (age >= 75).fill_null(False)),
    ]
    rows.append((AGE, "unknown", age.is_null()))
    for characteristic, levels in _partitions().items():
        rows += [(characteristic, level, expr) for level, expr in levels]
    rows += [(label, "yes", pl.col(col).fill_null(False)) for label, col in FLAGS]
    if df.select(pl.any_horizontal(pl.col(c).is_null() for _, c in FLAGS).any()).item():
        unknown = pl.any_horizontal(pl.col(c).is_null() for _, c in FLAGS)
        rows.append(("Refractoriness", "unknown", unknown))
    return rows


def _counts(df: pl.DataFrame, by: str, groups: list[str]) -> pl.DataFrame:
    """characteristic, level and one count column per group (plus Total)."""
    rows = _count_rows(df)
    wide = df.group_by(by).agg(
        [e.cast(pl.Int64).sum().alias(f"r{i}") for i, (_, _, e) in enumerate(rows)]
    )
    per_group = {str(g): wide.filter(pl.col(by) == g).select(pl.exclude(by)).row(0) for g in groups}
    table = pl.DataFrame(
        {
            "characteristic": [r[0] for r in rows],
            "level": [r[1] for r in rows],
            **{g: pl.Series(v, dtype=pl.Int64) for g, v in per_group.items()},
        }
    )
    if len(groups) > 1:
        table = table.with_columns(pl.sum_horizontal(list(per_group)).alias(TOTAL))
    return table


def _number(x: float, digits: int) -> str:
    return f"{x:.{digits}f}"


def _quartiles(v: pl.Series, digits: int) -> str:
    """'median (Q1-Q3)', quartiles as R quantile(type = 7)."""
    q = [_number(v.quantile(p, interpolation="linear"), digits) for p in (0.25, 0.5, 0.75)]
    return f"{q[1]} ({q[0]}-{q[2]})"


def _median_range(v: pl.Series, digits: int) -> str:
    """'median (min-max)' of whole numbers: the median with a decimal only when it is a half."""
    median = v.median()
    shown = f"{median:.0f}" if median == int(median) else _number(median, digits)
    return f"{shown} ({_number(v.min(), 0)}-{_number(v.max(), 0)})"


#: the ends of a published age range are coarsened to this many years (docs/privacy.md)
RANGE_STEP = 5


#: the level of the range as published with small-cell protection on
COARSE_RANGE = f"range (to {RANGE_STEP} years)"


def _range(v: pl.Series, digits: int) -> str:
    return f"{_number(v.min(), digits)}-{_number(v.max(), digits)}"  # type: ignore[arg-type]


def _coarse_range(v: pl.Series, digits: int) -> str:
    """'min-max' with the ends widened to multiples of :data:`RANGE_STEP` (the youngest and the
    oldest are each one patient's value: 37-98 is published as 35-100)."""
    lo = RANGE_STEP * math.floor(float(v.min()) / RANGE_STEP)  # type: ignore[arg-type]
    hi = RANGE_STEP * math.ceil(float(v.max()) / RANGE_STEP)  # type: ignore[arg-type]
    return f"{_number(lo, digits)}-{_number(hi, digits)}"


#: Summary rows: characteristic -> [(level, column, formatter, digits)].
SUMMARIES = {
    AGE: [
        ("median (IQR)", "age_at_index", _quartiles, 1),
        ("range", "age_at_index", _range, 0),
    ],
    PRIOR: [("median (range)", "prior_lines", _median_range, 1)],
    YEARS: [("median (IQR)", "years_since_diagnosis", _quartiles, 1)],
}


def _stat_rows(
    df: pl.DataFrame, by: str, groups: list, with_total: bool, threshold: int
) -> dict[str, list[tuple[str, list[str]]]]:
    """Summary rows per characteristic: {characteristic: [(level, one cell per column)]}.

    A summary of fewer than ``threshold`` known values is withheld; of none, empty. With
    protection on, the age range is coarsened (:func:`_coarse_range`).
    """
    subsets = [df.filter(pl.col(by) == g) for g in groups] + ([df] if with_total else [])
    out: dict[str, list[tuple[str, list[str]]]] = {}
    for characteristic, rows in SUMMARIES.items():
        out[characteristic] = []
        for level, column, fmt, digits in rows:
            if fmt is _range and threshold > 0:
                level, fmt = COARSE_RANGE, _coarse_range
            cells = []
            for sub in subsets:
                v = sub[column].drop_nulls().cast(pl.Float64)
                known = v.len()
                cells.append(
                    "" if known == 0 else WITHHELD if known < threshold else fmt(v, digits)
                )
            out[characteristic].append((level, cells))
    return out


def _format_counts(protected: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """'n (p%)' where n and the column's patient-lines are published; the marker otherwise."""
    n_row = protected.filter(pl.col("characteristic") == PATIENTS).row(0, named=True)
    exprs = []
    for c in columns:
        total = n_row[c]
        n = pl.col(c).cast(pl.Int64, strict=False)
        if total is None or not str(total).isdigit() or int(total) == 0:
            exprs.append(pl.col(c))
            continue
        pct = round_like_r(100 * n / int(total))
        text = pl.format("{} ({}%)", n, pct.cast(pl.String))
        is_n = pl.col("characteristic") == PATIENTS
        exprs.append(
            pl.when(n.is_null() | (n == 0) | is_n).then(pl.col(c)).otherwise(text).alias(c)
        )
    return protected.with_columns(exprs)


def baseline_relations(
    columns: list[str], groups: list[str], characteristics: Sequence[str] = ()
) -> list:
    """Levels of each partition add up to the patient-lines; groups add up to Total; every
    count of ``characteristics`` is at most its group's patient-lines (a bound every reader
    knows)."""
    rel: list = [RowSum(tuple(columns), "characteristic", PATIENTS, (c,)) for c in _partitions()]
    if len(columns) > len(groups):
        rel.append(Sum(TOTAL, tuple(groups)))
    others = tuple(c for c in characteristics if c != PATIENTS)
    if others:
        rel.append(AtMostRow(tuple(columns), "characteristic", PATIENTS, others))
    return rel


def baseline_table(
    analysis_lines: pl.DataFrame,
    patients: pl.DataFrame,
    *,
    by: str = "group",
    threshold: int = SMALL_CELL_THRESHOLD,
) -> pl.DataFrame:
    """Table 1 at the index date per group (text cells), small cells protected.

    Columns: characteristic, level, one per group (in report order), Total (with several
    groups). Counts below ``threshold`` read ``<11`` (no percentage); cells withheld to protect
    them read ``withheld``; medians of fewer than ``threshold`` known values are withheld.
    """
    require_columns(
        analysis_lines,
        "analysis_lines",
        [by, "patient_id", "age_at_index", "years_since_diagnosis", "prior_lines"]
        + [c for _, c in FLAGS],
    )
    wanted = ["sex", "iss_stage", "r_iss_stage", "cytogenetic_risk", "ecog"]
    extra = [c for c in wanted if c not in analysis_lines.columns]
    df, levels = analysis_groups(analysis_lines, by)
    if extra:
        require_columns(patients, "patients", ["patient_id", *extra])
        df = df.join(patients.select("patient_id", *extra), on="patient_id", how="left")
    groups = levels[by].to_list()
    counts = _counts(df, by, groups)
    labels = [str(g) for g in groups]
    columns = [c for c in counts.columns if c not in ("characteristic", "level")]
    protected = protect(
        counts,
        columns,
        threshold=threshold,
        relations=baseline_relations(
            columns, labels, counts["characteristic"].unique(maintain_order=True).to_list()
        ),
    ).with_columns(pl.col(columns).cast(pl.String))
    table = _format_counts(protected, columns)
    stats = _stat_rows(df, by, groups, len(columns) > len(groups), threshold)
    table = withhold_summaries(_assemble(table, stats, columns))
    if df["patient_id"].n_unique() < df.height:  # a patient in several groups
        table = table.with_columns(
            pl.col("characteristic").replace({PATIENTS: PATIENT_LINES})
        ).rename({TOTAL: TOTAL_LINES}, strict=False)
    return table


def summary_levels() -> list[str]:
    """The levels of Table 1's summary rows (not counts)."""
    return [level for rows in SUMMARIES.values() for level, *_ in rows] + [COARSE_RANGE]


def withhold_summaries(table: pl.DataFrame) -> pl.DataFrame:
    """Table 1 with a column's summaries of a characteristic withheld where one of its counts
    in that column is hidden: the median, quartiles and range of age bound the count of
    patients aged 65 or more (a median of 66 says at least half are), and the median and range
    of prior lines the counts of its levels (docs/privacy.md). Run again after every step that
    hides counts."""
    columns = [c for c in table.columns if c not in ("characteristic", "level")]
    summary = pl.col("level").is_in(summary_levels())
    exprs = []
    for c in columns:
        hidden = table.filter(
            ~summary
            & (pl.col("level") != "unknown")  # the summaries are of the known values
            & (pl.col(c).str.starts_with("<") | (pl.col(c) == WITHHELD))
        )["characteristic"].unique()
        hit = summary & pl.col("characteristic").is_in(hidden.to_list()) & (pl.col(c) != "")
        exprs.append(pl.when(hit).then(pl.lit(WITHHELD)).otherwise(pl.col(c)).alias(c))
    return table.with_columns(exprs)


def _assemble(
    counts: pl.DataFrame, stats: dict[str, list[tuple[str, list[str]]]], columns: list[str]
) -> pl.DataFrame:
    """Count and summary rows in display order: a characteristic's summaries before its levels;
    summaries without count rows follow the characteristic they are listed after."""
    schema = {"characteristic": pl.String, "level": pl.String, **dict.fromkeys(columns, pl.String)}
    pieces = []
    order = list(counts["characteristic"].unique(maintain_order=True))
    order.insert(order.index(PRIOR) + 1, YEARS)
    for characteristic in order:
        pieces += [
            pl.DataFrame(
                [[characteristic], [level], *[[c] for c in cells]], schema=schema, orient="col"
            )
            for level, cells in stats.get(characteristic, [])
        ]
        pieces.append(counts.filter(pl.col("characteristic") == characteristic))
    return pl.concat(pieces)
