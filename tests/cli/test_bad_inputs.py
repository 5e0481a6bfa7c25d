"""The input and error contract (issue 3, CONTRACT.md "Exit codes" and "Messages").

Every bad input is built as a real file in a temporary directory and run through the real
CLI (`losscli.cli.run(argv)`, the function `losscli` itself calls; subprocesses for pipes,
closed streams and signals). Each case asserts the exit code, the key words of the one
`error: <file>[:<role>]: <what>; <fix>` line, that nothing else but warnings reached stderr,
that there was no traceback and no data on stdout, and that no output file (nor a temporary
one) was left behind.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import io
import json
import math
import os
import pickle
import signal
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from losscli.cli import run
from losscli.errors import ExitCode
from losscli.io import formats
from losscli.kernels import _jit
from losscli.kernels import softmax as softmax_kernels
from losscli.render import atomic_file
from tests.helpers import wait_until_reading_stdin

# A Python warning (numpy's RuntimeWarning) in the CLI would print a stray stderr line.
pytestmark = pytest.mark.filterwarnings("error")

OUT = "result.json"
BOX_CHARS = set("╭╮╰╯│─┌┐└┘")

# ---------------------------------------------------------------- running the CLI



@dataclasses.dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return self.stderr.splitlines()

    @property
    def not_warnings(self) -> list[str]:
        return [line for line in self.lines if not line.startswith("warning: ")]

    def json(self) -> Any:
        return json.loads(self.stdout, parse_constant=_no_constant)


def _no_constant(name: str) -> Any:
    raise AssertionError(f"non-strict JSON: {name}")


class _TextIn(io.TextIOWrapper):
    """A stdin whose isatty() answer the test chooses."""

    tty = False

    def isatty(self) -> bool:
        return self.tty


def invoke(argv: list[str], stdin: bytes | None = None) -> Outcome:
    """Run `losscli argv` in this process, capturing stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    if stdin is not None:
        sys.stdin = _TextIn(io.BytesIO(stdin))
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run(argv)
    finally:
        sys.stdin = saved
    return Outcome(code, out.getvalue(), err.getvalue())


def listing(root: Path) -> dict[str, Any]:
    """Every entry under root with its content, to show that nothing was written or left."""
    seen: dict[str, Any] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            if path.is_symlink():
                seen[rel] = ("link", os.readlink(path))
            elif path.is_file():
                seen[rel] = path.read_bytes() if path.stat().st_size < 2**20 else \
                    path.stat().st_size
            else:
                seen[rel] = "dir-or-special"
    return seen


# ---------------------------------------------------------------- building bad files

OK = {"anchor": [1.0, 0.0], "positive": [0.8, 0.6], "negatives": [[0.6, 0.8]]}
OK_BATCH = {"anchor": [[1.0, 0.0], [0.0, 1.0]], "positive": [[0.8, 0.6], [0.6, 0.8]],
            "negatives": [[[0.6, 0.8]], [[0.8, 0.6]]]}
CE = {"logits": [[1.0, 2.0, 3.0], [0.0, 0.5, 0.0]], "target": [0, 2]}
CE_PROB = {"logits": [[1.0, 2.0, 3.0], [0.0, 0.5, 0.0]],
           "target": [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]}


def with_(doc: dict, **changes: Any) -> dict:
    out = dict(doc)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def files(spec: dict[str, Any]) -> Callable[[Path], None]:
    """A maker writing each file: arrays with np.save, bytes raw, str as text, else JSON."""

    def make(root: Path) -> None:
        for name, content in spec.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, np.ndarray):
                with open(path, "wb") as fh:
                    np.save(fh, content, allow_pickle=content.dtype.hasobject)
            elif isinstance(content, bytes):
                path.write_bytes(content)
            elif isinstance(content, str):
                path.write_text(content, encoding="utf-8")
            else:
                path.write_text(json.dumps(content), encoding="utf-8")

    return make


def both(*makers: Callable[[Path], None]) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        for m in makers:
            m(root)

    return make


def raw_npy(header: str, body: bytes = b"") -> bytes:
    """A version 1.0 .npy with a hand-written header (what numpy would never write)."""
    text = header + " " * (118 - len(header)) + "\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text.encode() + body


def npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def zip_bytes(members: dict[str, bytes], deflate: bool = False) -> bytes:
    buf = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", compression=method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def lie_about_size(data: bytes, size: int) -> bytes:
    """A zip whose (single) member claims to decompress to `size` bytes, in both headers."""
    out = bytearray(data)
    local = out.index(b"PK\x03\x04")
    out[local + 22: local + 26] = size.to_bytes(4, "little")
    central = out.index(b"PK\x01\x02")
    out[central + 24: central + 28] = size.to_bytes(4, "little")
    return bytes(out)


def torch_zip() -> bytes:
    """What torch.save writes since 1.6: a zip holding a pickle (data.pkl)."""
    return zip_bytes({"archive/data.pkl": pickle.dumps({"w": [1.0]}), "archive/version": b"3"})


GOOD_ARRAYS = {"a.npy": np.array([[1.0, 0.0], [0.0, 1.0]]),
               "p.npy": np.array([[0.8, 0.6], [0.6, 0.8]]),
               "n.npy": np.array([[[0.6, 0.8]], [[0.8, 0.6]]])}
ROLE_ARGS = ["--anchor", "a.npy", "--positive", "p.npy", "--negatives", "n.npy"]


def nan_at(shape: tuple[int, ...], index: tuple[int, ...], value: float) -> np.ndarray:
    arr = np.ones(shape)
    arr[index] = value
    return arr


# ---------------------------------------------------------------- patches


def deny_reading(name: str) -> Callable[[pytest.MonkeyPatch, Path], None]:
    """Permission denied on `name`: chmod 000, and (root ignores modes) a refusing open()."""

    def patch(mp: pytest.MonkeyPatch, root: Path) -> None:
        os.chmod(root / name, 0)
        real_open = open

        def refusing_open(path: Any, *args: Any, **kwargs: Any) -> Any:
            if os.path.basename(str(path)) == name:
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return real_open(path, *args, **kwargs)

        mp.setattr(formats, "open", refusing_open, raising=False)

    return patch


def deny_writing(mp: pytest.MonkeyPatch, root: Path) -> None:
    """An unwritable directory: chmod 555, and (root ignores modes) a refusing open."""
    os.chmod(root / "ro", 0o555)

    def refusing_open(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(errno.EACCES, "Permission denied")

    if os.geteuid() == 0:
        mp.setattr(atomic_file, "open_exclusive", refusing_open)
        mp.setattr(atomic_file, "open_unnamed", refusing_open)


def stdin_closed(mp: pytest.MonkeyPatch, root: Path) -> None:
    mp.setattr(sys, "stdin", None)


def stdin_terminal(mp: pytest.MonkeyPatch, root: Path) -> None:
    tty = _TextIn(io.BytesIO(b""))
    tty.tty = True
    mp.setattr(sys, "stdin", tty)


def cap(name: str, value: int) -> Callable[[pytest.MonkeyPatch, Path], None]:
    def patch(mp: pytest.MonkeyPatch, root: Path) -> None:
        mp.setattr(formats, name, value)

    return patch


PARTIAL_SIZES: list[int] = []


def disk_full(mp: pytest.MonkeyPatch, root: Path) -> None:
    """ENOSPC once the data reached the temporary file (recorded, to prove it existed)."""

    def full(fd: int) -> None:
        PARTIAL_SIZES.append(os.fstat(fd).st_size)
        raise OSError(errno.ENOSPC, "No space left on device")

    mp.setattr(os, "fsync", full)


def failing_kernel(mp: pytest.MonkeyPatch, root: Path) -> None:
    def boom(*args: Any) -> None:
        raise RuntimeError("kernel exploded\nsecond line")

    mp.setattr(softmax_kernels, "infonce", _jit.kernel(boom))
    mp.setattr(softmax_kernels, "softmax_rows", _jit.kernel(boom))  # a shared bank's rows


# ---------------------------------------------------------------- the catalogue


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    argv: list[str]
    code: int
    words: tuple[str, ...]
    make: Callable[[Path], None] = lambda root: None
    patch: Callable[[pytest.MonkeyPatch, Path], None] | None = None
    out: bool = True  # append --out result.json: it must not appear
    stdin: bytes | None = None


def C(id: str, argv: list[str], code: int, words: tuple[str, ...] | str, **kw: Any) -> Case:
    return Case(id, argv, code, (words,) if isinstance(words, str) else words, **kw)


INFONCE = ["compute", "infonce"]
LONGDOUBLE_WIDE = np.finfo(np.longdouble).max > np.finfo(np.float64).max
TRIPLET = ["compute", "triplet"]
QUAD = ["compute", "quadruplet"]
SOFTMAX = ["compute", "softmax-ce"]

CATALOGUE = [
    # ---- 3: input unavailable
    C("missing-file", INFONCE + ["nope.json"], 3, ("nope.json", "no such file", "check")),
    C("file-name-with-control-characters", INFONCE + ["a\nb\x1b[31m.json"], 3,
      ("a\\nb\\x1b[31m.json", "no such file")),
    C("missing-role-file", INFONCE + ["--anchor", "nope.npy", "--positive", "p.npy"], 3,
      ("nope.npy", "no such file"), make=files(GOOD_ARRAYS)),
    C("directory", INFONCE + ["adir"], 3, ("adir", "is a directory", "give a file"),
      make=lambda root: (root / "adir").mkdir()),
    C("permission-denied", INFONCE + ["locked.json"], 3,
      ("locked.json", "permission denied", "permissions"),
      make=files({"locked.json": OK}), patch=deny_reading("locked.json")),
    C("stdin-closed", INFONCE + ["-"], 3, ("<stdin>", "closed", "pipe"), patch=stdin_closed),
    C("stdin-terminal", INFONCE + ["-"], 3, ("<stdin>", "terminal", "pipe"),
      patch=stdin_terminal),
    # ---- 4: bad data, by format
    C("empty-file", INFONCE + ["empty.json"], 4, ("empty.json", "empty", "give"),
      make=files({"empty.json": b""})),
    C("empty-stdin", INFONCE + ["-"], 4, ("<stdin>", "empty"), stdin=b""),
    # QA11 L6: the extension as written (.jsonl, not .json)
    C("utf16-jsonl-compute", TRIPLET + ["u.jsonl"], 4, "u.jsonl: UTF-16 text despite its "
      ".jsonl extension", make=files({"u.jsonl": json.dumps(OK).encode("utf-16")})),
    # QA11 L5: the K mismatch that the per-anchor reading resolves names the option
    C("quad-k-mismatch-per-anchor", QUAD + ["q.json"], 4,
      ("q.json:negatives2", "K = 2 but negatives has K = 1",
       "--negatives-layout per-anchor to read negatives2 (2, 2)"),
      make=files({"q.json": with_(OK_BATCH, negatives2=[[0.0, -1.0], [-1.0, 0.0]])})),
    # QA11 L4: the number as written, not numpy's repr (np.float64(...))
    C("label-almost-one", ["compute", "cosine-embedding", "l.json"], 4,
      "l.json:label: label 0.9999999999999999 at index 0 is not +1 or -1",
      make=files({"l.json": {"x1": [[1.0, 0.0]], "x2": [[0.0, 1.0]],
                             "label": [0.9999999999999999]}})),
    # QA11 L3: whitespace is no data, and no "binary data" either
    C("whitespace-only", INFONCE + ["w.json"], 4, ("w.json", "only whitespace"),
      make=files({"w.json": b"  \n\t\n"})),
    C("whitespace-only-stdin", INFONCE + ["-"], 4, ("<stdin>", "only whitespace"),
      stdin=b" \n" * 40),
    # QA11 L2: a document holding no role at all is still named
    C("empty-object", TRIPLET + ["e.json"], 4, ("error: e.json: no anchor given", "found: none"),
      make=files({"e.json": {}})),
    C("empty-object-stdin", TRIPLET + ["-"], 4, "error: <stdin>: no anchor given",
      stdin=b"{}"),
    C("batch-empty-stdin", ["batch", "infonce", "-"], 4,
      ("<stdin>", "empty", "no JSON Lines", "one JSON object per line"), stdin=b""),
    C("batch-blank-stdin", ["batch", "triplet", "-", "-f", "jsonl"], 4,
      ("<stdin>", "empty"), stdin=b"\n  \n"),
    C("npy-truncated", INFONCE + ["--anchor", "cut.npy", "--positive", "p.npy"], 4,
      ("cut.npy", "truncated", "re-save"),
      make=both(files(GOOD_ARRAYS), files({"cut.npy": npy_bytes(np.ones((2, 2)))[:-5]}))),
    C("npy-declares-more-than-file", INFONCE + ["--anchor", "liar.npy"], 4,
      ("liar.npy", "truncated", "1000000000000"),
      make=files({"liar.npy": raw_npy(
          "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }",
          b"\0" * 64)})),
    C("npy-bad-header", INFONCE + ["--anchor", "junk.npy"], 4, ("junk.npy", "header", "re-save"),
      make=files({"junk.npy": raw_npy("{'descr': '<f8', 'shape': (2,), }")})),
    C("npy-header-code", INFONCE + ["--anchor", "code.npy"], 4, ("code.npy", "header"),
      make=files({"code.npy": raw_npy(
          "{'descr': __import__('os').system('false'), 'fortran_order': False, "
          "'shape': (2,)}")})),
    C("npy-negative-shape", INFONCE + ["--anchor", "neg.npy"], 4,
      ("neg.npy", "negative shape"),
      make=files({"neg.npy": raw_npy(
          "{'descr': '<f8', 'fortran_order': False, 'shape': (-1, 2), }", b"\0" * 16)})),
    C("npy-zero-itemsize", INFONCE + ["--anchor", "s0.npy"], 4, ("s0.npy", "dtype", "|S0"),
      make=files({"s0.npy": raw_npy(
          "{'descr': '|S0', 'fortran_order': False, 'shape': (10000000000,), }")})),
    C("npy-object-dtype", INFONCE + ["--anchor", "obj.npy"], 4, ("obj.npy", "pickle", ".npy"),
      make=files({"obj.npy": np.array([1.0, "x", None], dtype=object)})),
    C("pickle-renamed-npy", INFONCE + ["--anchor", "pickled.npy"], 4,
      ("pickled.npy", "pickle", "numpy.save"),
      make=files({"pickled.npy": pickle.dumps([1.0, 2.0])})),
    C("pt-file", INFONCE + ["model.pt"], 4, ("model.pt", "pickle", "numpy.save"),
      make=files({"model.pt": pickle.dumps({"anchor": [1.0]}, protocol=2)})),
    C("pth-torch-zip", INFONCE + ["model.pth"], 4, ("model.pth", "pickle", "numpy.save"),
      make=files({"model.pth": torch_zip()})),
    C("pkl-file", INFONCE + ["x.pkl"], 4, ("x.pkl", "pickle"),
      make=files({"x.pkl": pickle.dumps([1, 2], protocol=4)})),
    C("pkl-protocol-0", INFONCE + ["old.pkl"], 4, ("old.pkl", "pickle"),
      make=files({"old.pkl": pickle.dumps([1, 2], protocol=0)})),
    C("torch-zip-renamed-npz", INFONCE + ["weights.npz"], 4, ("weights.npz", "pickle"),
      make=files({"weights.npz": torch_zip()})),
    C("npz-member-over-cap", INFONCE + ["bomb.npz"], 4,
      ("bomb.npz", "decompress", "limit", "batch"),
      make=files({"bomb.npz": zip_bytes({"anchor.npy": npy_bytes(np.zeros(300_000))},
                                        deflate=True)}),
      patch=cap("MAX_ARRAY_BYTES", 2**20)),
    C("npz-member-declares-too-little", INFONCE + ["liar.npz"], 4,
      ("liar.npz:anchor", "corrupt", "re-save"),
      make=files({"liar.npz": lie_about_size(
          zip_bytes({"anchor.npy": npy_bytes(np.zeros(1000))}, deflate=True), 200)})),
    C("npz-member-header-too-big", INFONCE + ["big.npz"], 4, ("big.npz:anchor", "truncated"),
      make=files({"big.npz": zip_bytes({"anchor.npy": raw_npy(
          "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }")})})),
    C("npy-over-cap", INFONCE + ["--anchor", "large.npy", "--positive", "large.npy"], 4,
      ("large.npy", "limit", "batch"),
      make=files({"large.npy": np.zeros((200, 1000))}), patch=cap("MAX_ARRAY_BYTES", 2**20)),
    C("npz-non-npy-member", INFONCE + ["odd.npz"], 4, ("odd.npz", "notes.txt", "numpy.savez"),
      make=files({"odd.npz": zip_bytes({"notes.txt": b"hello"})})),
    C("npz-corrupt", INFONCE + ["cut.npz"], 4, ("cut.npz", "npz"),
      make=files({"cut.npz": zip_bytes({"anchor.npy": npy_bytes(np.ones(4))})[:40]})),
    C("npz-empty", INFONCE + ["none.npz"], 4, ("none.npz", "empty"),
      make=files({"none.npz": zip_bytes({})})),
    C("npz-unnamed-arrays", INFONCE + ["unnamed.npz"], 4,
      ("unnamed.npz", "arr_0", "expected keys", "anchor"),
      make=files({"unnamed.npz": zip_bytes({"arr_0.npy": npy_bytes(np.ones(2))})})),
    C("gzip-file", INFONCE + ["data.json"], 4, ("data.json", "gzip"),
      make=files({"data.json": b"\x1f\x8b\x08\x00" + b"\0" * 20})),
    C("csv-file", INFONCE + ["data.csv"], 4, ("data.csv", "loadtxt"),
      make=files({"data.csv": "a,b\n1,2\n"})),
    # ---- 4: bad data, strict JSON
    C("json-nan", INFONCE + ["nan.json"], 4, ("nan.json", "NaN", "finite"),
      make=files({"nan.json": '{"anchor": [NaN, 0], "positive": [1, 0]}'})),
    C("json-infinity", INFONCE + ["inf.json"], 4, ("inf.json", "Infinity"),
      make=files({"inf.json": '{"anchor": [Infinity, 0], "positive": [1, 0]}'})),
    C("json-minus-infinity", INFONCE + ["minf.json"], 4, ("minf.json", "-Infinity"),
      make=files({"minf.json": '{"anchor": [-Infinity, 0], "positive": [1, 0]}'})),
    C("json-1e999", INFONCE + ["big.json"], 4, ("big.json", "1e999", "overflows"),
      make=files({"big.json": '{"anchor": [1e999, 0], "positive": [1, 0]}'})),
    C("json-huge-integer", INFONCE + ["bigint.json"], 4, ("bigint.json", "overflows"),
      make=files({"bigint.json": '{"anchor": [' + "9" * 5000 + ', 0], "positive": [1, 0]}'})),
    C("json-duplicate-key", INFONCE + ["dup.json"], 4, ("dup.json", "duplicate", "anchor"),
      make=files({"dup.json": '{"anchor": [1, 0], "anchor": [0, 1], "positive": [1, 0]}'})),
    C("json-numeric-string", INFONCE + ["str.json"], 4,
      ("str.json:anchor", "string", "[1]", "no quotes"),
      make=files({"str.json": with_(OK, anchor=[1.0, "0.5"])})),
    C("json-boolean", INFONCE + ["bool.json"], 4, ("bool.json:positive", "boolean", "[0]"),
      make=files({"bool.json": with_(OK, positive=[True, 0.0])})),
    C("json-null", INFONCE + ["null.json"], 4, ("null.json:negatives", "null", "[0, 1]"),
      make=files({"null.json": with_(OK, negatives=[[0.6, None]])})),
    C("json-object-in-array", INFONCE + ["obj.json"], 4, ("obj.json:anchor", "object"),
      make=files({"obj.json": with_(OK, anchor=[{"x": 1}, 0.0])})),
    C("json-ragged", INFONCE + ["ragged.json"], 4,
      ("ragged.json:anchor", "ragged", "row [2]", "same length"),
      make=files({"ragged.json": with_(OK_BATCH, anchor=[[1, 0], [0, 1], [1]],
                                       positive=[[1, 0]] * 3)})),
    C("json-ragged-3d", INFONCE + ["ragged3.json"], 4,
      ("ragged3.json:negatives", "ragged", "row [1, 0]"),
      make=files({"ragged3.json": with_(OK_BATCH, negatives=[[[0.6, 0.8]], [[0.8]]])})),
    C("json-too-deep", INFONCE + ["deep.json"], 4, ("deep.json", "nested too deeply"),
      make=files({"deep.json": '{"anchor": ' + "[" * 100_000 + "]" * 100_000 + "}"})),
    C("json-rank-4-nesting", INFONCE + ["deep4.json"], 4,
      ("deep4.json:anchor", "deeper than 3"),
      make=files({"deep4.json": with_(OK, anchor=[[[[1.0]]]])})),
    C("json-not-utf8", INFONCE + ["latin1.json"], 4, ("latin1.json", "UTF-8"),
      make=files({"latin1.json": '{"anchor": [1, 0], "positive": [1, 0], "n\u00e9": 1}'
                  .encode("latin-1")})),
    C("json-utf16", INFONCE + ["win.json"], 4, ("win.json", "UTF-16", "UTF-8"),
      make=files({"win.json": json.dumps(OK).encode("utf-16")})),
    C("json-top-level-array", INFONCE + ["list.json"], 4,
      ("list.json", "array", "top level", "keyed by role"),
      make=files({"list.json": [[1.0, 0.0], [0.8, 0.6]]})),
    C("json-top-level-number", INFONCE + ["num.json"], 4, ("num.json", "number", "top level"),
      make=files({"num.json": "3"})),
    C("json-syntax", INFONCE + ["comma.json"], 4, ("comma.json", "line 1", "JSON syntax"),
      make=files({"comma.json": '{"anchor": [1, 0],}'})),
    C("json-misspelt-key", INFONCE + ["typo.json"], 4,
      ("typo.json", "anchr", "did you mean anchor", "expected keys"),
      make=files({"typo.json": {"anchr": [1.0, 0.0], "positive": [1.0, 0.0]}})),
    C("json-abbreviated-key", TRIPLET + ["neg.json"], 4,
      ("neg.json", "'neg'", "did you mean negatives", "expected keys"),
      make=files({"neg.json": {"anchor": [1.0, 0.0], "positive": [1.0, 0.0],
                               "neg": [[0.0, 1.0]]}})),
    C("json-stray-key-unlike-any-role", TRIPLET + ["note.json"], 4,
      ("note.json", "unknown key 'note'", "expected keys"),  # QA22b L6: not "positive?"
      make=files({"note.json": {**OK, "note": "run 3"}})),
    C("json-missing-role", TRIPLET + ["nopos.json"], 4,
      ("nopos.json", "no positive", "expected keys", "--positive"),
      make=files({"nopos.json": with_(OK, positive=None)})),
    C("json-missing-target", SOFTMAX + ["notarget.json"], 4,
      ("notarget.json", "no target", "--target"),
      make=files({"notarget.json": with_(CE, target=None)})),
    C("role-file-with-other-keys", INFONCE + ["--anchor", "two.json", "--positive", "p.npy"],
      4, ("two.json", "--anchor", "one array"),
      make=both(files(GOOD_ARRAYS), files({"two.json": {"anchor": [1, 0], "extra": [1]}}))),
    C("json-over-size-cap", INFONCE + ["large.json"], 4, ("large.json", "limit", ".npy"),
      make=files({"large.json": with_(OK, anchor=[0.5] * 4000)}),
      patch=cap("MAX_JSON_BYTES", 4096)),
    # ---- 4: bad arrays
    C("empty-array", INFONCE + ["emptyarr.json"], 4, ("emptyarr.json:anchor", "empty"),
      make=files({"emptyarr.json": with_(OK, anchor=[])})),
    C("zero-width", INFONCE + ["--anchor", "zw.npy", "--positive", "p.npy"], 4,
      ("zw.npy:anchor", "empty", "(2, 0)"),
      make=both(files(GOOD_ARRAYS), files({"zw.npy": np.zeros((2, 0))}))),
    C("rank-4", INFONCE + ["--anchor", "r4.npy", "--positive", "p.npy"], 4,
      ("r4.npy:anchor", "4-dimensional", "at most 3"),
      make=both(files(GOOD_ARRAYS), files({"r4.npy": np.zeros((1, 2, 2, 2))}))),
    C("scalar-anchor", INFONCE + ["scalar.json"], 4, ("scalar.json:anchor", "single number"),
      make=files({"scalar.json": with_(OK, anchor=3.0)})),
    C("bool-dtype", INFONCE + ["--anchor", "b.npy", "--positive", "p.npy"], 4,
      ("b.npy:anchor", "dtype bool", "floating-point"),
      make=both(files(GOOD_ARRAYS), files({"b.npy": np.ones((2, 2), dtype=bool)}))),
    C("complex-dtype", INFONCE + ["--anchor", "c.npy", "--positive", "p.npy"], 4,
      ("c.npy:anchor", "complex128"),
      make=both(files(GOOD_ARRAYS), files({"c.npy": np.ones((2, 2), dtype=complex)}))),
    C("string-dtype", INFONCE + ["--anchor", "u.npy", "--positive", "p.npy"], 4,
      ("u.npy:anchor", "string"),
      make=both(files(GOOD_ARRAYS), files({"u.npy": np.array([["1", "0"], ["0", "1"]])}))),
    C("bytes-dtype", INFONCE + ["--anchor", "s.npy", "--positive", "p.npy"], 4,
      ("s.npy:anchor", "bytes"),
      make=both(files(GOOD_ARRAYS), files({"s.npy": np.array([[b"1", b"0"]] * 2)}))),
    C("datetime-dtype", INFONCE + ["--anchor", "t.npy", "--positive", "p.npy"], 4,
      ("t.npy:anchor", "datetime"),
      make=both(files(GOOD_ARRAYS),
                files({"t.npy": np.array([["2020-01-01", "2020-01-02"]] * 2,
                                         dtype="datetime64[D]")}))),
    C("nan-in-npy", INFONCE + ROLE_ARGS[:4] + ["--negatives", "nan.npy"], 4,
      ("nan.npy:negatives", "nan", "[1, 0, 1]", "replace"),
      make=both(files(GOOD_ARRAYS), files({"nan.npy": nan_at((2, 1, 2), (1, 0, 1), np.nan)}))),
    C("inf-in-npy", INFONCE + ["--anchor", "inf.npy", "--positive", "p.npy"], 4,
      ("inf.npy:anchor", "inf", "[0, 1]"),
      make=both(files(GOOD_ARRAYS), files({"inf.npy": nan_at((2, 2), (0, 1), -np.inf)}))),
    # QA17b L4: batch names the role of a per-role .npy as compute does (FILE:ROLE)
    C("batch-nan-in-npy", ["batch", "infonce", *ROLE_ARGS[:4], "--negatives", "nan.npy",
                           "--fail-fast"], 4,
      ("nan.npy:negatives", "nan", "[1, 0, 1]", "replace"),
      make=both(files(GOOD_ARRAYS), files({"nan.npy": nan_at((2, 1, 2), (1, 0, 1), np.nan)}))),
    C("batch-inf-in-npy", ["batch", "triplet", "--anchor", "inf.npy", *ROLE_ARGS[2:],
                           "--fail-fast"], 4, ("inf.npy:anchor", "inf", "[0, 1]"),
      make=both(files(GOOD_ARRAYS), files({"inf.npy": nan_at((2, 2), (0, 1), -np.inf)}))),
    *([C("longdouble-beyond-float64", INFONCE + ["--anchor", "ld.npy", "--positive", "ld.npy"],
         4, ("ld.npy:anchor", "beyond float64", "[1]"),
         make=files({"ld.npy": np.array([1, 10], dtype=np.longdouble) ** 400}))]
      if LONGDOUBLE_WIDE else []),
    C("inf-in-npz", INFONCE + ["inf.npz"], 4, ("inf.npz:positive", "inf", "[1]"),
      make=files({"inf.npz": zip_bytes({
          "anchor.npy": npy_bytes(np.ones(2)),
          "positive.npy": npy_bytes(np.array([1.0, np.inf]))})})),
    # ---- 4: shapes
    C("positive-shape", INFONCE + ["--anchor", "a.npy", "--positive", "p3.npy"], 4,
      ("p3.npy:positive", "positive (3, 2)", "anchor (2, 2)", "(B, D)"),
      make=both(files(GOOD_ARRAYS), files({"p3.npy": np.ones((3, 2))}))),
    C("negatives-dim", INFONCE + ROLE_ARGS[:4] + ["--negatives", "n3.npy"], 4,
      ("n3.npy:negatives", "(2, 3)", "anchor", "(2, 2)", "(K, D)"),
      make=both(files(GOOD_ARRAYS), files({"n3.npy": np.ones((2, 3))}))),
    C("negatives-batch", TRIPLET + ROLE_ARGS[:4] + ["--negatives", "nb.npy"], 4,
      ("nb.npy:negatives", "(3, 1, 2)", "anchor (2, 2)", "(B, K, D)"),
      make=both(files(GOOD_ARRAYS), files({"nb.npy": np.ones((3, 1, 2))}))),
    C("negatives2-k", QUAD + ROLE_ARGS + ["--negatives2", "n2.npy"], 4,
      ("n2.npy:negatives2", "K = 2", "K = 1"),
      make=both(files(GOOD_ARRAYS), files({"n2.npy": np.ones((2, 2, 2))}))),
    C("logits-target-shape", SOFTMAX + ["shape.json"], 4,
      ("shape.json:target", "target (3,)", "logits (2, 3)"),
      make=files({"shape.json": with_(CE, target=[0, 1, 2])})),
    C("weight-shape", SOFTMAX + ["w.json"], 4, ("w.json:weight", "weight (2,)", "(C,)"),
      make=files({"w.json": with_(CE, weight=[1.0, 2.0])})),
    C("lone-npy-not-a-stack", INFONCE + ["flat.npy"], 4, ("flat.npy", "stack", "(B, 2 + K, D)"),
      make=files({"flat.npy": np.ones(5)})),
    # ---- 4: batch reads .npy files by rows: the same dtype and header checks as compute
    C("batch-complex-stack", ["batch", "triplet", "c.npy", "--fail-fast"], 4,
      ("c.npy", "dtype complex128", "floating-point"),
      make=files({"c.npy": np.ones((2, 3, 2)) + 1j})),
    C("batch-bool-role-file", ["batch", "triplet", "--anchor", "b.npy"] + ROLE_ARGS[2:]
      + ["--fail-fast"], 4, ("b.npy:anchor: dtype bool",),
      make=both(files(GOOD_ARRAYS), files({"b.npy": np.ones((2, 2), dtype=bool)}))),
    C("batch-timedelta-stack", ["batch", "triplet", "td.npy", "--fail-fast"], 4,
      ("td.npy", "timedelta64"),
      make=files({"td.npy": np.ones((2, 3, 2)).astype("timedelta64[s]")})),
    C("batch-object-npy", ["batch", "triplet", "obj.npy", "--fail-fast"], 4,
      ("obj.npy", "pickle", "numpy.save('x.npy'"),
      make=files({"obj.npy": np.array([1.0, "x", None], dtype=object)})),
    C("npy-declares-less-than-file", INFONCE + ["--anchor", "short.npy"] + ROLE_ARGS[2:], 4,
      ("short.npy", "declares (2,) float64 (16 bytes) but 32 bytes follow", "re-save"),
      make=both(files(GOOD_ARRAYS), files({"short.npy": raw_npy(
          "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", b"\0" * 32)}))),
    C("batch-npy-declares-less-than-file", ["batch", "triplet", "liar.npy", "--fail-fast"], 4,
      ("liar.npy", "declares (1, 3, 2) float32 (24 bytes) but 96 bytes follow"),
      make=files({"liar.npy": raw_npy(
          "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 2), }",
          np.ones((2, 3, 2)).tobytes())})),
    # ---- 2 and 4: --negatives-layout (issue 12.1)
    C("negatives-layout-misspelt", TRIPLET + ROLE_ARGS + ["--negatives-layout", "per-anchr"], 2,
      ("--negatives-layout", "per-anchr", "did you mean per-anchor", "shared or per-anchor"),
      make=files(GOOD_ARRAYS)),
    C("negatives-layout-without-negatives", SOFTMAX + ["ce.json", "--negatives-layout",
                                                       "shared"], 2,
      ("--negatives-layout", "does not apply to softmax-ce"), make=files({"ce.json": CE})),
    C("negatives-layout-per-anchor-rows", TRIPLET + ROLE_ARGS[:4] + [
        "--negatives", "n3.npy", "--negatives-layout", "per-anchor"], 4,
      ("n3.npy:negatives", "(3, 2)", "cannot be one per anchor", "2 anchor"),
      make=both(files(GOOD_ARRAYS), files({"n3.npy": np.ones((3, 2))}))),
    C("negatives-layout-shared-3d", TRIPLET + ROLE_ARGS + ["--negatives-layout", "shared"], 4,
      ("n.npy:negatives", "per anchor (B, K, D)", "--negatives-layout shared"),
      make=files(GOOD_ARRAYS)),
    C("batch-negatives-layout-per-anchor-rows", [
        "batch", "triplet", "--anchor", "a.npy", "--positive", "p.npy", "--negatives",
        "n3.npy", "--negatives-layout", "per-anchor", "--fail-fast"], 4,
      ("n3.npy", "cannot be one per anchor"),
      make=both(files(GOOD_ARRAYS), files({"n3.npy": np.ones((3, 2))}))),
    # ---- 4: a stream over the caps is refused, never cut (issue 12.6)
    C("stdin-npy-over-cap", INFONCE + ["--anchor", "-", "--positive", "p.npy"], 4,
      ("<stdin>", "over the", "limit"), make=files(GOOD_ARRAYS),
      stdin=npy_bytes(np.zeros(300_000)),
      patch=lambda mp, root: (mp.setattr(formats, "MAX_JSON_BYTES", 4096),
                              mp.setattr(formats, "MAX_ARRAY_BYTES", 2**20))),
    # ---- 4: role sets of STEM.ROLE.npy files (issue 12.2)
    C("role-set-stray-role", INFONCE + ["x.negative.npy"], 4,
      ("x.negative.npy", "'negative' is not a role", "did you mean negatives", "x.*.npy",
       "rename it x.negatives.npy"),
      make=files({"x.anchor.npy": np.ones((2, 2)), "x.positive.npy": np.ones((2, 2)),
                  "x.negative.npy": np.ones((2, 2))})),
    C("role-set-member-beside-a-stray", INFONCE + ["x.anchor.npy"], 4,
      ("x.negative.npy", "not a role", "did you mean negatives"),
      make=files({"x.anchor.npy": np.ones((2, 2)), "x.positive.npy": np.ones((2, 2)),
                  "x.negative.npy": np.ones((2, 2))})),
    C("role-set-stray-unlike-any-role", INFONCE + ["x.anchor.npy"], 4,
      # QA23 M2: 'note' was told "rename it x.positive.npy", a file the set already has
      ("x.note.npy", "'note' is not a role", "name it x.ROLE.npy"),
      make=files({"x.anchor.npy": np.ones((2, 2)), "x.positive.npy": np.ones((2, 2)),
                  "x.negatives.npy": np.ones((2, 1, 2)), "x.note.npy": np.ones((2, 2))})),
    C("role-set-without-negatives", INFONCE + ["x.anchor.npy"], 4,
      ("x.*.npy", "no negatives", "add x.negatives.npy", "--negatives"),
      make=files({"x.anchor.npy": np.ones((2, 2)), "x.positive.npy": np.ones((2, 2))})),
    C("role-set-without-positive", TRIPLET + ["x.negatives.npy"], 4,
      ("x.*.npy", "no positive", "x.positive.npy"),
      make=files({"x.anchor.npy": np.ones((2, 2)), "x.negatives.npy": np.ones((2, 1, 2))})),
    C("batch-role-set-stray-fail-fast", ["batch", "infonce", "sets", "--fail-fast"], 4,
      ("sets/x.neg.npy", "'neg' is not a role", "did you mean negatives"),
      make=files({"sets/x.anchor.npy": np.ones((2, 2)), "sets/x.positive.npy": np.ones((2, 2)),
                  "sets/x.neg.npy": np.ones((2, 2))})),
    C("triplet-without-negatives", TRIPLET + ["k0.json"], 4,
      ("k0.json:negatives", "K = 0", "at least one"),
      make=files({"k0.json": with_(OK, negatives=[])})),
    C("quadruplet-k1-rolled", QUAD + ["k1.json"], 4, ("k1.json:negatives", "negatives2", "K"),
      make=files({"k1.json": OK})),
    # ---- 2 and 4: options and targets
    C("temperature-zero", INFONCE + ["ok.json", "-t", "0"], 2, ("--temperature", "> 0"),
      make=files({"ok.json": OK})),
    C("temperature-negative", INFONCE + ["ok.json", "--temperature", "-0.5"], 2,
      ("--temperature", "-0.5", "> 0"), make=files({"ok.json": OK})),
    C("temperature-nan", INFONCE + ["ok.json", "-t", "nan"], 2, ("--temperature", "finite"),
      make=files({"ok.json": OK})),
    C("temperature-inf", INFONCE + ["ok.json", "-t", "inf"], 2, ("--temperature", "finite"),
      make=files({"ok.json": OK})),
    C("temperature-not-a-number", INFONCE + ["ok.json", "-t", "warm"], 2, ("temperature",),
      make=files({"ok.json": OK})),
    C("margin-negative", TRIPLET + ["ok.json", "--margin", "-1"], 2, ("--margin", ">= 0"),
      make=files({"ok.json": OK})),
    C("margin-nan", TRIPLET + ["ok.json", "--margin", "nan"], 2, ("--margin", "finite"),
      make=files({"ok.json": OK})),
    C("margin2-negative", QUAD + ["ok.json", "--margin2", "-0.1"], 2, ("--margin2", ">= 0"),
      make=files({"ok.json": OK})),
    C("label-smoothing-above-1", SOFTMAX + ["ce.json", "--label-smoothing", "1.5"], 2,
      ("--label-smoothing", "[0, 1]"), make=files({"ce.json": CE})),
    C("label-smoothing-negative", SOFTMAX + ["ce.json", "--label-smoothing", "-0.1"], 2,
      ("--label-smoothing", "[0, 1]"), make=files({"ce.json": CE})),
    C("class-index-out-of-range", SOFTMAX + ["oor.json"], 4,
      ("oor.json:target", "class index 3", "row 1", "0..2"),
      make=files({"oor.json": with_(CE, target=[0, 3])})),
    C("class-index-negative", SOFTMAX + ["negidx.json"], 4,
      ("negidx.json:target", "-1", "out of range"),
      make=files({"negidx.json": with_(CE, target=[-1, 0])})),
    C("class-index-not-integral", SOFTMAX + ["frac.json"], 4,
      ("frac.json:target", "1.5", "whole number"),
      make=files({"frac.json": with_(CE, target=[0, 1.5])})),
    C("probability-negative", SOFTMAX + ["negprob.json"], 4,
      ("negprob.json:target", "negative probability"),
      make=files({"negprob.json": with_(CE_PROB, target=[[1.5, -0.5, 0], [0, 0, 1]])})),
    C("ignore-index-probability-targets", SOFTMAX + ["prob.json", "--ignore-index", "0"], 2,
      ("--ignore-index", "class-index targets"), make=files({"prob.json": CE_PROB})),
    C("ignore-index-everything", SOFTMAX + ["same.json", "--ignore-index", "1"], 4,
      ("same.json:target", "nothing to average"),
      make=files({"same.json": with_(CE, target=[1, 1])})),
    C("weights-sum-to-zero", SOFTMAX + ["w0.json"], 4, ("w0.json:weight", "sum to 0"),
      make=files({"w0.json": with_(CE, weight=[0.0, 1.0, 0.0])})),
    C("unknown-loss", ["compute", "infonc", "ok.json"], 2,
      ("unknown loss", "infonc", "did you mean infonce", "triplet"),
      make=files({"ok.json": OK})),
    C("option-not-for-loss", INFONCE + ["ok.json", "--margin", "1"], 2,
      ("--margin", "does not apply to infonce", "--temperature"), make=files({"ok.json": OK})),
    C("bad-choice", INFONCE + ["ok.json", "--similarity", "cosin"], 2,
      ("--similarity", "did you mean cosine"), make=files({"ok.json": OK})),
    C("unknown-option", INFONCE + ["ok.json", "--bogus"], 2, ("--bogus",),
      make=files({"ok.json": OK})),
    C("bad-reduction", INFONCE + ["ok.json", "--reduction", "avg"], 2,
      ("--reduction", "mean, sum, none"), make=files({"ok.json": OK})),
    C("bad-format", INFONCE + ["ok.json", "--format", "yaml"], 2, ("--format", "yaml"),
      make=files({"ok.json": OK})),
    C("stdin-twice", INFONCE + ["-", "--anchor", "-"], 2, ("stdin", "once"), stdin=b"{}"),
    # ---- 2: an --out suffix that names no format is never written as JSON (issue 12.5)
    C("out-suffix-md-for-compute", INFONCE + ["ok.json", "--out", "r.md"], 2,
      ("--out r.md", ".md", "names no format", ".json, .jsonl, .csv, .txt", "--format"),
      make=files({"ok.json": OK}), out=False),
    C("out-suffix-npy", INFONCE + ["ok.json", "--out", "r.npy"], 2,
      ("r.npy", "'.npy'", "names no format"), make=files({"ok.json": OK}), out=False),
    C("out-suffix-tsv-for-batch", ["batch", "infonce", "ok.json", "--out", "r.tsv"], 2,
      ("r.tsv", "names no format", ".jsonl"), make=files({"ok.json": OK}), out=False),
    C("out-suffix-md-for-stats", ["stats", "triplet", "ok.json", "--out", "r.md"], 2,
      ("r.md", "names no format"), make=files({"ok.json": OK}), out=False),
    C("out-without-suffix", INFONCE + ["ok.json", "--out", "result"], 2,
      ("--out result", "no suffix", "--format"), make=files({"ok.json": OK}), out=False),
    C("no-input", INFONCE + ["--temperature", "0.1"], 2, ("no input", "INPUT")),
    # ---- 5: a non-finite result from finite inputs, under --strict
    C("strict-non-finite", INFONCE + ["overflow.json", "--strict"], 5,
      ("overflow.json", "not finite", "--strict"),
      make=files({"overflow.json": {"anchor": [1e200, 0.0], "positive": [1e200, 0.0],
                                    "negatives": [[1e200, 0.0]]}})),
    # ---- 6: output
    C("out-exists", INFONCE + ["ok.json", "--out", "taken.json"], 6,
      ("taken.json", "already exists", "--force"),
      make=files({"ok.json": OK, "taken.json": "keep me"}), out=False),
    C("out-over-input", INFONCE + ["ok.json", "--out", "ok.json", "--force"], 6,
      ("ok.json", "one of the inputs"), make=files({"ok.json": OK}), out=False),
    C("out-over-role-input", INFONCE + ROLE_ARGS + ["--out", "n.npy", "--force", "-f", "json"], 6,
      ("n.npy", "one of the inputs"), make=files(GOOD_ARRAYS), out=False),
    C("out-symlink", INFONCE + ["ok.json", "--out", "link.json", "--force"], 6,
      ("link.json", "symbolic link"),
      make=both(files({"ok.json": OK}),
                lambda root: os.symlink(root / "elsewhere.json", root / "link.json")),
      out=False),
    C("out-unwritable-dir", INFONCE + ["ok.json", "--out", "ro/r.json"], 6,
      ("ro/r.json", "permission denied", "writable"),
      make=both(files({"ok.json": OK}), lambda root: (root / "ro").mkdir()),
      patch=deny_writing, out=False),
    C("out-missing-dir", INFONCE + ["ok.json", "--out", "nodir/r.json"], 6,
      ("nodir/r.json", "no directory", "create it"), make=files({"ok.json": OK}), out=False),
    C("out-is-directory", INFONCE + ["ok.json", "--out", "adir", "-f", "json"], 6,
      ("adir", "is a directory"),
      make=both(files({"ok.json": OK}), lambda root: (root / "adir").mkdir()), out=False),
    C("out-is-directory-no-suffix", INFONCE + ["ok.json", "--out", "adir"], 6,
      ("adir", "is a directory"),  # not "has no suffix" (exit 2): the directory is the fault
      make=both(files({"ok.json": OK}), lambda root: (root / "adir").mkdir()), out=False),
    C("out-is-directory-other-suffix", INFONCE + ["ok.json", "--out", "adir.d"], 6,
      ("adir.d", "is a directory"),
      make=both(files({"ok.json": OK}), lambda root: (root / "adir.d").mkdir()), out=False),
    C("out-is-fifo", INFONCE + ["ok.json", "--out", "fifo", "--force", "-f", "json"], 6,
      ("fifo", "not a regular file"),
      make=both(files({"ok.json": OK}), lambda root: os.mkfifo(root / "fifo")), out=False),
    C("out-disk-full", INFONCE + ["ok.json"], 6, (OUT, "disk full", "space"),
      make=files({"ok.json": OK}), patch=disk_full),
    # ---- 1: a bug
    C("internal-error", INFONCE + ["ok.json"], 1,
      ("internal error", "kernel exploded second line", "bug", "--debug"),
      make=files({"ok.json": OK}), patch=failing_kernel),
]


def test_every_exit_code_of_compute_has_a_case() -> None:
    """Each exit code errors.py defines is reached by some bad input (but 0, batch's 7,
    --fail-above's 8, which tests/cli/test_fail_above.py reaches, and 130, which
    test_interrupted_write_leaves_no_file and test_sigint_exits_130 reach)."""
    codes = {int(code) for code in ExitCode} - {ExitCode.OK, ExitCode.BATCH_FAILED,
                                                 ExitCode.ABOVE_THRESHOLD, ExitCode.INTERRUPTED}
    assert codes <= {case.code for case in CATALOGUE}


@pytest.mark.parametrize("case", CATALOGUE, ids=lambda case: case.id)
def test_bad_input(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOSSCLI_JIT", "never")
    monkeypatch.delenv("LOSSCLI_DEBUG", raising=False)
    case.make(tmp_path)
    if case.patch is not None:
        case.patch(monkeypatch, tmp_path)
    before = listing(tmp_path)
    argv = case.argv + (["--out", OUT] if case.out else [])

    res = invoke(argv, case.stdin)

    assert res.code == case.code, res.stderr
    assert "Traceback" not in res.stderr
    assert res.stdout == ""
    assert listing(tmp_path) == before, "an output or temporary file was left behind"
    if case.code == 2:
        assert 1 <= len(res.lines) <= 3, res.stderr
        assert not BOX_CHARS & set(res.stderr)
    else:
        assert len(res.not_warnings) == 1, res.stderr
    message = res.not_warnings[0]
    assert message.startswith("error: "), message
    if case.code != 2:  # `error: <where>: <what>; <fix>`: the fix is never missing
        what, _, fix = message.partition("; ")
        assert what.count(": ") >= 1 and fix.strip(), message
    for word in case.words:
        assert word.lower() in message.lower(), f"{word!r} not in {message!r}"


def test_disk_full_removed_a_file_that_existed(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The ENOSPC case above is only meaningful if a partial file had been written."""
    monkeypatch.chdir(tmp_path)
    files({"ok.json": OK})(tmp_path)
    disk_full(monkeypatch, tmp_path)
    PARTIAL_SIZES.clear()
    res = invoke(INFONCE + ["ok.json", "--out", OUT])
    assert res.code == 6
    assert PARTIAL_SIZES and PARTIAL_SIZES[0] > 0
    assert sorted(os.listdir(tmp_path)) == ["ok.json"]


def test_internal_error_traceback_only_with_debug(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOSSCLI_JIT", "never")
    files({"ok.json": OK})(tmp_path)
    failing_kernel(monkeypatch, tmp_path)
    quiet = invoke(INFONCE + ["ok.json"])
    loud = invoke(INFONCE + ["ok.json", "--debug"])
    assert quiet.code == loud.code == 1
    assert "Traceback" not in quiet.stderr and len(quiet.lines) == 1
    assert "Traceback" in loud.stderr and "RuntimeError: kernel exploded" in loud.stderr
    assert loud.lines[-1].startswith("error: internal error")


def test_interrupted_write_leaves_no_file(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while --out is being written: exit 130, and the temporary file is gone."""
    monkeypatch.chdir(tmp_path)
    files({"ok.json": OK})(tmp_path)

    def interrupted(fd: int) -> None:
        PARTIAL_SIZES.append(os.fstat(fd).st_size)
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    PARTIAL_SIZES.clear()
    res = invoke(INFONCE + ["ok.json", "--out", OUT])
    assert res.code == 130
    assert res.lines == [f"error: interrupted; --out {OUT} not written"]
    assert PARTIAL_SIZES and PARTIAL_SIZES[0] > 0
    assert sorted(os.listdir(tmp_path)) == ["ok.json"]


@pytest.mark.parametrize("out", [True, False], ids=["out", "stdout"])
def test_an_interrupted_batch_says_what_became_of_its_output(
        out: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C between two records: `error: interrupted`, and with --out that the file (here
    one that existed, under --force) is left as it was: records are written whole or not
    at all (render/atomic_file.py)."""
    from losscli.render import batchout

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOSSCLI_JIT", "never")
    files({"ok.json": OK, "ok2.json": OK})(tmp_path)
    (tmp_path / "old.jsonl").write_text("old\n")
    written = batchout.record_line

    def interrupted(result: Any) -> str:
        if result.file == "ok2.json":
            raise KeyboardInterrupt
        return written(result)

    monkeypatch.setattr(batchout, "record_line", interrupted)
    args = ["batch", "infonce", "ok.json", "ok2.json", "-f", "jsonl"]
    res = invoke(args + (["--out", "old.jsonl", "--force"] if out else []))
    assert res.code == 130
    assert res.lines == (["error: interrupted; --out old.jsonl left unchanged"] if out
                         else ["error: interrupted"])
    assert (tmp_path / "old.jsonl").read_text() == "old\n"
    assert sorted(os.listdir(tmp_path)) == ["ok.json", "ok2.json", "old.jsonl"]


def test_error_messages_keep_brackets_in_file_names(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """No rich markup on user text: `[bold]` in a file name prints as it is."""
    monkeypatch.chdir(tmp_path)
    res = invoke(INFONCE + ["run[bold]1.json"])
    assert res.code == 3
    assert "run[bold]1.json" in res.stderr


def test_out_exists_is_left_untouched_and_force_replaces_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    files({"ok.json": OK, "r.json": "old"})(tmp_path)
    os.chmod(tmp_path / "r.json", 0o640)
    assert invoke(INFONCE + ["ok.json", "--out", "r.json"]).code == 6
    assert (tmp_path / "r.json").read_text() == "old"
    assert invoke(INFONCE + ["ok.json", "--out", "r.json", "--force"]).code == 0
    assert json.loads((tmp_path / "r.json").read_text())["loss"] == "infonce"
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o640  # the old file's mode kept
    assert sorted(os.listdir(tmp_path)) == ["ok.json", "r.json"]


# ---------------------------------------------------------------- accepted dtypes and layouts

EMBEDDING = {"anchor": np.array([[1, -2, 3, 0], [2, 1, -1, 2], [0, 1, 1, -3]]),
             "positive": np.array([[1, -1, 2, 1], [2, 2, -1, 1], [1, 1, 0, -2]]),
             "negatives": np.array([[[-1, 2, 0, 1], [3, 0, 1, -1]], [[0, 0, 1, 1], [1, -2, 2, 0]],
                                    [[2, 2, 2, 2], [-1, -1, 0, 3]]])}
CLASSIFICATION = {"logits": np.array([[1, -2, 3], [0, 2, -1]]), "target": np.array([2, 0])}
LAYOUTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "int32": lambda a: a.astype(np.int32),
    "int8": lambda a: a.astype(np.int8),
    "float16": lambda a: a.astype(np.float16),
    "float32": lambda a: a.astype(np.float32),
    "big-endian": lambda a: a.astype(">f8"),
    "fortran": lambda a: np.asfortranarray(a.astype(np.float64)),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("loss,arrays", [("infonce", EMBEDDING), ("triplet", EMBEDDING),
                                         ("softmax-ce", CLASSIFICATION)])
def test_accepted_dtypes_give_the_float64_result(
        layout: str, loss: str, arrays: dict[str, np.ndarray], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    convert = LAYOUTS[layout]
    for role, arr in arrays.items():
        np.save(tmp_path / f"ref_{role}.npy", arr.astype(np.float64))
        converted = convert(arr)
        np.save(tmp_path / f"{role}.npy", converted)
        if layout == "big-endian":
            assert np.load(tmp_path / f"{role}.npy").dtype.byteorder == ">"
    args = [x for role in arrays for x in (f"--{role}", f"{role}.npy")]
    ref_args = [x for role in arrays for x in (f"--{role}", f"ref_{role}.npy")]
    got = invoke(["compute", loss, *args, "-f", "json"])
    ref = invoke(["compute", loss, *ref_args, "-f", "json"])
    assert got.code == ref.code == 0, got.stderr
    g, r = got.json(), ref.json()
    assert g["shape"] == r["shape"]
    for a, b in zip([g["value"], *g["per_example"]], [r["value"], *r["per_example"]],
                    strict=True):
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)


# ---------------------------------------------------------------- risky but legal: warnings


WARNED = [
    ("zero-vector-cosine-similarity", ["compute", "infonce", "--similarity", "cosine"],
     {"anchor": [0.0, 0.0], "positive": [1.0, 0.0], "negatives": [[0.0, 1.0]]},
     "zero vector", None),
    ("zero-vector-cosine-distance", ["compute", "triplet", "--distance", "cosine"],
     {"anchor": [1.0, 0.0], "positive": [0.0, 0.0], "negatives": [[0.0, 1.0]]},
     "zero vector", None),
    ("tiny-temperature", ["compute", "infonce", "-t", "1e-5"],
     {"anchor": [1.0, 0.0], "positive": [0.5, 0.0], "negatives": [[0.6, 0.0]]},
     "temperature", (0.6 - 0.5) / 1e-5),
    ("huge-entries-cosine", ["compute", "infonce", "--similarity", "cosine", "-t", "1"],
     {"anchor": [3e200, 4e200], "positive": [4e200, 3e200], "negatives": [[-3e200, 4e200]]},
     "1e+150", math.log1p(math.exp(7 / 25 - 24 / 25))),
    ("huge-entries-euclidean", ["compute", "triplet"],
     {"anchor": [3e200, 0.0], "positive": [0.0, 4e200], "negatives": [[0.0, -4e200]]},
     "1e+150", 1.0),
    ("no-negatives-key", ["compute", "infonce"], {"anchor": [1.0, 0.0], "positive": [1.0, 0.0]},
     "K = 0", 0.0),
    ("empty-negatives-list", ["compute", "infonce"],
     {"anchor": [1.0, 0.0], "positive": [1.0, 0.0], "negatives": []}, "K = 0", 0.0),
    ("margin2-above-margin", ["compute", "quadruplet", "--margin", "0.2", "--margin2", "0.5"],
     {"anchor": [1.0, 0.0], "positive": [0.8, 0.6], "negatives": [[0.6, 0.8], [0.0, 1.0]]},
     "margin2", None),
    ("single-class", ["compute", "softmax-ce"], {"logits": [[3.0], [-1.0]], "target": [0, 0]},
     "single class", 0.0),
    ("negative-weight", ["compute", "softmax-ce"], with_(CE, weight=[1.0, 1.0, -0.5]),
     "negative", None),
    ("probabilities-not-summing-to-1", ["compute", "softmax-ce"],
     with_(CE_PROB, target=[[0.5, 0.0, 0.0], [0.0, 0.0, 1.0]]), "sum to 1", None),
    ("role-replaced", ["compute", "infonce", "--positive", "pos.json"], OK, "replaces", None),
    ("unused-role", ["compute", "infonce"], with_(OK, logits=[1.0, 2.0]), "not used", None),
    ("extension-lies", ["compute", "infonce", "--anchor", "anchor.json",
                        "--positive", "pos.json"], None, "despite its .json", None),
    ("json-integer-beyond-2-53", ["compute", "triplet"],
     {"anchor": [9007199254740993, 0.0], "positive": [0.0, 1.0], "negatives": [[1.0, 0.0]]},
     "integers beyond 2^53 in anchor (1) are not exact", None),
    ("same-warning-for-two-roles-is-one-line", ["compute", "infonce", "--similarity", "cosine"],
     {"anchor": [0.0, 0.0], "positive": [0.0, 0.0], "negatives": [[0.0, 1.0]]},
     "zero vectors in anchor (1) and positive (1) under cosine", None),
]


@pytest.mark.parametrize("argv,doc,words,value",
                         [w[1:] for w in WARNED], ids=[w[0] for w in WARNED])
def test_risky_values_warn_and_give_a_defined_result(
        argv: list[str], doc: dict | None, words: str, value: float | None, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pos.json").write_text(json.dumps([0.8, 0.6]))
    (tmp_path / "anchor.json").write_bytes(npy_bytes(np.array([1.0, 0.0])))
    extra = [] if doc is None else ["doc.json"]
    if doc is not None:
        (tmp_path / "doc.json").write_text(json.dumps(doc))
    res = invoke([*argv, *extra, "-f", "json"])
    assert res.code == 0, res.stderr
    warned = [line for line in res.lines if line.startswith("warning: ")]
    assert warned == res.lines
    assert any(words in line for line in warned), res.stderr
    out = res.json()
    assert any(words in w for w in out["warnings"])
    assert out["value"] is not None and all(v is not None for v in out["per_example"])
    if value is not None:
        assert math.isclose(out["value"], value, rel_tol=1e-9, abs_tol=1e-12)


# Either side of CONTRACT.md's thresholds: a probability target row off 1 by more than 1e-6,
# margin2 > margin (quadruplet). (id, argv, document, the warning's words, whether warned)
QUAD_GIVEN = {"anchor": [1.0, 0.0], "positive": [0.8, 0.6], "negatives": [[0.6, 0.8], [0.0, 1.0]],
              "negatives2": [[0.0, 1.0], [0.6, 0.8]]}
THRESHOLDS = [
    ("row-over-1-by-5e-7", ["compute", "softmax-ce"],
     with_(CE_PROB, target=[[0.5, 0.5 + 5e-7, 0.0], [0.0, 0.0, 1.0]]), "sum to 1", False),
    ("row-under-1-by-5e-7", ["compute", "softmax-ce"],
     with_(CE_PROB, target=[[0.5, 0.0, 0.5 - 5e-7], [0.0, 0.0, 1.0]]), "sum to 1", False),
    ("row-over-1-by-2e-6", ["compute", "softmax-ce"],
     with_(CE_PROB, target=[[0.5, 0.5 + 2e-6, 0.0], [0.0, 0.0, 1.0]]), "sum to 1", True),
    ("row-under-1-by-2e-6", ["compute", "softmax-ce"],
     with_(CE_PROB, target=[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0 - 2e-6]]), "sum to 1", True),
    ("margin2-equal-to-margin", QUAD + ["--margin", "0.5", "--margin2", "0.5"], QUAD_GIVEN,
     "margin2", False),
    ("margin2-below-margin", QUAD + ["--margin", "0.5", "--margin2", "0.499"], QUAD_GIVEN,
     "margin2", False),
    ("margin2-just-above-margin", QUAD + ["--margin", "0.5", "--margin2", "0.501"], QUAD_GIVEN,
     "margin2 0.501 > margin 0.5", True),
]


@pytest.mark.parametrize("argv,doc,words,warned", [t[1:] for t in THRESHOLDS],
                         ids=[t[0] for t in THRESHOLDS])
def test_warnings_start_at_the_contracts_thresholds(
        argv: list[str], doc: dict, words: str, warned: bool, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "doc.json").write_text(json.dumps(doc))
    res = invoke([*argv, "doc.json", "-f", "json"])
    assert res.code == 0, res.stderr
    assert res.not_warnings == []
    assert any(words in line for line in res.lines) == warned, res.stderr
    assert any(words in w for w in res.json()["warnings"]) == warned


@pytest.mark.parametrize("command", ["compute", "batch"])
def test_an_archive_under_a_json_name_is_named_once(command: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # QA: batch said "warning: [red]y[x].json: [red]y[x].json holds an .npz archive ...":
    # the note began with the name but not `NAME:`, so batch named the input again
    monkeypatch.chdir(tmp_path)
    name = "[red]y[x].json"
    np.savez(tmp_path / "a.npz", anchor=[1.0, 0.0], positive=[0.6, 0.8],
             negatives=[[0.8, 0.6]])
    (tmp_path / "a.npz").rename(tmp_path / name)
    res = invoke([command, "triplet", name, "-f", "json"])
    assert res.code == 0, res.stderr
    assert res.lines == [f"warning: {name}: holds an .npz archive despite its .json extension;"
                         " read as an .npz archive"]


def test_non_finite_result_is_null_with_a_warning(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Finite inputs whose dot products overflow: null plus a warning; --strict exits 5."""
    monkeypatch.chdir(tmp_path)
    files({"o.json": {"anchor": [1e200, 0.0], "positive": [1e200, 0.0],
                      "negatives": [[1e200, 0.0]]}})(tmp_path)
    res = invoke(INFONCE + ["o.json", "-f", "json"])
    assert res.code == 0
    out = res.json()
    assert out["value"] is None and out["per_example"] == [None]
    assert any("not finite" in w for w in out["warnings"])
    assert any("not finite" in line for line in res.lines)
    strict = invoke(INFONCE + ["o.json", "--strict", "-f", "json"])
    assert strict.code == 5 and strict.stdout == ""


def test_overflowing_sum_of_finite_losses_warns(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Every example finite, their sum not: the sum is null with a warning, the mean finite."""
    monkeypatch.chdir(tmp_path)
    B = 8
    doc = {"anchor": [[1e154, 0.0]] * B, "positive": [[0.0, 0.0]] * B,
           "negatives": [[[0.0, 0.0]]] * B}
    files({"o.json": doc})(tmp_path)
    total = invoke(["compute", "contrastive", "o.json", "--reduction", "sum", "-f", "json"])
    assert total.code == 0
    assert total.json()["value"] is None
    assert any("overflows" in w for w in total.json()["warnings"])
    mean = invoke(["compute", "contrastive", "o.json", "-f", "json"])
    per = 0.5 * (1e154 * 1e154) / 2  # (1/2 d^2 + 1/2 [m - d]+^2) / 2 pairs; hinge is 0
    assert math.isclose(mean.json()["value"], per, rel_tol=1e-12)
    assert invoke(["compute", "contrastive", "o.json", "--reduction", "sum",
                   "--strict"]).code == 5


# ---------------------------------------------------------------- usage errors and help


USAGE = [
    ["compute", "infonce", "ok.json", "--temperature", "warm"],
    ["compute", "infonce", "ok.json", "--nope"],
    ["compute", "infonce", "ok.json", "--out"],
    ["compute", "infonce", "ok.json", "extra", "args"],
    ["comptue", "infonce"],
    ["explain"],
    ["explain", "tripplet"],
    ["losses", "--format", "yaml"],
    ["compute", "softmax-ce", "ok.json", "--ignore-index", "1.5"],
    ["--nope"],
]


@pytest.mark.parametrize("argv", USAGE, ids=[" ".join(a) for a in USAGE])
def test_usage_errors_are_short_and_boxless(argv: list[str], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    files({"ok.json": OK})(tmp_path)
    res = invoke(argv)
    assert res.code == 2, res.stderr
    assert 1 <= len(res.lines) <= 3, res.stderr
    assert res.lines[0].startswith("error: ")
    assert not BOX_CHARS & set(res.stderr)
    assert "Traceback" not in res.stderr and res.stdout == ""


@pytest.mark.parametrize("argv", [["--help"], ["compute", "--help"]])
def test_help_lists_every_exit_code(argv: list[str]) -> None:
    res = invoke(argv)
    assert res.code == 0
    text = " ".join(res.stdout.split())
    assert "Exit codes" in text
    for code, words in [(0, "ok"), (1, "internal"), (2, "usage"), (3, "input unavailable"),
                        (4, "bad data"), (5, "non-finite"), (6, "output"), (130, "interrupted")]:
        assert f"{code} {words}" in text, (code, words)


# ---------------------------------------------------------------- processes: pipes, signals


def cli_process(args: list[str], cwd: Path, **kwargs: Any) -> subprocess.Popen:
    env = dict(os.environ, LOSSCLI_JIT="never", PYTHONDONTWRITEBYTECODE="1")
    env.pop("LOSSCLI_DEBUG", None)
    return subprocess.Popen([sys.executable, "-m", "losscli", *args], cwd=cwd, env=env,
                            **kwargs)


def big_batch(root: Path) -> None:
    """Enough examples that the output far exceeds a pipe's buffer (64 KiB)."""
    rng = np.random.default_rng(3)
    doc = {"anchor": rng.normal(size=(200, 3)).tolist(),
           "positive": rng.normal(size=(200, 3)).tolist(),
           "negatives": rng.normal(size=(200, 4, 3)).tolist()}
    (root / "big.json").write_text(json.dumps(doc))


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_reader_closing_the_pipe_ends_quietly(fmt: str, tmp_path: Path) -> None:
    """`losscli compute ... | head -1`: exit 0, nothing on stderr."""
    big_batch(tmp_path)
    proc = cli_process(["compute", "infonce", "big.json", "-f", fmt, "--show", "0"], tmp_path,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 0, err
    assert first
    assert err == b""


GONE = [["compute", "infonce", "big.json", "--show", "0", "-f", fmt]
        for fmt in ("json", "csv", "table")] + [
    ["losses", "-f", "json"], ["losses", "-f", "table"], ["explain", "triplet"], ["--version"],
    ["--help"]]


@pytest.mark.parametrize("argv", GONE, ids=[" ".join(a) for a in GONE])
def test_reader_gone_before_the_first_write_ends_quietly(argv: list[str],
                                                         tmp_path: Path) -> None:
    """`losscli ... | true`: the pipe has no reader at all, so the very first write fails
    with EPIPE (a reader leaving mid-write is not always reported by Python)."""
    big_batch(tmp_path)
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = cli_process(argv, tmp_path, stdout=write_end, stderr=subprocess.PIPE)
    finally:
        os.close(write_end)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert err == b""


def test_closed_stdout_is_an_output_error(tmp_path: Path) -> None:
    """`losscli compute ... >&-`: exit 6 and one line."""
    files({"ok.json": OK})(tmp_path)
    proc = cli_process(["compute", "infonce", "ok.json", "-f", "json"], tmp_path,
                       stderr=subprocess.PIPE, preexec_fn=lambda: os.close(1))
    _, err = proc.communicate(timeout=60)
    lines = err.decode().splitlines()
    assert proc.returncode == 6, err
    assert len(lines) == 1 and lines[0].startswith("error: <stdout>: stdout is closed")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_full_disk_on_stdout_is_an_output_error(tmp_path: Path) -> None:
    files({"ok.json": OK})(tmp_path)
    with open("/dev/full", "w") as full:
        proc = cli_process(["compute", "infonce", "ok.json", "-f", "json"], tmp_path,
                           stdout=full, stderr=subprocess.PIPE)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 6, err
    assert err.decode().splitlines() == [
        "error: <stdout>: cannot write: disk full (no space left on device); give --out FILE"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigint_exits_130(tmp_path: Path) -> None:
    proc = cli_process(["compute", "infonce", "-"], tmp_path, stdin=subprocess.PIPE,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_until_reading_stdin(proc.pid, 30)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert out == b""
    assert err.decode().splitlines() == ["error: interrupted"]


@pytest.mark.parametrize("argv, shown", [
    (["compute", "triplet", "-"], "cat ex.json | losscli compute triplet -"),
    (["stats", "triplet-margin", "-"], "cat ex.json | losscli stats triplet -"),
    (["sweep", "infonce", "-", "--param", "temperature", "--from", "0.1", "--to", "1"],
     "cat ex.json | losscli sweep infonce -"),
    (["compare", "clip", "--anchor", "-", "--positive", "p.npy"],
     "cat ex.json | losscli compare clip -"),
    (["compute", "triplet", "-", "--png", "x.png"], "cat ex.json | losscli compute triplet -"),
])
def test_a_terminal_on_stdin_gets_the_command_and_loss_that_ran(
        argv: list[str], shown: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The example in the fix is the command and loss being run (its canonical name), not
    one fixed command line: `stats triplet -` on a terminal shows `... losscli stats
    triplet -`. Exit 3 as before."""
    monkeypatch.chdir(tmp_path)
    stdin_terminal(monkeypatch, tmp_path)
    res = invoke(argv)
    assert res.code == 3 and res.stdout == ""
    assert res.stderr == f"error: <stdin>: stdin is a terminal; pipe JSON in, e.g. {shown}\n"


def test_a_terminal_on_batch_stdin_names_its_loss(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    stdin_terminal(monkeypatch, tmp_path)
    res = invoke(["batch", "infonce", "-"])
    assert res.code == 3
    assert res.stderr == ("error: <stdin>: stdin is a terminal; pipe JSON Lines in, e.g. "
                          "cat examples.jsonl | losscli batch infonce -\n")


def test_load_inputs_without_a_hint_names_no_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """The library knows no command line: its error says only what to do."""
    from losscli.errors import InputUnavailable
    from losscli.io import load_inputs

    stdin_terminal(monkeypatch, Path("."))
    with pytest.raises(InputUnavailable) as info:
        load_inputs("-")
    assert info.value.message() == "<stdin>: stdin is a terminal; pipe JSON in, or give a file"


def test_json_after_many_blank_bytes_is_read(tmp_path: Path) -> None:
    """The format is looked for past the first 16 bytes when they are all whitespace: such
    a file was refused as "binary data" (found with QA11 L3)."""
    (tmp_path / "lead.json").write_text("\n" * 20 + "  " + json.dumps(OK))
    (tmp_path / "plain.json").write_text(json.dumps(OK))
    lead = invoke(["compute", "triplet", str(tmp_path / "lead.json"), "-f", "json"])
    plain = invoke(["compute", "triplet", str(tmp_path / "plain.json"), "-f", "json"])
    assert lead.code == 0, lead.stderr
    assert lead.json()["value"] == plain.json()["value"]


def test_a_suggestion_needs_more_than_half_the_letters_or_the_first_one():
    """QA22b L6: `note` was offered positive (difflib 0.5); abbreviations still get theirs."""
    from losscli.errors import closest

    roles = ["anchor", "positive", "negatives"]
    assert closest("note", roles) is None
    assert closest("neg", roles) == "negatives" and closest("pos", roles) == "positive"
    assert closest("anchr", roles) == "anchor" and closest("negative", roles) == "negatives"
