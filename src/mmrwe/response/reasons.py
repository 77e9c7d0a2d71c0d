"""Every assessment's reason in words.

Example: ``VGPR: ≥ 90 % down or IFE only; serum M 0.2 g/dL, 93 % below baseline 3.0; urine M 40
mg/24h; serum IFE positive; confirmed``. Baseline rows: column expressions (one row per line);
on-line rows: pieces joined by :mod:`mmrwe.response.text` (millions of rows).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from mmrwe.response import text as T
from mmrwe.response.kernel import CR, MR, NOT_EVALUABLE, PD, PR, SCR, SD, VGPR
from mmrwe.response.rules import ResponseRules


def num(x: pl.Expr, digits: int) -> pl.Expr:
    """A number as text, rounded (``0`` digits: an integer); null stays null."""
    if digits == 0:
        return x.round(0).cast(pl.Int64, strict=False).cast(pl.String)
    return x.round(digits).cast(pl.String)


def change_text(pct: np.ndarray) -> T.Piece:
    """``, 93 % below baseline `` (``pct`` = rounded reduction; negative: above), a text made
    only for the distinct values present (a value far above a small baseline widens the range
    to hundreds of thousands of percent)."""

    def words(grid: np.ndarray) -> pl.Series:
        g = pl.Series(grid)
        return pl.select(
            pl.when(g >= 0)
            .then(pl.format(", {} % below baseline ", g))
            .otherwise(pl.format(", {} % above baseline ", -g))
        ).to_series()

    return T.present(pct, 1.0, None, words)


def criteria(rules: ResponseRules) -> dict[int, str]:
    """The criterion quoted for each category (short: it leads every reason), with the
    thresholds in force; the full criteria are in ``docs/response.md``."""
    r = rules
    pct = lambda x: f"{round(x * 100):g} %"  # noqa: E731
    return {
        SCR: "sCR: CR, normal κ/λ, no clonal plasma cells",
        CR: f"CR: IFE negative, marrow < {r.cr_marrow_below_pct:g} %",
        VGPR: f"VGPR: ≥ {pct(r.vgpr_serum_reduction)} down or IFE only",
        PR: f"PR: ≥ {pct(r.pr_serum_reduction)} down",
        MR: f"MR: ≥ {pct(r.mr_serum_reduction)} down",
        SD: "SD: no response, no progression",
        PD: "PD",
    }


def progression_texts(rules: ResponseRules) -> dict[int, str]:
    """Which components met PD (bits: 1 serum, 2 urine, 4 dFLC, 8 serum nadir ≥ 5 g/dL)."""
    r = rules
    inc = f"≥ {round(r.pd_increase * 100):g} %"
    serum = f"serum {inc} and ≥ {r.pd_serum_absolute_g_dl:g} g/dL above nadir"
    high = (
        f"{serum} or ≥ {r.pd_serum_high_nadir_increase_g_dl:g} g/dL above a nadir ≥ "
        f"{r.pd_serum_high_nadir_g_dl:g} g/dL"
    )
    urine = f"urine {inc} and ≥ {r.pd_urine_absolute_mg_24h:g} mg/24h above nadir"
    flc = f"dFLC {inc} and > {r.pd_flc_absolute_mg_l:g} mg/L above nadir"
    texts = {}
    for code in range(1, 16):
        parts = []
        if code & 1:
            parts.append(high if code & 8 else serum)
        if code & 2:
            parts.append(urine)
        if code & 4:
            parts.append(flc)
        if parts:
            texts[code] = "PD: " + ", ".join(parts)
    return texts


def assessment_pieces(frame: pl.DataFrame, rules: ResponseRules) -> list[T.Piece]:
    """The reason of every on-line assessment (columns of the categorised frame), e.g.
    ``PR: ≥ 50 % down; serum M 0.59 g/dL, 65 % below baseline 1.68; κ/λ 3.04; confirmed``.

    Built from pieces chosen in small tables (numbers with their labels, words from integer
    codes) and joined by :func:`mmrwe.response.text.join_pieces`.
    """
    r = rules
    values: dict[str, np.ndarray] = {}

    def col(name: str) -> np.ndarray:
        """A quantity column as floats, NaN where null (read once)."""
        if name not in values:
            values[name] = frame[name].to_numpy()
        return values[name]

    flag = lambda name: frame[name].fill_null(False).to_numpy()  # noqa: E731
    code = frame["category_code"].to_numpy()
    measurable = flag("serum_measurable") | flag("urine_measurable") | flag("flc_only")
    high_nadir = np.nan_to_num(col("serum_m_nadir"), nan=-1.0) >= r.pd_serum_high_nadir_g_dl
    high = flag("pd_serum") & high_nadir
    pd_bits = flag("pd_serum") * 1 + flag("pd_urine") * 2 + flag("pd_flc") * 4 + high * 8
    # the lead: the category's criterion, which components met PD, or why not evaluable
    key = np.where(
        code == PD,
        100 + pd_bits,
        np.where(code == NOT_EVALUABLE, np.where(measurable, -1, -2), code),
    )
    lead = {k: v for k, v in criteria(r).items() if k != PD}
    lead |= {100 + k: v for k, v in progression_texts(r).items()}
    lead |= {
        -1: "not evaluable: no measurable component measured",
        -2: "not evaluable: no component measurable at baseline",
    }
    pieces = [T.codes(key, lead)]
    for c, progressed, label, unit, digits in (
        ("serum_m", "pd_serum", "serum M", "g/dL", 2),
        ("urine_m", "pd_urine", "urine M", "mg/24h", 0),
        ("dflc", "pd_flc", "dFLC", "mg/L", 1),
    ):
        x, base = col(c), col(f"{c}_baseline")
        with np.errstate(divide="ignore", invalid="ignore"):  # (1 - x / base) * 100, rounded
            pct = np.where(base > 0, base, np.nan)
            np.divide(x, pct, out=pct)
            np.subtract(1, pct, out=pct)
            np.multiply(pct, 100, out=pct)
            np.round(pct, out=pct)
        nadir = np.where(flag(progressed), col(f"{c}_nadir"), np.nan)
        pieces += [
            T.numbers(x, digits, f"; {label} ", f" {unit}"),
            change_text(pct),
            T.numbers(base, digits, mask=np.isfinite(pct)),
            T.numbers(x - nadir, digits, ", +"),
            T.numbers(nadir, digits, " from nadir "),
        ]
    own, carried_bm = frame["bm_plasma_cells"], frame["bm_plasma_cells_carried"]
    bm = frame.select(pl.coalesce("bm_plasma_cells", "bm_plasma_cells_carried")).to_series()
    carried = (own.is_null() & carried_bm.is_not_null()).to_numpy()
    qual = (frame["ife_serum"].to_numpy() + 1) * 9 + (frame["ife_urine"].to_numpy() + 1) * 3
    qual = qual + frame["clonal_cells"].to_numpy() + 1
    pieces += [
        T.numbers(frame["flc_ratio"], 2, "; κ/λ "),
        T.codes(qual, _qualitative_texts()),
        T.numbers(bm, 1, "; marrow plasma cells ", " %"),
        T.dates(frame["marrow_day"].to_numpy(), " carried forward from ", carried),
    ]
    # flags: CR blocked by the marrow, sCR by clonality, what is missing, confirmation
    missing = (
        (flag("serum_measurable") & np.isnan(col("serum_m"))) * 1
        + (flag("urine_measurable") & np.isnan(col("urine_m"))) * 2
        + (flag("flc_only") & np.isnan(col("dflc"))) * 4
    )
    marrow = flag("cr_blocked_by_marrow") & (code < CR)
    clonality = flag("scr_blocked_by_clonality") & (code == CR)
    confirmation = np.where(
        code == NOT_EVALUABLE, 0, 1 + flag("confirmed") * 2 + flag("last_evaluable")
    )
    flags = _flag_texts(r)
    pieces.append(T.codes(((marrow * 2 + clonality) * 8 + missing) * 5 + confirmation, flags))
    return pieces


def _qualitative_texts() -> dict[int, str | None]:
    """``; serum IFE negative; urine IFE positive; clonal plasma cells negative`` for each code
    ``(serum + 1) * 9 + (urine + 1) * 3 + clonal + 1`` (each 1 positive, 0 negative, -1 none)."""
    words = {-1: None, 0: " negative", 1: " positive"}
    texts = {}
    for si in (-1, 0, 1):
        for ui in (-1, 0, 1):
            for ci in (-1, 0, 1):
                parts = [
                    f"; {label}{words[v]}"
                    for label, v in (
                        ("serum IFE", si),
                        ("urine IFE", ui),
                        ("clonal plasma cells", ci),
                    )
                    if v >= 0
                ]
                texts[(si + 1) * 9 + (ui + 1) * 3 + ci + 1] = "".join(parts) or None
    return texts


def _flag_texts(r: ResponseRules) -> dict[int, str | None]:
    """The closing flags of a reason for each code ``((marrow * 2 + clonality) * 8 + missing)
    * 5 + confirmation``: CR blocked by the marrow, sCR by clonality, the measurable components
    not measured (bits 1 serum, 2 urine, 4 FLC) and the confirmation state (0 not evaluable,
    1 not confirmed, 2 unconfirmed last, 3 and 4 confirmed)."""
    names = {1: "serum", 2: "urine", 4: "FLC"}
    states = {
        0: "",
        1: "; not confirmed by the next assessment",
        2: "; unconfirmed: last assessment of the line",
        3: "; confirmed",
        4: "; confirmed",
    }
    flags = {}
    for m in (0, 1):
        for s in (0, 1):
            for miss in range(8):
                for conf in range(5):
                    text = (
                        (
                            f"; CR not met: no marrow result < {r.cr_marrow_below_pct:g} %"
                            if m
                            else ""
                        )
                        + ("; sCR not met: no negative clonality test" if s else "")
                        + (
                            "; incomplete: "
                            + ";".join(v for b, v in names.items() if miss & b)
                            + " not measured"
                            if miss
                            else ""
                        )
                        + states[conf]
                    )
                    flags[((m * 2 + s) * 8 + miss) * 5 + conf] = text or None
    return flags


def baseline_reason(rules: ResponseRules) -> pl.Expr:
    """The reason of a baseline row (columns of the line frame)."""

    def part(label: str, x: str, date: str, unit: str, digits: int) -> pl.Expr:
        return pl.when(pl.col(x).is_not_null()).then(
            pl.format(
                f"{label} {{}} {unit} ({{}})", num(pl.col(x), digits), pl.col(date).cast(pl.String)
            )
        )

    kappa, lam = pl.col("kappa_baseline"), pl.col("lambda_baseline")
    measurable = (
        pl.when(pl.col("measurable_by") == "none")
        .then(
            pl.format(
                "measurable: none (serum M ≥ {} g/dL, urine M ≥ {} mg/24h or involved FLC ≥ {} mg/L "
                "with an abnormal ratio needed)",
                pl.lit(f"{rules.serum_measurable_g_dl:g}"),
                pl.lit(f"{rules.urine_measurable_mg_24h:g}"),
                pl.lit(f"{rules.flc_measurable_mg_l:g}"),
            )
        )
        .otherwise(pl.format("measurable: {}", pl.col("measurable_by")))
    )
    return pl.concat_str(
        [
            pl.format("baseline for index date {}", pl.col("index_date").cast(pl.String)),
            part("serum M", "serum_m_baseline", "serum_m_baseline_date", "g/dL", 2),
            part("urine M", "urine_m_baseline", "urine_m_baseline_date", "mg/24h", 0),
            pl.when(kappa.is_not_null()).then(
                pl.format(
                    "κ {} / λ {} mg/L, dFLC {}, κ/λ {} ({})",
                    num(kappa, 1),
                    num(lam, 1),
                    num(pl.col("dflc_baseline"), 1),
                    num(kappa / lam, 2),
                    pl.col("flc_baseline_date").cast(pl.String),
                )
            ),
            measurable,
        ],
        separator="; ",
        ignore_nulls=True,
    )
