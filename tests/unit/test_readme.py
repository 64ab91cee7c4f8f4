"""The README's request-flow diagram and links stay true to the tree."""

from __future__ import annotations

import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = REPO_ROOT / "shared" / "learning_sessions"
README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def diagram() -> str:
    match = re.search(r"^## How a request flows\n.*?^```mermaid\n(.*?)^```", README, re.M | re.S)
    assert match, "the README has no Mermaid diagram under '## How a request flows'"
    return match[1]


def layer_packages() -> set[str]:
    return {path.parent.name for path in PACKAGE.glob("*/__init__.py")}


def test_every_module_the_diagram_names_exists() -> None:
    text = diagram()
    layers = "|".join(sorted(layer_packages()))
    layer_modules = re.findall(rf"\b((?:{layers})/\w+\.py)", text)
    functions = re.findall(r"\b(functions/\w+/app\.py)", text)
    assert layer_modules
    assert functions
    missing = [name for name in layer_modules if not (PACKAGE / name).is_file()]
    missing += [name for name in functions if not (REPO_ROOT / name).is_file()]
    assert not missing, f"the README's diagram names modules that do not exist: {missing}"


def test_every_layer_package_is_in_the_diagram_and_only_those() -> None:
    drawn = set(re.findall(r"^\s*subgraph (\w+)_layer\b", diagram(), re.M))
    assert drawn == layer_packages()


def test_every_module_the_diagram_names_sits_in_its_layer_box() -> None:
    """A node labelled data/x.py must be drawn inside the data subgraph."""
    layer: str | None = None
    for line in diagram().splitlines():
        if opened := re.match(r"^\s*subgraph (\w+)_layer\b", line):
            layer = opened[1]
        elif line.strip() == "end":
            layer = None
        for name in re.findall(r'\["(\w+)/\w+\.py', line):
            if name in layer_packages():
                assert name == layer, line


def test_relative_links_lead_to_files() -> None:
    targets = re.findall(r"\]\(((?!https?:|#)[^)#]+)", README)
    assert targets
    missing = [target for target in targets if not (REPO_ROOT / target).exists()]
    assert not missing, missing
