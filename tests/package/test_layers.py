"""The house's layers: cli -> api -> (batch, explore) -> losses -> kernels, with io, render,
model, memory and errors as leaves. Each package imports only the layers below it (imports under
TYPE_CHECKING are annotations, not dependencies), typer, rich and numba only where their
layer is (ruff's banned-api says so too, but its per-file ignores lift a whole rule), and the
CLI's modules import one another without a cycle."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from tests.helpers import ROOT

PACKAGE = ROOT / "losscli"

# What each top-level module or package of losscli may import at run time.
ALLOWED = {
    "errors": set(),
    "_version": set(),
    "memory": set(),
    "model": {"errors", "memory"},
    "io": {"errors", "model"},
    "render": {"errors", "model", "kernels"},
    "kernels": set(),
    "losses": {"errors", "model", "memory", "kernels"},
    "explore": {"errors", "model", "losses"},
    "batch": {"errors", "model", "io", "kernels", "losses", "_version"},
    "api": {"errors", "model", "io", "losses", "batch", "explore"},
    "cli": {"errors", "model", "io", "render", "losses", "batch", "explore", "api",
            "_version"},
}


# Where each third-party package with a layer of its own may be imported, at run time or
# lazily: the CLI parses with typer, the CLI and render draw with rich, and only the jit
# policy compiles with numba (so that `losscli --help` never loads it).
OWNERS = {"typer": ("cli/",), "rich": ("cli/", "render/"), "numba": ("kernels/_jit.py",)}


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


def _third_party_imports(path: Path) -> set[str]:
    """The top-level names of the OWNERS packages `path` imports, anywhere in the file."""
    tree = ast.parse(path.read_text())
    typing_only = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and "TYPE_CHECKING" in ast.unparse(block.test) for node in ast.walk(block)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
    return found & set(OWNERS)


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.parent != PACKAGE or p.stem in ALLOWED)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_down_the_layers(path):
    relative = path.relative_to(PACKAGE)
    layer = relative.parts[0].removesuffix(".py")
    allowed = ALLOWED[layer] | {layer}
    upward = {m for m in _runtime_imports(path) if _layer(m) not in allowed}
    assert not upward, f"{relative} imports {sorted(upward)} ({layer} may use {sorted(allowed)})"


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")),
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_typer_rich_and_numba_stay_in_their_layers(path):
    relative = path.relative_to(PACKAGE).as_posix()
    strays = {name for name in _third_party_imports(path)
              if not relative.startswith(OWNERS[name])}
    assert not strays, f"{relative} imports {sorted(strays)}: {OWNERS}"


def test_the_check_sees_a_stray_third_party_import(tmp_path):
    stray = tmp_path / "stray.py"
    stray.write_text("import os\nfrom rich.table import Table\n\n\ndef f():\n"
                     "    import numba.core\n    return numba\n")
    assert _third_party_imports(stray) == {"rich", "numba"}


def test_the_check_sees_an_upward_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from losscli.api import evaluate\nif TYPE_CHECKING:\n"
                   "    from losscli.cli import run\n")
    assert _runtime_imports(bad) == {"losscli.api"}


def test_the_cli_modules_import_one_another_without_a_cycle():
    cli = Path(importlib.import_module("losscli.cli").__file__).parent
    modules = {p.stem for p in cli.glob("*.py")}
    edges: dict[str, set[str]] = {}
    for name in modules:
        tree = ast.parse((cli / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module.startswith("losscli.cli."):
                    edges.setdefault(name, set()).add(node.module.split(".")[2])
                elif node.module == "losscli.cli":
                    edges.setdefault(name, set()).update(
                        a.name if a.name in modules else "__init__" for a in node.names)
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, " -> ".join((*path, name))
        if name not in done:
            for target in edges.get(name, ()):
                visit(target, (*path, name))
            done.add(name)

    for name in modules:
        visit(name, ())
