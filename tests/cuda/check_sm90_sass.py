#!/usr/bin/env python3
"""tests/cuda/check_sm90_sass.py -- layer: tests (CUDA build, host only). Checks the machine code of the
warp-specialized sm90 forward kernel for the scheduling that its speed depends on, which no timing test in CI
can see (CI has no GPU):

  1. The softmax runs while the P V GEMM is in flight: in the main loop, between the wait for S
     (`WARPGROUP.DEPBAR.LE gsb0, 0x1`) and the wait for P V (`WARPGROUP.DEPBAR.LE gsb0, 0x0`), there are at
     least 32 `MUFU.EX2` (a thread's 32 exponentials of a 64-key tile). ptxas once hoisted the second wait
     above the softmax (docs/kernels.md, "What the SASS and the ablations showed").
  2. No local memory (`LDL`/`STL`) in that stretch: register arrays indexed at run time spill there.

usage: check_sm90_sass.py --cuobjdump PATH OBJECT...   (the objects of the gna_sm90 library)
Exit status 0 when every warp-specialized kernel found passes, 1 on a failure or when none is found.
"""
import argparse
import os
import re
import subprocess
import sys

MIN_EXP = 32


def functions(sass):
    """(name, [instruction text]) per function of a cuobjdump --dump-sass listing."""
    name, body = None, []
    for line in sass.splitlines():
        m = re.match(r"\s*Function : (\S+)", line)
        if m:
            if name:
                yield name, body
            name, body = m.group(1), []
            continue
        m = re.match(r"\s*/\*[0-9a-f]{4,}\*/\s+(.*?)\s*;", line)
        if name and m:
            body.append(m.group(1))
    if name:
        yield name, body


def check_kernel(name, body):
    """A list of problems with one kernel's main loop (empty: it passes)."""
    waits_s = [i for i, ins in enumerate(body) if re.search(r"WARPGROUP\.DEPBAR\.LE gsb0, 0x1\b", ins)]
    if not waits_s:
        return ["no wait for S (WARPGROUP.DEPBAR.LE gsb0, 0x1): the main loop's overlap is gone"]
    problems = []
    for start in waits_s:
        end = next((i for i in range(start + 1, len(body)) if re.search(r"WARPGROUP\.DEPBAR\.LE gsb0, 0x0\b", body[i])), None)
        if end is None:
            problems.append(f"instruction {start}: no wait for P V after the wait for S")
            continue
        window = body[start:end]
        exps = sum(1 for ins in window if "MUFU.EX2" in ins)
        local = [ins for ins in window if re.search(r"\b(LDL|STL)\b", ins)]
        if exps < MIN_EXP:
            problems.append(f"instructions {start}-{end}: {exps} MUFU.EX2 between the S wait and the P V wait "
                            f"(want >= {MIN_EXP}): the softmax no longer overlaps the P V GEMM")
        if local:
            problems.append(f"instructions {start}-{end}: local memory in the loop: {local[:3]}")
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cuobjdump", required=True)
    ap.add_argument("objects", nargs="+")
    args = ap.parse_args()
    # cuobjdump runs nvdisasm, found on PATH: the one beside it first (the PyPI wheels install both there).
    env = dict(os.environ, PATH=os.path.dirname(os.path.abspath(args.cuobjdump)) + os.pathsep + os.environ.get("PATH", ""))
    checked, failed = 0, 0
    objects = [o for arg in args.objects for o in arg.split(";") if o]  # CMake passes a ;-list as one argument
    for obj in objects:
        run = subprocess.run([args.cuobjdump, "--dump-sass", obj], capture_output=True, text=True, env=env)
        if run.returncode != 0:
            print(f"cuobjdump failed on {obj}: {run.stderr.strip()[-400:]}")
            return 1
        sass = run.stdout
        for name, body in functions(sass):
            if "gna_fwd_ws_kernel" not in name:
                continue
            checked += 1
            problems = check_kernel(name, body)
            status = "ok" if not problems else "FAILED"
            print(f"{status}: {name} ({obj.rsplit('/', 1)[-1]})")
            for p in problems:
                print(f"  {p}")
            failed += bool(problems)
    if checked == 0:
        print("no warp-specialized sm90 kernel found in the objects")
        return 1
    print(f"{checked} kernel(s) checked, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
