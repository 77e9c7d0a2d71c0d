"""Imports every command module so that each registers its command on the app."""

from mmrwe.cli import (  # noqa: F401
    compare,
    demo,
    km,
    lines,
    omop,
    reconstruct,
    response,
    run,
    simulate,
    validate,
)
