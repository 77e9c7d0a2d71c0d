"""A Spark JVM that dies mid-run (killed by the operating system's out-of-memory killer, as
happened in a benchmark on a shared machine) reaches the user as one :class:`SparkEngineError`
saying what to do, not as py4j's ``ConnectionRefusedError`` trace. No Spark is started: py4j
raises these errors on the driver when the JVM is gone."""

from __future__ import annotations

import pytest

pytest.importorskip("py4j")

from py4j.protocol import Py4JNetworkError

from mmrwe.engine.spark import SparkEngineError, python_errors


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connection refused"),
        Py4JNetworkError("Answer from Java side is empty"),
    ],
)
def test_lost_jvm_is_one_clear_error(error: Exception) -> None:
    with pytest.raises(SparkEngineError, match="JVM") as raised, python_errors():
        raise error
    assert "more memory" in str(raised.value)
