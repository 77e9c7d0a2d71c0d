"""One-patient stage tables for endpoint tests, from day offsets (day 0 = 2020-01-01).

The frames carry the real column sets and types of ``mmrwe response`` (``lines``,
``line_exposures``, ``line_response``, ``assessments``) and of the cohort (``patients``,
``responses``); columns the endpoints do not read are filled with neutral values.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from mmrwe.io.cohort import PATIENTS_SCHEMA, RESPONSES_SCHEMA
from mmrwe.response import ASSESSMENT_SCHEMA, LINE_RESPONSE_SCHEMA

DAY0 = dt.date(2020, 1, 1)
PID = "X"
FLAGS = (
    "len_refractory", "pi_refractory", "anti_cd38_refractory", "triple_class_refractory",
    "penta_refractory", "triple_class_exposed", "penta_exposed",
)  # fmt: skip
LINES_SCHEMA: dict[str, pl.DataType] = {
    "patient_id": pl.String(), "line": pl.Int64(), "start_date": pl.Date(),
    "end_date": pl.Date(), "end_reason": pl.String(), "regimen": pl.String(),
    "maintenance": pl.String(), "drugs": pl.String(), "drug_classes": pl.String(),
    "includes_asct": pl.Boolean(), "includes_car_t": pl.Boolean(), "infusion_date": pl.Date(),
    "prior_lines": pl.Int64(), "start_rule": pl.String(), "start_rule_code": pl.Int64(),
    **dict.fromkeys(FLAGS, pl.Boolean()),
}  # fmt: skip
EXPOSURES_SCHEMA: dict[str, pl.DataType] = {
    "patient_id": pl.String(), "line": pl.Int64(), "drug": pl.String(),
    "drug_class": pl.String(), "start_date": pl.Date(), "end_date": pl.Date(),
    "role": pl.String(), "source_row": pl.Int64(),
}  # fmt: skip


def day(n: int | bool | None) -> dt.date | None:
    """The date ``n`` days after day 0; None for ``false``/None (TOML has no null)."""
    if n is None or n is False:
        return None
    return DAY0 + dt.timedelta(days=int(n))


def _frame(rows: list[dict], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    filled = [{c: r.get(c) for c in schema} for r in rows]
    return pl.DataFrame(filled, schema=schema)


def case_tables(case: dict) -> dict[str, pl.DataFrame]:
    """The six input tables of ``derive_endpoints`` for one case (see the TOML header)."""
    death = case.get("death")
    contact = case.get("last_contact", death if death is not None else 799)
    car_t = {line: infusion for line, infusion in case.get("car_t", [])}
    lines, exposures = [], []
    for i, (start, end, reason) in enumerate(case["lines"], start=1):
        lines.append(
            {
                "patient_id": PID, "line": i, "start_date": day(start), "end_date": day(end),
                "end_reason": reason, "regimen": "R", "drugs": "lenalidomide",
                "drug_classes": "IMiD", "includes_asct": False, "includes_car_t": i in car_t,
                "infusion_date": day(car_t.get(i)), "prior_lines": i - 1,
                "start_rule": "test", "start_rule_code": 0, **dict.fromkeys(FLAGS, False),
            }
        )  # fmt: skip
        if "exposures" not in case:
            exposures.append(
                {"patient_id": PID, "line": i, "drug": "lenalidomide", "drug_class": "IMiD",
                 "start_date": day(start), "end_date": day(end), "role": "", "source_row": i}
            )  # fmt: skip
    for k, (line, drug, cls, start, end, role) in enumerate(case.get("exposures", [])):
        exposures.append(
            {"patient_id": PID, "line": line, "drug": drug, "drug_class": cls,
             "start_date": day(start), "end_date": day(end), "role": role, "source_row": k}
        )  # fmt: skip
    given = {r[0]: r for r in case.get("response", [])}
    response = []
    for i in range(1, len(case["lines"]) + 1):
        _, best, first, progression = given.get(i, (i, "SD", False, False))
        response.append(
            {
                "patient_id": PID, "line": i, "best_response": best,
                "first_response_date": day(first), "progression_date": day(progression),
                "response_source": "labs", "progression_source": "labs" if progression else "none",
            }
        )  # fmt: skip
    assessments = [
        {"patient_id": PID, "line": line, "date": day(d), "role": "on_line", "category": "SD"}
        for line, d in case.get("assessments", [])
    ]
    responses = [
        {"patient_id": PID, "date": day(d), "response": r, "source_row": k}
        for k, (d, r) in enumerate(case.get("responses", []))
    ]
    patient = {
        "patient_id": PID, "diagnosis_date": day(-365), "last_contact_date": day(contact),
        "death_date": day(death),
    }  # fmt: skip
    return {
        "lines": _frame(lines, LINES_SCHEMA),
        "line_exposures": _frame(exposures, EXPOSURES_SCHEMA),
        "line_response": _frame(response, LINE_RESPONSE_SCHEMA),
        "assessments": _frame(assessments, ASSESSMENT_SCHEMA),
        "responses": _frame(responses, RESPONSES_SCHEMA),
        "patients": _frame([patient], PATIENTS_SCHEMA),
    }


def derive_stage_tables(cohort_dir) -> dict[str, pl.DataFrame]:
    """The real pipeline on a cohort directory: read, lines, assessments, line response."""
    from mmrwe.io.read import read_cohort
    from mmrwe.lines import derive_lines_of_therapy
    from mmrwe.response import derive_assessments, derive_line_response

    cohort = read_cohort(cohort_dir)
    lot = derive_lines_of_therapy(cohort)
    assessments = derive_assessments(cohort.labs, lot.lines)
    line_response = derive_line_response(assessments, lot.lines, cohort.responses, cohort.patients)
    return {
        "lines": lot.lines,
        "line_exposures": lot.line_exposures,
        "line_response": line_response,
        "assessments": assessments,
        "responses": cohort.responses,
        "patients": cohort.patients,
    }
