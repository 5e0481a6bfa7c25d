"""The house's layers: cli -> api -> (batch, explore) -> losses -> kernels, with io, render,
model and errors as leaves. Each package imports only the layers below it (imports under
TYPE_CHECKING are annotations, not dependencies)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "losscli"

# What each top-level module or package of losscli may import at run time.
ALLOWED = {
    "errors": set(),
    "_version": set(),
    "model": {"errors"},
    "io": {"errors", "model"},
    "render": {"errors", "model"},
    "kernels": set(),
    "losses": {"errors", "model", "kernels"},
    "explore": {"errors", "model", "losses"},
    "batch": {"errors", "model", "io", "kernels", "losses", "_version"},
    "api": {"errors", "model", "io", "losses", "batch", "explore"},
    "cli": {"errors", "model", "io", "render", "losses", "batch", "explore", "api",
            "_version"},
}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _runtime_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    typing_only = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and "TYPE_CHECKING" in ast.unparse(block.test) for node in ast.walk(block)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "losscli":
                found.update(f"losscli.{alias.name}" for alias in node.names)
            elif node.module.startswith("losscli."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("losscli."))
    return found


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.parent != PACKAGE or p.stem in ALLOWED)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_down_the_layers(path):
    relative = path.relative_to(PACKAGE)
    layer = relative.parts[0].removesuffix(".py")
    allowed = ALLOWED[layer] | {layer}
    upward = {m for m in _runtime_imports(path) if _layer(m) not in allowed}
    assert not upward, f"{relative} imports {sorted(upward)} ({layer} may use {sorted(allowed)})"


def test_the_check_sees_an_upward_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from losscli.api import evaluate\nif TYPE_CHECKING:\n"
                   "    from losscli.cli import run\n")
    assert _runtime_imports(bad) == {"losscli.api"}
