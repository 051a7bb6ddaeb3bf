"""House measures of issue 12, so that the figures in docs/house.md can be checked again.

``python -m tools.house`` prints the functions of 60 lines or more and the ``type: ignore``
comments in the production code (``services/``, ``schemas/``, ``tools/``). The duplicate pairs
come from the workplace's ``duplicates`` command; ruff's complexity rule (C901) runs in
``make test``.
"""

from __future__ import annotations

import argparse
import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = ("services", "schemas", "tools")
LONG_FUNCTION_LINES = 60
TYPE_IGNORE = re.compile(r"#\s*type:\s*ignore")


@dataclass(frozen=True)
class LongFunction:
    path: str
    line: int
    name: str
    lines: int


def python_files(root: Path, folders: tuple[str, ...] = PRODUCTION) -> Iterator[Path]:
    for folder in folders:
        yield from sorted((root / folder).rglob("*.py"))


def long_functions(root: Path = ROOT, limit: int = LONG_FUNCTION_LINES) -> list[LongFunction]:
    """Every function (nested ones included) of ``limit`` lines or more, longest first."""
    found = []
    for path in python_files(root):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines >= limit:
                    relative = str(path.relative_to(root))
                    found.append(LongFunction(relative, node.lineno, node.name, lines))
    return sorted(found, key=lambda function: -function.lines)


def type_ignores(root: Path = ROOT) -> list[str]:
    """``path:line`` of every comment that silences mypy."""
    return [
        f"{path.relative_to(root)}:{number}"
        for path in python_files(root)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if TYPE_IGNORE.search(line)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.house", description=__doc__)
    parser.parse_args(argv)
    functions = long_functions()
    for function in functions:
        print(f"{function.lines:4d}  {function.path}:{function.line}  {function.name}")
    ignores = type_ignores()
    for place in ignores:
        print(f"type-ignore  {place}")
    print(
        f"functions of {LONG_FUNCTION_LINES}+ lines: {len(functions)}; type ignores: {len(ignores)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
