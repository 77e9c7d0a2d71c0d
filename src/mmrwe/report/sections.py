"""The sections of the HTML report, each built from the run's tables and manifest.

A section whose table is missing is kept with one line saying which file was not found, so a
reader knows it was not forgotten. Figures are placed in the section their name belongs to;
any other figure the manifest lists goes to "Other figures", so every listed figure is shown.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from mmrwe.io.schema import RESPONSE_CODES
from mmrwe.report.embed import OTHER, figures_for
from mmrwe.report.html import RunDirectory
from mmrwe.report.html_tables import (
    count_pct,
    esc,
    estimate,
    frame_table,
    html_table,
    is_count,
    landmark_months,
)
from mmrwe.report.methods import REFERENCES, methods_paragraphs
from mmrwe.stats.subgroups import OVERALL


@dataclass(frozen=True)
class Section:
    anchor: str
    title: str
    html: str


def _section(anchor: str, title: str, *parts: str | None) -> Section:
    body = "\n".join(p for p in parts if p)
    return Section(
        anchor, title, f'<section id="{anchor}">\n<h2>{esc(title)}</h2>\n{body}\n</section>'
    )


def _missing(name: str, what: str) -> str:
    return (
        f'<p class="missing">{esc(what)} omitted: the run directory has no {esc(name)} table '
        f"({esc(name)}.csv), which <code>mmrwe run</code> writes.</p>"
    )


def lede(run: RunDirectory) -> str:
    """Description, the analysed population and the data source, under the title."""
    m = run.manifest
    parts = []
    if run.config.study.description:
        parts.append(f"<p>{esc(run.config.study.description)}</p>")
    analysed = m.get("analysed", {}) or {}
    facts = []
    if analysed:
        facts.append(
            f"{analysed.get('lines', '?')} patient-lines of {analysed.get('patients', '?')} "
            "patients analysed"
        )
    if m.get("simulated_data"):
        facts.append("simulated data (mmrwe simulate)")
    facts.append(f"mmrwe {m.get('mmrwe_version', '?')}")
    parts.append(f'<p class="lede">{esc("; ".join(facts))}.</p>')
    parts += [
        f'<p class="warning"><strong>Note.</strong> {esc(note)}</p>'
        for note in m.get("warnings", []) or []
    ]
    return "\n".join(parts)


def _counted(run: RunDirectory) -> str:
    """The heading of a group's size: "Patient-lines" when every eligible line is analysed (a
    patient counts once per line in a group such as a regimen), else "Patients" (one index
    line per patient)."""
    return "Patient-lines" if run.config.study.index == "all_lines" else "Patients"


_INDEX = {
    "all_lines": "every eligible line is analysed (outcomes by line)",
    "first_eligible": "each patient's first eligible line is the index line",
}


def study_definition(run: RunDirectory) -> Section:
    study = run.config.study
    rows = [
        ("Study", study.name),
        ("Index", _INDEX.get(study.index, study.index)),
        ("Groups", study.group_by),
        ("Data cut-off", study.data_cutoff or "each patient's last contact"),
        ("Small-cell threshold", study.small_cell_threshold),
        ("Patient-level figures", _patient_level_figures(run.manifest)),
    ]
    if study.subgroups:
        rows.append(("Subgroups", ", ".join(study.subgroups)))
    criteria = [
        (k.replace("_", " "), ", ".join(map(str, v)) if isinstance(v, list) else v)
        for k, v in run.config.population.model_dump(mode="json").items()
        if v not in (None, [], "")
    ]
    items = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows if v is not None)
    crit = (
        "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in criteria)
        if criteria
        else "<dt>Population</dt><dd>every line of every patient</dd>"
    )
    return _section(
        "study",
        "Study definition",
        f'<dl class="definition">{items}</dl>',
        "<h3>Eligibility at the index line</h3>",
        f'<dl class="definition">{crit}</dl>',
    )


def attrition(run: RunDirectory) -> Section:
    table = run.table("attrition")
    if table is None:
        return _section("attrition", "Attrition", _missing("attrition", "The attrition flow"))
    flow = ['<ol class="flow">']
    for i, row in enumerate(table.iter_rows(named=True)):
        excluded = row.get("patients_excluded") or ""
        if i == 0:
            flow.append(
                f'<li><div class="box">{esc(row.get("patients_after"))} patients</div>'
                f'<div class="out">{esc(row.get("reason"))}</div></li>'
            )
        elif excluded not in ("0", ""):
            flow.append(
                '<li><div class="arrow">↓</div><div></div></li>'
                f'<li><div class="box">{esc(row.get("patients_after"))} patients</div>'
                f'<div class="out">excluded {esc(excluded)}: {esc(row.get("reason"))}</div></li>'
            )
    flow.append("</ol>")
    labels = {
        "patients_before": "Before",
        "patients_excluded": "Excluded",
        "patients_after": "After",
        "rows_excluded": "Rows excluded",
        "reason": "Step",
    }
    columns = [c for c in ("step", "reason", *labels) if c in table.columns]
    columns = list(dict.fromkeys(columns))
    return _section(
        "attrition",
        "Attrition",
        "\n".join(flow),
        frame_table(table.select(columns), labels=labels, numeric_from=2),
    )


def baseline(run: RunDirectory) -> Section:
    table = run.table("baseline")
    if table is None:
        return _section("baseline", "Patient characteristics", _missing("baseline", "Table 1"))
    groups = [c for c in table.columns if c not in ("characteristic", "level")]
    rows, headings, previous = [], {}, None
    for row in table.iter_rows(named=True):
        if row["characteristic"] != previous:
            headings[len(rows)] = row["characteristic"]
            previous = row["characteristic"]
        rows.append([row["level"], *(row[g] for g in groups)])
    return _section(
        "baseline",
        "Patient characteristics",
        html_table(
            rows,
            ["", *groups],
            caption="Table 1. Characteristics at the index line (ISS, R-ISS, cytogenetic risk "
            "and ECOG as recorded at diagnosis)."
            + (
                " A patient is counted once in each group (line) analysed: the last column "
                "counts patient-lines, not patients."
                if "All patient-lines" in groups
                else ""
            ),
            section_rows=headings,
        ),
    )


def outcomes(run: RunDirectory) -> Section:
    table = run.table("summary_by_line")
    parts = []
    if table is None:
        parts.append(_missing("summary_by_line", "The outcome table"))
    else:
        landmarks = landmark_months(table.columns)
        denominators = "denominator" in table.columns
        header = ["Group", "Endpoint", *(["Denominator"] if denominators else [])]
        header += [_counted(run), "Events", "Median, months (95 % CI)"]
        header += [f"{t}-month rate, % (95 % CI)" for t in landmarks]
        has_followup = "median_followup_months" in table.columns
        if has_followup:
            header.append("Median follow-up, months")
        rows = []
        for r in table.iter_rows(named=True):
            suppressed = not is_count(r.get("n_patients"))
            row = [r.get("group"), r.get("endpoint")]
            row += [r.get("denominator")] if denominators else []
            row += [r.get("n_patients"), r.get("n_events")]
            row.append(
                estimate(
                    r.get("median_months"),
                    r.get("median_lower"),
                    r.get("median_upper"),
                    suppressed=suppressed,
                )
            )
            for t in landmarks:
                rate = r.get(f"rate_{t}m")
                row.append(
                    "–"
                    if rate is None and not suppressed
                    else estimate(
                        rate,
                        r.get(f"rate_{t}m_lower"),
                        r.get(f"rate_{t}m_upper"),
                        scale=100,
                        suppressed=suppressed,
                    )
                )
            if has_followup:
                row.append(
                    estimate(r.get("median_followup_months"), None, None, suppressed=suppressed)
                )
            rows.append(row)
        parts.append(
            html_table(
                rows,
                header,
                numeric_from=3 if denominators else 2,
                caption="Outcomes per group: Kaplan–Meier medians and landmark rates. Patients: "
                "the patient-lines of the denominator (every analysed line; DOR and TTR: the "
                "responders). NR: median not reached; NE: confidence limit not estimable; –: "
                "beyond the group's follow-up; withheld: group below the small-cell threshold.",
            )
        )
    parts.append(figures_for(run, run.figure_plan, "outcomes"))
    return _section("outcomes", "Outcomes", *parts)


#: the one meaning of "evaluable" in the report (the response table's count)
EVALUABLE = (
    "Evaluable: a patient-line with a best overall response other than NE, assessed from the "
    "laboratory results (a component measurable at baseline and at least two assessments) or, "
    "failing that, from a recorded response."
)
_RATES = (("orr", "ORR (≥ PR)"), ("vgpr_or_better", "≥ VGPR"), ("cr_or_better", "≥ CR"))
_CATEGORIES = RESPONSE_CODES


def response(run: RunDirectory) -> Section:
    table = run.table("response_rates")
    parts = []
    if table is None:
        parts.append(_missing("response_rates", "The response table"))
    else:
        group = table.columns[0]
        rates_header = ["Group", _counted(run), "Evaluable"] + [
            f"{label}, n (%) [95 % CI]" for _, label in _RATES
        ]
        rows = []
        for r in table.iter_rows(named=True):
            row = [r.get(group), r.get("n_patients"), r.get("n_evaluable")]
            for key, _ in _RATES:
                cell = count_pct(r.get(f"n_{key}"), r.get(f"pct_{key}"))
                lo, hi = r.get(f"lower_{key}"), r.get(f"upper_{key}")
                if lo is not None and hi is not None and is_count(r.get(f"n_{key}")):
                    cell += f" [{lo}–{hi}]"
                row.append(cell)
            rows.append(row)
        parts.append(
            html_table(
                rows,
                rates_header,
                numeric_from=1,
                caption="Response rates (IMWG); % of patients starting the line; exact "
                "Clopper–Pearson intervals.",
            )
        )
        parts.append(f'<p class="note">{esc(EVALUABLE)}</p>')
        present = [c for c in _CATEGORIES if f"n_{c}" in table.columns]
        dist = [
            [r.get(group), *(count_pct(r.get(f"n_{c}"), r.get(f"pct_{c}")) for c in present)]
            for r in table.iter_rows(named=True)
        ]
        parts.append(
            html_table(
                dist,
                ["Group", *(f"{c}, n (%)" for c in present)],
                numeric_from=1,
                caption="Best overall response.",
            )
        )
    parts.append(figures_for(run, run.figure_plan, "response"))
    return _section("response", "Response", *parts)


def safety(run: RunDirectory) -> Section:
    table = run.table("adverse_events")
    parts = []
    if table is None:
        parts.append(_missing("adverse_events", "The adverse-event table"))
    else:
        group = table.columns[0]
        shown = table.filter(pl.col("n_any_grade") != "0")
        rows = [
            [
                r.get(group),
                r.get("term"),
                r.get("grading"),
                r.get("n_patients"),
                count_pct(r.get("n_any_grade"), r.get("pct_any_grade")),
                count_pct(r.get("n_grade_3_plus"), r.get("pct_grade_3_plus")),
            ]
            for r in shown.iter_rows(named=True)
        ]
        parts.append(
            html_table(
                rows,
                [
                    group.replace("_", " ").capitalize(),
                    "Term",
                    "Grading",
                    _counted(run),
                    "Any grade, n (%)",
                    "Grade ≥ 3, n (%)",
                ],
                numeric_from=3,
                caption="Adverse events per patient-line at the worst grade (terms no patient had "
                "in a group are not listed).",
            )
            if rows
            else '<p class="note">No adverse event was recorded during the analysed lines.</p>'
        )
        astct = shown.filter(pl.col("grading") == "ASTCT") if "grading" in shown.columns else None
        if astct is not None and astct.height and "n_grade_1" in astct.columns:
            grade_rows = [
                [
                    r.get(group),
                    r.get("term"),
                    r.get("n_patients"),
                    *(
                        count_pct(r.get(f"n_grade_{g}"), r.get(f"pct_grade_{g}"))
                        for g in range(1, 6)
                    ),
                ]
                for r in astct.iter_rows(named=True)
            ]
            parts.append(
                html_table(
                    grade_rows,
                    ["Group", "Term", _counted(run), *(f"Grade {g}, n (%)" for g in range(1, 6))],
                    numeric_from=2,
                    caption="CRS and ICANS by ASTCT grade.",
                )
            )
    parts.append(figures_for(run, run.figure_plan, "safety"))
    return _section("safety", "Safety", *parts)


def _figure_only(
    run: RunDirectory, key: str, anchor: str, title: str, empty: str
) -> Section | None:
    figures = figures_for(run, run.figure_plan, key)
    if not figures:
        return _section(anchor, title, f'<p class="missing">{esc(empty)}</p>')
    return _section(anchor, title, figures)


def patterns(run: RunDirectory) -> Section | None:
    reason = (
        "Treatment-pattern figures omitted: none is listed in the manifest"
        + (
            ""
            if run.manifest.get("patient_level_figures", True)
            else " (patient-level figures are off for this run)"
        )
        + "."
    )
    return _figure_only(run, "patterns", "patterns", "Treatment patterns", reason)


def subgroups(run: RunDirectory) -> Section | None:
    table = run.table("subgroup_hazard_ratios")
    figures = figures_for(run, run.figure_plan, "subgroups")
    if table is None and not figures:
        return None  # the study defined no subgroups
    parts = []
    if table is not None:
        rows = [
            [
                (r.get("subgroup") or "").replace("_", " "),
                r.get("level"),
                r.get("reference"),
                r.get("n_patients"),
                r.get("n_events"),
                _hazard_ratio(r),
                _p_value(r.get("p")),
            ]
            for r in table.iter_rows(named=True)
        ]
        parts.append(
            html_table(
                rows,
                ["Subgroup", "Level", "Reference", _counted(run), "Events", "HR (95 % CI)", "p"],
                numeric_from=3,
                caption="Hazard ratios within subgroups (Cox, Efron ties; Wald p). The overall "
                "row gives the analysed population's size and events: it compares nothing, so it "
                "has no hazard ratio (–).",
            )
        )
    parts.append(figures)
    return _section("subgroups", "Subgroups", *parts)


def _hazard_ratio(row: dict[str, Any]) -> str:
    """The hazard ratio with its interval, e.g. 0.72 (0.55–0.94); 1 (reference); – for the
    overall row (no comparison); or the table's note (withheld, not estimable)."""
    note = (row.get("note") or "").strip()
    if row.get("subgroup") == OVERALL and not note:
        return "–"  # the whole population: no comparison
    if note.startswith("reference"):
        return "1 (reference)"
    if row.get("hr") in (None, ""):
        return note or "withheld"
    return estimate(row.get("hr"), row.get("lower"), row.get("upper"), decimals=2)


def _p_value(text: str | None) -> str:
    try:
        return "" if text in (None, "") else f"{float(text):.3g}"
    except ValueError:
        return str(text)


def _patient_level_figures(manifest: dict) -> str:
    """Whether the run drew the patient-level figures and where they are."""
    if not manifest.get("patient_level_figures"):
        return "no"
    if manifest.get("patient_level_figures_shared"):
        return "yes, shared in this report (share_patient_level_figures = true)"
    return "yes, kept in patient_level/figures/ (not shared)"


def patient_level_note(run: RunDirectory) -> Section | None:
    """Where the patient-level figures are and why this report does not show them."""
    kept = run.manifest.get("patient_level_figures_kept") or []
    if not kept:
        return None
    return _section(
        "patient-level-figures",
        "Patient-level figures",
        f"<p>The patient-level figures of this run ({esc(', '.join(kept))}) are in the run's "
        "<code>patient_level/figures/</code> folder and are not shown here: each draws "
        "individual patients, and patient-level content stays at the site unless the study "
        "shares it explicitly (<code>share_patient_level_figures = true</code> in its "
        "<code>[study]</code> section; see docs/privacy.md).</p>",
    )


def other_figures(run: RunDirectory) -> Section | None:
    rest = figures_for(run, run.figure_plan, OTHER)
    if not rest:
        return None
    return _section("figures", "Other figures", rest)


def data_quality(run: RunDirectory) -> Section | None:
    parts = []
    unmapped = run.table("unmapped_drugs")
    if unmapped is not None and unmapped.height:
        parts.append(
            frame_table(
                unmapped,
                labels={"drug": "Drug name as recorded"},
                caption="Drug names outside the vocabulary (not counted as anti-myeloma therapy).",
            )
        )
    events = run.table("adverse_events")
    if events is not None and "term_coding" in events.columns:
        uncoded = (
            events.filter(pl.col("term_coding") == "unmapped")["term"].unique().sort().to_list()
        )
        if uncoded:
            items = "".join(f"<li>{esc(t)}</li>" for t in uncoded)
            parts.append(
                "<h3>Adverse-event terms not coded</h3><p>In no synonym list of mmrwe: shown as "
                f"recorded, not as a MedDRA preferred term.</p><ul>{items}</ul>"
            )
    skipped = run.manifest.get("figures_skipped", []) or []
    if skipped:
        items = "".join(
            f"<li>{esc(s.get('name'))}: {esc(s.get('reason'))}</li>"
            for s in skipped
            if isinstance(s, dict)
        )
        parts.append(f"<h3>Figures not drawn</h3><ul>{items}</ul>")
    if not parts:
        return None
    return _section("quality", "Data quality", *parts)


def methods(run: RunDirectory) -> Section:
    paragraphs = "\n".join(f"<p>{esc(p)}</p>" for p in methods_paragraphs(run.manifest, run.config))
    refs = "".join(f"<li>{esc(text)}</li>" for text in REFERENCES.values())
    return _section(
        "methods",
        "Methods",
        paragraphs,
        "<h3>References</h3>",
        f'<ol class="references">{refs}</ol>',
    )


def provenance(run: RunDirectory) -> Section:
    m = run.manifest
    inputs = [
        [i.get("table"), i.get("file"), str(i.get("sha256", ""))[:16]]
        for i in m.get("inputs", []) or []
        if isinstance(i, dict)
    ]
    parts = []
    if inputs:
        parts.append(
            html_table(
                inputs,
                ["Table", "File", "SHA-256 (first 16)"],
                numeric_from=9,
                caption="Input files of the run.",
            )
        )
    config = json.dumps(run.config.model_dump(mode="json"), indent=2, sort_keys=True)
    parts.append(
        "<details><summary>Effective configuration (manifest.json)</summary>"
        f"<pre><code>{esc(config)}</code></pre></details>"
    )
    return _section("provenance", "Provenance", *parts)


#: every section builder, in report order (for tests and callers composing their own report)
def comparisons(run: RunDirectory) -> Section | None:
    """Every comparison written under ``shareable/comparisons/`` of the run
    (``mmrwe compare``)."""
    from mmrwe.report.comparison import comparison_html

    if not run.comparisons:
        return None
    plan = run.figure_plan
    return _section(
        "comparisons",
        "Real-world versus trial",
        *(
            comparison_html(p, numbers=lambda name, p=p: plan.number(name, p.name))
            for p in run.comparisons
        ),
    )


BUILDERS: tuple[Callable[[RunDirectory], Section | None], ...] = (
    study_definition,
    attrition,
    baseline,
    outcomes,
    response,
    safety,
    patterns,
    subgroups,
    comparisons,
    other_figures,
    patient_level_note,
    data_quality,
    methods,
    provenance,
)
