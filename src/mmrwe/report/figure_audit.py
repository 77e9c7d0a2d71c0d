"""The privacy audit of a run's figures: a figure publishes nothing the tables withhold.

Checked from what the run wrote under ``shareable/`` (``manifest.json``, the figure SVGs, the
aggregate tables), so the audit does not trust the code that drew the figures:

1. patient-level figures (swimmer, trajectory, waterfall) are in ``shareable/`` only when the
   study shares them explicitly (``share_patient_level_figures``; otherwise they are in
   ``patient_level/figures/``);
2. the waterfall draws only groups whose counts ``response_rates`` publishes in full;
3. the swimmer draws at most 30 patients and at most half of the analysed patients (a sample,
   never a census), and none when the analysed patients are fewer than the threshold;
4. no figure's text or element id is a patient identifier of the run.

:func:`mmrwe.privacy.shareable.check_shareable` runs it before the run reports success and
stops the run on any problem.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from mmrwe.errors import MmrweError

_TEXT = re.compile(r"<text[^>]*>([^<]*)</text>|\bid=\"([^\"]+)\"")


class FigurePrivacyError(MmrweError):
    """A figure of the run would publish what the tables withhold."""


def _svg(shared: Path, entry: dict) -> str:
    svg = next((f for f in entry.get("files", []) if str(f).endswith(".svg")), None)
    return (shared / svg).read_text(encoding="utf-8") if svg else ""


def _analysed_patients(manifest: dict) -> int | None:
    """Analysed patients as published (None when the manifest shows ``<N``)."""
    value = (manifest.get("analysed") or {}).get("patients")
    return value if isinstance(value, int) else None


def audit_figures(run_dir: Path | str) -> list[str]:
    """Problems of the run's figures (empty: every listed figure passes rules 1–4)."""
    from mmrwe.io.output import shareable_folder
    from mmrwe.report.figure_set import PATIENT_LEVEL_FIGURES, SWIMMER_PATIENTS, groups_with
    from mmrwe.report.html import read_text_table, recorded_config

    shared = shareable_folder(run_dir)
    manifest_file = shared / "manifest.json"
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    threshold = recorded_config(manifest_file, manifest).study.small_cell_threshold
    listed = {f["name"]: f for f in manifest.get("figures", []) or []}
    problems = [
        f"{name}: a patient-level figure in shareable/ although the study does not share them"
        for name in PATIENT_LEVEL_FIGURES
        if name in listed and not manifest.get("patient_level_figures_shared")
    ]
    rates = read_text_table(shared, "response_rates")
    if "waterfall" in listed and threshold > 0:
        published = set(groups_with(rates, "all")[0]) if rates is not None else set()
        drawn = set(
            re.findall(r'id="waterfall-(?!left-out)([^"]+)"', _svg(shared, listed["waterfall"]))
        )
        problems += [
            f"waterfall: group {g!r} drawn although response_rates withholds some of its counts"
            for g in sorted(drawn - published)
        ]
    if "swimmer" in listed:
        rows = len(set(re.findall(r'id="swimmer-row-(\d+)"', _svg(shared, listed["swimmer"]))))
        analysed = _analysed_patients(manifest)
        if analysed is None or rows > min(SWIMMER_PATIENTS, analysed // 2):
            problems.append(f"swimmer: {rows} patients drawn of {analysed} analysed (a census)")
    problems += _identifiers(shared, listed, run_dir)
    return problems


def _identifiers(shared: Path, listed: dict[str, dict], run_dir: Path | str) -> list[str]:
    """Figures whose text or element ids include a patient identifier of the run (the run's
    identifiers matched against the figures' words, :func:`run_ids_among`)."""
    from mmrwe.privacy.shareable import run_ids_among

    # an all-digit id (an OMOP person_id) cannot be told from a number a figure prints (an axis
    # tick, a count): it is looked for in element ids only
    seen = {}
    for name, entry in listed.items():
        svg = _svg(shared, entry)
        found = {a or b for a, b in _TEXT.findall(svg)}
        words = found | {w for t in found for w in t.split()}
        seen[name] = (words, {b for _, b in _TEXT.findall(svg) if b})
    ids = run_ids_among(run_dir, set().union(*(w | e for w, e in seen.values())))
    if not ids:
        return []
    wordy = {i for i in ids if not i.isdigit()}
    return [
        f"{name}: shows a patient identifier"
        for name, (words, element_ids) in seen.items()
        if (words & wordy) or (element_ids & ids)
    ]


def check_figures(run_dir: Path | str) -> None:
    """Raise :class:`FigurePrivacyError` listing every problem :func:`audit_figures` finds."""
    problems = audit_figures(run_dir)
    if problems:
        raise FigurePrivacyError(
            "The run's figures would publish what its tables withhold; nothing was published. "
            "Problems: " + "; ".join(problems) + ". This is a defect of mmrwe: please report it."
        )
