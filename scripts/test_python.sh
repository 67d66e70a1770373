#!/usr/bin/env bash
# scripts/test_python.sh -- installs the Python package into a venv (`pip install .`) and runs tests/python.
#
# Reproducible on a fresh machine with only PyPI reachable: creates (or reuses) the venv, installs numpy,
# pytest and torch from PyPI (the PyPI Linux wheel; it runs on CPU-only machines), builds the package with
# scikit-build-core (CMake build dir build-py/<wheel tag>, incremental on reruns) and runs pytest.
# Exit status: pytest's, except that "no tests collected" (5) is a failure too.
# Environment: GNA_PY_VENV   venv folder (default build-py/venv; build*/ is git-ignored)
#              GNA_PY_TORCH  1 (default): install torch, failing if it cannot be installed;
#                            0: no torch (the torch tests skip with a reason)
#              GNA_CUDA      AUTO/ON/OFF for the package build (default: AUTO when a GPU is visible, else OFF:
#                            without a GPU the CUDA tests cannot run, so CI skips the long nvcc build)
#              PYTHON        interpreter for the venv (default python3)
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${GNA_PY_VENV:-build-py/venv}"
python="${PYTHON:-python3}"
start=$(date +%s)
stamp() { echo "test_python: $* ($(( $(date +%s) - start ))s)"; }

if [ ! -x "$venv/bin/python" ]; then
  stamp "creating venv $venv"
  "$python" -m venv "$venv"
fi
py="$venv/bin/python"
pip=("$py" -m pip --disable-pip-version-check)

deps=(numpy pytest)
if [ "${GNA_PY_TORCH:-1}" = "1" ]; then deps+=(torch); fi
stamp "installing ${deps[*]}"
"${pip[@]}" install -q "${deps[@]}"

if [ -z "${GNA_CUDA:-}" ]; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    export GNA_CUDA=AUTO
  else
    export GNA_CUDA=OFF
  fi
fi
if [ "${CI:-}" = "true" ] && [ -z "${GNA_CUDA_ALL_INSTANCES:-}" ]; then export GNA_CUDA_ALL_INSTANCES=OFF; fi
stamp "building and installing the gna package (GNA_CUDA=$GNA_CUDA)"
"${pip[@]}" install -q --no-deps --force-reinstall .

stamp "running pytest"
set +e
# Run from the repo root: python/gna is not on sys.path, so the installed package is what gets tested.
"$py" -m pytest tests/python -q -rs
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "test_python: error: pytest collected no tests" >&2
  rc=1
fi
stamp "done, exit $rc"
exit "$rc"
