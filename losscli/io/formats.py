"""Readers by format, found by content: JSON (strict), .npy and .npz (never pickles).

Every reader is bounded before it allocates: JSON by size (and depth, through the parser's
recursion limit), a .npy by checking its header's declared size against the file and against
`MAX_ARRAY_BYTES`, an .npz by its member count and what each member declares it decompresses
to. Nothing here ever unpickles: .npy headers are parsed by numpy's literal-only header
reader, and object dtypes are refused before any data is read.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import math
import os
import shlex
import sys
import warnings
from collections.abc import Iterator
from typing import IO, Any

import numpy as np

from losscli.errors import BadData, InputUnavailable
from losscli.io.containers import Container

MAX_JSON_BYTES = 64 * 2**20
MAX_RANK = 3
# What one input may take once converted to float64 (`compute` holds it all in memory).
MAX_ARRAY_BYTES = 2 * 2**30
MAX_NPY_HEADER = 10_000
MAX_NPZ_MEMBERS = 64
# Room for a .npy header inside an .npz member, on top of its data.
_NPY_HEADER_ROOM = 64 * 1024
# An array's bytes are read this much at a time into the array itself: a zip member's
# read(n) returns a copy of what it read (an .npz of 2 x 128 MiB peaked 131 MiB higher)
READ_CHUNK_BYTES = 2**20
FLOAT64_BYTES = 8

# Works for a tensor or a dict of them, on CUDA, with requires_grad, in bfloat16: each is
# detached, moved to the CPU and made float64 (which holds every float dtype exactly).
NPY_OBJECTS_FIX = ("losscli never loads pickles; re-save the numbers as a numeric array, e.g. "
                   "numpy.save('x.npy', numpy.asarray(x, dtype=numpy.float64))")
PICKLE_FIX = (
    "losscli never loads pickles; convert it to .npz, e.g. python -c \"import torch, numpy; "
    "t = torch.load('x.pt', map_location='cpu'); t = t if isinstance(t, dict) else "
    "{'anchor': t}; numpy.savez('x.npz', **{k: v.detach().cpu().double().numpy() for k, v in "
    "t.items()})\" (or safetensors.torch.save_file({k: v.detach().cpu().double().contiguous() "
    "...}, 'x.safetensors'))"
)
# An array read whole (JSON, .npz, a pipe, and every input of compute, stats, sweep and
# compare): batch reads .npy files by rows instead, whatever their size. The words fit
# every command (batch's refusal of an .npz said "use `losscli batch`").
WHOLE_LIMIT = "limit on an array read whole"
TOO_LARGE_FIX = ("save the roles as .npy files (STEM.ROLE.npy): `losscli batch` reads those by "
                 "rows whatever their size; or split the input")
ACCEPTED_DTYPE_KINDS = {"f": "float", "i": "int", "u": "uint"}
_DTYPE_KIND_NAMES = {"b": "boolean", "c": "complex", "O": "object", "U": "string",
                     "S": "bytes", "V": "structured or void", "M": "datetime",
                     "m": "timedelta"}
_JSON_SCALAR_START = tuple(b"0123456789-\"") + (b"t"[0], b"f"[0], b"n"[0])


GZIP_MAGIC = b"\x1f\x8b"
# The opcodes a protocol 0 or 1 pickle starts with (MARK, an empty list, dict or tuple, a
# global, a scalar): those protocols have no magic, so a file named .pkl, .pt, ... that
# starts with one is taken for a pickle, and any other byte for a raw dump.
OLD_PICKLE_STARTS = frozenset(b"()]}cIJKLFGSUVXN")

# The formats read through an optional extra, by their first bytes (safetensors has no
# magic: a header length, then JSON; see io/safetensors.py).
BINARY_MAGIC = {b"PAR1": "parquet", b"ARROW1": "arrow", b"\xff\xff\xff\xff": "arrow",
                b"\x89HDF\r\n\x1a\n": "hdf5"}
# Formats whose inputs may be as large as an array (a stream of them is read to that cap).
BINARY_FORMATS = ("npy", "npz", "safetensors", "parquet", "arrow", "hdf5")


def ml_float_as_float32(arr: np.ndarray) -> np.ndarray:
    """bfloat16 and float8 (ml_dtypes' types: numpy kind 'V' without fields, 1 or 2 bytes;
    a jax array's or a safetensors tensor's) as float32, which holds them exactly; any
    other array as it is."""
    if arr.dtype.kind == "V" and arr.dtype.names is None and arr.dtype.itemsize <= 2:
        try:
            return arr.astype(np.float32)
        except (TypeError, ValueError):  # a plain void type, not a float
            return arr
    return arr


def sniff(head: bytes) -> str:
    """The format of a file from its first bytes: npy, npz, json, pickle, safetensors,
    parquet, arrow, hdf5 or unknown."""
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "npz"
    for magic, fmt in BINARY_MAGIC.items():
        if head.startswith(magic):
            return fmt
    from losscli.io.safetensors import sniff_header

    if sniff_header(head):
        return "safetensors"
    # The PROTO opcode and a protocol 2-5: what pickle.dump and torch.save's legacy format
    # write; a random dump often starts with 0x80 too, and must not get the torch recipe.
    if head[:1] == b"\x80" and len(head) > 1 and 2 <= head[1] <= 5:
        return "pickle"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:1] in (b"{", b"["):
        return "json"
    # A bare number, string or literal is JSON too (a --target file may hold one index);
    # only when the bytes read are plain text, so binary junk is described, not parsed.
    if text and text[0] in _JSON_SCALAR_START and _is_text(text):
        if text[:1].isalpha() and not text.startswith((b"true", b"false", b"null")):
            return "unknown"
        return "json"
    return "unknown"


def starts_like_old_pickle(head: bytes) -> bool:
    """Whether the first byte is one a protocol 0 or 1 pickle starts with."""
    return bool(head) and head[0] in OLD_PICKLE_STARTS


def _is_text(data: bytes) -> bool:
    return all(32 <= b < 127 or b in (9, 10, 13) for b in data)


def describe_content(head: bytes) -> str:
    """What a file that is none of JSON, .npy or .npz looks like, from its first bytes."""
    if not head:
        return "the file is empty"
    if head.startswith(GZIP_MAGIC):
        return "a gzip-compressed file"
    if head.startswith(b"\x89HDF"):
        return "an HDF5 file"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16 text"
    if head.startswith(b"\x93NUMPY"):
        return "a .npy array"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text:  # spaces, tabs and newlines are no data: not "binary data" either
        return "the file holds only whitespace"
    if _is_text(text):
        first = text.split(b"\n")[0][:24].decode("ascii")
        return f"text that is not JSON (it starts {first!r})"
    return f"not a format losscli reads (no .npy, .npz or JSON signature; it starts {head[:8]!r})"


def unknown_fix(path: str, head: bytes) -> str:
    """The fix for a file of no format losscli reads (not text: CSV and UTF-16 have their
    own): gunzip a gzip file; a binary dump has no shape, so numpy.save is the way."""
    if head.startswith(GZIP_MAGIC):
        if path == "<stdin>":
            return "decompress it on the way in: zcat FILE | losscli ... -"
        return f"gunzip it, or zcat {shlex.quote(path)} | losscli ... -"
    if not _is_text(head.lstrip(b"\xef\xbb\xbf \t\r\n")):
        return "a raw dump from tofile() has no shape: save it with numpy.save"
    return "give a JSON object, an .npy or an .npz file"


def describe(fmt: str) -> str:
    """The phrase a message uses for a sniffed format ("a .npy array", "JSON", ...)."""
    return {"npy": "a .npy array", "npz": "an .npz archive", "json": "JSON",
            "pickle": "a pickle", "unknown": "an unknown format",
            "safetensors": "a safetensors file", "parquet": "a Parquet file",
            "arrow": "an Arrow IPC file", "hdf5": "an HDF5 file",
            "jsonl": "JSON Lines"}[fmt]


def open_binary(path: str) -> IO[bytes]:
    """Open a file for reading, or say why it cannot be read (exit 3)."""
    try:
        if os.path.isdir(path):
            raise InputUnavailable("is a directory", "give a file (batch reads directories)",
                                   where=path)
        return open(path, "rb")
    except FileNotFoundError:
        raise InputUnavailable("no such file", missing_fix(path), where=path) from None
    except PermissionError:
        raise InputUnavailable("permission denied", "check the file's permissions",
                               where=path) from None
    except IsADirectoryError:
        raise InputUnavailable("is a directory", "give a file", where=path) from None
    except OSError as exc:
        raise InputUnavailable(f"cannot open: {exc.strerror or exc}", "check the path",
                               where=path) from None
    except ValueError as exc:  # an embedded NUL, from a library caller
        raise InputUnavailable(f"not a usable path ({exc})", "check the path",
                               where=path) from None


# How close a name in the same directory must be to a missing file's to be suggested
# (difflib's ratio: emb0.npzz for emb0.npz, seed-exampel-1.json for seed-example-1.json).
NEAR_NAME_CUTOFF = 0.8


def missing_fix(path: str) -> str:
    """The fix for a file that does not exist: `did you mean DIR/NAME?` when its directory
    holds a close name (a typo), else to check the path."""
    directory, name = os.path.split(path)
    try:
        entries = os.listdir(directory or ".")
    except (OSError, ValueError):  # no such directory, or not one: nothing to suggest
        return "check the path"
    near = difflib.get_close_matches(name, entries, n=1, cutoff=NEAR_NAME_CUTOFF)
    return f"did you mean {os.path.join(directory, near[0])}?" if near else "check the path"


def check_dtype(dtype: np.dtype, where: str) -> None:
    """Refuse every dtype but integers and floats, naming it (exit 4)."""
    if is_numeric(dtype):
        return
    kind = _DTYPE_KIND_NAMES.get(dtype.kind, "not numeric")
    raise BadData(f"dtype {dtype} ({kind}) is not accepted",
                  "give integer or floating-point numbers", where=where)


def is_numeric(dtype: np.dtype) -> bool:
    """Whether a dtype is one losscli reads: integers and floats, not a sub-array."""
    return dtype.kind in ACCEPTED_DTYPE_KINDS and dtype.itemsize > 0 and dtype.subdtype is None


def human_bytes(n: float) -> str:
    """A byte count for messages: 2 GiB, 1.5 MiB, 800 bytes."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} bytes"


def check_size(shape: tuple[int, ...], where: str) -> None:
    """Refuse an array whose float64 copy would exceed MAX_ARRAY_BYTES, before allocating."""
    need = math.prod(shape) * FLOAT64_BYTES
    if need > MAX_ARRAY_BYTES:
        raise BadData(f"an array of shape {shape} takes {human_bytes(need)} as float64, "
                      f"over the {human_bytes(MAX_ARRAY_BYTES)} {WHOLE_LIMIT}",
                      TOO_LARGE_FIX, where=where)


# ---------------------------------------------------------------- JSON


EXACT_INTEGERS = 2**53  # float64 holds every integer up to this, and not all beyond


class Inexact(float):
    """A JSON integer beyond 2^53 that float64 could not hold exactly (rounded)."""


def inexact_integers(value: Any) -> int:
    """How many Inexact numbers a parsed JSON value holds (walked only when some were seen)."""
    if isinstance(value, Inexact):
        return 1
    if isinstance(value, list):
        return sum(inexact_integers(v) for v in value)
    if isinstance(value, dict):
        return sum(inexact_integers(v) for v in value.values())
    return 0


def inexact_in_array(arr: np.ndarray) -> int:
    """How many entries of a 64-bit integer array (.npy, .npz, safetensors, HDF5) float64
    cannot hold exactly: those beyond 2^53 that converting rounds, as a JSON integer's
    `Inexact` mark counts them."""
    if arr.dtype.kind not in "iu" or arr.dtype.itemsize < 8:
        return 0  # 32 bits and fewer fit float64's 53-bit significand
    beyond = arr > EXACT_INTEGERS
    if arr.dtype.kind == "i":
        beyond |= arr < -EXACT_INTEGERS
    big = arr[beyond]
    if big.size == 0:
        return 0
    rounded = big.astype(np.float64)
    # 2^63 (2^64) is the first float64 past the dtype's range: a value rounded up to it is
    # inexact, and casting it back would overflow
    inside = rounded < float(np.iinfo(big.dtype).max) + 1.0
    exact = np.zeros(big.shape, dtype=bool)
    exact[inside] = rounded[inside].astype(big.dtype) == big[inside]
    return int(big.size - np.count_nonzero(exact))


def precision_warning(where: str, counts: dict[str, int]) -> str:
    """One warning per role whose JSON integers lost precision (merged across roles later)."""
    names = [f"{role} ({n})" for role, n in counts.items()]
    roles = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return (f"{where}: integers beyond 2^53 in {roles} are not exact in float64 (it holds "
            f"every integer only up to 2^53 = {EXACT_INTEGERS}): rounded to the nearest float64")


class _Strict:
    """Hooks that make the stdlib parser strict: no NaN/Infinity, no overflow, unique keys;
    integers beyond 2^53 are read (rounded) and counted in `inexact`."""

    def __init__(self, where: str, inexact: list[str] | None = None) -> None:
        self.where = where
        self.inexact = inexact

    def constant(self, name: str) -> Any:
        raise BadData(f"JSON has {name}, which is not a number",
                      "write finite numbers only", where=self.where)

    def number(self, text: str) -> float:
        # Integers too: json's int() would refuse 4300+ digits and numpy would overflow.
        value = float(text)
        if not math.isfinite(value):
            shown = text if len(text) <= 24 else f"{text[:12]}...({len(text)} digits)"
            raise BadData(f"JSON number {shown} overflows float64",
                          "write finite numbers within float64 range (about 1.8e308)",
                          where=self.where)
        if value == 0.0 and any(c in "123456789" for c in text.partition("e")[0]
                                .partition("E")[0]):
            # read as 0 it would pass unseen (a zero vector, a tie): as loud as an overflow
            shown = text if len(text) <= 24 else f"{text[:12]}...({len(text)} digits)"
            raise BadData(f"JSON number {shown} underflows float64 (it would be read as 0)",
                          "write numbers above float64's smallest (about 4.9e-324), or 0",
                          where=self.where)
        return value

    def integer(self, text: str) -> float:
        value = self.number(text)
        if len(text.lstrip("-")) >= 16 and int(value) != int(text):
            if self.inexact is not None:
                self.inexact.append(text)
            return Inexact(value)
        return value

    def pairs(self, items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise BadData(f"duplicate key {key!r}", "give each key once", where=self.where)
            out[key] = value
        return out


def parse_json(data: bytes, where: str, fix: str = "fix the JSON syntax",
               inexact: list[str] | None = None, one_line: bool = False) -> Any:
    """Parse a JSON document strictly (UTF-8, finite numbers, unique keys, bounded).

    one_line: the document is a line of JSON Lines (`where` is FILE:N), whose syntax errors
    give the column alone ("FILE:2: invalid JSON at line 1 column 62" read as two lines).

    Integers beyond 2^53 are rounded to float64 (as every reader of JSON numbers into
    doubles does); their texts are appended to `inexact`, for a warning.
    """
    if len(data) > MAX_JSON_BYTES:
        raise BadData(f"JSON of {human_bytes(len(data))} is over the "
                      f"{human_bytes(MAX_JSON_BYTES)} limit for JSON input",
                      "save large arrays as .npy or .npz", where=where)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # counted from 1, as JSON's columns are
        raise BadData(f"not UTF-8 text (byte {exc.start + 1} is "
                      f"{data[exc.start:exc.start + 1]!r})",
                      "save the JSON as UTF-8", where=where) from None
    hooks = _Strict(where, inexact)
    try:
        return json.loads(text, parse_constant=hooks.constant, parse_float=hooks.number,
                          parse_int=hooks.integer, object_pairs_hook=hooks.pairs)
    except json.JSONDecodeError as exc:
        at = f"column {exc.colno}" if one_line else f"line {exc.lineno} column {exc.colno}"
        raise BadData(f"invalid JSON at {at}: {exc.msg}", fix, where=where) from None
    except (RecursionError, MemoryError):
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
        if len(shape) > MAX_RANK:
            raise BadData(f"array nested deeper than {MAX_RANK} levels",
                          "arrays have at most 3 dimensions (B, K, D)", where=where)
        if not probe:
            break
        probe = probe[0]
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


def _bad_zip(exc: BaseException) -> bool:
    """Whether exc is zipfile's (if zipfile was never imported, no archive was read)."""
    zipfile = sys.modules.get("zipfile")
    return zipfile is not None and isinstance(exc, zipfile.BadZipFile)


def read_npy_header(stream: IO[bytes], where: str, numbers_only: bool = True,
                    ) -> tuple[tuple[int, ...], bool, np.dtype]:
    """The header of a .npy, parsed as a literal (numpy's reader), checked before any data;
    its dtype refused unless numeric, but by the caller when `numbers_only` is False."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy warns about Python 2 headers
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(
                    stream, max_header_size=MAX_NPY_HEADER)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(
                    stream, max_header_size=MAX_NPY_HEADER)
            else:
                raise ValueError(f"unsupported .npy version {version}")
    except Exception as exc:  # noqa: BLE001 - any failure to parse the header is bad data
        if isinstance(exc, OSError) or _bad_zip(exc):
            raise  # the container failed, not the header: the caller says so
        raise BadData(f"bad .npy header ({_short(exc)})", "re-save it with numpy.save",
                      where=where) from None
    if numbers_only and (refusal := npy_dtype_refusal(dtype, where)) is not None:
        raise refusal
    if any(n < 0 for n in shape):
        raise BadData(f"bad .npy header (negative shape {shape})", "re-save it with numpy.save",
                      where=where)
    return tuple(int(n) for n in shape), bool(fortran), dtype


def npy_dtype_refusal(dtype: np.dtype, where: str) -> BadData | None:
    """Why a .npy's dtype is refused (objects as a pickle, the others by name), or None."""
    if dtype.hasobject:
        return BadData("the .npy holds Python objects (a pickle)", NPY_OBJECTS_FIX,
                       where=where)
    try:
        check_dtype(dtype, where)
    except BadData as exc:
        return exc
    return None


def check_npy_data(shape: tuple[int, ...], dtype: np.dtype, have: int, where: str) -> None:
    """The bytes after a .npy header are exactly the array its header declares: fewer is a
    truncated file; more is a header that does not describe the data (an edited shape or
    dtype), which numpy.load would read as a prefix: a believable wrong array, refused."""
    need = math.prod(shape) * dtype.itemsize
    if need > have:
        raise BadData(f"truncated .npy: the header declares {shape} {dtype} ({need} bytes) "
                      f"but only {max(have, 0)} bytes follow", "re-save the file", where=where)
    if need < have:
        raise BadData(f"the .npy header declares {shape} {dtype} ({need} bytes) but {have} "
                      "bytes follow: the header does not describe the data",
                      "re-save the array with numpy.save", where=where)


def read_npy_stream(stream: IO[bytes], available: int | None, where: str) -> np.ndarray:
    """One .npy array from a stream, its declared size checked before anything is allocated.

    `available`: the bytes the container says the whole .npy has (None: unknown).
    """
    start = stream.tell() if available is not None else 0
    shape, fortran, dtype = read_npy_header(stream, where)
    return _npy_data(stream, shape, fortran, dtype, available, start, where)


def _npy_data(stream: IO[bytes], shape: tuple[int, ...], fortran: bool, dtype: np.dtype,
              available: int | None, start: int, where: str) -> np.ndarray:
    """The array after a .npy header; `available` the bytes of the whole .npy from `start`."""
    if available is not None:
        check_npy_data(shape, dtype, available - (stream.tell() - start), where)
    check_size(shape, where)
    need = math.prod(shape) * dtype.itemsize
    data = np.empty(need, dtype=np.uint8)
    got = _read_into(stream, memoryview(data))
    if got < need:
        raise BadData(f"truncated .npy: {got} of {need} bytes", "re-save the file",
                      where=where)
    return data.view(dtype).reshape(shape, order="F" if fortran else "C")


def _read_into(stream: IO[bytes], out: memoryview) -> int:
    """Fill `out` from the stream, READ_CHUNK_BYTES at a time; how many bytes were read (fewer
    at the stream's end)."""
    got = 0
    while got < len(out):
        chunk = stream.read(min(READ_CHUNK_BYTES, len(out) - got))
        if not chunk:
            break
        out[got:got + len(chunk)] = chunk
        got += len(chunk)
    return got


def read_npz(path: str, stream: IO[bytes]) -> Container:
    """The arrays of an .npz by name; no member is trusted to be what its header says.

    Before any member is decompressed: at most MAX_NPZ_MEMBERS members, and what each
    declares it decompresses to within the cap (and all of them together). A member whose
    dtype is not numeric (strings, booleans, objects: a pickle) is never read: it is refused
    when a role asks for it, and otherwise ignored like any array that is not a role.
    """
    try:
        import zipfile  # ~9 ms of imports that a JSON or .npy input does not need

        archive = zipfile.ZipFile(stream)
    except Exception as exc:  # noqa: BLE001 - zipfile raises many kinds on a corrupt archive
        raise BadData(f"not a readable .npz ({_short(exc)})", "re-save it with numpy.savez",
                      where=path) from None
    arrays: dict[str, np.ndarray] = {}
    refused: dict[str, BadData] = {}
    with archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        if any(n.endswith(".pkl") for n in names):
            raise BadData("this is a torch or pickle archive, not an .npz", PICKLE_FIX,
                          where=path)
        if not infos:
            raise BadData("the .npz archive is empty",
                          "save the arrays with numpy.savez(path, anchor=..., ...)", where=path)
        if len(infos) > MAX_NPZ_MEMBERS:
            raise BadData(f"the .npz has {len(infos)} members (at most {MAX_NPZ_MEMBERS})",
                          "save one array per role", where=path)
        # every member's declared size before any is decompressed: a 144 MB archive
        # declaring 27.7 GiB decompressed its first members (1.4 GB) before the refusal
        declared = sum(info.file_size for info in infos)
        if declared > MAX_ARRAY_BYTES + _NPY_HEADER_ROOM * len(infos):
            raise BadData(f"members declare they decompress to {human_bytes(declared)}, "
                          f"over the {human_bytes(MAX_ARRAY_BYTES)} {WHOLE_LIMIT}",
                          TOO_LARGE_FIX, where=path)
        keys: list[str] = []
        for info in infos:
            key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            if not info.filename.endswith(".npy"):
                raise BadData(f"member {info.filename!r} is not a .npy array",
                              "save the archive with numpy.savez", where=path)
            if key in keys:
                raise BadData(f"duplicate member {info.filename!r}", "give each array once",
                              where=path)
            keys.append(key)
        # and what their headers say they take as float64, before any data is decompressed:
        # float32 members of 1.68 GiB (3.35 GiB as float64) were read and widened (1.8 GB,
        # 6 s) before the refusal
        converted = 0
        for info, key in zip(infos, keys, strict=True):
            where = f"{path}:{key}"
            shape, dtype = _member_header(archive, info, where)
            refusal = npy_dtype_refusal(dtype, where)
            if refusal is not None:  # left unread: refused if a role reads it
                refused[key] = refusal
                continue
            converted += math.prod(shape) * FLOAT64_BYTES
            if converted > MAX_ARRAY_BYTES:
                raise BadData(f"the arrays take {human_bytes(converted)} or more as float64, "
                              f"over the {human_bytes(MAX_ARRAY_BYTES)} {WHOLE_LIMIT}",
                              TOO_LARGE_FIX, where=where)
        for info, key in zip(infos, keys, strict=True):
            if key not in refused:
                arrays[key] = _member_data(archive, info, f"{path}:{key}")

    def load(key: str) -> np.ndarray:
        if key in refused:
            raise refused[key]
        return arrays[key]

    return Container([n[:-4] for n in names], load)


def _member_header(archive: Any, info: Any, where: str) -> tuple[tuple[int, ...], np.dtype]:
    """An .npz member's shape and dtype, from its header alone (the rest left compressed);
    a numeric member whose header declares other than the bytes it stores is refused."""
    with _opened_member(archive, info, where) as member:
        shape, _, dtype = read_npy_header(member, where, False)
        if npy_dtype_refusal(dtype, where) is None:
            check_npy_data(shape, dtype, info.file_size - member.tell(), where)
        return shape, dtype


def _member_data(archive: Any, info: Any, where: str) -> np.ndarray:
    """An .npz member's array, no larger than its stored size allows."""
    with _opened_member(archive, info, where) as member:
        shape, fortran, dtype = read_npy_header(member, where, False)
        return _npy_data(member, shape, fortran, dtype, info.file_size, 0, where)


@contextlib.contextmanager
def _opened_member(archive: Any, info: Any, where: str) -> Iterator[_Counted]:
    """A member's stream; what zipfile raises on a bad one (CRC, encryption, an unknown
    method) becomes a BadData naming it."""
    try:
        with archive.open(info) as member:
            yield _Counted(member)
    except BadData:
        raise
    except Exception as exc:  # noqa: BLE001 - CRC, encryption, unknown method...
        raise BadData(f"corrupt .npz member ({_short(exc)})", "re-save the archive",
                      where=where) from None


def _short(exc: BaseException) -> str:
    """An exception as a short phrase for a one-line message."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


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
