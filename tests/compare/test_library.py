"""The benchmark library: integrity of every figure, spot checks against the publications, the
lookup API and its error messages."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

import polars as pl
import pytest

from mmrwe.compare.library import BASELINE, ENDPOINTS, MEASURES, load_benchmarks
from mmrwe.errors import ConfigError, ParameterError

LIB = load_benchmarks()
TABLE = LIB.table()
RAW = tomllib.loads(
    resources.files("mmrwe.compare").joinpath("data/benchmarks.toml").read_text("utf-8")
)


# ------------------------------------------------------------------ integrity
def test_every_study_has_a_citation_kind_and_arms() -> None:
    assert len(LIB.studies) >= 19
    for s in LIB.studies.values():
        assert s.source.citation.strip() and 1990 < s.source.year < 2030, s.key
        assert s.kind in ("trial", "real-world"), s.key
        assert s.arms, s.key
        if s.comparator is not None:
            assert s.comparator in s.arms, s.key


def test_every_source_cites_author_journal_and_year() -> None:
    for src in LIB.sources.values():
        assert str(src.year) in src.citation or "annual meeting" in src.citation, src.key
        assert "et al" in src.citation or src.key.endswith(("update-2021",)), src.key


def test_every_figure_parses_and_is_in_range() -> None:
    """Proportions in 0–1, times positive, hazard ratios positive, CIs bracket the estimate."""
    t = TABLE
    props = t.filter(pl.col("unit") == "proportion")
    assert props.height > 30
    for col in ("value", "lower", "upper"):
        vals = props[col].drop_nulls()
        assert ((vals >= 0) & (vals <= 1)).all(), col
    months = t.filter(pl.col("unit") == "months")
    assert (months["value"].drop_nulls() > 0).all()
    assert (t.filter(pl.col("unit") == "hazard ratio")["value"] > 0).all()
    bracket = t.filter(pl.col("value").is_not_null())
    assert (bracket["lower"].fill_null(-1) <= bracket["value"]).all()
    assert (bracket["upper"].fill_null(1e9) >= bracket["value"]).all()
    # a value is a number or an explicit "not reached", never both, never neither
    assert (t["value"].is_null() == t["not_reached"]).all()
    assert (t["n"].drop_nulls() > 0).all()
    assert t["source"].is_in(list(LIB.sources)).all()


def test_names_are_from_the_fixed_sets() -> None:
    assert set(TABLE["measure"]) <= set(MEASURES)
    assert set(TABLE["endpoint"].drop_nulls()) <= set(ENDPOINTS)
    base = LIB.baseline_table()
    assert set(base["characteristic"]) <= set(BASELINE)
    props = base.filter(pl.col("unit") == "proportion")["value"]
    assert ((props >= 0) & (props <= 1)).all()


def test_regimens_are_written_as_mmrwe_writes_them() -> None:
    """Every regimen name of an arm is a name of mmrwe's regimen table (vocab/regimens.csv)."""
    known = set(
        pl.read_csv(resources.files("mmrwe.vocab").joinpath("regimens.csv").read_bytes())["regimen"]
    )
    used = {r for s in LIB.studies.values() for a in s.arms.values() for r in a.regimens}
    assert used, "no regimens"
    assert used <= known, used - known


def test_ecog_shares_add_up_where_all_are_published() -> None:
    for s in LIB.studies.values():
        for a in s.arms.values():
            if {"ecog_0", "ecog_1", "ecog_2_plus"} <= set(a.baseline):
                total = sum(a.baseline[k] for k in ("ecog_0", "ecog_1", "ecog_2_plus"))
                assert total == pytest.approx(1.0, abs=0.011), a.label


def test_the_table_is_deterministic_and_typed() -> None:
    again = load_benchmarks(path=_shipped_path())
    assert again.table().equals(TABLE)
    assert TABLE.schema["value"] == pl.Float64 and TABLE.schema["not_reached"] == pl.Boolean


def _shipped_path() -> Path:
    return Path(str(resources.files("mmrwe.compare").joinpath("data/benchmarks.toml")))


# ------------------------------------------------------------------ spot checks (the sources)
def _v(study: str, arm: str, measure: str, source: str) -> float | None:
    rows = TABLE.filter(
        pl.col("study") == study,
        pl.col("arm") == arm,
        pl.col("measure") == measure,
        pl.col("source") == source,
        pl.col("subgroup").is_null(),
    )
    assert rows.height == 1, (study, arm, measure, source, rows)
    return rows["value"][0]


@pytest.mark.parametrize(
    ("study", "arm", "measure", "source", "expected"),
    [
        # Attal M et al., Lancet 2019;394:2096: mPFS 11.5 vs 6.5, HR 0.596, ORR 60.4 % vs 35.3 %
        ("icaria-mm", "isa-pd", "median_pfs", "attal-2019", 11.5),
        ("icaria-mm", "pd", "median_pfs", "attal-2019", 6.5),
        ("icaria-mm", "isa-pd", "hr_pfs", "attal-2019", 0.596),
        ("icaria-mm", "pd", "orr", "attal-2019", 0.353),
        # Richardson PG et al., Haematologica 2024;109:2239 (final OS): 24.6 vs 17.7
        ("icaria-mm", "isa-pd", "median_os", "richardson-2024", 24.6),
        ("icaria-mm", "pd", "median_os", "richardson-2024", 17.7),
        # Bahlis NJ et al., Leukemia 2020;34:1875: POLLUX mPFS 44.5 vs 17.5, HR 0.44
        ("pollux", "d-rd", "median_pfs", "bahlis-2020", 44.5),
        ("pollux", "d-rd", "hr_pfs", "bahlis-2020", 0.44),
        ("pollux", "rd", "orr", "dimopoulos-2016", 0.764),
        # Mateos MV et al., Clin Lymphoma Myeloma Leuk 2020: CASTOR 16.7 vs 7.1, HR 0.31
        ("castor", "d-vd", "median_pfs", "mateos-2020", 16.7),
        ("castor", "vd", "median_pfs", "mateos-2020", 7.1),
        ("castor", "d-vd", "orr", "palumbo-2016", 0.829),
        # Martin T et al., Blood Cancer J 2023: IKEMA final 35.7 vs 19.2, HR 0.58
        ("ikema", "isa-kd", "median_pfs", "martin-2023", 35.7),
        ("ikema", "kd", "median_pfs", "martin-2023", 19.2),
        # Moreau P et al., N Engl J Med 2016;374:1621: 20.6 vs 14.7, HR 0.74, ORR 78.3 %
        ("tourmaline-mm1", "ird", "hr_pfs", "moreau-2016", 0.74),
        ("tourmaline-mm1", "ird", "orr", "moreau-2016", 0.783),
        # Lonial S et al., Lancet Oncol 2020;21:207 and Cancer 2021: ORR 31 % then 32 %
        ("dreamm-2", "belantamab", "orr", "lonial-2020", 0.31),
        ("dreamm-2", "belantamab", "median_pfs", "lonial-2021", 2.8),
        # Munshi NC et al., N Engl J Med 2021;384:705: ORR 73 %, >=CR 33 %, mPFS 8.8
        ("karmma", "ide-cel", "orr", "munshi-2021", 0.73),
        ("karmma", "ide-cel", "cr_or_better", "munshi-2021", 0.33),
        ("karmma", "ide-cel", "median_pfs", "munshi-2021", 8.8),
        ("karmma", "ide-cel", "median_os", "munshi-2021", 19.4),
        ("karmma", "ide-cel", "median_os", "karmma-update-2021", 24.8),
        # Ailawadhi S et al., Blood 2024;144:2389: KarMMa-3 final PFS 13.8 vs 4.4, HR 0.49
        ("karmma-3", "ide-cel", "median_pfs", "ailawadhi-2024", 13.8),
        ("karmma-3", "standard-regimens", "median_pfs", "ailawadhi-2024", 4.4),
        ("karmma-3", "ide-cel", "orr", "ailawadhi-2024", 0.71),
        ("karmma-3", "ide-cel", "cr", "ailawadhi-2024", 0.44),
        # Moreau P et al., N Engl J Med 2022;387:495: MajesTEC-1 ORR 63 %, mPFS 11.3
        ("majestec-1", "teclistamab", "median_pfs", "moreau-2022", 11.3),
        # Real-world: Jagannath 2016, Verelst 2018, Shragai 2022, Iino 2022, LocoMMotion, MAMMOTH
        ("jagannath-2016", "line-3", "median_pfs", "jagannath-2016", 7.9),
        ("verelst-2018", "line-4", "median_os", "verelst-2018", 9.2),
        ("shragai-2022", "belantamab", "median_dor", "shragai-2022", 8.1),
        ("iino-2022", "ird", "vgpr_or_better", "iino-2022", 0.315),
        ("locommotion", "standard-care", "orr", "mateos-2022", 0.298),
        ("mammoth", "all", "median_os", "gandhi-2019", 8.6),
        ("fucci-2022", "dara", "orr", "fucci-2022", 0.88),
        ("usmic-ide-cel", "ide-cel", "median_pfs", "hansen-2022", 8.9),
    ],
)
def test_spot_check(study: str, arm: str, measure: str, source: str, expected: float) -> None:
    assert _v(study, arm, measure, source) == pytest.approx(expected)


def test_confidence_limits_and_landmarks() -> None:
    """KarMMa mPFS 8.8 (5.6–11.6), Munshi 2021; KarMMa-3 HR 0.49 (0.38–0.63), Ailawadhi 2024;
    Fucci 2022 12-month OS 86.5 %; IMAGE mPFS after one prior line not reached (9.6–NR)."""
    pfs = LIB.arm("KarMMa", "ide-cel").endpoint("PFS").median
    assert (pfs.value, pfs.lower, pfs.upper) == (8.8, 5.6, 11.6)
    hr = LIB.arm("KarMMa-3", "ide-cel").endpoint("PFS").hazard_ratio
    assert (hr.value, hr.lower, hr.upper, hr.vs) == (0.49, 0.38, 0.63, "standard-regimens")
    rates = LIB.arm("fucci-2022", "dara").endpoint("OS").rates
    assert [(r.time, r.value) for r in rates] == [(12.0, 0.865)]
    image = LIB.arm("IMAGE", "Isa-Pd").endpoint("PFS")
    sub = [m for m in image.medians if m.subgroup == "1 prior line"]
    assert sub[0].not_reached and sub[0].value is None and sub[0].lower == 9.6
    assert image.median.value == 12.4  # the whole cohort, not the subgroup


def test_baseline_table_matches_the_published_maic_table() -> None:
    """Munshi 2021 (KarMMa, infused), Rodriguez-Otero 2023 (KarMMa-3, ide-cel), Berdeja 2021
    (CARTITUDE-1): n, median prior lines, triple-class refractory, ECOG 0."""
    karmma = LIB.arm("karmma", "ide-cel").baseline
    assert karmma["n"] == 128 and karmma["median_age"] == 61 and karmma["prior_asct"] == 0.94
    k3 = LIB.arm("karmma-3", "ide-cel").baseline
    assert (k3["n"], k3["median_prior_lines"], k3["triple_class_refractory"]) == (254, 3, 0.65)
    cilta = LIB.arm("cartitude-1", "cilta-cel").baseline
    assert (cilta["penta_refractory"], cilta["ecog_0"]) == (0.42, 0.40)
    assert "median_age" not in cilta  # not published in the reference table: never estimated


# ------------------------------------------------------------------ API and errors
def test_lookup_is_case_and_spelling_tolerant() -> None:
    assert LIB.study("ICARIA-MM") is LIB.study("icaria mm") is LIB.study("icaria_mm")
    assert LIB.arm("KarMMa 3", "IDE-CEL").key == "ide-cel"
    assert LIB.arm("pollux", "D-Rd").key == "d-rd"
    assert LIB.arm("icaria-mm", "Isa-Pd").endpoint("pfs").name == "PFS"


def test_unknown_names_list_the_keys_and_suggest() -> None:
    with pytest.raises(ParameterError, match=r"Got 'icaria' instead\. Did you mean 'icaria-mm'\?"):
        LIB.study("icaria")
    with pytest.raises(ParameterError, match=r"must be one of .*karmma-3.*pollux"):
        LIB.study("no such trial")
    with pytest.raises(ParameterError, match=r"'arm' parameter of Study.arm of ICARIA-MM"):
        LIB.arm("icaria-mm", "Kd")
    with pytest.raises(ParameterError, match=r"'endpoint' parameter .* one of DOR, OS, PFS, TTNT"):
        LIB.arm("icaria-mm", "isa-pd").endpoint("EFS")


def test_an_endpoint_without_figures_is_refused_by_name() -> None:
    with pytest.raises(ParameterError, match=r"KarMMa \(ide-cel\) publishes no TTNT figures"):
        LIB.arm("karmma", "ide-cel").endpoint("TTNT")


@pytest.mark.parametrize(
    ("study", "arm", "names", "message"),
    [
        (
            "KarMMa-3",
            "ide-cel",
            ["ecog_2_plus"],
            r"KarMMa-3 \(ide-cel\) cannot be matched on: ECOG >= 2 share \(ecog_2_plus\): not "
            r"published, published as < 1 %, not as a number\. Matching on it is refused: remove "
            r"it from the characteristics matched on",
        ),
        (
            "CARTITUDE-1",
            "cilta-cel",
            ["n", "median_age"],
            r"CARTITUDE-1 \(cilta-cel\) cannot be matched on: median age \(median_age\): not "
            r"published\. Matching on it is refused",
        ),
        (
            "ICARIA-MM",
            "Isa-Pd",
            ["median_age"],
            r"published only for all randomised patients: 67",
        ),
    ],
)
def test_missing_baseline_characteristic_is_refused(
    study: str, arm: str, names: list[str], message: str
) -> None:
    with pytest.raises(ParameterError, match=message):
        LIB.arm(study, arm).baseline_targets(names)


def test_baseline_targets() -> None:
    got = LIB.arm("karmma", "ide-cel").baseline_targets(["median_age", "Triple class refractory"])
    assert got == {"median_age": 61.0, "triple_class_refractory": 0.84}
    with pytest.raises(ParameterError, match=r"'age': not a baseline characteristic"):
        LIB.arm("karmma", "ide-cel").baseline_targets(["age"])


def test_every_unavailable_characteristic_is_refused_at_once_in_words() -> None:
    """Issue 19 item 5: one message lists them all (label first, the name to remove after)."""
    with pytest.raises(ParameterError) as err:
        LIB.arm("icaria-mm", "isa-pd").baseline_targets(
            ["median_age", "triple_class_refractory", "ecog_0", "prior ASCT", "ecog_2"]
        )
    text = str(err.value)
    assert text.startswith("ICARIA-MM (Isa-Pd) cannot be matched on: median age (median_age)")
    for part in (
        "triple-class refractory share (triple_class_refractory): not published, patients "
        "refractory to an anti-CD38 antibody were not eligible",
        "ECOG 0 share (ecog_0): not published, published together with ECOG 1",
        "'ecog_2': not a baseline characteristic (did you mean 'ecog_1', 'ecog_0', 'ecog_2_plus'?)",
        "Matching on them is refused",
    ):
        assert part in text
    assert "prior autologous transplant share (prior_asct)" not in text  # it is published


@pytest.mark.parametrize(
    ("study", "arm", "expected"),
    [
        # Attal M et al., Lancet 2019, Table 1 (intention-to-treat population)
        (
            "icaria-mm",
            "isa-pd",
            {"median_prior_lines": 3.0, "r_iss_iii": 0.10, "high_risk_cytogenetics": 0.16,
             "ecog_2_plus": 0.10, "prior_asct": 0.54},
        ),
        (
            "icaria-mm",
            "pd",
            {"median_prior_lines": 3.0, "r_iss_iii": 0.16, "high_risk_cytogenetics": 0.24,
             "prior_asct": 0.59},
        ),
        # Kaufman JL et al., Blood Cancer J 2020: 35 of 286 (D-Rd) and 35 of 283 (Rd)
        ("pollux", "d-rd", {"high_risk_cytogenetics": 0.122}),
        ("pollux", "rd", {"high_risk_cytogenetics": 0.124}),
    ],
)  # fmt: skip
def test_published_baselines_of_icaria_mm_and_pollux(study, arm, expected) -> None:
    assert LIB.arm(study, arm).baseline_targets(list(expected)) == expected


# ------------------------------------------------------------------ the loader refuses bad data
def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = _shipped_path().read_text("utf-8")
    assert old in text
    path = tmp_path / "lib.toml"
    path.write_text(text.replace(old, new, 1), "utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'value = 0.604, source = "attal-2019"',
            'value = 60.4, source = "attal-2019"',
            r"icaria-mm' arm 'isa-pd' value 3 \(orr\): value 60.4 is outside \(0, 1\] proportion",
        ),
        ("lower = 5.6, upper = 11.6", "lower = 9.0, upper = 11.6", r"does not bracket 8.8"),
        (
            '{ measure = "median_pfs", value = 4.4, source = "rodriguez',
            '{ measure = "mPFS", value = 4.4, source = "rodriguez',
            r"unknown measure 'mPFS'",
        ),
        ('source = "moreau-2022" },', 'source = "moreau-2099" },', r"'moreau-2099' is not in"),
        ("ecog_0 = 0.45", "ecog_0 = 45", r"ecog_0 45 is outside \[0, 1\]"),
        ('comparator = "pd"', 'comparator = "placebo"', r"comparator 'placebo' is not one"),
        ("n = 254\nn_source", "n = 0\nn_source", r"n 0 must be a whole number > 0"),
        # a field the schema does not know is an error naming it, not silently dropped
        (
            'regimens = ["belantamab"]\n',
            'regimens = ["belantamab"]\ndose = "2.5 mg/kg"\n',
            r"study '[a-z0-9-]+' arm 'belantamab': unknown field 'dose'",
        ),
        (
            'kind = "trial"\nsource = "lonial-2020"',
            'kind = "trial"\nsource = "lonial-2020"\nphase = 2',
            r"study 'dreamm-2': unknown field 'phase'",
        ),
        ("value = 0.31, source", "value = 0.31, sorce = 'x', source", r"unknown field 'sorce'"),
        ("value = 0.31, source", "value = true, source", r"value 1 \(orr\): value: Input should"),
        (
            "[sources]\n",
            '[sources]\nbad-2020 = { citation = "X et al. 2020", year = "2020" }\n',
            r"\[sources\] bad-2020: year: Input should be a valid integer",
        ),
    ],
)
def test_loader_refuses_bad_figures(tmp_path: Path, old: str, new: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_benchmarks(_broken(tmp_path, old, new))


def test_the_raw_file_keeps_percentages_as_proportions() -> None:
    """No percentage slipped in as a number above 1 anywhere (e.g. ORR 60.4 instead of 0.604)."""
    for s in RAW["studies"].values():
        for a in s["arms"].values():
            for v in a.get("values", []):
                if MEASURES[v["measure"]].unit == "proportion":
                    assert 0 <= v["value"] <= 1, v
