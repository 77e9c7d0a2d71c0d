"""Review of ``mmrwe compare`` (``compare/run.py``, ``compare/figure.py``): small cells in the
comparison's aggregate outputs (tables, figure), on a hand-made run directory."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import polars as pl
import pytest

from mmrwe.compare.figure import plot_comparison
from mmrwe.compare.library import load_benchmarks
from mmrwe.compare.run import compare_run
from mmrwe.io.output import run_file

matplotlib.use("Agg")

N = 40


def _run_dir(path: Path, *, penta: int, unknown_cytogenetics: int) -> Path:
    """A run directory as ``mmrwe run`` writes it (first_eligible, threshold 11): N patients,
    ``penta`` of them penta-refractory, ``unknown_cytogenetics`` with unknown risk."""
    (path / "shareable").mkdir(parents=True)
    (path / "patient_level").mkdir()
    i = np.arange(N)
    ids = [f"P{k:03d}" for k in i]
    cyto = np.where(i % 3 == 0, "high", "standard").astype(object)
    cyto[N - unknown_cytogenetics :] = "unknown"
    pl.DataFrame(
        {
            "patient_id": ids,
            "line": [4] * N,
            "age_at_index": (55 + i % 20).tolist(),
            "prior_lines": [3] * N,
            "triple_class_refractory": (i % 5 != 0).tolist(),
            "penta_refractory": (i < penta).tolist(),
            "cytogenetic_risk": cyto.tolist(),
            "r_iss_stage": ["II"] * N,
            "ecog": (i % 3).tolist(),
            "prior_asct": (i % 4 != 0).tolist(),
        }
    ).write_parquet(run_file(path, "analysis_lines.parquet"))
    time = 1.0 + (i * 7 % N) / 2
    pl.DataFrame(
        {
            "patient_id": ids,
            "line": [4] * N,
            "endpoint": ["PFS"] * N,
            "time_days": np.round(time * 30.4375).astype(np.int64),
            "time_months": time,
            "event": (i % 4 != 0).astype(np.int8),
        }
    ).write_parquet(run_file(path, "endpoints.parquet"))
    manifest = {"config": {"study": {"small_cell_threshold": 11}}, "simulated_data": False}
    (run_file(path, "manifest.json")).write_text(json.dumps(manifest), encoding="utf-8")
    return path


def _compare(
    run: Path, out: Path, match_on: tuple[str, ...], endpoint: str = "PFS"
) -> dict[str, pl.DataFrame]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = compare_run(
            run, out, trial="KarMMa", arm="ide-cel", endpoint=endpoint, match_on=match_on
        )
    return {name: pl.read_parquet(run_file(out, f"{name}.parquet")) for name in result.tables}


@pytest.fixture(scope="module")
def comparison(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pl.DataFrame]:
    root = tmp_path_factory.mktemp("compare")
    run = _run_dir(root / "run", penta=5, unknown_cytogenetics=3)
    return _compare(
        run, root / "cmp", ("penta_refractory", "high_risk_cytogenetics", "triple_class_refractory")
    )


def test_patients_left_out_is_not_a_small_count(comparison: dict[str, pl.DataFrame]) -> None:
    """The comparison's tables are aggregate outputs (they go into report.html); counts from 1
    to 10 are written `<11` (spec data-model.md: "counts below the small-cell threshold written
    as text `<11`"; docs/privacy.md). Found: ``weights.patients_missing_a_characteristic`` is
    the exact 3 patients with unknown cytogenetics (``compare/run.py`` ``_weights``)."""
    value = comparison["weights"]["patients_missing_a_characteristic"][0]
    assert not (isinstance(value, int) and 1 <= value < 11), value


def test_balance_means_do_not_give_back_a_small_count(
    comparison: dict[str, pl.DataFrame],
) -> None:
    """docs/privacy.md: "a percentage next to a published denominator gives the count back",
    so it is withheld with its count. Found: ``balance.mean_before`` of a 0/1 characteristic
    times ``weights.patients_used`` gives the exact count: 5 of the 37 patients used are
    penta-refractory (``compare/run.py`` writes ``maic.summary_`` unprotected)."""
    used = comparison["weights"]["patients_used"][0]
    row = comparison["balance"].filter(pl.col("covariate") == "penta_refractory")
    mean = row["mean_before"][0]
    count = None if mean is None else round(float(mean) * int(used))
    assert count is None or not 1 <= count < 11, f"{count} penta-refractory of {used}"


def test_weighted_curve_stops_where_fewer_than_threshold_patients_remain() -> None:
    """KM curves "stop where fewer than the threshold remain at risk" (spec data-model.md;
    ``plot_comparison``: "Numbers at risk follow the small-cell rule"). 20 patients with events
    at months 1-20: 11 remain at risk at month 10, 10 at month 11, so every curve ends by month
    10. Found: the MAIC-weighted curve is cut on the *weighted* number at risk, which is 13.6
    at month 17 when 4 patients remain (weights 0.2 for the first 15, 3.4 for the last 5), so it
    steps down patient by patient to month 17 (``compare/figure.py`` passes the weighted fit's
    ``n_risk`` to ``plot_km``)."""
    time = np.arange(1.0, 21.0)
    event = np.ones(20, dtype=np.int8)
    weights = np.r_[np.full(15, 0.2), np.full(5, 3.4)]
    published = load_benchmarks().arm("KarMMa", "ide-cel").endpoint("PFS")
    fig = plot_comparison(
        time, event, weights, None, published, trial_label="KarMMa (ide-cel)", threshold=11
    )
    ends = {
        ln.get_label(): float(np.max(ln.get_xdata()))
        for ln in fig.axes[0].get_lines()
        if ln.get_label().startswith("Real-world")
    }
    assert ends["Real-world"] == 10.0
    assert ends["Real-world, MAIC-weighted"] <= 10.0, ends


def test_duration_of_response_is_compared_among_responders(tmp_path: Path) -> None:
    """DOR is defined "among responders (≥ PR)" (spec clinical-rules.md, Endpoints per line;
    docs/endpoints.md: "DOR and TTR exist only for responders"), and ``mmrwe compare`` offers
    ``--endpoint`` "PFS, OS, DOR or TTNT" (cli/compare.py); KarMMa publishes a median DOR.
    Expected: the comparison uses the analysed patients who have a DOR row (the responders).
    Found: ``InvalidDataError`` "endpoints.parquet has no DOR row for 10 analysed lines;
    re-run the study" whenever any analysed patient is a non-responder, i.e. on every real
    cohort (``compare/run.py``: ``data.height != rows.height``)."""
    run = _run_dir(tmp_path / "run", penta=15, unknown_cytogenetics=0)
    endpoints = pl.read_parquet(run_file(run, "endpoints.parquet"))
    dor = endpoints.head(30).with_columns(pl.lit("DOR").alias("endpoint"))  # 30 responders
    pl.concat([endpoints, dor]).write_parquet(run_file(run, "endpoints.parquet"))
    tables = _compare(run, tmp_path / "cmp", (), endpoint="DOR")
    assert tables["comparison"].height >= 1
    assert set(tables["comparison"]["endpoint"]) == {"DOR"}
    assert tables["weights"]["patients_used"].to_list() == [30]
