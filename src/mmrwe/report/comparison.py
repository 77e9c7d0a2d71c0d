"""The "real-world versus trial" section: one per comparison directory (``mmrwe compare``),
as a page of its own (``comparison.html``) and, for comparisons written under the run's
``comparisons/`` folder, inside the run's report (``sections.comparisons``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from mmrwe.report.embed import embed
from mmrwe.report.html import RunDirectory
from mmrwe.report.html_tables import esc, frame_table

#: the comparison tables shown, with their captions
TABLES = {
    "comparison": "Real-world cohort against the trial arm",
    "balance": "Balance of the matched characteristics before and after weighting",
    "weights": "Patients used and the distribution of the weights",
    "published": "The trial arm's published figures, with their sources",
}


def comparison_html(
    directory: Path, *, heading_level: int = 3, numbers: Callable[[str], int] | None = None
) -> str:
    """The body of one comparison: method, warnings, tables and figure (self-contained).
    ``numbers`` gives each figure's number in the enclosing report (by figure name); alone, the
    comparison numbers its figures from 1."""
    comparison = RunDirectory.read(Path(directory), config_key="run_config")
    number = numbers or comparison.figure_plan.number
    m = comparison.manifest
    trial = m.get("trial", {}) or {}
    h = f"h{heading_level}"
    parts = [
        f"<{h}>{esc(trial.get('endpoint', ''))}: real-world cohort and {esc(trial.get('arm', ''))}"
        f"</{h}>"
    ]
    if m.get("simulated_data"):
        parts.append(
            '<p class="notice"><strong>Simulated data.</strong> The real-world cohort is '
            "synthetic (mmrwe's simulator); the comparison shows the method, not evidence.</p>"
        )
    study = comparison.config.study.name
    parts.append(
        f"<p>Real-world cohort: {esc(study)} (run {esc(Path(str(m.get('run', ''))).name)}). "
        f"Method: {esc(m.get('method', ''))}. Matched on: {esc(trial.get('matched_on', ''))}. "
        f"Sources: {esc(m.get('citation', ''))}.</p>"
    )
    for warning in m.get("warnings", []) or []:
        parts.append(f'<p class="warning"><strong>Warning.</strong> {esc(warning)}</p>')
    for name, caption in TABLES.items():
        path = comparison.path / f"{name}.parquet"
        if path.is_file():
            table = pl.read_parquet(path).with_columns(pl.col(pl.Float64).round(3))
            parts.append(frame_table(table.cast(pl.String), caption=caption))
    parts += [
        embed(comparison, entry, number(str(entry.get("name", ""))))
        for entry in comparison.figures()
    ]
    return "\n".join(parts)


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
