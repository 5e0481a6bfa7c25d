"""HDF5 files (`losscli[hdf5]`: h5py): datasets named by role (`FILE.h5` holding anchor,
positive, negatives), mapped with `--map role=group/dataset`, or one dataset or group named
in the path: `FILE.h5:group/dataset` (an array, e.g. for `--anchor`) or `FILE.h5:group`
(its datasets by role).

A dataset's shape and dtype are checked before its data is read; only the datasets that are
roles are read. h5py reads numbers only here (no object or reference dtypes).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from losscli.errors import BadData
from losscli.io.containers import Container, require_extra
from losscli.io.formats import check_dtype, check_size

EXTRA = "hdf5"
WHAT = "an HDF5 file"
SIGNATURE = b"\x89HDF\r\n\x1a\n"
SUFFIXES = (".h5", ".hdf5", ".he5", ".hdf")


def split_path(path: str) -> tuple[str, str] | None:
    """(file, object) of `FILE.h5:group/dataset` when FILE exists and the whole path does
    not; None for any other path."""
    if os.path.exists(path) or ":" not in path:
        return None
    file, _, inner = path.rpartition(":")
    if not inner or not os.path.isfile(file):
        return None
    return file, inner


# How many dataset paths a message lists: enough for a file's layout, one line still.
LISTED = 20


def read_hdf5(where: str, source: Any, inner: str | None = None) -> Container | Any:
    """The datasets of a file (or of the group `inner`), read on demand (the Container holds
    the file open until closed); or, when `inner` names a dataset, its array (the file
    closed). `where` names what is read: the file, or `FILE.h5:inner`
    when `inner` is given (its datasets are `where:name`, never `where:inner:name`)."""
    h5py = require_extra("h5py", EXTRA, WHAT, where)
    try:
        handle = h5py.File(source, "r")
    except Exception as exc:  # noqa: BLE001
        raise BadData(f"not a readable HDF5 file ({_short(exc)})", "re-write it with h5py",
                      where=where) from None
    # Closed here unless a Container takes it (its reader closes that one): on an error
    # too, since a kept traceback (a notebook's last exception) would hold it open.
    try:
        group = handle
        if inner is not None:
            target = _get(handle, inner, where)
            if target is None:
                names = ", ".join(_listing(handle)) or "nothing"
                raise BadData(f"no dataset or group {inner!r}", f"it holds: {names}",
                              where=where)
            if isinstance(target, h5py.Dataset):
                array = _dataset_array(target, where)
                handle.close()
                return array
            group = target
        # A link that cannot be resolved is listed with the datasets: reading it as a role
        # says what is wrong with it, where leaving it out would say "no anchor given".
        names = [name for name in group
                 if _broken(group, name) or isinstance(group[name], h5py.Dataset)]
    except BaseException:
        handle.close()
        raise

    def has(name: str) -> bool:
        return _broken(group, name) or isinstance(group.get(name), h5py.Dataset)

    def load(name: str) -> np.ndarray:
        return _dataset_array(_get(group, name, f"{where}:{name}"), f"{where}:{name}")

    # `--map anchor=train/q` reads a dataset inside a group: messages list those too,
    # walked only when a message needs them.
    return Container(names, load, has, lambda: _listing(group, h5py.Dataset),
                     close=handle.close)


# What h5py raises for a link it cannot follow: KeyError for a dangling soft link,
# RuntimeError for a loop ("too many links"), OSError for an external file it cannot open.
UNRESOLVED = (KeyError, OSError, RuntimeError)


def _get(group: Any, name: str, where: str) -> Any:
    """The object at `name` in `group`, None when nothing is there, or exit 4 naming a
    link that cannot be resolved (a dangling or looping soft link, a missing external file)."""
    try:
        target = group.get(name)
    except UNRESOLVED as exc:
        raise _unresolved(group, name, where, exc) from None
    if target is None and _broken(group, name):
        raise _unresolved(group, name, where, None)
    return target


def _broken(group: Any, name: str) -> bool:
    """Whether `name` is a link in `group` that cannot be followed."""
    try:
        if group.get(name, getlink=True) is None:
            return False
    except UNRESOLVED:  # a parent on the path is itself a broken link
        return True
    try:
        return group.get(name) is None
    except UNRESOLVED:
        return True


def _unresolved(group: Any, name: str, where: str, exc: BaseException | None) -> BadData:
    """The error for a link that cannot be resolved, saying where it points."""
    try:
        link = group.get(name, getlink=True)
    except UNRESOLVED:
        link = None
    target = getattr(link, "path", None)
    loop = isinstance(exc, RuntimeError)  # HDF5's "too many links": a loop
    if getattr(link, "filename", None) is not None:
        what = f"an external link to {target!r} in {link.filename!r}"
    elif target is not None:
        what = f"a soft link to {target!r}" + (", a loop" if loop else ", which names nothing")
    else:
        what = "a loop" if loop else "nothing there"
    return BadData(f"a link that cannot be resolved ({what})",
                   "store the dataset itself under this name, or point the link at one",
                   where=where)


def _dataset_array(dataset: Any, where: str) -> np.ndarray:
    """A dataset's values, its dtype and size checked first; a scalar dataset as a 0-d
    array (h5py gives a numpy scalar), which the role checks refuse or accept by role."""
    check_dtype(dataset.dtype, where)
    check_size(tuple(dataset.shape), where)
    return np.asarray(dataset[()])


def _listing(group: Any, kind: type | None = None) -> list[str]:
    """The paths of a group's members, its groups' members included, at most LISTED and then
    "..." when there are more: only those of `kind` (h5py.Dataset) when given. A link that
    cannot be followed is left out."""
    out = _members(group, kind, "", LISTED + 1)
    return out if len(out) <= LISTED else [*out[:LISTED], "..."]


def _members(group: Any, kind: type | None, prefix: str, limit: int) -> list[str]:
    out: list[str] = []
    for name in group:
        try:
            obj = group[name]
        except UNRESOLVED:  # a dangling or looping soft link, an external link
            continue
        if kind is None or isinstance(obj, kind):
            out.append(prefix + name)
        if hasattr(obj, "items") and len(out) < limit:
            out.extend(_members(obj, kind, f"{prefix}{name}/", limit - len(out)))
        if len(out) >= limit:
            break
    return out[:limit]


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


__all__ = ["SIGNATURE", "read_hdf5", "split_path"]
