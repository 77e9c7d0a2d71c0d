"""The ``mmrwe`` command-line interface (Typer + Rich)."""
