"""The analysed population: index lines chosen by a study definition, with attrition.

:func:`select_population` turns the ``lines`` table (with refractoriness) and ``patients`` into
``analysis_lines``: the ``lines`` columns of the analysed lines plus ``index_date`` (line start;
CAR-T lines: the infusion when ``car_t_index = "infusion"``), ``group`` and ``group_order`` (the
analysis group of every summary), ``age_at_index`` (index year − birth year),
``years_since_diagnosis``, ``prior_asct`` (an earlier line included an autologous transplant;
unknown (null) when lines before the data source may have),
the characteristics recorded at diagnosis (``sex``, ``iss_stage``, ``r_iss_stage``,
``cytogenetic_risk``, ``ecog``) and one ``subgroup_<name>`` column per requested subgroup. Every
criterion is one attrition step.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from mmrwe.io.attrition import attrition_table
from mmrwe.io.cohort import PATIENTS_TABLE
from mmrwe.lines.refractory import LINES_TABLE
from mmrwe.lines.rules import index_date_expr
from mmrwe.study.definition import REFRACTORY_FLAGS, Population, StudySettings

DAYS_PER_YEAR = 365.25

#: the analysis-group columns, set on the whole analysed population (:func:`assign_groups`)
GROUP_COLUMNS = ("group", "group_order")


#: ``analysis_lines``: the analysed lines (the ``lines`` columns) with their index date, analysis
#: group and characteristics at index, then one ``subgroup_<name>`` column per requested subgroup
ANALYSIS_LINES_TABLE = LINES_TABLE.extend(
    "analysis_lines",
    {
        "index_date": pl.Date(),
        "group": pl.String(),
        "group_order": pl.Int64(),
        "age_at_index": pl.Int64(),
        "years_since_diagnosis": pl.Float64(),
        "prior_asct": pl.Boolean(),
        "sex": pl.String(),
        "iss_stage": pl.String(),
        "r_iss_stage": pl.String(),
        "cytogenetic_risk": pl.String(),
        "ecog": pl.Int32(),
    },
    open_ended=True,
)
#: columns ``analysis_lines`` adds to the ``lines`` columns (then one ``subgroup_<name>`` each)
ANALYSIS_COLUMNS = ANALYSIS_LINES_TABLE.columns[len(LINES_TABLE.columns) :]


_OWNER = "select_population"
#: the columns of ``lines`` and ``patients`` every selection reads (criteria read more)
_LINE_COLUMNS_READ = (
    "patient_id", "line", "start_date", "includes_asct", "includes_car_t", "infusion_date"
)  # fmt: skip
_PATIENT_COLUMNS_READ = (
    "patient_id", "birth_year", "diagnosis_date", "sex", "iss_stage", "r_iss_stage",
    "cytogenetic_risk", "ecog",
)  # fmt: skip


def _contains_all(column: str, values: tuple[str, ...]) -> pl.Expr:
    items = pl.col(column).fill_null("").str.split(";")
    return pl.all_horizontal([items.list.contains(v) for v in values])


def _criteria(population: Population) -> list[tuple[str, pl.Expr]]:
    """(reason, expression kept) for every criterion the study sets, in attrition order."""
    p = population
    out: list[tuple[str, pl.Expr]] = []
    if p.lines is not None:
        out.append((f"line number not in {list(p.lines)}", pl.col("line").is_in(list(p.lines))))
    if p.start_from is not None:
        out.append((f"line started before {p.start_from}", pl.col("start_date") >= p.start_from))
    if p.start_to is not None:
        out.append((f"line started after {p.start_to}", pl.col("start_date") <= p.start_to))
    if p.regimens is not None:
        out.append(
            (f"regimen not one of {', '.join(p.regimens)}", pl.col("regimen").is_in(p.regimens))
        )
    if p.drugs is not None:
        out.append(
            (f"line does not contain all of {', '.join(p.drugs)}", _contains_all("drugs", p.drugs))
        )
    if p.drug_classes is not None:
        out.append(
            (
                f"line does not contain the classes {', '.join(p.drug_classes)}",
                _contains_all("drug_classes", p.drug_classes),
            )
        )
    if p.car_t is not None:
        out.append(
            ("not a CAR-T line" if p.car_t else "CAR-T line", pl.col("includes_car_t") == p.car_t)
        )
    if p.min_prior_lines is not None:
        out.append(
            (
                f"fewer than {p.min_prior_lines} prior lines",
                pl.col("prior_lines") >= p.min_prior_lines,
            )
        )
    if p.max_prior_lines is not None:
        out.append(
            (
                f"more than {p.max_prior_lines} prior lines",
                pl.col("prior_lines") <= p.max_prior_lines,
            )
        )
    for name in p.refractory_to:
        flag = REFRACTORY_FLAGS[name]
        out.append((f"not {name.replace('_', '-')}-refractory at the line's start", pl.col(flag)))
    for flag in ("triple_class_exposed", "penta_exposed"):
        wanted = getattr(p, flag)
        if wanted is not None:
            words = flag.replace("_", " ").replace("triple class", "triple-class")
            out.append(
                (f"{'not ' if wanted else ''}{words} at the line's start", pl.col(flag) == wanted)
            )
    if p.min_age is not None:
        out.append(
            (
                f"age at index below {p.min_age} or unknown",
                pl.col("age_at_index").fill_null(-1) >= p.min_age,
            )
        )
    if p.max_age is not None:
        out.append(
            (
                f"age at index above {p.max_age} or unknown",
                pl.col("age_at_index").fill_null(10**6) <= p.max_age,
            )
        )
    return out


def _subgroup_exprs(settings: StudySettings) -> dict[str, pl.Expr]:
    """Levels of each subgroup (null: unknown, left out of its hazard ratios)."""
    cut = settings.age_cut

    def yes_no(column: str) -> pl.Expr:
        return pl.when(pl.col(column)).then(pl.lit("yes")).otherwise(pl.lit("no"))

    known: dict[str, Callable[[], pl.Expr]] = {
        "age": lambda: (
            pl.when(pl.col("age_at_index") < cut)
            .then(pl.lit(f"<{cut}"))
            .when(pl.col("age_at_index").is_not_null())
            .then(pl.lit(f"≥{cut}"))
        ),
        "sex": lambda: pl.col("sex").replace({"U": None}),
        "iss_stage": lambda: pl.col("iss_stage"),
        "r_iss_stage": lambda: pl.col("r_iss_stage"),
        "cytogenetic_risk": lambda: pl.col("cytogenetic_risk").replace({"unknown": None}),
        "ecog": lambda: (
            pl.when(pl.col("ecog") >= 2)
            .then(pl.lit("≥2"))
            .otherwise(pl.col("ecog").cast(pl.String))
        ),
        "prior_lines": lambda: (
            pl.when(pl.col("prior_lines") >= 4)
            .then(pl.lit("≥4"))
            .when(pl.col("prior_lines") >= 2)
            .then(pl.lit("2-3"))
            .otherwise(pl.col("prior_lines").cast(pl.String))
        ),
        "triple_class_refractory": lambda: yes_no("triple_class_refractory"),
    }
    return {f"subgroup_{name}": known[name]().cast(pl.String) for name in settings.subgroups}


def _groups(df: pl.DataFrame, settings: StudySettings) -> pl.DataFrame:
    """Add ``group`` and ``group_order`` (line number; regimens: those with at least the small-cell
    threshold of patient-lines, then the others, each by name, so that the order says nothing a
    suppressed size hides (issue 20); by frequency when suppression is off)."""
    if settings.group_by == "line":
        top = settings.max_line
        return df.with_columns(
            pl.when(pl.col("line") >= top)
            .then(pl.lit(f"line {top}+" if (df["line"] > top).any() else f"line {top}"))
            .otherwise(pl.format("line {}", pl.col("line")))
            .alias("group"),
            pl.min_horizontal(pl.col("line"), pl.lit(top)).cast(pl.Int64).alias("group_order"),
        )
    if settings.group_by == "regimen":
        order = (
            df.group_by("regimen")
            .len()
            .with_columns(
                pl.col("len") < settings.small_cell_threshold
                if settings.small_cell_threshold
                else -pl.col("len").cast(pl.Int64)
            )
            .sort(["len", "regimen"])
            .with_row_index("group_order", offset=1)
            .select("regimen", pl.col("group_order").cast(pl.Int64))
        )
        return df.join(order, on="regimen", how="left").with_columns(
            pl.col("regimen").alias("group")
        )
    return df.with_columns(
        pl.lit(settings.name).alias("group"), pl.lit(1, pl.Int64).alias("group_order")
    )


def select_population(
    lines: pl.DataFrame,
    patients: pl.DataFrame,
    settings: StudySettings | None = None,
    population: Population | None = None,
    *,
    car_t_index: str = "infusion",
    groups: bool = True,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The analysed lines (``analysis_lines``) and the attrition from the cohort to them.

    ``lines`` is the ``lines`` table with refractoriness flags; ``patients`` the cohort's patients.
    ``groups=False`` leaves out ``group`` and ``group_order``, which depend on the whole analysed
    population: a caller working on a partition of patients adds them with
    :func:`assign_groups` once all partitions are done.
    """
    settings = settings or StudySettings()
    population = population or Population()
    LINES_TABLE.require(lines, _OWNER, _LINE_COLUMNS_READ)
    PATIENTS_TABLE.require(patients, _OWNER, _PATIENT_COLUMNS_READ)
    people = patients.select(_PATIENT_COLUMNS_READ)
    seen_asct = (
        pl.col("includes_asct").cast(pl.Int32).cum_sum().shift(1, fill_value=0).over("patient_id")
        > 0
    )
    # lines given before the data source began (numbering starts after them) may have included
    # a transplant: without one in the data, prior ASCT is unknown, not "no"
    before_data = pl.col("line").min().over("patient_id") > 1
    prior_asct = pl.when(seen_asct).then(True).when(~before_data).then(False)
    df = (
        lines.sort("patient_id", "line")
        .with_columns(
            index_date_expr(car_t_index).alias("index_date"), prior_asct.alias("prior_asct")
        )
        .join(people, on="patient_id", how="left")
        .with_columns(
            (pl.col("index_date").dt.year() - pl.col("birth_year"))
            .cast(pl.Int64)
            .alias("age_at_index"),
            (
                (pl.col("index_date") - pl.col("diagnosis_date")).dt.total_days() / DAYS_PER_YEAR
            ).alias("years_since_diagnosis"),
        )
    )
    steps: list[tuple[int, int, int, str]] = []
    for reason, keep in _criteria(population):
        before_patients, before_rows = df["patient_id"].n_unique(), df.height
        df = df.filter(keep.fill_null(False))
        steps.append(
            (
                before_patients,
                before_patients - df["patient_id"].n_unique(),
                before_rows - df.height,
                f"lines excluded: {reason}",
            )
        )
    if settings.index == "first_eligible":
        before_patients, before_rows = df["patient_id"].n_unique(), df.height
        df = df.sort("patient_id", "line").unique("patient_id", keep="first", maintain_order=True)
        steps.append(
            (
                before_patients,
                0,
                before_rows - df.height,
                "later eligible lines of the same patient (one index line per patient)",
            )
        )
    df = df.with_columns(**_subgroup_exprs(settings))
    if groups:
        df = assign_groups(df, settings)
    keep_columns = [
        *lines.columns,
        *(c for c in ANALYSIS_COLUMNS if groups or c not in GROUP_COLUMNS),
        *(f"subgroup_{name}" for name in settings.subgroups),
    ]
    analysis_lines = df.select(keep_columns).sort("patient_id", "line")
    return analysis_lines, attrition_table(steps)


def assign_groups(analysis_lines: pl.DataFrame, settings: StudySettings) -> pl.DataFrame:
    """``analysis_lines`` with ``group`` and ``group_order`` set from the whole analysed
    population (regimens ranked by their frequency in it; ``line N+`` when a later line exists),
    columns in their documented order."""
    order = _documented_order(analysis_lines.columns)
    return _groups(analysis_lines.drop(GROUP_COLUMNS, strict=False), settings).select(order)


def attach_groups(part: pl.DataFrame, groups: pl.DataFrame) -> pl.DataFrame:
    """``part`` (some rows of ``analysis_lines``, e.g. one partition's) with the ``group`` and
    ``group_order`` of ``groups`` (the same rows, in the same order, as :func:`assign_groups`
    set them on the whole population), columns in their documented order."""
    order = _documented_order(part.columns)
    return part.drop(GROUP_COLUMNS, strict=False).hstack(groups.select(GROUP_COLUMNS)).select(order)


def _documented_order(columns: list[str]) -> list[str]:
    """The columns of ``analysis_lines`` with ``group`` and ``group_order`` after ``index_date``."""
    order = [c for c in columns if c not in GROUP_COLUMNS]
    at = order.index("index_date") + 1
    order[at:at] = list(GROUP_COLUMNS)
    return order
