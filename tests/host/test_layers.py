"""The layer rule of micropkg's package tree, read from the imports themselves.

Each subpackage sits on a layer and may import only from its own layer or the
layers below (docs/architecture.md draws the map). Every import counts, lazy
ones inside functions included, since a lazy upward import is still a
dependency. Two more rules: the installation layer never imports the
resolution layer (it takes a resolved plan, as uv's installer does), and only
the runtime adapter imports ``pyodide`` or ``js``. The module graph has no
cycles.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "micropkg"

# Lowest first. Modules at the package root are named with their file stem.
LAYERS: list[set[str]] = [
    {"errors", "reporter", "value"},
    {"model"},
    {"net"},
    {"runtime"},
    {"index"},
    {"installation"},
    {"resolution"},
    {"build"},
    {"lock"},
    {"ui"},
    {"session", "options", "api", "packages", "request", "shared_libraries", "warm", "lock_install"},
    {"commands"},
    {"__init__", "__main__"},
]
# Same-layer imports that would hide a design problem.
FORBIDDEN = {("installation", "resolution"), ("resolution", "installation")}
JS_ONLY_IN = "runtime"


def _unit(module: str) -> str:
    """The layer unit of ``micropkg.a.b``: its subpackage, or its root module."""
    return module.split(".")[1] if module.count(".") else "__init__"


def _layer(unit: str) -> int:
    for number, units in enumerate(LAYERS):
        if unit in units:
            return number
    raise AssertionError(f"micropkg.{unit} is on no layer: add it to LAYERS in {__file__}")


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(module: str, path: Path) -> set[str]:
    """Every module ``module`` imports, absolute, micropkg's and others' alike."""
    is_package = path.name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            names.add(stem)
            # `from . import x` / `from .pkg import mod`: the submodule is the import.
            names.update(f"{stem}.{alias.name}" for alias in node.names)
    modules = _modules()
    return {name for name in names if not name.startswith("micropkg") or name in modules}


def _graph() -> dict[str, set[str]]:
    return {module: _imports(module, path) for module, path in _modules().items()}


def test_every_module_is_on_a_layer() -> None:
    for module in _modules():
        _layer(_unit(module))


@pytest.mark.parametrize("module", sorted(_modules()))
def test_no_upward_import(module: str) -> None:
    mine = _unit(module)
    for imported in sorted(_graph()[module]):
        if not imported.startswith("micropkg.") or imported == module:
            continue
        theirs = _unit(imported)
        assert _layer(theirs) <= _layer(mine), f"{module} imports {imported}: an upward import ({mine} is below {theirs})"
        assert (mine, theirs) not in FORBIDDEN, f"{module} imports {imported}: {mine} must not depend on {theirs}"


@pytest.mark.parametrize("module", sorted(_modules()))
def test_only_the_runtime_adapter_imports_pyodide_or_js(module: str) -> None:
    if _unit(module) == JS_ONLY_IN:
        return
    foreign = {name for name in _graph()[module] if name.split(".")[0] in ("pyodide", "js", "pyodide_js")}
    assert not foreign, f"{module} imports {sorted(foreign)}; only micropkg.{JS_ONLY_IN} may"


def test_no_import_cycle() -> None:
    graph = {m: {i for i in deps if i.startswith("micropkg.") and i != m} for m, deps in _graph().items()}
    # A package's __init__ is imported with any of its modules; edges into it are not cycles of design.
    graph = {m: {i for i in deps if i != "micropkg"} for m, deps in graph.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if state.get(nxt) is None:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_the_rule_catches_an_upward_import(tmp_path: Path) -> None:
    # A positive control: the reader sees a lazy import inside a function.
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from ..resolution import resolver\n")
    assert "micropkg.resolution.resolver" in _imports("micropkg.installation.m", source)


def test_no_module_is_over_400_lines() -> None:
    long = {m: n for m, p in _modules().items() if (n := len(p.read_text().splitlines())) > 400}
    assert not long, f"modules over 400 lines: {long}"
