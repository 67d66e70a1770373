"""tests/python/test_compile.py -- layer: tests. torch.compile(fullgraph=True) over the custom ops.

A small transformer block (LayerNorm -> NeighborhoodAttention2D -> residual -> MLP) must compile in one
graph with no graph breaks, run forward and backward, match eager, and not recompile on a second call.
Compiler backends: a counting wrapper over aot_eager (traces the fake impls and the autograd formula
through AOTAutograd) and inductor (real code generation around the opaque ops).
"""

from __future__ import annotations


from conftest import torch_or_skip

torch = torch_or_skip()
import torch._dynamo  # noqa: E402
import torch._dynamo.testing  # noqa: E402
from torch._dynamo.utils import counters  # noqa: E402

import gna  # noqa: E402


class Block(torch.nn.Module):
    def __init__(self, dim=16, heads=2):
        super().__init__()
        self.norm1 = torch.nn.LayerNorm(dim)
        self.attn = gna.NeighborhoodAttention2D(dim, heads, kernel_size=(3, 4), stride=(1, 2), dilation=(2, 1),
                                                is_causal=(False, True))
        self.norm2 = torch.nn.LayerNorm(dim)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(dim, 2 * dim), torch.nn.GELU(), torch.nn.Linear(2 * dim, dim))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def _run(backend_name):
    torch._dynamo.reset()
    counters.clear()
    torch.manual_seed(0)
    model = Block().double()
    x = torch.randn(2, 6, 7, 16, dtype=torch.float64, requires_grad=True)
    ref = model(x)
    ref.square().sum().backward()
    ref_grads = [p.grad.clone() for p in model.parameters()] + [x.grad.clone()]
    model.zero_grad()
    x.grad = None

    cnt = torch._dynamo.testing.CompileCounterWithBackend(backend_name)
    compiled = torch.compile(model, backend=cnt, fullgraph=True)
    out = compiled(x)
    out.square().sum().backward()
    out2 = compiled(x)  # same shapes: no recompilation
    assert cnt.frame_count == 1, f"compiled {cnt.frame_count} times"
    assert not counters["graph_break"], dict(counters["graph_break"])
    torch.testing.assert_close(out, ref, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(out2, ref, rtol=1e-9, atol=1e-9)
    grads = [p.grad for p in model.parameters()] + [x.grad]
    for a, b in zip(grads, ref_grads):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)
    return cnt


def test_compile_fullgraph_aot_eager_one_graph():
    cnt = _run("aot_eager")
    assert cnt.op_count > 0


def test_compile_fullgraph_inductor():
    _run("inductor")


def test_compile_functional_with_lse_and_merge():
    torch._dynamo.reset()
    counters.clear()

    def f(q, k, v, ek, ev):
        o1, l1 = gna.na1d(q, k, v, 3, stride=2, return_lse=True)
        o2, l2 = gna.attention(q, k, v, return_lse=True)
        o, l = gna.merge_attentions([o1, o2], [l1, l2])
        o3 = gna.na1d(q, k, v, 4, is_causal=True, additional_keys=ek, additional_values=ev)
        return o + o3, l

    g = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(1, 9, 2, 4, dtype=torch.float64, generator=g, requires_grad=True) for _ in range(3))
    ek, ev = (torch.randn(1, 2, 2, 4, dtype=torch.float64, generator=g, requires_grad=True) for _ in range(2))
    cnt = torch._dynamo.testing.CompileCounterWithBackend("aot_eager")
    out, lse = torch.compile(f, backend=cnt, fullgraph=True)(q, k, v, ek, ev)
    (out.sum() + lse.sum()).backward()
    grads = [t.grad.clone() for t in (q, k, v, ek, ev)]
    for t in (q, k, v, ek, ev):
        t.grad = None
    ro, rl = f(q, k, v, ek, ev)
    (ro.sum() + rl.sum()).backward()
    assert cnt.frame_count == 1 and not counters["graph_break"]
    torch.testing.assert_close(out, ro)
    for a, t in zip(grads, (q, k, v, ek, ev)):
        torch.testing.assert_close(a, t.grad)


def test_compile_dynamic_shapes_no_recompile():
    # dynamic=True: new spatial extents reuse the first graph (the ops' fakes are shape-generic).
    torch._dynamo.reset()
    counters.clear()
    m = gna.NeighborhoodAttention2D(16, 2, kernel_size=3, stride=2).double()
    cnt = torch._dynamo.testing.CompileCounterWithBackend("aot_eager")
    f = torch.compile(m, backend=cnt, fullgraph=True, dynamic=True)
    counts = []
    for s in [(6, 7), (8, 9), (5, 12)]:
        x = torch.randn(2, *s, 16, dtype=torch.float64, requires_grad=True)
        y = f(x)
        y.sum().backward()
        torch.testing.assert_close(y, m(x))
        counts.append(cnt.frame_count)
    assert counts[0] >= 1 and counts[1] == counts[0] and counts[2] == counts[0], counts
    assert not counters["graph_break"]
