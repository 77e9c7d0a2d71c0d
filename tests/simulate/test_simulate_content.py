"""Content: schema conformance, internal consistency, truth consistent with the records."""

from __future__ import annotations

import ast
from pathlib import Path

import polars as pl

from mmrwe.io.schema import LAB_TESTS, RESPONSE_CODES, TABLES, UNIT_FACTORS
from mmrwe.simulate.names import DRUG_SPELLINGS, UNMAPPED_DRUG_NAMES

N = 1200  # patients in the shared cohort (conftest)


def _date(col: str, end: bool = False) -> pl.Expr:
    full = pl.col(col).str.to_date("%Y-%m-%d", strict=False)
    month = (pl.col(col) + "-01").str.to_date("%Y-%m-%d", strict=False)
    return pl.coalesce(full, month.dt.month_end() if end else month)


def test_every_column_of_the_data_model_is_present(tables):
    for name, spec in TABLES.items():
        required = set(spec.required_columns)
        assert required <= set(tables[name].columns), name
    assert tables["patients"]["patient_id"].n_unique() == N


def test_codes_are_within_the_data_model(tables):
    p = tables["patients"]
    for col in ("sex", "iss_stage", "r_iss_stage", "cytogenetic_risk"):
        codes = set(TABLES["patients"].column(col).codes)
        assert set(p[col].drop_nulls()) <= codes, col
    assert p["ecog"].is_between(0, 4).all()
    labs = tables["labs"]
    assert set(labs["test"]) <= set(LAB_TESTS)
    units = labs.filter(pl.col("unit").is_not_null())
    for test, unit in units.select("test", "unit").unique().iter_rows():
        assert unit.lower() in UNIT_FACTORS[test], (test, unit)
    assert set(tables["responses"]["response"]) <= set(RESPONSE_CODES)
    ae = tables["adverse_events"]
    assert ae["grade"].is_between(1, 5).all()
    assert set(ae["grading"]) == {"CTCAE", "ASTCT"}
    crs = ae.filter(pl.col("term").is_in(["cytokine release syndrome", "ICANS"]))
    assert (crs["grading"] == "ASTCT").all()


def test_lab_values_are_numbers_censored_values_or_words(tables):
    v = tables["labs"]["value"]
    number = v.cast(pl.Float64, strict=False).is_not_null()
    words = v.is_in(["<0.1", "<10", "not detected", "positive", "negative"])
    assert (number | words).all()
    assert v.is_in(["<0.1"]).any() and v.is_in(["not detected"]).any()
    assert (tables["labs"]["unit"] == "g/L").any()


def test_every_drug_spelling_is_listed(tables):
    listed = {s for spellings in DRUG_SPELLINGS.values() for s in spellings}
    used = set(tables["treatments"]["drug"])
    assert used <= listed | set(UNMAPPED_DRUG_NAMES)
    assert {"Revlimid", "dara", "Velcade", "dex"} & used
    assert used & set(UNMAPPED_DRUG_NAMES)


def test_dates_stay_within_follow_up(tables):
    p = tables["patients"]
    assert (p["last_contact_date"] >= p["diagnosis_date"]).all()
    dead = p.filter(pl.col("death_date").is_not_null())
    assert (dead["death_date"] == dead["last_contact_date"]).all()
    bounds = p.select("patient_id", "diagnosis_date", "last_contact_date")
    tr = tables["treatments"].with_columns(s=_date("start_date"), e=_date("end_date", end=True))
    assert tr["s"].null_count() == 0
    checks = [
        (tr, "s"), (tr, "e"), (tables["labs"], "date"), (tables["responses"], "date"),
        (tables["adverse_events"], "onset_date"),
    ]  # fmt: skip
    for df, col in checks:
        j = df.join(bounds, on="patient_id").filter(pl.col(col).is_not_null())
        outside = j.filter(
            (pl.col(col) < pl.col("diagnosis_date")) | (pl.col(col) > pl.col("last_contact_date"))
        )
        assert outside.height == 0, (col, outside.head())
    assert (tr.filter(pl.col("e").is_not_null()).select((pl.col("e") >= pl.col("s")).all())).item()
    ongoing = tr["end_date"].null_count()
    assert 0 < ongoing < tr.height / 4
    partial = tr.filter(pl.col("start_date").str.len_chars() == 7).height
    assert 0 < partial < tr.height / 100


def test_truth_lines_follow_each_other(tables):
    tl = tables["truth/lines"].sort("patient_id", "line")
    nxt = tl.with_columns(next_start=pl.col("start_date").shift(-1).over("patient_id"))
    has_next = nxt.filter(pl.col("next_start").is_not_null())
    assert (has_next["end_reason"] == "next_line").all()
    assert has_next.select(
        (pl.col("end_date") == pl.col("next_start") - pl.duration(days=1)).all()
    ).item()
    assert (tl["end_date"] >= tl["start_date"]).all()
    assert (
        tl.group_by("patient_id").agg(ok=(pl.col("line") == pl.int_range(1, pl.len() + 1)).all())[
            "ok"
        ]
    ).all()
    car = tl.filter("includes_car_t")
    assert (car["infusion_date"] > car["start_date"]).all()
    assert (
        tl.filter(~pl.col("includes_car_t"))["infusion_date"].null_count()
        == tl.filter(~pl.col("includes_car_t")).height
    )
    asct = tl.filter("includes_asct")
    assert (asct["line"] == 1).all() and (asct["pattern"] == "transplant").all()
    assert set(tl["pattern"]) <= {"standard", "transplant", "car_t", "retreatment", "add_on"}


def test_truth_drugs_are_in_the_treatment_records(tables):
    """Each truth line's drugs were recorded, by some spelling, between its start and end."""
    generic = {s: g for g, spellings in DRUG_SPELLINGS.items() for s in spellings}
    tr = tables["treatments"].with_columns(
        generic=pl.col("drug").replace_strict(generic, default=None), s=_date("start_date")
    )
    tl = tables["truth/lines"].with_columns(drug=pl.col("drugs").str.split(";")).explode("drug")
    j = tl.join(tr, left_on=["patient_id", "drug"], right_on=["patient_id", "generic"])
    e = _date("end_date_right", end=True)
    started_in = (pl.col("s") >= pl.col("start_date")) & (pl.col("s") <= pl.col("end_date"))
    # add-on: lenalidomide of the previous Rd line runs on into the D-Rd line
    runs_on = (pl.col("pattern") == "add_on") & (pl.col("s") < pl.col("start_date"))
    runs_on &= e.is_null() | (e >= pl.col("start_date"))
    found = j.filter(started_in | runs_on)
    missing = tl.join(
        found.select("patient_id", "line", "drug").unique(),
        on=["patient_id", "line", "drug"],
        how="anti",
    )
    assert missing.height == 0, missing.head()
    # the line's first record starts on its start date
    first = found.group_by("patient_id", "line").agg(
        pl.col("s").min(), pl.col("start_date").first()
    )
    assert (first["s"] == first["start_date"]).mean() > 0.97
    add_on = tables["truth/lines"].filter(pl.col("pattern") == "add_on")
    assert add_on.height > 0 and (add_on["regimen"] == "D-Rd").all()


def test_truth_progression_and_response(tables):
    tl, pr, br = tables["truth/lines"], tables["truth/progression"], tables["truth/best_response"]
    assert pr.height == tl.height == br.height
    j = pr.join(tl, on=["patient_id", "line"])
    assert (j["index_date"] >= j["start_date"]).all()
    prog = j.filter(pl.col("pfs_event") == "progression")
    assert (prog["progression_date"] == prog["pfs_end_date"]).all()
    assert (prog["progression_date"] <= prog["end_date"]).all()
    assert (j["pfs_end_date"] >= j["index_date"]).all()
    assert set(br["best_response"]) <= set(RESPONSE_CODES)
    assert set(br["disease_type"]) == {"serum", "urine", "serum_urine", "flc_only"}
    flc = br.filter(pl.col("line") == 1)["disease_type"].eq("flc_only").mean()
    assert 0.10 < flc < 0.20
    resp = br.filter(pl.col("first_response_date").is_not_null())
    assert resp["best_response"].is_in(["sCR", "CR", "VGPR", "PR"]).all()


def test_recorded_pd_is_never_before_the_true_progression(tables):
    pr = tables["truth/progression"].join(tables["truth/lines"], on=["patient_id", "line"])
    pd = tables["responses"].filter(pl.col("response") == "PD")
    j = pd.join(pr, on="patient_id").filter(
        (pl.col("date") >= pl.col("start_date")) & (pl.col("date") <= pl.col("end_date"))
    )
    assert j.height == pd.height
    assert (j["progression_date"] <= j["date"]).all()


def test_the_validator_finds_no_error(cohort):
    """The mess stays valid input: only the deliberate partial dates are reported (warnings)."""
    from mmrwe.io import validate_cohort

    _, report = validate_cohort(cohort)
    assert report.errors == [], report.errors[:5]
    assert {p.check for p in report.problems} == {"partial_date"}


def test_simulator_imports_no_derivation_code():
    forbidden = ("mmrwe.lines", "mmrwe.response", "mmrwe.endpoints", "mmrwe.vocab")
    root = Path(__file__).parents[2] / "src" / "mmrwe" / "simulate"
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom | ast.Import):
                names = (
                    [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else [a.name for a in node.names]
                )
                assert not any(n.startswith(forbidden) for n in names), (path.name, names)
