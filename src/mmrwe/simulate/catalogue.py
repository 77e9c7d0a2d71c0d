"""The regimen catalogue as arrays, for vectorised drawing (one column per regimen)."""

from __future__ import annotations

import numpy as np

from mmrwe.simulate.names import DRUG_CODE, STEROIDS
from mmrwe.simulate.parameters import day
from mmrwe.simulate.regimens import ANTI_CD38, BRIDGING, IMID, PI, REGIMENS

#: First-line availability where it differs from relapse (D-Rd in newly diagnosed: MAIA, 2019-06).
FIRST_LINE_AVAILABLE = {"D-Rd": "2019-06"}
#: Weight multipliers at relapse for regimens mostly given first line.
RELAPSE_WEIGHT_FACTOR = {"VRd": 0.25, "CyBorD": 0.3}


def drug_mask(drugs: tuple[str, ...] | list[str]) -> int:
    """Bit mask of the non-steroid drugs (bit = the drug's code in :data:`DRUG_CODE`)."""
    return sum(1 << DRUG_CODE[d] for d in set(drugs) if d not in STEROIDS)


NAMES = np.array([r.name for r in REGIMENS])
MASK = np.array([drug_mask(r.drugs) for r in REGIMENS], dtype=np.uint64)
WEIGHT = np.array([r.weight for r in REGIMENS])
RELAPSE_WEIGHT = np.array([RELAPSE_WEIGHT_FACTOR.get(r.name, 1.0) for r in REGIMENS])
EFFICACY = np.array([r.efficacy for r in REGIMENS])
AVAILABLE = np.array([day(r.available) for r in REGIMENS])
AVAILABLE_FIRST = np.array([day(FIRST_LINE_AVAILABLE.get(r.name, r.available)) for r in REGIMENS])
WITHDRAWN = np.array([day(r.withdrawn) for r in REGIMENS])
FIRST_TE = np.array([r.first_te for r in REGIMENS])
FIRST_NTE = np.array([r.first_nte for r in REGIMENS])
RELAPSE = np.array([r.relapse for r in REGIMENS])
MIN_PRIOR = np.array([r.min_prior_lines for r in REGIMENS])
NEEDS_TCE = np.array([r.needs_tce for r in REGIMENS])
CAR_T = np.array([r.car_t for r in REGIMENS])
FIXED_DAYS = np.array([r.fixed_days for r in REGIMENS])
FAST = np.array(
    [r.car_t or r.name in ("teclistamab", "elranatamab", "talquetamab") for r in REGIMENS]
)
#: cumulative response probabilities, order PD, SD, MR, PR, VGPR, CR, sCR
RESPONSE_CUM = np.cumsum(np.array([r.response_probabilities() for r in REGIMENS]), axis=1)
RESPONSE_CUM[:, -1] = 1.0

IMID_MASK = np.uint64(drug_mask(IMID))
PI_MASK = np.uint64(drug_mask(PI))
CD38_MASK = np.uint64(drug_mask(ANTI_CD38))
BRIDGE_MASK = np.array([drug_mask(d) for d, _ in BRIDGING], dtype=np.uint64)
BRIDGE_CUM = np.cumsum([w for _, w in BRIDGING]) / sum(w for _, w in BRIDGING)
LYMPHODEPLETION_MASK = np.uint64(drug_mask(("fludarabine", "cyclophosphamide")))
ASCT_EXTRA_MASK = np.uint64(drug_mask(("melphalan",)))
CY_MASK = np.uint64(drug_mask(("cyclophosphamide",)))
LEN_MASK = np.uint64(drug_mask(("lenalidomide",)))


def draw_index(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Row-wise categorical draw: first column whose cumulative probability exceeds ``u``."""
    return (cum < u[:, None]).sum(axis=1)
