"""The Spark engine's fixtures: one local SparkSession for the whole test session (Spark's
start-up dominates these tests) and one small simulated cohort with its local-engine run.

Spark needs Java 17+. Without it these tests are skipped on a developer's machine and FAIL
under CI=true (``.ci/run`` installs Debian's openjdk-17-jre-headless), so that a missing Java
can never pass CI silently."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

#: master: 2 cores, and each task tried up to 2 times (the fault-injection test needs a retry)
MASTER = "local[2,2]"
#: a small simulated cohort: Spark's start-up, not the patients, dominates the tests' time
PATIENTS = 400
#: the cohort of the equality tests (issue 17: local and Spark engines on 2,000 patients)
EQUALITY_PATIENTS = 2_000


def _unavailable(what: str) -> None:
    message = f"the Spark engine's tests need {what}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}; CI installs it (.ci/run)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def spark():  # type: ignore[no-untyped-def]
    """A local SparkSession (``local[2,2]``), stopped at the end of the test session."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        _unavailable("pyspark (pip install -e '.[test]')")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        _unavailable("Java 17+ (java on the PATH, or JAVA_HOME)")
    from mmrwe.engine.spark import start_session

    session = start_session(MASTER)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulated cohort of :data:`PATIENTS` patients (Parquet, as ``mmrwe simulate`` writes)."""
    from mmrwe.simulate import simulate_cohort

    path = tmp_path_factory.mktemp("spark") / "cohort"
    simulate_cohort(path, n_patients=PATIENTS, seed=11)
    return path


@pytest.fixture(scope="session")
def cohort_2000(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulated cohort of :data:`EQUALITY_PATIENTS` patients (Parquet)."""
    from mmrwe.simulate import simulate_cohort

    path = tmp_path_factory.mktemp("spark2000") / "cohort"
    simulate_cohort(path, n_patients=EQUALITY_PATIENTS, seed=17)
    return path


@pytest.fixture(scope="session")
def local_run(cohort: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The local engine's run of the default study on :func:`cohort` (tables only)."""
    from mmrwe.study import run_study

    out = tmp_path_factory.mktemp("local") / "run"
    run_study(cohort, out, report=False)
    return out
