"""Properties of derived lines on random histories (hypothesis): numbering, no overlaps, every
exposure day in exactly one line, independence of row order and of brand versus generic names,
refractoriness independent of row order."""

from __future__ import annotations

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from mmrwe.lines import derive_lines_of_therapy, derive_refractoriness
from tests.lines.helpers import cohort_from_histories, day

# generic name -> a brand or abbreviation of the same ingredient
SPELLINGS = {
    "lenalidomide": "Revlimid",
    "bortezomib": "Velcade",
    "daratumumab": "Darzalex",
    "pomalidomide": "Pomalyst",
    "carfilzomib": "Kyprolis",
    "dexamethasone": "dex",
    "cyclophosphamide": "Cytoxan",
    "melphalan": "Alkeran",
    "autologous stem cell transplant": "ASCT",
    "idecabtagene vicleucel": "Abecma",
    "zoledronic acid": "Zometa",
}
POINT = {"autologous stem cell transplant", "idecabtagene vicleucel"}

exposure = st.tuples(
    st.sampled_from(sorted(SPELLINGS)),
    st.integers(0, 1500),
    st.integers(0, 400),
    st.booleans(),
)


@st.composite
def histories(draw) -> list[dict]:
    out = []
    for i in range(draw(st.integers(1, 4))):
        rows = []
        for name, start, length, ongoing in draw(st.lists(exposure, min_size=1, max_size=12)):
            end = start if name in POINT else (-1 if ongoing and length > 300 else start + length)
            rows.append([name, start, end])
        last = max(max(r[1], r[2]) for r in rows) + draw(st.integers(0, 300))
        out.append({"patient_id": f"P{i}", "last_contact": last, "treatments": rows})
    return out


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(histories())
def test_lines_numbered_contiguous_and_exposures_partitioned(hs: list[dict]) -> None:
    cohort = cohort_from_histories(hs)
    result = derive_lines_of_therapy(cohort)
    lines = result.lines
    for _pid, g in lines.group_by("patient_id"):
        g = g.sort("line")
        assert g["line"].to_list() == list(range(1, g.height + 1))
        assert (g["start_date"] <= g["end_date"]).all()
        # each line ends the day before the next starts: no overlap, no hole
        assert all(
            (b - a).days == 1 for a, b in zip(g["end_date"][:-1], g["start_date"][1:], strict=True)
        )
    pieces = result.line_exposures.join(
        lines.select(
            "patient_id", "line", pl.col("start_date").alias("ls"), pl.col("end_date").alias("le")
        ),
        on=["patient_id", "line"],
    )
    therapy = pieces.filter(pl.col("role") != "lymphodepletion")
    # every piece lies inside its line
    assert (therapy["start_date"] >= therapy["ls"]).all()
    assert (therapy["end_date"] <= therapy["le"]).all()
    # the pieces of one exposure never overlap and cover it from the first line's start on
    per_row = therapy.group_by("patient_id", "source_row").agg(
        ((pl.col("end_date") - pl.col("start_date")).dt.total_days() + 1).sum().alias("days"),
        pl.col("start_date").min().alias("s"),
        pl.col("end_date").max().alias("e"),
    )
    assert (((per_row["e"] - per_row["s"]).dt.total_days() + 1) == per_row["days"]).all()
    # ... and reach the exposure's own end (ongoing: the last contact)
    ends = cohort.treatments.join(cohort.patients, on="patient_id").select(
        "patient_id",
        "source_row",
        pl.col("end_date").fill_null(pl.col("last_contact_date")).alias("true_end"),
    )
    checked = per_row.join(ends, on=["patient_id", "source_row"])
    assert checked.height == per_row.height
    assert (checked["e"] == checked["true_end"]).all()


@SETTINGS
@given(histories(), st.randoms(use_true_random=False))
def test_independent_of_row_order(hs: list[dict], rnd) -> None:
    cohort = cohort_from_histories(hs)
    shuffled = cohort_from_histories(hs)
    order = list(range(shuffled.treatments.height))
    rnd.shuffle(order)
    shuffled.treatments = shuffled.treatments[order]
    a, b = derive_lines_of_therapy(cohort), derive_lines_of_therapy(shuffled)
    assert_frame_equal(a.lines, b.lines)
    assert_frame_equal(a.line_exposures, b.line_exposures)


@SETTINGS
@given(histories())
def test_independent_of_brand_or_generic_spelling(hs: list[dict]) -> None:
    branded = [
        h | {"treatments": [[SPELLINGS[n], s, e] for n, s, e in h["treatments"]]} for h in hs
    ]
    a = derive_lines_of_therapy(cohort_from_histories(hs))
    b = derive_lines_of_therapy(cohort_from_histories(branded))
    assert_frame_equal(a.lines, b.lines)
    assert_frame_equal(a.line_exposures, b.line_exposures)


@SETTINGS
@given(
    histories(),
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 1800)), max_size=6),
    st.randoms(use_true_random=False),
)
def test_refractoriness_independent_of_row_order(hs: list[dict], pd_days, rnd) -> None:
    """Refractory and exposure flags do not depend on the order of the exposure rows, nor on the
    order of the patients in ``lines`` (each patient's lines kept in their order)."""
    result = derive_lines_of_therapy(cohort_from_histories(hs))
    progression = pl.DataFrame(
        {"patient_id": [f"P{p}" for p, _ in pd_days], "date": [day(d) for _, d in pd_days]},
        schema={"patient_id": pl.String, "date": pl.Date},
    )
    best = result.lines.select(
        "patient_id",
        "line",
        pl.when(pl.col("line") % 2 == 0)
        .then(pl.lit("SD"))
        .otherwise(pl.lit("PR"))
        .alias("best_response"),
    )
    exposures = result.line_exposures
    order = list(range(exposures.height))
    rnd.shuffle(order)
    patients = result.lines["patient_id"].unique().to_list()
    rnd.shuffle(patients)
    lines = result.lines.join(
        pl.DataFrame({"patient_id": patients, "rank": range(len(patients))}),
        on="patient_id",
    )
    lines = lines.sort("rank", "line").drop("rank")
    a = derive_refractoriness(result.lines, exposures, progression, best)
    b = derive_refractoriness(lines, exposures[order], progression, best)
    assert_frame_equal(a, b.sort("patient_id", "line"))
