"""Reading inputs: files or stdin to validated float64 arrays keyed by role.

Arrays become float64 and C-contiguous here, once, at the edge; nothing below io sees a
file, a dtype surprise or a non-finite input. Every refusal is a LossCliError located at
`file[:role]`: InputUnavailable (exit 3) when nothing could be read, BadData (exit 4) when
what was read is not valid, UsageError (exit 2) when the command line itself is wrong.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io as _io
import os
import stat
import sys
from collections.abc import Iterable, Mapping
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from losscli.errors import BadData, InputUnavailable, UsageError, closest_hint
from losscli.io import formats as _formats
from losscli.io import hdf5, rolesets, rows
from losscli.io.containers import Container
from losscli.io.formats import (
    PICKLE_FIX,
    check_dtype,
    describe,
    describe_content,
    ml_float_as_float32,
    nested_to_array,
    open_binary,
    parse_json,
    read_npy_stream,
    read_npz,
    sniff,
    starts_like_old_pickle,
    unknown_fix,
)
from losscli.io.jsonlines import Lines, looks_like_lines, parse_json_lines
from losscli.io.keys import CONTAINERS, PLAIN, RoleNames, listing, parse_mapping, pick_roles
from losscli.model import (
    NEGATIVES_LAYOUTS,
    ROLES,
    SCALAR_ROLES,
    Inputs,
    LoneStack,
    StackDoubt,
)

if TYPE_CHECKING:  # io is a leaf: it reads a spec's roles and name, never the registry
    from losscli.losses.spec import LossSpec

PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin")
EXTENSIONS = {".json": "json", ".npy": "npy", ".npz": "npz", ".jsonl": "json",
              ".safetensors": "safetensors", ".parquet": "parquet", ".arrow": "arrow",
              ".feather": "arrow", ".h5": "hdf5", ".hdf5": "hdf5"}
CSV_SUFFIXES = (".csv", ".tsv", ".txt")
CSV_FIX = ("losscli reads JSON, .npy and .npz; convert it, e.g. python -c \"import numpy; "
           "numpy.save('x.npy', numpy.loadtxt('x.csv', delimiter=','))\"")
STDIN = "<stdin>"


def load_inputs(path: str | None = None, role_files: Mapping[str, str] | None = None,
                spec: LossSpec | None = None, stdin: IO[bytes] | None = None,
                negatives_layout: str | None = None,
                mapping: Mapping[str, str] | Iterable[str] | None = None,
                strict_keys: bool = False, elsewhere: Iterable[str] = (),
                opened: Any = None, stdin_hint: str | None = None,
                positives_layout: str | None = None) -> Inputs:
    """Read INPUT (a JSON object, JSON Lines, an .npz, a stacked .npy, a safetensors,
    Parquet, Arrow or HDF5 file, or `-` for stdin) and per-role files.

    A per-role file replaces that role of INPUT, with a warning. `negatives_layout` says how
    2-D negatives are read: "shared" (K, D) or "per-anchor" (B, D), one per anchor;
    `positives_layout` the same for 2-D positives.
    `mapping` reads a role from the array (tensor, column, dataset) of another name, as
    {role: name} or `ROLE=NAME` items (`--map`); arrays that are not roles are ignored with
    a warning, or refused with `strict_keys` (`--strict-keys`). `elsewhere`: roles the
    caller reads from other files (batch's per-role options), which INPUT need not hold.
    `opened`: INPUT's bytes, already open (anything with read(n)), read in place of opening
    `path`, which names them: a pipe that batch has begun to read to tell its format.
    `stdin_hint`: the command line the error shows when `-` is given but stdin is a
    terminal (the CLI's own command and loss, e.g. `cat ex.json | losscli stats triplet -`);
    io knows no command, so without it the error says only to pipe JSON in.
    """
    check_layout(negatives_layout, spec)
    check_layout(positives_layout, spec, "positives")
    role_files = dict(role_files or {})
    check_role_files(role_files, spec)
    names = RoleNames(parse_mapping(mapping), strict_keys,
                      frozenset(role_files) | frozenset(elsewhere))
    dashes = [name for name, p in [("INPUT", path), *((f"--{r}", f) for r, f in
                                                       role_files.items())] if p == "-"]
    if len(dashes) > 1:
        raise UsageError(f"stdin (-) is given {len(dashes)} times ({', '.join(dashes)})",
                         "give - once; read the other roles from files")
    raw: dict[str, Any] = {}
    sources: dict[str, str] = {}
    warnings: list[str] = []
    lone: LoneStack | StackDoubt | None = None
    document: str | None = None  # INPUT as messages name it: a file keyed by role
    members = rolesets.set_of(path) if path not in (None, "-") else None
    if members is not None:  # INPUT is one file of STEM.ROLE.npy files: read them all
        members.check(spec, tuple(role_files))
        warnings.append(f"{path} is one file of the role set {members.pattern}: read "
                        f"{members.describe()}")
        kept = dict(members.files)
        for role, file in role_files.items():
            for old in replaced_roles(spec, role, role_files):
                if old in kept:
                    warnings.append(f"--{role} {file} replaces {kept.pop(old)}")
        role_files = {**kept, **role_files}
        path = None
    if path is not None:
        roles, lone, document = _read_document(path, spec, stdin, warnings, names,
                                               opened=opened, stdin_hint=stdin_hint)
        for role, (value, where) in roles.items():
            raw[role] = value
            sources[role] = where
    elif not role_files and members is None:
        raise UsageError("no input given", "give INPUT (a file, or - for stdin) or "
                         "per-role options such as --anchor FILE")
    replaced = set(role_files)
    for role, file in role_files.items():
        for old in replaced_roles(spec, role, role_files):
            if old in raw:
                warnings.append(f"--{role} {file} replaces {old} from {path}")
                replaced.add(old)
                del raw[old]
                sources.pop(old)
        raw[role], sources[role] = _read_role_file(file, role, stdin, warnings, names,
                                                   stdin_hint, spec)
    warnings.extend(_binary_precision_warnings(raw, sources))
    arrays = {role: as_role_array(value, role, sources[role]) for role, value in raw.items()}
    if spec is not None:
        for role in arrays:
            if role not in spec.roles:
                warnings.append(spec.unused(role))
    if lone is not None:  # a --ROLE file replaced some of its rows: those are not its own
        lone = dataclasses.replace(lone, roles=tuple(r for r in lone.roles
                                                     if r not in replaced))
    return Inputs(arrays=arrays, sources=sources, warnings=tuple(warnings),
                  negatives_layout=negatives_layout, positives_layout=positives_layout,
                  lone_stack=lone if isinstance(lone, LoneStack) else None,
                  stack_doubt=lone if isinstance(lone, StackDoubt) else None,
                  document=document)


def replaced_roles(spec: LossSpec | None, role: str, given: Mapping[str, str]) -> tuple[str, ...]:
    """The roles a --ROLE file replaces (LossSpec.replaced_by; without a loss, its own)."""
    return spec.replaced_by(role, given) if spec is not None else (role,)


def _binary_precision_warnings(raw: dict[str, Any], sources: dict[str, str]) -> list[str]:
    """JSON's 2^53 warning for the 64-bit integer arrays of binary files (.npy, .npz,
    safetensors, HDF5), one per file naming its roles: float64 rounds them as it rounds
    JSON's, and a changed number must not pass unseen."""
    counts: dict[str, dict[str, int]] = {}
    for role, value in raw.items():
        if isinstance(value, np.ndarray) and (n := _formats.inexact_in_array(value)):
            where = sources[role]
            file = where[:-len(role) - 1] if where.endswith(f":{role}") else where
            counts.setdefault(file, {})[role] = n
    return [_formats.precision_warning(file, by_role) for file, by_role in counts.items()]


def check_layout(layout: str | None, spec: LossSpec | None = None,
                 role: str = "negatives") -> None:
    """A usage error (exit 2) for a layout of `role` (negatives or positives) that is not one
    of NEGATIVES_LAYOUTS (POSITIVES_LAYOUTS, the same), or for a loss that takes no such role
    (an option that does not apply is never ignored)."""
    if layout is None:
        return
    option = f"--{role}-layout"
    if layout not in NEGATIVES_LAYOUTS:
        raise UsageError(f"{option} got {layout!r}"
                         f"{closest_hint(str(layout), NEGATIVES_LAYOUTS)}",
                         f"choose {' or '.join(NEGATIVES_LAYOUTS)}")
    if spec is not None and role not in spec.roles:
        raise UsageError(f"{option} does not apply to {spec.name}",
                         f"it takes no {role}: drop {option}")


def check_role_files(role_files: Iterable[str], spec: LossSpec | None = None) -> None:
    """A usage error (exit 2) for a per-role file of a role the loss has no use for
    (`--negatives2` to triplet): an option that does not apply is never ignored. A role the
    loss builds from the batch itself (`spec.from_batch`: clip's negatives) stays a warning
    that says why, as the same array inside an input file does: a command line written for
    infonce and clip alike gives one."""
    if spec is None:
        return
    for role in role_files:
        if role not in spec.roles and role not in spec.from_batch:
            raise UsageError(f"--{role} does not apply to {spec.name}",
                             f"it takes {', '.join(spec.roles)}: drop --{role}")


def with_layout(inputs: Inputs, negatives_layout: str | None,
                spec: LossSpec | None = None, positives_layout: str | None = None) -> Inputs:
    """The inputs with their negatives (positives) read in the given layout (None: as
    they are)."""
    check_layout(negatives_layout, spec)
    check_layout(positives_layout, spec, "positives")
    if negatives_layout is not None:
        inputs = dataclasses.replace(inputs, negatives_layout=negatives_layout)
    if positives_layout is not None:
        inputs = dataclasses.replace(inputs, positives_layout=positives_layout)
    return inputs


def inputs_from_arrays(arrays: Mapping[str, Any], spec: LossSpec | None = None,
                       negatives_layout: str | None = None,
                       positives_layout: str | None = None) -> Inputs:
    """Inputs from in-memory arrays (numpy, torch tensors detached and moved to the CPU,
    anything with `__array__` or `__dlpack__`) or nested lists (the library's entry point)."""
    check_layout(negatives_layout, spec)
    check_layout(positives_layout, spec, "positives")
    unknown = [k for k in arrays if k not in ROLES]
    if unknown:
        raise BadData(f"unknown role {unknown[0]!r}{closest_hint(str(unknown[0]), ROLES)}",
                      f"roles are: {', '.join(ROLES)}")
    out = {}
    for role, value in arrays.items():
        if isinstance(value, (list, int, float)) and not isinstance(value, bool):
            value = nested_to_array(value, role)
        elif not isinstance(value, np.ndarray):
            from losscli.io.tensors import to_numpy

            value = to_numpy(value, role)  # torch, jax, anything with __array__ or __dlpack__
        out[role] = as_role_array(value, role, role)
    return Inputs(arrays=out, sources={r: "<memory>" for r in out},
                  negatives_layout=negatives_layout, positives_layout=positives_layout)


def _read_any(path: str, stdin: IO[bytes] | None, notes: list[str] | None = None,
              role: str | None = None, opened: Any = None,
              stdin_hint: str | None = None) -> tuple[str, str, Any]:
    """(where, format, payload): a JSON document, a dict of .npz arrays, or one .npy array.

    Sizes are checked before anything large is read: a JSON file against its cap, a .npy
    header against the file, .npz members against what they may decompress to.
    """
    notes = [] if notes is None else notes
    inner = hdf5.split_path(path) if path != "-" else None
    if inner is not None:  # FILE.h5:group/dataset, named by `path` itself in messages
        return path, "hdf5", hdf5.read_hdf5(path, inner[0], inner[1])
    if opened is not None:  # a pipe or stdin already open: its bytes, named by `path`
        where = STDIN if path == "-" else path
        try:
            data = read_stream(opened, where)
        except OSError as exc:
            raise InputUnavailable(f"cannot read: {exc.strerror or exc}", "check the file",
                                   where=where) from None
        return _parse(where, _io.BytesIO(data), len(data), notes, role)
    if path == "-":
        data = _read_stdin(stdin, stdin_hint)
        return _parse(STDIN, _io.BytesIO(data), len(data), notes, role)
    with open_binary(path) as fh:
        try:
            info = os.fstat(fh.fileno())
            if not stat.S_ISREG(info.st_mode):
                # A pipe, FIFO, /dev/stdin or <(...): read once into memory, within the
                # caps, then parse as a file (its size is what was read).
                data = read_stream(fh, path)
                return _parse(path, _io.BytesIO(data), len(data), notes, role)
            return _parse(path, fh, info.st_size, notes, role)
        except OSError as exc:
            raise InputUnavailable(f"cannot read: {exc.strerror or exc}", "check the file",
                                   where=path) from None


def is_regular_file(path: str) -> bool:
    """Whether `path` is a regular file (seekable, re-readable, openable by another
    process); False for a pipe, FIFO, /dev/stdin or <(...). A path that cannot be
    examined counts as regular: its reader says what is wrong with it."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return True


def read_stream(source: IO[bytes], where: str) -> bytes:
    """All of a non-seekable stream, within the caps: JSON up to MAX_JSON_BYTES, an .npy or
    .npz up to the array cap (plus room for headers); more is refused, never cut."""
    cap = _formats.MAX_JSON_BYTES
    data = source.read(cap + 1)
    if data is None:  # a non-blocking stream with nothing in it
        raise InputUnavailable("nothing to read", "write the data into it, or give a file",
                               where=where)
    kind = sniff(data[:16])
    if len(data) > cap and kind in _formats.BINARY_FORMATS:
        if kind == "npy":
            # its header says the array's size: a 30 GB array is refused from it, not after
            # 2 GiB of it were read into memory (QA20a M2)
            shape, _, _ = _formats.read_npy_header(_io.BytesIO(data), where)
            _formats.check_size(shape, where)
        limit = _formats.MAX_ARRAY_BYTES + 2**20
        data += source.read(limit + 1 - len(data)) or b""
        if len(data) > limit:
            raise BadData(f"a stream of more than {_formats.human_bytes(limit)} is over the "
                          f"{_formats.human_bytes(_formats.MAX_ARRAY_BYTES)} "
                          f"{_formats.WHOLE_LIMIT}", _formats.TOO_LARGE_FIX, where=where)
    return data


def _read_stdin(stdin: IO[bytes] | None, hint: str | None = None) -> bytes:
    """All of stdin, within the caps: JSON up to MAX_JSON_BYTES, an array up to its cap.
    `hint`: the example command line for a stdin that is a terminal (load_inputs)."""
    source = stdin if stdin is not None else getattr(sys.stdin, "buffer", None)
    if source is None:
        raise InputUnavailable("stdin is closed", "pipe JSON in, or give a file", where=STDIN)
    try:
        if stdin is None and sys.stdin.isatty():
            raise InputUnavailable("stdin is a terminal", f"pipe JSON in, e.g. {hint}" if hint
                                   else "pipe JSON in, or give a file", where=STDIN)
        return read_stream(source, STDIN)
    except (OSError, ValueError) as exc:
        raise InputUnavailable(f"cannot read stdin ({exc})", "pipe JSON in, or give a file",
                               where=STDIN) from None


def _parse(where: str, stream: IO[bytes], size: int, notes: list[str],
           role: str | None = None) -> tuple[str, str, Any]:
    head = _head(stream)
    stream.seek(0)
    fmt = _detect(where, head, notes)
    if fmt == "npy":
        return where, fmt, read_npy_stream(stream, size, where)
    if fmt == "npz":
        return where, fmt, read_npz(where, stream)
    if fmt in ("safetensors", "parquet", "arrow", "hdf5"):
        return where, fmt, _read_container(where, stream, fmt)
    cap = _formats.MAX_JSON_BYTES  # read at call time: tests lower the caps
    if size > cap:
        raise BadData(f"JSON of {_formats.human_bytes(size)} is over the "
                      f"{_formats.human_bytes(cap)} limit for JSON input",
                      "save large arrays as .npy or .npz", where=where)
    fix = CSV_FIX if where.lower().endswith(CSV_SUFFIXES) else "fix the JSON syntax"
    inexact: list[str] = []
    data = stream.read()
    try:
        payload = parse_json(data, where, fix, inexact)
    except BadData as exc:
        if "Extra data" not in exc.what or not looks_like_lines(data):
            raise
        inexact.clear()
        payload = parse_json_lines(data, where, inexact)  # one example per line
        fmt = "jsonl"
    if inexact:
        notes.append(_precision_note(where, payload, role))
    return where, fmt, payload


# JSON may begin with any amount of whitespace: how far past the first 16 bytes the format
# is looked for (a file of nothing but whitespace is described as such below this).
WHITESPACE_LOOKAHEAD = 2**20
_WHITESPACE = b"\xef\xbb\xbf \t\r\n"


def _head(stream: IO[bytes]) -> bytes:
    """The first bytes that tell a file's format: 16, or up to the first that is not
    whitespace (pretty-printed JSON may start with more than 16 blank bytes)."""
    head = stream.read(16)
    while (len(head) < WHITESPACE_LOOKAHEAD and head and not head.lstrip(_WHITESPACE)
           and (more := stream.read(4096))):
        head += more
    return head


def _read_container(where: str, stream: IO[bytes], fmt: str) -> Any:
    """A safetensors, Parquet, Arrow or HDF5 file's named arrays, read on demand: from the
    path (the libraries open it themselves), or from the bytes of a stream."""
    from losscli.io import parquet, safetensors

    in_memory = isinstance(stream, _io.BytesIO)
    if fmt == "safetensors":
        return safetensors.read_safetensors(where, stream.getvalue() if in_memory else where)
    if fmt == "hdf5":
        return hdf5.read_hdf5(where, stream if in_memory else where)
    return parquet.read_table(where, stream if in_memory else where, fmt)


def _precision_note(where: str, payload: Any, role: str | None) -> str:
    if isinstance(payload, Lines):  # counted per key as the lines were read
        counts = dict(payload.inexact) if role is None else \
            {role: sum(payload.inexact.values())}
    elif role is not None or not isinstance(payload, dict):
        counts = {role or "the input": _formats.inexact_integers(payload)}
    else:
        counts = {key: n for key, value in payload.items()
                  if (n := _formats.inexact_integers(value))}
    return _formats.precision_warning(where, counts)


def _detect(path: str, head: bytes, notes: list[str]) -> str:
    """The format by content; refuse pickles; say what was found when the extension lies."""
    fmt = sniff(head)
    lower = path.lower()
    # Only what starts like a pickle, or a zip under a torch name (torch.save's archive):
    # any other unknown binary named .bin is a raw dump, not a torch file.
    named = lower.endswith(PICKLE_SUFFIXES)
    if fmt == "pickle" or (named and (fmt == "npz" or (fmt == "unknown"
                                                       and starts_like_old_pickle(head)))):
        raise BadData("this is a pickle (or torch) file", PICKLE_FIX, where=path)
    suffix = next((k for k in EXTENSIONS if lower.endswith(k)), None)
    expected = EXTENSIONS[suffix] if suffix is not None else None
    if fmt == "unknown":  # the suffix as written: a .jsonl's format is json, its name not
        hint = f" despite its {suffix} extension" if suffix is not None else ""
        fix = CSV_FIX if lower.endswith(CSV_SUFFIXES) else \
            "save the JSON as UTF-8" if head.startswith((b"\xff\xfe", b"\xfe\xff")) else \
            unknown_fix(path, head)
        raise BadData(f"{describe_content(head)}{hint}", fix, where=path)
    if expected is not None and expected != fmt:
        # `FILE: what`, as every warning that names its file: batch names the input before
        # a warning only when it does not begin so (FileResult.named_warnings)
        notes.append(f"{path}: holds {describe(fmt)} despite its "
                     f"{os.path.splitext(path)[1]} extension; read as {describe(fmt)}")
    return fmt


def _read_document(path: str, spec: LossSpec | None, stdin: IO[bytes] | None,
                   notes: list[str] | None = None, names: RoleNames = PLAIN,
                   opened: Any = None, stdin_hint: str | None = None,
                   ) -> tuple[dict[str, tuple[Any, str]], LoneStack | None, str]:
    """INPUT's roles (value, where), the LoneStack when they are a lone 2-D .npy's
    rows (one example), and INPUT's name in messages (`<stdin>` for `-`)."""
    notes = [] if notes is None else notes
    where, fmt, payload = _read_any(path, stdin, notes, opened=opened, stdin_hint=stdin_hint)
    with _closing(payload):  # its roles are arrays by the end: the file is released there
        return (*_document_roles(where, fmt, payload, spec, notes, names), where)


def _closing(payload: Any) -> Any:
    """A container's file closed at the end of the with-block (on an error too); anything
    else (a JSON document, an array) as it is."""
    return payload if isinstance(payload, Container) else contextlib.nullcontext(payload)


def _document_roles(where: str, fmt: str, payload: Any, spec: LossSpec | None,
                    notes: list[str], names: RoleNames,
                    ) -> tuple[dict[str, tuple[Any, str]], LoneStack | StackDoubt | None]:
    if fmt == "hdf5" and isinstance(payload, np.ndarray):  # FILE.h5:dataset: a stack
        if payload.ndim == 0:
            raise BadData("a single number where an array belongs", "give a dataset "
                          "(B, 2 + K, D) to read as a stack, or a group of datasets named "
                          "by role", where=where)
        fmt, kind = "npy", "HDF5 dataset"  # read as a lone .npy is, and named as itself
    else:
        kind = ".npy"
    if fmt == "npy":
        out = _unstack(payload, spec, where)
        if payload.ndim == 2 and "anchor" in out:
            notes.append(one_example_stack(where, payload.shape, kind))
            return out, LoneStack(where, tuple(payload.shape), tuple(out), kind)
        if "anchor" in out:
            doubt = roles_first_stack(where, payload.shape, takes_negatives(spec), tuple(out))
            if doubt is not None:
                notes.append(stack_warning(doubt))
                return out, doubt
        return out, None
    if fmt == "json" and not isinstance(payload, dict):
        found = {list: "an array", str: "a string", float: "a number", bool: "a boolean",
                 type(None): "null"}.get(type(payload), type(payload).__name__)
        raise BadData(f"{found} at the top level of the JSON",
                      "give an object keyed by role, e.g. {\"anchor\": [...], "
                      "\"positive\": [...], \"negatives\": [[...]]}", where=where)
    picked = pick_roles(payload, where, fmt, spec, names, notes)
    if fmt in rows.ROW_FORMATS:  # one example per line or row: the batch form, checked
        picked = {role: rows.one_example_per_row(value, role, spec, where, fmt,
                                                 getattr(payload, "first_line", 0))
                  for role, value in picked.items()}
    return {role: (value, f"{where}:{role}") for role, value in picked.items()}, None


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


def one_example_stack(where: str, shape: tuple[int, ...], kind: str = ".npy") -> str:
    """The warning for a lone 2-D .npy (or `kind`: an HDF5 dataset read as one): its rows
    are taken as the roles of one example."""
    K, D = shape[0] - 2, shape[1]
    return (f"{where}: a 2-D {kind} {tuple(shape)} is read as one example, rows as roles: row 0 "
            f"the anchor, row 1 the positive, rows 2.. the negatives (B = 1, K = {K}, "
            f"D = {D}); save a batch as (B, 2 + K, D), or give each role with --anchor, "
            "--positive, --negatives")


# np.stack([a, p, n_1, ..., n_K]) lists the roles' arrays by hand: a stack whose first axis
# is this short may be such a list, whatever its other axes (QA17 H1: (7, 3, 4), three
# examples of five negatives saved so, was read as seven examples of one without a word).
ROLES_FIRST_ROWS = 2 + 64


def roles_first_stack(where: str, shape: tuple[int, ...], negatives: bool = True,
                      roles: tuple[str, ...] = ()) -> StackDoubt | None:
    """The doubt of a 3-D stack (X, Y, D) that may have been saved roles-first, or None.

    np.stack([a, p, n_1..n_K']) of (B', D) arrays, numpy's default axis, gives
    (2 + K', B', D): it is read as B = 2 + K' examples of Y = B' rows each, a legal shape with
    other numbers. Both readings fit every (X, Y, D) with X >= 2. The roles-first one is
    likely where the first axis is no longer than the second (a batch has more examples than
    rows per example far more often than not) or short enough to be roles listed by hand
    (X <= ROLES_FIRST_ROWS): there the reading taken and the other are both said
    (stack_warning), with the save that removes the doubt. X = 1 cannot be roles-first (a
    stack needs two roles), nor X > 2 for a loss without `negatives` (clip's np.stack([a,
    p]) is (2, B, D))."""
    X, Y, D = shape
    if X < 2 or (X > Y and X > ROLES_FIRST_ROWS) or (X > 2 and not negatives):
        return None
    return StackDoubt(where, (X, Y, D), roles)


def stack_warning(doubt: StackDoubt) -> str:
    """The warning that says both readings of a stack, once per file."""
    return f"{doubt.where}: {doubt.reading}: {doubt.fix}"


def takes_negatives(spec: LossSpec | None) -> bool:
    """Whether a loss reads a negatives role (any loss may, when none is named)."""
    return spec is None or "negatives" in spec.roles


def _read_role_file(path: str, role: str, stdin: IO[bytes] | None,
                    notes: list[str] | None = None, names: RoleNames = PLAIN,
                    stdin_hint: str | None = None, spec: LossSpec | None = None,
                    ) -> tuple[Any, str]:
    try:
        where, fmt, payload = _read_any(path, stdin, notes, role, stdin_hint=stdin_hint)
    except BadData as exc:  # a role file's every fault is that role's: say `file:role`
        if exc.where == (STDIN if path == "-" else path):
            exc.where = _located(exc.where, role)
        raise
    if fmt == "npy" or isinstance(payload, np.ndarray):
        return payload, where
    if fmt in CONTAINERS:
        with _closing(payload):  # the role read, the file is released
            value, located = _role_of_container(payload, role, where, fmt, notes, names)
            if fmt in rows.ROW_FORMATS:  # one example per line or row, as in INPUT
                value = rows.one_example_per_row(value, role, spec, where, fmt,
                                                 getattr(payload, "first_line", 0))
        return value, located
    if isinstance(payload, dict):
        if list(payload) != [role]:
            raise BadData(f"--{role} expects one array; found keys "
                          f"{', '.join(map(repr, payload)) or 'none'}",
                          f"give the array alone, or one key {role!r}", where=where)
        return payload[role], f"{where}:{role}"
    return payload, where


def _role_of_container(payload: Mapping[str, Any], role: str, where: str, fmt: str,
                       notes: list[str] | None, names: RoleNames) -> tuple[Any, str]:
    """A per-role file holding named arrays: the one named by `--map ROLE=NAME` or by the
    role, else its only array unless that is named for another role (refused); the others
    are ignored with a warning (or refused under --strict-keys, like the extra arrays of
    INPUT)."""
    name = names.name_of(role)
    if name not in payload and len(payload) == 1:
        only = next(iter(payload))
        if only in ROLES:
            # An array named for another role is that role's (a file believed to hold
            # both, holding one): refused as a JSON object with that one key is.
            raise BadData(f"--{role} expects one array; found keys {only!r}",
                          f"give the array alone, or one key {role!r}", where=where)
        name = only  # `arr_0` or any name that is no role: the array alone
    if name not in payload:
        raise BadData(f"--{role} expects the array {name!r}; found "
                      f"{', '.join(map(repr, listing(payload))) or 'none'}",
                      f"name the one to read with --map {role}=NAME", where=where)
    extra = [k for k in payload if k != name]
    if extra:
        if names.strict:
            raise BadData(f"unknown key {extra[0]!r} beside {name!r} (--strict-keys)",
                          f"give a file with the {role} alone, or drop --strict-keys to "
                          "ignore the others", where=where)
        if notes is not None:
            notes.append(f"{where}: --{role} read {name!r}; ignored "
                         f"{', '.join(map(repr, extra))}")
    return payload[name], f"{where}:{role}"


def _located(where: str, role: str) -> str:
    """`file:role` for messages, unless `where` already names the role."""
    if where == role or where.endswith(f":{role}"):
        return where
    return f"{where}:{role}"


_LARGEST = {"float64": "1.8e308", "float32": "3.4e38"}


def as_role_array(value: Any, role: str, where: str,
                  dtype: type[np.floating] = np.float64) -> np.ndarray:
    """A role's value as a finite C-contiguous array of `dtype` (float64, or float32 for batch
    --dtype float32), or a one-line reason why not; `value` itself when it is one already.

    Integers, other floats, big-endian and Fortran-order arrays are converted; booleans,
    complex, strings and objects are refused by dtype; NaN and inf by their first index.
    """
    where = _located(where, role)
    arr = value if isinstance(value, np.ndarray) else nested_to_array(value, where)
    arr = ml_float_as_float32(arr)  # a jax or ml_dtypes bfloat16 array, as safetensors' are
    check_dtype(arr.dtype, where)
    if arr.ndim > 3:
        raise BadData(f"{arr.ndim}-dimensional array {arr.shape}", "roles have at most 3 "
                      "dimensions (B, K, D)", where=where)
    if arr.ndim == 0 and role not in SCALAR_ROLES:
        raise BadData("a single number where an array belongs", f"give {role} as an array",
                      where=where)
    if arr.size == 0 and not _empty_negatives(arr, role):
        raise BadData(f"empty array of shape {arr.shape}", f"give {role} at least one value",
                      where=where)
    with np.errstate(over="ignore"):  # a longdouble beyond float64: caught just below
        out = np.asarray(arr, dtype=dtype, order="C")
    finite = np.isfinite(out)
    if not finite.all():
        first = tuple(int(i) for i in np.argwhere(~finite)[0])
        if np.isfinite(arr[first]):
            name = np.dtype(dtype).name
            raise BadData(f"value {arr[first]} at index {list(first)} is beyond {name}'s "
                          "range", f"scale the values into {name} range (about "
                          f"{_LARGEST[name]})", where=where)
        raise BadData(f"non-finite value {float(out[first])} at index {list(first)}",
                      "remove or replace NaN and infinite values", where=where)
    return out


def _empty_negatives(arr: np.ndarray, role: str) -> bool:
    """No negatives at all (K = 0): (0,) from JSON `[]`, (0, D) or (B, 0, D).

    Accepted here so that InfoNCE can treat it as K = 0; the losses that need K >= 1 say so.
    """
    if role not in ("negatives", "negatives2"):
        return False
    # (B, 0, 0): JSON Lines with `[]` on every line (io/rows.py), K = 0 whatever D is
    return arr.shape == (0,) or (arr.ndim >= 2 and arr.shape[-2] == 0 and arr.shape[-1] > 0) \
        or (arr.ndim == 3 and arr.shape[1:] == (0, 0))


__all__ = ["RoleNames", "as_role_array", "check_layout", "check_role_files",
           "inputs_from_arrays", "is_regular_file", "load_inputs", "one_example_stack",
           "parse_mapping", "read_stream", "replaced_roles", "roles_first_stack",
           "stack_warning", "takes_negatives", "with_layout"]
