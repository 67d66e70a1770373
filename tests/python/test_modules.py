"""tests/python/test_modules.py -- layer: tests. NeighborhoodAttention1D/2D/3D modules.

Each module's output equals the same projections around the dense-mask oracle, gradients reach every
parameter, and constructor/input errors are clear.
"""

from __future__ import annotations

import pytest

from conftest import torch_or_skip

torch = torch_or_skip()
import gna  # noqa: E402
from dense_reference import attention_torch  # noqa: E402


@pytest.mark.parametrize("cls,shape,kw", [
    ("NeighborhoodAttention1D", (2, 11), dict(kernel_size=3, stride=2, dilation=3)),
    ("NeighborhoodAttention2D", (1, 6, 7), dict(kernel_size=(3, 4), stride=(1, 2), dilation=(2, 1),
                                                is_causal=(False, True))),
    ("NeighborhoodAttention3D", (1, 3, 4, 5), dict(kernel_size=(2, 3, 3), stride=(1, 3, 1), is_causal=True)),
])
def test_module_matches_oracle(cls, shape, kw):
    torch.manual_seed(0)
    m = getattr(gna, cls)(embed_dim=12, num_heads=3, qk_scale=0.4, **kw).double()
    x = torch.randn(*shape, 12, dtype=torch.float64, requires_grad=True)
    y = m(x)
    assert y.shape == x.shape
    r = len(shape) - 1
    qkv = m.qkv(x).reshape(*shape, 3, 3, 4)
    q, k, v = qkv.unbind(-3)
    o, _ = attention_torch(q, k, v, m.kernel_size, m.stride, m.dilation, m.is_causal, scale=0.4)
    ref = m.proj(o.reshape(*shape, 12))
    torch.testing.assert_close(y, ref, rtol=1e-10, atol=1e-10)
    y.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in m.parameters())
    assert x.grad is not None and r == m.rank


def test_module_options():
    m = gna.NeighborhoodAttention2D(8, 2, 3, qkv_bias=False, proj_drop=0.5)
    assert m.qkv.bias is None and m.proj_drop.p == 0.5
    assert m.kernel_size == (3, 3) and m.stride == (1, 1) and m.is_causal == (False, False)
    assert m.scale == pytest.approx(4 ** -0.5)
    assert "kernel_size=(3, 3)" in repr(m)


def test_module_errors():
    with pytest.raises(ValueError, match="embed_dim 10 is not divisible by num_heads 3"):
        gna.NeighborhoodAttention1D(10, 3, 3)
    with pytest.raises(ValueError, match="kernel_size: expected an int or a tuple of 2 ints"):
        gna.NeighborhoodAttention2D(8, 2, (3, 3, 3))
    m = gna.NeighborhoodAttention2D(8, 2, 3)
    with pytest.raises(ValueError, match=r"expects input of 4 dims \[B, X0.., C\]"):
        m(torch.randn(1, 5, 8))
    with pytest.raises(ValueError, match="input has 6 channels, expected embed_dim 8"):
        m(torch.randn(1, 5, 5, 6))
    with pytest.raises(ValueError, match="exceeds extent"):
        m(torch.randn(1, 2, 5, 8))
