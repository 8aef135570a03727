"""Imports run one way: no module of recorder/, exporters/ or schemas/ imports itself
through others, counting every import (those inside functions and under TYPE_CHECKING
too), and loading a session's export does not load the whole pipeline."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("recorder", "exporters", "schemas")

# Modules on the import cycles of recorder/ that remain for now: being removed by the
# read-interface change. A cycle is tolerated only if all its modules are listed here.
KNOWN_CYCLE_MODULES: frozenset[str] = frozenset()


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {
        module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")
    }


def imported(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules that module ``name`` (at ``path``) imports anywhere in it."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from .x import y
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:  # from package import module, or a name in base
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return {target for target in found if target in modules and target != name}


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imported(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each
    given as one cycle through some of its modules, for the message."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_one_cycle(graph, component) for component in components]


def _one_cycle(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A path from the component's first module back to itself, inside the component."""
    start = min(component)
    paths = {start: [start]}
    todo = [start]
    while todo:
        node = todo.pop(0)
        for target in sorted(graph[node] & component):
            if target == start:
                return [*paths[node], start]
            if target not in paths:
                paths[target] = [*paths[node], target]
                todo.append(target)
    raise AssertionError(f"{sorted(component)} is not strongly connected")


def test_the_cycle_finder_finds_a_cycle_and_accepts_a_chain():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_the_graph_sees_imports_inside_functions():
    graph = import_graph()
    # exporters.workers imports the session's entry point only in the worker's main().
    assert "exporters.session" in graph["exporters.workers"]
    assert "recorder.errors" in graph["exporters.pipeline"]


def test_no_module_imports_itself_through_others():
    found = cycles(import_graph())
    new = [cycle for cycle in found if not set(cycle) <= KNOWN_CYCLE_MODULES]
    assert not new, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in new)


def test_the_exporters_modules_import_one_way():
    graph = import_graph()
    inside = {name for name in graph if name.partition(".")[0] == "exporters"}
    assert not cycles({name: graph[name] & inside for name in inside})
    for upper, lower in [
        ("exporters.pipeline", "exporters.workers"),
        ("exporters.workers", "exporters.session"),
        ("exporters.session", "exporters.sink"),
        ("exporters.session", "exporters.jobs"),
    ]:
        assert lower in graph[upper], f"{upper} does not import {lower}"


def test_a_sessions_export_does_not_load_the_pipeline():
    code = "import exporters.session, sys; print('exporters.pipeline' in sys.modules)"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert proc.stdout.strip() == "False"


def test_the_package_gives_its_names_on_first_use():
    code = (
        "import sys, exporters; from exporters import ExportOptions; "
        "print('exporters.pipeline' in sys.modules, ExportOptions.__module__); "
        "exporters.export; print('exporters.pipeline' in sys.modules)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert proc.stdout.split() == ["False", "exporters.jobs", "True"]
