"""The labs tell the intended story when read by IMWG rules (Kumar S, Lancet Oncol 2016).

An independent reading written here (not the package's response code), one disease type at a
time, each lab date one assessment, canonical units, ``<x`` and ``not detected`` as 0:

- PD: ≥ 25 % and an absolute increase above the nadir of ≥ 0.5 g/dL serum (≥ 1 g/dL when the
  nadir is ≥ 5), ≥ 200 mg/24h urine, > 100 mg/L dFLC; nadir = the lowest value held at two
  consecutive assessments, or the baseline if lower;
- categories: serum PR ≥ 50 %, VGPR ≥ 90 %, MR ≥ 25 % reduction; urine PR ≥ 90 % or
  < 200 mg/24h, VGPR < 100 mg/24h, MR ≥ 50 %; dFLC PR ≥ 50 %, VGPR ≥ 90 % (no MR); CR = 0 (dFLC:
  normal κ/λ ratio 0.26-1.65) with negative IFE and a marrow < 5 % on or before; sCR = CR with
  negative clonality; best = the highest category held at two consecutive assessments before
  progression; PD when the line progressed without such a pair; NE otherwise.
"""

from __future__ import annotations

import itertools

import polars as pl
import pytest

NAME = dict(enumerate(["PD", "SD", "MR", "PR", "VGPR", "CR", "sCR"]))
ZERO = ["not detected", "<0.1", "<10"]


def _number(factor: pl.Expr) -> pl.Expr:
    value = pl.col("value").cast(pl.Float64, strict=False)
    return pl.when(pl.col("value").is_in(ZERO)).then(0.0).otherwise(value) * factor


def _visits(labs: pl.DataFrame, disease: str) -> dict:
    def test(name: str, factor: pl.Expr, alias: str) -> pl.DataFrame:
        sel = labs.filter(pl.col("test") == name)
        return sel.select("patient_id", "date", _number(factor).alias(alias))

    g = pl.col("unit")
    serum = test("serum_m_protein", pl.when(g == "g/L").then(0.1).otherwise(1.0), "serum")
    urine = test("urine_m_protein", pl.when(g == "g/24h").then(1000.0).otherwise(1.0), "urine")
    kappa = test("kappa_flc", pl.when(g == "mg/dL").then(10.0).otherwise(1.0), "kappa")
    lam = test("lambda_flc", pl.when(g == "mg/dL").then(10.0).otherwise(1.0), "lambda")
    words = labs.filter(pl.col("test").is_in(["serum_ife", "bm_clonal_cells"]))
    words = words.pivot("test", index=["patient_id", "date"], values="value")
    pc = labs.filter(pl.col("test") == "bm_plasma_cells").select(
        "patient_id", "date", pc=pl.col("value").cast(pl.Float64)
    )
    driver = {
        "serum": serum,
        "urine": urine,
        "flc_only": kappa.join(lam, on=["patient_id", "date"]),
    }
    frame = driver[disease]
    for other in (words, pc):
        frame = frame.join(other, on=["patient_id", "date"], how="left")
    return frame.sort("patient_id", "date").partition_by("patient_id", as_dict=True)


def _value(a: dict, disease: str, kappa: bool) -> float:
    if disease == "flc_only":
        return a["kappa"] - a["lambda"] if kappa else a["lambda"] - a["kappa"]
    return a[disease]


def _category(a: dict, disease: str, base: float, marrow: bool, clonal_neg: bool) -> int:
    m = a["value"]
    red = 1 - m / base
    if disease == "flc_only":
        ratio = a["kappa"] / a["lambda"]
        cr = 0.26 <= ratio <= 1.65
        cr &= a.get("serum_ife") == "negative" and marrow
        return 6 if cr and clonal_neg else 5 if cr else 4 if red >= 0.9 else 3 if red >= 0.5 else 1
    if m == 0 and a.get("serum_ife") == "negative" and marrow:
        return 6 if clonal_neg else 5
    if disease == "urine":
        return 4 if m < 100 else 3 if (m < 200 or red >= 0.9) else 2 if red >= 0.5 else 1
    return 4 if red >= 0.9 else 3 if red >= 0.5 else 2 if red >= 0.25 else 1


def read_line(line: dict, visits: pl.DataFrame, disease: str) -> tuple:
    """(first PD date, best response) of one line from its labs."""
    increase = {"serum": 0.5, "urine": 200.0, "flc_only": 100.0}[disease]
    rows = visits.to_dicts()
    kappa = rows[0].get("kappa", 0) >= rows[0].get("lambda", 0) if disease == "flc_only" else True
    for a in rows:
        a["value"] = _value(a, disease, kappa)
    idx, end = line["index_date"], line["end_date"]
    before = [a for a in rows if a["date"] <= idx]
    base = before[-1]["value"]
    marrow = any(a["pc"] is not None and a["pc"] < 5 for a in before)
    clonal_neg = False
    on = [a for a in rows if idx < a["date"] <= end]
    pair_max, nadir, pd_date, cats = [], base, None, []
    for i, a in enumerate(on):
        if a["pc"] is not None:
            marrow = a["pc"] < 5
        if a.get("bm_clonal_cells") is not None:
            clonal_neg = a["bm_clonal_cells"] == "negative"
        rise = a["value"] - nadir
        big = disease == "serum" and nadir >= 5 and rise >= 1.0
        over = rise > increase if disease == "flc_only" else rise >= increase
        if big or (over and a["value"] >= 1.25 * nadir):
            pd_date = a["date"]
            break
        cats.append(_category(a, disease, base, marrow, clonal_neg))
        if i >= 1:
            pair_max.append(max(on[i - 1]["value"], a["value"]))
            nadir = min(base, *pair_max)
    pairs = [min(x, y) for x, y in itertools.pairwise(cats)]
    best = max(pairs) if pairs else (0 if pd_date is not None else -1)
    return pd_date, NAME.get(best, "NE")


@pytest.mark.parametrize("disease", ["serum", "urine", "flc_only"])
def test_labs_give_the_true_progression_and_best_response(tables, disease):
    visits = _visits(tables["labs"], disease)
    br = tables["truth/best_response"].filter(pl.col("disease_type") == disease)
    lines = (
        tables["truth/lines"]
        .join(tables["truth/progression"], on=["patient_id", "line"])
        .join(br, on=["patient_id", "line"])
    )
    assert lines.height > 50
    wrong_pd, wrong_best = [], []
    for line in lines.to_dicts():
        pd_date, best = read_line(line, visits[(line["patient_id"],)], disease)
        if pd_date != line["progression_date"]:
            wrong_pd.append((line["patient_id"], line["line"], pd_date, line["progression_date"]))
        if best != line["best_response"]:
            wrong_best.append((line["patient_id"], line["line"], best, line["best_response"]))
    assert not wrong_pd, (len(wrong_pd), wrong_pd[:5])
    assert not wrong_best, (len(wrong_best), wrong_best[:5])
