"""Property tests of the input contract (issue 3), with hypothesis.

Whatever bytes, JSON documents or arrays reach a loader or a loss, the CLI ends with a
documented exit code and at most one `error:` line: never a traceback, never exit 1 (a bug).
Valid inputs of moderate size never give a NaN (nor a null) anywhere in the output.

Example counts are modest (the machine is shared) but each example runs every loss.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from losscli import LOSSES
from losscli.cli import run
from losscli.errors import LossCliError
from losscli.io import inputs_from_arrays, load_inputs
from losscli.model import ROLES

pytestmark = pytest.mark.filterwarnings("error")

LOSS_NAMES = list(LOSSES)
DOCUMENTED = {0, 2, 3, 4, 5, 6}
# LOSSCLI_PROPERTY_EXAMPLES raises the count for a longer hunt (e.g. 3000).
EXAMPLES = int(os.environ.get("LOSSCLI_PROPERTY_EXAMPLES", "150"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(autouse=True, scope="module")
def _interpreted_kernels() -> Iterator[None]:
    """Small inputs run interpreted anyway; this keeps numba out even if one grows."""
    saved = os.environ.get("LOSSCLI_JIT")
    os.environ["LOSSCLI_JIT"] = "never"
    yield
    if saved is None:
        os.environ.pop("LOSSCLI_JIT", None)
    else:
        os.environ["LOSSCLI_JIT"] = saved


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="losscli-prop-") as name:
        yield Path(name)


class _Stdin(io.TextIOWrapper):
    def isatty(self) -> bool:
        return False


def invoke(argv: list[str], stdin: bytes | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    sys.stdin = _Stdin(io.BytesIO(stdin or b""))
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run(argv)
    finally:
        sys.stdin = saved
    return code, out.getvalue(), err.getvalue()


def _no_constant(name: str) -> Any:
    raise AssertionError(f"NaN or Infinity literal in the output: {name}")


def check_contract(argv: list[str], stdin: bytes | None = None) -> tuple[int, Any]:
    """Run the CLI and check what holds for every input; return the code and parsed JSON."""
    code, out, err = invoke(argv, stdin)
    assert code in DOCUMENTED, (argv, code, err)
    assert "Traceback" not in err
    lines = err.splitlines()
    others = [line for line in lines if not line.startswith("warning: ")]
    if code == 0:
        assert others == [], err
        return code, json.loads(out, parse_constant=_no_constant)
    assert out == ""
    assert len(others) == 1 and others[0].startswith("error: "), err
    return code, None


# ---------------------------------------------------------------- random bytes

VALID_JSON = json.dumps({"anchor": [[1.0, 0.0], [0.5, 0.5]], "positive": [[0.8, 0.6], [1, 2]],
                         "negatives": [[[0.6, 0.8]], [[0.0, 1.0]]]}).encode()


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def _npz(arrays: dict[str, np.ndarray], deflate: bool) -> bytes:
    buf = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", compression=method) as zf:
        for name, arr in arrays.items():
            zf.writestr(f"{name}.npy", _npy(arr))
    return buf.getvalue()


SEEDS = [
    VALID_JSON,
    _npy(np.arange(24, dtype=np.float64).reshape(2, 3, 4)),
    _npy(np.arange(6, dtype=">i4").reshape(2, 3)),
    _npz({"anchor": np.ones((2, 3)), "positive": np.ones((2, 3)),
          "negatives": np.zeros((2, 2, 3))}, deflate=False),
    _npz({"logits": np.ones((2, 3)), "target": np.array([0, 2])}, deflate=True),
]


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    """A valid file with bytes flipped, cut, or inserted: the inputs a reader trips on."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "cut", "insert"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[at: at + draw(st.integers(1, 64))]
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
    return bytes(data)


PREFIXES = [b"", b"\x93NUMPY\x01\x00", b"\x93NUMPY\x02\x00", b"PK\x03\x04", b"PK\x05\x06",
            b"{", b"[", b"\x80\x04", b"\xef\xbb\xbf{", b"-", b"1", b"\xff\xfe"]
random_bytes = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda p, b: p + b, st.sampled_from(PREFIXES), st.binary(max_size=300)),
    damaged(),
)


@SETTINGS
@given(data=random_bytes, suffix=st.sampled_from([".json", ".npy", ".npz", ".pt", ".txt"]))
def test_random_bytes_as_input_never_crash(data: bytes, suffix: str) -> None:
    with workdir() as root:
        path = root / f"input{suffix}"
        path.write_bytes(data)
        for loss in LOSS_NAMES:
            check_contract(["compute", loss, str(path), "-f", "json"])


@SETTINGS
@given(data=random_bytes)
def test_random_bytes_on_stdin_and_as_role_files_never_crash(data: bytes) -> None:
    with workdir() as root:
        role_file = root / "role.npy"
        role_file.write_bytes(data)
        check_contract(["compute", "infonce", "-", "-f", "json"], stdin=data)
        check_contract(["compute", "triplet", "--anchor", str(role_file), "--positive",
                        str(role_file), "--negatives", str(role_file), "-f", "json"])
        check_contract(["compute", "softmax-ce", "--logits", str(role_file), "--target",
                        str(role_file), "-f", "json"])


@SETTINGS
@given(data=random_bytes)
def test_loaders_raise_only_losscli_errors(data: bytes) -> None:
    """The library face: load_inputs either returns finite float64 arrays or says why not."""
    with workdir() as root:
        path = root / "x.bin.json"
        path.write_bytes(data)
        for kwargs in ({"path": str(path)}, {"role_files": {"anchor": str(path)}},
                       {"path": "-", "stdin": io.BytesIO(data)}):
            try:
                inputs = load_inputs(**kwargs, spec=LOSSES["infonce"])
            except LossCliError as exc:
                assert exc.exit_code in DOCUMENTED and "\n" not in exc.message()
                continue
            for arr in inputs.arrays.values():
                assert arr.dtype == np.float64 and arr.flags.c_contiguous
                assert np.isfinite(arr).all()


# ---------------------------------------------------------------- random JSON documents

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**30, 10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from([*ROLES, "anchr", "x"]), children, max_size=3)),
    max_leaves=24,
)
numbers = st.floats(-1e3, 1e3, allow_nan=False)
arrays_as_lists = st.one_of(
    st.lists(numbers, max_size=4),
    st.lists(st.lists(numbers, min_size=2, max_size=2), max_size=3),
    st.lists(st.lists(st.lists(numbers, min_size=2, max_size=2), min_size=1, max_size=2),
             min_size=1, max_size=3),
)
documents = st.one_of(
    json_values,
    st.dictionaries(st.sampled_from(ROLES), st.one_of(arrays_as_lists, json_values),
                    min_size=1, max_size=5),
)


@SETTINGS
@given(doc=documents)
def test_random_json_documents_never_crash(doc: Any) -> None:
    text = json.dumps(doc, allow_nan=True)  # NaN / Infinity literals are in scope
    with workdir() as root:
        path = root / "doc.json"
        path.write_text(text)
        for loss in LOSS_NAMES:
            check_contract(["compute", loss, str(path), "-f", "json"])
        check_contract(["compute", "infonce", "-", "-f", "json"], stdin=text.encode())


# ---------------------------------------------------------------- random arrays

DTYPES = [np.float64, np.float32, np.float16, np.int32, np.int8, np.uint8, np.bool_,
          np.complex128, np.dtype(">f8"), np.dtype("<U2")]
array_shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4)


@st.composite
def random_arrays(draw: st.DrawFn) -> np.ndarray:
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    shape = draw(array_shapes)
    if dtype.kind == "f":
        bound = min(1e6, float(np.finfo(dtype).max))
        elements = st.floats(-bound, bound, allow_nan=False, width=min(dtype.itemsize * 8, 64)) \
            | st.sampled_from([np.nan, np.inf, -np.inf, 0.0])
        return draw(hnp.arrays(dtype, shape, elements=elements))
    return draw(hnp.arrays(dtype, shape))


@SETTINGS
@given(arrays=st.dictionaries(st.sampled_from(ROLES), random_arrays(), min_size=1, max_size=4),
       container=st.sampled_from(["role-files", "npz", "json"]))
def test_random_arrays_never_crash(arrays: dict[str, np.ndarray], container: str) -> None:
    with workdir() as root:
        if container == "npz":
            npz = root / "in.npz"
            npz.write_bytes(_npz(arrays, deflate=True))
            args = [str(npz)]
        elif container == "json":
            doc = {role: arr.tolist() for role, arr in arrays.items()}
            path = root / "in.json"
            path.write_text(json.dumps(doc, allow_nan=True, default=str))
            args = [str(path)]
        else:
            args = []
            for role, arr in arrays.items():
                np.save(root / f"{role}.npy", arr)
                args += [f"--{role}", str(root / f"{role}.npy")]
        for loss in LOSS_NAMES:
            check_contract(["compute", loss, *args, "-f", "json"])


@SETTINGS
@given(arrays=st.dictionaries(st.sampled_from(ROLES), random_arrays(), min_size=1, max_size=4))
def test_random_arrays_in_the_library_raise_only_losscli_errors(
        arrays: dict[str, np.ndarray]) -> None:
    import losscli

    for loss in LOSS_NAMES:
        try:
            result = losscli.evaluate(loss, arrays)
        except LossCliError as exc:
            assert exc.exit_code in DOCUMENTED
            continue
        assert result.batch >= 1


# ---------------------------------------------------------------- valid inputs: no NaN

moderate = st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False) | st.just(0.0)


@st.composite
def valid_embedding_input(draw: st.DrawFn, loss: str) -> tuple[dict[str, Any], list[str]]:
    B = draw(st.integers(1, 3))
    K = draw(st.integers(2 if loss == "quadruplet" else 1, 3))
    D = draw(st.integers(1, 4))
    single = draw(st.booleans())
    lead = () if single else (B,)
    shared = draw(st.booleans())
    doc = {
        "anchor": draw(hnp.arrays(np.float64, lead + (D,), elements=moderate)),
        "positive": draw(hnp.arrays(np.float64, lead + (D,), elements=moderate)),
        "negatives": draw(hnp.arrays(np.float64, ((K, D) if shared or single else (B, K, D)),
                                     elements=moderate)),
    }
    options: list[str] = []
    if loss == "infonce":
        options = ["-t", repr(draw(st.floats(0.01, 10))),
                   "--similarity", draw(st.sampled_from(["dot", "cosine"]))]
    else:
        options = ["--margin", repr(draw(st.floats(0, 10))),
                   "--distance", draw(st.sampled_from(["euclidean", "sqeuclidean", "cosine"]))]
    if loss == "triplet":
        options += ["--negatives-reduction",
                    draw(st.sampled_from(["mean", "sum", "max", "mean-active"])),
                    draw(st.sampled_from(["--swap", "--no-swap"])),
                    draw(st.sampled_from(["--soft", "--no-soft"]))]
    if loss == "quadruplet":
        options += ["--margin2", repr(draw(st.floats(0, 10)))]
        if draw(st.booleans()):
            doc["negatives2"] = draw(hnp.arrays(np.float64, doc["negatives"].shape,
                                                elements=moderate))
    return doc, options


@st.composite
def valid_classification_input(draw: st.DrawFn) -> tuple[dict[str, Any], list[str]]:
    B = draw(st.integers(1, 3))
    C = draw(st.integers(1, 4))
    logits = draw(hnp.arrays(np.float64, (B, C), elements=moderate))
    if draw(st.booleans()):
        target: np.ndarray = draw(hnp.arrays(np.int64, (B,), elements=st.integers(0, C - 1)))
        options = []
    else:
        raw = draw(hnp.arrays(np.float64, (B, C), elements=st.floats(0, 1)))
        raw[:, 0] += 1e-3
        target = raw / raw.sum(axis=1, keepdims=True)
        options = []
    doc = {"logits": logits, "target": target}
    if draw(st.booleans()):
        doc["weight"] = draw(hnp.arrays(np.float64, (C,), elements=st.floats(0.1, 10)))
    options += ["--label-smoothing", repr(draw(st.floats(0, 1)))]
    return doc, options


def _all_numbers(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _all_numbers(v)
    elif isinstance(value, list):
        for v in value:
            yield from _all_numbers(v)
    else:
        yield value


def _check_valid(doc: dict[str, np.ndarray], options: list[str], loss: str,
                 container: str) -> None:
    with workdir() as root:
        if container == "json":
            path = root / "in.json"
            path.write_text(json.dumps({k: v.tolist() for k, v in doc.items()}))
        else:
            path = root / "in.npz"
            path.write_bytes(_npz(doc, deflate=False))
        code, out = check_contract(["compute", loss, str(path), *options, "-f", "json",
                                    "--strict"])
    assert code == 0
    assert out["value"] is not None and math.isfinite(out["value"])
    assert all(v is not None for v in out["per_example"])
    for example in out["examples"]:
        for term in example["terms"]:
            for name, v in term.items():
                assert v is not None, (name, term)
    assert all(v is None or isinstance(v, (int, float, str, bool)) for v in _all_numbers(out))


@SETTINGS
@given(data=st.data(), loss=st.sampled_from(["infonce", "contrastive", "triplet",
                                             "quadruplet"]),
       container=st.sampled_from(["json", "npz"]))
def test_valid_embedding_inputs_never_give_nan(data: st.DataObject, loss: str,
                                               container: str) -> None:
    doc, options = data.draw(valid_embedding_input(loss))
    _check_valid(doc, options, loss, container)


@SETTINGS
@given(case=valid_classification_input(), container=st.sampled_from(["json", "npz"]))
def test_valid_classification_inputs_never_give_nan(
        case: tuple[dict[str, np.ndarray], list[str]], container: str) -> None:
    doc, options = case
    _check_valid(doc, options, "softmax-ce", container)


def test_inputs_from_arrays_refuses_what_numpy_cannot_shape() -> None:
    """A ragged tuple used to escape as numpy's ValueError (exit 1 for library callers)."""
    with pytest.raises(LossCliError, match="cannot be read as an array"):
        inputs_from_arrays({"anchor": ((1.0, 2.0), (1.0,))})
