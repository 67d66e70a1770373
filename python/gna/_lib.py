"""gna._lib -- layer: bindings. Loads the C ABI library (src/capi/gna_c.h) with ctypes.

Owns: finding and loading ``libgna_c``, the ctypes mirrors of the C structs, and turning a non-zero
return code into a Python exception carrying the C++ message (gna::Error -> ValueError, runtime
failures -> RuntimeError). Knows nothing about NumPy or torch: callers hand it ready ``Tensor`` structs.

Invariants: the struct layouts here match gna_c.h exactly and GNA_C_ABI_VERSION is checked on load;
ctypes releases the GIL during every call into the library.
"""

from __future__ import annotations

import ctypes
import os
import sys
from typing import NamedTuple, Optional, Sequence

ABI_VERSION = 1
MAX_RANK = 3
MAX_TENSOR_RANK = 6

DTYPE_F64, DTYPE_F32, DTYPE_F16, DTYPE_BF16 = 0, 1, 2, 3
DEVICE_CPU, DEVICE_CUDA = 0, 1

_OK, _ERR_INVALID, _ERR_RUNTIME, _ERR_INTERNAL = 0, 1, 2, 3
_ERR_LEN = 4096


class Tensor(ctypes.Structure):
    """Mirror of ``gna_tensor``. ndim == 0 means "not given"."""

    _fields_ = [
        ("data", ctypes.c_void_p),
        ("dtype", ctypes.c_int32),
        ("device", ctypes.c_int32),
        ("device_index", ctypes.c_int32),
        ("ndim", ctypes.c_int32),
        ("shape", ctypes.c_int64 * MAX_TENSOR_RANK),
        ("stride", ctypes.c_int64 * MAX_TENSOR_RANK),
    ]


class Params(ctypes.Structure):
    """Mirror of ``gna_params``: the per-axis window parameters and the scale."""

    _fields_ = [
        ("rank", ctypes.c_int32),
        ("is_causal", ctypes.c_int32 * MAX_RANK),
        ("window", ctypes.c_int64 * MAX_RANK),
        ("stride", ctypes.c_int64 * MAX_RANK),
        ("dilation", ctypes.c_int64 * MAX_RANK),
        ("scale", ctypes.c_double),
    ]


class Options(ctypes.Structure):
    """Mirror of ``gna_options``."""

    _fields_ = [
        ("backend", ctypes.c_char_p),
        ("q_tile", ctypes.c_int64 * MAX_RANK),
        ("kv_tile", ctypes.c_int64 * MAX_RANK),
        ("stream", ctypes.c_size_t),
        ("num_threads", ctypes.c_int32),
    ]


NONE = Tensor()  # the "not given" tensor


def make_tensor(data: int, dtype: int, device: int, device_index: int, shape: Sequence[int],
                stride: Sequence[int]) -> Tensor:
    t = Tensor()
    t.data = data or None
    t.dtype = dtype
    t.device = device
    t.device_index = device_index
    t.ndim = len(shape)
    for i, (s, st) in enumerate(zip(shape, stride)):
        t.shape[i] = int(s)
        t.stride[i] = int(st)
    return t


def make_params(window: Sequence[int], stride: Sequence[int], dilation: Sequence[int],
                is_causal: Sequence[bool], scale: float) -> Params:
    p = Params()
    p.rank = len(window)
    for d in range(len(window)):
        p.window[d] = int(window[d])
        p.stride[d] = int(stride[d])
        p.dilation[d] = int(dilation[d])
        p.is_causal[d] = 1 if is_causal[d] else 0
    p.scale = float(scale)
    return p


def make_options(backend: Optional[str], q_tile: Optional[Sequence[int]], kv_tile: Optional[Sequence[int]],
                 stream: int = 0, num_threads: int = 0) -> Options:
    o = Options()
    o.backend = (backend or "auto").encode()
    for d, v in enumerate(q_tile or ()):
        o.q_tile[d] = int(v)
    for d, v in enumerate(kv_tile or ()):
        o.kv_tile[d] = int(v)
    o.stream = int(stream)
    o.num_threads = int(num_threads)
    return o


def _library_candidates():
    env = os.environ.get("GNA_C_LIBRARY")
    if env:
        yield env
    here = os.path.dirname(os.path.abspath(__file__))
    names = {"win32": ["gna_c.dll"], "darwin": ["libgna_c.dylib", "libgna_c.so"]}.get(sys.platform, ["libgna_c.so"])
    for n in names:
        yield os.path.join(here, n)


def _load():
    errors = []
    for path in _library_candidates():
        if not os.path.exists(path):
            errors.append(f"{path}: not found")
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:  # pragma: no cover - depends on the machine
            errors.append(f"{path}: {e}")
            continue
        lib.gna_c_abi_version.restype = ctypes.c_int
        abi = lib.gna_c_abi_version()
        if abi != ABI_VERSION:
            raise ImportError(f"gna: {path} has C ABI version {abi}, this Python package needs {ABI_VERSION}; "
                              "reinstall the package (pip install .)")
        return lib, path
    raise ImportError("gna: cannot load the gna_c library (" + "; ".join(errors) +
                      "). Install the package with `pip install .` or set GNA_C_LIBRARY to libgna_c.so")


_lib, LIBRARY_PATH = _load()

_T = ctypes.POINTER(Tensor)
_P = ctypes.POINTER(Params)
_O = ctypes.POINTER(Options)
_S = ctypes.c_char_p
_L = ctypes.c_int64

_lib.gna_c_version.restype = ctypes.c_char_p
_lib.gna_c_build_info.argtypes = [_S, _L]
_lib.gna_c_build_info.restype = _L
_lib.gna_c_list_backends.argtypes = [_S, _L]
_lib.gna_c_list_backends.restype = _L
_lib.gna_c_select_backend.argtypes = [_P, _T, _T, _T, _T, _T, _T, _T, _O, _S, _L, _S, _L]
_lib.gna_c_select_backend.restype = ctypes.c_int
_lib.gna_c_forward.argtypes = [_P, _T, _T, _T, _T, _T, _T, _T, _O, _S, _L]
_lib.gna_c_forward.restype = ctypes.c_int
_lib.gna_c_backward.argtypes = [_P] + [_T] * 13 + [_O, _S, _L]
_lib.gna_c_backward.restype = ctypes.c_int
_lib.gna_c_merge.argtypes = [_T] * 6 + [_S, _L]
_lib.gna_c_merge.restype = ctypes.c_int


def _raise(code: int, buf) -> None:
    msg = buf.value.decode(errors="replace") or "unknown error"
    if code == _ERR_INVALID:
        raise ValueError(msg)
    raise RuntimeError(msg)


def _ref(t: Optional[Tensor]):
    return ctypes.byref(t if t is not None else NONE)


def forward(params: Params, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Optional[Tensor],
            extra_k: Optional[Tensor], extra_v: Optional[Tensor], options: Options) -> None:
    err = ctypes.create_string_buffer(_ERR_LEN)
    code = _lib.gna_c_forward(ctypes.byref(params), _ref(q), _ref(k), _ref(v), _ref(out), _ref(lse),
                              _ref(extra_k), _ref(extra_v), ctypes.byref(options), err, _ERR_LEN)
    if code != _OK:
        _raise(code, err)


def backward(params: Params, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, dout: Tensor,
             dq: Tensor, dk: Tensor, dv: Tensor, extra_k: Optional[Tensor], extra_v: Optional[Tensor],
             dextra_k: Optional[Tensor], dextra_v: Optional[Tensor], options: Options) -> None:
    err = ctypes.create_string_buffer(_ERR_LEN)
    code = _lib.gna_c_backward(ctypes.byref(params), _ref(q), _ref(k), _ref(v), _ref(out), _ref(lse), _ref(dout),
                               _ref(dq), _ref(dk), _ref(dv), _ref(extra_k), _ref(extra_v), _ref(dextra_k),
                               _ref(dextra_v), ctypes.byref(options), err, _ERR_LEN)
    if code != _OK:
        _raise(code, err)


def merge(o0: Tensor, lse0: Tensor, o1: Tensor, lse1: Tensor, out: Tensor, lse_out: Tensor) -> None:
    err = ctypes.create_string_buffer(_ERR_LEN)
    code = _lib.gna_c_merge(_ref(o0), _ref(lse0), _ref(o1), _ref(lse1), _ref(out), _ref(lse_out), err, _ERR_LEN)
    if code != _OK:
        _raise(code, err)


def select_backend(params: Params, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Optional[Tensor],
                   extra_k: Optional[Tensor], extra_v: Optional[Tensor], options: Options) -> str:
    err = ctypes.create_string_buffer(_ERR_LEN)
    name = ctypes.create_string_buffer(256)
    code = _lib.gna_c_select_backend(ctypes.byref(params), _ref(q), _ref(k), _ref(v), _ref(out), _ref(lse),
                                     _ref(extra_k), _ref(extra_v), ctypes.byref(options), name, 256, err, _ERR_LEN)
    if code != _OK:
        _raise(code, err)
    return name.value.decode()


def _read_text(fn) -> str:
    n = fn(None, 0)
    buf = ctypes.create_string_buffer(int(n) + 1)
    fn(buf, int(n) + 1)
    return buf.value.decode(errors="replace")


class BackendInfo(NamedTuple):
    name: str
    available: bool
    has_backward: bool
    description: str


def version() -> str:
    return _lib.gna_c_version().decode()


def build_info() -> str:
    return _read_text(_lib.gna_c_build_info)


def list_backends() -> list:
    out = []
    for line in _read_text(_lib.gna_c_list_backends).splitlines():
        parts = line.split("\t", 3)
        if len(parts) == 4:
            out.append(BackendInfo(parts[0], parts[1] == "1", parts[2] == "1", parts[3]))
    return out


CUDA_BACKENDS = ("sm80", "sm90")
_cuda_backward = None


def cuda_backward_available() -> bool:
    """True when a CUDA backend with a backward pass is built and usable. Computed on first use (not at
    import: listing backends queries the CUDA driver, which must not be initialised by `import gna`)."""
    global _cuda_backward
    if _cuda_backward is None:
        try:
            _cuda_backward = any(b.available and b.has_backward and b.name in CUDA_BACKENDS
                                 for b in list_backends())
        except Exception:  # pragma: no cover
            _cuda_backward = False
    return _cuda_backward
