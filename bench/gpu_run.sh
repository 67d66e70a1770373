#!/usr/bin/env bash
# bench/gpu_run.sh -- one call on the GPU machine: build every CUDA instance with all cores, run the GPU
# tests against the reference, compute-sanitizer on a subset, check the SASS, time every preset with
# `gna bench` and the peers (shared/tools/peer_bench.py) in the same call. Logs go to $OUT (or ./gpu-out).
#   usage: bash bench/gpu_run.sh [quick|full|bench|peers]
#     quick: no peers; bench: ours and the peers, no tests; peers: only the peers
set -uo pipefail
MODE=${1:-full}
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
cd "$(dirname "$0")/.."
log() { echo "== $*" | tee -a "$OUT/summary.txt"; }
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm --format=csv | tee "$OUT/gpu.txt"
DEV=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1 | tr ' ' '_')

run_peers() {
  log "peers (shared/tools/peer_bench.py, carried as .deps/peers)"
  for p in flux-gna flux-na hunyuan-gna hunyuan-na cosmos-na 1d-32k-na 1d-32k-gna; do
    timeout 300 python3 "${PEER_BENCH:-.deps/peers/peer_bench.py}" --preset "$p" --json "$OUT/peers.jsonl" 2>&1 | tail -1 | tee -a "$OUT/summary.txt"
  done
}
if [ "$MODE" = peers ]; then run_peers; log "done on $DEV"; exit 0; fi

if [ "${GNA_PREBUILT:-0}" = 1 ] && [ -x build-gpu/tools/cli/gna ]; then
  log "using the carried prebuilt build-gpu (GNA_PREBUILT=1; built on the host with nvcc for sm_90a)"
else
log "configure + build ($(nproc) cores)"
cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DGNA_CUDA=ON -DGNA_CUDA_ALL_INSTANCES=ON \
  -DCMAKE_CUDA_ARCHITECTURES=90 >"$OUT/build.log" 2>&1 &&
  cmake --build build-gpu -j"$(nproc)" >>"$OUT/build.log" 2>&1 || { tail -50 "$OUT/build.log"; exit 1; }
tail -3 "$OUT/build.log"
fi

log "SASS check (HMMA / LDSM / LDGSTS: sm80; HGMMA, SYNCS (mbarrier), USETMAXREG: sm90)"
cuobjdump --dump-sass build-gpu/tools/cli/gna 2>/dev/null | grep -oE "HMMA|HGMMA|LDSM|LDGSTS|UTMALDG|WARPGROUP.DEPBAR|WARPGROUP.ARRIVE|USETMAXREG[.A-Z]*|SYNCS.ARRIVE[.A-Z0-9]*" | sort | uniq -c | tee -a "$OUT/summary.txt"
grep -E "C7510|C7508|wgmma.*serializ" "$OUT/build.log" | head -5 | tee -a "$OUT/summary.txt"

if [ "$MODE" != bench ]; then
log "GPU tests"
GNA_TEST_RANDOM_CASES=${GNA_TEST_RANDOM_CASES:-200} timeout 200 ./build-gpu/tests/cuda/test_cuda_forward 2>&1 | tee "$OUT/test_cuda.log" | grep -E "FAIL|PASSED|SKIPPED|cases checked|SEED" | head -60 | tee -a "$OUT/summary.txt"
grep -A12 "Failure" "$OUT/test_cuda.log" | head -60 | tee -a "$OUT/summary.txt"  # the failing case's name, seed, errors

# The sm90 backend's other paths (src/cuda/sm90/fwd_launch.cuh switches): the shared kernel for every
# case, and the warp-specialized kernel with the consumer ping-pong forced on and off (by default it runs on
# perfectly block-sparse problems only).
for v in GNA_SM90_KERNEL=classic GNA_SM90_PINGPONG=1 GNA_SM90_PINGPONG=0; do
  log "GPU tests, sm90 with $v"
  env "$v" GNA_TEST_RANDOM_CASES=100 timeout 120 ./build-gpu/tests/cuda/test_cuda_forward --gtest_filter='Sm90*' 2>&1 |
    tee "$OUT/test_cuda_${v/=/_}.log" | grep -E "FAIL|PASSED|SKIPPED|cases checked|SEED" | head -20 | tee -a "$OUT/summary.txt"
  grep -A12 "Failure" "$OUT/test_cuda_${v/=/_}.log" | head -60 | tee -a "$OUT/summary.txt"
done

log "compute-sanitizer memcheck + racecheck on the hand-picked cases"
if command -v compute-sanitizer >/dev/null; then
  compute-sanitizer --tool memcheck --error-exitcode 3 ./build-gpu/tests/cuda/test_cuda_forward \
    --gtest_filter='Sm*Forward.HandPickedCases' >"$OUT/memcheck.log" 2>&1; echo "memcheck rc=$?" | tee -a "$OUT/summary.txt"
  # racecheck does not take mbarriers as synchronisation: racecheck_filter.py fails on every hazard but the
  # sm90 kernel's mbarrier-ordered tile-state hand-over (see the script).
  for b in sm80 sm90; do
    compute-sanitizer --tool racecheck ./build-gpu/tools/cli/gna check --backend $b \
      --shape 20 20 --window 6 6 --heads 2 --dim 64 >"$OUT/racecheck-$b.log" 2>&1
    python3 bench/racecheck_filter.py "$OUT/racecheck-$b.log" | tee -a "$OUT/summary.txt"; echo "racecheck $b rc=${PIPESTATUS[0]}" | tee -a "$OUT/summary.txt"
  done
fi

log "Python package on CUDA tensors (torch of the GPU image; libgna_c from this build)"
if [ -d .whl ]; then python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site; fi
GNA_C_LIBRARY=$PWD/build-gpu/src/capi/libgna_c.so PYTHONPATH=$PWD/python:$PWD/tests/python:${PYTHONPATH:-} \
  timeout 300 python3 -m pytest -q -p no:cacheprovider tests/python/test_cuda.py tests/python/test_torch_ops.py \
  >"$OUT/pytest_cuda.log" 2>&1; echo "pytest rc=$?" | tee -a "$OUT/summary.txt"; tail -4 "$OUT/pytest_cuda.log"

fi

log "gna bench (all presets, each CUDA backend)"
for b in ${GNA_BENCH_BACKENDS:-sm90 sm80}; do
  ./build-gpu/tools/cli/gna bench --preset all --backend "$b" --json "$OUT/ours.jsonl" 2>&1 | tee -a "$OUT/summary.txt"
done
# sm90 A/B variants (measurement switches of src/cuda/sm90/fwd_launch.cuh), each in its own file.
for v in ${GNA_SM90_VARIANTS:-}; do
  log "gna bench sm90 variant $v"
  env "$v" ./build-gpu/tools/cli/gna bench --preset all --backend sm90 --json "$OUT/ours-$v.jsonl" 2>&1 | tee -a "$OUT/summary.txt"
done

if [ "$MODE" = full ] || [ "$MODE" = bench ]; then run_peers; fi
log "done on $DEV"
