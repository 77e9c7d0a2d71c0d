"""``compare_run``: the real-world cohort of a run beside a trial arm of the benchmark library.

Reads the run's ``analysis_lines`` (one index line per patient) and ``endpoints``; matches the
patients on the trial's published baseline (MAIC, Signorovitch 2010) when asked; compares the
endpoint with the trial's patient-level data (reconstructed from its published curve, Guyot
2012) when given, else with its published median and landmark rates only, and says so. Writes
``comparison``, ``balance``, ``weights``, ``published`` (aggregate tables), the figure, the
section page ``comparison.html`` and ``manifest.json``. Written under ``RUN_DIR/comparisons/``,
the comparison also becomes a section of the run's ``report.html``, which is rewritten.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from mmrwe.errors import InvalidDataError, ParameterError

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


def _read_run(run_dir: Path) -> tuple[dict, pl.DataFrame, pl.DataFrame]:
    manifest_file = run_dir / "manifest.json"
    needed = [run_dir / "analysis_lines.parquet", run_dir / "endpoints.parquet"]
    if not manifest_file.is_file() or not all(p.is_file() for p in needed):
        raise InvalidDataError(
            f"'{run_dir}' is not the output directory of `mmrwe run` (it needs manifest.json, "
            "analysis_lines.parquet and endpoints.parquet). Run `mmrwe run COHORT --out DIR` "
            "first and give DIR."
        )
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    return manifest, pl.read_parquet(needed[0]), pl.read_parquet(needed[1])


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
    """Compare the run in ``run_dir`` with ``arm`` of ``trial`` and write the results to ``out``."""
    from mmrwe.compare.covariates import matching_targets, real_world_covariates
    from mmrwe.compare.library import load_benchmarks
    from mmrwe.compare.maic import MAIC, compare_summary, compare_survival
    from mmrwe.io.output import OutputDirectory, file_sha256, refuse_existing

    refuse_existing(out, overwrite)
    run_dir = Path(run_dir)
    manifest, analysed, endpoints = _read_run(run_dir)
    library = load_benchmarks()
    study = library.study(trial)
    trial_arm = study.arm(arm)
    published = trial_arm.endpoint(endpoint)
    threshold = int(manifest.get("config", {}).get("study", {}).get("small_cell_threshold", 11))
    if not analysed["patient_id"].is_unique().all():
        raise ParameterError(
            "The run analyses several lines of some patients (study index 'all_lines'); a "
            "comparison with a trial needs one index line per patient. Re-run the study with "
            '[study] index = "first_eligible".'
        )
    targets_published = trial_arm.baseline_targets(match_on) if match_on else {}
    if match_on:
        covariates, kept = real_world_covariates(analysed, match_on, targets_published)
    else:
        covariates, kept = pl.DataFrame(), pl.Series("k", [True] * analysed.height)
    n_missing = int((~kept).sum())
    rows = analysed.filter(kept).select("patient_id", "line")
    data = rows.join(
        endpoints.filter(pl.col("endpoint") == published.name), on=["patient_id", "line"]
    )
    # DOR and TTR exist for responders only (docs/endpoints.md); other endpoints for every line
    n_without = rows.height - data.height
    if n_without and published.name not in RESPONDERS_ONLY:
        raise InvalidDataError(
            f"{run_dir}/endpoints.parquet has no {published.name} row for "
            f"{n_without} analysed lines; re-run the study."
        )
    if 0 < data.height < max(threshold, 2):
        raise ParameterError(
            f"Only {data.height} real-world patients remain ({n_missing} without a matched "
            f"characteristic): fewer than the small-cell threshold ({threshold}); a comparison "
            "would publish a small cell. Match on fewer characteristics or widen the study."
        )
    time = data["time_months"].to_numpy()
    event = data["event"].to_numpy().astype(np.int8)
    targets = matching_targets(match_on, targets_published)
    maic = MAIC().fit(covariates, targets) if match_on else MAIC.unadjusted(len(time))
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        if trial_ipd is not None:
            ipd = read_trial_ipd(Path(trial_ipd))
            table = compare_survival(
                time, event, maic, ipd["time"], ipd["event"], n_bootstrap=n_bootstrap, seed=seed
            )
        else:
            rates = {v.time: v.value for v in published.rates if v.subgroup is None and v.time}
            median = published.median
            table = compare_summary(
                time,
                event,
                maic,
                trial_median=None if median is None else median.value,
                trial_rates=rates or None,
            )
        caught += [str(w.message) for w in seen]
    label = {
        "trial": study.name,
        "arm": trial_arm.label,
        "endpoint": published.name,
        "matched_on": ", ".join(match_on) or "none (unadjusted)",
    }
    comparison = table.select(*(pl.lit(v).alias(k) for k, v in label.items()), pl.all())
    tables = {
        "comparison": comparison,
        "published": _published(trial_arm, published),
        "weights": _weights(maic, n_missing, n_without, data.height, bool(match_on), threshold),
    }
    if match_on:
        tables["balance"] = _balance(maic.summary_, data.height, threshold)
    result = Comparison(out=Path(out), tables=tables, warnings=list(dict.fromkeys(caught)))
    with OutputDirectory(Path(out), overwrite=overwrite, command="compare") as output:
        for name, df in tables.items():
            output.write(name, df)
        from mmrwe.compare.figure import plot_comparison
        from mmrwe.report.figures.style import save_figure

        fig = plot_comparison(
            time,
            event,
            maic.weights_ if match_on else None,
            ipd if trial_ipd is not None else None,
            published,
            trial_label=trial_arm.label,
            threshold=threshold,
            simulated=bool(manifest.get("simulated_data")),
        )
        (output.file("figures")).mkdir()
        save_figure(fig, output.file("figures/comparison"))
        files = ["figures/comparison.png", "figures/comparison.svg"]
        result.figures = [{"name": "comparison", "title": _title(label), "files": files}]
        output.manifest.update(
            run=str(run_dir),
            run_config=manifest.get("config", {}),
            simulated_data=bool(manifest.get("simulated_data")),
            trial=label,
            citation=_citation(trial_arm),
            trial_ipd=(
                {"file": str(trial_ipd), "sha256": file_sha256(Path(trial_ipd))}
                if trial_ipd is not None
                else None
            ),
            method=(
                "MAIC, method of moments (Signorovitch 2010; NICE DSU TSD 18)"
                if match_on
                else "unadjusted"
            )
            + (
                "; hazard ratio against reconstructed trial patient data (Guyot 2012), "
                f"bootstrap {n_bootstrap} resamples, seed {seed}"
                if trial_ipd is not None
                else "; no digitised curve: medians and landmark rates only"
            ),
            warnings=result.warnings,
            figures=result.figures,
        )
        output.write_manifest()
        from mmrwe.report.comparison import write_comparison_page

        write_comparison_page(output.staging)
    if Path(out).resolve().parent == (run_dir / "comparisons").resolve():
        from mmrwe.report.html import build_report

        if (run_dir / "report.html").is_file():
            build_report(run_dir)  # the run's report gains its "real-world versus trial" section
    return result


def _title(label: dict[str, str]) -> str:
    return f"{label['endpoint']}: real-world cohort and {label['arm']}"


def _citation(arm: object) -> str:
    source = getattr(arm, "baseline_source", None)
    values = getattr(arm, "values", ())
    sources = {v.source.citation for v in values} | ({source.citation} if source else set())
    return "; ".join(sorted(sources))


def _published(arm: object, endpoint: object) -> pl.DataFrame:
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


def _weights(
    maic: object, n_missing: int, n_without: int, n_used: int, matched: bool, threshold: int
) -> pl.DataFrame:
    """One row: patients used and left out (small counts as ``<N``), ESS and the weight
    distribution (no identifiers)."""
    from mmrwe.privacy import count_text

    row: dict[str, object] = {
        "patients_used": n_used,
        "patients_missing_a_characteristic": str(count_text(n_missing, threshold)),
        "patients_without_the_endpoint": str(count_text(n_without, threshold)),
        "ess": getattr(maic, "ess_", float(n_used)),
    }
    if matched:
        row |= {f"weight_{k}": float(v) for k, v in maic.weight_summary_.items()}  # type: ignore[attr-defined]
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
