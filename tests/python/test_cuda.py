"""tests/python/test_cuda.py -- layer: tests. CUDA tensors through the torch ops (GPU machine only).

Skipped with a reason when torch.cuda is unavailable or no CUDA backend is built. Checks: results equal
the CPU reference backend, work runs on torch's current stream (a side stream gives the same result),
capture in a CUDA graph replays correctly, merge on device, and the backward's behaviour (gradients equal
the CPU ones when a CUDA backward exists, else a clear NotImplementedError).
"""

from __future__ import annotations

import pytest

from conftest import CASES, Case, case_id, torch_or_skip

torch = torch_or_skip()
import gna  # noqa: E402

pytestmark = pytest.mark.cuda

if not torch.cuda.is_available():
    pytest.skip("torch.cuda is not available on this machine (CUDA tests run on the GPU machine)",
                allow_module_level=True)
CUDA_FWD = [b for b in gna.list_backends() if b.name in ("sm80", "sm90") and b.available]
if not CUDA_FWD:
    pytest.skip("no CUDA backend is built/available in this gna build (" + gna.build_info() + ")",
                allow_module_level=True)

TOL = {torch.float16: 2e-3, torch.bfloat16: 1.6e-2}

# Head dim 128 (the instance CI builds with GNA_CUDA_ALL_INSTANCES=OFF) plus the generic CPU case list; a
# case that no built CUDA backend supports is skipped with the C++ API's reason.
CUDA_CASES = [
    Case("cuda-1d-causal-hd128", (300,), (65,), (16,), causal=(True,), batch=1, heads=2, kv_heads=2, dim_qk=128,
         dim_v=128),
    Case("cuda-2d-gna-hd128", (20, 24), (7, 9), (2, 3), (1, 2), (False, True), batch=2, heads=2, kv_heads=1,
         dim_qk=128, dim_v=128),
    Case("cuda-3d-hd128", (6, 8, 10), (3, 4, 5), (1, 2, 5), causal=(True, False, False), batch=1, heads=2,
         kv_heads=2, dim_qk=128, dim_v=128),
] + CASES


def _make(case, dtype, seed):
    q, k, v, ek, ev = case.arrays(seed=seed)
    conv = [None if a is None else torch.from_numpy(a).to(dtype) for a in (q, k, v, ek, ev)]
    return conv


def _supported(case, dtype, tensors):
    try:
        gna.neighborhood_attention(*[t.cuda() for t in tensors[:3]], additional_keys=None if tensors[3] is None
                                   else tensors[3].cuda(), additional_values=None if tensors[4] is None else
                                   tensors[4].cuda(), **case.kwargs())
    except ValueError as e:  # a backend limit (head dim, dtype ...), reported by the C++ API
        pytest.skip(f"no CUDA backend runs this case: {e}")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("case", CUDA_CASES, ids=case_id)
def test_cuda_forward_matches_cpu(case, dtype):
    cpu = _make(case, dtype, 31)
    _supported(case, dtype, cpu)
    gpu = [None if t is None else t.cuda() for t in cpu]
    o, l = gna.neighborhood_attention(*gpu[:3], additional_keys=gpu[3], additional_values=gpu[4], return_lse=True,
                                      **case.kwargs())
    ro, rl = gna.neighborhood_attention(*[None if t is None else t.double() for t in cpu[:3]],
                                        additional_keys=None if cpu[3] is None else cpu[3].double(),
                                        additional_values=None if cpu[4] is None else cpu[4].double(),
                                        return_lse=True, **case.kwargs())
    torch.testing.assert_close(o.double().cpu(), ro, rtol=TOL[dtype], atol=TOL[dtype], msg=f"seed 31 {case.name}")
    torch.testing.assert_close(l.cpu(), rl, rtol=1e-3, atol=1e-3)


def test_cuda_side_stream_and_graph_capture():
    case = CUDA_CASES[1]
    cpu = _make(case, torch.bfloat16, 32)
    _supported(case, torch.bfloat16, cpu)
    q, k, v = (t.cuda() for t in cpu[:3])
    ref = gna.na2d(q, k, v, **case.kwargs())
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        out = gna.na2d(q, k, v, **case.kwargs())
    torch.cuda.current_stream().wait_stream(s)
    torch.testing.assert_close(out, ref, rtol=0, atol=0)

    g = torch.cuda.CUDAGraph()
    static_q = q.clone()
    with torch.cuda.graph(g):
        static_out = gna.na2d(static_q, k, v, **case.kwargs())
    static_q.copy_(q)
    g.replay()
    torch.cuda.synchronize()
    torch.testing.assert_close(static_out, ref, rtol=0, atol=0)


def test_cuda_merge():
    g = torch.Generator().manual_seed(33)
    outs = [torch.randn(2, 5, 3, 4, generator=g) for _ in range(2)]
    lses = [torch.randn(2, 5, 3, generator=g) for _ in range(2)]
    o, l = gna.merge_attentions([t.cuda() for t in outs], [t.cuda() for t in lses])
    ro, rl = gna.merge_attentions(outs, lses)
    torch.testing.assert_close(o.cpu(), ro, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(l.cpu(), rl, rtol=1e-5, atol=1e-5)


def test_cuda_backward_or_clear_error():
    case = CUDA_CASES[0]
    cpu = _make(case, torch.bfloat16, 34)
    _supported(case, torch.bfloat16, cpu)
    q, k, v = (t.cuda().requires_grad_(True) for t in cpu[:3])
    if not gna._lib.cuda_backward_available():
        with pytest.raises(NotImplementedError, match="backward on CUDA tensors is not implemented yet"):
            gna.na1d(q, k, v, **case.kwargs())
        with torch.no_grad():
            gna.na1d(q, k, v, **case.kwargs())  # inference still works
        return
    gna.na1d(q, k, v, **case.kwargs()).float().sum().backward()
    rq, rk, rv = (t.double().requires_grad_(True) for t in cpu[:3])
    gna.na1d(rq, rk, rv, **case.kwargs()).sum().backward()
    for a, b in ((q, rq), (k, rk), (v, rv)):
        torch.testing.assert_close(a.grad.double().cpu(), b.grad, rtol=2e-2, atol=2e-2)


def test_cuda_compile_fullgraph():
    case = CUDA_CASES[1]
    cpu = _make(case, torch.bfloat16, 35)
    _supported(case, torch.bfloat16, cpu)
    q, k, v = (t.cuda() for t in cpu[:3])
    f = torch.compile(lambda q, k, v: gna.na2d(q, k, v, **case.kwargs()) * 2, fullgraph=True, backend="aot_eager")
    torch.testing.assert_close(f(q, k, v), gna.na2d(q, k, v, **case.kwargs()) * 2)
