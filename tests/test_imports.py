"""The top of a file shows what it depends on: imports point down the rooms (docs/architecture.md), no circle
inside a room, and a function imports only a heavy optional library, each with its reason below."""

from __future__ import annotations

import ast
from collections import defaultdict
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: room -> the rooms it may import ("sweattest" itself: the version). Imports point down only.
MAY_IMPORT: dict[str, set[str]] = {
    "sweattest.core": set(),
    "drivers": {"sweattest.core"},
    "sweattest.record": {"sweattest.core"},
    "sweattest.outputs": {"sweattest.core", "sweattest.record"},
    "sweattest.bench": {"sweattest.core", "sweattest.record", "sweattest.outputs", "drivers"},
    "sweattest.lis": {"sweattest.core", "sweattest.record", "sweattest.outputs", "sweattest.bench"},
    "sweattest.qa": {"sweattest", "sweattest.core", "sweattest.record", "sweattest.outputs"},
    "sweattest.web": {"sweattest", "sweattest.core", "sweattest.record", "sweattest.outputs", "sweattest.bench",
                      "sweattest.qa"},
    "sweattest.cli": {"sweattest", "sweattest.core", "sweattest.record", "sweattest.outputs", "sweattest.bench",
                      "sweattest.qa", "sweattest.lis", "sweattest.web", "drivers"},
    "sweattest.__main__": {"sweattest.cli"},
}

#: (module, library or the module it imports) -> why it is imported where it is used, not at the top of the module
HEAVY: dict[tuple[str, str], str] = {
    ("sweattest.outputs.report.pdf", "weasyprint"): "WeasyPrint loads Pango, fonts and its CSS engine; only a PDF "
                                                    "needs it",
    ("sweattest.qa.qc_chart", "matplotlib"): "matplotlib loads its backends and font cache; only a chart needs it",
    ("sweattest.qa.runs", "pyarrow"): "optional (the parquet extra); only a Parquet export needs it",
    ("sweattest.cli.serve", "uvicorn"): "the web server; only `sweattest serve` needs it, not every command",
    ("sweattest.cli.serve", "sweattest.web.app"): "the web app loads pandas (QA pages) and starlette; it loads while "
                                                  "the station's process starts, and `sweattest --help` skips it",
    ("sweattest.outputs.lims.formats", "sweattest.outputs.lims.fhir"): "its fhir.resources models take 1.5 s to "
                                                                       "import; only a FHIR file needs them",
}


@cache
def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted([*(ROOT / "sweattest").rglob("*.py"), *(ROOT / "drivers").rglob("*.py")]):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


@cache
def _trees() -> dict[str, ast.Module]:
    return {name: ast.parse(path.read_text(encoding="utf-8"), str(path)) for name, path in _modules().items()}


def _targets(node: ast.Import | ast.ImportFrom, importer: str) -> list[str]:
    """What an import statement loads: ``from package import submodule`` loads the submodule."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = importer.split(".")
        if _modules()[importer].name != "__init__.py":
            package.pop()
        base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
    modules = _modules()
    loaded = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules]
    return loaded if len(loaded) == len(node.names) else [base, *loaded]


def _function_imports() -> list[tuple[str, str, int]]:
    """(module, imported module, line) of every import inside a function or a class."""
    found = []
    for name, tree in _trees().items():
        for scope in ast.walk(tree):
            if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                for node in ast.walk(scope):
                    if isinstance(node, ast.Import | ast.ImportFrom):
                        found += [(name, target, node.lineno) for target in _targets(node, name)]
    return sorted(set(found))


def _loaded(name: str, target: str) -> set[str]:
    """The project modules that importing ``target`` from ``name`` runs: the module and the packages above it
    (their ``__init__``), except the packages ``name`` is inside already."""
    parts = target.split(".")
    loaded = {".".join(parts[:n]) for n in range(2, len(parts) + 1)}
    return {t for t in loaded if t in _modules() and t != name and not (name + ".").startswith(t + ".")}


def _top_imports() -> dict[str, set[str]]:
    """Module -> what its top (outside any function or class) imports: project modules and libraries."""
    found = defaultdict(set)
    for name, tree in _trees().items():
        scopes = [tree]
        while scopes:
            for node in ast.iter_child_nodes(scopes.pop()):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    found[name] |= set(_targets(node, name)) | _loaded(name, _targets(node, name)[0])
                elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    scopes.append(node)  # an import under ``try`` or ``if`` runs with the module
    return found


def _graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports, wherever the import statement is. Importing ``a.b.c`` also
    runs the package ``a.b`` (its ``__init__``) unless the importer is inside it already (the top packages
    ``sweattest`` and ``drivers`` hold nothing that imports)."""
    graph = defaultdict(set)
    for name, tree in _trees().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for target in _targets(node, name):
                    graph[name] |= _loaded(name, target)
    return graph


def _room(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "sweattest" and len(parts) > 1 else parts[0]


def _circles(nodes: set[str], graph: dict[str, set[str]]) -> list[tuple[str, ...]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in nodes:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(tuple(sorted(group)))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return found


def test_imports_point_down_the_rooms():
    wrong = sorted(f"{module} imports {target}" for module, targets in _graph().items() for target in targets
                   if _room(target) != _room(module) and _room(target) not in MAY_IMPORT[_room(module)])
    assert not wrong, "imports must point down (docs/architecture.md):\n" + "\n".join(wrong)


def test_no_circle_inside_a_room():
    graph, rooms = _graph(), defaultdict(set)
    for module in _modules():
        rooms[_room(module)].add(module)
    circles = sorted(c for members in rooms.values() for c in _circles(members, graph))
    assert not circles, "import circles:\n" + "\n".join(" <-> ".join(c) for c in circles)


def test_a_function_imports_only_a_heavy_optional_library_with_its_reason():
    modules = _modules()
    wrong, heavy_seen = [], set()
    for module, target, line in _function_imports():
        library = target.split(".")[0]
        heavy = (module, target) if (module, target) in HEAVY else (module, library)
        if heavy in HEAVY:
            heavy_seen.add(heavy)
        elif library in {"sweattest", "drivers"}:
            wrong.append(f"{modules[module].relative_to(ROOT)}:{line}: {target}")
        else:
            wrong.append(f"{modules[module].relative_to(ROOT)}:{line}: {target} (not a heavy optional library "
                         "listed in HEAVY with its reason)")
    assert not wrong, "move these imports to the top of the module:\n" + "\n".join(wrong)
    assert set(HEAVY) == heavy_seen, f"not imported in a function any more: {sorted(set(HEAVY) - heavy_seen)}"
    assert all(reason.strip() and "\n" not in reason for reason in HEAVY.values())


def test_a_heavy_import_in_a_function_is_not_loaded_by_the_top_of_its_module_anyway():
    """Importing the module does not load the heavy library or module through its top-level imports, else the
    import in the function saves nothing."""
    top, modules = _top_imports(), _modules()
    loaded_anyway = []
    for module, target in HEAVY:
        seen, todo = set(), [module]
        while todo:  # the project modules the top of ``module`` runs, and theirs
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo += [t for t in top[current] if t in modules]
        by = sorted(m for m in seen if any(t == target or t.startswith(target + ".") for t in top[m]))
        if by:
            loaded_anyway.append(f"{module} imports {target} in a function, but {by[0]} imports it at the top")
    assert not loaded_anyway, "\n".join(loaded_anyway)
