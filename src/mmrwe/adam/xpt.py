"""SAS transport (XPORT) version 5 files of the ADaM datasets, through pyreadstat (ReadStat).

The FDA's Study Data Technical Conformance Guide asks for SAS transport v5: dataset and variable
names of at most 8 characters, labels of at most 40, character values of at most 200 bytes.
Text is SAS character and numbers SAS numeric (8-byte); dates are SAS dates (days since
1960-01-01) with the ``DATE9.`` format, so SAS and R ``haven::read_xpt`` read them as dates.
SAS has no missing character value: an empty text is written blank and read back as null.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from mmrwe.adam.metadata import DATASETS, MAX_DATASET_NAME, MAX_LABEL, MAX_NAME, schema
from mmrwe.errors import check_parameter

#: the longest character value transport v5 holds (bytes)
MAX_TEXT_BYTES = 200


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


def write_transport_files(directory: Path) -> list[str]:
    """Write ``<dataset>.xpt`` beside each ADaM dataset's Parquet file in ``directory`` (a run's
    patient-level tables); return the file names written."""
    import pyarrow.parquet as pq

    written = []
    for dataset in DATASETS:
        source = Path(directory) / f"{dataset.lower()}.parquet"
        if source.exists():
            table = pl.from_arrow(pq.read_table(source))
            assert isinstance(table, pl.DataFrame)
            write_xpt(table, Path(directory) / f"{dataset.lower()}.xpt", dataset)
            written.append(f"{dataset.lower()}.xpt")
    return written
