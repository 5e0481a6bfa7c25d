"""What `batch` reads: INPUTS (files, directories, globs, `-`) expanded into sources.

A source is one record's worth of input, or a JSON Lines stream of them:
- `Document`: a JSON object, an .npz, a safetensors, Parquet, Arrow or HDF5 file, or a lone
  .npy (a stack, or logits for softmax-ce);
- `RoleSet`: per-role files, `STEM.ROLE.npy` in a directory or the `--anchor ...` options;
- `JsonLines`: a .jsonl file, a file of any other name whose content is JSON Lines
  (io/jsonlines.py `peek_lines`), each line its own input (`PATH:LINE`); a pipe or FIFO is
  a `Document`, and stdin (`-`) a `JsonLines`, until it is read, once, and found by the same
  content rule to be JSON Lines or one document (engine.py);
- `Missing`: a glob that matched nothing, a path that does not exist or a directory that
  cannot be listed (fails as a record, as an unreadable file does).

An input given several times (a file named twice, or also by a glob or its directory; a role
set by a member and by its directory) is one source, evaluated once: its `given` says how
many INPUTS named it, for the warning (`repeat_warnings`). The members of one role set named
one each (a shell's expansion of `DIR/STEM.*`) name it once.

Directories are read non-recursively, in sorted order: *.json, *.jsonl, *.npz, *.npy (a
`STEM.ROLE.npy` joins its STEM's role set; other .npy files are stacks), and the files of
the optional formats (*.safetensors, *.parquet, *.arrow, *.feather, *.h5, *.hdf5): a
directory of Parquet shards is one input per shard.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field, replace
from typing import Any

from losscli.io import is_regular_file, rolesets
from losscli.io.jsonlines import peek_lines
from losscli.io.rolesets import RoleSetFiles

DOCUMENT_SUFFIXES = (".json", ".npz", ".npy", ".safetensors", ".parquet", ".arrow", ".feather",
                     ".h5", ".hdf5")
JSONL_SUFFIX = ".jsonl"


@dataclass(frozen=True)
class Document:
    """One input file (.json, .npz or .npy) holding the roles, or stdin (`-`) holding one
    JSON document."""

    path: str  # "-" for stdin
    given: int = field(default=1, compare=False)  # how many INPUTS named it
    # A pipe's bytes, already open with what was read to tell its format put back in front
    # (engine.py): read from here, never by opening `path` again (a pipe reads once).
    stream: Any = field(default=None, compare=False, repr=False)  # has read(n)

    @property
    def name(self) -> str:
        """The name a record gives this input: its path, or <stdin>."""
        return "<stdin>" if self.path == "-" else self.path


@dataclass(frozen=True)
class RoleSet:
    """Per-role files that are one input: `STEM.ROLE.npy` files (`named_set` holds them, and
    any stray, for the checks of io/rolesets.py), or the --anchor ... options alone."""

    name: str
    files: dict[str, str] = field(default_factory=dict)
    named_set: RoleSetFiles | None = None
    given: int = field(default=1, compare=False)  # how many INPUTS named it


@dataclass(frozen=True)
class JsonLines:
    """A JSON Lines file, each line its own input; or stdin (`-`), told by content when it
    is read (engine.py): JSON Lines, or one JSON document."""

    path: str  # "-" for stdin
    given: int = field(default=1, compare=False)  # how many INPUTS named it

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
    given: int = field(default=1, compare=False)  # how many INPUTS named it


Source = Document | RoleSet | JsonLines | Missing


# A source and the files of it that one INPUT named (a role set member names only itself).
Named = tuple[Source, frozenset[str]]


def expand(inputs: list[str], role_files: dict[str, str] | None = None) -> list[Source]:
    """INPUTS in order, directories and globs expanded, each input once (its `given` says
    how many INPUTS named it); per-role options alone are a RoleSet.

    With INPUTS, per-role options apply to every input (see engine).
    """
    if not inputs and role_files:
        name = " + ".join(role_files.values())
        return [RoleSet(name, dict(role_files))]
    return _once([_named(item) for item in inputs])


def files_of(sources: list[Source]) -> list[str]:
    """Every file the sources read, by real path (not stdin, not a missing input)."""
    return sorted({path for source in sources for path in _files(source)
                   if path != "-" and not path.startswith("missing:")})


def _named(item: str) -> list[Named]:
    """The sources of one INPUT, each with the files of it that this INPUT names."""
    if item == "-":
        return [(JsonLines("-"), frozenset({"-"}))]
    if os.path.isdir(item):
        unreadable = _unreadable_directory(item)
        if unreadable is not None:
            return [_missing(unreadable)]
        found = _directory(item)
        if not found:
            return [_missing(Missing(item, "directory has no .json, .jsonl, .npz, .npy, "
                                     ".safetensors, .parquet, .arrow or .h5 files",
                                     "check the directory (it is read non-recursively)"))]
        return [(source, _files(source)) for source in found]
    if os.path.exists(item) or not glob.has_magic(item):
        return [_file(item)]
    matches = sorted(glob.glob(item))
    if not matches:
        # glob finds nothing in a directory it cannot list: say so, not "no file matches"
        unreadable = _unreadable_directory(_fixed_directory(item), item)
        if unreadable is not None:
            return [_missing(unreadable)]
        return [_missing(Missing(item, "no file matches this pattern", "check the pattern"))]
    out: list[Named] = []
    for match in matches:
        if os.path.isdir(match):
            unreadable = _unreadable_directory(match)
            if unreadable is not None:
                out.append(_missing(unreadable))
                continue
            out.extend((source, _files(source)) for source in _directory(match))
        else:
            out.append(_file(match))
    return out


def _missing(source: Missing) -> Named:
    return source, frozenset({f"missing:{source.name}"})


def _files(source: Source) -> frozenset[str]:
    """Every file of a source, by real path (what identifies it however it is named)."""
    if isinstance(source, RoleSet):
        return frozenset(os.path.realpath(p) for p in source.files.values())
    if isinstance(source, Missing):
        return frozenset({f"missing:{source.name}"})
    return frozenset({source.path if source.path == "-" else os.path.realpath(source.path)})


def _once(given: list[list[Named]]) -> list[Source]:
    """The sources in order, each once: the first time it is named. `given` counts the
    INPUTS that named it, by the file of it named most often (so a set whose members are
    named one each is given once, and one named by a member and its directory twice)."""
    times: dict[str, int] = {}
    for named in given:
        for file in frozenset().union(*(files for _, files in named)):
            times[file] = times.get(file, 0) + 1
    out: dict[frozenset[str], Source] = {}
    for named in given:
        for source, files in named:
            key = _files(source)
            if key not in out:
                out[key] = source
            count = max(times[file] for file in files)
            if count > out[key].given:
                out[key] = replace(out[key], given=count)
    return list(out.values())


def repeat_warnings(sources: list[Source]) -> dict[str, str]:
    """The warning of each source given more than once, by its name."""
    return {source.name: f"{source.name}: given {source.given} times; evaluated once"
            for source in sources if source.given > 1}


def _file(path: str) -> Named:
    """A file named on the command line; a member of a role set brings the whole set (it
    is never read as a stack of its own), a file holding JSON Lines is read line by line
    whatever its name."""
    named = rolesets.set_of(path) if is_regular_file(path) else None
    if named is not None:
        source: Source = RoleSet(named.pattern, dict(named.files), named)
        return source, frozenset({os.path.realpath(path)})
    source = JsonLines(path) if _holds_lines(path) else Document(path)
    return source, _files(source)


def _holds_lines(path: str) -> bool:
    """Whether a file is JSON Lines: by its .jsonl name, or by content for a regular file
    (a pipe is told when it is read, once: engine.py)."""
    if path.lower().endswith(JSONL_SUFFIX):
        return True
    if not is_regular_file(path):
        return False
    try:
        with open(path, "rb") as fh:
            return peek_lines(fh)[0]
    except (OSError, ValueError):  # its reader says what is wrong with it
        return False


def _fixed_directory(pattern: str) -> str:
    """The directory a glob pattern starts from: its leading components without wildcards."""
    directory = os.path.dirname(pattern)
    while directory and glob.has_magic(directory):
        directory = os.path.dirname(directory)
    return directory or "."


def _unreadable_directory(directory: str, item: str | None = None) -> Missing | None:
    """A failed record for a directory that cannot be listed (chmod 000 or 311), as an
    unreadable file gets one; None when it can be listed (or is no directory: the caller
    says what is wrong then). `item` is the INPUT when it is a glob into `directory`: the
    record is the glob's, and its message names the directory."""
    if not os.path.isdir(directory):
        return None
    which = "the directory" if item is None else f"the directory {directory!r}"
    try:
        with os.scandir(directory):
            pass
    except PermissionError:
        return Missing(item or directory, f"permission denied ({which} cannot be read)",
                       "check the directory's permissions")
    except OSError as exc:
        return Missing(item or directory, f"cannot read {which}: {exc.strerror or exc}",
                       "check the path")
    return None


def _directory(directory: str) -> list[Source]:
    """The sources of a directory (one that `_unreadable_directory` found readable)."""
    names = sorted(f for f in os.listdir(directory)
                   if os.path.isfile(os.path.join(directory, f)))
    sets, others = rolesets.scan(directory, names)
    entries: list[tuple[str, Source]] = [
        (stem, RoleSet(named.pattern, dict(named.files), named)) for stem, named in sets.items()]
    for filename in others:
        path = os.path.join(directory, filename)
        lower = filename.lower()
        if lower.endswith(JSONL_SUFFIX) or (lower.endswith(DOCUMENT_SUFFIXES)
                                            and _holds_lines(path)):
            entries.append((filename, JsonLines(path)))
        elif lower.endswith(DOCUMENT_SUFFIXES):
            entries.append((filename, Document(path)))
    entries.sort(key=lambda pair: pair[0])
    return [source for _, source in entries]
