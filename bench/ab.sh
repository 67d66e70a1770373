#!/usr/bin/env bash
# bench/ab.sh -- interleaved A/B timing of sm90 kernel variants (how the A/B tables of bench/README.md were
# measured). Two steps:
#   on the host:  bash bench/ab.sh build NAME ["-DMACRO=.. ..."]
#                   the gna CLI with the bf16 / head-dim-128 instances only (GNA_CUDA_ALL_INSTANCES=OFF),
#                   the given nvcc defines applied, copied to build-var/gna-NAME (build dir build-v)
#   on the GPU:   bash bench/ab.sh run "NAME1 NAME2[:pp] ..." "PRESET ..." [ROUNDS]
#                   each round runs every preset with every variant in turn (so drift hits all alike);
#                   NAME:pp runs gna-NAME with GNA_SM90_PINGPONG=1, NAME:nopp with GNA_SM90_PINGPONG=0, NAME
#                   with the binary's default. JSON lines go to $OUT/ab-NAME-{1,0,def}.jsonl.
# A variant of the committed tree is built from a checkout of it (e.g. `git stash`, build, `git stash pop`).
set -uo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  build)
    name=$2 defs=${3:-}
    cmake -S . -B build-v -DCMAKE_BUILD_TYPE=Release -DGNA_CUDA=ON -DGNA_CUDA_ALL_INSTANCES=OFF -DGNA_BUILD_TESTS=OFF \
      -DCMAKE_CUDA_ARCHITECTURES=90 "-DCMAKE_CUDA_FLAGS=$defs" >/dev/null || exit 1
    cmake --build build-v -j"$(nproc)" --target gna_cli >build-v/ab-build.log 2>&1 || { tail -20 build-v/ab-build.log; exit 1; }
    grep -E "C75[0-9][0-9]" build-v/ab-build.log | head -5
    mkdir -p build-var && cp build-v/tools/cli/gna "build-var/gna-$name" && echo "built build-var/gna-$name" ;;
  run)
    OUT=${OUT:-$PWD/gpu-out}; mkdir -p "$OUT"
    for r in $(seq "${4:-2}"); do
      for p in $3; do
        for v in $2; do
          b=${v%%:*} pp=def
          case "$v" in *:pp) pp=1 ;; *:nopp) pp=0 ;; esac
          printf "%-6s r%s " "$v" "$r"
          env $([ $pp = def ] && echo -u GNA_SM90_PINGPONG || echo GNA_SM90_PINGPONG=$pp) \
            timeout 40 "./build-var/gna-$b" bench --preset "$p" --backend sm90 --reps 30 \
            --json "$OUT/ab-$b-$pp.jsonl" 2>&1 | tail -1 | cut -c1-118
        done
      done
    done ;;
  *) sed -n 2,10p "$0"; exit 2 ;;
esac
