"""tests/python/test_errors.py -- layer: tests. Bad inputs raise ValueError / TypeError with clear messages.

Python-level rules (rank, dtype, device, stride, argument forms) and the C++ API's rules (window vs extent,
heads, extra-KV shapes, ...) whose gna::Error text must arrive unchanged. Run for NumPy and, when installed,
torch inputs. Never a crash: every case returns control with an exception.
"""

from __future__ import annotations

import numpy as np
import pytest

import gna

try:
    import torch
    HAVE_TORCH = gna.HAS_TORCH
except ImportError:  # pragma: no cover
    torch = None
    HAVE_TORCH = False

FRONTS = ["numpy"] + (["torch"] if HAVE_TORCH else [])


def make(front, shape, dtype="float32"):
    a = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    return torch.from_numpy(a) if front == "torch" else a


@pytest.fixture(params=FRONTS)
def front(request):
    return request.param


def qkv(front, shape=(1, 6, 6, 4, 8), kv_heads=None, dim_v=None, dtype="float32"):
    ks = list(shape)
    if kv_heads is not None:
        ks[-2] = kv_heads
    vs = list(ks)
    if dim_v is not None:
        vs[-1] = dim_v
    return make(front, shape, dtype), make(front, tuple(ks), dtype), make(front, tuple(vs), dtype)


# (description, call(front) -> raises, exception, message regex)
CASES = [
    ("rank", lambda f: gna.na2d(*qkv(f, (1, 6, 4, 8)), 3), ValueError,
     r"query: na2d expects a 5-D tensor \[B, X0, X1, H, D\], got shape \[1, 6, 4, 8\]"),
    ("rank-generic", lambda f: gna.neighborhood_attention(*qkv(f, (6, 4, 8)), 3), ValueError,
     r"1 to 3 spatial axes"),
    ("key rank", lambda f: gna.na1d(make(f, (1, 6, 2, 4)), make(f, (1, 6, 4)), make(f, (1, 6, 2, 4)), 3),
     ValueError, r"key: na1d expects a 4-D tensor"),
    ("window > extent", lambda f: gna.na2d(*qkv(f), (7, 3)), ValueError,
     r"axis 0: window 7 \* dilation 1 = 7 exceeds extent 6"),
    ("window*dilation > extent", lambda f: gna.na2d(*qkv(f), 3, dilation=(1, 3)), ValueError,
     r"axis 1: window 3 \* dilation 3 = 9 exceeds extent 6"),
    ("window < 2", lambda f: gna.na2d(*qkv(f), 1), ValueError, r"axis 0: window 1 must be >= 2"),
    ("stride > window", lambda f: gna.na2d(*qkv(f), 3, stride=(1, 4)), ValueError,
     r"axis 1: stride 4 must be in \[1, window 3\]"),
    ("heads not divisible", lambda f: gna.na2d(*qkv(f, kv_heads=3), 3), ValueError,
     r"heads 4 must be divisible by kv_heads 3"),
    ("value heads", lambda f: gna.na2d(make(f, (1, 6, 6, 4, 8)), make(f, (1, 6, 6, 2, 8)),
                                       make(f, (1, 6, 6, 4, 8)), 3), ValueError, r"heads"),
    ("extent mismatch", lambda f: gna.na2d(make(f, (1, 6, 6, 4, 8)), make(f, (1, 6, 5, 4, 8)),
                                           make(f, (1, 6, 6, 4, 8)), 3), ValueError, r"axis 1"),
    ("extra kv shape", lambda f: gna.na2d(*qkv(f), 3, additional_keys=make(f, (1, 3, 4, 8)),
                                          additional_values=make(f, (1, 2, 4, 8))), ValueError, r"extra|additional"),
    ("extra kv rank", lambda f: gna.na2d(*qkv(f), 3, additional_keys=make(f, (3, 4, 8)),
                                         additional_values=make(f, (3, 4, 8))), ValueError,
     r"additional_keys: expected a 4-D tensor \[B, Nx, Hkv, D\]"),
    ("extra kv alone", lambda f: gna.na2d(*qkv(f), 3, additional_keys=make(f, (1, 3, 4, 8))), ValueError,
     r"additional_keys and additional_values must be given together"),
    ("int dtype", lambda f: gna.na2d(*qkv(f, dtype="int32"), 3), TypeError,
     r"query: dtype int32 is not supported"),
    ("dtype mismatch", lambda f: gna.na2d(make(f, (1, 6, 6, 4, 8)), make(f, (1, 6, 6, 4, 8), "float64"),
                                          make(f, (1, 6, 6, 4, 8)), 3), TypeError,
     r"dtype mismatch: query is float32 but key is float64"),
    ("non-unit last stride", lambda f: gna.na2d(make(f, (1, 6, 6, 4, 16))[..., ::2], *qkv(f)[1:], 3), ValueError,
     r"query: the last dimension must have unit stride, got stride 2"),
    ("kernel tuple length", lambda f: gna.na2d(*qkv(f), (3, 3, 3)), ValueError,
     r"kernel_size: expected an int or a tuple of 2 ints, got \(3, 3, 3\)"),
    ("kernel type", lambda f: gna.na2d(*qkv(f), 3.5), ValueError, r"kernel_size: expected an int"),
    ("causal type", lambda f: gna.na2d(*qkv(f), 3, is_causal=(True,)), ValueError,
     r"is_causal: expected a bool or a tuple of 2 bools"),
    ("scale", lambda f: gna.na2d(*qkv(f), 3, scale=-1.0), ValueError, r"scale: must be > 0, got -1.0"),
    ("tile shape", lambda f: gna.na2d(*qkv(f), 3, q_tile_shape=(0, 4)), ValueError,
     r"q_tile_shape: axis 0: value 0 must be >= 1"),
    ("backend", lambda f: gna.na2d(*qkv(f), 3, backend="nope"), ValueError, r"unknown backend 'nope'"),
    ("attention lengths", lambda f: gna.attention(make(f, (1, 6, 2, 4)), make(f, (1, 5, 2, 4)),
                                                  make(f, (1, 5, 2, 4))), ValueError,
     r"attention needs as many key tokens as query tokens"),
    ("attention rank", lambda f: gna.attention(*qkv(f)), ValueError, r"attention expects a 4-D tensor"),
    ("merge count", lambda f: gna.merge_attentions([make(f, (2, 3, 4))], [make(f, (2, 3))]), ValueError,
     r"needs at least 2 attentions"),
    ("merge lengths", lambda f: gna.merge_attentions([make(f, (2, 3, 4))] * 2, [make(f, (2, 3))]), ValueError,
     r"got 2 outputs but 1 lse tensors"),
    ("merge lse dtype", lambda f: gna.merge_attentions([make(f, (2, 3, 4))] * 2, [make(f, (2, 3), "float64")] * 2),
     TypeError, r"lses\[0\]: dtype must be float32"),
    ("merge shapes", lambda f: gna.merge_attentions([make(f, (2, 3, 4)), make(f, (2, 3, 5))],
                                                    [make(f, (2, 3))] * 2), ValueError, r"merge: .*dim 2 is 5"),
    ("not a tensor", lambda f: gna.na1d([[1.0]], [[1.0]], [[1.0]], 3), TypeError,
     r"query: expected a numpy.ndarray, a torch.Tensor or a DLPack tensor, got list"),
]


@pytest.mark.parametrize("desc,call,exc,msg", CASES, ids=[c[0] for c in CASES])
def test_bad_input(front, desc, call, exc, msg):
    with pytest.raises(exc, match=msg):
        call(front)


@pytest.mark.skipif(not HAVE_TORCH, reason="torch is not installed")
def test_torch_only_errors():
    q = torch.randn(1, 6, 2, 4)
    with pytest.raises(ValueError, match=r"device mismatch: query is on cpu but key is on meta"):
        gna.na1d(q, q.to("meta"), q, 3)
    with pytest.raises(TypeError, match=r"key: expected a torch.Tensor like query, got ndarray"):
        gna.na1d(q, q.numpy(), q, 3)
    with pytest.raises(TypeError, match=r"query: dtype complex64 is not supported"):
        gna.na1d(q.to(torch.complex64), q, q, 3)
    # The C++ API's own checks also hold when the op is called directly (no Python validation).
    with pytest.raises(ValueError, match=r"exceeds extent"):
        torch.ops.gna.na_forward(q, q, q, None, None, [7], [1], [1], [False], 0.5, [0], [0], "auto", False)
    with pytest.raises(ValueError, match=r"stride"):
        torch.ops.gna.na_forward(q[..., ::2], q[..., ::2], q[..., ::2], None, None, [3], [1], [1], [False], 0.5,
                                 [0], [0], "auto", False)
