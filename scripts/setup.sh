#!/usr/bin/env bash
# scripts/setup.sh -- installs missing build dependencies (Debian/Ubuntu) and builds gna into ./build.
#
# Idempotent: installs only what is missing (apt-get update only then), re-configures (cheap, keeps the
# cache) and builds incrementally. CUDA backends are built when nvcc is found (GNA_CUDA=AUTO). Every
# kernel instance is compiled only where a GPU is visible (nvidia-smi lists one); otherwise -- CI, or a
# build machine without a GPU -- one instance per kernel family (-DGNA_CUDA_ALL_INSTANCES=OFF), which
# keeps the CUDA code compiling without the minutes the full set takes on few cores. With CUDA, a toolkit
# without cuobjdump gets it (and nvdisasm) from NVIDIA's PyPI wheels in .deps/tools, for the SASS test.
# Environment: GNA_CMAKE_ARGS  extra cmake arguments (e.g. "-DGNA_CUDA=OFF")
#              GNA_BUILD_DIR   build directory (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir="${GNA_BUILD_DIR:-build}"

missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v make >/dev/null 2>&1 || missing+=(make)
if ! dpkg -s libgtest-dev >/dev/null 2>&1 && [ ! -f /usr/include/gtest/gtest.h ]; then
  missing+=(libgtest-dev)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  if [ "$(id -u)" -eq 0 ]; then
    sudo_cmd=()
  elif command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo)
  else
    echo "setup: error: missing ${missing[*]} and not root (no sudo); install them and rerun" >&2
    exit 1
  fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cmake_args=(-DCMAKE_BUILD_TYPE=Release)
# cuobjdump (and the nvdisasm it runs), for the test that checks the sm90 kernel's machine code
# (tests/cuda/check_sm90_sass.py): the toolkit's if it has one, else NVIDIA's PyPI wheels in a small venv
# under .deps/ (git-ignored).
if command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; then
  cuobjdump_bin=$(command -v cuobjdump || true)
  [ -z "$cuobjdump_bin" ] && [ -x /usr/local/cuda/bin/cuobjdump ] && cuobjdump_bin=/usr/local/cuda/bin/cuobjdump
  if [ -z "$cuobjdump_bin" ]; then
    tools=.deps/tools
    if ! ls "$tools"/lib/python3*/site-packages/nvidia/cu13/bin/cuobjdump >/dev/null 2>&1; then
      echo "setup: installing cuobjdump and nvdisasm (PyPI nvidia-cuda-cuobjdump, -nvdisasm) into $tools" >&2
      { python3 -m venv "$tools" && "$tools/bin/python" -m pip install -q --disable-pip-version-check \
          "nvidia-cuda-cuobjdump==13.5.37" "nvidia-cuda-nvdisasm==13.5.37"; } ||
        echo "setup: could not install cuobjdump; the SASS test will skip" >&2
    fi
    cuobjdump_bin=$(ls "$PWD/$tools"/lib/python3*/site-packages/nvidia/cu13/bin/cuobjdump 2>/dev/null | head -1 || true)
  fi
  [ -n "$cuobjdump_bin" ] && cmake_args+=("-DGNA_CUOBJDUMP=$cuobjdump_bin")
fi
if [ "${CI:-}" = "true" ] || ! nvidia-smi -L 2>/dev/null | grep -q GPU; then
  cmake_args+=(-DGNA_CUDA_ALL_INSTANCES=OFF)
else
  cmake_args+=(-DGNA_CUDA_ALL_INSTANCES=ON)
fi
if [ -n "${GNA_CMAKE_ARGS:-}" ]; then
  read -r -a extra_args <<<"${GNA_CMAKE_ARGS}"
  cmake_args+=("${extra_args[@]}")
fi

cmake -S . -B "$build_dir" "${cmake_args[@]}"
cmake --build "$build_dir" -j"$(nproc)"
