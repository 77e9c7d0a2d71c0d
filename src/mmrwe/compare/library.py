"""The benchmark library: published trial and real-world figures in RRMM, each with its source.

The figures live in ``compare/data/benchmarks.toml`` (package data; docs/compare.md, "Benchmark
library"). Units: medians, follow-up and landmark times in months; rates and shares as
proportions 0–1; hazard ratios of an arm against the study's comparator arm. A figure not
published is absent, never estimated; where a later analysis updated a figure both are kept, each
with its source and year, and the latest is the default.

>>> lib = load_benchmarks()
>>> arm = lib.arm("ICARIA-MM", "Isa-Pd")
>>> arm.endpoint("PFS").median.value
11.5
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl

from mmrwe.compare.library_schema import library_problems
from mmrwe.compare.measures import BASELINE, ENDPOINTS, MEASURES
from mmrwe.errors import ConfigError, ParameterError, did_you_mean

__all__ = [
    "BASELINE",
    "ENDPOINTS",
    "MEASURES",
    "Arm",
    "Endpoint",
    "Library",
    "Source",
    "Study",
    "Value",
    "load_benchmarks",
]


@dataclass(frozen=True)
class Source:
    """A publication: its key in the library, citation (author, journal, year, volume:page)."""

    key: str
    citation: str
    year: int


@dataclass(frozen=True)
class Value:
    """One published figure. ``value`` is None for a median not reached (``not_reached``)."""

    measure: str
    value: float | None
    source: Source
    lower: float | None = None
    upper: float | None = None
    not_reached: bool = False
    time: float | None = None  # landmark time of a rate, months
    event: str | None = None  # adverse event
    grade: str | None = None  # adverse-event grade, e.g. ">= 3"; None: as published (any)
    subgroup: str | None = None
    vs: str | None = None  # comparator arm of a hazard ratio
    note: str | None = None

    @property
    def unit(self) -> str:
        return MEASURES[self.measure].unit


@dataclass(frozen=True)
class Endpoint:
    """The published figures of one time-to-event endpoint of one arm (all subgroups)."""

    name: str
    arm: str
    medians: tuple[Value, ...]
    hazard_ratios: tuple[Value, ...]
    rates: tuple[Value, ...]

    @property
    def median(self) -> Value | None:
        """The latest published median of the whole arm (months), or None."""
        return _latest(v for v in self.medians if v.subgroup is None)

    @property
    def hazard_ratio(self) -> Value | None:
        """The latest published hazard ratio of the whole arm against its comparator, or None."""
        return _latest(v for v in self.hazard_ratios if v.subgroup is None)


def _latest(values: Iterable[Value]) -> Value | None:
    """The value of the latest source; of one year, the one listed last (the update)."""
    vs = sorted(values, key=lambda v: v.source.year)  # stable: file order within a year
    return vs[-1] if vs else None


def _norm(name: str) -> str:
    """Case, spaces, hyphens and underscores ignored: ``KarMMa 3`` = ``karmma-3``."""
    return re.sub(r"[\s_\-]+", "", str(name).strip().lower())


def _resolve(name: str, options: Mapping[str, str], what: str, owner: str) -> str:
    """The key ``name`` refers to (case-insensitive, key or alias), or a did-you-mean error."""
    key = options.get(_norm(name))
    if key is not None:
        return key
    keys = sorted(set(options.values()))
    wanted = _norm(name)
    hint = did_you_mean(wanted, options, prefix=True)
    raise ParameterError(
        f"The '{what}' parameter of {owner} must be one of {', '.join(keys)}. "
        f"Got {name!r} instead.{hint}"
    )


@dataclass(frozen=True)
class Arm:
    """One arm (or line, or cohort) of a study with its published figures."""

    study: str
    study_name: str
    key: str
    regimens: tuple[str, ...]
    line: int | None
    n: int | None
    values: tuple[Value, ...]
    baseline: Mapping[str, float] = field(default_factory=dict)
    baseline_source: Source | None = None
    baseline_notes: Mapping[str, str] = field(default_factory=dict)
    n_note: str | None = None
    n_source: Source | None = None

    @property
    def label(self) -> str:
        """e.g. ``KarMMa-3 (ide-cel)``: the regimen when the arm has one, else its key."""
        return f"{self.study_name} ({self.regimens[0] if len(self.regimens) == 1 else self.key})"

    def values_for(self, measure: str, subgroup: str | None = None) -> tuple[Value, ...]:
        """Every published value of ``measure`` (whole arm unless ``subgroup``), oldest first."""
        if measure not in MEASURES:
            _resolve(measure, {m: m for m in MEASURES}, "measure", "Arm.values_for")
        found = [v for v in self.values if v.measure == measure and v.subgroup == subgroup]
        return tuple(sorted(found, key=lambda v: v.source.year))

    def value(self, measure: str) -> Value | None:
        """The latest published value of ``measure`` for the whole arm, or None."""
        return _latest(self.values_for(measure))

    def endpoint(self, name: str) -> Endpoint:
        """The figures of a time-to-event endpoint: ``PFS``, ``OS``, ``DOR`` or ``TTNT``."""
        ep = _resolve(name, {e.lower(): e for e in ENDPOINTS}, "endpoint", "Arm.endpoint")
        of = [v for v in self.values if MEASURES[v.measure].endpoint == ep]
        if not of:
            published = sorted({MEASURES[v.measure].endpoint for v in self.values} - {None})
            raise ParameterError(
                f"{self.label} publishes no {ep} figures"
                + (f"; it publishes {', '.join(published)}." if published else ".")
                + " Choose another endpoint or another trial arm."
            )
        kinds = {k: tuple(v for v in of if MEASURES[v.measure].kind == k) for k in MEASURE_KINDS}
        return Endpoint(ep, self.key, kinds["median"], kinds["hr"], kinds["rate"])

    @staticmethod
    def canonical(name: str) -> str | None:
        """The library's name of a characteristic as the user wrote it (case, spaces, hyphens
        and underscores ignored), or None."""
        return {_norm(b): b for b in BASELINE}.get(_norm(name))

    def unavailable(self, names: Iterable[str]) -> list[str]:
        """Why each of ``names`` cannot be matched on, in words (empty: all can): names that are
        no characteristic of the library (with a did-you-mean) and characteristics the arm
        does not publish (with the library's note, e.g. published for the whole study only)."""
        reasons = []
        for raw in names:
            name = self.canonical(raw)
            if name is None:
                spelt = re.sub(r"[\s\-]+", "_", str(raw).strip().lower())
                close = did_you_mean(spelt, list(BASELINE)).strip()
                hint = f" ({close[0].lower()}{close[1:]})" if close else ""
                reasons.append(f"{raw!r}: not a baseline characteristic{hint}")
            elif name not in self.baseline:
                why = self.baseline_notes.get(name)
                reasons.append(
                    f"{BASELINE[name].label} ({name}): not published" + (f", {why}" if why else "")
                )
        return reasons

    def refuse(self, reasons: list[str]) -> None:
        """Raise one :class:`ParameterError` listing every reason a match is refused."""
        if not reasons:
            return
        them = "it" if len(reasons) == 1 else "them"
        published = [BASELINE[b].label for b in self.baseline if b != "n"]
        error = ParameterError(
            f"{self.label} cannot be matched on: {'; '.join(reasons)}. Matching on {them} is "
            f"refused: remove {them} from the characteristics matched on"
            + (f" (this arm publishes {', '.join(published)})." if published else ".")
        )
        error.cli_hint = "On the command line: edit --match-on."
        raise error

    def baseline_targets(self, names: Iterable[str]) -> dict[str, float]:
        """Published baseline characteristics to match on (proportions 0–1; age in years).

        Refuses, naming the trial and arm, every characteristic the arm does not publish at once.
        """
        names = list(names)
        self.refuse(self.unavailable(names))
        return {str(self.canonical(n)): self.baseline[str(self.canonical(n))] for n in names}


@dataclass(frozen=True)
class Study:
    """A trial or real-world study."""

    key: str
    name: str
    kind: str  # "trial" or "real-world"
    source: Source
    arms: Mapping[str, Arm]
    setting: str | None = None
    prior_lines: str | None = None
    refractoriness: str | None = None
    comparator: str | None = None
    n: int | None = None
    note: str | None = None
    baseline: Mapping[str, float] = field(default_factory=dict)
    baseline_scope: str | None = None
    baseline_source: Source | None = None

    def arm(self, name: str) -> Arm:
        """An arm by key or regimen name, case-insensitive (``Isa-Pd``, ``isa-pd``)."""
        options = {_norm(k): k for k in self.arms}
        for k, arm in self.arms.items():
            if len(arm.regimens) == 1:
                options.setdefault(_norm(arm.regimens[0]), k)
        return self.arms[_resolve(name, options, "arm", f"Study.arm of {self.name}")]


@dataclass(frozen=True)
class Library:
    """Every study of the library, and the sources they cite."""

    studies: Mapping[str, Study]
    sources: Mapping[str, Source]

    def study(self, name: str) -> Study:
        """A study by key or name, case-insensitive (``ICARIA-MM``, ``icaria-mm``)."""
        options = {_norm(k): k for k in self.studies}
        options.update({_norm(s.name): k for k, s in self.studies.items()})
        return self.studies[_resolve(name, options, "study", "Library.study")]

    def arm(self, study: str, arm: str) -> Arm:
        return self.study(study).arm(arm)

    def table(self) -> pl.DataFrame:
        """Every published figure, one row each, with unit, source and year (for the report)."""
        rows = []
        for s in self.studies.values():
            for a in s.arms.values():
                for v in a.values:
                    m = MEASURES[v.measure]
                    rows.append(
                        {
                            "study": s.key,
                            "study_name": s.name,
                            "kind": s.kind,
                            "arm": a.key,
                            "regimens": "; ".join(a.regimens) or None,
                            "line": a.line,
                            "n": a.n,
                            "measure": v.measure,
                            "endpoint": m.endpoint,
                            "value": v.value,
                            "lower": v.lower,
                            "upper": v.upper,
                            "not_reached": v.not_reached,
                            "unit": m.unit,
                            "time": v.time,
                            "event": v.event,
                            "grade": v.grade,
                            "subgroup": v.subgroup,
                            "vs": v.vs,
                            "source": v.source.key,
                            "citation": v.source.citation,
                            "year": v.source.year,
                            "note": v.note,
                        }
                    )
        return pl.DataFrame(rows, schema=_TABLE_SCHEMA)

    def baseline_table(self) -> pl.DataFrame:
        """Published baseline characteristics (for matching), one row each; ``arm`` is null for
        a figure published for the whole study only (``scope`` says which patients)."""
        rows = []
        for s in self.studies.values():
            holders: list[tuple[str | None, Mapping[str, float], Source | None, str | None]]
            holders = [(None, s.baseline, s.baseline_source, s.baseline_scope)]
            holders += [(a.key, a.baseline, a.baseline_source, None) for a in s.arms.values()]
            for arm, base, src, scope in holders:
                rows += [
                    {
                        "study": s.key,
                        "study_name": s.name,
                        "arm": arm,
                        "scope": scope,
                        "characteristic": name,
                        "value": value,
                        "unit": BASELINE[name].unit,
                        "source": src.key if src else None,
                        "citation": src.citation if src else None,
                    }
                    for name, value in base.items()
                ]
        schema = dict.fromkeys(
            ("study", "study_name", "arm", "scope", "characteristic"), pl.String
        ) | {"value": pl.Float64, "unit": pl.String, "source": pl.String, "citation": pl.String}
        return pl.DataFrame(rows, schema=schema)


MEASURE_KINDS = ("median", "hr", "rate")

_TABLE_SCHEMA = {
    "study": pl.String,
    "study_name": pl.String,
    "kind": pl.String,
    "arm": pl.String,
    "regimens": pl.String,
    "line": pl.Int64,
    "n": pl.Int64,
    "measure": pl.String,
    "endpoint": pl.String,
    "value": pl.Float64,
    "lower": pl.Float64,
    "upper": pl.Float64,
    "not_reached": pl.Boolean,
    "unit": pl.String,
    "time": pl.Float64,
    "event": pl.String,
    "grade": pl.String,
    "subgroup": pl.String,
    "vs": pl.String,
    "source": pl.String,
    "citation": pl.String,
    "year": pl.Int64,
    "note": pl.String,
}


def _build(doc: dict[str, Any]) -> Library:
    sources = {k: Source(k, v["citation"], int(v["year"])) for k, v in doc["sources"].items()}
    studies = {}
    for skey, s in doc["studies"].items():
        study_base = s.get("baseline", {})
        arms = {}
        for akey, a in s.get("arms", {}).items():
            values = tuple(
                Value(
                    measure=v["measure"],
                    value=None if v.get("value") is None else float(v["value"]),
                    source=sources[v["source"]],
                    lower=None if v.get("lower") is None else float(v["lower"]),
                    upper=None if v.get("upper") is None else float(v["upper"]),
                    not_reached=bool(v.get("not_reached", False)),
                    time=None if v.get("time") is None else float(v["time"]),
                    event=v.get("event"),
                    grade=v.get("grade"),
                    subgroup=v.get("subgroup"),
                    vs=v.get("vs", s.get("comparator") if v["measure"].startswith("hr_") else None),
                    note=v.get("note"),
                )
                for v in a.get("values", [])
            )
            base = a.get("baseline", {})
            notes = dict(base.get("notes", {}))
            for k, x in study_base.items():  # published for the whole study only
                if k in BASELINE and k not in base:
                    scope = study_base.get("scope", "the whole study")
                    notes.setdefault(k, f"published only for {scope}: {x:g}")
            arms[akey] = Arm(
                study=skey,
                study_name=s["name"],
                key=akey,
                regimens=tuple(a.get("regimens", [])),
                line=a.get("line"),
                n=a.get("n"),
                values=values,
                baseline={k: float(v) for k, v in base.items() if k in BASELINE},
                baseline_source=sources[base["source"]] if "source" in base else None,
                baseline_notes=notes,
                n_note=a.get("n_note"),
                n_source=sources[a.get("n_source", s["source"])] if "n" in a else None,
            )
        studies[skey] = Study(
            key=skey,
            name=s["name"],
            kind=s["kind"],
            source=sources[s["source"]],
            arms=arms,
            setting=s.get("setting"),
            prior_lines=s.get("prior_lines"),
            refractoriness=s.get("refractoriness"),
            comparator=s.get("comparator"),
            n=s.get("n"),
            note=s.get("note"),
            baseline={k: float(v) for k, v in study_base.items() if k in BASELINE},
            baseline_scope=study_base.get("scope"),
            baseline_source=sources[study_base["source"]] if "source" in study_base else None,
        )
    return Library(studies, sources)


def load_benchmarks(path: str | Path | None = None) -> Library:
    """The benchmark library shipped with mmrwe (or a TOML file in the same format).

    Every figure is checked on loading (known measure, source and unit range; confidence limits
    around their estimate); a problem raises :class:`~mmrwe.errors.ConfigError` listing all.
    """
    if path is None:
        return _shipped()
    return _load(Path(path).read_bytes(), str(path))


@lru_cache(maxsize=1)
def _shipped() -> Library:
    data = resources.files("mmrwe.compare").joinpath("data/benchmarks.toml").read_bytes()
    return _load(data, "benchmarks.toml (shipped)")


def _load(data: bytes, name: str) -> Library:
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"The benchmark library '{name}' is not valid TOML: {exc}") from exc
    _, problems = library_problems(doc)
    if problems:
        raise ConfigError(
            f"The benchmark library '{name}' has {len(problems)} problem(s):\n- "
            + "\n- ".join(problems)
        )
    return _build(doc)
