#!/usr/bin/env python3
"""bench/fit_cost_model.py -- layer: bench tooling. Fits the cost-model constants of one kernel family.

Owns: the calibration method of bench/calibration.md (Python stdlib only). It reads a `gna bench --json`
results file (one JSON line per preset), asks `gna sim` for the exact accounting of the tiling each line
was MEASURED with (its "tiles" field, not the planner's current choice), and fits, by least squares on the
relative error, the three constants of src/sim/cost_model.cpp that a head-dim-128 run at the family's
native tiles can identify (four with --all-full-factor):

    kernel_us = launch + waves * (F/Q * t_full + P/Q * t_full * mask + o)
        F, P = full / partial visited tile pairs per head, Q = Q tiles per head,
        waves = ceil(B H Q / sms), t_full = 2 (Dqk + Dv) Aq Akv / (dense_tflops * 1e6 / sms) us
    --all-full-factor: t_full / all_full_factor on the perfectly block-sparse lines (P = 0), whose F gets
        its own coefficient

This is linear in (a, b, c) = (t_full, t_full * mask, o) (and t_full / all_full_factor), so minimising
sum_i (pred_i / meas_i - 1)^2 is a weighted linear least-squares problem solved in closed form (normal
equations). A Gauss-Newton fit of
sum_i log(pred_i / meas_i)^2 from that start is printed as a robustness check, and leave-one-out errors
show how well each preset is predicted by the others. `launch` is fixed (not identifiable: every fitted
kernel runs >= 1 ms). Lines whose preset is in --exclude are reported but not fitted.

Invariant: the model here is the one in src/sim/cost_model.cpp for a family whose rate is quoted at its
native tiles (q64/kv64/head-dim factors 1 at head dim 128); `gna sim --arch <fitted> --measured FILE`
must reproduce the "after" column.

usage: python3 bench/fit_cost_model.py --gna build/tools/cli/gna --data bench/results/h100-sm80-calibration.jsonl \
           [--sms 132] [--launch-us 4] [--exclude small-2d] [--old-arch h100] [--new-arch h100-sm80]
"""
import argparse
import json
import math
import subprocess
import sys


def accounting(gna, line, arch):
    """Exact accounting (and prediction under `arch`) of the tiling the line was measured with."""
    q, kv = line["tiles"].split("/")
    cmd = [gna, "sim", "--preset", line["preset"], "--q-tile", q, "--kv-tile", kv, "--arch", arch, "--json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def solve(m, v):
    """Solves the n x n system m x = v by Gaussian elimination with partial pivoting."""
    n = len(v)
    a = [row[:] + [v[i]] for i, row in enumerate(m)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(a[r][c]))
        a[c], a[p] = a[p], a[c]
        for r in range(n):
            if r != c:
                f = a[r][c] / a[c][c]
                a[r] = [x - f * y for x, y in zip(a[r], a[c])]
    return [a[i][n] / a[i][i] for i in range(n)]


def fit_relative(rows, launch):
    """Closed-form least squares on the relative error; rows = (features x, measured us)."""
    n = len(rows[0][0])
    ata = [[0.0] * n for _ in range(n)]
    atb = [0.0] * n
    for x, y in rows:
        xs = [xi / y for xi in x]
        t = (y - launch) / y
        for i in range(n):
            atb[i] += xs[i] * t
            for j in range(n):
                ata[i][j] += xs[i] * xs[j]
    return solve(ata, atb)


def fit_log(rows, launch, start):
    """Gauss-Newton on sum log(pred / meas)^2, from `start`."""
    beta = start[:]
    n = len(beta)
    for _ in range(50):
        ata = [[0.0] * n for _ in range(n)]
        atb = [0.0] * n
        for x, y in rows:
            pred = launch + sum(b * xi for b, xi in zip(beta, x))
            r = math.log(pred / y)
            g = [xi / pred for xi in x]
            for i in range(n):
                atb[i] -= g[i] * r
                for j in range(n):
                    ata[i][j] += g[i] * g[j]
        step = solve(ata, atb)
        beta = [b + s for b, s in zip(beta, step)]
        if max(abs(s) / max(abs(b), 1e-12) for s, b in zip(step, beta)) < 1e-12:
            break
    return beta


def predict(x, beta, launch):
    return launch + sum(b * xi for b, xi in zip(beta, x))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gna", required=True, help="path to the gna executable")
    ap.add_argument("--data", required=True, help="gna bench --json results (JSONL)")
    ap.add_argument("--sms", type=int, default=132)
    ap.add_argument("--launch-us", type=float, default=4.0)
    ap.add_argument("--exclude", default="small-2d", help="comma-separated presets reported but not fitted")
    ap.add_argument("--old-arch", default="h100", help="cost-model entry for the 'before' column")
    ap.add_argument("--new-arch", default="", help="fitted entry, once in the table: its gna sim prediction")
    ap.add_argument("--all-full-factor", action="store_true",
                    help="fit all_full_factor too (a family that runs perfectly block-sparse problems faster)")
    args = ap.parse_args()
    exclude = set(filter(None, args.exclude.split(",")))

    lines = []
    with open(args.data) as f:
        for raw in f:
            raw = raw.strip()
            if raw and "kernel_ms" in raw:
                lines.append(json.loads(raw))

    table = []
    for line in lines:
        acc = accounting(args.gna, line, args.old_arch)
        dims = 2 * line["dim"]  # Dqk + Dv (the bench files record one head dim)
        units = line["batch"] * line["heads"] * acc["q_tiles"]
        waves = -(-units // args.sms)
        q = acc["q_tiles"]
        x = [waves * acc["full_tiles"] / q, waves * acc["partial_tiles"] / q, float(waves)]
        if args.all_full_factor:  # the perfectly block-sparse lines' full tiles get their own coefficient
            pbs = bool(acc["perfectly_block_sparse"])
            x = [0.0 if pbs else x[0], x[1], x[2], x[0] if pbs else 0.0]
        aq = math.prod(int(v) for v in line["tiles"].split("/")[0].split("x"))
        akv = math.prod(int(v) for v in line["tiles"].split("/")[1].split("x"))
        new = accounting(args.gna, line, args.new_arch)["kernel_ms"] if args.new_arch else None
        table.append(dict(line=line, acc=acc, x=x, y=line["kernel_ms"] * 1e3, dims=dims, aq=aq, akv=akv,
                          fitted=line["preset"] not in exclude, new_ms=new))

    fit_rows = [(r["x"], r["y"]) for r in table if r["fitted"]]
    if not fit_rows or len(fit_rows) < len(fit_rows[0][0]):
        sys.exit("need at least as many fitted lines as constants")
    fitted = [r for r in table if r["fitted"]]
    if args.all_full_factor and not (any(x[3] for x, _ in fit_rows) and any(x[0] for x, _ in fit_rows)):
        sys.exit("--all-full-factor needs perfectly block-sparse lines and lines with partial tiles among the fitted")
    native = {(r["dims"], r["aq"], r["akv"]) for r in fitted}
    if len(native) != 1:
        sys.exit("fitted lines must share one head dim and one tile size (the rate is quoted at one tile)")
    dims, aq, akv = native.pop()
    flops_per_tile = 2.0 * dims * aq * akv

    def constants(beta):
        t, tm, o = beta[:3]
        return dict(t_full_us=t, dense_tflops=flops_per_tile * args.sms / (t * 1e6), mask_multiplier=tm / t,
                    q_tile_overhead_us=o, all_full_factor=t / beta[3] if len(beta) > 3 else 1.0)

    rel = fit_relative(fit_rows, args.launch_us)
    logb = fit_log(fit_rows, args.launch_us, rel)
    print(f"# data: {args.data} ({len(table)} lines, {len(fit_rows)} fitted), sms {args.sms}, "
          f"launch {args.launch_us} us, native tile {aq}/{akv}, Dqk+Dv {dims}")
    for name, beta in (("relative-error LS (closed form)", rel), ("log-error LS (Gauss-Newton)", logb)):
        c = constants(beta)
        errs = [predict(x, beta, args.launch_us) / y - 1 for x, y in fit_rows]
        rms = math.sqrt(sum(e * e for e in errs) / len(errs))
        print(f"{name}: dense_tflops {c['dense_tflops']:.2f}  mask_multiplier {c['mask_multiplier']:.4f}  "
              f"q_tile_overhead_us {c['q_tile_overhead_us']:.3f}  all_full_factor {c['all_full_factor']:.4f}  "
              f"(t_full {c['t_full_us']:.4f} us)  "
              f"rms rel err {100 * rms:.2f}%  max |err| {100 * max(abs(e) for e in errs):.2f}%")

    print("\n| preset | tiles | full / partial / Q tiles per head | waves | measured ms | predicted ms (before, "
          f"{args.old_arch}) | predicted ms (after, fit) | error | leave-one-out error |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in table:
        p = r["line"]["preset"]
        after = predict(r["x"], rel, args.launch_us)
        if r["fitted"]:
            loo_rows = [(x, y) for (x, y), s in zip(fit_rows, fitted) if s is not r]
            loo = predict(r["x"], fit_relative(loo_rows, args.launch_us), args.launch_us) / r["y"] - 1
            loo_s = f"{100 * loo:+.1f}%"
        else:
            loo_s = "(not fitted)"
        if r["dims"] != dims or (r["aq"], r["akv"]) != (aq, akv):
            after_s = f"{r['new_ms']:.4f} (gna sim)" if r["new_ms"] is not None else "n/a (other tile/head dim)"
            err_s = f"{100 * (r['new_ms'] * 1e3 / r['y'] - 1):+.1f}%" if r["new_ms"] is not None else "-"
        else:
            after_s = f"{after / 1e3:.4f}"
            err_s = f"{100 * (after / r['y'] - 1):+.1f}%"
            if r["new_ms"] is not None and abs(r["new_ms"] * 1e3 - after) > 1e-3 * after + 0.01:
                after_s += f" (gna sim says {r['new_ms']:.4f}!)"
        a = r["acc"]
        print(f"| {p} | {r['line']['tiles']} | {a['full_tiles']} / {a['partial_tiles']} / {a['q_tiles']} | "
              f"{int(r['x'][2])} | {r['y'] / 1e3:.4f} | {r['acc']['kernel_ms']:.4f} | {after_s} | {err_s} | {loo_s} |")


if __name__ == "__main__":
    main()
