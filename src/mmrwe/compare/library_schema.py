"""The pydantic schema of the benchmark library file (``compare/data/benchmarks.toml``).

Like every other configuration of mmrwe, the file is validated by pydantic: an unknown field, a
value of the wrong type, a figure outside its measure's range, an interval that does not bracket
its estimate or a source not in ``[sources]`` is an error naming where it is (study, arm, value
number and measure); every problem is listed at once (:func:`library_problems`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StrictInt,
    ValidationError,
    ValidationInfo,
    create_model,
    model_validator,
)

from mmrwe.compare.measures import BASELINE, MEASURES, PROPORTION

Number = Annotated[float, Strict()]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _sources(info: ValidationInfo) -> set[str]:
    return set((info.context or {}).get("sources", ()))


def _raise(problems: list[str]) -> None:
    if problems:
        raise ValueError("; ".join(problems))


def _source_problem(key: str | None, info: ValidationInfo, what: str = "source") -> list[str]:
    return [] if key is None or key in _sources(info) else [f"{what} {key!r} is not in [sources]"]


def _n_problem(n: int | None) -> list[str]:
    return [] if n is None or n > 0 else [f"n {n!r} must be a whole number > 0"]


class SourceEntry(_Entry):
    """``[sources] key = { citation, year }``."""

    citation: str = Field(min_length=1, pattern=r"\S")
    year: StrictInt


class ValueEntry(_Entry):
    """One published figure of an arm (``values = [{ measure, value, source, ... }]``)."""

    measure: str
    source: str
    value: Number | None = None
    lower: Number | None = None
    upper: Number | None = None
    not_reached: bool = False
    time: Number | None = None
    event: str | None = None
    grade: str | None = None
    subgroup: str | None = None
    vs: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> ValueEntry:
        m = MEASURES.get(self.measure)
        if m is None:
            _raise([f"unknown measure {self.measure!r} (known: {', '.join(MEASURES)})"])
        assert m is not None
        out = _source_problem(self.source, info)
        if self.not_reached and (m.kind != "median" or self.value is not None):
            out.append("not_reached is for a median without a value")
        if not self.not_reached and self.value is None:
            out.append("no value (give value, or not_reached = true for a median)")
        for k in ("value", "lower", "upper"):
            x = getattr(self, k)
            if x is not None and not m.low < x <= m.high and not (m.unit == PROPORTION and x == 0):
                out.append(f"{k} {x:g} is outside ({m.low}, {m.high}] {m.unit}")
        lo, est, hi = self.lower, self.value, self.upper
        if est is not None and ((lo is not None and lo > est) or (hi is not None and hi < est)):
            out.append(f"the interval {lo}-{hi} does not bracket {est}")
        if (m.kind == "rate") != (self.time is not None):
            out.append("a landmark rate needs `time` (months), other measures none")
        if (m.kind == "ae") != (self.event is not None):
            out.append("an adverse-event rate needs `event`, other measures none")
        _raise(out)
        return self


def _check_baseline(self: Any, info: ValidationInfo) -> Any:
    out = _source_problem(self.source, info)
    for k, c in BASELINE.items():
        x = getattr(self, k)
        if x is not None and not c.low <= x <= c.high:
            out.append(f"{k} {x:g} is outside [{c.low}, {c.high}] {c.unit}")
    out += [f"a note for unknown characteristic '{k}'" for k in self.notes if k not in BASELINE]
    _raise(out)
    return self


#: ``baseline = { source, scope, notes, <characteristic> = number, ... }`` (the MAIC table).
BaselineEntry = create_model(
    "BaselineEntry",
    __base__=_Entry,
    __validators__={"_check": model_validator(mode="after")(_check_baseline)},
    source=(str | None, None),
    scope=(str | None, None),
    notes=(dict[str, str], {}),
    **{k: (Number | None, None) for k in BASELINE},  # type: ignore[call-overload]
)


class ArmEntry(_Entry):
    """``[studies.<study>.arms.<arm>]``."""

    regimens: list[Annotated[str, Field(min_length=1)]] = []
    line: StrictInt | None = None
    n: StrictInt | None = None
    n_source: str | None = None
    n_note: str | None = None
    values: list[ValueEntry] = []
    baseline: BaselineEntry | None = None  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> ArmEntry:
        _raise(_n_problem(self.n) + _source_problem(self.n_source, info, "n_source"))
        return self


class StudyEntry(_Entry):
    """``[studies.<study>]``: a trial or real-world study and its arms."""

    name: str = Field(min_length=1)
    kind: Literal["trial", "real-world"]
    source: str
    arms: dict[str, ArmEntry] = Field(min_length=1)
    setting: str | None = None
    prior_lines: str | None = None
    refractoriness: str | None = None
    comparator: str | None = None
    n: StrictInt | None = None
    n_source: str | None = None
    n_note: str | None = None
    note: str | None = None
    baseline: BaselineEntry | None = None  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> StudyEntry:
        out = _source_problem(self.source, info) + _n_problem(self.n)
        if self.comparator is not None and self.comparator not in self.arms:
            out.append(f"comparator {self.comparator!r} is not one of its arms")
        _raise(out)
        return self


class LibraryFile(_Entry):
    """The whole file: ``[sources]`` and ``[studies]``."""

    sources: dict[str, SourceEntry]
    studies: dict[str, StudyEntry] = Field(min_length=1)


def library_problems(doc: dict[str, Any]) -> tuple[LibraryFile | None, list[str]]:
    """The validated file, or ``None`` and every problem, each naming where it is."""
    sources = doc.get("sources", {}) if isinstance(doc.get("sources"), dict) else {}
    try:
        return LibraryFile.model_validate(doc, context={"sources": sources}), []
    except ValidationError as exc:
        return None, [_where(err["loc"], doc) + _message(err) for err in exc.errors()]


def _message(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return f"unknown field '{err['loc'][-1]}'"
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "value_error":
        return msg
    return f"{err['loc'][-1]}: {msg} (got {err.get('input')!r})"


def _where(loc: tuple[Any, ...], doc: dict[str, Any]) -> str:
    """``study 'icaria-mm' arm 'isa-pd' value 3 (orr): `` from a pydantic error location."""
    parts: list[str] = []
    node: Any = doc
    i = 0
    while i < len(loc):
        key = loc[i]
        nxt = loc[i + 1] if i + 1 < len(loc) else None
        if key in ("studies", "arms") and nxt is not None and isinstance(node, dict):
            parts.append(f"{'study' if key == 'studies' else 'arm'} '{nxt}'")
            node = (node.get(key) or {}).get(nxt, {})
            i += 2
        elif key == "values" and isinstance(nxt, int) and isinstance(node, dict):
            value = (node.get("values") or [{}])[nxt] if nxt < len(node.get("values") or []) else {}
            parts.append(
                f"value {nxt + 1} ({value.get('measure') if isinstance(value, dict) else '?'})"
            )
            node = value
            i += 2
        elif key == "sources" and nxt is not None and i == 0:
            parts.append(f"[sources] {nxt}")
            node = {}
            i += 2
        elif key == "baseline":
            parts.append("baseline")
            node = node.get("baseline", {}) if isinstance(node, dict) else {}
            i += 1
        else:
            break
    extra_or_field = len(loc) - i
    where = " ".join(parts) or "the file"
    return where + (": " if extra_or_field <= 1 else f" {'.'.join(map(str, loc[i:-1]))}: ")
