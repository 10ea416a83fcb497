"""The layers depend one way, read from the code's own imports (every import, at any depth of a module).

events <- services <- consumers and api; api reads the read models only through their views modules;
only the entry points' package itself, the tests and the benchmarks import the composition root.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ("events", "services", "consumers", "api")
#: what each library layer may not import
FORBIDDEN = {
    "events": ("services", "api", "consumers", "composition"),
    "services": ("api", "consumers", "composition"),
    "consumers": ("api", "composition"),
    "api": ("composition",),
}
#: the only modules of ``consumers`` the API may import: a read model's views (``views``, ``public_views``)
API_READS = re.compile(r"consumers\.\w+\.(\w+_)?views")
#: folders whose modules may import the composition root
ENTRY_POINTS = ("composition", "tests", "bench")


def module_name(path: Path) -> str:
    """The dotted name of the module at ``path`` (a package's ``__init__.py`` is the package)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    """Whether ``name`` is a module or package of this project."""
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imported_modules(source: str, module: str) -> set[str]:
    """Every module ``source`` imports: ``from a.b import c`` names ``a.b.c`` when c is a module, else ``a.b``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against the importing module's package
                package = module.split(".")[:len(module.split(".")) - node.level]
                base = ".".join(package + ([base] if base else []))
            submodules = [f"{base}.{alias.name}" for alias in node.names]
            found.update(submodules if all(is_module(name) for name in submodules) else [base])
    return found


def project_modules() -> dict[str, set[str]]:
    """Each project module's dotted name and the modules it imports (virtualenvs and hidden folders aside)."""
    modules = {}
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).parts
        if any(part.startswith(".") or part in ("__pycache__", "node_modules") for part in relative):
            continue
        name = module_name(path)
        modules[name] = imported_modules(path.read_text(encoding="utf-8"), name)
    return modules


def layer(name: str) -> str:
    return name.split(".")[0]


def in_layer(imported: str, target: str) -> bool:
    return imported == target or imported.startswith(target + ".")


@pytest.fixture(scope="module")
def modules() -> dict[str, set[str]]:
    return project_modules()


def test_every_layer_of_the_library_is_read():
    found = {layer(name) for name in project_modules()}
    assert set(LIBRARY) | {"composition", "tests", "bench"} <= found


@pytest.mark.parametrize("lower", sorted(FORBIDDEN))
def test_a_lower_layer_imports_no_higher_one(modules, lower):
    wrong = sorted((name, imported) for name, imports in modules.items() if layer(name) == lower
                   for imported in imports for higher in FORBIDDEN[lower] if in_layer(imported, higher))
    assert not wrong, f"{lower} imports what stands above it: {wrong}"


def test_the_api_reads_consumers_only_through_views_modules(modules):
    wrong = sorted((name, imported) for name, imports in modules.items() if layer(name) == "api"
                   for imported in imports if in_layer(imported, "consumers") and not API_READS.fullmatch(imported))
    assert not wrong, f"api reaches into read-model internals: {wrong}"


def test_only_entry_points_tests_and_benchmarks_import_the_composition_root(modules):
    wrong = sorted((name, imported) for name, imports in modules.items() if layer(name) not in ENTRY_POINTS
                   for imported in imports if in_layer(imported, "composition"))
    assert not wrong, f"imports of the composition root from outside it: {wrong}"


def test_imports_inside_functions_and_of_submodules_are_seen():
    source = ("from consumers.impact import views, cells\n"
              "from consumers.checks.views import FindingsView\n"
              "def build():\n"
              "    from composition.bootstrap import build_platform\n"
              "    import services.settings\n")
    assert imported_modules(source, "api.example") == {
        "consumers.impact.views", "consumers.impact.cells", "consumers.checks.views",
        "composition.bootstrap", "services.settings"}
    assert not API_READS.fullmatch("consumers.impact.cells")
    assert API_READS.fullmatch("consumers.provenance.public_views")
