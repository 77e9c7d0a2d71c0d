"""What ``mmrwe --help`` and each command's help show (issue 19 items 5 and 6)."""

from __future__ import annotations

import typer.main

from mmrwe.cli.app import _register, app


def command():  # type: ignore[no-untyped-def]
    _register()
    return typer.main.get_command(app)


def option_help(name: str, option: str) -> str:
    cmd = command().commands[name]  # type: ignore[attr-defined]
    return next(p.help for p in cmd.params if option in getattr(p, "opts", ()))


def test_match_on_help_lists_every_characteristic() -> None:
    from mmrwe.compare.covariates import CHARACTERISTICS

    text = option_help("compare", "--match-on")
    for name in CHARACTERISTICS:
        assert name in text, name
