"""gna._numpy_impl -- layer: bindings (NumPy / DLPack front end, no torch needed).

Owns: describing NumPy arrays to the C ABI (byte strides -> element strides), allocating outputs, and
running forward / merge on CPU. No autograd here (that is the torch front end's job).

Invariants: inputs are never copied or modified; outputs are fresh C-contiguous arrays; LSE is float32.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

from . import _checks, _lib


def dtype_name(a: np.ndarray) -> str:
    name = a.dtype.name  # "bfloat16" with ml_dtypes
    return name


def as_array(x, name: str) -> np.ndarray:
    """NumPy array or any CPU DLPack-capable object -> np.ndarray (zero-copy)."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "__dlpack__"):
        try:
            return np.from_dlpack(x)
        except (TypeError, RuntimeError, BufferError) as e:
            raise TypeError(f"{name}: cannot import the DLPack tensor into NumPy ({e})") from e
    raise TypeError(f"{name}: expected a numpy.ndarray, a torch.Tensor or a DLPack tensor, got {type(x).__name__}")


def meta(a: np.ndarray) -> _checks.Meta:
    item = a.itemsize
    strides = []
    for s in a.strides:
        if s % item != 0:
            raise ValueError(f"array strides {a.strides} are not multiples of the element size {item}")
        strides.append(s // item)
    return _checks.Meta(tuple(a.shape), tuple(strides), dtype_name(a), "cpu")


def describe(a: Optional[np.ndarray]) -> Optional[_lib.Tensor]:
    if a is None:
        return None
    m = meta(a)
    stride = list(m.stride)
    if stride and m.shape[-1] == 1:
        stride[-1] = 1  # a size-1 last axis: any stride is unit stride
    return _lib.make_tensor(a.ctypes.data, _checks.DTYPE_CODES[m.dtype], _lib.DEVICE_CPU, 0, m.shape, stride)


def forward(q: np.ndarray, k: np.ndarray, v: np.ndarray, ek: Optional[np.ndarray], ev: Optional[np.ndarray],
            window: Sequence[int], stride: Sequence[int], dilation: Sequence[int], is_causal: Sequence[bool],
            scale: float, q_tile, kv_tile, backend: str, return_lse: bool):
    out = np.empty(q.shape[:-1] + (v.shape[-1],), dtype=q.dtype)
    lse = np.empty(q.shape[:-1], dtype=np.float32) if return_lse else None
    params = _lib.make_params(window, stride, dilation, is_causal, scale)
    options = _lib.make_options(backend, q_tile, kv_tile)
    _lib.forward(params, describe(q), describe(k), describe(v), describe(out), describe(lse), describe(ek),
                 describe(ev), options)
    return (out, lse) if return_lse else out


def backward(dout, q, k, v, out, lse, ek, ev, window, stride, dilation, is_causal, scale, q_tile, kv_tile,
             backend: str):
    """Gradients (dq, dk, dv, dextra_k, dextra_v) of the forward; the extra ones are None without extra KV."""
    dq, dk, dv = np.empty_like(q, order="C"), np.empty_like(k, order="C"), np.empty_like(v, order="C")
    dek = np.empty_like(ek, order="C") if ek is not None else None
    dev = np.empty_like(ev, order="C") if ev is not None else None
    params = _lib.make_params(window, stride, dilation, is_causal, scale)
    options = _lib.make_options(backend, q_tile, kv_tile)
    _lib.backward(params, describe(q), describe(k), describe(v), describe(out), describe(lse), describe(dout),
                  describe(dq), describe(dk), describe(dv), describe(ek), describe(ev), describe(dek),
                  describe(dev), options)
    return dq, dk, dv, dek, dev


def merge(o0: np.ndarray, lse0: np.ndarray, o1: np.ndarray, lse1: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    out = np.empty(o0.shape, dtype=o0.dtype)
    lse = np.empty(lse0.shape, dtype=np.float32)
    _lib.merge(describe(o0), describe(lse0), describe(o1), describe(lse1), describe(out), describe(lse))
    return out, lse
