"""No module of the portal imports, however indirectly, a module that imports it back.

A cycle works only while its imports stay in a lucky order or hidden inside functions (the
way accounts.services and accounts.importing once leaned on each other); the next import
moved to the top of a file turns it into an ImportError at start-up. So every import is
followed, at the top of a module or inside a function, from the source alone: nothing is run.
"""

import ast
from pathlib import Path

from django.conf import settings

PACKAGES = ("accounts", "botbridge", "portal", "readings")


def modules() -> dict[str, Path]:
    """Every module of the portal's packages by dotted name; tests and migrations are not the portal."""
    found = {}
    for package in PACKAGES:
        for path in (Path(settings.BASE_DIR) / package).rglob("*.py"):
            parts = path.relative_to(settings.BASE_DIR).with_suffix("").parts
            if "tests" in parts or "migrations" in parts:
                continue
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The portal's modules that `name` imports anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base]).strip(".")
            submodules = {f"{base}.{alias.name}" for alias in node.names} & known.keys()
            found |= submodules
            # `from package import submodule` does not need the package to have finished importing.
            if len(submodules) < len(node.names):
                found.add(base)
    return {module for module in found if module in known and module != name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles, each as the path of modules that leads back to its first one."""
    found, state = [], {}  # state: 1 while a module's imports are being followed, 2 when done

    def follow(module: str, trail: list[str]) -> None:
        state[module] = 1
        for imported in sorted(graph[module]):
            if state.get(imported) == 1:
                found.append([*trail[trail.index(imported) :], imported])
            elif imported not in state:
                follow(imported, [*trail, imported])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            follow(module, [module])
    return found


def test_no_module_imports_itself_back():
    known = modules()
    graph = {name: imports_of(name, path, known) for name, path in known.items()}

    assert graph["accounts.uploads"] >= {"accounts.importing", "accounts.masterdata"}  # imports are seen
    assert cycles(graph) == []


def test_an_import_inside_a_function_closes_a_cycle_too(tmp_path):
    # The shape accounts.services and accounts.importing had: one imported the other at the top,
    # the other imported it back inside a function.
    (tmp_path / "services.py").write_text("def upload():\n    from a.importing import read_master_data\n")
    (tmp_path / "importing.py").write_text("from a.services import MasterDataRow\n")
    known = {"a.services": tmp_path / "services.py", "a.importing": tmp_path / "importing.py"}
    graph = {name: imports_of(name, path, known) for name, path in known.items()}

    assert cycles(graph) == [["a.importing", "a.services", "a.importing"]]
