"""Role sets: `STEM.ROLE.npy` files that are one input together (`s1.anchor.npy`,
`s1.positive.npy`, `s1.negatives.npy` are the set `s1.*.npy`).

A file named `STEM.WORD.npy` is
- a member of the set STEM when WORD is a role;
- a stray of that set when WORD is not a role but is close to one (`x.negative.npy`), or
  when STEM has members: the set is refused with a "did you mean" (never read without it,
  and the stray is never read as a stack of its own);
- otherwise an ordinary file (`run.2024.npy` is a stack).

A role set must hold every role the loss needs: its required roles, and the optional ones
without which it is 0 (`LossSpec.zero_without`, InfoNCE's negatives): a set that lacks one is
refused naming the file to add, never evaluated with K = 0.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from losscli.errors import BadData, closest
from losscli.model import ROLES

if TYPE_CHECKING:
    from losscli.losses.spec import LossSpec

SUFFIX = ".npy"
# How close a word must be to a role for a file to be taken as a misnamed member when its
# STEM has no members (x.negative.npy; not run.test.npy).
STRAY_CUTOFF = 0.8


@dataclass
class RoleSetFiles:
    """The files of one role set: members by role, strays by path (their WORD)."""

    directory: str
    stem: str
    files: dict[str, str] = field(default_factory=dict)
    strays: dict[str, str] = field(default_factory=dict)

    @property
    def pattern(self) -> str:
        """How the set is named in records and messages: `DIR/STEM.*.npy`."""
        return os.path.join(self.directory, self.stem) + ".*" + SUFFIX

    def path_for(self, role: str) -> str:
        """The file a role of this set has (or would have)."""
        return os.path.join(self.directory, f"{self.stem}.{role}{SUFFIX}")

    def check(self, spec: LossSpec | None = None, given: tuple[str, ...] = ()) -> None:
        """Refuse a stray (first), or a role the loss needs that neither the set nor the
        per-role options (`given`) hold."""
        for path, word in sorted(self.strays.items()):
            near = closest(word, ROLES)
            hint = f" (did you mean {near}?)" if near else ""
            rename = (f"rename it {self.stem}.{near}{SUFFIX}" if near else
                      f"name it {self.stem}.ROLE{SUFFIX} with ROLE one of {', '.join(ROLES)}, "
                      "or move it out of the set")
            raise BadData(f"{word!r} is not a role{hint}: this file cannot be part of the "
                          f"role set {os.path.basename(self.pattern)}", rename, where=path)
        if spec is None:
            return
        missing = spec.missing({*self.files, *given})
        if missing:
            found = ", ".join(os.path.basename(p) for p in self.files.values()) or "none"
            add = " and ".join(self.path_for(r) for r in missing)
            raise BadData(f"the role set has no {' and no '.join(missing)} for {spec.name} "
                          f"(found: {found})", f"add {add}, or give "
                          + " ".join(f"--{r} FILE" for r in missing), where=self.pattern)

    def describe(self) -> str:
        """`x.anchor.npy, x.positive.npy as anchor, positive` for the warning of compute."""
        names = ", ".join(os.path.basename(p) for p in self.files.values())
        return f"{names} as {', '.join(self.files)}"


def split(filename: str) -> tuple[str, str] | None:
    """(STEM, WORD) for a `STEM.WORD.npy` file name, else None."""
    if not filename.lower().endswith(SUFFIX):
        return None
    stem, dot, word = filename[: -len(SUFFIX)].rpartition(".")
    if dot and stem and word:
        return stem, word
    return None


def _near_role(word: str) -> bool:
    return bool(difflib.get_close_matches(word, list(ROLES), n=1, cutoff=STRAY_CUTOFF))


def scan(directory: str, filenames: list[str]) -> tuple[dict[str, RoleSetFiles], list[str]]:
    """The role sets among `filenames` (in `directory`), by STEM, and the other file names."""
    parts = {name: split(name) for name in filenames}
    stems = {p[0] for p in parts.values() if p is not None and p[1] in ROLES}
    sets: dict[str, RoleSetFiles] = {}
    others = []
    for name in filenames:
        part = parts[name]
        if part is None:
            others.append(name)
            continue
        stem, word = part
        path = os.path.join(directory, name)
        if word in ROLES:
            sets.setdefault(stem, RoleSetFiles(directory, stem)).files[word] = path
        elif stem in stems or _near_role(word):
            sets.setdefault(stem, RoleSetFiles(directory, stem)).strays[path] = word
        else:
            others.append(name)
    return sets, others


def set_of(path: str) -> RoleSetFiles | None:
    """The whole role set a file belongs to (its directory's `STEM.*.npy`), or None when
    the file is not named as a member or a stray of one."""
    directory, filename = os.path.split(path)
    part = split(filename)
    if part is None:
        return None
    try:
        listing = sorted(os.listdir(directory or "."))
    except OSError:
        listing = [filename]
    stem = part[0]
    same_stem = [n for n in listing if (split(n) or ("", ""))[0] == stem]
    if filename not in same_stem:
        same_stem.append(filename)
    sets, _ = scan(directory, same_stem)
    return sets.get(stem)
