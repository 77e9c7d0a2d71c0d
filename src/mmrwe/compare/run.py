"""``compare_run``: the real-world cohort of a run beside a trial arm of the benchmark library.

Reads the run's ``analysis_lines`` (one index line per patient) and ``endpoints``; matches the
patients on the trial's published baseline (MAIC, Signorovitch 2010) when asked; compares the
endpoint with the trial's patient-level data (reconstructed from its published curve, Guyot
2012) when given, else with its published median and landmark rates only, and says so. Writes
``comparison``, ``balance``, ``weights``, ``published`` (aggregate tables), the figure, the
section page ``comparison.html`` and ``manifest.json`` (one folder, all aggregate). Written
under ``RUN_DIR/shareable/comparisons/``, the comparison also becomes a section of the run's
``report.html``, which is rewritten, and the run's ``shareable/`` folder is audited again.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from mmrwe.errors import InvalidDataError, ParameterError
from mmrwe.io.output import run_file, shareable_folder

#: bootstrap resamples of the weighted hazard ratio
DEFAULT_BOOTSTRAP = 1000
#: endpoints defined among responders only (docs/endpoints.md)
RESPONDERS_ONLY = ("DOR", "TTR")


@dataclass
class Comparison:
    """What a comparison wrote: its tables, figure files and warnings."""

    out: Path
    tables: dict[str, pl.DataFrame]
    warnings: list[str] = field(default_factory=list)
    figures: list[dict[str, object]] = field(default_factory=list)


def read_trial_ipd(path: Path) -> pl.DataFrame:
    """``time,event`` rows (months; event 1/0), as ``mmrwe reconstruct-ipd`` writes them."""
    from mmrwe.stats._input import check_events, check_times

    df = pl.read_csv(path, infer_schema_length=None)
    missing = [c for c in ("time", "event") if c not in df.columns]
    if missing:
        raise InvalidDataError(
            f"{path}: no column {', '.join(missing)}. The trial's patient data need the columns "
            "time (months) and event (1 = event, 0 = censored), as `mmrwe reconstruct-ipd` "
            "writes them."
        )
    check_times(df["time"].to_numpy(), f"{path.name} column 'time'")
    check_events(df["event"].to_numpy(), f"{path.name} column 'event'")
    return df.select(pl.col("time").cast(pl.Float64), pl.col("event").cast(pl.Int8))


#: A trial median this far from the published one (relative) is said, with the likely unit.
UNIT_TOLERANCE = 0.20
#: Trial times in these units, read as months, multiply the median by the factor (days per
#: month 365.25 / 12, as every month figure of mmrwe).
UNIT_FACTORS = {"days": 30.4375, "weeks": 30.4375 / 7, "years": 1 / 12}


@dataclass(frozen=True)
class _Request:
    """What to compare: the trial arm, endpoint, matching and the trial's patient data."""

    trial: str
    arm: str
    endpoint: str
    match_on: tuple[str, ...]
    trial_ipd: Path | None
    n_bootstrap: int
    seed: int


@dataclass
class _RunData:
    """The run read back: its manifest, analysed index lines and endpoint rows."""

    run_dir: Path
    manifest: dict
    analysed: pl.DataFrame
    endpoints: pl.DataFrame

    @property
    def threshold(self) -> int:
        study = self.manifest.get("config", {}).get("study", {})
        return int(study.get("small_cell_threshold", 11))

    @property
    def simulated(self) -> bool:
        return bool(self.manifest.get("simulated_data"))


@dataclass
class _Matched:
    """The real-world patients compared: times (months), events, MAIC and the counts left out."""

    time: np.ndarray
    event: np.ndarray
    maic: object
    matched: bool
    n_missing: int
    n_without: int


def compare_run(
    run_dir: Path,
    out: Path,
    *,
    trial: str,
    arm: str,
    endpoint: str = "PFS",
    match_on: tuple[str, ...] = (),
    trial_ipd: Path | None = None,
    n_bootstrap: int = DEFAULT_BOOTSTRAP,
    seed: int = 2010,
    overwrite: bool = False,
) -> Comparison:
    """Compare the run in ``run_dir`` with ``arm`` of ``trial`` and write the results to ``out``:
    read the run, match its patients on the trial's baseline, fit the comparison, write it."""
    from mmrwe.compare.library import load_benchmarks
    from mmrwe.io.output import refuse_existing

    refuse_existing(out, overwrite)
    ipd = None if trial_ipd is None else Path(trial_ipd)
    request = _Request(trial, arm, endpoint, tuple(match_on), ipd, n_bootstrap, seed)
    run = _read_run(Path(run_dir))
    trial_arm = load_benchmarks().study(trial).arm(arm)
    published = trial_arm.endpoint(endpoint)
    matched = _match(run, trial_arm, published, request.match_on)
    table, ipd_table, caught = _fit(matched, published, trial_arm.label, request)
    label = {
        "trial": trial_arm.study_name,
        "arm": trial_arm.label,
        "endpoint": published.name,
        "matched_on": ", ".join(request.match_on) or "none (unadjusted)",
    }
    fit = shared_fit(matched, run.threshold)
    if "ess" in table.columns and fit["weights"]["ess"][0] is None:  # withheld with the share
        table = table.with_columns(pl.lit(None, pl.Float64).alias("ess"))
    tables = {
        "comparison": table.select(*(pl.lit(v).alias(k) for k, v in label.items()), pl.all()),
        "published": _published(published),
        **fit,
    }
    result = Comparison(out=Path(out), tables=tables, warnings=list(dict.fromkeys(caught)))
    _write(result, run, request, label, (trial_arm, published, matched, ipd_table), overwrite)
    return result


def _read_run(run_dir: Path) -> _RunData:
    """The run's manifest, ``analysis_lines`` (one index line per patient) and endpoints."""
    manifest_file = run_file(run_dir, "manifest.json")
    needed = [run_file(run_dir, "analysis_lines.parquet"), run_file(run_dir, "endpoints.parquet")]
    if not manifest_file.is_file() or not all(p.is_file() for p in needed):
        raise InvalidDataError(
            f"'{run_dir}' is not the output directory of `mmrwe run` (it needs "
            "shareable/manifest.json, patient_level/analysis_lines.parquet and "
            "patient_level/endpoints.parquet). Run the study first (mmrwe run, or "
            "mmrwe.study.run_study) and give its output directory."
        )
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    run = _RunData(run_dir, manifest, pl.read_parquet(needed[0]), pl.read_parquet(needed[1]))
    if not run.analysed["patient_id"].is_unique().all():
        raise ParameterError(
            "The run analyses several lines of some patients (study index 'all_lines'); a "
            "comparison with a trial needs one index line per patient. Re-run the study with "
            '[study] index = "first_eligible".'
        )
    return run


def _match(run: _RunData, trial_arm: Any, published: Any, match_on: tuple[str, ...]) -> _Matched:
    """The real-world patients with the endpoint, and their MAIC weights on the published
    baseline (unadjusted without ``match_on``). Refuses fewer patients than the small-cell
    threshold, and an analysed line without its endpoint row (but for DOR and TTR)."""
    from mmrwe.compare.covariates import matching_targets, real_world_covariates, unrecorded
    from mmrwe.compare.maic import MAIC

    analysed, threshold = run.analysed, run.threshold
    # every characteristic that cannot be matched is refused at once, in words
    resolved = [n for n in (trial_arm.canonical(m) for m in match_on) if n is not None]
    trial_arm.refuse(trial_arm.unavailable(match_on) + unrecorded(resolved))
    targets_published = trial_arm.baseline_targets(match_on) if match_on else {}
    match_on = tuple(targets_published)
    if match_on:
        covariates, kept = real_world_covariates(analysed, match_on, targets_published)
    else:
        covariates, kept = pl.DataFrame(), pl.Series("k", [True] * analysed.height)
    n_missing = int((~kept).sum())
    rows = analysed.filter(kept).select("patient_id", "line")
    data = rows.join(
        run.endpoints.filter(pl.col("endpoint") == published.name), on=["patient_id", "line"]
    )
    # DOR and TTR exist for responders only (docs/endpoints.md); other endpoints for every line
    n_without = rows.height - data.height
    if n_without and published.name not in RESPONDERS_ONLY:
        raise InvalidDataError(
            f"{run_file(run.run_dir, 'endpoints.parquet')} has no {published.name} row for "
            f"{n_without} analysed lines; re-run the study."
        )
    if 0 < data.height < max(threshold, 2):
        raise ParameterError(
            f"Only {data.height} real-world patients remain ({n_missing} without a matched "
            f"characteristic): fewer than the small-cell threshold ({threshold}); a comparison "
            "would publish a small cell. Match on fewer characteristics or widen the study."
        )
    time = data["time_months"].to_numpy()
    n = len(time)
    targets = matching_targets(match_on, targets_published)
    maic = MAIC().fit(covariates, targets) if match_on else MAIC.unadjusted(n)
    event = data["event"].to_numpy().astype(np.int8)
    return _Matched(time, event, maic, bool(match_on), n_missing, n_without)


def _fit(
    matched: _Matched, published: Any, trial_label: str, request: _Request
) -> tuple[pl.DataFrame, pl.DataFrame | None, list[str]]:
    """The comparison table: hazard ratios against the trial's patient data when given (with a
    unit check of its median against the published one), else the published median and
    landmark rates; with the warnings raised on the way."""
    from mmrwe.compare.maic import compare_summary, compare_survival

    caught: list[str] = []
    ipd = None
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        if request.trial_ipd is not None:
            ipd = read_trial_ipd(request.trial_ipd)
            note = _unit_check(ipd, published, trial_label)
            caught += [note] if note else []
            table = compare_survival(
                matched.time,
                matched.event,
                matched.maic,
                ipd["time"],
                ipd["event"],
                n_bootstrap=request.n_bootstrap,
                seed=request.seed,
            )
        else:
            rates = {v.time: v.value for v in published.rates if v.subgroup is None and v.time}
            median = published.median
            table = compare_summary(
                matched.time,
                matched.event,
                matched.maic,
                trial_median=None if median is None else median.value,
                trial_rates=rates or None,
            )
        caught += [str(w.message) for w in seen]
    return table, ipd, caught


def _unit_check(ipd: pl.DataFrame, published: Any, trial_label: str) -> str | None:
    """:func:`trial_unit_warning` for the Kaplan-Meier median of the trial's patient data."""
    from mmrwe.stats import KaplanMeier

    median = published.median
    if median is None or median.value is None:
        return None
    supplied = KaplanMeier().fit(ipd["time"].to_numpy(), ipd["event"].to_numpy()).median_[0]
    if supplied is None or not np.isfinite(supplied):
        return None
    return trial_unit_warning(float(supplied), median.value, published.name, trial_label)


def trial_unit_warning(
    supplied: float, published: float, endpoint: str, trial_label: str
) -> str | None:
    """A warning when the trial data's median (``supplied``, read as months) is more than
    :data:`UNIT_TOLERANCE` from the published median (months), naming the likely unit of the
    data when the ratio is that of days, weeks or years (within the same tolerance)."""
    ratio = supplied / published
    if abs(ratio - 1) <= UNIT_TOLERANCE:
        return None
    text = (
        f"The trial patient data give a median {endpoint} of {supplied:.3g}, which differs from "
        f"the {published:g} months {trial_label} published by {abs(ratio - 1):.0%}."
    )
    for unit, factor in UNIT_FACTORS.items():
        if abs(ratio / factor - 1) <= UNIT_TOLERANCE:
            return text + (
                f" The times look like {unit} ({supplied:.3g} {unit} = "
                f"{supplied / factor:.3g} months): give the trial times in months (divide "
                f"{unit} by {factor:.6g}); the hazard ratio compares months with {unit}."
            )
    return text + (
        " Check the time unit of the trial data (months are expected) and that the curve is "
        "this arm's and endpoint's."
    )


def _write(
    result: Comparison,
    run: _RunData,
    request: _Request,
    label: dict[str, str],
    fitted: tuple[Any, Any, _Matched, pl.DataFrame | None],
    overwrite: bool,
) -> None:
    """Write the tables, the figure, the manifest and the page; add the comparison to the
    run's report when written under ``RUN_DIR/comparisons/``."""
    from mmrwe.compare.figure import plot_comparison
    from mmrwe.io.output import OutputDirectory
    from mmrwe.report.comparison import write_comparison_page
    from mmrwe.report.figures.style import save_figure

    trial_arm, published, matched, ipd = fitted
    with OutputDirectory(result.out, overwrite=overwrite, command="compare", split=False) as output:
        for name, df in result.tables.items():
            output.write(name, df)
        fig = plot_comparison(
            matched.time,
            matched.event,
            matched.maic.weights_ if matched.matched else None,  # type: ignore[attr-defined]
            ipd,
            published,
            trial_label=trial_arm.label,
            threshold=run.threshold,
            simulated=run.simulated,
        )
        (output.file("figures")).mkdir()
        save_figure(fig, output.file("figures/comparison"))
        files = ["figures/comparison.png", "figures/comparison.svg"]
        result.figures = [{"name": "comparison", "title": _title(label), "files": files}]
        output.manifest.update(_manifest(result, run, request, label, trial_arm))
        output.write_manifest()
        write_comparison_page(output.staging)
    if result.out.resolve().parent == (shareable_folder(run.run_dir) / "comparisons").resolve():
        from mmrwe.report.html import build_report

        if (shareable_folder(run.run_dir) / "report.html").is_file():
            build_report(run.run_dir)  # the report gains its "real-world versus trial" section
        from mmrwe.privacy.shareable import check_shareable

        check_shareable(run.run_dir, run.threshold)


def _manifest(
    result: Comparison, run: _RunData, request: _Request, label: dict[str, str], trial_arm: Any
) -> dict[str, object]:
    from mmrwe.io.output import file_sha256

    ipd = request.trial_ipd
    method = "MAIC, method of moments (Signorovitch 2010; NICE DSU TSD 18)"
    method = method if request.match_on else "unadjusted"
    method += (
        "; hazard ratio against reconstructed trial patient data (Guyot 2012), "
        f"bootstrap {request.n_bootstrap} resamples, seed {request.seed}"
        if ipd is not None
        else "; no digitised curve: medians and landmark rates only"
    )
    return {
        "run": str(run.run_dir),
        "run_config": run.manifest.get("config", {}),
        "simulated_data": run.simulated,
        "trial": label,
        "citation": _citation(trial_arm),
        "trial_ipd": None if ipd is None else {"file": str(ipd), "sha256": file_sha256(ipd)},
        "method": method,
        "warnings": result.warnings,
        "figures": result.figures,
    }


def _title(label: dict[str, str]) -> str:
    return f"{label['endpoint']}: real-world cohort and {label['arm']}"


def _citation(arm: object) -> str:
    source = getattr(arm, "baseline_source", None)
    values = getattr(arm, "values", ())
    sources = {v.source.citation for v in values} | ({source.citation} if source else set())
    return "; ".join(sorted(sources))


def _published(endpoint: object) -> pl.DataFrame:
    """The trial arm's published figures of the endpoint, each with its citation."""
    rows = []
    for kind, values in (
        ("median", endpoint.medians),  # type: ignore[attr-defined]
        ("hazard ratio", endpoint.hazard_ratios),  # type: ignore[attr-defined]
        ("survival rate", endpoint.rates),  # type: ignore[attr-defined]
    ):
        for v in values:
            rows.append(
                {
                    "measure": kind,
                    "time_months": v.time,
                    "value": v.value,
                    "lower": v.lower,
                    "upper": v.upper,
                    "not_reached": v.not_reached,
                    "subgroup": v.subgroup,
                    "source": v.source.citation,
                }
            )
    schema = {
        "measure": pl.String, "time_months": pl.Float64, "value": pl.Float64,
        "lower": pl.Float64, "upper": pl.Float64, "not_reached": pl.Boolean,
        "subgroup": pl.String, "source": pl.String,
    }  # fmt: skip
    return pl.DataFrame(rows, schema=schema)


def shared_fit(matched: _Matched, threshold: int) -> dict[str, pl.DataFrame]:
    """``weights`` and (when matched) ``balance`` as shared. When a share is withheld, so are
    the coefficients, the weight summary and the ESS: with the published targets each of them
    gives the share back (w1 / w0 = (1 - p) t / (p (1 - t)) for one 0/1 characteristic;
    issue 20, docs/privacy.md)."""
    weights = _weights(matched, threshold)
    if not matched.matched:
        return {"weights": weights}
    balance = _balance(matched.maic.summary_, matched.time.size, threshold)  # type: ignore[attr-defined]
    if balance["mean_before"].null_count() > matched.maic.summary_["mean_before"].null_count():  # type: ignore[attr-defined]
        fit = ["ess", *(c for c in weights.columns if c.startswith("weight_"))]
        weights = weights.with_columns(pl.lit(None, pl.Float64).alias(c) for c in fit)
        balance = balance.with_columns(pl.lit(None, pl.Float64).alias("coef"))
    return {"weights": weights, "balance": balance}


def _weights(matched: _Matched, threshold: int) -> pl.DataFrame:
    """One row: patients used and left out (small counts as ``<N``), ESS and the weight
    distribution (no identifiers)."""
    from mmrwe.privacy import count_text

    n_used = int(matched.time.size)
    row: dict[str, object] = {
        "patients_used": n_used,
        "patients_missing_a_characteristic": str(count_text(matched.n_missing, threshold)),
        "patients_without_the_endpoint": str(count_text(matched.n_without, threshold)),
        "ess": getattr(matched.maic, "ess_", float(n_used)),
    }
    if matched.matched:
        summary = matched.maic.weight_summary_  # type: ignore[attr-defined]
        row |= {f"weight_{k}": float(v) for k, v in summary.items()}
    return pl.DataFrame([row])


def _balance(summary: pl.DataFrame, n_used: int, threshold: int) -> pl.DataFrame:
    """The balance table with the unweighted share of a 0/1 characteristic withheld when it
    gives back a count (or its complement) below the threshold: share x patients used is a
    count (docs/privacy.md)."""
    count = (pl.col("mean_before") * n_used).round(0)
    small = ((count > 0) & (count < threshold)) | (
        (n_used - count > 0) & (n_used - count < threshold)
    )
    withheld = small & (threshold > 0)
    return summary.with_columns(
        pl.when(withheld).then(None).otherwise(pl.col(c)).alias(c)
        for c in ("mean_before", "smd_before")
    ).with_columns(
        pl.when(withheld)
        .then(pl.lit(f"unweighted share withheld (a count below {threshold})"))
        .alias("note")
    )
