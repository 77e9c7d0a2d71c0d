"""endpoints stage: time-to-event endpoints per line and their ADaM ADTTE form.

- :func:`derive_endpoints` → ``endpoints``: PFS, OS, TTNT, DOR, TTR and TTD per patient and
  line, each with its start and end date, time in days and months, event flag and the reason;
- :func:`to_adtte` → the same as a CDISC ADaM ADTTE dataset (CNSR 0 = event);
- :data:`ENDPOINTS` declares each endpoint as data; :class:`EndpointRules` holds the switches.

Rules: ``docs/endpoints.md``.
"""

from mmrwe.endpoints.adtte import ADTTE_SCHEMA, to_adtte
from mmrwe.endpoints.definitions import ENDPOINTS, REASONS, EndpointDefinition
from mmrwe.endpoints.derive import ENDPOINTS_SCHEMA, derive_endpoints
from mmrwe.endpoints.rules import EndpointRules

__all__ = [
    "ADTTE_SCHEMA",
    "ENDPOINTS",
    "ENDPOINTS_SCHEMA",
    "REASONS",
    "EndpointDefinition",
    "EndpointRules",
    "derive_endpoints",
    "to_adtte",
]
