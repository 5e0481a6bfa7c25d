"""safetensors files (Hugging Face; `losscli[safetensors]`): tensors named by role, or
mapped with `--map role=tensor`.

Each tensor's shape and dtype are read from the header and checked against the caps before
its data is read; only the tensors that are roles are read at all. bfloat16 and float8
(through ml_dtypes) and float16 are converted here, once, to float32, then to float64 with
every other input (io.as_role_array), whether from a file or from the bytes of a pipe. The format
holds raw buffers and a JSON header: nothing in it can run code.
"""

from __future__ import annotations

import numpy as np

from losscli.errors import BadData
from losscli.io.containers import Container, require_extra
from losscli.io.formats import check_size, ml_float_as_float32

EXTRA = "safetensors"
WHAT = "a safetensors file"
# The dtypes numpy does not have: read through ml_dtypes, then converted to float32.
ML_DTYPES = {"BF16": "bfloat16", "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2"}
# The others, for tensors read from bytes (the format is little-endian); a dtype not here
# (complex, 4-bit...) is refused by name when a role reads it.
NUMPY_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4",
                "I16": "<i2", "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1",
                "BOOL": "?"}


def sniff_header(head: bytes) -> bool:
    """Whether the first 16 bytes are a safetensors header: a little-endian u64 length
    (below 100 MB, the format's own limit), then a JSON object."""
    if len(head) < 10:
        return False
    size = int.from_bytes(head[:8], "little")
    return 2 <= size <= 100_000_000 and head[8:10] in (b'{"', b"{}", b"{ ")


def read_safetensors(where: str, source: str | bytes) -> Container:
    """The tensors of a file (a path) or of bytes read from a stream, read on demand."""
    st = require_extra("safetensors", EXTRA, WHAT, where)
    require_extra("safetensors.numpy", EXTRA, WHAT, where)
    try:
        if isinstance(source, bytes):
            # safetensors.numpy.load knows no bfloat16: read the buffers, view them here.
            tensors = {name: info for name, info in st.deserialize(source)}
            return Container(sorted(tensors), lambda name: _view(
                tensors[name]["data"], tuple(tensors[name]["shape"]), tensors[name]["dtype"],
                name, where))
        with st.safe_open(source, framework="numpy") as fh:
            names = list(fh.keys())
            meta = {name: (tuple(fh.get_slice(name).get_shape()),
                           fh.get_slice(name).get_dtype()) for name in names}
    except BadData:
        raise
    except Exception as exc:  # noqa: BLE001 - the library's errors are of several kinds
        raise BadData(f"not a readable safetensors file ({_short(exc)})",
                      "re-save it with safetensors' save_file", where=where) from None

    def load(name: str) -> np.ndarray:
        shape, dtype = meta[name]
        at = f"{where}:{name}"
        check_size(shape, at)
        if dtype in ML_DTYPES:
            require_extra("ml_dtypes", EXTRA, f"a {dtype} tensor", at)
        try:
            if dtype in ML_DTYPES:  # get_tensor knows bfloat16 (once ml_dtypes is), not float8
                data = _buffer(source, name)
            else:
                with st.safe_open(source, framework="numpy") as fh:
                    return _converted(fh.get_tensor(name), name, where)
        except Exception as exc:  # noqa: BLE001
            raise BadData(f"cannot read tensor {name!r} ({_short(exc)})",
                          "re-save it with safetensors' save_file", where=at) from None
        return _view(data, shape, dtype, name, where)

    return Container(names, load)


def _buffer(path: str, name: str) -> bytes:
    """A tensor's bytes, where the header of a file safe_open has accepted says they are."""
    import json

    with open(path, "rb") as fh:
        size = int.from_bytes(fh.read(8), "little")
        start, end = json.loads(fh.read(size))[name]["data_offsets"]
        fh.seek(8 + size + start)
        return fh.read(end - start)


def _view(data: bytes, shape: tuple[int, ...], code: str, name: str,
          where: str) -> np.ndarray:
    """A tensor's bytes as an array of its safetensors dtype `code`, as float32 for the
    ml_dtypes ones: what a file's tensors and those of bytes read from a stream share."""
    at = f"{where}:{name}"
    check_size(shape, at)
    if code in ML_DTYPES:
        ml_dtypes = require_extra("ml_dtypes", EXTRA, f"a {code} tensor", at)
        dtype = np.dtype(getattr(ml_dtypes, ML_DTYPES[code]))
    elif code in NUMPY_DTYPES:
        dtype = np.dtype(NUMPY_DTYPES[code])
    else:
        raise BadData(f"tensor dtype {code} is not accepted",
                      "give integer or floating-point numbers", where=at)
    return _converted(np.frombuffer(data, dtype=dtype).reshape(shape), name, where)


def _converted(arr: np.ndarray, name: str, where: str) -> np.ndarray:
    """bfloat16 and float8 (ml_dtypes, numpy kind 'V') as float32: exact, once."""
    widened = ml_float_as_float32(arr)
    if widened is not arr:
        return widened
    check_size(arr.shape, f"{where}:{name}")
    return arr


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


__all__ = ["read_safetensors", "sniff_header"]
