"""ADaM datasets of a run (CDISC ADaM IG v1.3): ADSL, ADTTE and ADRS, as Parquet and SAS
transport v5.

- :func:`to_adsl` → one record per patient (demographics, disease at diagnosis, index line,
  prior lines, refractoriness at index, analysis flags);
- :func:`mmrwe.endpoints.to_adtte` → one record per patient, endpoint and line (BDS-TTE v1.0);
- :func:`to_adrs` → per-assessment (``OVR``) and per-line (``BOR``, ``RSP``, ``PD``) IMWG
  response records, as admiralonco's IMWG vignette lays them out;
- :func:`write_xpt` / :func:`read_xpt` → SAS transport v5 files (pyreadstat), with labels.

Variables and labels: :mod:`mmrwe.adam.metadata` and docs/adam.md.
"""

from mmrwe.adam.adrs import to_adrs
from mmrwe.adam.adsl import to_adsl
from mmrwe.adam.metadata import DATASETS, labels, schema
from mmrwe.adam.xpt import read_xpt, start_transport_files, write_transport_files, write_xpt

__all__ = [
    "DATASETS",
    "labels",
    "read_xpt",
    "schema",
    "start_transport_files",
    "to_adrs",
    "to_adsl",
    "write_transport_files",
    "write_xpt",
]
