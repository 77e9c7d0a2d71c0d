"""Imports every command module so that each registers its command on the app."""

from mmrwe.cli import demo, km, lines, response, simulate, validate  # noqa: F401
