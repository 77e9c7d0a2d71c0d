"""The rules of line-of-therapy derivation, as one frozen configuration object.

Defaults follow the IMWG consensus on uniform reporting (Rajkumar SV et al., Blood
2011;117:4691-4695: a line is one or more complete cycles of a single agent, a combination, or a
planned sequential therapy such as induction, transplant, consolidation and maintenance) and
Rajkumar SV et al., Blood 2015;126:921-922, with the windows used by real-world claims and EHR
algorithms. Every day count is inclusive: "within 28 days" means a start 28 days after the line
start joins the regimen and one 29 days after does not.

A study configuration overrides them in its ``[lines]`` TOML section.
"""

from __future__ import annotations

import polars as pl
from pydantic import BaseModel, ConfigDict, Field


class LineRules(BaseModel):
    """Parameters of rules 1-10 (``docs/lines.md``). Days are calendar days, inclusive."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    regimen_window_days: int = Field(
        28,
        ge=0,
        description="Rule 1. Anti-myeloma drugs started at most this many days after a line's start "
        "belong to its regimen (one 28-day cycle; Rajkumar 2011).",
    )
    gap_days: int = Field(
        90,
        ge=0,
        description="Rule 4. When the next start is more than this many days after the latest end of "
        "all anti-myeloma exposures so far, it opens a new line, even for the same drugs "
        "(retreatment).",
    )
    asct_window_days: int = Field(
        365,
        ge=0,
        description="Rule 5. An autologous transplant at most this many days after a line's start is "
        "part of that line (planned sequential therapy; Rajkumar 2011).",
    )
    conditioning_days: int = Field(
        14,
        ge=0,
        description="Rule 5. Conditioning drugs started at most this many days before an ASCT belong "
        "to the transplant.",
    )
    mobilisation_days: int = Field(
        60,
        ge=0,
        description="Rule 5. Mobilisation drugs started at most this many days before an ASCT belong "
        "to the transplant.",
    )
    maintenance_window_days: int = Field(
        180,
        ge=0,
        description="Rule 5. Consolidation or maintenance started at most this many days after the "
        "last ASCT of a line belongs to that line, whatever its drugs (planned sequential "
        "therapy, Rajkumar SV et al., Blood 2015;126:921), unless a progression (recorded or lab "
        "PD) is documented between the ASCT and its start: relapse ends the planned sequence. "
        "Maintenance after two consolidation cycles starts about day +120 to +180 (IFM 2009, "
        "Attal M et al., N Engl J Med 2017;376:1311; EMN02/HO95, Cavo M et al., Lancet Haematol "
        "2020;7:e456; StaMINA, Stadtmauer EA et al., J Clin Oncol 2019;37:589).",
    )
    bridging_window_days: int = Field(
        60,
        ge=0,
        description="Rule 6. Anti-myeloma drugs started at most this many days before a CAR-T "
        "infusion are bridging therapy and belong to the CAR-T line.",
    )
    lymphodepletion_days: int = Field(
        14,
        ge=0,
        description="Rule 6. Lymphodepleting drugs started at most this many days before a CAR-T "
        "infusion belong to it and do not move the line's start.",
    )
    leukapheresis_window_days: int = Field(
        120,
        ge=0,
        description="Rule 6. A leukapheresis at most this many days before a CAR-T infusion starts "
        "the CAR-T line (vein-to-vein times in published cohorts are 1-3 months; mmrwe default).",
    )
    car_t_index: str = Field(
        "infusion",
        pattern="^(infusion|line_start)$",
        description="Rule 6. Date from which CAR-T response and endpoints are measured: the "
        "infusion (as published CAR-T cohorts) or the line start.",
    )
    conditioning_drugs: tuple[str, ...] = Field(
        ("melphalan", "busulfan", "carmustine"),
        description="Rule 5. Generic names of conditioning drugs.",
    )
    mobilisation_drugs: tuple[str, ...] = Field(
        ("cyclophosphamide", "plerixafor", "filgrastim", "pegfilgrastim", "lenograstim"),
        description="Rule 5. Generic names of stem-cell mobilisation drugs.",
    )
    lymphodepletion_drugs: tuple[str, ...] = Field(
        ("fludarabine", "cyclophosphamide"),
        description="Rule 6. Generic names of lymphodepleting drugs.",
    )
    refractory_window_days: int = Field(
        60,
        ge=0,
        description="Refractoriness: progression on a drug or at most this many days after its last "
        "dose (IMWG; Rajkumar 2011).",
    )


#: ``line_exposures.role``: why an exposure that is not the line's own regimen is listed in
#: the line (rules 5 and 6); the line's own drugs have the empty role
ROLE_REGIMEN = ""
ROLE_PREPARATION = "conditioning/mobilisation"
ROLE_LYMPHODEPLETION = "lymphodepletion"
ROLE_BRIDGING = "bridging"


def index_date_expr(car_t_index: str) -> pl.Expr:
    """The date from which a line's response and endpoints are measured (rule 6): the line's
    start, or for a CAR-T line with an infusion the infusion when ``car_t_index = "infusion"``.
    Reads the ``lines`` columns ``start_date``, ``includes_car_t`` and ``infusion_date``."""
    if car_t_index == "infusion":
        return (
            pl.when(pl.col("includes_car_t") & pl.col("infusion_date").is_not_null())
            .then(pl.col("infusion_date"))
            .otherwise(pl.col("start_date"))
        )
    return pl.col("start_date")
