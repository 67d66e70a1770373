"""gna.functional -- layer: bindings (the user-facing functions, NATTEN-compatible names and semantics).

Owns: na1d / na2d / na3d, the rank-generic neighborhood_attention, dense attention, merge_attentions, and
the dispatch between the torch front end (custom ops with autograd, torch.compile-able) and the NumPy /
DLPack front end (forward only, no torch needed).

Layout is heads-last (spec s1): query [B, X0.., H, Dqk], key [B, X0.., Hkv, Dqk], value [B, X0.., Hkv, Dv],
output [B, X0.., H, Dv], LSE [B, X0.., H] float32, additional keys/values [B, Nx, Hkv, D*].

Invariants: per-axis arguments accept an int (every axis) or a tuple with one entry per spatial axis;
Python-level problems raise ValueError/TypeError before any work; every other rule is checked by the C++
API whose gna::Error message is raised unchanged as ValueError.
"""

from __future__ import annotations

import sys
from typing import Optional, Sequence

from . import _checks

# Set by gna/__init__.py to the gna._torch_ops module when torch is installed (a global, so torch.compile
# reads it as a constant instead of tracing an import).
_TORCH_IMPL = None

__all__ = ["na1d", "na2d", "na3d", "neighborhood_attention", "attention", "merge_attentions"]


def _torch_tensor_type():
    torch = sys.modules.get("torch")
    return torch.Tensor if torch is not None else None


def _torch_impl():
    if _TORCH_IMPL is None:
        raise TypeError("gna: torch tensors were given but the torch integration is off (GNA_NO_TORCH is set)")
    return _TORCH_IMPL


def _is_torch(x) -> bool:
    tt = _torch_tensor_type()
    return tt is not None and isinstance(x, tt)


def _dlpack_to_torch_if_needed(x):
    """A non-CPU DLPack object (e.g. a CuPy or JAX GPU array) is imported into torch (zero-copy)."""
    if x is None or _is_torch(x) or not hasattr(x, "__dlpack__"):
        return x
    try:
        import numpy as np
        if isinstance(x, np.ndarray):
            return x
    except ImportError:  # pragma: no cover
        pass
    dev = x.__dlpack_device__()[0] if hasattr(x, "__dlpack_device__") else 1
    if dev == 1:  # kDLCPU: the NumPy path takes it
        return x
    torch = sys.modules.get("torch")
    if torch is None:
        raise TypeError("a non-CPU DLPack tensor needs torch installed (import torch) to be used with gna")
    return torch.utils.dlpack.from_dlpack(x)


def neighborhood_attention(query, key, value, kernel_size, stride=1, dilation=1, is_causal=False,
                           scale: Optional[float] = None, additional_keys=None, additional_values=None,
                           return_lse: bool = False, q_tile_shape=None, kv_tile_shape=None,
                           backend: Optional[str] = None, *, _fn: str = "neighborhood_attention",
                           _rank: Optional[int] = None):
    """Generalized neighborhood attention over 1, 2 or 3 spatial axes (inferred from query.ndim - 3).

    Returns the output, or (output, lse) when return_lse is True. torch tensors give torch tensors (with
    autograd); NumPy arrays or CPU DLPack tensors give NumPy arrays.
    """
    query, key, value = (_dlpack_to_torch_if_needed(t) for t in (query, key, value))
    additional_keys = _dlpack_to_torch_if_needed(additional_keys)
    additional_values = _dlpack_to_torch_if_needed(additional_values)
    use_torch = _is_torch(query)
    tensors = (query, key, value, additional_keys, additional_values)
    names = ("query", "key", "value", "additional_keys", "additional_values")
    if use_torch:
        impl = _torch_impl()
        for name, t in zip(names, tensors):
            if t is not None and not _is_torch(t):
                raise TypeError(f"{name}: expected a torch.Tensor like query, got {type(t).__name__}")
    else:
        from . import _numpy_impl as impl
        tensors = tuple(None if t is None else impl.as_array(t, n) for n, t in zip(names, tensors))
        query, key, value, additional_keys, additional_values = tensors
    metas = [None if t is None else impl.meta(t) for t in tensors]
    if _rank is not None and len(metas[0].shape) != _rank + 3:
        raise ValueError(f"query: {_fn} expects a {_rank + 3}-D tensor {_checks.LAYOUTS[_rank]}, "
                         f"got shape {list(metas[0].shape)}")
    rank = _checks.rank_of(_fn, metas[0])
    _checks.check_attention_inputs(_fn, rank, *metas)

    window = _checks.per_axis("kernel_size", kernel_size, rank)
    stride_ = _checks.per_axis("stride", stride, rank)
    dilation_ = _checks.per_axis("dilation", dilation, rank)
    causal = _checks.per_axis_bool("is_causal", is_causal, rank)
    scale_ = _checks.check_scale(scale, metas[0].shape[-1])
    q_tile = _checks.tile_shape("q_tile_shape", q_tile_shape, rank)
    kv_tile = _checks.tile_shape("kv_tile_shape", kv_tile_shape, rank)
    backend_ = _checks.check_backend(backend)
    if not isinstance(return_lse, bool):
        raise ValueError(f"return_lse: expected a bool, got {return_lse!r}")
    return impl.forward(query, key, value, additional_keys, additional_values, window, stride_, dilation_, causal,
                        scale_, q_tile, kv_tile, backend_, return_lse)


def _na_fixed_rank(rank: int, fn: str):
    def na(query, key, value, kernel_size, stride=1, dilation=1, is_causal=False, scale=None,
           additional_keys=None, additional_values=None, return_lse=False, q_tile_shape=None, kv_tile_shape=None,
           backend=None):
        return neighborhood_attention(query, key, value, kernel_size, stride, dilation, is_causal, scale,
                                      additional_keys, additional_values, return_lse, q_tile_shape, kv_tile_shape,
                                      backend, _fn=fn, _rank=rank)

    na.__name__ = na.__qualname__ = fn
    na.__doc__ = (f"{rank}-D generalized neighborhood attention. query {_checks.LAYOUTS[rank]} (heads-last); "
                  "kernel_size/stride/dilation/is_causal take a value or a per-axis tuple. Returns the output, "
                  "or (output, lse) when return_lse=True.")
    return na


na1d = _na_fixed_rank(1, "na1d")
na2d = _na_fixed_rank(2, "na2d")
na3d = _na_fixed_rank(3, "na3d")


def attention(query, key, value, is_causal: bool = False, scale: Optional[float] = None, return_lse: bool = False,
              backend: Optional[str] = None):
    """Dense (optionally causal) attention over a token axis: query/key/value [B, N, H(kv), D].

    Computed as 1-D neighborhood attention whose window equals the extent (spec s3: K = L non-causal is full
    attention; causal with K = L attends every earlier token), so it needs N >= 2 and the same N for
    query and key.
    """
    shape = getattr(query, "shape", None)
    if shape is None or len(shape) != 4:
        raise ValueError(f"query: attention expects a 4-D tensor [B, N, H, D], got shape "
                         f"{list(shape) if shape is not None else type(query).__name__}")
    kshape = getattr(key, "shape", None)
    if kshape is not None and len(kshape) == 4 and kshape[1] != shape[1]:
        raise ValueError(f"key: attention needs as many key tokens as query tokens, got {kshape[1]} keys "
                         f"for {shape[1]} queries")
    if shape[1] < 2:
        raise ValueError(f"query: attention needs at least 2 tokens, got N = {shape[1]}")
    if not isinstance(is_causal, bool):
        raise ValueError(f"is_causal: expected a bool, got {is_causal!r}")
    return neighborhood_attention(query, key, value, int(shape[1]), 1, 1, is_causal, scale,
                                  return_lse=return_lse, backend=backend, _fn="attention")


def merge_attentions(outputs: Sequence, lses: Sequence):
    """Merges attentions over disjoint key sets (spec s7). outputs[i]: [..., H, Dv], lses[i]: [..., H]
    float32. Returns (output, lse). Differentiable for torch tensors."""
    if not isinstance(outputs, (list, tuple)) or not isinstance(lses, (list, tuple)):
        raise ValueError("merge_attentions: outputs and lses must be lists (or tuples) of tensors")
    if len(outputs) != len(lses):
        raise ValueError(f"merge_attentions: got {len(outputs)} outputs but {len(lses)} lse tensors")
    if len(outputs) < 2:
        raise ValueError(f"merge_attentions: needs at least 2 attentions to merge, got {len(outputs)}")
    use_torch = _is_torch(outputs[0])
    if use_torch:
        impl = _torch_impl()
        for i, t in enumerate(list(outputs) + list(lses)):
            if not _is_torch(t):
                raise TypeError(f"merge_attentions: every input must be a torch.Tensor like outputs[0]; "
                                f"entry {i} is {type(t).__name__}")
    else:
        from . import _numpy_impl as impl
        outputs = [impl.as_array(t, f"outputs[{i}]") for i, t in enumerate(outputs)]
        lses = [impl.as_array(t, f"lses[{i}]") for i, t in enumerate(lses)]
    om = [impl.meta(t) for t in outputs]
    lm = [impl.meta(t) for t in lses]
    _checks.check_same_dtype([(f"outputs[{i}]", m) for i, m in enumerate(om)])
    for i, m in enumerate(lm):
        if m.dtype != "float32":
            raise TypeError(f"lses[{i}]: dtype must be float32, got {m.dtype}")
    _checks.check_same_device([(f"outputs[{i}]", m) for i, m in enumerate(om)] +
                              [(f"lses[{i}]", m) for i, m in enumerate(lm)])
    for i, (a, b) in enumerate(zip(om, lm)):
        _checks.check_unit_last_stride(f"outputs[{i}]", a)
        _checks.check_unit_last_stride(f"lses[{i}]", b)
    merge = impl.merge_pair if use_torch else impl.merge
    out, lse = outputs[0], lses[0]
    for o, l in zip(outputs[1:], lses[1:]):
        out, lse = merge(out, lse, o, l)
    return out, lse
