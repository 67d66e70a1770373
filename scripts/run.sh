#!/usr/bin/env bash
# scripts/run.sh -- builds gna (scripts/setup.sh, output on stderr) and runs `gna run` with the given
# arguments: with none, the default problem on random inputs, timed and verified against fp64.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
exec "./${GNA_BUILD_DIR:-build}/tools/cli/gna" run "$@"
