#!/usr/bin/env python3
"""bench/sustained_cudnn.py -- cuDNN dense attention timed on a card settled at its power limit: the peer
of `gna bench --sustain` for the dense target (issue 5: dense at least cuDNN's time).

PyTorch's scaled_dot_product_attention under SDPBackend.CUDNN_ATTENTION, [B, H, N, D] inputs, called back
to back for --seconds of wall time; every call is timed with CUDA events, the first --settle share of them
is dropped and the median of the rest reported (ms and TFLOP/s, 4 * B * H * N^2 * D FLOPs). With --json the
result is appended as one line in the field names of `gna bench --json`. For example, in the same GPU call:

    build-gpu/tools/cli/gna bench --preset flux-gna --window 256x256 --stride 1 --sustain 6 --reps 20
    python3 bench/sustained_cudnn.py --tokens 65536 --heads 24 --seconds 8

Wrap either in bench/power_probe.py to see the SM clock and power they run at. Needs torch with CUDA.
"""
import argparse
import datetime
import json
import sys
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=int, default=65536)
    ap.add_argument("--heads", type=int, default=24)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--dtype", choices=["bf16", "fp16"], default="bf16")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--settle", type=float, default=0.5, help="share of the calls dropped at the start")
    ap.add_argument("--json")
    a = ap.parse_args()
    if min(a.tokens, a.heads, a.batch, a.dim) < 1 or not 0 < a.seconds <= 600 or not 0 <= a.settle < 1:
        sys.exit("sustained_cudnn: --tokens/--heads/--batch/--dim must be >= 1, --seconds in (0, 600], --settle in [0, 1)")
    import torch
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel

    dt = torch.bfloat16 if a.dtype == "bf16" else torch.float16
    q, k, v = (torch.randn(a.batch, a.heads, a.tokens, a.dim, device="cuda", dtype=dt) for _ in range(3))
    times, t0 = [], time.time()
    with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
        while time.time() - t0 < a.seconds or len(times) < 10:
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            F.scaled_dot_product_attention(q, k, v)
            e.record()
            e.synchronize()
            times.append(s.elapsed_time(e))
    kept = sorted(times[int(len(times) * a.settle):])
    ms = kept[len(kept) // 2]
    tflops = 4.0 * a.batch * a.heads * a.tokens * a.tokens * a.dim / (ms * 1e-3) / 1e12
    device = torch.cuda.get_device_name()
    print(f"sdpa-cudnn dense B{a.batch} H{a.heads} N{a.tokens} D{a.dim} {a.dtype}: {len(times)} calls in {a.seconds:.0f} s, "
          f"median of the last {len(kept)}: {ms:.3f} ms, {tflops:.1f} TFLOP/s ({device})")
    if a.json:
        with open(a.json, "a") as f:
            f.write(json.dumps({"preset": f"dense-{a.tokens}", "backend": "sdpa-cudnn", "device": device, "dtype": a.dtype,
                                "shape": [a.tokens], "batch": a.batch, "heads": a.heads, "dim": a.dim, "kernel_ms": ms,
                                "eff_tflops": tflops, "reps": len(kept), "sustain_s": a.seconds,
                                "date": datetime.date.today().isoformat()}) + "\n")


if __name__ == "__main__":
    main()
