"""gna.modules -- layer: bindings (torch nn.Modules). Needs torch.

NeighborhoodAttention1D/2D/3D: the NATTEN-style self-attention block over a heads-last token grid
x [B, X0.., C] -> [B, X0.., C]: a fused qkv projection, generalized neighborhood attention (gna::na_forward),
and an output projection with dropout. Traceable by torch.compile(fullgraph=True).
"""

from __future__ import annotations

import torch
from torch import nn

from . import _checks
from .functional import neighborhood_attention

__all__ = ["NeighborhoodAttention1D", "NeighborhoodAttention2D", "NeighborhoodAttention3D"]


class _NeighborhoodAttentionND(nn.Module):
    rank = 0

    def __init__(self, embed_dim: int, num_heads: int, kernel_size, stride=1, dilation=1, is_causal=False,
                 qkv_bias: bool = True, qk_scale=None, proj_drop: float = 0.0):
        super().__init__()
        if not isinstance(embed_dim, int) or embed_dim < 1:
            raise ValueError(f"embed_dim: expected a positive int, got {embed_dim!r}")
        if not isinstance(num_heads, int) or num_heads < 1:
            raise ValueError(f"num_heads: expected a positive int, got {num_heads!r}")
        if embed_dim % num_heads != 0:
            raise ValueError(f"embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
        r = self.rank
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.kernel_size = _checks.per_axis("kernel_size", kernel_size, r)
        self.stride = _checks.per_axis("stride", stride, r)
        self.dilation = _checks.per_axis("dilation", dilation, r)
        self.is_causal = _checks.per_axis_bool("is_causal", is_causal, r)
        self.scale = _checks.check_scale(qk_scale, self.head_dim)
        self.qkv = nn.Linear(embed_dim, 3 * embed_dim, bias=qkv_bias)
        self.proj = nn.Linear(embed_dim, embed_dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = self.rank
        if x.dim() != r + 2:
            raise ValueError(f"{type(self).__name__} expects input of {r + 2} dims [B, X0.., C], "
                             f"got shape {list(x.shape)}")
        if x.shape[-1] != self.embed_dim:
            raise ValueError(f"{type(self).__name__}: input has {x.shape[-1]} channels, expected embed_dim "
                             f"{self.embed_dim}")
        lead = x.shape[:-1]
        qkv = self.qkv(x).reshape(*lead, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.unbind(dim=-3)  # each [B, X0.., H, D], unit last stride
        out = neighborhood_attention(q, k, v, self.kernel_size, self.stride, self.dilation, self.is_causal,
                                     self.scale)
        return self.proj_drop(self.proj(out.reshape(*lead, self.embed_dim)))

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, dilation={self.dilation}, is_causal={self.is_causal}")


class NeighborhoodAttention1D(_NeighborhoodAttentionND):
    """Neighborhood attention over x [B, L, C]."""
    rank = 1


class NeighborhoodAttention2D(_NeighborhoodAttentionND):
    """Neighborhood attention over x [B, H, W, C]."""
    rank = 2


class NeighborhoodAttention3D(_NeighborhoodAttentionND):
    """Neighborhood attention over x [B, T, H, W, C]."""
    rank = 3
