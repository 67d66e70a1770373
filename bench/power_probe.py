#!/usr/bin/env python3
"""bench/power_probe.py -- the SM clock and board power while a command runs on the GPU.

Samples `nvidia-smi` (clocks.sm, power.draw, clock event reasons) every --ms milliseconds while the command
runs, keeps the samples drawn under load (power above --loaded watts, so start-up and host work drop out)
and prints their medians, e.g.

    python3 bench/power_probe.py --label flux-gna -- ./build-gpu/tools/cli/gna bench --preset flux-gna --reps 300

Run several in one GPU call to compare kernels at the card's power limit: a kernel that stays at the limit
runs at a lower clock, so its cycles per step (bench/trace_report.py) and its time tell different stories.
Event reason 0x4 is the software power cap. A `power.draw` sample is the driver's running average, so a
command should keep the GPU loaded for a few seconds.
"""
import argparse
import statistics
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--label", default="command")
    ap.add_argument("--ms", type=int, default=50, help="sampling period")
    ap.add_argument("--loaded", type=float, default=300.0, help="watts above which a sample counts as loaded")
    ap.add_argument("cmd", nargs=argparse.REMAINDER, help="the command, after --")
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        sys.exit("power_probe: no command given (after --)")
    smi = subprocess.Popen(["nvidia-smi", "--query-gpu=clocks.sm,power.draw,clocks_event_reasons.active",
                            "--format=csv,noheader,nounits", f"-lms={a.ms}"], stdout=subprocess.PIPE, text=True)
    try:
        rc = subprocess.call(cmd)
    finally:
        smi.terminate()
    rows = []
    for line in smi.stdout.read().splitlines():
        f = [x.strip() for x in line.split(",")]
        try:
            rows.append((float(f[0]), float(f[1]), f[2]))
        except (ValueError, IndexError):
            continue
    load = [r for r in rows if r[1] > a.loaded]
    if not load:
        print(f"[power] {a.label}: no sample above {a.loaded:.0f} W ({len(rows)} samples)")
        return rc
    clocks = sorted(r[0] for r in load)
    print(f"[power] {a.label}: {len(load)}/{len(rows)} samples loaded; SM clock median {statistics.median(clocks):.0f} MHz "
          f"(p10 {clocks[len(clocks) // 10]:.0f}), power median {statistics.median(r[1] for r in load):.0f} W, "
          f"reasons {statistics.mode(r[2] for r in load)}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
