#!/usr/bin/env bash
# bench/profile.sh -- Nsight Compute report of one forward launch on a preset (GPU machine): the details
# page, plus the per-SASS-instruction source page (stall samples) as CSV.
#   usage: bash bench/profile.sh PRESET [backend] [tag]   writes $OUT/ncu-TAG.{txt,log}, $OUT/ncu-TAG-sass.csv.gz
#   (env such as GNA_SM90_KERNEL=classic passes through to the profiled process)
set -uo pipefail
P=${1:-flux-gna}; BK=${2:-sm90}; TAG=${3:-$P-$BK}; B=${GNA_BUILD:-build-gpu}; OUT=${OUT:-$PWD/gpu-out}; mkdir -p "$OUT"
ncu --clock-control none --kernel-name regex:gna_fwd --launch-skip 3 --launch-count 1 --set full --import-source no \
  -o "$OUT/ncu-$TAG" -f "$B/tools/cli/gna" bench --preset "$P" --backend "$BK" --reps 5 >"$OUT/ncu-$TAG.log" 2>&1
ncu --import "$OUT/ncu-$TAG.ncu-rep" --page details >"$OUT/ncu-$TAG.txt" 2>&1
ncu --import "$OUT/ncu-$TAG.ncu-rep" --page source --csv --print-source sass 2>/dev/null | gzip >"$OUT/ncu-$TAG-sass.csv.gz"
rm -f "$OUT/ncu-$TAG.ncu-rep"
grep -E "Duration|Compute \(SM\) Throughput|Memory Throughput|Registers Per|Achieved Occupancy|Issue Slots Busy|Executed Ipc|Stall|L2 Hit|Local Memory|No Eligible|One or More|Shared Memory|Bank" "$OUT/ncu-$TAG.txt" | head -40
