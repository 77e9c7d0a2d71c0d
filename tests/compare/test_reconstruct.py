"""Guyot reconstruction (Guyot P et al., BMC Med Res Methodol 2012;12:9).

Three kinds of evidence:

1. Oracle: on three digitised curves the events and censorings per curve point equal those of the
   authors' own R code (appendix of the paper), run on the same inputs (``data/guyot_r/``).
2. Round trips on known patient data (R's ``survival`` data sets, exported by
   ``data/make_data.R``): the Kaplan–Meier step points are "digitised" (exactly, and with thinning
   and noise), numbers at risk taken at regular times as a paper prints them, the data
   reconstructed and compared with the original: patients exact, events within 2 %, median within
   5 %, hazard ratio between two reconstructed arms within 5 % of the original data's.
3. Input hygiene and error messages.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from mmrwe.cli.app import main
from mmrwe.compare.reconstruct import ReconstructionWarning, check_curve, reconstruct_ipd
from mmrwe.errors import InvalidDataError, ParameterError
from mmrwe.stats import CoxPH, KaplanMeier

DATA = Path(__file__).parent / "data"

#: data set, arms, interval of the at-risk table (days) as a paper would print it
DATASETS = {
    "lung": ([1, 2], 100),
    "veteran": ([1, 2], 50),
    "ovarian": ([1, 2], 200),
    "colon_death": (["Obs", "Lev", "Lev+5FU"], 365),
}

#: arm pairs whose hazard ratio is compared (reference arm first)
HR_PAIRS = [("lung", 1, 2), ("veteran", 1, 2), ("colon_death", "Obs", "Lev+5FU")]


def load(name: str, arm: object) -> tuple[np.ndarray, np.ndarray]:
    df = pl.read_csv(DATA / f"{name}.csv").filter(pl.col("arm") == arm)
    return df["time"].to_numpy().astype(np.float64), df["event"].to_numpy()


def digitise(
    time: np.ndarray, event: np.ndarray, step: float, seed: int | None, thin: float = 0.0
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """What a reader takes from a published figure: the curve's step points and the at-risk row.

    With a seed, noise as a digitiser's clicks add it (time sd 0.1 % of the axis, survival sd
    0.001), so some points come out of order and non-monotone; ``thin`` drops that share of the
    points (the reader missed some steps).
    """
    c = KaplanMeier().fit(time, event).curves_[0]
    drop = c.n_event > 0
    t = np.concatenate(([0.0], c.time[drop], [c.time[-1]]))
    s = np.concatenate(([1.0], c.surv[drop], [c.surv[-1]]))
    if seed is not None:
        rng = np.random.default_rng(seed)
        keep = rng.random(t.size) >= thin
        keep[[0, -1]] = True
        t, s = t[keep], s[keep]
        t = np.abs(t + rng.normal(0, 0.001 * t.max(), t.size))
        s = np.clip(s + rng.normal(0, 0.001, s.size), 0, 1)
        t[0], s[0] = 0.0, 1.0
    at = np.arange(0, time.max() + 1e-9, step)
    n_risk = (time[None, :] >= at[:, None]).sum(axis=1)
    return pl.DataFrame({"time": t, "surv": s}), pl.DataFrame({"time": at, "n_risk": n_risk})


def rebuild(name: str, arm: object, seed: int | None, thin: float = 0.0) -> pl.DataFrame:
    time, event = load(name, arm)
    curve, risk = digitise(time, event, DATASETS[name][1], seed, thin)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReconstructionWarning)
        return reconstruct_ipd(curve, risk, total_events=int(event.sum()))


def _median(time: object, event: object) -> float | None:
    return KaplanMeier().fit(time, event).median_[0]


def _hr(a: tuple, b: tuple) -> float:
    time = np.concatenate((a[0], b[0]))
    event = np.concatenate((a[1], b[1]))
    x = np.concatenate((np.zeros(a[0].size), np.ones(b[0].size)))
    return float(CoxPH().fit(x, time, event).hazard_ratios_[0])


ARMS = [(name, arm) for name, (arms, _) in DATASETS.items() for arm in arms]
MODES = {"exact": None, "noisy": 20121}


# ------------------------------------------------------------------ 1. the authors' R code
@pytest.mark.parametrize("case", ["lung_male_noisy", "veteran_test_noisy", "colon_obs_noisy"])
def test_matches_authors_r_code(case: str) -> None:
    """Events and censorings per point equal those of the appendix R code of Guyot et al. 2012
    (see data/README.md); the patient rows follow as in that code: events at their point,
    censorings at the mid-point to the next point, the rest censored at the last point."""
    base = DATA / "guyot_r" / case
    curve = pl.read_csv(f"{base}_curve.csv")
    risk = pl.read_csv(f"{base}_at_risk.csv")
    total = Path(f"{base}_total_events.txt").read_text().strip()
    expected = pl.read_csv(f"{base}_expected.csv")
    with warnings.catch_warnings():  # veteran: 62 of the 64 reported events, as in R
        warnings.simplefilter("ignore", ReconstructionWarning)
        ipd = reconstruct_ipd(curve, risk, None if total == "none" else int(total))
    t = curve["time"].to_numpy()
    d, cen = expected["d"].to_numpy(), expected["cen"].to_numpy()
    n0 = int(risk["n_risk"][0])
    mid = (t[:-1] + t[1:]) / 2
    exp_event_t = np.repeat(t, d)
    exp_cens_t = np.sort(
        np.concatenate((np.repeat(mid, cen[:-1]), np.full(n0 - d.sum() - cen[:-1].sum(), t[-1])))
    )
    assert ipd.height == n0
    got_event_t = ipd.filter(pl.col("event") == 1)["time"].to_numpy()
    got_cens_t = ipd.filter(pl.col("event") == 0)["time"].to_numpy()
    np.testing.assert_allclose(got_event_t, exp_event_t, rtol=1e-12)
    np.testing.assert_allclose(got_cens_t, exp_cens_t, rtol=1e-12)


# ------------------------------------------------------------------ 2. round trips
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("name", "arm"), ARMS)
def test_round_trip_arm(name: str, arm: object, mode: str) -> None:
    """Patients exact, events within 2 %, median within 5 % (both not reached where the
    original is not reached)."""
    time, event = load(name, arm)
    ipd = rebuild(name, arm, MODES[mode])
    assert ipd.columns == ["time", "event"]
    assert ipd["time"].is_sorted()
    assert ipd.height == time.size
    assert abs(int(ipd["event"].sum()) - event.sum()) <= 0.02 * event.sum()
    m0, m1 = _median(time, event), _median(ipd["time"], ipd["event"])
    if m0 is None:
        assert m1 is None
    else:
        assert m1 is not None and abs(m1 - m0) <= 0.05 * m0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("name", "ref", "arm"), HR_PAIRS)
def test_round_trip_hazard_ratio(name: str, ref: object, arm: object, mode: str) -> None:
    """The Cox hazard ratio between two reconstructed arms is within 5 % of the original's.

    Original data, R: coxph(Surv(time, event) ~ I(arm == 2)) gives HR 0.5880028 (lung, female
    vs male) and 1.017901 (veteran, test vs standard); colon deaths, Lev+5FU vs Obs: 0.6887965
    (data/make_data.R).
    """
    r_hr = {"lung": 0.5880028, "veteran": 1.017901, "colon_death": 0.6887965}[name]
    original = _hr(load(name, ref), load(name, arm))
    assert original == pytest.approx(r_hr, rel=1e-6)
    a, b = (rebuild(name, x, MODES[mode]) for x in (ref, arm))
    rebuilt = _hr(
        (a["time"].to_numpy(), a["event"].to_numpy()), (b["time"].to_numpy(), b["event"].to_numpy())
    )
    assert abs(rebuilt / original - 1) <= 0.05


def _arrays(ipd: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return ipd["time"].to_numpy(), ipd["event"].to_numpy()


#: the modes of the error table: (seed, share of points dropped); "thinned" is reported only
TABLE_MODES = {"exact": (None, 0.0), "noisy": (20121, 0.0), "noisy+thinned 15 %": (20121, 0.15)}


def _days(x: float | None) -> str:
    return "NR" if x is None else f"{x:.1f}"


def error_table() -> pl.DataFrame:
    """Original vs reconstructed n, events, median (days) and HR for every mode and data set."""
    rows = []
    for mode, (seed, thin) in TABLE_MODES.items():
        for name, arm in ARMS:
            time, event = load(name, arm)
            ipd = rebuild(name, arm, seed, thin)
            m0, m1 = _median(time, event), _median(ipd["time"], ipd["event"])
            err = None if m0 is None or m1 is None else round(100 * (m1 / m0 - 1), 2)
            rows.append(
                {
                    "digitised": mode,
                    "data": f"{name} {arm}",
                    "n": f"{time.size} / {ipd.height}",
                    "events": f"{int(event.sum())} / {int(ipd['event'].sum())}",
                    "events_err_%": round(100 * (ipd["event"].sum() / event.sum() - 1), 2),
                    "median_or_HR": f"{_days(m0)} / {_days(m1)}",
                    "err_%": err,
                }
            )
        for name, ref, arm in HR_PAIRS:
            hr0 = _hr(load(name, ref), load(name, arm))
            hr1 = _hr(*(_arrays(rebuild(name, x, seed, thin)) for x in (ref, arm)))
            rows.append(
                {
                    "digitised": mode,
                    "data": f"{name}: HR {arm} vs {ref}",
                    "n": "",
                    "events": "",
                    "events_err_%": None,
                    "median_or_HR": f"{hr0:.4f} / {hr1:.4f}",
                    "err_%": round(100 * (hr1 / hr0 - 1), 2),
                }
            )
    return pl.DataFrame(rows)


def test_error_table() -> None:
    """The errors of every round trip, printed (``pytest -s``; copied into docs/compare.md).
    Exact and noisy digitisation meet the bars asserted above; thinning is shown, not asserted."""
    table = error_table()
    with pl.Config(tbl_rows=-1, tbl_width_chars=200, tbl_hide_dataframe_shape=True):
        print(table)
    bar = table.filter(pl.col("digitised") != "noisy+thinned 15 %")
    assert bar["events_err_%"].abs().max() <= 2
    assert bar["err_%"].abs().max() <= 5


def test_total_events_fixes_last_interval() -> None:
    """Without the total, the last interval's censoring is the earlier average; with it, the
    events add up to the reported total (lung, men: 112 deaths)."""
    time, event = load("lung", 1)
    curve, risk = digitise(time, event, 100, None)
    with_total = reconstruct_ipd(curve, risk, total_events=112)
    assert int(with_total["event"].sum()) == 112


# ------------------------------------------------------------------ 3. hygiene and errors
CURVE = pl.DataFrame({"time": [0.0, 2, 4, 6, 8, 10], "surv": [1.0, 0.9, 0.8, 0.6, 0.5, 0.45]})
RISK = pl.DataFrame({"time": [0.0, 5.0], "n_risk": [20, 13]})


def test_small_hand_worked_case() -> None:
    """20 patients; at risk 20 at time 0 and 13 at time 5; the curve read at 0, 2, 4, 6, 8, 10.

    A point (5, 0.8) is added at the at-risk time. Interval 1 (points 0, 2, 4): censoring first
    guessed as round(20 * 0.8 / 1 - 13) = 3, placed at 1.25, 2.5, 3.75, i.e. 1 after point 0 and
    2 after point 2. Events: at 2 round(19 * 0.1) = 2 (KM 17/19 = 0.8947); at 4
    round(15 * (1 - 0.8 / 0.8947)) = 2 (KM 0.7754); 15 - 2 = 13 at risk at 5, as published.
    Last interval (points 5..10): censoring at the earlier rate, round(3 * 5 / 4) = 4, placed at
    6, 7, 8, 9: 1 after point 5, 2 after 6, 1 after 8. Events: at 5 none (no drop); at 6
    round(12 * (1 - 0.6 / 0.7754)) = 3 (KM 0.5815); at 8 round(7 * (1 - 0.5 / 0.5815)) = 1
    (KM 0.4985); at 10 round(5 * 0.0973) = 0. Censorings sit at mid-points (1, 3, 5.5, 7, 9);
    the 5 still at risk are censored at 10. The reconstructed median is 8.
    """
    ipd = reconstruct_ipd(CURVE, RISK)
    events = ipd.filter(pl.col("event") == 1)["time"].to_list()
    censored = ipd.filter(pl.col("event") == 0)["time"].to_list()
    assert events == [2, 2, 4, 4, 6, 6, 6, 8]
    assert censored == [1, 3, 3, 5.5, 7, 7, 9, 10, 10, 10, 10, 10]
    assert KaplanMeier().fit(ipd["time"], ipd["event"]).median_[0] == pytest.approx(8.0)


def test_percent_survival_is_refused() -> None:
    curve = CURVE.with_columns(pl.col("surv") * 100)
    with pytest.raises(InvalidDataError, match=r"divide the surv column by 100") as exc:
        reconstruct_ipd(curve, RISK, curve_source="'km.csv'")
    assert "'km.csv', column 'surv', row 1" in str(exc.value)


def test_unsorted_and_rising_points_are_fixed_with_a_count() -> None:
    curve = pl.DataFrame({"time": [0.0, 4, 2, 6, 8, 10], "surv": [1.0, 0.8, 0.9, 0.62, 0.63, 0.45]})
    with pytest.warns(ReconstructionWarning) as rec:
        ipd = reconstruct_ipd(curve, RISK)
    message = str(rec[0].message)
    assert "2 points were out of time order" in message
    assert "1 points were lowered" in message
    assert ipd.height == 20
    fixed = check_curve(curve["time"], curve["surv"])
    assert fixed.time.tolist() == [0, 2, 4, 6, 8, 10]
    assert fixed.surv.tolist() == [1.0, 0.9, 0.8, 0.62, 0.62, 0.45]


def test_digitising_noise_above_one_is_clipped() -> None:
    curve = pl.DataFrame({"time": [0.0, 1, 3], "surv": [1.004, 0.9, 0.7]})
    fixed = check_curve(curve["time"], curve["surv"])
    assert fixed.surv.tolist() == [1.0, 0.9, 0.7]
    assert fixed.n_raised == 1


def test_curve_without_time_zero_gets_the_start_point() -> None:
    fixed = check_curve([1.0, 3.0], [0.9, 0.7])
    assert fixed.time.tolist() == [0, 1, 3] and fixed.surv.tolist() == [1, 0.9, 0.7]


@pytest.mark.parametrize(
    ("risk", "message"),
    [
        ({"time": [1.0, 5.0], "n_risk": [20, 13]}, r"row 1: the first at-risk time is 1, not 0"),
        ({"time": [0.0, 5.0, 5.0], "n_risk": [20, 13, 12]}, r"row 3: time 5 does not come after 5"),
        ({"time": [0.0, 5.0], "n_risk": [20, 21]}, r"row 2: n_risk rises from 20 to 21"),
        ({"time": [0.0, 5.0], "n_risk": [20, 12.5]}, r"row 2: n_risk 12.5 is not a whole number"),
        ({"time": [0.0, 5.0], "n_risk": [0, 0]}, r"row 1: no patients at risk at time 0"),
        ({"time": [0.0, None], "n_risk": [20, 10]}, r"column 'time', row 2 \(value None\)"),
    ],
)
def test_bad_at_risk_tables(risk: dict, message: str) -> None:
    with pytest.raises(InvalidDataError, match=message):
        reconstruct_ipd(CURVE, pl.DataFrame(risk, strict=False), at_risk_source="'risk.csv'")


@pytest.mark.parametrize(
    ("curve", "message"),
    [
        ({"time": [0.0, -1.0], "surv": [1.0, 0.9]}, r"row 2 \(value -1\): a negative time"),
        ({"time": [0.0, 1.0], "surv": [1.0, -0.2]}, r"row 2 \(value -0.2\): survival below 0"),
        ({"time": [0.0, 1.0], "surv": [1.0, "x"]}, r"column 'surv', row 2 \('x'|\(value 'x'\)"),
    ],
)
def test_bad_curves(curve: dict, message: str) -> None:
    with pytest.raises(InvalidDataError, match=message):
        reconstruct_ipd(pl.DataFrame(curve, strict=False), RISK)


def test_bad_parameters() -> None:
    with pytest.raises(InvalidDataError, match="has no column 'surv'"):
        reconstruct_ipd(pl.DataFrame({"time": [0.0], "S": [1.0]}), RISK)
    with pytest.raises(ParameterError, match="'curve' parameter of reconstruct_ipd"):
        reconstruct_ipd(np.zeros((3, 2)), RISK)
    with pytest.raises(ParameterError, match="'total_events' parameter"):
        reconstruct_ipd(CURVE, RISK, total_events=-1)
    with pytest.raises(InvalidDataError, match="total events 30 exceed the 20 patients"):
        reconstruct_ipd(CURVE, RISK, total_events=30)


def test_at_risk_times_after_the_curve_are_dropped_with_a_warning() -> None:
    risk = pl.DataFrame({"time": [0.0, 5.0, 15.0], "n_risk": [20, 13, 2]})
    with pytest.warns(ReconstructionWarning, match="1 at-risk times after the last point"):
        ipd = reconstruct_ipd(CURVE, risk)
    assert ipd.height == 20


# ------------------------------------------------------------------ CLI
def test_cli_writes_sorted_rows_and_refuses_existing_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import mmrwe.cli.reconstruct  # noqa: F401  (registers the command until the lead adds it)

    time, event = load("lung", 2)
    curve, risk = digitise(time, event, 100, None)
    curve.write_csv(tmp_path / "curve.csv")
    risk.write_csv(tmp_path / "risk.csv")
    out = tmp_path / "ipd.csv"
    argv = [
        "reconstruct-ipd",
        "--curve",
        str(tmp_path / "curve.csv"),
        "--at-risk",
        str(tmp_path / "risk.csv"),
        "--total-events",
        "53",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "Reconstructed 90 patients, 53 events" in printed
    assert "median of the reconstructed Kaplan–Meier curve 426" in printed
    ipd = pl.read_csv(out)
    assert ipd.columns == ["time", "event"] and ipd.height == 90 and ipd["time"].is_sorted()
    assert main(argv) == 1
    assert "already exists" in capsys.readouterr().err
    assert main([*argv, "--overwrite"]) == 0


def test_cli_percent_error_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import mmrwe.cli.reconstruct  # noqa: F401

    CURVE.with_columns(pl.col("surv") * 100).write_csv(tmp_path / "curve.csv")
    RISK.write_csv(tmp_path / "risk.csv")
    argv = [
        "reconstruct-ipd",
        "--curve",
        str(tmp_path / "curve.csv"),
        "--at-risk",
        str(tmp_path / "risk.csv"),
        "--out",
        str(tmp_path / "o.csv"),
    ]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "curve.csv', column 'surv', row 1" in err and "divide the surv column by 100" in err
    assert not (tmp_path / "o.csv").exists()
