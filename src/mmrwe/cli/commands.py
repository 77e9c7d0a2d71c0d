"""Imports every command module so that each registers its command on the app."""

from mmrwe.cli import demo, simulate, validate  # noqa: F401
