"""What `batch` reads: INPUTS (files, directories, globs, `-`) expanded into sources.

A source is one record's worth of input, or a JSON Lines stream of them:
- `Document`: a JSON object, an .npz, a safetensors, Parquet, Arrow or HDF5 file, or a lone
  .npy (a stack, or logits for softmax-ce);
- `RoleSet`: per-role files, `STEM.ROLE.npy` in a directory or the `--anchor ...` options;
- `JsonLines`: a .jsonl file or stdin, each line its own input (`PATH:LINE`);
- `Missing`: a glob that matched nothing or a path that does not exist (fails as a record).

Directories are read non-recursively, in sorted order: *.json, *.jsonl, *.npz, *.npy (a
`STEM.ROLE.npy` joins its STEM's role set; other .npy files are stacks), and the files of
the optional formats (*.safetensors, *.parquet, *.arrow, *.feather, *.h5, *.hdf5): a
directory of Parquet shards is one input per shard.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field

from losscli.io import is_regular_file, rolesets
from losscli.io.rolesets import RoleSetFiles

DOCUMENT_SUFFIXES = (".json", ".npz", ".npy", ".safetensors", ".parquet", ".arrow", ".feather",
                     ".h5", ".hdf5")
JSONL_SUFFIX = ".jsonl"


@dataclass(frozen=True)
class Document:
    """One input file (.json, .npz or .npy) holding the roles."""

    path: str

    @property
    def name(self) -> str:
        """The name a record gives this input: its path."""
        return self.path


@dataclass(frozen=True)
class RoleSet:
    """Per-role files that are one input: `STEM.ROLE.npy` files (`named_set` holds them, and
    any stray, for the checks of io/rolesets.py), or the --anchor ... options alone."""

    name: str
    files: dict[str, str] = field(default_factory=dict)
    named_set: RoleSetFiles | None = None


@dataclass(frozen=True)
class JsonLines:
    """A JSON Lines file (or stdin, `-`): each line its own input."""

    path: str  # "-" for stdin

    @property
    def name(self) -> str:
        """The name a record gives this input: its path, or <stdin>."""
        return "<stdin>" if self.path == "-" else self.path


@dataclass(frozen=True)
class Missing:
    """An INPUT that names nothing readable, kept to be reported as a failed record."""

    name: str
    reason: str
    fix: str


Source = Document | RoleSet | JsonLines | Missing


def expand(inputs: list[str], role_files: dict[str, str] | None = None) -> list[Source]:
    """INPUTS in order, directories and globs expanded; per-role options alone are a RoleSet.

    With INPUTS, per-role options apply to every input (see engine).
    """
    sources: list[Source] = []
    if not inputs and role_files:
        name = " + ".join(role_files.values())
        return [RoleSet(name, dict(role_files))]
    seen: set[str] = set()  # role sets already listed (a glob may name each member)
    for item in inputs:
        if item == "-":
            sources.append(JsonLines("-"))
        elif os.path.isdir(item):
            found = _directory(item)
            if not found:
                sources.append(Missing(item, "directory has no .json, .jsonl, .npz, .npy, "
                                       ".safetensors, .parquet, .arrow or .h5 files",
                                       "check the directory (it is read non-recursively)"))
            sources.extend(found)
        elif os.path.exists(item) or not glob.has_magic(item):
            sources.extend(_file(item, seen))
        else:
            matches = sorted(glob.glob(item))
            if not matches:
                sources.append(Missing(item, "no file matches this pattern",
                                       "check the pattern"))
            for match in matches:
                if os.path.isdir(match):
                    sources.extend(_directory(match))
                else:
                    sources.extend(_file(match, seen))
    return sources


def _file(path: str, seen: set[str]) -> list[Source]:
    """A file named on the command line; a member of a role set brings the whole set
    (once, however many of its files are named): it is never read as a stack of its own."""
    if path.lower().endswith(JSONL_SUFFIX):
        return [JsonLines(path)]
    named = rolesets.set_of(path) if is_regular_file(path) else None
    if named is None:
        return [Document(path)]
    if named.pattern in seen:
        return []
    seen.add(named.pattern)
    return [RoleSet(named.pattern, dict(named.files), named)]


def _directory(directory: str) -> list[Source]:
    names = sorted(f for f in os.listdir(directory)
                   if os.path.isfile(os.path.join(directory, f)))
    sets, others = rolesets.scan(directory, names)
    entries: list[tuple[str, Source]] = [
        (stem, RoleSet(named.pattern, dict(named.files), named)) for stem, named in sets.items()]
    for filename in others:
        path = os.path.join(directory, filename)
        lower = filename.lower()
        if lower.endswith(JSONL_SUFFIX):
            entries.append((filename, JsonLines(path)))
        elif lower.endswith(DOCUMENT_SUFFIXES):
            entries.append((filename, Document(path)))
    entries.sort(key=lambda pair: pair[0])
    return [source for _, source in entries]
