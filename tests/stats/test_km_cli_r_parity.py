"""``mmrwe km`` at R parity (issue 19 item 3): quantiles with their limits, survdiff's table,
the stratified log-rank test, coxph for ``--by`` and n.event / n.censor at ``--times``, on R's
``lung`` (tests/r/data/lung2.csv) and ``veteran`` (tests/r/data/vet.csv, the 137 rows of
survival::veteran written by tests/r/make_reference.R). Expected values are R's printouts in
tests/r/raw_output.txt (the R code is tests/r/make_reference.R) unless said otherwise:

    survdiff(Surv(time, status) ~ sex, lung)                       # "survdiff lung_sex"
    survdiff(Surv(time, status) ~ trt, veteran)                    # "survdiff vet_trt"
    survdiff(Surv(time, status) ~ trt + strata(celltype), veteran) # "survdiff vet_trt_strata_cell"
    quantile(survfit(Surv(time, status) ~ sex, lung))              # "quantile lung_sex log 0.95"
    summary(survfit(Surv(time, status) ~ sex, lung), times = c(0, 90, 365, 730, 900, 1100))
    summary(coxph(Surv(time, status) ~ sex, lung))                 # published, see below
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from mmrwe.cli.app import main
from tests.stats.survival_reference import R_DIR

LUNG = R_DIR / "data" / "lung2.csv"
VET = R_DIR / "data" / "vet.csv"


def km(tmp_path: Path, data: Path, *args: str) -> dict:
    out = tmp_path / "km.json"
    argv = ["km", str(data), "--time", "time", "--event", "event", *args, "--json", str(out)]
    assert main(argv) == 0
    return json.loads(out.read_text())


def test_lung_survdiff_table_and_cox(tmp_path: Path, capsys) -> None:
    doc = km(tmp_path, LUNG, "--by", "sex")
    table = doc["logrank"]["groups"]
    # R:  g=1 138 112 91.6 4.55 10.3 / g=2 90 53 73.4 5.68 10.3
    assert [(g["n"], g["observed"]) for g in table] == [(138, 112), (90, 53)]
    assert [round(g["expected"], 1) for g in table] == [91.6, 73.4]
    assert [round(g["oe2_e"], 2) for g in table] == [4.55, 5.68]
    assert [round(g["oe2_v"], 1) for g in table] == [10.3, 10.3]
    # summary(coxph(Surv(time, status) ~ sex, data = lung)), as printed in the public tutorial
    # "Building a Cox Proportional Hazards Model on the Lung Dataset": exp(coef) 0.588,
    # lower .95 0.4237, upper .95 0.816; LR 10.63, Wald 10.09, Score (logrank) 10.33 on 1 df
    cox = doc["cox"]
    assert cox["reference"] == 1 and cox["ties"] == "efron"
    (term,) = cox["terms"]
    assert term["group"] == 2
    assert (round(term["hr"], 3), round(term["lower"], 4), round(term["upper"], 3)) == (
        0.588,
        0.4237,
        0.816,
    )
    tests = cox["tests"]
    assert [round(tests[k]["statistic"], 2) for k in ("likelihood_ratio", "wald", "score")] == [
        10.63,
        10.09,
        10.33,
    ]
    shown = " ".join(capsys.readouterr().out.split())
    assert "(O-E)^2/V" in shown and "Score (logrank) test = 10.33 on 1 df" in shown
    assert "144 (107–177)" in shown and "687 (550–NE)" in shown  # 25th and 75th with limits


def test_lung_quantile_limits_and_counts_at_times(tmp_path: Path) -> None:
    doc = km(tmp_path, LUNG, "--by", "sex", "--times", "0,90,365,730,900,1100")
    g1, g2 = doc["groups"]
    # quantile(fit): g=1 25/50/75 = 144 (107, 177), 270 (212, 310), 457 (387, 574)
    assert g1["quantiles"]["0.25"] == {"estimate": 144, "lower": 107, "upper": 177}
    assert g1["quantiles"]["0.75"] == {"estimate": 457, "lower": 387, "upper": 574}
    # g=2 75th: 687 (550, NA): the upper limit is never reached
    assert g2["quantiles"]["0.75"] == {"estimate": 687, "lower": 550, "upper": None}
    # summary(fit, times=): n.risk and n.event (events since the previous time)
    assert [r["n_risk"] for r in g1["at_times"]] == [138, 117, 35, 7, 2, 0]
    assert [r["n_event"] for r in g1["at_times"]] == [0, 21, 64, 24, 3, 0]
    assert [r["n_event"] for r in g2["at_times"]] == [0, 6, 30, 14, 3, 0]
    # n.censor: counted by hand on the data, censored times in (previous time, time]
    d = pl.read_csv(LUNG).filter(pl.col("sex") == 1)
    times = [0, 90, 365, 730, 900, 1100]
    censored = d.filter(pl.col("event") == 0)["time"].to_numpy()
    by_hand = [
        int(((censored > lo) & (censored <= hi)).sum()) if i else int((censored <= 0).sum())
        for i, (lo, hi) in enumerate(zip([-np.inf, *times[:-1]], times, strict=True))
    ]
    assert [r["n_censor"] for r in g1["at_times"]] == by_hand
    # every patient is accounted for: events + censorings up to the last time = n
    assert sum(r["n_event"] + r["n_censor"] for r in g1["at_times"]) == 138


def test_veteran_survdiff_plain_and_stratified(tmp_path: Path) -> None:
    doc = km(tmp_path, VET, "--by", "trt")
    lr = doc["logrank"]
    # R: g=1 69 64 64.5 0.00388 0.00823 / g=2 68 64 63.5 0.00394 0.00823; Chisq= 0 on 1 df
    assert [(g["n"], g["observed"], round(g["expected"], 1)) for g in lr["groups"]] == [
        (69, 64, 64.5),
        (68, 64, 63.5),
    ]
    assert [round(g["oe2_e"], 5) for g in lr["groups"]] == [0.00388, 0.00394]
    assert [round(g["oe2_v"], 5) for g in lr["groups"]] == [0.00823, 0.00823]
    assert lr["strata"] is None
    doc = km(tmp_path, VET, "--by", "trt", "--strata", "celltype")
    lr = doc["logrank"]
    # R (strata(celltype)): expected 68.2 and 59.8; (O-E)^2/E 0.260, 0.296; (O-E)^2/V 0.702
    assert [round(g["expected"], 1) for g in lr["groups"]] == [68.2, 59.8]
    assert [round(g["oe2_e"], 3) for g in lr["groups"]] == [0.260, 0.296]
    assert round(lr["chisq"], 3) == 0.702 and lr["df"] == 1 and lr["strata"] == "celltype"
    assert "cox" not in doc  # a stratified Cox model is not fitted


def test_veteran_cox_by_treatment(tmp_path: Path) -> None:
    """coxph(Surv(time, status) ~ trt, veteran). No R printout of this model was at hand, so the
    oracle is lifelines' CoxPHFitter (Efron ties, an independent implementation) for the
    coefficient, its standard error and the likelihood-ratio test; the Wald test is z^2."""
    from lifelines import CoxPHFitter

    doc = km(tmp_path, VET, "--by", "trt")
    (term,) = doc["cox"]["terms"]
    d = pl.read_csv(VET).select(
        "time", "event", (pl.col("trt") == 2).cast(pl.Float64).alias("trt2")
    )
    ref = CoxPHFitter().fit(d.to_pandas(), "time", "event")
    assert term["coef"] == pytest.approx(ref.params_["trt2"], abs=1e-4)
    assert term["se"] == pytest.approx(ref.standard_errors_["trt2"], rel=1e-4)
    lr = doc["cox"]["tests"]["likelihood_ratio"]["statistic"]
    assert lr == pytest.approx(ref.log_likelihood_ratio_test().test_statistic, rel=1e-3)
    assert doc["cox"]["tests"]["wald"]["statistic"] == pytest.approx(term["z"] ** 2, rel=1e-9)


def test_strata_without_groups_is_a_usage_error(capsys) -> None:
    argv = ["km", str(VET), "--time", "time", "--event", "event", "--strata", "celltype"]
    assert main(argv) == 2
