"""Issue 20: no suppressed count is recoverable from everything a run shares, read together.

Every test hands the outputs to the independent attacker of ``tests/privacy/attacker.py``
(SciPy ``milp`` over the published numbers with the documented relations and bounds). Before
the release-level protection each of these recovered a cell (the values are in the comments).
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from mmrwe.io.output import run_file, write_table
from mmrwe.privacy import protect_attrition, suppress_counts
from mmrwe.privacy.model import MIN_SPAN
from mmrwe.privacy.release import ReleaseNotProtected, protect_release
from mmrwe.simulate import simulate_cohort
from mmrwe.stats.subgroups import _publish as publish_subgroups
from mmrwe.study.run import run_study
from tests.privacy.attacker import read_run

T = 11


def shared_dir(tmp_path: Path, tables: dict[str, pl.DataFrame], analysed=None) -> Path:
    """The shared files of a run holding ``tables``, protected as a run protects them."""
    manifest = pl.DataFrame({k: [str(v)] for k, v in (analysed or {}).items()})
    shared = protect_release({**tables, **({"manifest": manifest} if analysed else {})}, T)
    out = tmp_path / "shared"
    for name, df in shared.items():
        if name != "manifest":
            write_table(df, out, name)
    m = {"analysed": shared["manifest"].row(0, named=True)} if analysed else {}
    (out / "manifest.json").write_text(json.dumps(m))
    return out


def subgroup_table(rows: list[tuple]) -> pl.DataFrame:
    """subgroup, level, n_patients, n_events, n_missing, n_distinct (estimates empty)."""
    cols = ["subgroup", "level", "n_patients", "n_events", "n_missing", "n_distinct"]
    df = pl.DataFrame(rows, schema=cols, orient="row")
    est = ["hr", "lower", "upper", "p", "median_months", "median_lower", "median_upper"]
    return df.with_columns(pl.lit(None, pl.Float64).alias(c) for c in est).with_columns(
        pl.lit(None, pl.String).alias("reference"), pl.lit("").alias("note")
    )


def test_channel_1_events_at_most_patients_with_a_hidden_capping_total(tmp_path: Path) -> None:
    # the 13-patient ide-cel subgroup table: before, not-TCR = 2 patients / 2 events and
    # TCR = 11 / 10 followed from overall 13 / 12 and events <= patients
    table = subgroup_table(
        [
            ("overall", "all", 13, 12, 0, 13),
            ("triple_class_refractory", "no", 2, 2, 0, 2),
            ("triple_class_refractory", "yes", 11, 10, 0, 11),
        ]
    )
    published = publish_subgroups(table, T)
    attack = read_run(shared_dir(tmp_path, {"subgroup_hazard_ratios": published}))
    assert attack.hidden(), "the small cells are hidden"
    assert attack.pinned() == {}
    assert all(hi - lo >= MIN_SPAN for lo, hi in attack.ranges().values())


def test_channel_8_withheld_is_never_a_true_zero_and_not_recoverable(tmp_path: Path) -> None:
    # before: a level of 20 patient-lines from 8 patients was written 'withheld' after the
    # protection, so overall 40 - 20 gave it back; and its 0 events read 'withheld' (>= 11)
    table = subgroup_table(
        [
            ("overall", "all", 40, 12, 0, 28),
            ("age", "<65", 20, 0, 0, 8),
            ("age", "≥65", 20, 12, 0, 20),
        ]
    )
    published = publish_subgroups(table, T)
    assert published["n_events"][1] == "0"
    attack = read_run(shared_dir(tmp_path, {"subgroup_hazard_ratios": published}))
    assert "sg.1.n_patients" in attack.hidden()
    assert attack.pinned() == {}


def test_channel_7_unmapped_drug_rows_do_not_add_up_to_attrition(tmp_path: Path) -> None:
    # before: 45 - 13 - 12 - 11 = 9 rows of the fourth unmapped drug
    attrition = pl.DataFrame(
        {
            "step": [1, 2],
            "patients_before": [200, 200],
            "patients_excluded": [0, 0],
            "patients_after": [200, 200],
            "rows_excluded": [0, 45],
            "reason": [
                "patients in the input cohort",
                "treatment rows whose drug is in neither the vocabulary nor the drug map "
                "(listed in unmapped_drugs; not therapy, rule 10)",
            ],
        }
    )
    unmapped = pl.DataFrame(
        {"drug": ["a", "b", "c", "d"], "rows": [13, 12, 11, 9], "patients": [13, 12, 11, 9]}
    )
    tables = {
        "attrition": protect_attrition(attrition, T),
        "unmapped_drugs": suppress_counts(unmapped, ["rows", "patients"], T),
    }
    attack = read_run(shared_dir(tmp_path, tables))
    assert attack.pinned() == {}


def test_a_cell_that_cannot_be_protected_stops_the_release_naming_it() -> None:
    # threshold 3: overall '<3' split into two '<3' levels can only be 2 = 1 + 1, and no
    # published non-zero count is left to withhold
    published = subgroup_table(
        [("overall", "all", 0, 0, 0, 0), ("age", "<65", 0, 0, 0, 0), ("age", "≥65", 0, 0, 0, 0)]
    ).with_columns(
        pl.lit("<3").alias("n_patients"), pl.col("n_events", "n_missing").cast(pl.String)
    )
    with pytest.raises(
        ReleaseNotProtected, match="subgroup_hazard_ratios, row 1, column 'n_patients'"
    ):
        protect_release({"subgroup_hazard_ratios": published}, 3)


@pytest.fixture(scope="module")
def cohort_120(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("c120") / "cohort"
    simulate_cohort(out, n_patients=120, seed=3)
    return out


@pytest.mark.parametrize("study", ["ide-cel", "outcomes-by-line"])
def test_a_whole_run_pins_no_hidden_cell(cohort_120: Path, tmp_path: Path, study: str) -> None:
    # before (120 simulated patients, seed 3): ide-cel 25 cells pinned, among them the 2
    # analysed lines from the manifest's exact outputs.analysis_lines (channel 3) and through
    # the group's size in Table 1, response and outcome tables (channel 2); outcomes-by-line
    # the >= 4 prior lines subgroup, 12 patient-lines / 11 events (channel 8)
    run = tmp_path / "run"
    run_study(cohort_120, run, config=study, report=False)
    manifest = json.loads(run_file(run, "manifest.json").read_text())
    assert "analysis_lines" not in manifest["outputs"] and "input_rows" not in manifest
    attack = read_run(run)
    assert len(attack.hidden()) > 20
    assert attack.pinned() == {}


def _sequence_geometry(hidden_patients: int) -> list:
    """Every drawn shape of the treatment-sequence figure (data coordinates) and the y-limits,
    for 30 patients on PI + IMiD then IMiD, and ``hidden_patients`` on anti-CD38 alone then
    nothing (a '<11' node of line 1)."""
    from mmrwe.report.figures.sequences import plot_sequences

    rows = [(f"A{i}", 1, "PI;IMiD") for i in range(30)] + [(f"A{i}", 2, "IMiD") for i in range(30)]
    rows += [(f"B{i}", 1, "anti-CD38") for i in range(hidden_patients)]
    lines = pl.DataFrame(rows, schema=["patient_id", "line", "drug_classes"], orient="row")
    fig = plot_sequences(lines, max_line=2, threshold=T)
    ax = fig.axes[0]
    shapes = [
        (p.get_gid(), p.get_patch_transform().transform(p.get_path().vertices).round(6).tolist())
        for p in ax.patches
    ]
    texts = sorted(t.get_text() for t in ax.texts)
    return [sorted(shapes, key=str), ax.get_ylim(), texts]


def test_channel_5_sequence_figure_geometry_does_not_measure_a_hidden_node() -> None:
    # before: the '<11' node was drawn 4 (or 7) patients high, the axis 34 (or 37) patients
    # tall: measuring the figure gave the count back
    assert _sequence_geometry(4) == _sequence_geometry(7)


def test_channel_9_group_order_does_not_rank_hidden_group_sizes() -> None:
    # before: regimens were ordered by frequency, so of two '<11' groups the first was the
    # larger (D-Rd 10 before DPd 4 told a reader n(D-Rd) >= 5)
    from mmrwe.study.config import StudySettings
    from mmrwe.study.select import _groups

    settings = StudySettings(name="x", group_by="regimen")

    def order(sizes: dict[str, int]) -> list[tuple[str, int]]:
        regimens = [r for r, n in sizes.items() for _ in range(n)]
        df = pl.DataFrame({"regimen": regimens, "line": [2] * len(regimens)})
        out = _groups(df, settings).unique("group").sort("group_order")
        return out.select("group", "group_order").rows()

    assert order({"D-Rd": 10, "DPd": 4, "KRd": 30}) == order({"D-Rd": 4, "DPd": 10, "KRd": 30})


def test_channel_9_unmapped_drugs_are_listed_by_name() -> None:
    from mmrwe.study.summaries import shared_unmapped

    unmapped = pl.DataFrame({"drug": ["zeta", "alpha"], "rows": [9, 3], "patients": [5, 2]})
    assert shared_unmapped(unmapped, T)["drug"].to_list() == ["alpha", "zeta"]


def _maic_shared(ones: int, n: int = 40, target: float = 0.4) -> dict[str, pl.DataFrame]:
    """The weights and balance tables a comparison shares for a MAIC on one 0/1 characteristic
    held by ``ones`` of ``n`` patients, matched to a trial share ``target``."""
    from types import SimpleNamespace

    import numpy as np

    from mmrwe.compare import run as compare
    from mmrwe.compare._maic_weights import MAIC

    x = pl.DataFrame({"tcr": [1.0] * ones + [0.0] * (n - ones)})
    maic = MAIC(min_ess=0).fit(x, {"tcr": target})
    matched = SimpleNamespace(time=np.zeros(n), n_missing=0, n_without=0, maic=maic, matched=True)
    shared = getattr(compare, "shared_fit", None)
    if shared is None:  # before issue 20: the tables as written then
        return {
            "weights": compare._weights(matched, T),
            "balance": compare._balance(maic.summary_, n, T),
        }
    return shared(matched, T)


def _invert_maic(tables: dict[str, pl.DataFrame], n: int = 40) -> set[int]:
    """The counts of the 0/1 characteristic consistent with the published coefficient, weight
    summary and ESS (for a share p matched to t: w1 / w0 = (1 - p) t / (p (1 - t)))."""
    import math

    balance, weights = tables["balance"].row(0, named=True), tables["weights"].row(0, named=True)
    t = balance["target"]
    fits = set()
    for k in range(1, n):
        p = k / n
        ratio = (1 - p) * t / (p * (1 - t))
        w0 = n / (k * ratio + (n - k))
        w1 = ratio * w0
        ess = (k * w1 + (n - k) * w0) ** 2 / (k * w1**2 + (n - k) * w0**2)
        checks = [
            (balance.get("coef"), math.log(ratio)),
            (weights.get("weight_max"), max(w0, w1)),
            (weights.get("weight_min"), min(w0, w1)),
            (weights.get("ess"), ess),
        ]
        if all(v is None or abs(v - want) < 1e-6 for v, want in checks):
            fits.add(k)
    return fits


def test_channel_6_maic_coefficients_and_weights_do_not_give_back_a_withheld_share() -> None:
    # before: 6 of 40 patients triple-class refractory, share withheld (6 < 11), but the
    # coefficient, the weight summary and the ESS each gave the 6 back
    tables = _maic_shared(6)
    assert tables["balance"]["mean_before"][0] is None
    assert len(_invert_maic(tables)) > 2
    published = _maic_shared(20)  # no small count: the fit is published
    assert published["balance"]["coef"][0] is not None and _invert_maic(published) == {20}


STUDIES = sorted(
    p.stem for p in (Path(__file__).parents[2] / "src/mmrwe/study/examples").glob("*.toml")
)


def _attack_every_study(cohort: Path, tmp_path: Path) -> int:
    """Run every shipped study on ``cohort`` and attack what it shares; the runs attacked."""
    from mmrwe.study.run import StudySelectsNothing

    done = 0
    for study in STUDIES:
        run = tmp_path / study
        try:
            run_study(cohort, run, config=study, report=False)
        except StudySelectsNothing:
            continue  # a small cohort may have no line the study selects
        attack = read_run(run)
        assert attack.narrowed() == {}, study
        done += 1
    return done


def test_every_shipped_study_on_one_small_cohort(tmp_path: Path) -> None:
    cohort = tmp_path / "cohort"
    simulate_cohort(cohort, n_patients=60, seed=4)
    assert _attack_every_study(cohort, tmp_path) >= 4


@pytest.mark.slow
@pytest.mark.parametrize(("n", "seed"), [(30, 1), (100, 2), (250, 7), (400, 3)])
def test_every_shipped_study_on_small_cohorts(tmp_path: Path, n: int, seed: int) -> None:
    cohort = tmp_path / "cohort"
    simulate_cohort(cohort, n_patients=n, seed=seed)
    assert _attack_every_study(cohort, tmp_path) >= 2


@pytest.mark.slow
def test_release_model_size_does_not_grow_with_patients(tmp_path: Path) -> None:
    # the model holds the shared tables' cells: groups x columns, Table 1's levels, attrition
    # steps, adverse-event terms; not patients. A small cohort fills fewer table rows (200
    # patients: 1,814 cells), so the size is compared where the tables are full (2,000: 2,452;
    # 4,000: 2,300, seed 11)
    from mmrwe.privacy.release import release_model

    sizes = {}
    for n in (2000, 4000):
        cohort = tmp_path / f"c{n}"
        simulate_cohort(cohort, n_patients=n, seed=11)
        result = run_study(cohort, tmp_path / f"r{n}", config="outcomes-by-line", report=False)
        sizes[n] = len(release_model(result.summaries, T).where)
    assert sizes[4000] <= 1.2 * sizes[2000], sizes


def test_audit_of_a_shared_folder_names_what_a_reader_recovers(tmp_path: Path) -> None:
    # the files of the 13-patient subgroup table protected table by table only (before
    # issue 20): the audit of the folder names the recovered cells
    from mmrwe.privacy.release import audit_shared

    table = subgroup_table(
        [
            ("overall", "all", 13, 12, 0, 13),
            ("triple_class_refractory", "no", 2, 2, 0, 2),
            ("triple_class_refractory", "yes", 11, 10, 0, 11),
        ]
    )
    before = tmp_path / "before"
    write_table(publish_subgroups(table, T), before, "subgroup_hazard_ratios")
    assert any("subgroup_hazard_ratios, row 2" in x for x in audit_shared(before))
    after = shared_dir(tmp_path, {"subgroup_hazard_ratios": publish_subgroups(table, T)})
    assert audit_shared(after) == []
