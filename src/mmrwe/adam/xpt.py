"""SAS transport (XPORT) version 5 files of the ADaM datasets, through pyreadstat (ReadStat).

The FDA's Study Data Technical Conformance Guide asks for SAS transport v5: dataset and variable
names of at most 8 characters, labels of at most 40, character values of at most 200 bytes.
Text is SAS character and numbers SAS numeric (8-byte); dates are SAS dates (days since
1960-01-01) with the ``DATE9.`` format, so SAS and R ``haven::read_xpt`` read them as dates.
SAS has no missing character value: an empty text is written blank and read back as null.
The creation and modification times in the headers are set to SAS's day 0 (01JAN60:00:00:00)
so that the same run gives the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import polars as pl

from mmrwe.adam.metadata import DATASETS, MAX_DATASET_NAME, MAX_LABEL, MAX_NAME, schema
from mmrwe.errors import check_parameter

#: the longest character value transport v5 holds (bytes)
MAX_TEXT_BYTES = 200
#: the header records (80 bytes each) before the variable descriptions: library and member
#: headers, which hold the creation and modification times as ddMMMyy:hh:mm:ss
HEADER_BYTES = 7 * 80
STAMP = re.compile(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d")
FIXED_STAMP = b"01JAN60:00:00:00"


def _check_fits(df: pl.DataFrame, dataset: str, labels: dict[str, str]) -> None:
    """Refuse what transport v5 cannot hold, naming the dataset, variable and limit."""
    check_parameter(
        len(dataset) <= MAX_DATASET_NAME,
        "dataset",
        "write_xpt",
        f"a name of at most {MAX_DATASET_NAME} characters",
        dataset,
    )
    for name in df.columns:
        check_parameter(
            len(name) <= MAX_NAME and len(labels[name]) <= MAX_LABEL,
            "df",
            "write_xpt",
            f"a table whose names have at most {MAX_NAME} characters and labels {MAX_LABEL}",
            f"{dataset}.{name} labelled {labels[name]!r}",
        )
        if df.schema[name] == pl.String:
            longest = df[name].str.len_bytes().max()
            check_parameter(
                longest is None or longest <= MAX_TEXT_BYTES,  # type: ignore[operator]
                "df",
                "write_xpt",
                f"a table whose text values have at most {MAX_TEXT_BYTES} bytes",
                f"{dataset}.{name} with a value of {longest} bytes",
            )


def write_xpt(df: pl.DataFrame, path: Path, dataset: str) -> None:
    """Write one ADaM dataset (``ADSL``, ``ADTTE``, ``ADRS``) as a SAS transport v5 file with
    its dataset label and variable labels."""
    import pyreadstat

    check_parameter(
        dataset in DATASETS, "dataset", "write_xpt", f"one of {list(DATASETS)}", dataset
    )
    label, variables = DATASETS[dataset]
    labels = {v.name: v.label for v in variables}
    check_parameter(
        df.columns == list(labels),
        "df",
        "write_xpt",
        f"a {dataset} table with the columns {list(labels)}",
        df.columns,
    )
    _check_fits(df, dataset, labels)
    dates = {name: "DATE9." for name, dtype in df.schema.items() if dtype == pl.Date}
    pyreadstat.write_xport(
        df,
        str(path),
        file_label=label,
        column_labels=labels,
        table_name=dataset,
        file_format_version=5,
        variable_format=dates,
    )
    _fix_timestamps(Path(path))


def _fix_timestamps(path: Path) -> None:
    """The header times (the moment of writing) replaced by a fixed one: deterministic bytes."""
    with path.open("r+b") as f:
        head = f.read(HEADER_BYTES)
        f.seek(0)
        f.write(STAMP.sub(FIXED_STAMP, head))


def read_xpt(path: Path, dataset: str | None = None) -> tuple[pl.DataFrame, dict[str, str], str]:
    """A transport file as (table, variable labels, dataset name). With ``dataset`` the table is
    cast to that dataset's types (SAS numbers come back as doubles) and blank text is null."""
    import pyreadstat

    df, meta = pyreadstat.read_xport(str(path), output_format="polars")
    labels = dict(meta.column_names_to_labels)
    if dataset is not None:
        df = df.with_columns(
            pl.when(pl.col(pl.String) != "").then(pl.col(pl.String)).name.keep()
        ).cast(schema(dataset))
    return df, labels, meta.table_name


#: ADaM rows above which a run writes no transport files unless asked (``xpt=True``, ``--xpt``):
#: pyreadstat holds each dataset whole in memory (about 4 GB for the 12 million rows of 200,000
#: patients), and the FDA's Study Data Technical Conformance Guide asks for datasets over 5 GB to
#: be split, which this size approaches (about 750 MB of files at 5 million rows)
AUTO_MAX_ROWS = 5_000_000


def transport_skipped(rows: int, asked: bool | None) -> str | None:
    """Why a run writes no transport files for ``rows`` ADaM rows, or ``None`` when it writes
    them (``asked``: ``True`` always, ``False`` never, ``None`` up to :data:`AUTO_MAX_ROWS`)."""
    if asked is False:
        return "SAS transport files (.xpt) not written, as asked."
    if asked is None and rows > AUTO_MAX_ROWS:
        return (
            f"SAS transport files (.xpt) not written: the ADaM datasets hold more than "
            f"{AUTO_MAX_ROWS:,} rows (docs/adam.md); they are in patient_level/ as Parquet. "
            "Ask for transport files explicitly to write them anyway."
        )
    return None


#: ADaM rows from which the transport files are written in a separate process while the run
#: goes on (pyreadstat writes about a million values a second and holds the GIL: 20,000
#: patients' ADRS alone take about 12 s); below it, in the run's own process
BACKGROUND_ROWS = 200_000


def start_transport_files(directory: Path, rows: int) -> Callable[[], list[str]]:
    """Begin writing the transport files of ``directory`` (``rows``: the ADaM rows written);
    return the function that waits for them and gives the names written (it raises what the
    writing raised)."""
    if rows < BACKGROUND_ROWS:
        names = write_transport_files(directory)
        return lambda: names
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    future = pool.submit(write_transport_files, Path(directory))
    pool.shutdown(wait=False)  # the pending write goes on; the pool ends with it
    return future.result


def write_transport_files(directory: Path) -> list[str]:
    """Write ``<dataset>.xpt`` beside each ADaM dataset's Parquet file (or folder of Parquet
    parts) in ``directory`` (a run's patient-level tables); return the file names written."""
    import pyarrow.parquet as pq

    written = []
    for dataset in DATASETS:
        source = Path(directory) / f"{dataset.lower()}.parquet"
        parts = not source.exists()  # the Spark engine's tables are folders of Parquet parts
        if parts:
            source = Path(directory) / dataset.lower()
        if source.exists():
            table = pl.from_arrow(pq.read_table(source))
            assert isinstance(table, pl.DataFrame)
            if parts:  # buckets in any order, each patient's rows whole and in order: the
                # local engine's order is by patient (stable, so each patient's rows keep theirs)
                table = table.sort("USUBJID", maintain_order=True)
            write_xpt(table, Path(directory) / f"{dataset.lower()}.xpt", dataset)
            written.append(f"{dataset.lower()}.xpt")
    return written
