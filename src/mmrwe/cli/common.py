"""Shared CLI plumbing: consoles, progress bars and the run state (quiet, debug)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:
    from mmrwe.omop.writeback import WriteOmop
    from mmrwe.pipeline import Stage
    from mmrwe.study.run import RunResult

#: Results go to stdout; messages, warnings and progress to stderr.
stdout = Console(width=None if sys.stdout.isatty() else 200)
stderr = Console(stderr=True, soft_wrap=True)


@dataclass
class State:
    """Global options of the ``mmrwe`` command."""

    quiet: bool = False
    debug: bool = False


state = State()


def info(message: str) -> None:
    """A message on stderr, unless ``--quiet`` (printed as written: ``[population]`` stays)."""
    if not state.quiet:
        stderr.print(escape(message), highlight=False)


def warn(message: str) -> None:
    """A warning on stderr (shown even with ``--quiet``)."""
    stderr.print(f"[yellow]warning:[/yellow] {escape(message)}", highlight=False)


@contextmanager
def progress(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A Rich progress bar on a terminal; silent in pipes and under ``--quiet``.

    Yields ``advance(n)``, to be passed as the ``on_progress`` callback of library functions.
    """
    if state.quiet or not sys.stderr.isatty():
        yield lambda n: None
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
    )
    with bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


#: Help of ``--concept-map`` on the commands that take a cohort.
CONCEPT_MAP_HELP = (
    "OMOP CDM only: concept map CSV extending or overriding the shipped concept sets."
)


def cohort_source(cohort: Path, concept_map: Path | None) -> Path | str:
    """The cohort argument, with an OMOP URL carrying ``--concept-map`` as its ``concept_map``
    option (docs/omop.md)."""
    if concept_map is None:
        return cohort
    from mmrwe.errors import ParameterError
    from mmrwe.omop.url import is_omop_url

    if not is_omop_url(cohort):
        raise ParameterError(
            f"--concept-map applies to an OMOP CDM (omop+duckdb://, omop+postgresql:// or omop+spark://), not to "
            f"the cohort '{cohort}': map a native cohort's drug names with --drug-map."
        )
    return f"{cohort}{'&' if '?' in str(cohort) else '?'}concept_map={concept_map.resolve()}"


def engine_option() -> Any:
    """``--engine`` of the commands that run the patient-level chain (``lines``, ``response``,
    ``run``)."""
    import typer

    return typer.Option(
        "local",
        "--engine",
        help="Where the patient-level chain runs: local (this machine) or spark (a Spark "
        "cluster; needs mmrwe[spark] and Java; docs/scale.md).",
    )


def spark_master_option() -> Any:
    """``--spark-master`` of the commands that take ``--engine``."""
    import typer

    return typer.Option(
        None,
        "--spark-master",
        help="Spark master URL for --engine spark (e.g. local[4], spark://host:7077). Default: "
        "the active Spark session's, else local[*].",
    )


#: ``--delimiter`` of the commands that read a cohort
DELIMITER_HELP = "Character between the fields of the cohort's CSV tables, e.g. ';'."


def run_chain(
    cohort: Path | str,
    out: Path,
    stop_after: Stage,
    *,
    config: Path | None,
    drug_map: Path | None,
    overwrite: bool,
    report: bool = False,
    csv: bool = False,
    delimiter: str = ",",
    engine: str = "local",
    spark_master: str | None = None,
    ledger: Path | None = None,
    write_omop: WriteOmop | None = None,
    xpt: bool | None = None,
) -> RunResult:
    """What ``mmrwe lines``, ``mmrwe response`` and ``mmrwe run`` run: the one patient-level
    chain stopped after ``stop_after`` (:func:`mmrwe.study.run_study`; ``csv``: patient-level
    tables as CSV too), each stage named on stderr as it starts and the patients done shown on a
    progress bar; ``engine`` (``local`` or ``spark``, with ``spark_master``) runs the chain
    (:func:`mmrwe.engine.make_engine`); ``ledger``: the cohort's release ledger; ``xpt``: SAS
    transport files (:func:`run_study`)."""
    from mmrwe.engine import make_engine
    from mmrwe.io.output import refuse_existing
    from mmrwe.study import run_study

    refuse_existing(out, overwrite)
    chosen = make_engine(engine, spark_master)
    with progress("analysing patients", None) as advance:
        return run_study(
            cohort,
            out,
            config=config,
            drug_map=drug_map,
            overwrite=overwrite,
            stop_after=stop_after,
            report=report,
            csv=csv,
            delimiter=delimiter,
            on_stage=lambda name: info(f"{name} ..."),
            on_progress=advance,
            engine=None if chosen.name == "local" else chosen,
            ledger=ledger,
            write_omop=write_omop,
            xpt=xpt,
        )
