"""The ``mmrwe`` command: one Typer app, one module per command.

Exit codes (``docs/cli.md``): 0 success, 2 usage error, 1 invalid data or a failed run. Errors
are one readable paragraph on stderr; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import sys

import typer
from rich.text import Text
from typer.core import TyperGroup, TyperOption

from mmrwe import __version__
from mmrwe.cli.common import state, stderr
from mmrwe.errors import MmrweError

#: commands in the order of the work (``--help`` lists them so); ``demo`` runs them all
WORKFLOW = (
    "demo",
    "simulate",
    "validate",
    "lines",
    "response",
    "run",
    "compare",
    "reconstruct-ipd",
    "km",
)
#: options of the whole command that may also be given after the subcommand
GLOBAL_FLAGS = ("-q", "--quiet", "--debug")


class WorkflowGroup(TyperGroup):
    """The command group listing its commands in workflow order (Click sorts by name)."""

    def list_commands(self, ctx: typer.Context) -> list[str]:
        names = super().list_commands(ctx)
        return sorted(
            names, key=lambda n: (WORKFLOW.index(n) if n in WORKFLOW else len(WORKFLOW), n)
        )


def _flag_type(self: TyperOption, ctx: typer.Context) -> str | None:
    """No type shown for on/off flags (``--overwrite``, not ``--overwrite <bool>``)."""
    return None if self.is_flag else _option_type(self, ctx)


_option_type = TyperOption.display_type_rich
TyperOption.display_type_rich = _flag_type  # type: ignore[method-assign]


def global_flags_first(args: list[str]) -> list[str]:
    """``mmrwe run DIR -q`` as ``mmrwe -q run DIR``: the global flags moved before the
    subcommand (up to a ``--``, after which everything is an argument)."""
    end = args.index("--") if "--" in args else len(args)
    flags = [a for a in args[:end] if a in GLOBAL_FLAGS]
    rest = [a for a in args[:end] if a not in GLOBAL_FLAGS]
    return flags + rest + args[end:]


app = typer.Typer(
    name="mmrwe",
    cls=WorkflowGroup,
    help="Real-world evidence in relapsed/refractory multiple myeloma.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mmrwe {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or messages."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors."),
) -> None:
    state.quiet = quiet
    state.debug = debug


def _register() -> None:
    """Import the command modules; each adds its command to ``app``."""
    from mmrwe.cli import commands  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``mmrwe`` console script; returns the exit code."""
    _register()
    args = global_flags_first(list(sys.argv[1:] if argv is None else argv))
    try:
        app(args=args, prog_name="mmrwe", standalone_mode=True)
    except SystemExit as exc:  # Typer's own exits: success, usage errors (2), typer.Exit(n)
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except MmrweError as exc:
        if state.debug:
            raise
        hint = f" {exc.cli_hint}" if exc.cli_hint else ""
        stderr.print(Text.assemble(("error: ", "red"), str(exc) + hint))
        return 1
    except Exception as exc:
        if state.debug:
            raise
        stderr.print(
            Text.assemble(
                ("error: ", "red"),
                f"unexpected {type(exc).__name__}: {exc}. "
                "This is a defect in mmrwe; rerun with --debug and report the traceback.",
            )
        )
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
