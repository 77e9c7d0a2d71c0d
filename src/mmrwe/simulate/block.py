"""One block of patients: journeys, visits, labs, treatments, events, truth, as Polars tables.

A block is a fixed run of :data:`BLOCK_SIZE` consecutive patients with its own random stream
(``SeedSequence(seed).spawn``: child ``b`` for block ``b``), so a cohort does not depend on how
it is split into written partitions. Every table carries ``__p``, the patient's 0-based index in
the cohort (dropped when written).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from mmrwe.simulate import catalogue as cat
from mmrwe.simulate.events import CATEGORY_NAMES, build_adverse_events, build_responses
from mmrwe.simulate.journeys import (
    ADD_ON,
    DEATH,
    DISEASE_TYPES,
    NEVER,
    PATTERN_NAMES,
    PROGRESSION,
    STANDARD,
    TRANSPLANT,
    draw_lines,
    draw_patients,
)
from mmrwe.simulate.labs import build_labs
from mmrwe.simulate.names import (
    DRUG_CODE,
    DRUG_SPELLINGS,
    GENERIC_NAMES,
    PROCEDURES,
    SPELLING_WEIGHTS,
    SUPPORTIVE,
    UNMAPPED_DRUG_NAMES,
)
from mmrwe.simulate.parameters import Parameters, day
from mmrwe.simulate.treatments import NULL, UNMAPPED_BASE, build_treatments
from mmrwe.simulate.visits import best_response, build_visits, plan_response

BLOCK_SIZE = 5_000
_MAX_SP = max(len(s) for s in DRUG_SPELLINGS.values())
_SPELL = np.array(
    [list(s) + [s[0]] * (_MAX_SP - len(s)) for s in DRUG_SPELLINGS.values()], dtype=object
)
_SPELL_CUM = np.array(
    [np.cumsum(list(w) + [0.0] * (_MAX_SP - len(w))) / sum(w) for w in SPELLING_WEIGHTS.values()]
)
#: not listed in a truth line's drugs: supportive care, procedures and lymphodepletion-only
#: fludarabine (not anti-myeloma therapy; the line still owns it by rule 6)
_NOT_THERAPY = np.array(
    [g in SUPPORTIVE or g in PROCEDURES or g == "fludarabine" for g in GENERIC_NAMES]
)
_FASPRO_FROM = day("2020-05-01")
#: patient identifier from the 0-based cohort index: P0000001, P0000002, ...
PATIENT_ID = (pl.lit("P") + (pl.col("__p") + 1).cast(pl.String).str.zfill(7)).alias("patient_id")


def _dates(days: np.ndarray) -> pl.Series:
    """Days since 1970 as a Polars Date series (``NULL`` and ``NEVER`` become null)."""
    s = pl.Series(np.asarray(days, np.int64))
    return s.set((s < 0) | (s >= NEVER), None).cast(pl.Int32).cast(pl.Date)


def simulate_block(seed: int, block: int, n: int, prm: Parameters) -> dict[str, pl.DataFrame]:
    """Simulate patients ``block*BLOCK_SIZE .. +n``; returns native and truth tables."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block,)))
    pid = block * BLOCK_SIZE + np.arange(n, dtype=np.int64)
    pat = draw_patients(rng, n, prm)
    lines, death = draw_lines(rng, pat, prm)
    lines["fast"] = cat.FAST[lines["regimen"]]
    lines["patient_dead"] = death[lines["pat"]] < NEVER
    plan_response(rng, lines, pat.disease[lines["pat"]] == 3)
    v = build_visits(rng, lines, pat.diagnosis)
    best, first_resp = best_response(lines, v)
    labs = build_labs(rng, lines, v, pat, pid)
    tr = build_treatments(rng, lines, pat.censor)
    tr_pat = np.where(tr["line"] >= 0, lines["pat"][np.maximum(tr["line"], 0)], -1 - tr["line"])
    resp = build_responses(rng, lines, v, n)
    ae = build_adverse_events(rng, lines)
    # last contact: the death day, or the last recorded event of a living patient
    last = pat.diagnosis.copy()
    for who, when in (
        (lines["pat"][v["row"]], v["day"]),
        (tr_pat, tr["start"]),
        (tr_pat, tr["end"]),
        (resp["pat"], resp["day"]),
        (ae["pat"], ae["day"]),
    ):
        np.maximum.at(last, who, when)
    dead = death < NEVER
    last = np.where(dead, death, last)
    out = {
        "patients": _patients(pat, pid, last, death),
        "treatments": _treatments(rng, tr, tr_pat, pid, pat.diagnosis, last),
        "labs": labs.with_columns(date=_dates(labs["day"].to_numpy())).select(
            "__p", "date", "test", "value", "unit"
        ),
        "responses": pl.DataFrame(
            {"__p": pid[resp["pat"]], "date": _dates(resp["day"]), "response": resp["response"]}
        ).sort("__p", "date", maintain_order=True),
        "adverse_events": pl.DataFrame(
            {
                "__p": pid[ae["pat"]],
                "term": ae["term"],
                "onset_date": _dates(ae["day"]),
                "grade": ae["grade"].astype(np.int64),
                "grading": ae["grading"],
                "serious": ae["serious"],
            }
        ).sort("__p", "onset_date", maintain_order=True),
    }
    out.update(_truth(lines, tr, pid, last, best, first_resp, pat))
    return out


def _patients(pat, pid, last, death) -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "__p": pid,
            "diagnosis_date": _dates(pat.diagnosis),
            "last_contact_date": _dates(last),
            "death_date": _dates(np.where(death < NEVER, death, NULL)),
            "sex": pat.sex,
            "birth_year": (1970 + (pat.diagnosis / 365.2425) - pat.age).astype(np.int64),
            "iss_stage": np.array(["", "I", "II", "III"])[pat.iss],
            "r_iss_stage": pl.Series(np.array(["", "I", "II", "III"])[pat.r_iss]).replace("", None),
            "cytogenetic_risk": np.array(["high", "standard", "unknown"])[pat.cyto],
            "ecog": pat.ecog.astype(np.int64),
            "prior_lines_before_data": np.zeros(len(pat), np.int64),
        }
    )
    return frame.with_columns(PATIENT_ID).select(
        "__p", "patient_id", pl.exclude("__p", "patient_id")
    )


def _treatments(rng, tr, tr_pat, pid, diagnosis, last) -> pl.DataFrame:
    code = tr["code"]
    unmapped = code >= UNMAPPED_BASE
    c = np.where(unmapped, 0, code)
    k = cat.draw_index(_SPELL_CUM[c], rng.random(code.size))
    drug = _SPELL[c, k]
    faspro = (drug == "Darzalex Faspro") & (tr["start"] < _FASPRO_FROM)
    drug = np.where(faspro, "Darzalex", drug)
    drug = np.where(
        unmapped,
        np.array(UNMAPPED_DRUG_NAMES, dtype=object)[np.maximum(code - UNMAPPED_BASE, 0)],
        drug,
    )
    end = np.where(tr["end"] > last[tr_pat], NULL, tr["end"])
    # partial dates, only on supportive drugs and only where the imputed date stays valid
    supportive = (tr["line"] < 0) & ~unmapped
    start_s = _dates(tr["start"]).cast(pl.String)
    end_d = _dates(end)
    end_s = end_d.cast(pl.String)
    month_end = end_d.dt.month_end().cast(pl.Int32).to_numpy()
    month_start = _dates(tr["start"]).dt.month_start().cast(pl.Int32).to_numpy()
    u = rng.random((2, code.size))
    p_end = supportive & (end != NULL) & (u[0] < 0.1)
    p_end &= np.nan_to_num(month_end, nan=NEVER) <= last[tr_pat]
    p_start = supportive & (u[1] < 0.03) & (month_start >= diagnosis[tr_pat])
    p_start &= (end == NULL) | (month_start <= end)
    frame = pl.DataFrame(
        {
            "__p": pid[tr_pat],
            "__s": tr["start"],
            "drug": drug.astype(str),
            "start_date": start_s,
            "end_date": end_s,
            "p_start": p_start,
            "p_end": p_end,
        }
    )
    frame = frame.with_columns(
        start_date=pl.when("p_start")
        .then(pl.col("start_date").str.slice(0, 7))
        .otherwise("start_date"),
        end_date=pl.when("p_end").then(pl.col("end_date").str.slice(0, 7)).otherwise("end_date"),
    )
    return frame.sort("__p", "__s", maintain_order=True).select(
        "__p", "drug", "start_date", "end_date"
    )


def _truth(lines, tr, pid, last, best, first_resp, pat) -> dict[str, pl.DataFrame]:
    n = lines["line"].size
    p = lines["pat"]
    ther = (tr["line"] >= 0) & (tr["code"] < UNMAPPED_BASE)
    codes = tr["code"][ther]
    row = tr["line"][ther]
    drug_rows = ~_NOT_THERAPY[codes]
    asct = np.zeros(n, bool)
    asct[row[codes == DRUG_CODE["autologous stem cell transplant"]]] = True
    maint = np.zeros(n, bool)
    is_maint = (codes == DRUG_CODE["lenalidomide"]) & (tr["start"][ther] >= lines["asct"][row])
    maint[row[is_maint]] = True
    add_on = np.flatnonzero(lines["pattern"] == ADD_ON)
    drug_row = np.concatenate([row[drug_rows], add_on])
    drug_code = np.concatenate([codes[drug_rows], np.full(add_on.size, DRUG_CODE["lenalidomide"])])
    drugs = (
        pl.DataFrame({"row": drug_row, "drug": np.array(GENERIC_NAMES)[drug_code]})
        .unique()
        .sort("row", "drug")
        .group_by("row", maintain_order=True)
        .agg(pl.col("drug").str.join(";"))
    )
    has_next = lines["next"] < NEVER
    died = lines["death"] < NEVER
    end = np.where(has_next, lines["next"] - 1, np.where(died, lines["death"], last[p]))
    reason = np.where(has_next, "next_line", np.where(died, "death", "last_contact"))
    pattern = np.where((lines["pattern"] == TRANSPLANT) & ~asct, STANDARD, lines["pattern"])
    base = {"__p": pid[p], "line": lines["line"].astype(np.int64)}
    tl = pl.DataFrame(
        {
            **base,
            "row": np.arange(n),
            "start_date": _dates(lines["start"]),
            "end_date": _dates(end),
            "end_reason": reason,
            "regimen": cat.NAMES[lines["regimen"]],
            "maintenance": pl.Series(np.where(maint, "R", "")).replace("", None),
            "includes_asct": asct,
            "includes_car_t": lines["car_t"],
            "infusion_date": _dates(np.where(lines["car_t"], lines["index"], NULL)),
            "pattern": PATTERN_NAMES[pattern],
        },
    )
    tl = (
        tl.join(drugs, on="row", how="left")
        .with_columns(pl.col("drug").fill_null(""))
        .rename({"drug": "drugs"})
    )
    ev = lines["event"]
    pfs_end = np.where(
        ev == PROGRESSION, lines["progression"], np.where(ev == DEATH, lines["death"], last[p])
    )
    truth_prog = pl.DataFrame(
        {
            **base,
            "index_date": _dates(lines["index"]),
            "progression_date": _dates(np.where(ev == PROGRESSION, lines["progression"], NULL)),
            "pfs_end_date": _dates(pfs_end),
            "pfs_event": np.array(["censored", "progression", "death"])[ev],
        },
    )
    truth_best = pl.DataFrame(
        {
            **base,
            "best_response": np.where(best >= 0, CATEGORY_NAMES[np.maximum(best, 0)], "NE"),
            "first_response_date": _dates(first_resp),
            "disease_type": DISEASE_TYPES[pat.disease[p]],
        },
    )
    pid_expr = PATIENT_ID
    cols = [
        "patient_id", "line", "start_date", "end_date", "end_reason", "regimen", "maintenance",
        "drugs", "includes_asct", "includes_car_t", "infusion_date", "pattern",
    ]  # fmt: skip
    return {
        "truth/lines": tl.with_columns(pid_expr).select("__p", *cols),
        "truth/progression": truth_prog.with_columns(pid_expr).select(
            "__p", "patient_id", pl.exclude("__p", "patient_id")
        ),
        "truth/best_response": truth_best.with_columns(pid_expr).select(
            "__p", "patient_id", pl.exclude("__p", "patient_id")
        ),
    }
