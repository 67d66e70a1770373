"""tests/python/test_torch_ops.py -- layer: tests. The torch custom ops: results, autograd, opcheck.

Forward results and gradients are compared with the dense-mask oracle (dense_reference.py) differentiated
by torch autograd; torch.autograd.gradcheck runs in float64 on small cases (including the LSE's gradient
and merge); torch.library.opcheck runs on every op (schema, fake tensor, autograd registration, AOT
dispatch with dynamic shapes).
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import CASES, GRAD_CASES, Case, case_id, torch_or_skip

torch = torch_or_skip()
import gna  # noqa: E402
from dense_reference import attention_torch  # noqa: E402


def tensors(case: Case, dtype=torch.float64, seed=0, requires_grad=False, device="cpu"):
    arrs = case.arrays(np.float64, seed=seed)
    out = []
    for a in arrs:
        if a is None:
            out.append(None)
        else:
            t = torch.from_numpy(a).to(dtype=dtype, device=device)
            out.append(t.requires_grad_(requires_grad))
    return out


def op_args(case: Case, q, k, v, ek, ev, lse_grad=False, backend="auto"):
    scale = case.scale if case.scale is not None else case.dim_qk ** -0.5
    return (q, k, v, ek, ev, list(case.window), list(case.stride), list(case.dilation), list(case.causal),
            float(scale), [0] * case.rank, [0] * case.rank, backend, lse_grad)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_forward_and_backward_match_oracle(case: Case):
    q, k, v, ek, ev = tensors(case, seed=11, requires_grad=True)
    out, lse = gna.neighborhood_attention(q, k, v, additional_keys=ek, additional_values=ev, return_lse=True,
                                          **case.kwargs())
    rq, rk, rv, rek, rev = (None if t is None else t.detach().clone().requires_grad_(True)
                            for t in (q, k, v, ek, ev))
    ro, rl = attention_torch(rq, rk, rv, *case.ref_args(), scale=case.scale, extra_k=rek, extra_v=rev)
    torch.testing.assert_close(out, ro, rtol=1e-10, atol=1e-10, msg=f"seed 11 {case.name}")
    torch.testing.assert_close(lse, rl.float(), rtol=1e-5, atol=1e-5)
    g = torch.randn(out.shape, dtype=out.dtype, generator=torch.Generator().manual_seed(11))
    gl = torch.randn(lse.shape, generator=torch.Generator().manual_seed(12))
    # Both outputs carry a gradient: exercises the LSE term of the backward too.
    ((out * g).sum() + (lse * gl).sum()).backward()
    ((ro * g).sum() + (rl * gl.double()).sum()).backward()
    for name, a, b in (("q", q, rq), ("k", k, rk), ("v", v, rv), ("extra_k", ek, rek), ("extra_v", ev, rev)):
        if a is not None:
            torch.testing.assert_close(a.grad, b.grad, rtol=1e-5, atol=1e-5, msg=f"grad {name}, seed 11")


def test_lse_gradient_is_skipped_when_lse_is_not_returned():
    case = CASES[2]
    q, k, v, _, _ = tensors(case, seed=13, requires_grad=True)
    out = gna.na1d(q, k, v, **case.kwargs())
    out.sum().backward()
    rq, rk, rv = (t.detach().clone().requires_grad_(True) for t in (q, k, v))
    attention_torch(rq, rk, rv, *case.ref_args())[0].sum().backward()
    for a, b in ((q, rq), (k, rk), (v, rv)):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_low_precision_forward_backward(dtype):
    case = CASES[6]
    q, k, v, _, _ = tensors(case, dtype=dtype, seed=14, requires_grad=True)
    out = gna.na2d(q, k, v, **case.kwargs())
    assert out.dtype == dtype
    rq, rk, rv = (t.detach().double().requires_grad_(True) for t in (q, k, v))
    ro, _ = attention_torch(rq, rk, rv, *case.ref_args())
    tol = {torch.float32: 1e-5, torch.float16: 2e-3, torch.bfloat16: 2e-2}[dtype]
    torch.testing.assert_close(out.double(), ro, rtol=tol, atol=tol)
    out.float().sum().backward()
    ro.sum().backward()
    for a, b in ((q, rq), (k, rk), (v, rv)):
        assert a.grad.dtype == dtype
        torch.testing.assert_close(a.grad.double(), b.grad, rtol=8 * tol, atol=8 * tol)


@pytest.mark.parametrize("case", GRAD_CASES, ids=case_id)
def test_gradcheck_float64(case: Case):
    # The backward recomputes P from the float32 LSE (spec s1), so float64 gradients carry ~1e-7 relative
    # error: tolerances sit just above that. The LSE output itself is float32, so its Jacobian is checked
    # with a larger finite-difference step.
    q, k, v, ek, ev = tensors(case, seed=15, requires_grad=True)

    def fn(which, q, k, v, *extra):
        ek, ev = extra if extra else (None, None)
        out, lse = gna.neighborhood_attention(q, k, v, additional_keys=ek, additional_values=ev, return_lse=True,
                                              **case.kwargs())
        return out if which == "out" else lse.double()

    inputs = (q, k, v) + ((ek, ev) if ek is not None else ())
    assert torch.autograd.gradcheck(lambda *a: fn("out", *a), inputs, eps=1e-6, atol=1e-6, rtol=1e-4)
    assert torch.autograd.gradcheck(lambda *a: fn("lse", *a), inputs, eps=1e-3, atol=2e-3, rtol=2e-3)


def test_gradcheck_merge_and_dense_attention():
    g = torch.Generator().manual_seed(16)
    o0, o1 = (torch.randn(1, 5, 2, 3, dtype=torch.float64, generator=g, requires_grad=True) for _ in range(2))
    l0, l1 = (torch.randn(1, 5, 2, generator=g).float().requires_grad_(True) for _ in range(2))
    # lse is float32: check the outputs' gradient in float64, the lse path with float32 tolerances.
    assert torch.autograd.gradcheck(lambda a, b: gna.merge_attentions([a, b], [l0, l1])[0], (o0, o1))
    l0d, l1d = l0.detach().double().requires_grad_(True), l1.detach().double().requires_grad_(True)

    def via_float32_lse(a, b):
        out, lse = gna.merge_attentions([o0.detach(), o1.detach()], [a.float(), b.float()])
        return out, lse.double()

    assert torch.autograd.gradcheck(via_float32_lse, (l0d, l1d), eps=1e-3, atol=2e-3, rtol=2e-3)
    q, k, v = (torch.randn(1, 5, 2, 3, dtype=torch.float64, generator=g, requires_grad=True) for _ in range(3))
    assert torch.autograd.gradcheck(lambda q, k, v: gna.attention(q, k, v, is_causal=True), (q, k, v))


def test_merge_matches_formula_and_three_way():
    g = torch.Generator().manual_seed(17)
    outs = [torch.randn(2, 4, 3, 5, dtype=torch.float64, generator=g) for _ in range(3)]
    lses = [torch.randn(2, 4, 3, generator=g) for _ in range(3)]
    out, lse = gna.merge_attentions(outs, lses)
    st = torch.stack([x.double() for x in lses])
    ref_lse = torch.logsumexp(st, 0)
    w = torch.exp(st - ref_lse).unsqueeze(-1)
    ref = (w * torch.stack(outs)).sum(0)
    torch.testing.assert_close(out, ref, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(lse, ref_lse.float(), rtol=1e-6, atol=1e-6)


def test_opcheck_every_op():
    from torch.library import opcheck
    case = GRAD_CASES[2]  # 2-D, extra KV, causal axis
    q, k, v, ek, ev = tensors(case, seed=18, requires_grad=True)
    for lse_grad in (False, True):
        opcheck(torch.ops.gna.na_forward.default, op_args(case, q, k, v, ek, ev, lse_grad))
    q2, k2, v2, _, _ = tensors(CASES[4], seed=19, requires_grad=True)
    opcheck(torch.ops.gna.na_forward.default, op_args(CASES[4], q2, k2, v2, None, None))

    with torch.no_grad():
        out, lse = torch.ops.gna.na_forward(*op_args(case, q, k, v, ek, ev))
    a = op_args(case, q.detach(), k.detach(), v.detach(), ek.detach(), ev.detach())[:-1]
    opcheck(torch.ops.gna.na_backward.default, (torch.randn_like(out), *a[:3], out, lse, *a[3:]))
    a2 = op_args(CASES[4], q2.detach(), k2.detach(), v2.detach(), None, None)[:-1]
    with torch.no_grad():
        out2, lse2 = torch.ops.gna.na_forward(*op_args(CASES[4], q2, k2, v2, None, None))
    opcheck(torch.ops.gna.na_backward.default, (torch.randn_like(out2), *a2[:3], out2, lse2, *a2[3:]))

    g = torch.Generator().manual_seed(20)
    o0, o1 = (torch.randn(2, 3, 2, 4, dtype=torch.float64, generator=g, requires_grad=True) for _ in range(2))
    l0, l1 = (torch.randn(2, 3, 2, generator=g).requires_grad_(True) for _ in range(2))
    opcheck(torch.ops.gna.merge.default, (o0, l0, o1, l1))


def test_backward_op_without_extra_returns_empty_placeholders():
    case = CASES[0]
    q, k, v, _, _ = tensors(case, seed=21)
    out, lse = torch.ops.gna.na_forward(*op_args(case, q, k, v, None, None))
    dq, dk, dv, dek, dev = torch.ops.gna.na_backward(torch.ones_like(out), q, k, v, out, lse,
                                                     *op_args(case, q, k, v, None, None)[3:-1])
    assert dek.shape == (0,) and dev.shape == (0,)
    assert dq.shape == q.shape and dk.shape == k.shape and dv.shape == v.shape


def test_non_contiguous_views_and_expanded_grad():
    # unbind of a packed qkv gives non-contiguous views with unit last stride: used in place.
    case = CASES[6]
    g = torch.Generator().manual_seed(22)
    qkv = torch.randn(2, 6, 7, 3, 2, 8, dtype=torch.float64, generator=g, requires_grad=True)
    q, k, v = qkv.unbind(-3)
    assert not q.is_contiguous()
    out = gna.na2d(q, k, v, **case.kwargs())
    out.sum().backward()  # the incoming gradient is an expanded (stride-0) tensor
    ref_qkv = qkv.detach().clone().requires_grad_(True)
    rq, rk, rv = ref_qkv.unbind(-3)
    ro, _ = attention_torch(rq, rk, rv, *case.ref_args())
    ro.sum().backward()
    torch.testing.assert_close(out, ro, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(qkv.grad, ref_qkv.grad, rtol=1e-6, atol=1e-6)


def test_empty_batch():
    q = torch.randn(0, 6, 2, 4)
    out = gna.na1d(q, q, q, 3)
    assert out.shape == (0, 6, 2, 4)


def test_numpy_in_torch_session_returns_numpy():
    q = np.random.default_rng(23).standard_normal((1, 6, 2, 4))
    out = gna.na1d(q, q, q, 3)
    assert isinstance(out, np.ndarray)
    t = torch.from_numpy(q)
    torch.testing.assert_close(torch.from_numpy(out), gna.na1d(t, t, t, 3))
