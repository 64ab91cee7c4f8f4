"""The layer package's shape: four layers, imports only downward, and tests/ imported by tests only."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = REPO_ROOT / "shared" / "learning_sessions"
# Lowest first: a module may import from its own layer and the layers before it.
LAYERS = ("config", "data", "domain", "http")


def imported_modules(path: Path) -> set[str]:
    """Every module an import statement names, including `from a import b` as a.b (b may be a module)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "learning_sessions" and parts[1] in LAYERS else None


def test_every_module_belongs_to_a_layer() -> None:
    loose = [path.name for path in PACKAGE.glob("*.py") if path.name != "__init__.py"]
    assert not loose, f"put these modules in one of {LAYERS}: {loose}"
    assert sorted(path.name for path in PACKAGE.iterdir() if (path / "__init__.py").is_file()) == sorted(LAYERS)


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_imports_only_the_layers_below_it(layer: str) -> None:
    allowed = set(LAYERS[: LAYERS.index(layer) + 1])
    upward = {
        f"{path.relative_to(PACKAGE)} imports {module}"
        for path in (PACKAGE / layer).rglob("*.py")
        for module in imported_modules(path)
        if (target := layer_of(module)) is not None and target not in allowed
    }
    assert not upward, sorted(upward)


def test_nothing_outside_tests_imports_tests() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=REPO_ROOT, check=True, capture_output=True, text=True
    ).stdout.split()
    offenders = {
        f"{name} imports {module}"
        for name in tracked
        if not name.startswith("tests/") and (REPO_ROOT / name).is_file()
        for module in imported_modules(REPO_ROOT / name)
        if module == "tests" or module.startswith("tests.")
    }
    assert not offenders, sorted(offenders)
