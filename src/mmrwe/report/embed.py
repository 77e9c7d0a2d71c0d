"""Figures in the HTML report: each listed figure embedded as base64 data in its section.

The SVG is used when the run wrote one (sharp at any zoom and in print), else the PNG; a data
URI inside ``<img>`` keeps each figure's SVG identifiers apart from the others'. Figures are
placed by name; a caption gives the figure's title and what to know to read it.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from mmrwe.report.html import RunDirectory
from mmrwe.report.html_tables import esc

#: figure-name fragments → the section showing the figure, in report order; a figure goes to
#: the first section whose fragment its name contains, else to "Other figures"
FIGURE_SECTIONS: dict[str, tuple[str, ...]] = {
    "outcomes": ("km_", "by_line", "outcomes"),
    "response": ("response", "waterfall"),
    "safety": ("adverse", "safety"),
    "patterns": ("sequence", "swimmer", "trajectory", "journey"),
    "subgroups": ("forest", "subgroup"),
}
#: the comparison sections (each comparison's own figures) and the figures no section claims
COMPARISONS, OTHER = "comparisons", "other"
#: the order in which figures appear in the report, hence their numbers
FIGURE_ORDER = (*FIGURE_SECTIONS, COMPARISONS, OTHER)


def section_of(name: str) -> str:
    """The report section a figure named ``name`` is shown in."""
    return next((s for s, keys in FIGURE_SECTIONS.items() if any(k in name for k in keys)), OTHER)


@dataclass(frozen=True)
class FigurePlan:
    """Where every figure of a report is shown and its number, fixed before any section is
    written: numbers run through the whole report, comparisons included, in report order.

    ``placed``: section → the run's figures shown there (manifest order); ``numbers``:
    (source, figure name) → number, where source is "" for the run's figures and the comparison
    directory's name for a comparison's."""

    placed: Mapping[str, tuple[dict[str, Any], ...]]
    numbers: Mapping[tuple[str, str], int]

    @classmethod
    def of(
        cls,
        figures: Sequence[dict[str, Any]],
        comparisons: Sequence[tuple[str, Sequence[dict[str, Any]]]] = (),
    ) -> FigurePlan:
        placed = {
            section: tuple(f for f in figures if section_of(str(f.get("name", ""))) == section)
            for section in FIGURE_ORDER
        }
        ordered: list[tuple[str, str]] = []
        for section in FIGURE_ORDER:
            if section == COMPARISONS:
                ordered += [(src, str(f.get("name", ""))) for src, fs in comparisons for f in fs]
            else:
                ordered += [("", str(f.get("name", ""))) for f in placed[section]]
        numbers = {key: i for i, key in enumerate(dict.fromkeys(ordered), start=1)}
        return cls(MappingProxyType(placed), MappingProxyType(numbers))

    def number(self, name: str, source: str = "") -> int:
        return self.numbers[(source, name)]


def _figure_notes(threshold: int) -> dict[str, str]:
    small = f"fewer than {threshold}" if threshold else "any number of"
    return {
        "km_": f"Curves stop where {small} patients remain at risk; numbers at risk below the "
        f"threshold are shown as <{threshold}."
        if threshold
        else "",
        "sequences": "All lines in the data of these patients, before and after the analysed "
        "ones."
        + (
            f" Bands of {small} patients are not drawn and regimen classes with fewer patients "
            "in a line are merged into 'other'."
            if threshold
            else ""
        ),
        "swimmer": "At most 30 patients, and at most half of those in groups whose size is "
        "published (a sample, never a census), shown as patient 1 … n (never by identifier), "
        "with all their lines in the data; segments are lines coloured by regimen class, the "
        "analysed lines outlined when not every line is analysed; circles: first response "
        "(≥ PR); crosses: progression; bars: death; arrows: alive at last contact.",
        "trajectory": "One patient, shown as Patient A: serum and urine M-protein and dFLC as "
        "measured, lines shaded, each assessment coloured by its IMWG category.",
        "waterfall": "One bar per analysed patient-line with a component measurable at baseline "
        "and measured again on the line (at most 1,000 per group, drawn at random beyond that): "
        "best change from baseline of that component; increases above +100 % are drawn at "
        "+100 %."
        + (
            f" A group is drawn only when the response table publishes all its counts and no "
            f"response category in it has {small} bars."
            if threshold
            else ""
        ),
        "response_distribution": "Withheld categories (small cells) are pooled into the hatched "
        "block.",
        "adverse_events": "Percentages of patient-lines; withheld percentages are shown as text.",
    }


def embed(run: RunDirectory, entry: dict[str, Any], number: int) -> str:
    """One ``<figure>`` numbered ``number``: the SVG (else PNG) listed for ``entry`` as base64
    data."""
    name = str(entry.get("name", ""))
    title = str(entry.get("title") or name)
    listed = [str(f) for f in entry.get("files", []) or []]
    chosen = next((f for f in listed if f.endswith(".svg") and _inside(run, f)), None)
    chosen = chosen or next((f for f in listed if f.endswith(".png") and _inside(run, f)), None)
    notes = _figure_notes(run.config.study.small_cell_threshold)
    note = next((text for key, text in notes.items() if text and key in name), "")
    caption = (
        f"<figcaption><strong>Figure {number}.</strong> {esc(title)}. {esc(note)}</figcaption>"
    )
    if chosen is None:
        return (
            f'<figure id="fig-{esc(name)}"><p class="missing">Figure file missing: '
            f"{esc(', '.join(listed) or name)}.</p>{caption}</figure>"
        )
    mime = "image/svg+xml" if chosen.endswith(".svg") else "image/png"
    data = base64.b64encode((run.path / chosen).read_bytes()).decode("ascii")
    return (
        f'<figure id="fig-{esc(name)}" data-file="{esc(chosen)}">'
        f'<img src="data:{mime};base64,{data}" alt="{esc(title)}"{_size(run.path / chosen)}>'
        f"{caption}</figure>"
    )


#: screen pixels per point of print size: a column-width figure is not blown up to the page
PIXELS_PER_POINT = 1.6


def _size(path: Path) -> str:
    """A ``style`` capping an SVG at its print size (in points, scaled for the screen)."""
    if path.suffix != ".svg":
        return ""
    head = path.read_text(encoding="utf-8", errors="replace")[:2000]
    found = re.search(r'<svg[^>]*\swidth="([0-9.]+)pt"', head)
    if not found:
        return ""
    return f' style="max-width: {float(found.group(1)) * PIXELS_PER_POINT:.0f}px"'


def _inside(run: RunDirectory, file: str) -> bool:
    """An existing file inside the run directory (a manifest cannot point elsewhere)."""
    path = (run.path / file).resolve()
    return path.is_file() and path.is_relative_to(run.path.resolve())


def figures_for(run: RunDirectory, plan: FigurePlan, section: str) -> str:
    """The run's figures placed in ``section``, numbered by ``plan``."""
    return "\n".join(
        embed(run, f, plan.number(str(f.get("name", "")))) for f in plan.placed[section]
    )
