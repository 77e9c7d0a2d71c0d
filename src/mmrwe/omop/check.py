"""``mmrwe omop check URL``: the data-quality view of an OMOP CDM for mmrwe's question.

The CDM version and schemas, the persons with myeloma, for each CDM table the rows of those
persons and how many mmrwe mapped, the drug names left unmapped (top 20), the codes of the concept
sets the CDM's vocabulary lacks, unit problems and rows outside every observation period. The same
numbers are the ``omop_mapping`` of a run's ``manifest.json`` (``inputs``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def omop_check(url: str | Path, concept_map: str | Path | None = None) -> dict[str, Any]:
    """Extract and validate the CDM at ``url`` as a run would; return its numbers, with the
    native validation's error and warning counts."""
    from mmrwe.omop.source import validate_omop

    cohort, report = validate_omop(url, concept_map=concept_map)
    if cohort is None:
        from mmrwe.errors import InvalidDataError

        raise InvalidDataError(report.summary(), report)
    source = dict(cohort.inputs[0])
    out = {k: v for k, v in source.items() if k not in ("table", "omop_mapping")}
    out["url"] = out.pop("file")
    out |= source["omop_mapping"]
    out["patients_read"] = cohort.n_patients
    out["validation"] = {"errors": report.n_errors(), "warnings": report.n_warnings()}
    return out
