"""The package as published: its metadata, its dependency bounds against the lowest versions
CI tests, and documentation links that resolve inside the repository (and the sdist)."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
RUNTIME = ("numpy", "numba", "typer", "rich", "threadpoolctl")


def pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def lowest() -> dict[str, str]:
    pins = {}
    for line in (ROOT / ".ci" / "lowest-versions.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, pinned = line.split("==")
            pins[name.strip()] = pinned.strip()
    return pins


def bounds(requirement: str) -> tuple[str, str | None, str | None]:
    """(name, lower bound, upper bound) of `name>=a,<b`."""
    name = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0)
    lower = re.search(r">=\s*([\w.]+)", requirement)
    upper = re.search(r"<\s*([\w.]+)", requirement)
    return name, lower and lower.group(1), upper and upper.group(1)


def release(text: str) -> tuple[int, ...]:
    """(major, minor, micro), zeros where the text stops: 1.24 is 1.24.0."""
    parts = [int(part) for part in re.findall(r"\d+", text)[:3]]
    return tuple(parts + [0] * (3 - len(parts)))


def test_license_metadata():
    project = pyproject()["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert project["keywords"] and len(project["classifiers"]) >= 5
    assert not any(c.startswith("License ::") for c in project["classifiers"])  # PEP 639


def test_lower_bounds_are_the_versions_ci_tests():
    declared = {bounds(r)[0]: bounds(r)[1] for r in pyproject()["project"]["dependencies"]}
    assert set(declared) == set(RUNTIME) == set(lowest())
    for name, pinned in lowest().items():
        assert release(declared[name]) == release(pinned), (name, declared[name], pinned)


def test_typer_is_capped_and_the_installed_versions_are_in_range():
    for requirement in pyproject()["project"]["dependencies"]:
        name, lower, upper = bounds(requirement)
        installed = release(version(name))
        assert installed >= release(lower), (name, version(name), requirement)
        if name == "typer":
            assert upper is not None  # private internals are patched (cli/_plain_options.py)
        if upper is not None:
            assert installed < release(upper), (name, version(name), requirement)


def test_extras_keep_ruff_out_of_test():
    extras = pyproject()["project"]["optional-dependencies"]
    assert set(extras) == {"plot", "dask", "safetensors", "parquet", "hdf5", "test", "dev"}
    assert not any(r.startswith("ruff") for r in extras["test"])
    assert any(r.startswith("ruff") for r in extras["dev"]) and "losscli[test]" in extras["dev"]


def test_the_format_extras_name_their_readers_and_the_tests_install_them():
    extras = pyproject()["project"]["optional-dependencies"]
    names = {extra: {bounds(r)[0] for r in extras[extra]}
             for extra in ("safetensors", "parquet", "hdf5")}
    assert names == {"safetensors": {"safetensors", "ml_dtypes"}, "parquet": {"pyarrow"},
                     "hdf5": {"h5py"}}
    assert "losscli[safetensors,parquet,hdf5]" in extras["test"]
    assert not set().union(*names.values()) & {
        bounds(r)[0] for r in pyproject()["project"]["dependencies"]}  # never required


def test_the_package_ships_py_typed():
    assert (ROOT / "losscli" / "py.typed").is_file()
    assert "py.typed" in pyproject()["tool"]["setuptools"]["package-data"]["losscli"]


@pytest.mark.parametrize("document", ["README.md", *sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))])
def test_links_resolve_inside_the_repository(document):
    path = ROOT / document
    text = path.read_text()
    assert "../shared" not in text
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        resolved = (path.parent / file).resolve() if file else path
        assert resolved.is_relative_to(ROOT), (document, target)
        assert resolved.exists(), (document, target)
        if anchor and resolved.suffix == ".md":
            headings = {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-")
                        for h in re.findall(r"^#+ (.+)$", resolved.read_text(), re.M)}
            assert anchor in headings, (document, target)
