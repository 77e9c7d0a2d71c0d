"""The HTML report: self-contained, every listed figure embedded, values as in the tables."""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from mmrwe.errors import InvalidDataError
from mmrwe.report.html import build_report
from tests.report.run_fixture import PATIENT_ID, write_run


class Page(HTMLParser):
    """Tables (rows of cell texts, by section id), figures and images of a page."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[list[str]]]] = {}
        self.figures: dict[str, dict[str, str]] = {}
        self.section = ""
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._figure: str | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        a = dict(attrs)
        if tag == "section":
            self.section = a.get("id", "")
        elif tag == "table":
            self.tables.setdefault(self.section, []).append([])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "figure":
            self._figure = a["id"].removeprefix("fig-")
            self.figures[self._figure] = {"data-file": a.get("data-file", "")}
        elif tag == "img" and self._figure:
            self.figures[self._figure]["src"] = a["src"]

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self.section][-1].append(self._row)
            self._row = None
        elif tag == "figure":
            self._figure = None

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, str]:
    run = write_run(tmp_path_factory.mktemp("run") / "run")
    path = build_report(run)
    return run, path.read_text(encoding="utf-8")


def test_written_in_the_run_directory_or_at_out(report, tmp_path):
    run, text = report
    assert (run / "report.html").read_text(encoding="utf-8") == text
    other = build_report(run, out=tmp_path / "elsewhere.html")
    assert other == tmp_path / "elsewhere.html"
    assert other.read_text(encoding="utf-8") == text  # same directory, same bytes


def test_self_contained(report):
    _, text = report
    references = re.search(r'<ol class="references">.*?</ol>', text, re.S)
    assert references is not None
    outside = text.replace(references.group(0), "")
    assert "http://" not in outside and "https://" not in outside
    assert "<script" not in text.lower() and "<link" not in text.lower()
    assert "@import" not in text and "url(" not in text
    srcs = re.findall(r'src="([^"]*)"', text)
    assert srcs and all(s.startswith("data:image/") for s in srcs)
    assert "default-src 'none'" in text  # the browser may fetch nothing


def test_every_listed_figure_is_embedded_from_its_file(report):
    run, text = report
    page = Page(text)
    listed = json.loads((run / "manifest.json").read_text())["figures"]
    assert [f["name"] for f in listed] == ["sequences", "extra_flows"]
    for figure in listed:
        shown = page.figures[figure["name"]]
        svg = [f for f in figure["files"] if f.endswith(".svg")]
        expected = svg[0] if svg else figure["files"][0]
        assert shown["data-file"] == expected
        mime = "image/svg+xml" if expected.endswith(".svg") else "image/png"
        prefix = f"data:{mime};base64,"
        assert shown["src"].startswith(prefix)
        assert base64.b64decode(shown["src"][len(prefix) :]) == (run / expected).read_bytes()
    assert "Figure 1.</strong> Treatment sequences by regimen class." in text
    assert "Figure 2.</strong> Lines 1 to 2 only." in text  # not in a known section: still shown


def test_suppressed_cells_stay_as_written(report):
    _, text = report
    page = Page(text)
    attrition = page.tables["attrition"][0]
    assert attrition[2][2:5] == ["140", "<11", "withheld"]
    baseline = page.tables["baseline"][0]
    assert ["female", "35 (43.8%)", "<11", "withheld"] in baseline
    outcomes = page.tables["outcomes"][0]
    rows = {r[0]: r for r in outcomes[1:]}
    assert rows["line 2"][3] == "<11"  # events below the threshold
    assert rows["line 3"][2:] == ["<11", "<11", "withheld", "withheld", "withheld", "withheld"]
    # rates: line 2 of the response table has sCR, MR, PD, NE suppressed
    distribution = page.tables["response"][1]
    line2 = next(r for r in distribution if r[0] == "line 2")
    assert line2[1] == "<11" and line2[7] == "<11"
    assert "<11" not in text  # always escaped in the markup
    assert text.count("&lt;11") >= 10


def test_estimates_are_rounded_for_reading_only(report):
    _, text = report
    outcomes = Page(text).tables["outcomes"][0]
    header, line1 = outcomes[0], outcomes[1]
    assert header[4] == "Median, months (95 % CI)"
    # 14.356… (11.498…–upper limit not estimable: NE, never NR, which is for a median not
    # reached); 12-month rate 0.5812 → 58.1 %; 24 months beyond follow-up
    assert line1[4] == "14.4 (11.5–NE)"
    assert line1[5] == "58.1 (47.1–71.7)"
    assert line1[6] == "–"
    assert line1[7] == "30.0"


def test_missing_tables_omit_their_sections_with_a_reason(report):
    _, text = report
    assert "The adverse-event table omitted: the run directory has no adverse_events table" in text
    assert 'id="subgroups"' not in text  # no subgroup table, no forest figure: not a section
    assert "forest: the study defines no subgroups" in text


def test_methods_follow_the_manifest(report):
    _, text = report
    methods = re.search(r'<section id="methods">.*?</section>', text, re.S).group(0)
    assert "a gap of more than 60 days" in methods  # the run's value, not the default 90
    assert "within 28 days of a line" in methods
    assert "Rajkumar SV, Harousseau JL" in methods and "Blood. 2011;117" in methods
    assert "Blood. 2015;126(7):921" in methods and "Lancet Oncol. 2016;17(8):e328" in methods
    assert "Clopper" in methods and "log-transformed" in methods
    assert "mmrwe 0.1.0 on Python 3.11.7 (numpy 2.4.6, polars 2.1.0)" in methods
    assert "shown as &lt;11" in methods


def test_no_identifier_and_text_is_escaped(report):
    _, text = report
    assert PATIENT_ID not in text
    assert "<title>Outcomes &lt;by&gt; line</title>" in text


def test_study_definition_lists_the_criteria(report):
    _, text = report
    study = Page(text)
    section = re.search(r'<section id="study">.*?</section>', text, re.S).group(0)
    assert "<dt>min prior lines</dt><dd>1</dd>" in section
    assert "every eligible line is analysed" in section
    assert (
        "<dt>Patient-level figures</dt><dd>yes, kept in patient_level/figures/ (not shared)</dd>"
        in section
    )
    assert study.tables.get("study") is None


def test_without_figures_the_patterns_section_says_why(tmp_path):
    run = write_run(tmp_path / "run", with_figures=False)
    text = build_report(run).read_text(encoding="utf-8")
    assert "Treatment-pattern figures omitted: none is listed in the manifest." in text
    assert "<figure" not in text


def test_not_a_run_directory(tmp_path):
    with pytest.raises(InvalidDataError, match=r"no manifest\.json.*mmrwe run"):
        build_report(tmp_path)


def test_subgroup_hazard_ratios(tmp_path):
    run = write_run(tmp_path / "run", with_figures=False, with_subgroups=True)
    page = Page(build_report(run).read_text(encoding="utf-8"))
    table = page.tables["subgroups"][0]
    assert table[0] == [
        "Subgroup",
        "Level",
        "Reference",
        "Patient-lines",
        "Events",
        "HR (95 % CI)",
        "p",
    ]
    assert table[1][5:] == ["1 (reference)", ""]
    assert table[2][5:] == ["0.72 (0.55–0.95)", "0.0198"]
    assert table[3][3:6] == ["<11", "<11", "withheld (< 11 patients)"]


def test_subgroup_table_words(tmp_path):
    """The isa-pd and ide-cel reports printed 'withheld' as the hazard ratio of the overall
    row (73 patients, nothing suppressed: an overall row has no comparison), the subgroups by
    their field names (prior_lines), and 'Patients' over counts of patient-lines."""
    run = write_run(tmp_path / "run", with_figures=False, with_subgroups=True)
    csv = run / "subgroup_hazard_ratios.csv"
    head, *rows = csv.read_text().splitlines()
    rows = ["overall,all,,120,70,,,,,0,", *rows, "prior_lines,2-3,1,40,30,1.32,0.76,2.31,0.325,0,"]
    csv.write_text("\n".join([head, *rows]) + "\n")
    page = Page(build_report(run).read_text(encoding="utf-8"))
    table = page.tables["subgroups"][0]
    assert table[0][3] == "Patient-lines"  # the fixture's study analyses every line
    assert table[1][:2] == ["overall", "all"]
    assert table[1][5] == "–"
    assert "withheld" not in table[1]
    assert [r[0] for r in table[2:]] == ["age", "age", "sex", "prior lines"]


def test_a_figure_outside_the_run_directory_is_not_embedded(tmp_path):
    run = write_run(tmp_path / "run", with_figures=False)
    secret = tmp_path / "outside.svg"
    secret.write_text("<svg>outside</svg>")
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["figures"] = [{"name": "odd", "title": "Odd", "files": ["../outside.svg"]}]
    (run / "manifest.json").write_text(json.dumps(manifest))
    text = build_report(run).read_text(encoding="utf-8")
    assert "Figure file missing: ../outside.svg." in text
    assert base64.b64encode(b"<svg>outside</svg>").decode() not in text


@pytest.mark.parametrize(
    ("index", "heading"), [("all_lines", "Patient-lines"), ("first_eligible", "Patients")]
)
def test_counts_of_patient_lines_are_headed_so(tmp_path, index, heading):
    """The demo's adverse-event table (by regimen, every line analysed) headed 'Patients'
    over 863 Rd patient-lines, under a caption 'per patient-line': where a patient can
    count in a group more than once (index = all_lines) the counts are headed
    'Patient-lines'; with one index line per patient they are patients."""
    run = write_run(tmp_path / "run", with_figures=False, with_subgroups=True)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["config"]["study"]["index"] = index
    (run / "manifest.json").write_text(json.dumps(manifest))
    (run / "adverse_events.csv").write_text(
        "regimen,term,term_coding,grading,n_patients,n_any_grade,pct_any_grade,n_grade_3_plus,"
        "pct_grade_3_plus,n_grade_1,pct_grade_1,n_grade_2,pct_grade_2,n_grade_3,pct_grade_3,"
        "n_grade_4,pct_grade_4,n_grade_5,pct_grade_5\n"
        "Rd,Fatigue,MedDRA PT,CTCAE,863,190,22.0,41,4.8,,,,,,,,,,\n"
        "ide-cel,Cytokine release syndrome,MedDRA PT,ASTCT,13,11,84.6,<11,,<11,,<11,,<11,,"
        "0,0.0,0,0.0\n"
    )
    page = Page(build_report(run).read_text(encoding="utf-8"))
    headed = {
        section: [h for t in page.tables[section] for h in t[0] if h.startswith("Patient")]
        for section in ("outcomes", "response", "safety", "subgroups")
    }
    assert headed == {
        "outcomes": [heading],
        "response": [heading],
        "safety": [heading, heading],  # adverse events; CRS and ICANS by ASTCT grade
        "subgroups": [heading],
    }
