"""The ``mmrwe`` command: one Typer app, one module per command.

Exit codes (``docs/cli.md``): 0 success, 2 usage error, 1 invalid data or a failed run. Errors
are one readable paragraph on stderr; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import sys

import typer
from rich.text import Text

from mmrwe import __version__
from mmrwe.cli.common import state, stderr
from mmrwe.errors import MmrweError

app = typer.Typer(
    name="mmrwe",
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
    try:
        app(args=argv, prog_name="mmrwe", standalone_mode=True)
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
