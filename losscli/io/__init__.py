"""Reading inputs: files or stdin to validated float64 arrays keyed by role.

Arrays become float64 and C-contiguous here, once, at the edge; nothing below io sees a
file, a dtype surprise or a non-finite input.
"""

from __future__ import annotations

import io as _io
import os
import sys
from collections.abc import Mapping
from typing import IO, Any

import numpy as np

from losscli.errors import BadData, InputUnavailable, UsageError
from losscli.io.formats import (
    MAX_JSON_BYTES,
    PICKLE_FIX,
    nested_to_array,
    open_binary,
    parse_json,
    read_npy_stream,
    read_npz,
    sniff,
)
from losscli.losses.spec import LossSpec, closest_hint
from losscli.model import ROLES, SCALAR_ROLES, Inputs

PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin")
EXTENSIONS = {".json": "json", ".npy": "npy", ".npz": "npz", ".jsonl": "json"}


def load_inputs(path: str | None = None, role_files: Mapping[str, str] | None = None,
                spec: LossSpec | None = None, stdin: IO[bytes] | None = None) -> Inputs:
    """Read INPUT (a JSON object, an .npz, a stacked .npy, or `-` for stdin) and per-role files.

    A per-role file replaces that role of INPUT, with a warning.
    """
    role_files = dict(role_files or {})
    raw: dict[str, Any] = {}
    sources: dict[str, str] = {}
    warnings: list[str] = []
    if path is not None:
        for role, (value, where) in _read_document(path, spec, stdin).items():
            raw[role] = value
            sources[role] = where
    elif not role_files:
        raise UsageError("no input given", "give INPUT (a file, or - for stdin) or "
                         "per-role options such as --anchor FILE")
    for role, file in role_files.items():
        if role in raw:
            warnings.append(f"--{role} {file} replaces {role} from {path}")
        raw[role], sources[role] = _read_role_file(file, role, stdin)
    arrays = {role: as_role_array(value, role, sources[role]) for role, value in raw.items()}
    if spec is not None:
        for role in arrays:
            if role not in spec.roles:
                warnings.append(f"{role} is not used by {spec.name} (it takes "
                                f"{', '.join(spec.roles)})")
    return Inputs(arrays=arrays, sources=sources, warnings=tuple(warnings))


def inputs_from_arrays(arrays: Mapping[str, Any], spec: LossSpec | None = None) -> Inputs:
    """Inputs from in-memory arrays or nested lists (the library's entry point)."""
    unknown = [k for k in arrays if k not in ROLES]
    if unknown:
        raise BadData(f"unknown role {unknown[0]!r}{closest_hint(unknown[0], ROLES)}",
                      f"roles are: {', '.join(ROLES)}")
    out = {}
    for role, value in arrays.items():
        if not isinstance(value, np.ndarray):
            value = np.asarray(value) if not isinstance(value, (list, int, float)) \
                else nested_to_array(value, role)
        out[role] = as_role_array(value, role, role)
    return Inputs(arrays=out, sources={r: "<memory>" for r in out})


def _read_any(path: str, stdin: IO[bytes] | None) -> tuple[str, str, Any]:
    """(where, format, payload): a JSON document, a dict of .npz arrays, or one .npy array.

    Sizes are checked before anything large is read: a JSON file against its cap, a .npy
    header against the file, .npz members against what they may decompress to.
    """
    if path == "-":
        where = "<stdin>"
        source = stdin if stdin is not None else getattr(sys.stdin, "buffer", None)
        if source is None:
            raise InputUnavailable("stdin is closed", "pipe JSON in, or give a file",
                                   where=where)
        if stdin is None and sys.stdin.isatty():
            raise InputUnavailable("stdin is a terminal", "pipe JSON in, e.g. "
                                   "cat ex.json | losscli compute infonce -", where=where)
        try:
            data = source.read(MAX_JSON_BYTES + 1)
        except (OSError, ValueError) as exc:
            raise InputUnavailable(f"cannot read stdin ({exc})", "pipe JSON in",
                                   where=where) from None
        return _parse(where, _io.BytesIO(data), len(data))
    with open_binary(path) as fh:
        try:
            size = os.fstat(fh.fileno()).st_size
            return _parse(path, fh, size)
        except OSError as exc:
            raise InputUnavailable(f"cannot read: {exc.strerror or exc}", "check the file",
                                   where=path) from None


def _parse(where: str, stream: IO[bytes], size: int) -> tuple[str, str, Any]:
    head = stream.read(16)
    stream.seek(0)
    fmt = _detect(where, head)
    if fmt == "npy":
        return where, fmt, read_npy_stream(stream, size, where)
    if fmt == "npz":
        return where, fmt, read_npz(where, stream)
    if size > MAX_JSON_BYTES:
        raise BadData(f"JSON of {size / 2**20:.0f} MiB or more is over the "
                      f"{MAX_JSON_BYTES // 2**20} MiB limit for JSON input",
                      "save large arrays as .npy or .npz", where=where)
    return where, fmt, parse_json(stream.read(), where)


def _detect(path: str, head: bytes) -> str:
    """The format by content; refuse pickles; say so when the extension disagrees."""
    fmt = sniff(head)
    lower = path.lower()
    if fmt == "pickle" or (fmt in ("npz", "unknown") and lower.endswith(PICKLE_SUFFIXES)):
        raise BadData("this is a pickle (or torch) file", PICKLE_FIX, where=path)
    if fmt == "unknown":
        expected = next((v for k, v in EXTENSIONS.items() if lower.endswith(k)), None)
        found = "empty" if not head else "not JSON, .npy or .npz"
        hint = f" despite its {expected} extension" if expected else ""
        raise BadData(f"{found}{hint}", "give a JSON object, an .npy or an .npz file",
                      where=path)
    return fmt


def _read_document(path: str, spec: LossSpec | None, stdin: IO[bytes] | None,
                   ) -> dict[str, tuple[Any, str]]:
    where, fmt, payload = _read_any(path, stdin)
    if fmt == "npy":
        return _unstack(payload, spec, where)
    if fmt == "json" and not isinstance(payload, dict):
        raise BadData(f"JSON {type(payload).__name__} at the top level",
                      "give an object keyed by role, e.g. {\"anchor\": [...], "
                      "\"positive\": [...], \"negatives\": [[...]]}", where=where)
    _check_keys(payload, spec, where)
    return {role: (value, f"{where}:{role}") for role, value in payload.items()}


def _check_keys(doc: Mapping[str, Any], spec: LossSpec | None, where: str) -> None:
    expected = spec.roles if spec is not None else ROLES
    for key in doc:
        if key not in ROLES:
            raise BadData(
                f"unknown key {key!r}{closest_hint(key, list(expected))}",
                f"expected keys: {', '.join(expected)}", where=where)


def _unstack(arr: np.ndarray, spec: LossSpec | None, where: str) -> dict[str, tuple[Any, str]]:
    """A lone .npy: logits for softmax-ce, else a stack (B, 2 + K, D) of a, p, n_1..n_K."""
    if spec is not None and "logits" in spec.roles:
        return {"logits": (arr, f"{where}:logits")}
    if arr.ndim not in (2, 3) or arr.shape[-2] < 2:
        raise BadData(f"a lone .npy of shape {arr.shape} is not a stack",
                      "give (B, 2 + K, D): row 0 the anchor, row 1 the positive, rows 2.. "
                      "the negatives; or use --anchor/--positive/--negatives", where=where)
    out = {"anchor": (arr[..., 0, :], f"{where}:anchor"),
           "positive": (arr[..., 1, :], f"{where}:positive")}
    if arr.shape[-2] > 2:
        out["negatives"] = (arr[..., 2:, :], f"{where}:negatives")
    return out


def _read_role_file(path: str, role: str, stdin: IO[bytes] | None) -> tuple[Any, str]:
    where, fmt, payload = _read_any(path, stdin)
    if fmt == "npy":
        return payload, where
    if isinstance(payload, dict):
        if list(payload) != [role]:
            raise BadData(f"--{role} expects one array; found keys "
                          f"{', '.join(payload) or 'none'}",
                          f"give the array alone, or one key {role!r}", where=where)
        return payload[role], f"{where}:{role}"
    return payload, where


_ACCEPTED_KINDS = {"f": "float", "i": "int", "u": "uint"}


def as_role_array(value: Any, role: str, where: str) -> np.ndarray:
    """A role's value as a finite float64 C-contiguous array, or a one-line reason why not."""
    arr = value if isinstance(value, np.ndarray) else nested_to_array(value, where)
    if arr.dtype.kind not in _ACCEPTED_KINDS:
        kind = {"b": "boolean", "c": "complex", "O": "object", "U": "string", "S": "bytes",
                "V": "structured", "M": "datetime", "m": "timedelta"}.get(arr.dtype.kind, "")
        raise BadData(f"dtype {arr.dtype} ({kind or 'not numeric'}) is not accepted",
                      "give integer or floating-point numbers", where=where)
    if arr.ndim > 3:
        raise BadData(f"{arr.ndim}-dimensional array {arr.shape}", "roles have at most 3 "
                      "dimensions (B, K, D)", where=where)
    if arr.ndim == 0 and role not in SCALAR_ROLES:
        raise BadData("a single number where an array belongs", f"give {role} as an array",
                      where=where)
    if arr.size == 0 and not (role in ("negatives", "negatives2") and arr.ndim >= 2
                              and arr.shape[-1] > 0):
        raise BadData(f"empty array of shape {arr.shape}", f"give {role} at least one value",
                      where=where)
    out = np.asarray(arr, dtype=np.float64, order="C")
    finite = np.isfinite(out)
    if not finite.all():
        first = tuple(int(i) for i in np.argwhere(~finite)[0])
        raise BadData(f"non-finite value {out[first]!r} at index {list(first)}",
                      "remove or replace NaN and infinite values", where=where)
    return out


__all__ = ["as_role_array", "inputs_from_arrays", "load_inputs"]
