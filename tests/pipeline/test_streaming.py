"""Streaming: partition k+1 is read while partition k is analysed, and the partitions in
flight (read and not yet written) are bounded by the number of workers, not by the cohort
(issue 18, goal 2)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from mmrwe.io.cohort import COHORT_SCHEMAS
from mmrwe.io.stream import open_source
from mmrwe.pipeline import analyse_partitions, prefetched
from mmrwe.simulate import simulate_cohort
from mmrwe.study.config import load_config
from mmrwe.timing import StageTimer
from mmrwe.vocab import load_vocabulary

#: 12 partitions of 25 patients
N_PATIENTS, SIZE = 300, 25


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sim") / "cohort"
    simulate_cohort(path, n_patients=N_PATIENTS, seed=4)
    return path


class Counted:
    """The partitions of a cohort's source, counting those taken and those written."""

    def __init__(self, cohort: Path) -> None:
        self.cohort = cohort
        self.lock = threading.Lock()
        self.taken = 0
        self.written = 0
        self.taken_at_first_write: int | None = None
        self.most_in_flight = 0

    def parts(self) -> Iterator[dict[str, pl.DataFrame]]:
        with open_source(self.cohort) as source:
            for tables in source.partitions(SIZE):
                with self.lock:
                    self.taken += 1
                yield {name: tables[name] for name in COHORT_SCHEMAS if name in tables}

    def sink(self, name: str, table: pl.DataFrame) -> None:
        if name != "lines":  # one call per partition
            return
        with self.lock:
            if self.taken_at_first_write is None:
                self.taken_at_first_write = self.taken
            self.most_in_flight = max(self.most_in_flight, self.taken - self.written)
            self.written += 1


@pytest.mark.parametrize("workers", [1, 2])
def test_the_next_partition_is_read_while_one_is_analysed(cohort: Path, workers: int) -> None:
    counted = Counted(cohort)
    analyse_partitions(
        prefetched(counted.parts(), StageTimer(), "read_validate"),
        load_config(None),
        load_vocabulary(),
        counted.sink,
        stop_after="response",
        workers=workers,
    )
    assert counted.written == N_PATIENTS // SIZE
    # read ahead: partition 2 was read before partition 1 was written (one worker analyses
    # one partition at a time, so only the background reader can have taken it)
    assert counted.taken_at_first_write is not None and counted.taken_at_first_write >= 2
    # bounded: the workers' partitions, one waiting in the queue, one being read, one written
    assert counted.most_in_flight <= workers + 3
