"""Readers by format, found by content: JSON (strict), .npy and .npz (never pickles).

Every reader is bounded: JSON by size and depth, .npy by checking the header's declared size
against the file before allocating, .npz members by what they may decompress to.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from typing import IO, Any

import numpy as np

from losscli.errors import BadData, InputUnavailable

MAX_JSON_BYTES = 64 * 2**20
MAX_RANK = 3
MAX_ARRAY_BYTES = 2 * 2**30  # `compute` holds everything in memory; `batch` streams
MAX_NPY_HEADER = 10_000

PICKLE_FIX = (
    "losscli never loads pickles; convert it to .npy, e.g. "
    "python -c \"import torch, numpy; numpy.save('x.npy', torch.load('x.pt').numpy())\""
)


def sniff(head: bytes) -> str:
    """The format of a file from its first bytes: npy, npz, json, pickle or unknown."""
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "npz"
    if head[:1] == b"\x80" and len(head) > 1 and head[1] <= 5:
        return "pickle"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:1] in (b"{", b"["):
        return "json"
    return "unknown"


def describe(fmt: str) -> str:
    return {"npy": "a .npy array", "npz": "an .npz archive", "json": "JSON",
            "pickle": "a pickle", "unknown": "an unknown format"}[fmt]


def open_binary(path: str) -> IO[bytes]:
    """Open a file for reading, or say why it cannot be read (exit 3)."""
    try:
        if os.path.isdir(path):
            raise InputUnavailable("is a directory", "give a file (batch reads directories)",
                                   where=path)
        return open(path, "rb")
    except FileNotFoundError:
        raise InputUnavailable("no such file", "check the path", where=path) from None
    except PermissionError:
        raise InputUnavailable("permission denied", "check the file's permissions",
                               where=path) from None
    except IsADirectoryError:
        raise InputUnavailable("is a directory", "give a file", where=path) from None
    except OSError as exc:
        raise InputUnavailable(f"cannot open: {exc.strerror or exc}", "check the path",
                               where=path) from None


# ---------------------------------------------------------------- JSON


class _Strict:
    """Hooks that make the stdlib parser strict: no NaN/Infinity, no duplicate keys."""

    def __init__(self, where: str) -> None:
        self.where = where

    def constant(self, name: str) -> Any:
        raise BadData(f"JSON has {name}, which is not a number",
                      "write finite numbers only", where=self.where)

    def number(self, text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            raise BadData(f"JSON number {text} overflows float64",
                          "write finite numbers within float64 range", where=self.where)
        return value

    def pairs(self, items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise BadData(f"duplicate key {key!r}", "give each key once", where=self.where)
            out[key] = value
        return out


def parse_json(data: bytes, where: str) -> Any:
    """Parse a JSON document strictly (UTF-8, finite numbers, unique keys, bounded)."""
    if len(data) > MAX_JSON_BYTES:
        raise BadData(f"JSON of {len(data) / 2**20:.0f} MiB is over the "
                      f"{MAX_JSON_BYTES // 2**20} MiB limit for JSON input",
                      "save large arrays as .npy or .npz", where=where)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadData(f"not UTF-8 text (byte {exc.start})", "save the JSON as UTF-8",
                      where=where) from None
    hooks = _Strict(where)
    try:
        return json.loads(text, parse_constant=hooks.constant, parse_float=hooks.number,
                          object_pairs_hook=hooks.pairs)
    except json.JSONDecodeError as exc:
        raise BadData(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
                      "fix the JSON syntax", where=where) from None
    except RecursionError:
        raise BadData("JSON nested too deeply", "arrays have at most 3 dimensions",
                      where=where) from None


def nested_to_array(value: Any, where: str) -> np.ndarray:
    """A number or rectangular nested list of numbers as a float64 array.

    Booleans, strings, nulls and objects are refused; a ragged list is named by the path
    of its first bad row.
    """
    shape = []
    probe = value
    while isinstance(probe, list):
        shape.append(len(probe))
        if not probe:
            break
        probe = probe[0]
        if len(shape) > MAX_RANK:
            raise BadData(f"array nested deeper than {MAX_RANK} levels",
                          "arrays have at most 3 dimensions", where=where)
    _check_nested(value, shape, 0, (), where)
    return np.array(value, dtype=np.float64).reshape(shape)


def _check_nested(value: Any, shape: list[int], depth: int, path: tuple[int, ...],
                  where: str) -> None:
    if depth == len(shape):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            kind = {str: "a string", type(None): "null", dict: "an object",
                    bool: "a boolean", list: "a list"}.get(type(value), type(value).__name__)
            at = f" at {list(path)}" if path else ""
            raise BadData(f"{kind}{at} where a number belongs",
                          "give plain JSON numbers (no quotes, no true/false/null)",
                          where=where)
        return
    if not isinstance(value, list) or len(value) != shape[depth]:
        found = f"length {len(value)}" if isinstance(value, list) else "a scalar"
        raise BadData(f"ragged array: row {list(path)} has {found}, expected "
                      f"length {shape[depth]}", "give every row the same length",
                      where=where)
    if depth + 1 == len(shape):
        for i, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, (int, float)):
                _check_nested(item, shape, depth + 1, path + (i,), where)
        return
    for i, item in enumerate(value):
        _check_nested(item, shape, depth + 1, path + (i,), where)


# ---------------------------------------------------------------- .npy and .npz


def _read_npy_header(stream: IO[bytes], where: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(
                stream, max_header_size=MAX_NPY_HEADER)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(
                stream, max_header_size=MAX_NPY_HEADER)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except (ValueError, OSError, SyntaxError, TypeError) as exc:
        raise BadData(f"bad .npy header ({str(exc).splitlines()[0][:120]})",
                      "re-save it with numpy.save", where=where) from None
    if dtype.hasobject:
        raise BadData("the .npy holds Python objects (a pickle)", PICKLE_FIX, where=where)
    return tuple(int(n) for n in shape), bool(fortran), dtype


def _declared_bytes(shape: tuple[int, ...], dtype: np.dtype) -> int:
    return math.prod(shape) * dtype.itemsize


def read_npy_stream(stream: IO[bytes], available: int | None, where: str) -> np.ndarray:
    """One .npy array from a stream, its declared size checked before anything is allocated.

    `available`: the bytes after the header that the container says exist (None: unknown).
    """
    start = stream.tell() if available is not None else 0
    shape, fortran, dtype = _read_npy_header(stream, where)
    need = _declared_bytes(shape, dtype)
    if available is not None:
        have = available - (stream.tell() - start)
        if need > have:
            raise BadData(f"truncated .npy: header declares {shape} {dtype} ({need} bytes) "
                          f"but only {have} bytes follow", "re-save the file", where=where)
    if need > MAX_ARRAY_BYTES:
        raise BadData(f"array of {need / 2**30:.1f} GiB is too large for compute",
                      "use `losscli batch`, which streams", where=where)
    data = stream.read(need)
    if len(data) < need:
        raise BadData(f"truncated .npy: {len(data)} of {need} bytes", "re-save the file",
                      where=where)
    arr = np.frombuffer(data, dtype=dtype)
    return arr.reshape(shape, order="F" if fortran else "C")


def read_npy(path: str, stream: IO[bytes]) -> np.ndarray:
    size = os.fstat(stream.fileno()).st_size
    return read_npy_stream(stream, size, path)


def read_npz(path: str, stream: IO[bytes]) -> dict[str, np.ndarray]:
    """The arrays of an .npz by name; no member is trusted to be what its header says."""
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BadData(f"not a readable .npz ({exc})", "re-save it with numpy.savez",
                      where=path) from None
    arrays: dict[str, np.ndarray] = {}
    with archive:
        names = archive.namelist()
        if any(n.endswith(".pkl") or n.endswith("/data.pkl") for n in names):
            raise BadData("this is a torch or pickle archive, not an .npz", PICKLE_FIX,
                          where=path)
        for info in archive.infolist():
            key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            where = f"{path}:{key}"
            if not info.filename.endswith(".npy"):
                raise BadData(f"member {info.filename!r} is not a .npy array",
                              "save the archive with numpy.savez", where=path)
            try:
                with archive.open(info) as member:
                    arrays[key] = read_npy_stream(_Counted(member), info.file_size, where)
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
                raise BadData(f"corrupt .npz member ({exc})", "re-save the archive",
                              where=where) from None
    return arrays


class _Counted:
    """A read-only stream that knows how far it has read (zip members cannot tell)."""

    def __init__(self, inner: IO[bytes]) -> None:
        self.inner = inner
        self.pos = 0

    def read(self, n: int = -1) -> bytes:
        data = self.inner.read(n)
        self.pos += len(data)
        return data

    def tell(self) -> int:
        return self.pos
