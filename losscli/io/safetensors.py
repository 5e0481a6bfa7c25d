"""safetensors files (Hugging Face; `losscli[safetensors]`): tensors named by role, or
mapped with `--map role=tensor`.

Each tensor's shape and dtype are read from the header and checked against the caps before
its data is read; only the tensors that are roles are read at all. bfloat16 (through
ml_dtypes) and float16 are converted here, once, to float32, then to float64 with every
other input (io.as_role_array). The format holds raw buffers and a JSON header: nothing in
it can run code.
"""

from __future__ import annotations

import numpy as np

from losscli.errors import BadData
from losscli.io.containers import Container, require_extra
from losscli.io.formats import check_size

EXTRA = "safetensors"
WHAT = "a safetensors file"
# The dtypes numpy does not have: read through ml_dtypes, then converted to float32.
ML_DTYPES = ("BF16", "F8_E4M3", "F8_E5M2")


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
            _check_ml_dtypes(source, where)
            tensors = st.numpy.load(source)
            return Container(list(tensors), lambda name: _converted(tensors[name], name,
                                                                     where))
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
            with st.safe_open(source, framework="numpy") as fh:
                return _converted(fh.get_tensor(name), name, where)
        except Exception as exc:  # noqa: BLE001
            raise BadData(f"cannot read tensor {name!r} ({_short(exc)})",
                          "re-save it with safetensors' save_file", where=at) from None

    return Container(names, load)


def _check_ml_dtypes(data: bytes, where: str) -> None:
    import json

    size = int.from_bytes(data[:8], "little")
    try:
        header = json.loads(data[8:8 + size])
    except ValueError:
        return  # the library says what is wrong
    dtypes = {v.get("dtype") for k, v in header.items() if k != "__metadata__" and
              isinstance(v, dict)}
    if dtypes & set(ML_DTYPES):
        require_extra("ml_dtypes", EXTRA, "a bfloat16 or float8 tensor", where)


def _converted(arr: np.ndarray, name: str, where: str) -> np.ndarray:
    """bfloat16 and float8 (ml_dtypes, numpy kind 'V') as float32: exact, once."""
    if arr.dtype.kind == "V" and arr.dtype.names is None and arr.dtype.itemsize <= 2:
        return arr.astype(np.float32)
    check_size(arr.shape, f"{where}:{name}")
    return arr


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


__all__ = ["read_safetensors", "sniff_header"]
