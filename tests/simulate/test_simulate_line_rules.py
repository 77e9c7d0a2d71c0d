"""The treatment records respect the IMWG line rules the truth assumes (Rajkumar, Blood 2011).

An independent check written here, not the package's line code: every anti-myeloma record is
placed in the truth line containing its start date, and

- rule 1/2: a drug started more than 28 days after the line start is a drug the line already
  had (a restart or a split record), or belongs to the line by rule 5 (transplant: conditioning,
  mobilisation, ASCT, maintenance) or rule 6 (CAR-T: bridging, lymphodepletion, infusion);
- rule 8/9: no record runs into the next line (it would join the next line's regimen);
- rule 4: within a line, no gap over 90 days between anti-myeloma exposures, except the
  maintenance after an ASCT (rule 5 takes precedence);
- a retreatment line starts more than 90 days after the last exposure.
"""

from __future__ import annotations

import polars as pl
import pytest

from mmrwe.simulate.names import DRUG_SPELLINGS, PROCEDURES, STEROIDS, SUPPORTIVE

NOT_THERAPY = set(SUPPORTIVE) | set(STEROIDS) | {"leukapheresis"}


@pytest.fixture(scope="module")
def placed(tables):
    generic = {s: g for g, spellings in DRUG_SPELLINGS.items() for s in spellings}
    tr = (
        tables["treatments"]
        .with_columns(
            generic=pl.col("drug").replace_strict(generic, default=None),
            s=pl.col("start_date").str.to_date("%Y-%m-%d", strict=False),
            e=pl.col("end_date").str.to_date("%Y-%m-%d", strict=False),
        )
        .filter(pl.col("generic").is_not_null() & ~pl.col("generic").is_in(list(NOT_THERAPY)))
    )
    lines = tables["truth/lines"].select(
        "patient_id", "line", "includes_asct", "includes_car_t", "pattern",
        line_start="start_date", line_end="end_date",
    )  # fmt: skip
    j = tr.join(lines, on="patient_id").filter(
        (pl.col("s") >= pl.col("line_start")) & (pl.col("s") <= pl.col("line_end"))
    )
    assert j.height == tr.height
    return j


def test_late_drugs_belong_to_the_line(placed):
    first = placed.group_by("patient_id", "line", "generic").agg(first=pl.col("s").min())
    j = placed.join(first, on=["patient_id", "line", "generic"])
    late_new = j.filter(
        (pl.col("s") > pl.col("line_start") + pl.duration(days=28))
        & (pl.col("s") == pl.col("first"))
    )
    transplant = pl.col("includes_asct") & pl.col("generic").is_in(
        ["melphalan", "cyclophosphamide", "autologous stem cell transplant", "lenalidomide"]
    )
    bad = late_new.filter(~transplant & ~pl.col("includes_car_t"))
    assert bad.height == 0, bad.select("patient_id", "line", "generic", "s", "line_start").head()


def test_no_record_runs_into_the_next_line(placed, tables):
    """Except lenalidomide of an Rd line continuing into an add-on D-Rd line (rule 1)."""
    nxt = tables["truth/lines"].select(
        "patient_id", line=pl.col("line") - 1, next_pattern="pattern", next_end="end_date"
    )
    runs = placed.filter(pl.col("e").is_not_null() & (pl.col("e") > pl.col("line_end")))
    runs = runs.join(nxt, on=["patient_id", "line"], how="left")
    add_on = (pl.col("next_pattern") == "add_on") & (pl.col("generic") == "lenalidomide")
    bad = runs.filter(~add_on | (pl.col("e") > pl.col("next_end")))
    assert bad.height == 0, bad.head()


def test_no_gap_over_90_days_inside_a_line(placed):
    exp = placed.with_columns(e=pl.coalesce("e", "line_end")).sort("patient_id", "line", "s")
    exp = exp.with_columns(
        covered=pl.col("e").cum_max().shift(1).over("patient_id", "line"),
    ).filter(pl.col("covered").is_not_null())
    gap = (pl.col("s") - pl.col("covered")).dt.total_days()
    maintenance = pl.col("includes_asct") & (pl.col("generic") == "lenalidomide")
    bad = exp.filter((gap > 90) & ~maintenance)
    assert bad.height == 0, bad.select("patient_id", "line", "generic", "s", "covered").head()


def test_retreatment_follows_a_gap(placed, tables):
    last = placed.group_by("patient_id", "line").agg(last=pl.coalesce("e", "line_end").max())
    re = tables["truth/lines"].filter(pl.col("pattern") == "retreatment")
    j = re.join(last.with_columns(line=pl.col("line") + 1), on=["patient_id", "line"])
    assert j.height == re.height
    assert ((j["start_date"] - j["last"]).dt.total_days() > 90).all()


def test_procedures_are_named_as_the_vocabulary_names_them():
    assert set(PROCEDURES) == {"autologous stem cell transplant", "leukapheresis"}
