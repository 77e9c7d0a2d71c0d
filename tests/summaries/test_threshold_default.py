"""The small-cell threshold has one default, mmrwe.privacy.SMALL_CELL_THRESHOLD (issue 13 item 6).

A summary function that writes its own ``11`` keeps suppressing at 11 when the project's
constant changes: the tables and the figures would then disagree. Checked on the source, as a
default value cannot tell a literal from the constant.
"""

from __future__ import annotations

import ast
from pathlib import Path

import mmrwe

SRC = Path(mmrwe.__file__).parent


def _literal_threshold_defaults() -> list[str]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            args = node.args
            positional = args.posonlyargs + args.args
            pairs = list(
                zip(positional[len(positional) - len(args.defaults) :], args.defaults, strict=True)
            )
            pairs += [
                (a, d)
                for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
                if d is not None
            ]
            found += [
                f"{path.relative_to(SRC)}:{node.lineno} {node.name}({arg.arg}={default.value})"
                for arg, default in pairs
                if "threshold" in arg.arg
                and isinstance(default, ast.Constant)
                and isinstance(default.value, int)
                and default.value > 0
            ]
    return found


def test_no_function_writes_its_own_small_cell_threshold() -> None:
    assert _literal_threshold_defaults() == []
