"""Check the built sdist and wheel: metadata, what each holds, and that the sdist carries
every tracked file the tests and the README need.

    python .ci/check_dist.py dist/
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What the suite reads from the tree besides the package (tests/test_packaging.py reads
# pyproject.toml and .ci/lowest-versions.txt; tests/test_registry.py the README).
SDIST_TREES = ("tests/", "samples/", "docs/", "benchmarks/", ".ci/", "losscli/")
SDIST_FILES = ("README.md", "LICENSE", "pyproject.toml", "MANIFEST.in")
EXTRAS = {"plot", "dask", "safetensors", "parquet", "hdf5", "test", "dev"}


def fail(message: str) -> None:
    sys.exit(f"check_dist: {message}")


def tracked() -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return []  # not a git checkout (an unpacked sdist): nothing to compare with
    return [p for p in out.splitlines()
            if p.startswith(SDIST_TREES) or p in SDIST_FILES]


def check_metadata(meta: str, where: str) -> None:
    fields = Parser().parsestr(meta)
    expect = {"Name": "losscli", "License-Expression": "MIT", "License-File": "LICENSE",
              "Requires-Python": ">=3.10"}
    for key, value in expect.items():
        if fields.get(key) != value:
            fail(f"{where}: {key} is {fields.get(key)!r}, expected {value!r}")
    requires = fields.get_all("Requires-Dist") or []
    runtime = {r.split(">")[0].split("<")[0].split("=")[0].strip(): r for r in requires
               if "extra ==" not in r}
    lowest = {}
    for line in (ROOT / ".ci" / "lowest-versions.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            lowest[name.strip()] = version.strip()
    if set(runtime) != set(lowest):
        fail(f"{where}: dependencies {sorted(runtime)} but lowest-versions.txt has "
             f"{sorted(lowest)}")
    if "<" not in runtime["typer"]:
        fail(f"{where}: typer has no upper bound ({runtime['typer']})")
    extras = set(fields.get_all("Provides-Extra") or [])
    if extras != EXTRAS:
        fail(f"{where}: extras {sorted(extras)}, expected {sorted(EXTRAS)}")
    for key in ("Summary", "Keywords", "Description-Content-Type"):
        if not fields.get(key):
            fail(f"{where}: no {key}")
    if len(fields.get_all("Classifier") or []) < 5:
        fail(f"{where}: too few classifiers")


def main(dist: Path) -> None:
    sdists = sorted(dist.glob("losscli-*.tar.gz"))
    wheels = sorted(dist.glob("losscli-*-py3-none-any.whl"))
    if len(sdists) != 1 or len(wheels) != 1:
        fail(f"expected one sdist and one pure wheel in {dist}, found {sdists + wheels}")
    with tarfile.open(sdists[0]) as tar:
        names = tar.getnames()
        prefix = names[0].split("/")[0] + "/"
        held = {n[len(prefix):] for n in names if n.startswith(prefix)}
        check_metadata(tar.extractfile(prefix + "PKG-INFO").read().decode(), "sdist")
    missing = [p for p in tracked() if p not in held]
    if missing:
        fail(f"the sdist lacks {len(missing)} tracked file(s): {missing[:10]}")
    for needed in ("tests/conftest.py", "tests/reference/__init__.py", "tests/helpers.py",
                   "samples/seed-example-1.json", "LICENSE", "README.md",
                   "losscli/schemas/compute.schema.json"):
        if needed not in held:
            fail(f"the sdist lacks {needed}")
    stray = sorted(n for n in held if "__pycache__" in n or n.endswith(".pyc"))
    if stray:
        fail(f"the sdist holds build leftovers: {stray[:5]}")
    with zipfile.ZipFile(wheels[0]) as whl:
        files = whl.namelist()
        info = next(n for n in files if n.endswith(".dist-info/METADATA"))
        check_metadata(whl.read(info).decode(), "wheel")
        entry = whl.read(info.replace("METADATA", "entry_points.txt")).decode()
    if "losscli = losscli.cli:main" not in entry:
        fail("the wheel has no losscli console script")
    if not any(n.startswith("losscli/schemas/") and n.endswith(".schema.json") for n in files):
        fail("the wheel lacks the JSON Schema files")
    if "losscli/py.typed" not in files:
        fail("the wheel lacks losscli/py.typed (PEP 561: the package's type hints)")
    if not any(n.endswith(".dist-info/licenses/LICENSE") for n in files):
        fail("the wheel lacks LICENSE")
    outside = sorted({n.split("/")[0] for n in files} - {"losscli", info.split("/")[0]})
    if outside:
        fail(f"the wheel installs more than the package: {outside}")
    print(f"check_dist: {sdists[0].name} ({len(held)} files) and {wheels[0].name} "
          f"({len(files)} files) are complete; metadata ok")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "dist"))
