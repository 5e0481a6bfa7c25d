"""What `batch` reads: INPUTS (files, directories, globs, `-`) expanded into sources.

A source is one record's worth of input, or a JSON Lines stream of them:
- `Document`: a JSON object, an .npz, or a lone .npy (a stack, or logits for softmax-ce);
- `RoleSet`: per-role files, `STEM.ROLE.npy` in a directory or the `--anchor ...` options;
- `JsonLines`: a .jsonl file or stdin, each line its own input (`PATH:LINE`);
- `Missing`: a glob that matched nothing or a path that does not exist (fails as a record).

Directories are read non-recursively, in sorted order: *.json, *.jsonl, *.npz, *.npy (a
`STEM.ROLE.npy` joins its STEM's role set; other .npy files are stacks).
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field

from losscli.model import ROLES

DOCUMENT_SUFFIXES = (".json", ".npz", ".npy")
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
    """The per-role .npy files of one input in a directory (`name.role.npy`), by role."""

    name: str
    files: dict[str, str] = field(default_factory=dict)


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
    for item in inputs:
        if item == "-":
            sources.append(JsonLines("-"))
        elif os.path.isdir(item):
            found = _directory(item)
            if not found:
                sources.append(Missing(item, "directory has no .json, .jsonl, .npz or .npy "
                                       "files", "check the directory (it is read "
                                       "non-recursively)"))
            sources.extend(found)
        elif os.path.exists(item) or not glob.has_magic(item):
            sources.append(_file(item))
        else:
            matches = sorted(glob.glob(item))
            if not matches:
                sources.append(Missing(item, "no file matches this pattern",
                                       "check the pattern"))
            for match in matches:
                if os.path.isdir(match):
                    sources.extend(_directory(match))
                else:
                    sources.append(_file(match))
    return sources


def _file(path: str) -> Source:
    if path.lower().endswith(JSONL_SUFFIX):
        return JsonLines(path)
    return Document(path)


def _role_of(filename: str) -> tuple[str, str] | None:
    """(STEM, ROLE) for `STEM.ROLE.npy`, else None."""
    if not filename.lower().endswith(".npy"):
        return None
    stem, dot, role = filename[:-4].rpartition(".")
    if dot and stem and role in ROLES:
        return stem, role
    return None


def _directory(directory: str) -> list[Source]:
    entries: list[tuple[str, Source]] = []
    sets: dict[str, dict[str, str]] = {}
    for filename in sorted(os.listdir(directory)):
        path = os.path.join(directory, filename)
        if not os.path.isfile(path):
            continue
        lower = filename.lower()
        stem_role = _role_of(filename)
        if stem_role is not None:
            stem, role = stem_role
            if stem not in sets:
                sets[stem] = {}
                entries.append((stem, RoleSet(os.path.join(directory, stem) + ".*.npy",
                                              sets[stem])))
            sets[stem][role] = path
        elif lower.endswith(JSONL_SUFFIX):
            entries.append((filename, JsonLines(path)))
        elif lower.endswith(DOCUMENT_SUFFIXES):
            entries.append((filename, Document(path)))
    entries.sort(key=lambda pair: pair[0])
    return [source for _, source in entries]
