"""subgroup_hazard_ratios against R's coxph on the 62 patient-lines of test_summary_by_line.

R 4 / survival 3.5.3, d as there (data.csv), for v in sex, age, iss:

    fit <- coxph(Surv(pfs_days, pfs_event) ~ factor(d[[v]]), data = d, ties = "efron")
    summary(fit)$coefficients; summary(fit)$conf.int                       # -> COX
    quantile(survfit(Surv(pfs_days / 30.4375, pfs_event) ~ d[[v]], data = d), 0.5)  # -> MEDIANS
    quantile(survfit(Surv(pfs_days / 30.4375, pfs_event) ~ 1, data = d), 0.5)       # overall

    # reference level II instead of I
    fit3 <- coxph(Surv(pfs_days, pfs_event) ~ relevel(factor(iss), ref = "II"), data = d)
    # a level without events: z = "c" for line-3 rows without PFS event, "a" lines 1-2, "b" else
    d$z <- ifelse(d$line == 3 & d$pfs_event == 0, "c", ifelse(d$line <= 2, "a", "b"))
    coxph(Surv(pfs_days, pfs_event) ~ factor(z), data = d)
    #   factor(z)b 0.6173713655 (se 0.4152181754); factor(z)c -19.81 (se 4497: infinite)
"""

from __future__ import annotations

import polars as pl
import pytest

from mmrwe.errors import InvalidDataError, ParameterError
from mmrwe.privacy import recoverable_cells
from mmrwe.stats.subgroups import _relations, subgroup_hazard_ratios
from tests.summaries.test_summary_by_line import DATA, rerun_r, tables

# R: (coef, exp(coef), se(coef), Pr(>|z|), lower .95, upper .95) per non-reference level
COX = {
    ("sex", "M"): (0.2020556995, 1.223916178, 0.3431689691, 0.5559997264, 0.6246629089, 2.398046673),
    ("age", ">=65"): (0.06765652979, 1.069997733, 0.3127976348, 0.8287578925, 0.5796008692, 1.97531648),
    ("iss", "II"): (-0.2827176013, 0.7537326109, 0.3406463927, 0.4065701614, 0.3865970811, 1.469521827),
    ("iss", "III"): (-0.3743717690, 0.6877211909, 0.5066290653, 0.4599394914, 0.2547821302, 1.856332844),
}  # fmt: skip
# R: quantile(survfit(...), 0.5): (median, lower, upper) in months; NA -> None
MEDIANS = {
    ("overall", "all"): (13.2073922, 9.823408624, 31.01437372),
    ("sex", "F"): (13.20739220, 9.921971253, 38.57084189),
    ("sex", "M"): (12.78028747, 6.373716632, None),
    ("age", "<65"): (15.44147844, 7.293634497, 45.99589322),
    ("age", ">=65"): (13.20739220, 9.921971253, 38.57084189),
    ("iss", "I"): (15.67145791, 6.636550308, 39.26078029),
    ("iss", "II"): (13.20739220, 9.823408624, None),
    ("iss", "III"): (12.48459959, 2.924024641, None),
}
SUBGROUPS = ["sex", "age", "iss"]


def _row(df: pl.DataFrame, subgroup: str, level: str) -> dict:
    rows = df.filter(pl.col("subgroup") == subgroup, pl.col("level") == level)
    assert rows.height == 1
    return rows.row(0, named=True)


def _close(ours: float | None, r: float | None) -> bool:
    if r is None:
        return ours is None
    return ours is not None and ours == pytest.approx(r, rel=1e-7)


@pytest.fixture(scope="module")
def unsuppressed() -> pl.DataFrame:
    return subgroup_hazard_ratios(*tables(), subgroups=SUBGROUPS, threshold=0)


@pytest.mark.parametrize(("subgroup", "level"), list(COX))
def test_hazard_ratios_equal_coxph(unsuppressed: pl.DataFrame, subgroup: str, level: str) -> None:
    _, hr, _, p, lower, upper = COX[(subgroup, level)]
    row = _row(unsuppressed, subgroup, level)
    for name, want in (("hr", hr), ("lower", lower), ("upper", upper), ("p", p)):
        assert _close(row[name], want), f"{subgroup} {level} {name}: {row[name]} vs R {want}"


@pytest.mark.parametrize(("subgroup", "level"), list(MEDIANS))
def test_medians_equal_survfit(unsuppressed: pl.DataFrame, subgroup: str, level: str) -> None:
    row = _row(unsuppressed, subgroup, level)
    ours = (row["median_months"], row["median_lower"], row["median_upper"])
    assert all(_close(o, r) for o, r in zip(ours, MEDIANS[(subgroup, level)], strict=True)), ours


def test_table_layout_reference_and_missing(unsuppressed: pl.DataFrame) -> None:
    """Overall row first, then levels in sorted order; the reference is the first level, with
    HR 1 and no interval; 7 patient-lines with unknown sex and 4 with unknown ISS are left out
    of their models and counted in n_missing."""
    assert unsuppressed.select("subgroup", "level").rows() == [
        ("overall", "all"),
        ("sex", "F"),
        ("sex", "M"),
        ("age", "<65"),
        ("age", ">=65"),
        ("iss", "I"),
        ("iss", "II"),
        ("iss", "III"),
    ]
    assert unsuppressed["reference"].to_list() == [None, "F", "F", "<65", "<65", "I", "I", "I"]
    ref = _row(unsuppressed, "sex", "F")
    assert (ref["hr"], ref["lower"], ref["upper"], ref["p"]) == (1.0, None, None, None)
    assert ref["note"] == "reference"
    assert unsuppressed["n_missing"].to_list() == ["0", "7", "7", "0", "0", "4", "4", "4"]
    assert unsuppressed["n_patients"].to_list() == ["62", "36", "19", "26", "36", "24", "25", "9"]
    assert unsuppressed["n_events"].to_list()[:3] == ["42", "27", "13"]


def test_reference_mapping_matches_relevel() -> None:
    """reference={"iss": "II"}: R's relevel(factor(iss), ref = "II") gives I 1.3267304420
    (0.6804934653-2.586672401, p 0.4065701614) and III 0.9124206395 (0.3322368761-2.505776701,
    p 0.8588676870)."""
    out = subgroup_hazard_ratios(*tables(), subgroups=["iss"], reference={"iss": "II"}, threshold=0)
    assert _row(out, "iss", "II")["hr"] == 1.0
    for level, want in (
        ("I", (1.3267304420, 0.6804934653, 2.586672401, 0.4065701614)),
        ("III", (0.9124206395, 0.3322368761, 2.505776701, 0.8588676870)),
    ):
        row = _row(out, "iss", level)
        assert all(
            _close(row[k], w) for k, w in zip(("hr", "lower", "upper", "p"), want, strict=True)
        ), row


def test_level_without_events_has_no_hazard_ratio() -> None:
    """Level c has 11 patient-lines and no PFS event: its HR is infinite in R (coef -19.8,
    se 4497) and null here, with a note; level b equals R's 0.6173713655 (HR 1.854048016)."""
    data = DATA.with_columns(
        pl.when((pl.col("line") == 3) & (pl.col("pfs_event") == 0))
        .then(pl.lit("c"))
        .when(pl.col("line") <= 2)
        .then(pl.lit("a"))
        .otherwise(pl.lit("b"))
        .alias("iss")
    )
    out = subgroup_hazard_ratios(*tables(data), subgroups=["iss"], threshold=0)
    assert _close(_row(out, "iss", "b")["hr"], 1.854048016)
    assert _close(_row(out, "iss", "b")["lower"], 0.8216495576)
    c = _row(out, "iss", "c")
    assert c["hr"] is None and c["note"].startswith("not estimable")
    assert c["n_events"] == "0"


def test_small_levels_are_suppressed_and_nothing_recoverable() -> None:
    """One patient per row (first-eligible style), threshold 11. sex: 7 unknown (<11), so one
    more cell is withheld (M, the smallest other part, 19) so that n_missing cannot be found as
    62 - 36 - 19; ISS III (9) and the 4 unknown are both small: their HR is withheld."""
    data = DATA.with_columns(pl.format("{}-{}", "patient_id", "line").alias("patient_id"))
    out = subgroup_hazard_ratios(*tables(data), subgroups=SUBGROUPS)
    sex_m = _row(out, "sex", "M")
    assert sex_m["n_patients"] == "withheld"
    assert _close(sex_m["hr"], COX[("sex", "M")][1])  # a withheld count >= 11: HR kept
    assert _row(out, "sex", "F")["n_missing"] == "<11"
    iss3 = _row(out, "iss", "III")
    assert (iss3["n_patients"], iss3["n_events"]) == ("<11", "<11")
    assert iss3["hr"] is None and iss3["median_months"] is None
    assert iss3["note"] == "withheld: fewer than 11 patients"
    assert _row(out, "age", ">=65")["n_patients"] == "36"
    assert _row(out, "overall", "all")["n_patients"] == "62"
    unprotected = subgroup_hazard_ratios(*tables(data), subgroups=SUBGROUPS, threshold=0)
    relations = _relations(unprotected.with_columns(pl.col("n_missing").cast(pl.Int64)))
    counts = ["n_patients", "n_events", "n_missing"]
    assert recoverable_cells(out, counts, relations, threshold=11) == []


def test_few_people_behind_many_lines_are_withheld() -> None:
    """With the same patients at every line (all_lines), sex M is 19 patient-lines of 7
    patients: fewer than 11 people, so its counts and estimates are withheld."""
    out = subgroup_hazard_ratios(*tables(), subgroups=["sex"])
    m = _row(out, "sex", "M")
    assert m["n_patients"] == "withheld" and m["hr"] is None
    assert m["note"] == "withheld: fewer than 11 patients"


def test_subgroup_without_known_level_is_one_noted_row() -> None:
    data = DATA.with_columns(pl.lit(None, pl.String).alias("sex"))
    out = subgroup_hazard_ratios(*tables(data), subgroups=["subgroup_sex", "age"], threshold=0)
    sex = out.filter(pl.col("subgroup") == "sex")
    assert sex.height == 1 and sex["level"][0] is None
    assert sex["n_missing"][0] == "62" and sex["note"][0] == "no patient-line has a known level"
    assert out.filter(pl.col("subgroup") == "age").height == 2


def test_errors_name_the_problem() -> None:
    with pytest.raises(InvalidDataError, match="reference level 'IV' of subgroup 'iss'"):
        subgroup_hazard_ratios(*tables(), subgroups=["iss"], reference={"iss": "IV"})
    with pytest.raises(InvalidDataError, match=r"lacks the column\(s\) 'subgroup_ecog'"):
        subgroup_hazard_ratios(*tables(), subgroups=["ecog"])
    with pytest.raises(ParameterError, match="'reference' parameter"):
        subgroup_hazard_ratios(*tables(), subgroups=["iss"], reference={"sex": "F"})
    with pytest.raises(ParameterError, match="'subgroups' parameter"):
        subgroup_hazard_ratios(*tables(), subgroups="iss")
    with pytest.raises(InvalidDataError, match="No EFS rows"):
        subgroup_hazard_ratios(*tables(), endpoint="EFS", subgroups=["iss"])


R_SCRIPT = r"""
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], na.strings = "")
out <- NULL
for (v in c("sex", "age", "iss")) {
  fit <- coxph(Surv(pfs_days, pfs_event) ~ factor(d[[v]]), data = d, ties = "efron")
  s <- summary(fit)
  out <- rbind(out, data.frame(subgroup = v, level = sub("factor\\(d\\[\\[v\\]\\]\\)", "",
    rownames(s$coefficients)), coef = s$coefficients[, 1], hr = s$coefficients[, 2],
    se = s$coefficients[, 3], p = s$coefficients[, 5], lower = s$conf.int[, 3],
    upper = s$conf.int[, 4]))
}
write.csv(out, args[2], row.names = FALSE)
"""


@pytest.mark.r
def test_rerun_r_reproduces_cox(tmp_path) -> None:
    """Opt-in (``pytest -m r``): R recomputes COX from DATA."""
    r = rerun_r(R_SCRIPT, DATA, tmp_path)
    assert r.height == len(COX)
    for subgroup, level, coef, hr, se, p, lower, upper in r.iter_rows():
        assert all(
            _close(theirs, ours)
            for theirs, ours in zip(
                (coef, hr, se, p, lower, upper), COX[(subgroup, level)], strict=True
            )
        ), (subgroup, level)


def test_monotone_likelihood_is_not_estimable_not_a_crash() -> None:
    """Four patient-lines where every event of 'yes' precedes the only event of 'no', at which
    'no' is alone at risk: the partial likelihood has no maximum (Heinze & Schemper, Biometrics
    2001), R's coxph warns 'Loglik converged before variable 1; coefficient may be infinite'.
    No hazard ratio is published; the table is still written."""
    analysis_lines = pl.DataFrame(
        {
            "patient_id": ["a", "b", "c", "d"],
            "line": [4, 4, 4, 4],
            "subgroup_tcr": ["no", "yes", "yes", "yes"],
        }
    )
    endpoints = pl.DataFrame(
        {
            "patient_id": ["a", "b", "c", "d"],
            "line": [4, 4, 4, 4],
            "endpoint": ["PFS"] * 4,
            "time_days": [819, 195, 54, 576],
            "event": [1, 0, 0, 1],
        },
        schema_overrides={"event": pl.Int8},
    )
    out = subgroup_hazard_ratios(analysis_lines, endpoints, subgroups=["subgroup_tcr"], threshold=0)
    yes = _row(out, "tcr", "yes")
    assert yes["hr"] is None and "not estimable" in yes["note"]


def test_a_subgroup_with_a_single_level_has_only_its_reference_row() -> None:
    """Every analysed patient-line in one level (e.g. all under 65): nothing to compare."""
    analysis_lines = pl.DataFrame(
        {"patient_id": ["a", "b", "c"], "line": [2, 2, 2], "subgroup_age": ["<65"] * 3}
    )
    endpoints = pl.DataFrame(
        {
            "patient_id": ["a", "b", "c"],
            "line": [2, 2, 2],
            "endpoint": ["PFS"] * 3,
            "time_days": [100, 200, 300],
            "event": [1, 0, 1],
        },
        schema_overrides={"event": pl.Int8},
    )
    out = subgroup_hazard_ratios(analysis_lines, endpoints, subgroups=["subgroup_age"], threshold=0)
    row = _row(out, "age", "<65")
    assert row["note"] == "reference" and row["hr"] == 1.0
