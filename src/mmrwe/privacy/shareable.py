"""The audit of a run's ``shareable/`` folder as written, the last step before success.

Everything under ``shareable/`` may leave the site, so everything in it is checked as a reader
sees it: the counts of the tables and the manifest (:func:`mmrwe.privacy.release.audit_shared`:
no suppressed count recoverable), the figures (:func:`mmrwe.report.figure_audit.audit_figures`)
and every file's text — tables, manifest, figures' embedded data, the report — for the
patient identifiers of the run. A finding stops the run with the cell or file named.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from mmrwe.errors import MmrweError

#: what separates words in a shared file's text (CSV, JSON, SVG, HTML)
_WORD_BREAK = re.compile(r"[\s,;:\"'<>=/\\()\[\]{}|&]+")
#: files whose text is scanned for identifiers (PNG is a raster: it carries no text)
TEXT_SUFFIXES = (".csv", ".json", ".html", ".svg", ".md", ".txt")


class ShareableNotProtected(MmrweError):
    """Something under ``shareable/`` would publish a withheld count or a patient identifier."""


def _run_id_column(run_dir: Path | str) -> pl.Series | None:
    """Every ``patient_id`` of the run's patient-level ``lines`` (or ``analysis_lines``) table,
    a Parquet file or the Spark engine's folder of parts, as text; None when there is none."""
    import pyarrow.parquet as pq

    from mmrwe.io.output import RunLayout

    layout = RunLayout(run_dir)
    for name in ("lines", "analysis_lines"):
        source = layout.table(name)
        source = source if source.exists() else layout.patient_level / name
        if source.exists():
            ids = pl.from_arrow(pq.read_table(source, columns=["patient_id"]))
            assert isinstance(ids, pl.DataFrame)
            return ids["patient_id"].cast(pl.String)
    return None


def run_ids_among(run_dir: Path | str, words: set[str]) -> set[str]:
    """The patient identifiers of a run (every ``patient_id`` of its patient-level ``lines`` or
    ``analysis_lines``, :func:`_run_id_column`) that are among ``words``: the run's identifiers are matched in Arrow, never made into a Python set (a
    million patients' identifiers cost seconds as one)."""
    ids = _run_id_column(run_dir) if words else None
    if ids is None:
        return set()
    return set(
        ids.filter(ids.is_in(pl.Series(list(words), dtype=pl.String).implode())).unique().to_list()
    )


def shared_words(folder: Path) -> dict[Path, set[str]]:
    """The words of each file under ``folder`` that a reader sees: the text of a text file
    split at :data:`_WORD_BREAK`, the cells of a Parquet table (other files carry no text)."""
    out = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix in TEXT_SUFFIXES:
            out[path] = set(_WORD_BREAK.split(path.read_text(encoding="utf-8", errors="replace")))
        elif path.suffix == ".parquet":
            df = pl.read_parquet(path)
            out[path] = {str(v) for c in df.columns for v in df[c].cast(pl.String).drop_nulls()}
    return out


def identifiers_in(folder: Path, ids: set[str]) -> list[str]:
    """The files under ``folder`` whose text holds a patient identifier of ``ids`` as a word
    (Parquet tables by their cells). An all-digit identifier (an OMOP ``person_id``) cannot be
    told from a count, in text or in a cell; it is looked for in the figures' element ids only
    (:mod:`mmrwe.report.figure_audit`)."""
    return _identifiers_found(folder, shared_words(folder), ids)


def _identifiers_found(folder: Path, words: dict[Path, set[str]], ids: set[str]) -> list[str]:
    """:func:`identifiers_in` of the words of each file (:func:`shared_words`)."""
    wordy = {i for i in ids if not i.isdigit()}
    found = []
    for path, seen in words.items():
        hits = seen & wordy
        if hits:
            found.append(f"{path.relative_to(folder)} shows patient identifier {min(hits)!r}")
    return found


def audit_shareable(run_dir: Path | str, threshold: int) -> list[str]:
    """Every problem of the run's ``shareable/`` folder: counts a reader can work out, figure
    problems and patient identifiers (empty: it may be shared)."""
    from mmrwe.io.output import RunLayout
    from mmrwe.privacy.release import audit_shared
    from mmrwe.report.figure_audit import audit_figures

    layout = RunLayout(run_dir)
    problems = []
    if threshold > 0:
        problems += [
            f"a suppressed count can be worked out: {cell}"
            for cell in audit_shared(layout.shareable, threshold)
        ]
    if (layout.shareable / "figures").is_dir():
        problems += audit_figures(run_dir)
    words = shared_words(layout.shareable)
    ids = run_ids_among(run_dir, set().union(*words.values()))
    problems += _identifiers_found(layout.shareable, words, ids)
    return problems


def check_shareable(run_dir: Path | str, threshold: int) -> None:
    """Raise :class:`ShareableNotProtected` naming every problem :func:`audit_shareable` finds."""
    problems = audit_shareable(run_dir, threshold)
    if problems:
        raise ShareableNotProtected(
            "The run's shareable/ folder failed the privacy audit; nothing was written. "
            "Problems: " + "; ".join(problems) + ". This is a defect of mmrwe: please report it."
        )
