"""The README's "Architecture" table is the package's layout: every module is in it, and
every import inside the package points to the same or a lower layer, without cycles."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import aio_assume_role

PACKAGE = Path(aio_assume_role.__file__).parent
# The checkout's README, also when the tests run against an installed wheel.
README = Path(__file__).resolve().parents[1] / "README.md"


def _module_name(path: Path) -> str:
    """``_core/fetch`` for aio_assume_role/_core/fetch.py, ``__init__`` for the package's."""
    relative = path.relative_to(PACKAGE).with_suffix("")
    if relative.name == "__init__" and relative.parent != Path("."):
        return relative.parent.as_posix()
    return relative.as_posix()


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _layers() -> dict[str, int]:
    """The README table's module -> layer number."""
    section = README.read_text().split("## Architecture", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+) [^|]*\| `([^`]+)` \|", section, re.M)
    assert rows, "the README has no Architecture table"
    return {module: int(layer) for layer, module in rows}


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package modules ``name`` imports (relative imports, anywhere in the file)."""
    package = name if path.name == "__init__.py" and name != "__init__" else str(Path(name).parent)
    package_parts = [] if package in (".", "__init__") else package.split("/")
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.module and node.module.startswith("aio_assume_role"):
            base = node.module.split(".")[1:]
        elif node.level:
            up = node.level - 1
            base = package_parts[: len(package_parts) - up] if up else list(package_parts)
            base += node.module.split(".") if node.module else []
        else:
            continue
        for alias in node.names:
            candidate = "/".join([*base, alias.name])
            if candidate in modules:  # "from . import sync", "from ._core import clock"
                found.add(candidate)
            elif base:
                found.add("/".join(base) if "/".join(base) in modules else "__init__")
    found.discard(name)
    return {module for module in found if module != "_core"}  # the _core marker package


def test_every_module_is_in_the_table_and_nothing_else() -> None:
    modules = set(_modules()) - {"_core"}
    assert set(_layers()) == modules


def test_imports_point_to_the_same_or_a_lower_layer() -> None:
    modules, layers = _modules(), _layers()
    upward = [
        f"{name} (layer {layers[name]}) imports {target} (layer {layers[target]})"
        for name, path in modules.items()
        if name != "_core"
        for target in _imports(name, path, modules)
        if layers[target] > layers[name]
    ]
    assert upward == []


def test_the_import_graph_has_no_cycle() -> None:
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> None:
        if state.get(node) == "done":
            return
        if state.get(node) == "open":
            pytest.fail("import cycle: " + " -> ".join([*trail, node]))
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            visit(target, [*trail, node])
        state[node] = "done"

    for name in sorted(graph):
        visit(name, [])


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    # The check itself can fail: an import of a front end from the engine is found.
    fake = tmp_path / "refresh.py"
    fake.write_text("from ..session import assume_role\n")
    modules = {"_core/refresh": fake, "session": fake}
    assert _imports("_core/refresh", fake, modules) == {"session"}
