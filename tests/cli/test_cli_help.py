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


def help_text(*args: str) -> str:
    from typer.testing import CliRunner

    _register()
    result = CliRunner().invoke(app, [*args, "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.output


def test_commands_are_listed_in_workflow_order() -> None:
    import re

    listed = re.findall(r"^│ ([a-z][a-z-]*) ", help_text(), flags=re.MULTILINE)
    order = ["simulate", "validate", "lines", "response", "run", "compare", "reconstruct-ipd", "km"]
    assert [n for n in listed if n in order] == order


def test_flags_show_no_type() -> None:
    for args in ((), ("run",), ("simulate",), ("km",), ("compare",)):
        assert "<bool>" not in help_text(*args), args


def test_every_option_of_every_command_has_help() -> None:
    group = command()
    missing = [
        f"{name} {param.opts[0]}"
        for name, cmd in group.commands.items()  # type: ignore[attr-defined]
        for param in cmd.params
        if getattr(param, "param_type_name", "") == "option" and not (param.help or "").strip()
    ]
    missing += [f"mmrwe {p.opts[0]}" for p in group.params if not (p.help or "").strip()]
    assert not missing


def test_quiet_before_or_after_the_subcommand(tmp_path, capsys) -> None:
    from mmrwe.cli.app import main

    assert main(["simulate", "--out", str(tmp_path / "a"), "--patients", "5"]) == 0
    loud = capsys.readouterr()
    assert loud.out or loud.err  # without -q the command says what it wrote
    for i, args in enumerate(
        (["-q", "simulate", "--out"], ["simulate", "-q", "--out"], ["simulate", "--quiet", "--out"])
    ):
        assert main([*args, str(tmp_path / f"q{i}"), "--patients", "5"]) == 0
        said = capsys.readouterr()
        assert said.out == "" and said.err == "", args
