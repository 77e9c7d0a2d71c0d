"""The "real-world versus trial" section: one per comparison directory (``mmrwe compare``),
as a page of its own (``comparison.html``) and, for comparisons written under the run's
``shareable/comparisons/`` folder, inside the run's report (``sections.comparisons``).

Rendered from the comparison's outputs (``manifest.json``, ``comparison``, ``balance``,
``weights``, ``published``) in the words of the rest of the report: no raw field names, each
estimate with its interval (NR: median not reached; NE: limit not estimable), rates in %. The
trial's eligibility is set beside the study's before any number is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from mmrwe.report.comparison_tables import TABLES
from mmrwe.report.eligibility import eligibility_html, trial_eligibility
from mmrwe.report.embed import embed
from mmrwe.report.html import RunDirectory, read_text_table
from mmrwe.report.html_tables import esc


def comparison_html(
    directory: Path, *, heading_level: int = 3, numbers: Callable[[str], int] | None = None
) -> str:
    """The body of one comparison: eligibility, method, warnings, tables and figure
    (self-contained). ``numbers`` gives each figure's number in the enclosing report (by figure
    name); alone, the comparison numbers its figures from 1."""
    comparison = RunDirectory.read(Path(directory), config_key="run_config")
    number = numbers or comparison.figure_plan.number
    m = comparison.manifest
    trial = m.get("trial", {}) or {}
    endpoint = str(trial.get("endpoint", "") or "")
    h = f"h{heading_level}"
    parts = [f"<{h}>{esc(endpoint)}: real-world cohort and {esc(trial.get('arm', ''))}</{h}>"]
    if m.get("simulated_data"):
        parts.append(
            '<p class="notice"><strong>Simulated data.</strong> The real-world cohort is '
            "synthetic (mmrwe's simulator); the comparison shows the method, not evidence.</p>"
        )
    trial_name = str(trial.get("trial", "") or "the trial")
    parts.append(
        eligibility_html(trial_name, trial_eligibility(trial_name, trial), comparison.config)
    )
    run_name = Path(str(m.get("run", "") or "")).name
    parts.append(
        f"<p>Real-world cohort: {esc(comparison.config.study.name)}"
        + (f" (run {esc(run_name)})" if run_name else "")
        + f". Method: {esc(m.get('method', ''))}. Matched on: "
        f"{esc(trial.get('matched_on', ''))}. Sources: {esc(m.get('citation', ''))}.</p>"
    )
    for warning in m.get("warnings", []) or []:
        parts.append(f'<p class="warning"><strong>Warning.</strong> {esc(warning)}</p>')
    for name, render in TABLES.items():
        table = read_text_table(comparison.path, name)
        if table is not None and table.height:
            parts.append(render(_drop_labels(table), endpoint))
    parts += [
        embed(comparison, entry, number(str(entry.get("name", ""))))
        for entry in comparison.figures()
    ]
    return "\n".join(parts)


def _drop_labels(table: pl.DataFrame) -> pl.DataFrame:
    """Without the trial/arm/endpoint/matching columns repeated on every row (the heading and
    the method line say them once)."""
    return table.drop([c for c in ("trial", "arm", "endpoint", "matched_on") if c in table.columns])


def write_comparison_page(directory: Path) -> Path:
    """``comparison.html`` in ``directory``: the comparison alone, self-contained."""
    from mmrwe.report.html import _template, _template_text

    comparison = RunDirectory.read(Path(directory), config_key="run_config")
    trial = comparison.manifest.get("trial", {}) or {}
    title = f"Real-world versus {trial.get('trial', 'trial')}"
    page = _template("report.html").substitute(
        title=esc(title),
        version=esc(comparison.manifest.get("mmrwe_version", "")),
        css=_template_text("report.css"),
        lede="",
        toc="",
        body=f"<section>{comparison_html(Path(directory), heading_level=2)}</section>",
    )
    target = Path(directory) / "comparison.html"
    target.write_text(page, encoding="utf-8")
    return target
