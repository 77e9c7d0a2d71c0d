"""SAS transport v5 round trip through pyreadstat: dataset name and label, variable labels,
types (text as character, numbers and dates as numeric with DATE9.) and values intact, for the
three ADaM datasets built from the hand-written tables of the ADSL/ADRS and ADTTE tests."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from mmrwe.adam import DATASETS, labels, read_xpt, schema, write_xpt
from mmrwe.adam.metadata import MAX_LABEL, MAX_NAME
from mmrwe.errors import ParameterError
from tests.adam.test_adsl_adrs import analysis_lines, assessments, line_response, patients


def small_datasets() -> dict[str, pl.DataFrame]:
    import datetime as dt

    from mmrwe.adam import to_adrs, to_adsl
    from mmrwe.endpoints import to_adtte
    from tests.endpoints.test_adtte import endpoints

    return {
        "ADSL": to_adsl(
            patients(), analysis_lines(), study_id="RWE", data_cutoff=dt.date(2021, 6, 30)
        ),
        "ADTTE": to_adtte(endpoints(), study_id="RWE"),
        "ADRS": to_adrs(assessments(), line_response(), study_id="RWE"),
    }


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_round_trip_keeps_labels_types_and_values(dataset: str, tmp_path: Path) -> None:
    import pyreadstat

    table = small_datasets()[dataset]
    path = tmp_path / f"{dataset.lower()}.xpt"
    write_xpt(table, path, dataset)
    _, meta = pyreadstat.read_xport(str(path))
    assert meta.table_name == dataset
    assert meta.file_label == DATASETS[dataset][0]
    assert meta.column_names_to_labels == labels(dataset)
    expected_types = {
        name: "string" if dtype == pl.String else "double"
        for name, dtype in schema(dataset).items()
    }
    assert meta.readstat_variable_types == expected_types
    dates = {n for n, t in schema(dataset).items() if t == pl.Date}
    assert {n for n, f in meta.original_variable_types.items() if f == "DATE9."} == dates
    back, back_labels, name = read_xpt(path, dataset)
    assert name == dataset and back_labels == labels(dataset)
    assert back.equals(table), f"{dataset} values changed in the round trip"


def test_names_and_labels_fit_transport_v5() -> None:
    for _, variables in DATASETS.values():
        for v in variables:
            assert len(v.name) <= MAX_NAME and v.name.isupper(), v.name
            assert len(v.label) <= MAX_LABEL and v.label.isascii(), v.label


def test_text_longer_than_200_bytes_is_refused_naming_the_variable(tmp_path: Path) -> None:
    table = small_datasets()["ADRS"].with_columns(pl.lit("x" * 201).alias("PARAM"))
    with pytest.raises(ParameterError, match=r"ADRS\.PARAM with a value of 201 bytes"):
        write_xpt(table, tmp_path / "adrs.xpt", "ADRS")
