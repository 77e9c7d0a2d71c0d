"""One partitioning mechanism for every command: ``mmrwe lines``, ``mmrwe response`` and
``mmrwe run`` are the same chain (``mmrwe.pipeline``) stopped at different stages, and cutting
the cohort into partitions of whole patients changes no byte of any table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest
from polars.testing import assert_frame_equal

from mmrwe.errors import ParameterError
from mmrwe.io.cohort import COHORT_SCHEMAS
from mmrwe.io.output import run_file
from mmrwe.io.read import read_cohort
from mmrwe.pipeline import STAGES, analyse_cohort, analyse_partition
from mmrwe.simulate import simulate_cohort
from mmrwe.study import run_study
from mmrwe.study.config import load_config
from mmrwe.vocab import load_vocabulary

N_PATIENTS = 300
#: a partition size that divides no count of the cohort evenly (9 partitions, the last of 4)
SIZE = 37


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sim") / "cohort"
    simulate_cohort(path, n_patients=N_PATIENTS, seed=11)
    return path


def _run(cohort: Path, out: Path, stop_after: str, partition_size: int | None, seen=None):
    return run_study(
        cohort,
        out,
        config="isa-pd" if stop_after == "population" else None,
        stop_after=stop_after,  # type: ignore[arg-type]
        partition_size=partition_size,
        report=False,
        csv=True,
        on_progress=None if seen is None else seen.append,
    )


@pytest.mark.parametrize("stop_after", ["lines", "response", "population"])
def test_partitions_give_the_tables_of_one_partition(
    cohort: Path, tmp_path: Path, stop_after: str
) -> None:
    """Partitions of 37 patients give byte-identical CSV tables and equal Parquet tables to one
    partition of all 300, for each command; progress is reported partition by partition."""
    whole = _run(cohort, tmp_path / "whole", stop_after, None)
    seen: list[int] = []
    parts = _run(cohort, tmp_path / "parts", stop_after, SIZE, seen)
    assert seen == [SIZE] * (N_PATIENTS // SIZE) + [N_PATIENTS % SIZE]
    names = sorted(p.stem for p in whole.out.glob("*/*.csv"))
    assert names == sorted(p.stem for p in parts.out.glob("*/*.csv"))
    assert {"lines", "line_exposures", "attrition", "unmapped_drugs"} <= set(names)
    for name in names:
        a = pl.read_parquet(run_file(whole.out, f"{name}.parquet"))
        b = pl.read_parquet(run_file(parts.out, f"{name}.parquet"))
        assert_frame_equal(a, b)
        csv = f"{name}.csv"
        assert run_file(whole.out, csv).read_bytes() == run_file(parts.out, csv).read_bytes(), name
    assert whole.manifest["outputs"] == parts.manifest["outputs"]
    assert whole.manifest.get("response_sources") == parts.manifest.get("response_sources")


def test_commands_are_one_chain_stopped_at_different_stages(cohort: Path, tmp_path: Path) -> None:
    """What ``mmrwe response`` writes of lines and exposures is what ``mmrwe run`` writes (the
    same chain); ``mmrwe lines`` differs only in the progression evidence (recorded PD): in the
    refractoriness flags, and in the lines of patients whose planned transplant sequence only a
    lab-derived PD ended (rule 5; the response stage's second lines pass)."""
    runs = {s: _run(cohort, tmp_path / s, s, SIZE).out for s in ("lines", "response")}
    runs["run"] = run_study(
        cohort, tmp_path / "run", partition_size=SIZE, report=False, csv=True
    ).out
    same = {
        "line_exposures": ("response", "run"),
        "lines": ("response", "run"),
        "assessments": ("response", "run"),
        "line_response": ("response", "run"),
    }
    for name, commands in same.items():
        first, *others = (run_file(runs[c], f"{name}.csv") for c in commands)
        assert all(first.read_bytes() == other.read_bytes() for other in others), name
    lines_only = pl.read_parquet(run_file(runs["lines"], "lines.parquet"))
    with_response = pl.read_parquet(run_file(runs["run"], "lines.parquet"))
    assert lines_only.columns == with_response.columns
    ended = pl.col("start_rule").str.contains("ended the planned transplant sequence")
    lab_ended = set(with_response.filter(ended)["patient_id"]) - set(
        lines_only.filter(ended)["patient_id"]
    )
    kept = ~pl.col("patient_id").is_in(sorted(lab_ended))
    assert_frame_equal(
        lines_only.filter(kept).drop("^.*_refractory$"),
        with_response.filter(kept).drop("^.*_refractory$"),
    )
    exposures = [
        pl.read_parquet(run_file(runs[c], "line_exposures.parquet")).filter(kept)
        for c in ("lines", "run")
    ]
    assert_frame_equal(*exposures)


def _tables(cohort: Path) -> dict[str, pl.DataFrame]:
    data = read_cohort(cohort)
    return {name: data.table(name) for name in COHORT_SCHEMAS}


def test_an_external_engine_can_call_the_partition_function_on_arrow(cohort: Path) -> None:
    """Arrow tables of whole patients in any row order (as Spark applyInArrow hands them) give
    the tables the Polars tables read by mmrwe give."""
    config, vocabulary = load_config("isa-pd"), load_vocabulary()
    tables = _tables(cohort)
    expected = analyse_partition(tables, config, vocabulary)
    shuffled: dict[str, pa.Table] = {
        name: t.sample(fraction=1.0, shuffle=True, seed=1).to_arrow() for name, t in tables.items()
    }
    got = analyse_partition(shuffled, config, vocabulary)
    assert list(got.tables) == list(expected.tables)
    for name, table in expected.tables.items():
        assert_frame_equal(got.tables[name], table)
    assert got.analysis_lines is not None and expected.analysis_lines is not None
    assert_frame_equal(got.analysis_lines, expected.analysis_lines)
    assert_frame_equal(got.attrition, expected.attrition)
    assert_frame_equal(got.unmapped_drugs, expected.unmapped_drugs)


@pytest.mark.parametrize("stop_after", STAGES)
def test_each_stop_writes_the_tables_of_the_stages_run(cohort: Path, stop_after: str) -> None:
    tables = _tables(cohort)
    result = analyse_partition(
        tables,
        load_config(None),
        load_vocabulary(),
        stop_after=stop_after,  # type: ignore[arg-type]
    )
    response = ["lines", "line_exposures", "assessments", "line_response"]
    expected = {
        "lines": ["lines", "line_exposures"],
        "response": response,
        "endpoints": [*response, "endpoints", "adtte", "adrs"],
        "population": [*response, "endpoints", "adtte", "adrs", "adsl"],
    }[stop_after]
    assert list(result.tables) == expected
    assert (result.analysis_lines is not None) == (stop_after == "population")


def test_bad_stop_and_partition_size_are_refused(cohort: Path) -> None:
    tables = _tables(cohort)
    with pytest.raises(ParameterError, match="'stop_after' parameter of analyse_partition"):
        analyse_partition(tables, load_config(None), load_vocabulary(), stop_after="summaries")  # type: ignore[arg-type]
    data = read_cohort(cohort)
    for size in (0, -5, 2.5, True):
        with pytest.raises(ParameterError, match="'partition_size' parameter of analyse_cohort"):
            analyse_cohort(
                data,
                load_config(None),
                load_vocabulary(),
                lambda name, table: None,
                partition_size=size,  # type: ignore[arg-type]
            )


def test_every_command_reads_the_cohort_as_known_at_the_data_cutoff(
    cohort: Path, tmp_path: Path
) -> None:
    """A study's data cut-off applies to the whole chain, whichever stage it stops after
    (``mmrwe lines`` and ``mmrwe response`` used to ignore it): no line starts after it, and
    attrition counts the rows it removes."""
    cutoff = dt.date(2015, 7, 1)
    study = tmp_path / "cutoff.toml"
    study.write_text(f"[study]\ndata_cutoff = {cutoff}\n")
    for stop_after in ("lines", "response"):
        out = run_study(cohort, tmp_path / stop_after, config=study, stop_after=stop_after).out  # type: ignore[arg-type]
        lines = pl.read_parquet(run_file(out, "lines.parquet"))
        assert lines.height and lines["start_date"].max() <= cutoff
        assert lines["end_date"].max() <= cutoff
        reasons = pl.read_parquet(run_file(out, "attrition.parquet"))["reason"]
        assert reasons.str.contains(f"after the data cut-off {cutoff}").sum() >= 2


def test_second_pass_rows_are_merged_in_by_patient_as_a_sort_would_place_them() -> None:
    """Rule 5's second pass replaces some patients' rows (``_splice_patients``): the merged
    table is the one sorting old (minus those patients) and new rows by patient would give,
    including a replaced patient with no old rows (first, middle, last) and one with no new
    rows; rows within a patient keep their order."""
    from mmrwe.pipeline.partition import _splice_patients

    old = pl.DataFrame(
        {"patient_id": ["P02", "P02", "P04", "P06", "P06", "P08"], "k": [1, 2, 3, 4, 5, 6]}
    )
    new = pl.DataFrame(
        {"patient_id": ["P01", "P04", "P04", "P05", "P09"], "k": [10, 11, 12, 13, 14]}
    )
    replaced = pl.Series(["P01", "P04", "P05", "P06", "P09"])
    expected = pl.DataFrame(
        {
            "patient_id": ["P01", "P02", "P02", "P04", "P04", "P05", "P08", "P09"],
            "k": [10, 1, 2, 11, 12, 13, 6, 14],
        }
    )
    assert_frame_equal(_splice_patients(old, new, replaced), expected)
