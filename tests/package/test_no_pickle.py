"""No code path may unpickle (issue 3: "never run untrusted code").

An AST scan of every module in losscli/: no np.load / numpy.load at all (its allow_pickle
switch is one keyword away), no allow_pickle=True anywhere, no pickle-family imports, no
torch.load. The readers use numpy's literal-only header parser and np.frombuffer instead.
The scanner is itself tested on planted snippets, so this test fails when it goes blind.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import losscli

PACKAGE = Path(losscli.__file__).parent
UNPICKLING_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve",
                      "marshal", "torch"}
LOADERS = {"load", "loads"}


def _dotted(node: ast.AST) -> str:
    """`np.lib.format.read_array` for an attribute chain, '' for anything else."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def violations(source: str, filename: str = "<snippet>") -> list[str]:
    """Every way `source` could unpickle, as `file:line: what`."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        where = f"{filename}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in UNPICKLING_MODULES:
                    found.append(f"{where}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            module = (node.module or "").split(".")[0]
            names = {alias.name for alias in node.names}
            if module in UNPICKLING_MODULES:
                found.append(f"{where}: from {node.module} import ...")
            if module == "numpy" and names & (LOADERS | {"read_array"}):
                found.append(f"{where}: from {node.module} import {sorted(names)}")
        elif isinstance(node, ast.Call):
            name = _dotted(node.func)
            last = name.rsplit(".", 1)[-1]
            head = name.split(".", 1)[0]
            if head in ("np", "numpy") and last in LOADERS | {"read_array", "fromfile"}:
                found.append(f"{where}: {name}()")
            if head in UNPICKLING_MODULES and last in LOADERS | {"Unpickler", "open"}:
                found.append(f"{where}: {name}()")
            for kw in node.keywords:
                if kw.arg == "allow_pickle" and not (
                        isinstance(kw.value, ast.Constant) and kw.value.value is False):
                    found.append(f"{where}: {name}(allow_pickle=...)")
        elif isinstance(node, ast.Attribute) and node.attr == "Unpickler":
            found.append(f"{where}: .Unpickler")
    return found


def package_sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_the_scan_covers_the_readers() -> None:
    names = {p.relative_to(PACKAGE).as_posix() for p in package_sources()}
    assert {"io/__init__.py", "io/formats.py", "api.py", "cli/__init__.py"} <= names


@pytest.mark.parametrize("path", package_sources(),
                         ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_module_can_unpickle(path: Path) -> None:
    assert violations(path.read_text(encoding="utf-8"), str(path)) == []


@pytest.mark.parametrize("snippet", [
    "import numpy as np\nnp.load('x.npy')",
    "import numpy\nnumpy.load(f, allow_pickle=False)",
    "from numpy import load",
    "import numpy as np\nnp.lib.format.read_array(fh, allow_pickle=True)",
    "import numpy as np\nnp.lib.format.read_array(fh)",
    "import pickle",
    "from pickle import loads",
    "import torch\ntorch.load('x.pt')",
    "import joblib",
    "import marshal",
    "f(allow_pickle=True)",
    "f(allow_pickle=flag)",
    "import io\nx = io.Unpickler",
])
def test_the_scanner_catches_planted_unpickling(snippet: str) -> None:
    assert violations(snippet) != []


def test_the_scanner_leaves_safe_code_alone() -> None:
    safe = ("import numpy as np\n"
            "np.lib.format.read_array_header_1_0(fh, max_header_size=10000)\n"
            "np.frombuffer(data, dtype=np.float64)\n"
            "np.save(fh, arr, allow_pickle=False)\n"
            "json.loads(text)\n")
    assert violations(safe) == []
