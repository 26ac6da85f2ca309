"""The package's shape: no import cycles, small tracking modules, a fast ``siamfc --help``."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
import time
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "siamfc"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def top_level_imports(path: Path, modules: set[str]) -> set[str]:
    """The siamfc modules ``path`` imports when it is imported (not inside functions or under
    ``if TYPE_CHECKING``), relative imports resolved; ``from X import name`` counts ``X.name`` when
    that is a module, else ``X``."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If):
                if "TYPE_CHECKING" not in ast.unparse(node.test):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, (ast.Try, ast.With)):
                visit(node.body)
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                for alias in node.names:
                    found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)

    visit(ast.parse(path.read_text()).body)
    return {m for m in found if m in modules and m != name}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as the list of its modules (first repeated last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := walk(nxt)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := walk(start)) is not None:
            return cycle
    return None


def test_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles() -> None:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {name: top_level_imports(path, set(modules)) for name, path in modules.items()}
    assert find_cycle(graph) is None


def test_tracking_modules_are_small() -> None:
    sizes = {p.name: len(p.read_text().splitlines()) for p in (PACKAGE / "tracking").rglob("*.py")}
    assert {name: n for name, n in sizes.items() if n > 250} == {}


def test_help_is_fast() -> None:
    """``siamfc --help`` imports no heavy library: best of three under 0.5 s (a loaded machine
    slows one run, seldom three)."""
    script = Path(sys.executable).with_name("siamfc")
    command = [str(script)] if script.is_file() else [sys.executable, "-m", "siamfc.cli.main"]
    best = float("inf")
    for _ in range(3):
        tic = time.perf_counter()
        subprocess.run([*command, "--help"], check=True, capture_output=True)
        best = min(best, time.perf_counter() - tic)
    assert best < 0.5


def _package_size():
    spec = importlib.util.spec_from_file_location("package_size", PACKAGE.parent / "tools" / "package_size.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_check_lines_counts_raising_ifs_handlers_asserts_and_check_functions() -> None:
    source = "\n".join([
        "def check_x(x):",  # 1-2: a check* function
        "    return x",
        "def f(x):",
        "    if x:",  # 4-6: an if whose body raises
        "        y = 1",
        "        raise ValueError(x)",
        "    try:",
        "        pass",
        "    except OSError:",  # 9-10: a handler that raises
        "        raise",
        "    assert x",  # 11
        "    if x:",  # not counted: the body does not raise
        "        return 1",
        "def box_problem(b):",  # 14-15: returns the reason its caller raises
        "    return None",
    ])
    assert _package_size().check_lines(ast.parse(source)) == {1, 2, 4, 5, 6, 9, 10, 11, 14, 15}


def test_package_within_its_size_budget() -> None:
    """Issue #25's budget: at most 9,360 lines under siamfc/, under 8% of them checking inputs
    (``python tools/package_size.py`` lists them by folder)."""
    lines, checks = _package_size().measure(PACKAGE)
    total = sum(lines.values())
    assert total <= 9360
    assert sum(checks.values()) / total < 0.08
