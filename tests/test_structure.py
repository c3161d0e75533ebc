"""The package's shape: no import cycle, no module over 700 lines.

**Import cycles.**  Every module under ``simulator/`` is parsed with :mod:`ast`
(nothing is imported) and the graph of its *module-level* imports is built:
statements that run when the module is imported -- at the top, or inside a
module-level ``if``/``try``/``with`` or a class body.  ``import a.b.c`` and
``from a.b import c`` also run the packages ``a`` and ``a.b`` (their
``__init__``), so the importer gets an edge to those too, except to its own
enclosing packages (they are initialised before it).  ``from p import name``
is an edge to ``p.name`` when that is a module, else to ``p``.  Relative
imports are resolved against the importing module.  Any cycle fails the test,
named module by module.

Imports inside functions (and under ``if TYPE_CHECKING:``) are **not** counted:
a function's imports run when it is called, after every module involved has
finished importing, so they cannot meet a half-initialised module -- the failure
an import cycle causes -- and the project uses them on purpose to keep heavy
dependencies (torch, transformers, dask) and the command line's start fast.

**Module size.**  Every ``.py`` file under ``simulator/`` has at most
:data:`MAX_LINES` lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "simulator"
MAX_LINES = 700

#: TEMPORARY (issue 11): orbits/contacts.py is being split right now and its contact
#: search, moved to contact_search.py, is still over the limit.  Remove the entry when
#: that split lands; no other module may be added here.  (results.py and sweep.py,
#: split at the same time, are already within the limit.)
OVERSIZE_ALLOWED = {
    "simulator/orbits/contact_search.py",
}


def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return ((isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
            or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def _import_time_statements(body: list[ast.stmt]):
    """The import statements of ``body`` that run at import time (not in functions)."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _import_time_statements(node.body)
            yield from _import_time_statements(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody,
                          *(h.body for h in node.handlers)):
                yield from _import_time_statements(block)
        elif isinstance(node, (ast.With, ast.AsyncWith, ast.For, ast.While, ast.ClassDef)):
            yield from _import_time_statements(node.body)
            yield from _import_time_statements(getattr(node, "orelse", []))


def _targets(module: str, is_package: bool, node: ast.stmt, known: set[str]) -> set[str]:
    """The project modules an import statement in ``module`` runs."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            prefix = ".".join(base + ([node.module] if node.module else []))
        else:
            prefix = node.module or ""
        names = [prefix]
        names += [f"{prefix}.{alias.name}" for alias in node.names
                  if f"{prefix}.{alias.name}" in known]
    out = set()
    for name in names:
        parts = name.split(".")
        for k in range(1, len(parts) + 1):  # the packages on the way, then the module
            candidate = ".".join(parts[:k])
            if candidate in known:
                out.add(candidate)
    own = module.split(".")
    ancestors = {".".join(own[:k]) for k in range(1, len(own) + 1)}
    return out - ancestors


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules its module-level imports run."""
    modules = _modules()
    known = set(modules)
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges: set[str] = set()
        for node in _import_time_statements(tree.body):
            edges |= _targets(name, path.name == "__init__.py", node, known)
        graph[name] = edges
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per tangle (:func:`tangles`), each as a path ``[a, b, ..., a]``."""
    return [_cycle_in(graph, component) for component in tangles(graph)]


def tangles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components with more than one module (or a self-import):
    every module in one lies on a cycle.  Tarjan's algorithm, iterative."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
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
                        components.append(set(component))
    return components


def _cycle_in(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest cycle through the component's first module (breadth-first)."""
    start = min(component)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & component):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start] if node != start else [start, start]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"no cycle in {component}")


def test_no_import_cycle():
    graph = import_graph()
    found = tangles(graph)
    assert not found, "module-level import cycles:\n" + "\n".join(
        f"  {' -> '.join(_cycle_in(graph, c))}  (all on cycles: {', '.join(sorted(c))})"
        for c in found)


def test_no_module_over_700_lines():
    sizes = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        with path.open("rb") as handle:
            sizes[path.relative_to(PACKAGE.parent).as_posix()] = sum(1 for _ in handle)
    over = {name: n for name, n in sizes.items() if n > MAX_LINES}
    offenders = {name: n for name, n in over.items() if name not in OVERSIZE_ALLOWED}
    assert not offenders, f"modules over {MAX_LINES} lines: " + ", ".join(
        f"{name} ({n})" for name, n in sorted(offenders.items(), key=lambda kv: -kv[1]))


def test_the_checks_find_what_they_look_for():
    """The cycle finder names a cycle; the graph resolves relative and package imports."""
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []
    assert find_cycles({"a": {"a"}}) == [["a", "a"]]
    graph = import_graph()
    assert "simulator.errors" in graph["simulator.scenario_blocks"]
    # a package's own __init__ is not an edge of its modules; another package's is
    assert "simulator.links" not in graph["simulator.links.build"]
    assert {"simulator.orbits", "simulator.orbits.geometry"} <= graph["simulator.links.capacity"]
    # imports inside functions are not counted (world imports results only in run_scenario)
    assert "simulator.results" not in graph["simulator.engine.world"]
