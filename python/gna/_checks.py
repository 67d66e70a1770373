"""gna._checks -- layer: bindings (Python-side argument normalisation and validation).

Owns: turning per-axis arguments (an int or a tuple) into tuples of length ``rank``, and the checks the
C++ API cannot make because they concern Python objects: tensor kinds, ranks (before shapes are read),
dtypes (TypeError), device mismatch, unit last stride. Every other rule (window vs extent, heads, extra-KV
shapes, ...) is checked once, in C++, and its message is passed through unchanged.

Framework-neutral: works on ``Meta`` (shape, element strides, dtype name, device string) so the NumPy and
torch front ends give the same messages.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple, Optional, Sequence, Tuple

SUPPORTED_DTYPES = ("float64", "float32", "float16", "bfloat16")
DTYPE_CODES = {"float64": 0, "float32": 1, "float16": 2, "bfloat16": 3}

LAYOUTS = {1: "[B, X0, H, D]", 2: "[B, X0, X1, H, D]", 3: "[B, X0, X1, X2, H, D]"}


class Meta(NamedTuple):
    shape: Tuple[int, ...]
    stride: Tuple[int, ...]  # elements
    dtype: str               # "float32", ...
    device: str              # "cpu", "cuda:0", ...


def per_axis(name: str, value, rank: int, *, minimum: Optional[int] = None) -> Tuple[int, ...]:
    """An int or a sequence of ``rank`` ints -> tuple of ``rank`` ints."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, tuple, list)):
        raise ValueError(f"{name}: expected an int or a tuple of {rank} ints, got {value!r}")
    if isinstance(value, numbers.Integral):
        out = (int(value),) * rank
    else:
        if len(value) != rank or any(isinstance(x, bool) or not isinstance(x, numbers.Integral) for x in value):
            raise ValueError(f"{name}: expected an int or a tuple of {rank} ints, got {tuple(value)!r}")
        out = tuple(int(x) for x in value)
    if minimum is not None:
        for d, x in enumerate(out):
            if x < minimum:
                raise ValueError(f"{name}: axis {d}: value {x} must be >= {minimum}")
    return out


def per_axis_bool(name: str, value, rank: int) -> Tuple[bool, ...]:
    """A bool or a sequence of ``rank`` bools -> tuple of ``rank`` bools."""
    if isinstance(value, bool):
        return (value,) * rank
    if isinstance(value, (tuple, list)) and len(value) == rank and all(isinstance(x, bool) for x in value):
        return tuple(value)
    raise ValueError(f"{name}: expected a bool or a tuple of {rank} bools, got {value!r}")


def tile_shape(name: str, value, rank: int) -> Tuple[int, ...]:
    if value is None:
        return (0,) * rank
    return per_axis(name, value, rank, minimum=1)


def check_scale(scale, dim_qk: int) -> float:
    if scale is None:
        return float(dim_qk) ** -0.5 if dim_qk > 0 else 1.0
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
        raise ValueError(f"scale: expected a positive float or None, got {scale!r}")
    if not float(scale) > 0.0:
        raise ValueError(f"scale: must be > 0, got {scale}")
    return float(scale)


def check_backend(backend) -> str:
    if backend is None:
        return "auto"
    if not isinstance(backend, str):
        raise ValueError(f"backend: expected a backend name (str) or None, got {backend!r}")
    return backend


def check_dtype(name: str, m: Meta) -> None:
    if m.dtype not in SUPPORTED_DTYPES:
        raise TypeError(f"{name}: dtype {m.dtype} is not supported; use one of float16, bfloat16, float32, float64")


def check_same_dtype(named: Sequence[Tuple[str, Meta]]) -> None:
    first_name, first = named[0]
    check_dtype(first_name, first)
    for name, m in named[1:]:
        check_dtype(name, m)
        if m.dtype != first.dtype:
            raise TypeError(f"dtype mismatch: {first_name} is {first.dtype} but {name} is {m.dtype}; "
                            "all inputs must have the same dtype")


def check_same_device(named: Sequence[Tuple[str, Meta]]) -> None:
    first_name, first = named[0]
    for name, m in named[1:]:
        if m.device != first.device:
            raise ValueError(f"device mismatch: {first_name} is on {first.device} but {name} is on {m.device}; "
                             "all inputs must be on the same device")


def check_unit_last_stride(name: str, m: Meta) -> None:
    if len(m.shape) > 0 and m.shape[-1] > 1 and m.stride[-1] != 1:
        raise ValueError(f"{name}: the last dimension must have unit stride, got stride {m.stride[-1]} "
                         f"(shape {list(m.shape)}); call .contiguous() (torch) or numpy.ascontiguousarray first")


def check_attention_inputs(fn: str, rank: int, q: Meta, k: Meta, v: Meta, ek: Optional[Meta],
                           ev: Optional[Meta]) -> None:
    """Checks ranks, extra-KV pairing, dtypes, devices and strides of an attention call."""
    want = rank + 3
    for name, m in (("query", q), ("key", k), ("value", v)):
        if len(m.shape) != want:
            raise ValueError(f"{name}: {fn} expects a {want}-D tensor {LAYOUTS[rank]}, got shape {list(m.shape)}")
    if (ek is None) != (ev is None):
        raise ValueError("additional_keys and additional_values must be given together (both or neither)")
    named = [("query", q), ("key", k), ("value", v)]
    if ek is not None:
        for name, m in (("additional_keys", ek), ("additional_values", ev)):
            if len(m.shape) != 4:
                raise ValueError(f"{name}: expected a 4-D tensor [B, Nx, Hkv, D], got shape {list(m.shape)}")
        named += [("additional_keys", ek), ("additional_values", ev)]
    check_same_dtype(named)
    check_same_device(named)
    for name, m in named:
        check_unit_last_stride(name, m)


def rank_of(fn: str, q: Meta) -> int:
    r = len(q.shape) - 3
    if r not in (1, 2, 3):
        raise ValueError(f"query: {fn} expects a 4-D, 5-D or 6-D tensor [B, X0.., H, D] (1 to 3 spatial axes), "
                         f"got shape {list(q.shape)}")
    return r
