"""tests/python/conftest.py -- layer: tests. Shared case list, seeds and tolerances for the Python tests.

Every case is small enough for the float64 dense-mask oracle (dense_reference.py) and covers the spec's
features: stride, dilation, causal, even/odd windows, per-axis mixes, GQA, Dv != Dqk, additional KV.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


@dataclass(frozen=True)
class Case:
    name: str
    extent: Tuple[int, ...]
    window: Tuple[int, ...]
    stride: Tuple[int, ...] = ()
    dilation: Tuple[int, ...] = ()
    causal: Tuple[bool, ...] = ()
    batch: int = 2
    heads: int = 2
    kv_heads: int = 2
    dim_qk: int = 8
    dim_v: int = 8
    extra_kv: int = 0
    scale: Optional[float] = None

    def __post_init__(self):
        r = len(self.extent)
        if not self.stride:
            object.__setattr__(self, "stride", (1,) * r)
        if not self.dilation:
            object.__setattr__(self, "dilation", (1,) * r)
        if not self.causal:
            object.__setattr__(self, "causal", (False,) * r)

    @property
    def rank(self) -> int:
        return len(self.extent)

    def arrays(self, dtype=np.float64, seed=0):
        rng = np.random.default_rng(seed)
        B, X, H, Hk = self.batch, self.extent, self.heads, self.kv_heads
        q = rng.standard_normal((B, *X, H, self.dim_qk)).astype(dtype)
        k = rng.standard_normal((B, *X, Hk, self.dim_qk)).astype(dtype)
        v = rng.standard_normal((B, *X, Hk, self.dim_v)).astype(dtype)
        ek = ev = None
        if self.extra_kv:
            ek = rng.standard_normal((B, self.extra_kv, Hk, self.dim_qk)).astype(dtype)
            ev = rng.standard_normal((B, self.extra_kv, Hk, self.dim_v)).astype(dtype)
        return q, k, v, ek, ev

    def kwargs(self):
        return dict(kernel_size=self.window, stride=self.stride, dilation=self.dilation, is_causal=self.causal,
                    scale=self.scale)

    def ref_args(self):
        return (self.window, self.stride, self.dilation, self.causal)


CASES = [
    Case("1d-sliding", (10,), (4,)),
    Case("1d-stride3", (10,), (4,), (3,)),
    Case("1d-odd-stride2", (10,), (5,), (2,), batch=1),
    Case("1d-causal-stride3", (10,), (4,), (3,), causal=(True,)),
    Case("1d-dilated", (11,), (3,), (2,), (3,), heads=1, kv_heads=1),
    Case("1d-dense", (7,), (7,), scale=0.3),
    Case("2d-mixed", (6, 7), (3, 4), (1, 2), (2, 1), (False, True)),
    Case("2d-gqa-dv-extra", (5, 6), (2, 3), (2, 1), heads=4, kv_heads=2, dim_qk=8, dim_v=4, extra_kv=3),
    Case("3d-mixed", (4, 5, 6), (2, 3, 3), (1, 2, 3), (1, 1, 2), (True, False, False), batch=1, heads=2,
         kv_heads=1, dim_qk=4, dim_v=6),
    Case("3d-extra-causal", (3, 4, 4), (3, 2, 4), (3, 1, 2), causal=(True, True, False), batch=1, extra_kv=2,
         dim_qk=4, dim_v=4),
]

# Small cases for gradcheck (finite differences are O(numel^2)).
GRAD_CASES = [
    Case("g-1d-stride", (7,), (3,), (2,), batch=1, heads=2, kv_heads=1, dim_qk=3, dim_v=2),
    Case("g-1d-causal-dil", (8,), (3,), (1,), (2,), (True,), batch=1, heads=1, kv_heads=1, dim_qk=2, dim_v=3),
    Case("g-2d-extra", (3, 4), (2, 3), (1, 2), causal=(False, True), batch=1, heads=2, kv_heads=2, dim_qk=2,
         dim_v=2, extra_kv=2),
    Case("g-3d", (2, 3, 3), (2, 2, 3), (1, 2, 1), causal=(True, False, False), batch=1, heads=1, kv_heads=1,
         dim_qk=2, dim_v=2),
]


def case_id(c: Case) -> str:
    return c.name


def torch_or_skip():
    try:
        import torch  # noqa: F401
    except ImportError:
        pytest.skip("torch is not installed (the NumPy tests still run)")
    import gna
    if not gna.HAS_TORCH:
        pytest.skip("gna's torch integration is off (GNA_NO_TORCH)")
    return torch
