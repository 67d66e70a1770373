"""tests/python/test_capi.py -- layer: tests. The C ABI (src/capi/gna_c.h) seen from C.

A small C99 program, compiled against the header shipped in the package and linked with the installed
libgna_c, checks that the header is plain C, that the ctypes mirrors in gna._lib have the same struct
sizes and field offsets, and that errors come back as a code plus the C++ message. Skipped without a C
compiler.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess

import pytest

import gna
from gna import _lib

PROGRAM = r"""
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "gna_c.h"

int main(void) {
  printf("%d %zu %zu %zu\n", gna_c_abi_version(), sizeof(gna_tensor), sizeof(gna_params), sizeof(gna_options));
  printf("%zu %zu %zu %zu\n", offsetof(gna_tensor, shape), offsetof(gna_tensor, stride),
         offsetof(gna_params, window), offsetof(gna_params, scale));
  printf("%zu %zu %zu\n", offsetof(gna_options, q_tile), offsetof(gna_options, stream),
         offsetof(gna_options, num_threads));
  /* q = k = v: [1, 6, 2, 4] float32, window 7 > extent 6 -> GNA_ERR_INVALID with the C++ message. */
  float data[48] = {0};
  float out[48];
  gna_tensor q = {data, GNA_F32, GNA_CPU, 0, 4, {1, 6, 2, 4}, {48, 8, 4, 1}};
  gna_tensor o = {out, GNA_F32, GNA_CPU, 0, 4, {1, 6, 2, 4}, {48, 8, 4, 1}};
  gna_tensor none;
  memset(&none, 0, sizeof none);
  gna_params p;
  memset(&p, 0, sizeof p);
  p.rank = 1; p.window[0] = 7; p.stride[0] = 1; p.dilation[0] = 1;
  char err[512];
  int rc = gna_c_forward(&p, &q, &q, &q, &o, &none, &none, &none, NULL, err, sizeof err);
  printf("%d %s\n", rc, err);
  p.window[0] = 3;
  rc = gna_c_forward(&p, &q, &q, &q, &o, &none, &none, &none, NULL, err, sizeof err);
  printf("%d [%s] %g\n", rc, err, (double)out[0]);
  return 0;
}
"""


def test_c_program_against_the_abi(tmp_path):
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler on PATH")
    here = os.path.dirname(os.path.abspath(_lib.__file__))
    include = os.path.join(here, "include")
    if not os.path.exists(os.path.join(include, "gna_c.h")):
        include = os.path.join(os.path.dirname(__file__), "..", "..", "src", "capi")
    src = tmp_path / "abi.c"
    src.write_text(PROGRAM)
    exe = tmp_path / "abi"
    libdir = os.path.dirname(_lib.LIBRARY_PATH)
    subprocess.run([cc, "-std=c99", "-Wall", "-Werror", "-I", include, str(src), "-o", str(exe), _lib.LIBRARY_PATH,
                    f"-Wl,-rpath,{libdir}"], check=True)
    lines = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.splitlines()
    abi, st, sp, so = map(int, lines[0].split())
    assert abi == _lib.ABI_VERSION
    assert (st, sp, so) == (ctypes.sizeof(_lib.Tensor), ctypes.sizeof(_lib.Params), ctypes.sizeof(_lib.Options))
    assert list(map(int, lines[1].split())) == [_lib.Tensor.shape.offset, _lib.Tensor.stride.offset,
                                                _lib.Params.window.offset, _lib.Params.scale.offset]
    assert list(map(int, lines[2].split())) == [_lib.Options.q_tile.offset, _lib.Options.stream.offset,
                                                _lib.Options.num_threads.offset]
    assert lines[3] == "1 axis 0: window 7 * dilation 1 = 7 exceeds extent 6"
    assert lines[4] == "0 [] 0"  # zeros in -> zeros out, empty error buffer on success
    assert gna.__version__
