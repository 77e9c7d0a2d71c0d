"""Study definitions with mistakes fail naming the field; the shipped examples load."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from mmrwe.errors import ConfigError
from mmrwe.study.config import example_studies, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "study.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    return str(err.value)


def test_every_shipped_example_loads() -> None:
    names = set(example_studies())
    assert {
        "outcomes-by-line",
        "isa-pd",
        "ide-cel",
        "daratumumab-combinations",
        "ird",
        "belantamab",
        "triple-class-exposed",
    } <= names
    for name in names:
        assert load_config(name).study.name


def test_example_isa_pd_selects_by_drugs_in_generic_names() -> None:
    study = load_config("isa-pd")
    assert study.population.drugs == ("isatuximab", "pomalidomide")
    assert study.study.index == "first_eligible"


def test_unknown_regimen_names_the_field_and_suggests(tmp_path: Path) -> None:
    text = problems(tmp_path, '[population]\nregimens = ["Isa-Pdd"]\n')
    assert "[population.regimens]" in text
    assert "unknown regimen 'Isa-Pdd'" in text and "'Isa-Pd'" in text


def test_regimen_aliases_and_case_are_accepted(tmp_path: Path) -> None:
    study = load_config(write(tmp_path, '[population]\nregimens = ["drd", "Pom-dex"]\n'))
    assert study.population.regimens == ("D-Rd", "Pd")


def test_brand_names_resolve_to_generic(tmp_path: Path) -> None:
    study = load_config(write(tmp_path, '[population]\ndrugs = ["Sarclisa", "Pomalyst"]\n'))
    assert study.population.drugs == ("isatuximab", "pomalidomide")


def test_bad_date_names_the_field(tmp_path: Path) -> None:
    text = problems(tmp_path, '[study]\ndata_cutoff = "2023-13-01"\n')
    assert "[study.data_cutoff]" in text and "2023-13-01" in text


def test_toml_date_is_read(tmp_path: Path) -> None:
    study = load_config(write(tmp_path, "[study]\ndata_cutoff = 2023-06-30\n"))
    assert study.study.data_cutoff == dt.date(2023, 6, 30)


def test_contradictory_filters_are_all_reported(tmp_path: Path) -> None:
    text = problems(
        tmp_path,
        "[population]\nlines = [1]\nrefractory_to = ['lenalidomide']\n"
        "min_age = 80\nmax_age = 60\nmin_prior_lines = 3\nmax_prior_lines = 1\n",
    )
    assert "[population]" in text
    assert "min_age is above max_age" in text
    assert "min_prior_lines is above max_prior_lines" in text
    assert "refractory_to cannot hold at line 1" in text


def test_every_problem_at_once_across_sections(tmp_path: Path) -> None:
    text = problems(
        tmp_path,
        '[study]\nindex = "first"\nsmall_cell_threshold = -1\n'
        '[population]\ndrugs = ["notadrug"]\ndrug_classes = ["anti-CD39"]\n'
        "[lines]\ngap_days = -5\n",
    )
    assert text.count("[") >= 5
    for field in (
        "study.index",
        "study.small_cell_threshold",
        "population.drugs",
        "population.drug_classes",
        "lines.gap_days",
    ):
        assert f"[{field}]" in text, field


def test_unknown_field_and_section(tmp_path: Path) -> None:
    text = problems(tmp_path, "[study]\nnmae = 'x'\n[cohort]\nx = 1\n")
    assert "[study.nmae]" in text and "[cohort]" in text


def test_missing_file_lists_examples(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="isa-pd"):
        load_config(tmp_path / "nothing.toml")


def test_a_misspelt_field_names_the_closest_ones(tmp_path) -> None:
    """Issue 19 item 6: an unknown TOML field gets did-you-mean, every one at once."""
    from mmrwe.errors import ConfigError
    from mmrwe.study.config import load_config

    path = tmp_path / "study.toml"
    path.write_text('[study]\nnmae = "x"\n[population]\nmin_prior_line = 1\n[lines]\ngap_day = 3\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    text = str(err.value)
    assert "[study.nmae] unknown field 'nmae'. Did you mean 'name'?" in text
    assert "[population.min_prior_line] unknown field 'min_prior_line'. Did you mean " in text
    assert "[lines.gap_day] unknown field 'gap_day'. Did you mean 'gap_days'?" in text
