"""Arrays from other libraries, for the library's `evaluate`: torch tensors, anything with
`__array__` (jax, pandas, xarray...) or `__dlpack__`, and nested lists.

torch is never imported here: a tensor is recognised by its type's module, and converted
through its own methods (detached from the graph, moved to the CPU, bfloat16 and other
dtypes numpy lacks cast to float32), so `import losscli` and every other input pay nothing
for it. Whatever goes wrong on the way is a BadData naming the role, never a bare
RuntimeError from the other library.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.errors import BadData

TENSOR_FIX = "give a tensor of numbers, e.g. x.detach().float().cpu()"


def is_torch_tensor(value: Any) -> bool:
    """Whether `value` is a torch tensor (or a subclass: Parameter), without importing torch."""
    return any(cls.__module__.split(".")[0] == "torch" and cls.__name__ in
               ("Tensor", "Parameter") for cls in type(value).__mro__)


def to_numpy(value: Any, role: str) -> np.ndarray:
    """`value` as a numpy array (not yet float64: io.as_role_array checks and converts)."""
    if is_torch_tensor(value):
        return _from_torch(value, role)
    try:
        if hasattr(value, "__array__"):
            return np.asarray(value)
        if hasattr(value, "__dlpack__"):
            return np.from_dlpack(value)
        return np.asarray(value)
    except (ValueError, TypeError, RuntimeError, BufferError) as exc:
        kind = type(value).__name__
        raise BadData(f"a {kind} that cannot be read as an array ({_short(exc)})",
                      "give a numpy array, a nested list of numbers, or an array on the CPU "
                      "(e.g. numpy.asarray(x.get()) for cupy)", where=role) from None


def _from_torch(tensor: Any, role: str) -> np.ndarray:
    try:
        t = tensor.detach()
        if getattr(t, "is_sparse", False) or str(getattr(t, "layout", "")) != "torch.strided":
            t = t.to_dense()
        if t.is_complex():
            raise BadData(f"complex tensor ({t.dtype})", "give real numbers", where=role)
        if t.dtype.is_floating_point and str(t.dtype) not in ("torch.float16", "torch.float32",
                                                              "torch.float64"):
            t = t.float()  # bfloat16, float8: no numpy dtype; float32 holds them exactly
        return t.cpu().resolve_conj().resolve_neg().numpy()
    except BadData:
        raise
    except Exception as exc:  # noqa: BLE001 - torch raises RuntimeError, TypeError, ...
        raise BadData(f"cannot read this torch tensor ({_short(exc)})", TENSOR_FIX,
                      where=role) from None


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


__all__ = ["is_torch_tensor", "to_numpy"]
