"""Stage timing: the one way mmrwe measures how long each stage took (``timings_seconds`` in
every manifest)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


class StageTimer:
    """Wall-clock seconds per stage, added up over repeated calls (partitions) of a stage.

    >>> timer = StageTimer()
    >>> with timer.stage("lines"):
    ...     pass
    >>> sorted(timer.seconds)
    ['lines']
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._t0 = time.perf_counter()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the block as stage ``name`` (added to an earlier time of the same stage)."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - t0)

    def add(self, name: str, seconds: float) -> None:
        """Add ``seconds`` to stage ``name``."""
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def merge(self, seconds: Mapping[str, float], prefix: str = "") -> None:
        """Add another timer's seconds (e.g. one partition's), each name given ``prefix``."""
        for name, value in seconds.items():
            self.add(prefix + name, value)

    def elapsed(self) -> float:
        """Seconds since the timer was made."""
        return time.perf_counter() - self._t0

    def rounded(self) -> dict[str, float]:
        """The seconds to the millisecond, as written in manifests."""
        return {name: round(value, 3) for name, value in self.seconds.items()}
