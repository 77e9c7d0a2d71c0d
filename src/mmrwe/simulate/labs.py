"""Laboratory rows (native ``labs`` table) from the visits and the M-protein courses.

What is measured: the disease-defining component at every visit (urine in serum+urine disease at
85 % of visits), serum M in 20 % of visits otherwise, FLC κ/λ at 40 % of visits (every visit in
FLC-only disease and at every CR-level visit), IFE when the serum M is low or at CR level, and a
marrow at diagnosis, when a CR is documented (with clonality for an sCR) and at 10 % of
progressions. Values are written as a laboratory reports them: numbers in the patient's units
(serum M in g/L for 10 % of patients, urine M in g/24h for 7 %, FLC in mg/dL for 5 %), ``<0.1``
below the limit of detection, ``not detected``, ``positive``/``negative``.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from mmrwe.simulate.journeys import CR, SCR, VGPR
from mmrwe.simulate.mprotein import component_values
from mmrwe.simulate.visits import DIAG, PLATEAU, PROG

SERUM, URINE, SERUM_URINE, FLC_ONLY = range(4)


def lab_values(rng: np.random.Generator, lines: dict, v: dict, pat) -> dict[str, np.ndarray]:
    """Numeric values of every component at every visit (canonical units)."""
    n = len(pat)
    d = pat.disease
    serum0 = np.clip(rng.lognormal(np.log(3.0), 0.45, n), 1.2, 7.0)
    urine0 = rng.uniform(700, 4000, n)
    dflc0 = np.where(d == FLC_ONLY, np.clip(rng.lognormal(np.log(600), 0.8, n), 180, 6000), 0)
    dflc0 = np.where(d == FLC_ONLY, dflc0, rng.uniform(20, 300, n))
    serum = component_values(rng, "serum", lines, v, serum0)
    urine = component_values(rng, "urine", lines, v, urine0)
    flc = component_values(rng, "flc", lines, v, dflc0)
    p = lines["pat"][v["row"]]
    dv = d[p]
    rel = np.select(
        [dv == SERUM, dv == SERUM_URINE, dv == URINE],
        [serum / serum0[p], serum / serum0[p], urine / urine0[p]],
        flc / dflc0[p],
    )
    cat = v["category"]
    small_urine = np.minimum(rng.uniform(0, 90, n)[p] * rel, np.where(cat >= VGPR, 60, 150))
    urine = np.where((dv == URINE) | (dv == SERUM_URINE), urine, small_urine)
    serum = np.where((dv == SERUM) | (dv == SERUM_URINE), serum, 0.0)
    dflc = np.where(dv == FLC_ONLY, flc, np.minimum(dflc0[p] * rel, 3000))
    uninvolved = rng.uniform(6, 18, n)[p] * (1 + np.clip(rng.normal(0, 0.03, p.size), -0.06, 0.06))
    normal = (cat >= CR) | (dflc <= 0)
    involved = np.where(normal, uninvolved * rng.uniform(0.9, 1.3, p.size), uninvolved + dflc)
    kappa = pat.kappa[p]
    return {
        "serum": serum,
        "urine": urine,
        "kappa": np.where(kappa, involved, uninvolved),
        "lambda": np.where(kappa, uninvolved, involved),
    }


def _num(x: pl.Expr, digits: int) -> pl.Expr:
    return x.round(digits).cast(pl.String)


def build_labs(
    rng: np.random.Generator, lines: dict, v: dict, pat, pid: np.ndarray
) -> pl.DataFrame:
    """The ``labs`` rows of a block: patient index, day, test, value (text), unit."""
    return _lab_rows(_visit_frame(rng, lines, v, pat, pid))


def _visit_frame(
    rng: np.random.Generator, lines: dict, v: dict, pat, pid: np.ndarray
) -> pl.DataFrame:
    """One row per visit: true values and which tests were done, in which unit (the draws)."""
    vals = lab_values(rng, lines, v, pat)
    n = len(pat)
    p = lines["pat"][v["row"]]
    dv = pat.disease[p]
    m = p.size
    phase, cat = v["phase"], v["category"]
    anchor = (phase == DIAG) | (phase >= PROG) | (phase == 1)
    line_rows = v["row"]
    marrow_visit = (
        (phase == PLATEAU) & lines["marrow"][line_rows] & (v["k"] == lines["k_n"][line_rows])
    )
    g_l = (rng.random(n) < 0.10)[p]
    g24 = (rng.random(n) < 0.07)[p]
    mgdl = (rng.random(n) < 0.05)[p]
    u = rng.random((6, m))
    return pl.DataFrame(
        {
            "__p": pid[p],
            "day": v["day"],
            "serum": vals["serum"],
            "urine": vals["urine"],
            "kappa": vals["kappa"],
            "lambda": vals["lambda"],
            "m_serum": (dv == SERUM) | (dv == SERUM_URINE) | (phase == DIAG) | (u[0] < 0.2),
            "m_urine": (dv == URINE)
            | ((dv == SERUM_URINE) & (anchor | (u[1] < 0.85)))
            | (phase == DIAG)
            | (u[1] < 0.2),
            "m_flc": (dv == FLC_ONLY) | (phase == DIAG) | (cat >= CR) | (u[2] < 0.4),
            "ife": (cat >= VGPR)
            | (phase == DIAG)
            | ((vals["serum"] <= 0.3) & (cat >= 0) & ((dv == SERUM) | (dv == SERUM_URINE))),
            "ife_neg": cat >= CR,
            "uife": (cat >= CR) & ((dv == URINE) | (dv == SERUM_URINE) | (u[3] < 0.5)),
            "marrow": marrow_visit | (phase == DIAG) | ((phase == PROG) & (u[4] < 0.1)),
            "bm_pc": np.where(
                marrow_visit,
                np.round(rng.uniform(0.5, 4.5, m), 1),
                np.round(rng.uniform(10, 85, m)),
            ),
            "clonal": np.where(
                marrow_visit & (lines["c_eff"][line_rows] == SCR),
                1,
                np.where(marrow_visit & (u[5] < 0.4), 2, 0),
            ),
            "g_l": g_l,
            "g24": g24,
            "mgdl": mgdl,
            "alt": u[5] < 0.3,
        },
    )


def _lab_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """The visits' tests as ``labs`` rows, values written as a laboratory would (text)."""
    s, ur = pl.col("serum"), pl.col("urine")
    serum_text = (
        pl.when(s <= 0)
        .then(pl.when(pl.col("alt")).then(pl.lit("<0.1")).otherwise(pl.lit("not detected")))
        .when(s < 0.1)
        .then(pl.lit("<0.1"))
        .when(pl.col("g_l"))
        .then(_num(s * 10, 1))
        .otherwise(_num(s, 2))
    )
    urine_text = (
        pl.when(ur <= 0)
        .then(pl.lit("not detected"))
        .when(pl.col("g24"))
        .then(_num(ur / 1000, 3))
        .when(ur < 10)
        .then(pl.lit("<10"))
        .otherwise(_num(ur, 0).str.replace(r"\.0$", ""))
    )

    def flc(col: str) -> pl.Expr:
        return (
            pl.when(pl.col("mgdl")).then(_num(pl.col(col) / 10, 2)).otherwise(_num(pl.col(col), 1))
        )

    flc_unit = pl.when(pl.col("mgdl")).then(pl.lit("mg/dL")).otherwise(pl.lit("mg/L"))
    parts = [
        ("m_serum", 0, "serum_m_protein", serum_text,
         pl.when(pl.col("g_l")).then(pl.lit("g/L")).otherwise(pl.lit("g/dL"))),
        ("m_urine", 1, "urine_m_protein", urine_text,
         pl.when(pl.col("g24")).then(pl.lit("g/24h")).otherwise(pl.lit("mg/24h"))),
        ("m_flc", 2, "kappa_flc", flc("kappa"), flc_unit),
        ("m_flc", 3, "lambda_flc", flc("lambda"), flc_unit),
        ("ife", 4, "serum_ife",
         pl.when(pl.col("ife_neg")).then(pl.lit("negative")).otherwise(pl.lit("positive")),
         pl.lit(None, pl.String)),
        ("uife", 5, "urine_ife", pl.lit("negative"), pl.lit(None, pl.String)),
        ("marrow", 6, "bm_plasma_cells", pl.col("bm_pc").cast(pl.String).str.replace(r"\.0$", ""),
         pl.lit("%")),
        ("clonal_on", 7, "bm_clonal_cells",
         pl.when(pl.col("clonal") == 1).then(pl.lit("negative")).otherwise(pl.lit("positive")),
         pl.lit(None, pl.String)),
    ]  # fmt: skip
    frame = frame.with_columns(clonal_on=pl.col("clonal") > 0)
    out = pl.concat(
        [
            frame.filter(pl.col(flag)).select(
                "__p",
                "day",
                pl.lit(order, pl.Int8).alias("__t"),
                pl.lit(test).alias("test"),
                value.alias("value"),
                unit.alias("unit"),
            )
            for flag, order, test, value, unit in parts
        ]
    )
    return out.sort("__p", "day", "__t").drop("__t")
