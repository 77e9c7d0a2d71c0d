"""Declared table contracts: every table a stage really writes has exactly the columns and
Polars dtypes its contract declares (``mmrwe.contract``), and a table lacking a declared column
is refused with the one column error."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from mmrwe.adam.adrs import ADRS_TABLE
from mmrwe.adam.adsl import ADSL_TABLE
from mmrwe.contract import TableContract
from mmrwe.endpoints.adtte import ADTTE_TABLE
from mmrwe.endpoints.derive import ENDPOINTS_TABLE
from mmrwe.errors import InvalidDataError, MissingColumnsError, ParameterError
from mmrwe.io.attrition import ATTRITION_TABLE
from mmrwe.io.cohort import COHORT_SCHEMAS
from mmrwe.io.output import run_file
from mmrwe.io.read import read_cohort
from mmrwe.lines import derive_lines_of_therapy
from mmrwe.lines.derive import DERIVED_LINES_TABLE, LINE_EXPOSURES_TABLE
from mmrwe.lines.refractory import LINES_TABLE
from mmrwe.pipeline import analyse_partition
from mmrwe.response import derive_assessments
from mmrwe.response.assess import ASSESSMENTS_TABLE
from mmrwe.response.best import LINE_RESPONSE_TABLE
from mmrwe.simulate import simulate_cohort
from mmrwe.study import run_study
from mmrwe.study.config import load_config
from mmrwe.study.select import ANALYSIS_LINES_TABLE
from mmrwe.vocab import load_vocabulary
from mmrwe.vocab.mapping import UNMAPPED_DRUGS_TABLE

#: the contract of each patient-level table a run writes, and of its unsuppressed tables
WRITTEN = {
    "lines": LINES_TABLE,
    "line_exposures": LINE_EXPOSURES_TABLE,
    "assessments": ASSESSMENTS_TABLE,
    "line_response": LINE_RESPONSE_TABLE,
    "endpoints": ENDPOINTS_TABLE,
    "adtte": ADTTE_TABLE,
    "adrs": ADRS_TABLE,
    "adsl": ADSL_TABLE,
    "analysis_lines": ANALYSIS_LINES_TABLE,
}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sim") / "cohort"
    simulate_cohort(path, n_patients=200, seed=3)
    return path


# 200 patients: one subgroup's Cox fit is singular (numpy warns; the statistics are not under test)
@pytest.mark.filterwarnings("ignore:invalid value encountered in sqrt:RuntimeWarning")
def test_every_table_a_run_writes_has_its_declared_dtypes(cohort: Path, tmp_path: Path) -> None:
    """Read back from the Parquet files of a run of the shipped isa-pd study (subgroups add
    their columns after the declared ones of ``analysis_lines``)."""
    out = run_study(cohort, tmp_path / "run", config="isa-pd", report=False).out
    for name, contract in WRITTEN.items():
        assert contract.mismatches(pl.read_parquet(run_file(out, f"{name}.parquet"))) == [], name
    lines_run = run_study(cohort, tmp_path / "lines", stop_after="lines").out
    for name, contract in {
        "lines": LINES_TABLE,
        "attrition": ATTRITION_TABLE,
        "unmapped_drugs": UNMAPPED_DRUGS_TABLE,
    }.items():
        assert contract.mismatches(pl.read_parquet(run_file(lines_run, f"{name}.parquet"))) == [], (
            name
        )


def test_the_partition_function_returns_its_declared_tables(cohort: Path) -> None:
    data = read_cohort(cohort)
    tables = {name: data.table(name) for name in COHORT_SCHEMAS}
    result = analyse_partition(tables, load_config(None), load_vocabulary())
    for name, table in result.tables.items():
        assert WRITTEN[name].mismatches(table) == [], name
    assert ATTRITION_TABLE.mismatches(result.attrition) == []
    assert UNMAPPED_DRUGS_TABLE.mismatches(result.unmapped_drugs) == []
    # analysis_lines before the analysis group is set on the whole population
    analysed = ANALYSIS_LINES_TABLE.schema.keys() - {"group", "group_order"}
    assert result.analysis_lines is not None
    assert [c for c in result.analysis_lines.columns if c in analysed] == [
        c for c in ANALYSIS_LINES_TABLE.columns if c in analysed
    ]
    lot = derive_lines_of_therapy(data)
    assert DERIVED_LINES_TABLE.mismatches(lot.lines) == []
    assert ASSESSMENTS_TABLE.mismatches(derive_assessments(data.labs.head(0), lot.lines)) == []


def test_a_contract_sees_a_wrong_dtype_a_missing_and_an_undeclared_column() -> None:
    contract = TableContract("t", {"patient_id": pl.String(), "line": pl.Int64()})
    assert contract.mismatches(contract.empty()) == []
    assert contract.mismatches(pl.DataFrame({"patient_id": ["P1"], "line": [1.0]})) == [
        "line: Float64 instead of Int64"
    ]
    assert contract.mismatches(pl.DataFrame({"patient_id": ["P1"]})) == ["missing line"]
    wide = pl.DataFrame({"patient_id": ["P1"], "line": [1], "x": [0]})
    assert contract.mismatches(wide) == ["undeclared columns ['x']"]
    assert TableContract("t", contract.schema, open_ended=True).mismatches(wide) == []
    swapped = pl.DataFrame({"line": [1], "patient_id": ["P1"]})
    assert contract.mismatches(swapped) == [
        "column order ['line', 'patient_id'] instead of ['patient_id', 'line']"
    ]


@pytest.mark.parametrize("error", [MissingColumnsError, InvalidDataError, ParameterError])
def test_one_error_for_every_missing_column(cohort: Path, error: type[Exception]) -> None:
    """Lines handed to the response stage without ``infusion_date``: the one column error, which
    is both an InvalidDataError and a ParameterError for callers catching either."""
    data = read_cohort(cohort)
    lines = derive_lines_of_therapy(data).lines.drop("infusion_date")
    with pytest.raises(
        error, match=r"'lines' table passed to derive_assessments lacks .*'infusion_date'"
    ):
        derive_assessments(data.labs, lines)
