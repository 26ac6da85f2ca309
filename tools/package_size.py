"""Lines of Python in the package, by folder, and the share of them that check inputs.

A line checks inputs when it is in an ``if`` whose body raises (the test and the body up to its last
statement), an ``except`` handler that raises, an ``assert``, a function named ``check*``,
``validate*``, ``require*``, ``ensure*`` or ``parse*``, or one named ``*_problem`` (it returns the
reason its caller raises or warns with). Blank lines, comments and docstrings count
as lines, as ``wc -l`` counts them.

    python tools/package_size.py                  # the table
    python tools/package_size.py --max-lines 9360 --max-check-share 0.08   # exit 1 over either
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import Counter
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "siamfc"
CHECK_PREFIXES = ("check", "validate", "require", "ensure", "parse")


def check_lines(tree: ast.AST) -> set[int]:
    """The line numbers of ``tree`` that check inputs (see the module's docstring)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and any(isinstance(s, ast.Raise) for s in node.body):
            lines.update(range(node.lineno, node.body[-1].end_lineno + 1))
        elif isinstance(node, ast.ExceptHandler) and any(isinstance(s, ast.Raise) for s in node.body):
            lines.update(range(node.lineno, node.end_lineno + 1))
        elif isinstance(node, ast.Assert) or (isinstance(node, ast.FunctionDef) and (
                node.name.lstrip("_").startswith(CHECK_PREFIXES) or node.name.endswith("_problem"))):
            lines.update(range(node.lineno, node.end_lineno + 1))
    return lines


def measure(package: Path = PACKAGE) -> tuple[Counter, Counter]:
    """Lines and checking lines per top-level folder (or file) of ``package``."""
    lines, checks = Counter(), Counter()
    for path in sorted(package.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        part = path.relative_to(package).parts[0]
        lines[part] += len(source.splitlines())
        checks[part] += len(check_lines(ast.parse(source)))
    return lines, checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-lines", type=int, help="exit 1 when the package has more lines")
    parser.add_argument("--max-check-share", type=float, help="exit 1 when a larger share of lines checks inputs")
    args = parser.parse_args(argv)
    lines, checks = measure()
    for part in sorted(lines, key=lambda p: -lines[p]):
        print(f"{part:20s} {lines[part]:6d} lines  {checks[part]:5d} checking")
    total, checking = sum(lines.values()), sum(checks.values())
    share = checking / total
    print(f"{'siamfc/':20s} {total:6d} lines  {checking:5d} checking ({share:.1%})")
    over = (args.max_lines is not None and total > args.max_lines) or (
        args.max_check_share is not None and share >= args.max_check_share)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
