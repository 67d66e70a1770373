#!/usr/bin/env bash
# bench/profile.sh -- Nsight Compute report of one sm80 forward launch on a preset (GPU machine).
#   usage: bash bench/profile.sh PRESET [build dir]     writes $OUT/ncu-PRESET.txt
set -uo pipefail
P=${1:-flux-gna}; B=${2:-build-gpu}; OUT=${OUT:-$PWD/gpu-out}; mkdir -p "$OUT"
ncu --clock-control none --kernel-name regex:gna_fwd --launch-skip 3 --launch-count 1 --set full \
  -o "$OUT/ncu-$P" -f "$B/tools/cli/gna" bench --preset "$P" --reps 20 >"$OUT/ncu-$P.log" 2>&1
ncu --import "$OUT/ncu-$P.ncu-rep" --page details >"$OUT/ncu-$P.txt" 2>&1
grep -E "Duration|Compute \(SM\) Throughput|Memory Throughput|Registers Per|Achieved Occupancy|Theoretical Occupancy|Issue Slots Busy|Executed Ipc|Stall|L2 Hit|Local Memory|Block Limit|No Eligible|One or More" "$OUT/ncu-$P.txt" | head -40
