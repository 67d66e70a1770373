"""tests/python/dense_reference.py -- layer: tests. An independent dense-mask oracle in NumPy / torch.

The neighborhood mask is written straight from spec/semantics.md s3-s5 (not from include/gna/na/ and not
from the C++ reference), then attention is computed densely in float64: scores over every (query, key)
pair, masked, softmax, plus the unmasked additional KV. Used to check the package's results and, through
torch autograd on the torch variant, its gradients.
"""

from __future__ import annotations

import itertools

import numpy as np


def axis_keys(i: int, L: int, K: int, S: int, D: int, causal: bool) -> list:
    """Global key indices that query i attends on one axis (spec s3 inside the dilation group of s4)."""
    g = i % D
    Lg = -(-(L - g) // D)  # ceil((L - g) / D)
    x = i // D
    left = K // 2
    right = K // 2 + (K % 2) - 1
    if causal:
        leader = min((x // S) * S + S - 1, Lg - 1)
        start, end = max(leader - K + 1, 0), x + 1
    else:
        leader = min((x // S) * S + S // 2, Lg - 1)
        centre = min(max(leader, left), Lg - 1 - right)
        start, end = centre - left, centre + right + 1
    return [g + D * t for t in range(start, end)]


def neighborhood_mask(extent, window, stride, dilation, causal) -> np.ndarray:
    """Boolean [N, N] mask over row-major flattened tokens: mask[q, k] iff k is in N(q) on every axis (s5)."""
    r = len(extent)
    per_axis = []
    for d in range(r):
        m = np.zeros((extent[d], extent[d]), dtype=bool)
        for i in range(extent[d]):
            m[i, axis_keys(i, extent[d], window[d], stride[d], dilation[d], causal[d])] = True
        per_axis.append(m)
    n = int(np.prod(extent))
    mask = np.ones((n, n), dtype=bool)
    coords = list(itertools.product(*[range(e) for e in extent]))
    for d in range(r):
        c = np.array([co[d] for co in coords])
        mask &= per_axis[d][c[:, None], c[None, :]]
    return mask


def _expand(t, heads, xp):
    """[B, N, Hkv, D] -> [B, N, H, D] by repeating each KV head H/Hkv times (GQA/MQA)."""
    hkv = t.shape[2]
    rep = heads // hkv
    return xp.repeat(t, rep, axis=2) if xp is np else t.repeat_interleave(rep, dim=2)


def attention_numpy(q, k, v, window, stride, dilation, causal, scale=None, extra_k=None, extra_v=None):
    """float64 dense-mask attention. q [B, X.., H, D] etc. Returns (out [B, X.., H, Dv], lse [B, X.., H])."""
    q, k, v = (np.asarray(t, dtype=np.float64) for t in (q, k, v))
    B, extent, H, Dqk = q.shape[0], q.shape[1:-2], q.shape[-2], q.shape[-1]
    Dv = v.shape[-1]
    n = int(np.prod(extent))
    scale = Dqk ** -0.5 if scale is None else scale
    qf = q.reshape(B, n, H, Dqk)
    kf = _expand(k.reshape(B, n, k.shape[-2], Dqk), H, np)
    vf = _expand(v.reshape(B, n, v.shape[-2], Dv), H, np)
    mask = neighborhood_mask(extent, window, stride, dilation, causal)
    s = np.einsum("bqhd,bkhd->bhqk", qf, kf) * scale
    s = np.where(mask[None, None], s, -np.inf)
    vals = vf
    if extra_k is not None:
        ek = _expand(np.asarray(extra_k, dtype=np.float64), H, np)
        ev = _expand(np.asarray(extra_v, dtype=np.float64), H, np)
        s = np.concatenate([s, np.einsum("bqhd,bkhd->bhqk", qf, ek) * scale], axis=-1)
        vals = np.concatenate([vf, ev], axis=1)
    m = s.max(-1, keepdims=True)
    e = np.exp(s - m)
    den = e.sum(-1, keepdims=True)
    p = e / den
    out = np.einsum("bhqk,bkhd->bqhd", p, vals)
    lse = (m + np.log(den))[..., 0]  # [B, H, n]
    return out.reshape(B, *extent, H, Dv), np.moveaxis(lse, 1, -1).reshape(B, *extent, H)


def attention_torch(q, k, v, window, stride, dilation, causal, scale=None, extra_k=None, extra_v=None):
    """The same oracle with torch ops (differentiable): returns (out, lse) in q's dtype / float64."""
    import torch

    B, extent, H, Dqk = q.shape[0], tuple(q.shape[1:-2]), q.shape[-2], q.shape[-1]
    Dv = v.shape[-1]
    n = int(np.prod(extent))
    scale = Dqk ** -0.5 if scale is None else scale
    qf = q.reshape(B, n, H, Dqk)
    kf = _expand(k.reshape(B, n, k.shape[-2], Dqk), H, torch)
    vf = _expand(v.reshape(B, n, v.shape[-2], Dv), H, torch)
    mask = torch.from_numpy(neighborhood_mask(extent, window, stride, dilation, causal))
    s = torch.einsum("bqhd,bkhd->bhqk", qf, kf) * scale
    s = s.masked_fill(~mask[None, None], float("-inf"))
    vals = vf
    if extra_k is not None:
        ek, ev = _expand(extra_k, H, torch), _expand(extra_v, H, torch)
        s = torch.cat([s, torch.einsum("bqhd,bkhd->bhqk", qf, ek) * scale], dim=-1)
        vals = torch.cat([vf, ev], dim=1)
    lse = torch.logsumexp(s, dim=-1)
    p = torch.softmax(s, dim=-1)
    out = torch.einsum("bhqk,bkhd->bqhd", p, vals)
    return out.reshape(B, *extent, H, Dv), lse.movedim(1, -1).reshape(B, *extent, H)
