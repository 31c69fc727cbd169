"""Check the shape of the source tree: no import cycles, no long modules, a core that never
imports the bot.

    .venv/bin/python scripts/check_structure.py [--root DIR]

Prints one line per violation and exits 1, or prints one summary line and exits 0. The
rules, over every ``*.py`` file below ``musicrec_core/`` and ``bot/``:

- **No import cycles** among those modules. Imports are read with :mod:`ast`, without
  importing anything: module-level imports, imports inside functions and imports inside
  ``if TYPE_CHECKING:`` blocks alike. The last two never run at import time, but a cycle
  they close still ties two modules' designs together, so it is reported like any other;
  the report marks each such edge ("in a function", "under TYPE_CHECKING") so that a
  cycle that only annotations close is told apart at a glance.
  ``import a.b`` depends on ``a.b``; ``from a import b``
  depends on the module ``a.b`` when there is one, else on ``a``; relative imports are
  resolved against the importing module's package. A package's ``__init__`` is not an
  implicit dependency of its submodules (Python has it half-initialised by then anyway).
  Imports by string (``importlib.import_module``) are not seen.
- **No module over** :data:`MAX_LINES` **lines.**
- **The core never imports** ``bot`` **or** ``discord``, wherever the import sits.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import deque
from collections.abc import Container, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = ("musicrec_core", "bot")
"""Top-level packages checked, as folders below the root."""

CORE = "musicrec_core"
FORBIDDEN_IN_CORE = ("bot", "discord")
MAX_LINES = 450


@dataclass(frozen=True)
class Import:
    """One imported module name, as written (absolute), and where."""

    target: str
    line: int
    in_function: bool
    type_checking: bool
    submodule_candidate: str | None = None
    """For ``from X import y``: ``X.y``, which wins over ``X`` when it is a module."""


@dataclass
class Module:
    """One source file: dotted name, path relative to the root, line count, imports."""

    name: str
    path: Path
    lines: int
    imports: list[Import] = field(default_factory=list)


def module_name(root: Path, path: Path) -> str:
    """``a/b/c.py`` -> ``a.b.c``; ``a/b/__init__.py`` -> ``a.b``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


class _ImportCollector(ast.NodeVisitor):
    """Every import of one module's tree, made absolute, with whether it sits in a
    function or under ``if TYPE_CHECKING:``."""

    def __init__(self, name: str, is_package: bool) -> None:
        self.package = name if is_package else name.rpartition(".")[0]
        self.imports: list[Import] = []
        self._function_depth = 0
        self._type_checking_depth = 0

    def _add(self, target: str, node: ast.stmt, candidate: str | None = None) -> None:
        self.imports.append(
            Import(
                target=target,
                line=node.lineno,
                in_function=self._function_depth > 0,
                type_checking=self._type_checking_depth > 0,
                submodule_candidate=candidate,
            )
        )

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            parts = self.package.split(".") if self.package else []
            keep = len(parts) - (node.level - 1)
            if keep <= 0:
                return  # beyond the top-level package: Python would refuse it
            base = ".".join(parts[:keep] + ([node.module] if node.module else []))
        else:
            base = node.module or ""
        for alias in node.names:
            candidate = None if alias.name == "*" else f"{base}.{alias.name}"
            self._add(base, node, candidate)

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._function_depth += 1
        self.generic_visit(node)
        self._function_depth -= 1

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        self.visit(node.test)
        self._type_checking_depth += 1
        for statement in node.body:
            self.visit(statement)
        self._type_checking_depth -= 1
        for statement in node.orelse:
            self.visit(statement)


def _is_type_checking(test: ast.expr) -> bool:
    """``TYPE_CHECKING`` or ``<anything>.TYPE_CHECKING``."""
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def collect(root: Path, packages: Sequence[str] = PACKAGES) -> tuple[dict[str, Module], list[str]]:
    """Every module below ``root/<package>``, with its imports; plus files that do not parse."""
    modules: dict[str, Module] = {}
    problems: list[str] = []
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            relative = path.relative_to(root)
            text = path.read_text(encoding="utf-8")
            name = module_name(root, path)
            module = Module(name, relative, len(text.splitlines()))
            try:
                tree = ast.parse(text, filename=str(relative))
            except SyntaxError as error:
                problems.append(f"{relative}:{error.lineno}: does not parse ({error.msg})")
                continue
            collector = _ImportCollector(name, path.name == "__init__.py")
            collector.visit(tree)
            module.imports = collector.imports
            modules[name] = module
    return modules, problems


def resolve(module_names: Container[str], item: Import) -> str:
    """The module an import depends on: ``X.y`` when that is a module, else ``X``."""
    if item.submodule_candidate is not None and item.submodule_candidate in module_names:
        return item.submodule_candidate
    return item.target


@dataclass(frozen=True)
class Edge:
    """Why one module depends on another: the import's line and where it sits."""

    line: int
    in_function: bool
    type_checking: bool

    @property
    def rank(self) -> tuple[bool, bool]:
        """Sorts module-level imports first, TYPE_CHECKING ones last."""
        return (self.type_checking, self.in_function)

    @property
    def note(self) -> str:
        if self.type_checking:
            return " under TYPE_CHECKING"
        return " in a function" if self.in_function else ""


def import_graph(modules: dict[str, Module]) -> dict[str, dict[str, Edge]]:
    """Edges between checked modules. Of several imports of one target the edge keeps the
    first that runs earliest: module level, then in a function, then under TYPE_CHECKING."""
    graph: dict[str, dict[str, Edge]] = {name: {} for name in modules}
    for name, module in modules.items():
        for item in module.imports:
            target = resolve(modules, item)
            if target not in modules:
                continue
            edge = Edge(item.line, item.in_function, item.type_checking)
            known = graph[name].get(target)
            if known is None or edge.rank < known.rank:
                graph[name][target] = edge
    return graph


def strongly_connected(graph: dict[str, dict[str, Edge]]) -> list[list[str]]:
    """Tarjan's components with more than one module, or one module importing itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(start: str) -> None:
        nonlocal counter
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    found.append(sorted(component))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return sorted(found)


def shortest_cycle(graph: dict[str, dict[str, Edge]], component: list[str]) -> list[str]:
    """A shortest cycle through the component's first module: [a, b, ..., a]."""
    start = component[0]
    members = set(component)
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for successor in sorted(graph[node]):
            if successor not in members:
                continue
            if successor == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [*reversed(path), start]
            if successor not in previous:
                previous[successor] = node
                queue.append(successor)
    raise AssertionError("a component without a cycle")  # pragma: no cover


def check(root: Path, packages: Sequence[str] = PACKAGES) -> list[str]:
    """Every violation below ``root``, one line each, in a stable order."""
    modules, violations = collect(root, packages)
    graph = import_graph(modules)
    for component in strongly_connected(graph):
        cycle = shortest_cycle(graph, component)
        where = []
        for source, target in zip(cycle, cycle[1:], strict=False):
            edge = graph[source][target]
            where.append(f"{modules[source].path}:{edge.line}{edge.note}")
        extra = (
            f" ({len(component)} modules in the knot)" if len(component) > len(cycle) - 1 else ""
        )
        violations.append(f"import cycle: {' -> '.join(cycle)} [{', '.join(where)}]{extra}")
    for module in modules.values():
        if module.lines > MAX_LINES:
            violations.append(f"{module.path}: {module.lines} lines (limit {MAX_LINES})")
    for module in modules.values():
        if module.name.split(".")[0] != CORE:
            continue
        for item in module.imports:
            top = resolve(modules, item).split(".")[0]
            if top in FORBIDDEN_IN_CORE:
                violations.append(
                    f"{module.path}:{item.line}: the core imports {resolve(modules, item)}"
                )
    return violations


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--root",
        type=Path,
        default=Path(__file__).resolve().parents[1],
        help="the repository (default: the one holding this script)",
    )
    args = parser.parse_args(argv)
    violations = check(args.root)
    for line in violations:
        print(line)
    if violations:
        return 1
    print(
        f"structure ok: no import cycles, no module over {MAX_LINES} lines, "
        f"{CORE} imports no {' or '.join(FORBIDDEN_IN_CORE)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
