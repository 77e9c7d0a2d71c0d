"""Imports every command module so that each registers its command on the app."""

from mmrwe.cli import demo, km, lines, reconstruct, response, run, simulate, validate  # noqa: F401
