"""tests/python/test_numpy.py -- layer: tests. The NumPy / DLPack front end (no torch needed).

Checks results against the float64 dense-mask oracle, the oracle itself against the spec's worked examples,
strided inputs, dense attention, merge, the low-level backward, and that `import gna` works with torch
blocked (in a subprocess).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import gna
from conftest import CASES, Case, case_id
from dense_reference import attention_numpy, axis_keys


def test_oracle_matches_spec_table():
    # spec s3 worked examples, L = 10: (K, S, causal) -> windows as (start, end) per query.
    table = {
        (4, 1, False): [(0, 4), (0, 4), (0, 4), (1, 5), (2, 6), (3, 7), (4, 8), (5, 9), (6, 10), (6, 10)],
        (4, 3, False): [(0, 4)] * 3 + [(2, 6)] * 3 + [(5, 9)] * 3 + [(6, 10)],
        (5, 2, False): [(0, 5)] * 2 + [(1, 6)] * 2 + [(3, 8)] * 2 + [(5, 10)] * 4,
        (4, 3, True): [(0, 1), (0, 2), (0, 3), (2, 4), (2, 5), (2, 6), (5, 7), (5, 8), (5, 9), (6, 10)],
    }
    for (K, S, causal), windows in table.items():
        for i, (s, e) in enumerate(windows):
            assert axis_keys(i, 10, K, S, 1, causal) == list(range(s, e)), (K, S, causal, i)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_forward_matches_dense_oracle(case: Case):
    q, k, v, ek, ev = case.arrays(np.float64, seed=1)
    out, lse = gna.neighborhood_attention(q, k, v, additional_keys=ek, additional_values=ev, return_lse=True,
                                          **case.kwargs())
    ro, rl = attention_numpy(q, k, v, *case.ref_args(), scale=case.scale, extra_k=ek, extra_v=ev)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64 and out.shape == ro.shape
    assert lse.dtype == np.float32 and lse.shape == rl.shape
    np.testing.assert_allclose(out, ro, rtol=1e-10, atol=1e-10, err_msg=f"seed 1, case {case.name}")
    np.testing.assert_allclose(lse, rl, rtol=1e-5, atol=1e-5, err_msg=f"seed 1, case {case.name}")


@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-5), (np.float16, 2e-3)])
def test_low_precision(dtype, tol):
    case = CASES[6]
    q, k, v, ek, ev = case.arrays(dtype, seed=2)
    out = gna.na2d(q, k, v, **case.kwargs())
    assert out.dtype == dtype
    # Oracle on the same (rounded) inputs; the only extra error is the output's rounding.
    ro, _ = attention_numpy(q, k, v, *case.ref_args())
    np.testing.assert_allclose(out.astype(np.float64), ro, rtol=tol, atol=tol, err_msg="seed 2")


def test_fixed_rank_entry_points():
    for fn, case in ((gna.na1d, CASES[1]), (gna.na2d, CASES[6]), (gna.na3d, CASES[8])):
        q, k, v, _, _ = case.arrays(seed=3)
        out = fn(q, k, v, **case.kwargs())
        ro, _ = attention_numpy(q, k, v, *case.ref_args())
        np.testing.assert_allclose(out, ro, rtol=1e-10, atol=1e-10)


def test_scalar_arguments_apply_to_every_axis():
    q, k, v, _, _ = Case("x", (6, 6), (3, 3)).arrays(seed=4)
    a = gna.na2d(q, k, v, kernel_size=3, stride=2, dilation=1, is_causal=False)
    b = gna.na2d(q, k, v, kernel_size=(3, 3), stride=(2, 2), dilation=(1, 1), is_causal=(False, False))
    np.testing.assert_array_equal(a, b)


def test_strided_inputs_are_used_in_place():
    # Views with non-contiguous outer strides (unit last stride) are accepted without copies.
    case = CASES[6]
    q, k, v, _, _ = case.arrays(seed=5)
    big = np.random.default_rng(5).standard_normal((2, 6, 7, 3, 2, 8))
    q2, k2, v2 = big[:, :, :, 0], big[:, :, :, 1], big[:, :, :, 2]
    assert not q2.flags.c_contiguous
    out = gna.na2d(q2, k2, v2, **case.kwargs())
    ro, _ = attention_numpy(q2, k2, v2, *case.ref_args())
    np.testing.assert_allclose(out, ro, rtol=1e-10, atol=1e-10)


def test_dense_attention():
    rng = np.random.default_rng(6)
    q, k, v = (rng.standard_normal((2, 9, 2, 4)) for _ in range(3))
    for causal in (False, True):
        out, lse = gna.attention(q, k, v, is_causal=causal, return_lse=True)
        s = np.einsum("bqhd,bkhd->bhqk", q, k) / 2.0
        if causal:
            s = np.where(np.tril(np.ones((9, 9), dtype=bool)), s, -np.inf)
        p = np.exp(s - s.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        np.testing.assert_allclose(out, np.einsum("bhqk,bkhd->bqhd", p, v), rtol=1e-10, atol=1e-10)
        assert lse.shape == (2, 9, 2)


def test_merge_attentions_equals_attention_over_union():
    # Attention over neighbors + extra KV == merge(neighborhood part, extra-only part), spec s7.
    case = CASES[7]
    q, k, v, ek, ev = case.arrays(seed=7)
    o_all, l_all = gna.na2d(q, k, v, additional_keys=ek, additional_values=ev, return_lse=True, **case.kwargs())
    o_na, l_na = gna.na2d(q, k, v, return_lse=True, **case.kwargs())
    # The extra-only attention, densely (every query attends all extra tokens).
    H, Hk = case.heads, case.kv_heads
    ekx, evx = np.repeat(ek, H // Hk, axis=2), np.repeat(ev, H // Hk, axis=2)
    s = np.einsum("bxyhd,bnhd->bxyhn", q, ekx) * case.dim_qk ** -0.5
    m = s.max(-1, keepdims=True)
    p = np.exp(s - m)
    o_x = np.einsum("bxyhn,bnhd->bxyhd", p / p.sum(-1, keepdims=True), evx)
    l_x = (m[..., 0] + np.log(p.sum(-1))).astype(np.float32)
    o_m, l_m = gna.merge_attentions([o_na, o_x], [l_na, l_x])
    np.testing.assert_allclose(o_m, o_all, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(l_m, l_all, rtol=1e-5, atol=1e-5)


def test_low_level_backward_matches_finite_differences():
    from gna import _numpy_impl
    case = Case("b", (6,), (3,), (2,), batch=1, heads=1, kv_heads=1, dim_qk=2, dim_v=2)
    q, k, v, _, _ = case.arrays(seed=8)
    params = ((3,), (2,), (1,), (False,), 2 ** -0.5, (0,), (0,), "auto")
    out, lse = _numpy_impl.forward(q, k, v, None, None, *params[:5], *params[5:], True)
    dout = np.random.default_rng(8).standard_normal(out.shape)
    dq, dk, dv, dek, dev = _numpy_impl.backward(dout, q, k, v, out, lse, None, None, *params)
    assert dek is None and dev is None
    eps = 1e-6
    for x, g in ((q, dq), (k, dk), (v, dv)):
        for idx in np.ndindex(x.shape):
            old = x[idx]
            x[idx] = old + eps
            fp = (_numpy_impl.forward(q, k, v, None, None, *params[:5], *params[5:], False) * dout).sum()
            x[idx] = old - eps
            fm = (_numpy_impl.forward(q, k, v, None, None, *params[:5], *params[5:], False) * dout).sum()
            x[idx] = old
            assert abs((fp - fm) / (2 * eps) - g[idx]) < 1e-6


def test_list_backends_and_build_info():
    names = [b.name for b in gna.list_backends()]
    assert "reference" in names
    ref = [b for b in gna.list_backends() if b.name == "reference"][0]
    assert ref.available and ref.has_backward
    assert "cuda=" in gna.build_info()
    assert gna.__version__


def test_reference_backend_by_name():
    q, k, v, _, _ = CASES[0].arrays(seed=9)
    a = gna.na1d(q, k, v, 4, backend="reference")
    b = gna.na1d(q, k, v, 4)  # auto on host arrays: the fast "cpu" backend (fp64 accumulates in double)
    c = gna.na1d(q, k, v, 4, backend="cpu")
    np.testing.assert_array_equal(b, c)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="unknown backend 'nope'"):
        gna.na1d(q, k, v, 4, backend="nope")


def test_dlpack_cpu_object():
    class Wrapper:  # any object speaking DLPack (CPU)
        def __init__(self, a):
            self.a = a

        def __dlpack__(self, **kw):
            return self.a.__dlpack__(**kw)

        def __dlpack_device__(self):
            return self.a.__dlpack_device__()

    q, k, v, _, _ = CASES[0].arrays(seed=10)
    out = gna.na1d(Wrapper(q), Wrapper(k), Wrapper(v), 4)
    np.testing.assert_array_equal(out, gna.na1d(q, k, v, 4))


def test_import_without_torch():
    # A meta-path hook makes `import torch` fail; gna must import and run the NumPy path.
    code = textwrap.dedent("""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == "torch" or name.startswith("torch."):
                    raise ImportError("torch blocked for this test")
        sys.meta_path.insert(0, Block())
        import numpy as np
        import gna
        assert not gna.HAS_TORCH and "torch" not in sys.modules
        q = np.random.default_rng(0).standard_normal((1, 8, 2, 4))
        out, lse = gna.na1d(q, q, q, 3, return_lse=True)
        assert out.shape == (1, 8, 2, 4) and lse.dtype == np.float32
        try:
            gna.NeighborhoodAttention1D
        except ImportError as e:
            assert "needs torch" in str(e)
        else:
            raise AssertionError("modules must need torch")
        try:
            gna.na1d(q, q, q, 9)
        except ValueError as e:
            assert "exceeds extent" in str(e)
        print("ok")
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=os.path.dirname(__file__))
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr
