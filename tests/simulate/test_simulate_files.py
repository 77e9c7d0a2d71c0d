"""Writing: determinism, formats, partitions, atomic output, parameter checks."""

from __future__ import annotations

import polars as pl
import pytest

from mmrwe.errors import OutputExistsError, ParameterError
from mmrwe.simulate import simulate_cohort
from mmrwe.simulate.cohort import TABLES


def _files(root):
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def test_same_seed_gives_identical_bytes(tmp_path):
    a = simulate_cohort(tmp_path / "a", 700, seed=3).path
    b = simulate_cohort(tmp_path / "b", 700, seed=3).path
    assert _files(a) == _files(b)
    for f in _files(a):
        assert (a / f).read_bytes() == (b / f).read_bytes(), f


def test_different_seed_gives_different_cohort(tmp_path):
    a = simulate_cohort(tmp_path / "a", 300, seed=3).path
    b = simulate_cohort(tmp_path / "b", 300, seed=4).path
    pa, pb = pl.read_parquet(a / "patients.parquet"), pl.read_parquet(b / "patients.parquet")
    assert not pa.equals(pb)


def test_csv_and_parquet_hold_the_same_content(tmp_path):
    p = simulate_cohort(tmp_path / "p", 400, seed=5).path
    c = simulate_cohort(tmp_path / "c", 400, seed=5, format="csv").path
    for name in TABLES:
        a = pl.read_parquet(p / f"{name}.parquet")
        b = pl.read_csv(c / f"{name}.csv", schema=a.schema)
        assert a.equals(b), name


def test_partitioned_parquet_equals_single_files(tmp_path):
    single = simulate_cohort(tmp_path / "s", 1100, seed=9).path
    parts = simulate_cohort(tmp_path / "p", 1100, seed=9, partition_size=400)
    for name in TABLES:
        folder = parts.path / name
        files = sorted(folder.glob("part-*.parquet"))
        assert [f.name for f in files] == [
            "part-00000.parquet",
            "part-00001.parquet",
            "part-00002.parquet",
        ]
        whole = pl.concat([pl.read_parquet(f) for f in files])
        assert whole.equals(pl.read_parquet(single / f"{name}.parquet")), name
    first = pl.read_parquet(parts.path / "patients" / "part-00000.parquet")
    assert first.height == 400
    assert parts.rows["patients"] == 1100


def test_partitioned_csv_is_one_file_per_table(tmp_path):
    single = simulate_cohort(tmp_path / "s", 500, seed=2, format="csv").path
    parts = simulate_cohort(tmp_path / "p", 500, seed=2, format="csv", partition_size=150).path
    for name in TABLES:
        assert (parts / f"{name}.csv").read_bytes() == (single / f"{name}.csv").read_bytes()


def test_existing_directory_is_refused_unless_overwrite(tmp_path):
    out = tmp_path / "c"
    simulate_cohort(out, 50, seed=1)
    with pytest.raises(OutputExistsError, match=r"overwrite=True"):
        simulate_cohort(out, 50, seed=1)
    summary = simulate_cohort(out, 60, seed=1, overwrite=True)
    assert pl.read_parquet(out / "patients.parquet").height == 60 == summary.rows["patients"]
    assert not (tmp_path / ".c.partial").exists()


def test_progress_reports_every_patient(tmp_path):
    seen: list[int] = []
    simulate_cohort(tmp_path / "c", 6000, seed=1, on_progress=seen.append)
    assert sum(seen) == 6000 and len(seen) == 2


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"n_patients": 0}, "n_patients"), ({"seed": -1}, "seed"), ({"format": "xlsx"}, "format"),
     ({"partition_size": 0}, "partition_size")],
)  # fmt: skip
def test_bad_parameters_are_named(tmp_path, kwargs, name):
    with pytest.raises(ParameterError, match=f"'{name}' parameter of simulate_cohort"):
        simulate_cohort(tmp_path / "c", **{"n_patients": 10, **kwargs})
