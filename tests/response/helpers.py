"""Building one-patient cohorts for response tests from day offsets (day 0 = 2020-01-01).

Each case is written as CSV files in the native format and read with
:func:`mmrwe.io.read_cohort`, so lab values go through the real parser (units, ``<0.1``,
``not detected``) and lines through :func:`mmrwe.lines.derive_lines_of_therapy`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

DAY0 = dt.date(2020, 1, 1)
#: one distinct drug per line, so that each listed start opens a line (rule 2)
LINE_DRUGS = ("lenalidomide", "pomalidomide", "carfilzomib", "selinexor", "belantamab mafodotin")


def day(n: int) -> dt.date:
    return DAY0 + dt.timedelta(days=n)


def iso(n: int) -> str:
    return day(n).isoformat()


def write_case(case: dict, directory: Path) -> Path:
    """Write a case's patients, treatments, labs and responses as CSV; return the directory.

    ``lines``: start days, one drug each (the previous drug stops the day before); or
    ``therapy``: explicit ``[drug, start, end]`` rows (end -1: ongoing). ``labs``:
    ``[day, test, value, unit]``. ``responses``: ``[day, response]``. ``death``: a day.
    """
    directory.mkdir(parents=True, exist_ok=True)
    death = case.get("death")
    last = death if death is not None else case.get("last_contact", 400)
    (directory / "patients.csv").write_text(
        "patient_id,diagnosis_date,last_contact_date,death_date\n"
        f"X,{iso(-365)},{iso(last)},{iso(death) if death is not None else ''}\n"
    )
    therapy = case.get("therapy")
    if therapy is None:
        starts = case.get("lines", [0])
        therapy = [
            [LINE_DRUGS[i], s, (starts[i + 1] - 1) if i + 1 < len(starts) else -1]
            for i, s in enumerate(starts)
        ]
    rows = [f"X,{d},{iso(s)},{iso(e) if e >= 0 else ''}" for d, s, e in therapy]
    (directory / "treatments.csv").write_text(
        "patient_id,drug,start_date,end_date\n" + "\n".join(rows) + "\n"
    )
    labs = [f"X,{iso(d)},{t},{v},{u}\n" for d, t, v, u in case.get("labs", [])]
    (directory / "labs.csv").write_text("patient_id,date,test,value,unit\n" + "".join(labs))
    resp = [f"X,{iso(d)},{r}\n" for d, r in case.get("responses", [])]
    (directory / "responses.csv").write_text("patient_id,date,response\n" + "".join(resp))
    return directory
