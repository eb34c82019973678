"""The house rules of docs/architecture.md, read off the code: modules stay under 400 lines (the
map's scripts too), and each layer imports only the layers below it — above all, core (the pure
rules) never imports store, api, maps or cli.

Each check reads files only (no imports of the package), so the whole file runs in well under a
second. Where a module may not yet keep a rule, it is listed below with its reason; a listed
module that keeps the rule again must leave the list, so the lists only shrink.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gridmap"
SCRIPTS = ROOT / "web" / "static" / "gridmap"
MAX_LINES = 400

# modules (relative to the repository) that may pass MAX_LINES for now, each with why
LONG_MODULES: dict[str, str] = {}
# map scripts (relative to the repository) that may pass MAX_LINES for now, each with why
LONG_SCRIPTS: dict[str, str] = {}

# each layer of the package and the layers it must not import (docs/architecture.md)
FORBIDDEN = {
    "core": {"store", "api", "maps", "cli"},
    "io": {"core", "store", "api", "maps", "cli"},
    "store": {"api", "maps", "cli"},
    # who may do and see what, where: pure rules under the use-case modules, store and api
    "permissions": {"io", "core", "store", "maps", "partitioned", "api", "cli"},
    "maps": {"api", "cli"},
    "partitioned": {"api", "cli"},
    "api": {"cli"},
}
# imports that break FORBIDDEN for now: "module -> imported module": why
ALLOWED_IMPORTS: dict[str, str] = {}


def line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def modules() -> list[Path]:
    """Every Python module of the package, migrations left out (each is written once, by hand
    or by Alembic, and never edited again)."""
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def imported(source: str, module: str) -> set[str]:
    """The gridmap modules that ``source`` (the text of ``module``, dotted) imports, anywhere in
    it (a function's lazy import too), relative imports resolved: ``from gridmap import store``
    and ``from ..store import db`` both import ``gridmap.store``."""
    package = module.split(".")[:-1]  # a package's own __init__ included
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package[: len(package) - node.level + 1]
                base = ".".join([*parent, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "gridmap" or name.startswith("gridmap.")}


def layer_of(name: str) -> str | None:
    """``gridmap.core.gaps`` → ``core``, ``gridmap.cli`` → ``cli``; ``gridmap`` → ``None``."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else None


def test_modules_stay_under_400_lines():
    long = {relative(p): line_count(p) for p in modules() if line_count(p) > MAX_LINES}
    unlisted = {path: n for path, n in long.items() if path not in LONG_MODULES}
    assert not unlisted, (
        f"modules over {MAX_LINES} lines: {unlisted}; split them by what they do "
        "(docs/architecture.md), or list one in LONG_MODULES with the reason it must stay long"
    )
    kept = sorted(set(LONG_MODULES) - set(long))
    assert not kept, f"back under {MAX_LINES} lines (or gone): take {kept} off LONG_MODULES"


def test_map_scripts_stay_under_400_lines():
    scripts = sorted(SCRIPTS.glob("*.js"))
    assert len(scripts) > 5, f"the map's scripts are not where the check looks: {SCRIPTS}"
    long = {relative(p): line_count(p) for p in scripts if line_count(p) > MAX_LINES}
    unlisted = {path: n for path, n in long.items() if path not in LONG_SCRIPTS}
    assert not unlisted, (
        f"scripts over {MAX_LINES} lines: {unlisted}; one file per panel or feature "
        "(see web/static/gridmap/map.js), or list one in LONG_SCRIPTS with its reason"
    )
    kept = sorted(set(LONG_SCRIPTS) - set(long))
    assert not kept, f"back under {MAX_LINES} lines (or gone): take {kept} off LONG_SCRIPTS"


def test_layers_import_only_the_layers_below_them():
    broken = {}
    for path in modules():
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        layer = layer_of(module)
        if layer not in FORBIDDEN:
            continue
        for name in imported(path.read_text(encoding="utf-8"), module):
            if layer_of(name) in FORBIDDEN[layer]:
                broken[f"{module} -> {name}"] = layer
    unlisted = sorted(set(broken) - set(ALLOWED_IMPORTS))
    assert not unlisted, (
        f"imports against the layers of docs/architecture.md: {unlisted}; core takes frames and "
        "returns frames (the caller reads and stores them), and no layer imports one above it"
    )
    kept = sorted(set(ALLOWED_IMPORTS) - set(broken))
    assert not kept, f"no longer imported: take {kept} off ALLOWED_IMPORTS"


# lower concepts that the grid proposal builds on, and must not build on it (or on each other
# upwards): module or package -> the modules it must not import
BENEATH = {
    "gridmap.core.fabric": {"gridmap.core.propose"},
    "gridmap.core.tiling": {"gridmap.core.propose", "gridmap.core.fabric"},
}


def test_the_fabric_and_the_tiling_import_nothing_of_the_grid_proposal():
    broken = []
    for path in modules():
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for lower, above in BENEATH.items():
            if module != lower and not module.startswith(f"{lower}."):
                continue
            for name in imported(path.read_text(encoding="utf-8"), module):
                if any(name == a or name.startswith(f"{a}.") for a in above):
                    broken.append(f"{module} -> {name}")
    assert not broken, (
        f"the unit fabric and gridmap.core.tiling sit below the grid proposal: {broken}; move "
        "what both need into gridmap.core.tiling"
    )
    assert {".".join(p.relative_to(ROOT).with_suffix("").parts) for p in modules()} >= {
        "gridmap.core.fabric",
        "gridmap.core.tiling.units",
    }, "the modules the check looks at are not where it looks"


STORE, CLI = {"gridmap.store", "gridmap.store.db"}, {"gridmap.cli", "gridmap.cli.main"}


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("from gridmap.store import db", "gridmap.core.x", STORE),
        ("import gridmap.api.app as app", "gridmap.core.x", {"gridmap.api.app"}),
        ("from gridmap import maps", "gridmap.core.x", {"gridmap", "gridmap.maps"}),
        ("def f():\n    from gridmap.cli import main", "gridmap.core.x", CLI),
        ("from ..store import db", "gridmap.core.x", STORE),
        ("from . import gaps", "gridmap.core.__init__", {"gridmap.core", "gridmap.core.gaps"}),
        ("import numpy as np\nfrom shapely import box", "gridmap.core.x", set()),
    ],
)
def test_imports_are_found_however_written(source, module, expected):
    assert imported(source, module) == expected
