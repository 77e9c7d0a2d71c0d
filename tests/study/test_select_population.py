"""The analysed population on hand-made lines: each criterion, index choice, groups, attrition."""

from __future__ import annotations

import datetime as dt

import polars as pl

from mmrwe.lines import REFRACTORY_COLUMNS
from mmrwe.study import Population, StudySettings, select_population

D = dt.date
FLAGS = REFRACTORY_COLUMNS


def line(pid: str, n: int, start: dt.date, regimen: str, drugs: str, classes: str, **kw: object):
    row = {
        "patient_id": pid,
        "line": n,
        "start_date": start,
        "end_date": start + dt.timedelta(200),
        "end_reason": "next_line",
        "regimen": regimen,
        "maintenance": None,
        "drugs": drugs,
        "drug_classes": classes,
        "includes_asct": False,
        "includes_car_t": False,
        "infusion_date": None,
        "prior_lines": n - 1,
        "start_rule": "",
        "start_rule_code": 0,
    }
    row |= dict.fromkeys(FLAGS, False)
    row |= kw
    return row


LINES = pl.DataFrame(
    [
        # A: VRd, then D-Rd (len-refractory), then Isa-Pd (triple-class refractory)
        line(
            "A", 1, D(2015, 1, 1), "VRd", "bortezomib;dexamethasone;lenalidomide", "IMiD;PI;steroid"
        ),
        line(
            "A",
            2,
            D(2016, 1, 1),
            "D-Rd",
            "daratumumab;dexamethasone;lenalidomide",
            "IMiD;anti-CD38;steroid",
            len_refractory=True,
        ),
        line(
            "A",
            3,
            D(2017, 1, 1),
            "Isa-Pd",
            "dexamethasone;isatuximab;pomalidomide",
            "IMiD;anti-CD38;steroid",
            len_refractory=True,
            pi_refractory=True,
            anti_cd38_refractory=True,
            triple_class_refractory=True,
            triple_class_exposed=True,
        ),
        # B: Rd then Isa-Pd then ide-cel (infused 40 days after leukapheresis)
        line("B", 1, D(2014, 6, 1), "Rd", "dexamethasone;lenalidomide", "IMiD;steroid"),
        line(
            "B",
            2,
            D(2018, 3, 1),
            "Isa-Pd",
            "dexamethasone;isatuximab;pomalidomide",
            "IMiD;anti-CD38;steroid",
            len_refractory=True,
        ),
        line(
            "B",
            3,
            D(2020, 1, 1),
            "ide-cel",
            "idecabtagene vicleucel",
            "CAR-T",
            includes_car_t=True,
            infusion_date=D(2020, 2, 10),
            triple_class_exposed=True,
        ),
        # C: only a first line
        line(
            "C",
            1,
            D(2019, 5, 1),
            "D-VRd",
            "bortezomib;daratumumab;dexamethasone;lenalidomide",
            "IMiD;PI;anti-CD38;steroid",
        ),
    ]
)
PATIENTS = pl.DataFrame(
    {
        "patient_id": ["A", "B", "C", "D"],
        "birth_year": [1950, 1940, None, 1960],
        "diagnosis_date": [D(2014, 12, 1), D(2014, 5, 1), D(2019, 4, 1), D(2020, 1, 1)],
        "sex": ["F", "M", "U", "F"],
        "iss_stage": ["I", "III", None, "II"],
        "r_iss_stage": [None, None, None, None],
        "cytogenetic_risk": ["high", "standard", "unknown", "standard"],
        "ecog": [0, 3, None, 1],
    },
    schema_overrides={"r_iss_stage": pl.String, "birth_year": pl.Int32, "ecog": pl.Int32},
)


def select(**population: object) -> tuple[pl.DataFrame, pl.DataFrame]:
    settings = population.pop("settings", StudySettings())
    return select_population(LINES, PATIENTS, settings, Population(**population))


def keys(df: pl.DataFrame) -> list[tuple[str, int]]:
    return list(df.select("patient_id", "line").iter_rows())


def test_default_keeps_every_line_grouped_by_line_number() -> None:
    lines, attrition = select()
    assert lines.height == 7 and attrition.is_empty()
    assert lines.filter(pl.col("patient_id") == "A")["group"].to_list() == [
        "line 1",
        "line 2",
        "line 3",
    ]
    assert lines["group_order"].to_list() == [1, 2, 3, 1, 2, 3, 1]


def test_first_line_containing_isatuximab_and_pomalidomide() -> None:
    settings = StudySettings(index="first_eligible", group_by="regimen")
    lines, attrition = select(settings=settings, drugs=("isatuximab", "pomalidomide"))
    assert keys(lines) == [("A", 3), ("B", 2)]
    assert lines["group"].to_list() == ["Isa-Pd", "Isa-Pd"]
    # C has no such line: one patient and 5 lines out at the drug step; the index step drops none
    assert attrition.row(0, named=True) | {} == {
        "step": 1,
        "patients_before": 3,
        "patients_excluded": 1,
        "patients_after": 2,
        "rows_excluded": 5,
        "reason": "lines excluded: line does not contain all of isatuximab, pomalidomide",
    }
    assert attrition["patients_after"][-1] == 2


def test_one_index_line_per_patient_is_the_first_eligible() -> None:
    settings = StudySettings(index="first_eligible")
    lines, attrition = select(settings=settings, min_prior_lines=1)
    assert keys(lines) == [("A", 2), ("B", 2)]
    assert attrition["rows_excluded"].to_list() == [3, 2]  # lines 1 (x3); A3, B3 later eligible


def test_refractoriness_and_exposure_at_the_line_start() -> None:
    lines, _ = select(refractory_to=("lenalidomide", "anti_cd38"))
    assert keys(lines) == [("A", 3)]
    lines, _ = select(triple_class_exposed=True)
    assert keys(lines) == [("A", 3), ("B", 3)]


def test_car_t_index_is_the_infusion_and_age_is_at_index() -> None:
    lines, _ = select(regimens=("ide-cel",))
    row = lines.row(0, named=True)
    assert row["index_date"] == D(2020, 2, 10) and row["start_date"] == D(2020, 1, 1)
    assert row["age_at_index"] == 80  # 2020 - 1940
    lines, _ = select_population(
        LINES, PATIENTS, None, Population(regimens=("ide-cel",)), car_t_index="line_start"
    )
    assert lines["index_date"].to_list() == [D(2020, 1, 1)]


def test_unknown_age_fails_an_age_criterion_and_is_counted() -> None:
    lines, attrition = select(max_age=90)
    assert "C" not in lines["patient_id"].to_list()
    assert (
        attrition.row(0, named=True)["reason"] == "lines excluded: age at index above 90 or unknown"
    )
    assert attrition.row(0, named=True)["patients_excluded"] == 1


def test_attrition_adds_up_through_several_criteria() -> None:
    _, attrition = select(lines=(2, 3), car_t=False, start_from=D(2016, 6, 1))
    before, after = attrition["patients_before"].to_list(), attrition["patients_after"].to_list()
    assert before[1:] == after[:-1]
    assert (attrition["patients_before"] - attrition["patients_excluded"]).to_list() == after
    assert attrition["rows_excluded"].sum() == 7 - 2  # A3 and B2 remain


def test_lines_above_max_line_are_pooled() -> None:
    lines, _ = select(settings=StudySettings(max_line=2))
    assert sorted(set(lines["group"])) == ["line 1", "line 2+"]
    assert lines.filter(pl.col("line") == 3)["group_order"].to_list() == [2, 2]


def test_subgroup_levels() -> None:
    settings = StudySettings(subgroups=("age", "ecog", "sex", "cytogenetic_risk", "prior_lines"))
    lines, _ = select(settings=settings)
    b3 = lines.filter((pl.col("patient_id") == "B") & (pl.col("line") == 3)).row(0, named=True)
    assert (b3["subgroup_age"], b3["subgroup_ecog"], b3["subgroup_prior_lines"]) == (
        "≥65",
        "≥2",
        "2-3",
    )
    c1 = lines.filter(pl.col("patient_id") == "C").row(0, named=True)
    # unknown age, ECOG, sex "U" and cytogenetics "unknown" are missing levels, not categories
    assert [c1[f"subgroup_{s}"] for s in ("age", "ecog", "sex", "cytogenetic_risk")] == [None] * 4
    assert c1["subgroup_prior_lines"] == "0"


def test_prior_asct_comes_from_earlier_lines_only() -> None:
    lines = LINES.with_columns(includes_asct=(pl.col("patient_id") == "A") & (pl.col("line") == 1))
    out, _ = select_population(lines, PATIENTS)
    flags = dict(
        zip(zip(out["patient_id"], out["line"], strict=True), out["prior_asct"], strict=True)
    )
    # A's transplant belongs to line 1: it is prior to lines 2 and 3, not to line 1 itself
    assert (flags[("A", 1)], flags[("A", 2)], flags[("A", 3)]) == (False, True, True)
    assert not any(v for (pid, _), v in flags.items() if pid != "A")
