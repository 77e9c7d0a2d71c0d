"""``build_report``: one self-contained ``report.html`` from a run directory.

The report reads what ``mmrwe run`` wrote — ``manifest.json``, the aggregate tables (as CSV
text, so values print exactly as written, suppressed cells included) and the figure files the
manifest lists — and needs nothing else: figures are embedded as base64 data (SVG, else PNG),
styles are inline, fonts are the system's, and a Content-Security-Policy forbids any request.
A table that is missing omits its section with a line saying why. The same run directory gives
the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any

import polars as pl
from pydantic import ValidationError

from mmrwe.errors import InvalidDataError
from mmrwe.report.html_tables import esc
from mmrwe.study.config import StudyConfig

if TYPE_CHECKING:
    from mmrwe.report.embed import FigurePlan

#: aggregate tables the report reads (all optional)
TABLES = (
    "attrition",
    "baseline",
    "summary_by_line",
    "response_rates",
    "adverse_events",
    "subgroup_hazard_ratios",
    "unmapped_drugs",
)


@dataclass
class RunDirectory:
    """A run directory as the report sees it: manifest, the effective configuration it records
    (read once, typed, defaults filled in), tables as text, figure files."""

    path: Path
    manifest: dict[str, Any]
    config: StudyConfig = field(default_factory=StudyConfig)
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    #: the comparison directories under ``comparisons/`` (``mmrwe compare``), in name order
    comparisons: tuple[Path, ...] = ()
    #: where each figure is shown and its number (comparisons' figures included)
    plan: FigurePlan | None = None

    @classmethod
    def read(cls, path: Path, *, config_key: str = "config") -> RunDirectory:
        """Read ``manifest.json`` (required), its configuration (``config_key``: ``config`` for
        a run, ``run_config`` for a comparison) and every table of :data:`TABLES` present, from
        the run's ``shareable/`` folder (the report reads nothing patient-level)."""
        from mmrwe.io.output import shareable_folder

        path = shareable_folder(path)
        manifest_file = path / "manifest.json"
        if not manifest_file.is_file():
            raise InvalidDataError(
                f"'{path}' is not a run directory: it has no manifest.json. Give the output "
                "directory of a run (`mmrwe run`)."
            )
        try:
            manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InvalidDataError(
                f"{manifest_file}: not valid JSON ({exc}). Re-run `mmrwe run` to rewrite it."
            ) from None
        run = cls(
            path=path,
            manifest=manifest,
            config=recorded_config(manifest_file, manifest, config_key),
        )
        for name in TABLES:
            table = read_text_table(path, name)
            if table is not None:
                run.tables[name] = table
        run.comparisons = tuple(
            sorted(p.parent for p in (path / "comparisons").glob("*/manifest.json"))
        )
        run.plan = _figure_plan(run)
        return run

    def table(self, name: str) -> pl.DataFrame | None:
        return self.tables.get(name)

    def figures(self) -> list[dict[str, Any]]:
        """The figures the manifest lists (name, title, files)."""
        return _listed(self.manifest)

    @property
    def figure_plan(self) -> FigurePlan:
        assert self.plan is not None, "a RunDirectory is made by RunDirectory.read"
        return self.plan


def _figure_plan(run: RunDirectory) -> FigurePlan:
    from mmrwe.report.embed import FigurePlan

    compared = []
    for folder in run.comparisons:
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InvalidDataError(
                f"{folder / 'manifest.json'}: not valid JSON ({exc}). Re-run the comparison "
                "(`mmrwe compare`) to rewrite it."
            ) from None
        compared.append((folder.name, _listed(manifest)))
    return FigurePlan.of(run.figures(), compared)


def _listed(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in manifest.get("figures", []) or [] if isinstance(f, dict)]


def recorded_config(
    manifest_file: Path, manifest: dict[str, Any], key: str = "config"
) -> StudyConfig:
    """The effective configuration recorded under ``key`` (the defaults when absent)."""
    try:
        return StudyConfig.model_validate(manifest.get(key) or {})
    except ValidationError as exc:
        problems = "; ".join(
            f"[{'.'.join(str(p) for p in err['loc'])}] {err['msg']}" for err in exc.errors()
        )
        raise InvalidDataError(
            f"{manifest_file}: the recorded configuration ('{key}') is not one this version of "
            f"mmrwe reads: {problems}. Re-run the study with this version to rewrite it."
        ) from None


def read_text_table(run_dir: Path, name: str) -> pl.DataFrame | None:
    """``name.csv`` with every column as text (exactly as written); ``name.parquet`` cast to
    text when there is no CSV; None when neither exists."""
    csv, parquet = run_dir / f"{name}.csv", run_dir / f"{name}.parquet"
    if csv.is_file():
        return pl.read_csv(csv, infer_schema=False)
    if parquet.is_file():
        df = pl.read_parquet(parquet)
        return df.with_columns(pl.all().cast(pl.String))
    return None


def build_report(run_dir: Path, *, out: Path | None = None) -> Path:
    """Write ``report.html`` into the ``shareable/`` folder of the run in ``run_dir`` (or at
    ``out``) and return its path."""
    from mmrwe.report import sections

    run = RunDirectory.read(Path(run_dir))
    parts = [section(run) for section in sections.BUILDERS]
    parts = [p for p in parts if p is not None]
    title = run.config.study.name or "mmrwe analysis"
    lede = sections.lede(run)
    toc = "\n".join(f'<li><a href="#{p.anchor}">{esc(p.title)}</a></li>' for p in parts if p.anchor)
    page = _template("report.html").substitute(
        title=esc(title),
        version=esc(run.manifest.get("mmrwe_version", "")),
        css=_template_text("report.css"),
        lede=lede,
        toc=f'<nav class="toc" aria-label="Contents"><strong>Contents</strong><ol>{toc}</ol></nav>',
        body="\n".join(p.html for p in parts),
    )
    target = Path(out) if out is not None else run.path / "report.html"
    target.write_text(page, encoding="utf-8")
    return target


def _template_text(name: str) -> str:
    return files("mmrwe.report").joinpath("templates", name).read_text(encoding="utf-8")


def _template(name: str) -> Template:
    return Template(_template_text(name))
