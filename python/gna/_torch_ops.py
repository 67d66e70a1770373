"""gna._torch_ops -- layer: bindings (torch custom ops). Imported by ``gna`` only when torch is installed.

Owns the three registered ops and their fake (meta) implementations and autograd formulas:

  gna::na_forward   (q, k, v, extra_k?, extra_v?, window, stride, dilation, is_causal, scale, q_tile, kv_tile,
                     backend, lse_grad) -> (out, lse)
  gna::na_backward  (dout, q, k, v, out, lse, extra_k?, extra_v?, ...) -> (dq, dk, dv, dextra_k, dextra_v)
  gna::merge        (o0, lse0, o1, lse1) -> (out, lse)

Everything crosses into C++ through the C ABI (gna._lib) with raw pointers: no libtorch C++ ABI, so one
built library serves every torch version. CUDA work is enqueued on torch's current stream of the input's
device; nothing synchronises the host, so the ops can be captured in CUDA graphs.

Invariants: outputs are fresh contiguous tensors, identical in shape/dtype/strides between the real and the
fake implementations (checked by torch.library.opcheck). Without extra KV, dextra_k / dextra_v are empty
tensors of shape [0] (custom ops cannot return None). ``lse_grad`` is True only when the caller exposes the
LSE (return_lse=True); then the backward adds the LSE's gradient, otherwise it is skipped (it is zero).
"""

from __future__ import annotations

from typing import List, Optional, Tuple

import torch
from torch import Tensor

from . import _checks, _lib

_DTYPE_CODES = {torch.float64: 0, torch.float32: 1, torch.float16: 2, torch.bfloat16: 3}
_DTYPE_NAMES = {torch.float64: "float64", torch.float32: "float32", torch.float16: "float16",
                torch.bfloat16: "bfloat16"}


def meta(t: Tensor) -> _checks.Meta:
    name = _DTYPE_NAMES.get(t.dtype, str(t.dtype).replace("torch.", ""))
    return _checks.Meta(tuple(t.shape), tuple(t.stride()), name, str(t.device))


def describe(t: Optional[Tensor]) -> Optional[_lib.Tensor]:
    if t is None:
        return None
    if t.dtype not in _DTYPE_CODES:
        raise TypeError(f"dtype {t.dtype} is not supported; use one of float16, bfloat16, float32, float64")
    if t.device.type == "cpu":
        dev, idx = _lib.DEVICE_CPU, 0
    elif t.device.type == "cuda":
        dev, idx = _lib.DEVICE_CUDA, t.device.index or 0
    else:
        raise ValueError(f"device {t.device} is not supported; use cpu or cuda tensors")
    if t.dim() > _lib.MAX_TENSOR_RANK:
        raise ValueError(f"tensor of shape {list(t.shape)} has more than {_lib.MAX_TENSOR_RANK} dims")
    stride = list(t.stride())
    if stride and t.shape[-1] == 1:
        stride[-1] = 1
    return _lib.make_tensor(t.data_ptr(), _DTYPE_CODES[t.dtype], dev, idx, t.shape, stride)


def _options(ref: Tensor, backend: str, q_tile, kv_tile):
    stream = 0
    if ref.device.type == "cuda":
        stream = torch.cuda.current_stream(ref.device).cuda_stream
    threads = torch.get_num_threads() if ref.device.type == "cpu" else 0
    return _lib.make_options(backend, q_tile, kv_tile, stream, threads)


class _DeviceGuard:
    def __init__(self, t: Tensor):
        self.ctx = torch.cuda.device(t.device) if t.device.type == "cuda" else None

    def __enter__(self):
        if self.ctx is not None:
            self.ctx.__enter__()

    def __exit__(self, *exc):
        if self.ctx is not None:
            self.ctx.__exit__(*exc)


# ---------------------------------------------------------------------------------------------- forward
@torch.library.custom_op("gna::na_forward", mutates_args=())
def na_forward(query: Tensor, key: Tensor, value: Tensor, additional_keys: Optional[Tensor],
               additional_values: Optional[Tensor], window: List[int], stride: List[int], dilation: List[int],
               is_causal: List[bool], scale: float, q_tile: List[int], kv_tile: List[int], backend: str,
               lse_grad: bool) -> Tuple[Tensor, Tensor]:
    out = query.new_empty(query.shape[:-1] + (value.shape[-1],))
    lse = query.new_empty(query.shape[:-1], dtype=torch.float32)
    params = _lib.make_params(window, stride, dilation, is_causal, scale)
    with _DeviceGuard(query):
        _lib.forward(params, describe(query), describe(key), describe(value), describe(out), describe(lse),
                     describe(additional_keys), describe(additional_values),
                     _options(query, backend, q_tile, kv_tile))
    return out, lse


@na_forward.register_fake
def _(query, key, value, additional_keys, additional_values, window, stride, dilation, is_causal, scale, q_tile,
      kv_tile, backend, lse_grad):
    out = query.new_empty(query.shape[:-1] + (value.shape[-1],))
    lse = query.new_empty(query.shape[:-1], dtype=torch.float32)
    return out, lse


# --------------------------------------------------------------------------------------------- backward
@torch.library.custom_op("gna::na_backward", mutates_args=())
def na_backward(grad_out: Tensor, query: Tensor, key: Tensor, value: Tensor, out: Tensor, lse: Tensor,
                additional_keys: Optional[Tensor], additional_values: Optional[Tensor], window: List[int],
                stride: List[int], dilation: List[int], is_causal: List[bool], scale: float, q_tile: List[int],
                kv_tile: List[int], backend: str) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    dq, dk, dv = query.new_empty(query.shape), key.new_empty(key.shape), value.new_empty(value.shape)
    if additional_keys is not None and additional_values is not None:
        dek = additional_keys.new_empty(additional_keys.shape)
        dev = additional_values.new_empty(additional_values.shape)
        dek_t, dev_t = describe(dek), describe(dev)
    else:
        dek, dev = query.new_empty((0,)), query.new_empty((0,))
        dek_t = dev_t = None
    params = _lib.make_params(window, stride, dilation, is_causal, scale)
    with _DeviceGuard(query):
        _lib.backward(params, describe(query), describe(key), describe(value), describe(out), describe(lse),
                      describe(grad_out), describe(dq), describe(dk), describe(dv), describe(additional_keys),
                      describe(additional_values), dek_t, dev_t, _options(query, backend, q_tile, kv_tile))
    return dq, dk, dv, dek, dev


@na_backward.register_fake
def _(grad_out, query, key, value, out, lse, additional_keys, additional_values, window, stride, dilation,
      is_causal, scale, q_tile, kv_tile, backend):
    dq, dk, dv = query.new_empty(query.shape), key.new_empty(key.shape), value.new_empty(value.shape)
    if additional_keys is not None and additional_values is not None:
        return dq, dk, dv, additional_keys.new_empty(additional_keys.shape), \
            additional_values.new_empty(additional_values.shape)
    return dq, dk, dv, query.new_empty((0,)), query.new_empty((0,))


def _assume_constant(fn):
    compiler = getattr(torch, "compiler", None)
    wrap = getattr(compiler, "assume_constant_result", None)
    return wrap(fn) if wrap is not None else fn


@_assume_constant
def cuda_backward_available() -> bool:
    # A constant for torch.compile (no graph break on the ctypes call behind it); evaluated only for CUDA inputs.
    return _lib.cuda_backward_available()


def _check_cuda_backward(t: Tensor) -> None:
    if t.device.type == "cuda" and not cuda_backward_available():
        raise NotImplementedError(
            "gna: backward on CUDA tensors is not implemented yet (no CUDA backend with a backward pass is "
            "built); run the backward on CPU tensors or call the op under torch.no_grad()")


def _na_setup_context(ctx, inputs, output):
    (q, k, v, ek, ev, window, stride, dilation, is_causal, scale, q_tile, kv_tile, backend, lse_grad) = inputs
    out, lse = output
    ctx.save_for_backward(q, k, v, ek, ev, out, lse)
    ctx.params = (window, stride, dilation, is_causal, scale, q_tile, kv_tile, backend)
    ctx.lse_grad = lse_grad


def _na_backward_formula(ctx, grad_out, grad_lse):
    q, k, v, ek, ev, out, lse = ctx.saved_tensors
    window, stride, dilation, is_causal, scale, q_tile, kv_tile, backend = ctx.params
    _check_cuda_backward(q)
    if grad_out is None:
        grad_out = torch.zeros_like(out)
    dq, dk, dv, dek, dev = torch.ops.gna.na_backward(
        grad_out.contiguous(), q, k, v, out, lse, ek, ev, window, stride, dilation, is_causal, scale, q_tile,
        kv_tile, backend)
    if ctx.lse_grad and grad_lse is not None:
        # d lse_i / d s_ik = P_ik, so dS gains P_ik * dlse_i: the gradient of an attention whose values are the
        # keys. dq_i += scale * dlse_i * sum_k P_ik k_k (a forward with V := K); dk_k += scale * sum_i P_ik
        # dlse_i q_i (the dV of a backward with V := K and dO := scale * dlse * q).
        ok, _ = torch.ops.gna.na_forward(q, k, k, ek, ek, window, stride, dilation, is_causal, scale, q_tile,
                                         kv_tile, backend, False)
        g = grad_lse.unsqueeze(-1) * scale
        dq = dq + (g * ok.float()).to(dq.dtype)
        dout2 = (g * q.float()).to(q.dtype).contiguous()
        _, _, dk2, _, dek2 = torch.ops.gna.na_backward(dout2, q, k, k, ok, lse, ek, ek, window, stride, dilation,
                                                       is_causal, scale, q_tile, kv_tile, backend)
        dk = dk + dk2
        if ek is not None:
            dek = dek + dek2
    has_extra = ek is not None
    return (dq, dk, dv, dek if has_extra else None, dev if has_extra else None,
            None, None, None, None, None, None, None, None, None)


na_forward.register_autograd(_na_backward_formula, setup_context=_na_setup_context)


# ------------------------------------------------------------------------------------------------ merge
@torch.library.custom_op("gna::merge", mutates_args=())
def merge(output0: Tensor, lse0: Tensor, output1: Tensor, lse1: Tensor) -> Tuple[Tensor, Tensor]:
    if output0.device.type != "cpu":
        # The C++ merge runs on host tensors; on devices, the same float32 formula in torch ops (no host sync).
        return _merge_torch(output0, lse0, output1, lse1)
    out = output0.new_empty(output0.shape)
    lse = lse0.new_empty(lse0.shape, dtype=torch.float32)
    with _DeviceGuard(output0):
        _lib.merge(describe(output0), describe(lse0), describe(output1), describe(lse1), describe(out),
                   describe(lse))
    return out, lse


def _merge_torch(o0: Tensor, lse0: Tensor, o1: Tensor, lse1: Tensor) -> Tuple[Tensor, Tensor]:
    for name, t in (("output1", o1), ("lse0", lse0), ("lse1", lse1)):
        if t.device != o0.device:
            raise ValueError(f"merge: {name} is on {t.device} but output0 is on {o0.device}")
    if o1.shape != o0.shape or lse0.shape != o0.shape[:-1] or lse1.shape != lse0.shape:
        raise ValueError(f"merge: shapes differ: output0 {list(o0.shape)}, output1 {list(o1.shape)}, "
                         f"lse0 {list(lse0.shape)}, lse1 {list(lse1.shape)} (lse must be output's shape less "
                         "the last dim)")
    a, b = lse0.float(), lse1.float()
    m = torch.maximum(a, b)
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    lse = m + torch.log(torch.exp(a - m) + torch.exp(b - m))
    w0, w1 = torch.exp(a - lse).unsqueeze(-1), torch.exp(b - lse).unsqueeze(-1)
    out = (w0 * o0.float() + w1 * o1.float()).to(o0.dtype)
    return out.contiguous(), lse.contiguous()


@merge.register_fake
def _(output0, lse0, output1, lse1):
    return output0.new_empty(output0.shape), lse0.new_empty(lse0.shape, dtype=torch.float32)


def _merge_setup_context(ctx, inputs, output):
    o0, lse0, o1, lse1 = inputs
    out, lse = output
    ctx.save_for_backward(o0, lse0, o1, lse1, out, lse)


def _merge_backward(ctx, grad_out, grad_lse):
    # spec s7: w_i = exp(lse_i - lse), O = w0 O0 + w1 O1, lse = logaddexp(lse0, lse1).
    # dO_i = w_i dO;  dlse_i = w_i * (sum_d dO * (O_i - O) + dlse).
    o0, lse0, o1, lse1, out, lse = ctx.saved_tensors
    w0 = torch.exp(lse0.float() - lse).unsqueeze(-1)
    w1 = torch.exp(lse1.float() - lse).unsqueeze(-1)
    go = grad_out.float() if grad_out is not None else torch.zeros_like(out, dtype=torch.float32)
    gl = grad_lse.float() if grad_lse is not None else torch.zeros_like(lse)
    o = out.float()
    d0 = w0.squeeze(-1) * ((go * (o0.float() - o)).sum(-1) + gl)
    d1 = w1.squeeze(-1) * ((go * (o1.float() - o)).sum(-1) + gl)
    return (w0 * go).to(o0.dtype), d0.to(lse0.dtype), (w1 * go).to(o1.dtype), d1.to(lse1.dtype)


merge.register_autograd(_merge_backward, setup_context=_merge_setup_context)


# ------------------------------------------------------------------------------------------- front end
def forward(q: Tensor, k: Tensor, v: Tensor, ek: Optional[Tensor], ev: Optional[Tensor], window, stride,
            dilation, is_causal, scale: float, q_tile, kv_tile, backend: str, return_lse: bool):
    """Validated, normalised call: runs gna::na_forward (with autograd when inputs require grad)."""
    if torch.is_grad_enabled() and q.device.type == "cuda":
        if any(t is not None and t.requires_grad for t in (q, k, v, ek, ev)):
            _check_cuda_backward(q)
    out, lse = torch.ops.gna.na_forward(q, k, v, ek, ev, list(window), list(stride), list(dilation),
                                        list(is_causal), float(scale), list(q_tile), list(kv_tile), backend,
                                        bool(return_lse))
    return (out, lse) if return_lse else out


def merge_pair(o0: Tensor, lse0: Tensor, o1: Tensor, lse1: Tensor) -> Tuple[Tensor, Tensor]:
    return torch.ops.gna.merge(o0, lse0, o1, lse1)
