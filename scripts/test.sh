#!/usr/bin/env bash
# scripts/test.sh -- builds gna (scripts/setup.sh) and runs every C++ test through CTest, then the
# Python tests when the Python package is present (scripts/test_python.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
ctest --test-dir "${GNA_BUILD_DIR:-build}" --output-on-failure -j"$(nproc)"
if [ -f python/pyproject.toml ] || [ -f pyproject.toml ]; then bash scripts/test_python.sh; fi
