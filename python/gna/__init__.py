"""gna -- Generalized Neighborhood Attention for Python (NumPy and PyTorch).

Layer: bindings. The compiled part is one plain-C shared library (libgna_c, src/capi/gna_c.h) loaded with
ctypes, so the same installed binary works with any torch version, and `import gna` works without torch
(NumPy path). When torch is installed, the ops are registered as torch custom ops (gna::na_forward,
gna::na_backward, gna::merge) with fake implementations and autograd, so torch.compile(fullgraph=True)
traces them without graph breaks. Set GNA_NO_TORCH=1 to skip the torch integration.
"""

from __future__ import annotations

import os as _os

# torch (when present) is imported before the C library is loaded: its CUDA runtime libraries are then
# already in the process for a CUDA-enabled libgna_c.
_torch = None
if not _os.environ.get("GNA_NO_TORCH"):
    try:
        import torch as _torch
    except ImportError:
        _torch = None

from . import _lib  # noqa: E402
from ._lib import BackendInfo, build_info, list_backends  # noqa: E402
from .functional import attention, merge_attentions, na1d, na2d, na3d, neighborhood_attention  # noqa: E402

__version__ = _lib.version()

HAS_TORCH = False
if _torch is not None:
    from . import _torch_ops  # registers the custom ops
    from . import functional as _functional

    _functional._TORCH_IMPL = _torch_ops
    HAS_TORCH = True

_MODULES = ("NeighborhoodAttention1D", "NeighborhoodAttention2D", "NeighborhoodAttention3D")


def __getattr__(name):
    if name in _MODULES:
        if not HAS_TORCH:
            raise ImportError(f"gna.{name} needs torch (pip install torch)")
        from . import modules
        return getattr(modules, name)
    raise AttributeError(f"module 'gna' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_MODULES))


__all__ = ["na1d", "na2d", "na3d", "neighborhood_attention", "attention", "merge_attentions", "list_backends",
           "build_info", "BackendInfo", "HAS_TORCH", *_MODULES]
