"""HTML tables of the report, built from a run's tables read as text.

Tables are read from their CSV files with every column as text, so a cell prints exactly as the
run wrote it (suppressed counts stay ``<11`` or ``withheld``). The only changes are for reading:
estimates written with full precision (Kaplan–Meier medians and rates) are rounded to one
decimal, rates shown as percentages, and an estimate and its limits joined as
"12.4 (10.1–14.9)". Every cell is HTML-escaped.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence

import polars as pl

#: shown for an estimate that is missing because its group is suppressed
WITHHELD_TEXT = "withheld"
#: shown for a median (or quantile) that the curve never reaches
NOT_REACHED = "NR"
#: shown for a confidence limit that cannot be estimated (its confidence curve never reaches
#: the level); NR is kept for the estimate itself
NOT_ESTIMABLE = "NE"


def esc(value: object) -> str:
    """HTML-escaped text of a cell (empty for null)."""
    return "" if value is None else html.escape(str(value), quote=True)


def is_count(text: str | None) -> bool:
    """A published count (digits), as opposed to ``<11``, ``withheld`` or empty."""
    return text is not None and text.strip().isdigit()


def number(text: str | None, decimals: int = 1, scale: float = 1.0) -> str | None:
    """``text`` as a rounded number (``scale`` 100 turns a proportion into %); None if empty."""
    if text is None or text.strip() == "":
        return None
    try:
        value = float(text) * scale
    except ValueError:
        return text
    if math.isnan(value):
        return None
    return f"{value:.{decimals}f}"


def estimate(
    point: str | None,
    lower: str | None,
    upper: str | None,
    *,
    scale: float = 1.0,
    decimals: int = 1,
    suppressed: bool = False,
) -> str:
    """An estimate with its interval, e.g. 12.4 (10.1–14.9); a point never reached is NR, a
    limit that cannot be estimated NE, e.g. NR (24.3–NE); a suppressed group is withheld."""
    if suppressed:
        return WITHHELD_TEXT
    p = number(point, decimals, scale) or NOT_REACHED
    lo, hi = number(lower, decimals, scale), number(upper, decimals, scale)
    if lo is None and hi is None:
        return p
    return f"{p} ({lo or NOT_ESTIMABLE}–{hi or NOT_ESTIMABLE})"


def count_pct(n: str | None, pct: str | None) -> str:
    """A count with its percentage, e.g. 45 (30.0); a suppressed count alone (<11, withheld)."""
    if n is None or n == "":
        return ""
    if not is_count(n) or pct in (None, ""):
        return n
    return f"{n} ({pct})"


#: tables with this many columns or more are set tighter (class "wide") to fit the screen
WIDE_COLUMNS = 10


def html_table(
    rows: Sequence[Sequence[str | None]],
    header: Sequence[str],
    *,
    caption: str | None = None,
    numeric_from: int = 1,
    css_class: str = "",
    section_rows: dict[int, str] | None = None,
) -> str:
    """A ``<table>``: ``header`` labels, ``rows`` of text (escaped here); columns from
    ``numeric_from`` on are right-aligned; ``section_rows`` maps a row index to a heading row
    spanning the table, inserted before that row."""
    classes = " ".join(c for c in (css_class, "wide" if len(header) >= WIDE_COLUMNS else "") if c)
    out = [
        '<div class="table-wrap">',
        f'<table class="{esc(classes)}">' if classes else "<table>",
    ]
    if caption:
        out.append(f"<caption>{esc(caption)}</caption>")
    out.append("<thead><tr>")
    out += [f'<th scope="col"{_num(i, numeric_from)}>{esc(h)}</th>' for i, h in enumerate(header)]
    out.append("</tr></thead><tbody>")
    for r, row in enumerate(rows):
        if section_rows and r in section_rows:
            out.append(
                f'<tr class="section"><th scope="rowgroup" colspan="{len(header)}">'
                f"{esc(section_rows[r])}</th></tr>"
            )
        cells = [f"<td{_num(i, numeric_from)}>{esc(v)}</td>" for i, v in enumerate(row)]
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table></div>")
    return "\n".join(out)


def _num(i: int, numeric_from: int) -> str:
    return ' class="num"' if i >= numeric_from else ""


def frame_table(df: pl.DataFrame, *, labels: dict[str, str] | None = None, **kwargs) -> str:  # type: ignore[no-untyped-def]
    """A table of every column of ``df`` as it is (text), headers from ``labels``."""
    labels = labels or {}
    header = [labels.get(c, c.replace("_", " ")) for c in df.columns]
    return html_table(df.rows(), header, **kwargs)


def landmark_months(columns: Sequence[str]) -> list[str]:
    """The landmark times of ``rate_<t>m`` columns, in order (e.g. ["12", "24"])."""
    found = [m.group(1) for c in columns if (m := re.fullmatch(r"rate_(\d+(?:\.\d+)?)m", c))]
    return sorted(found, key=float)
