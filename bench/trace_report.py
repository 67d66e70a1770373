#!/usr/bin/env python3
"""bench/trace_report.py -- summarise a pipeline timeline of the sm90 warp-specialized kernel.

Input: the file a -DGNA_SM90_TRACE build writes to $GNA_TRACE_FILE (src/cuda/sm90/trace.cuh): int32 blocks,
streams, events, then 64-bit words event << 56 | arg << 40 | clock64 (40 bits), per block and stream
(0 the producer's load warp, 1 + c consumer c, 3 the producer's state warp; zero words are unused).
Prints, in SM clock cycles (and microseconds at --mhz), medians over blocks and tiles:
  consumer: the period between two S landings inside a tile (the steady state per KV tile; the first one,
    which holds the previous tile's deferred epilogue, apart), the time a
    tile boundary costs beyond one period (from the last S of a tile to the first S of the next), the wait
    inside acquire (state and Q not ready), the span of a block; the segments of a steady step (step_*,
    see STEP_SEGMENTS) and the share of time both consumers of a block are in their softmax at once
    (both_in_softmax_per_mille: then the tensor pipe has no work from either);
  producer: building one tile state, issuing one tile's K/V loads (the state build included), waiting
    for the Q slot.
"""
import argparse
import statistics
import struct
import sys

# Event codes of src/cuda/sm90/trace.cuh (trace::Event).
PROD_Q_WAITED, PROD_Q_ISSUED, PROD_STATE_DONE, PROD_KV_DONE = 1, 2, 3, 4
CONS_ACQUIRE, CONS_READY, CONS_S_LANDED, CONS_STORED, PROD_STATE_BEGIN = 5, 6, 7, 8, 9
STEP_TOP, STEP_ISSUED, STEP_SOFTMAX_DONE, STEP_PV_DONE = 10, 11, 12, 13
# The segments of a steady step, between consecutive events of the same KV tile (then to the next top).
# issue: waiting for K and V and issuing S and PV (a register-A wgmma is accepted only as the tensor pipe
# gets to it); to_s: issued -> S landed; softmax: S landed -> K released (mask, softmax, row-sum pin);
# to_pv: softmax done -> PV landed; tail: PV landed -> the next step's top (V release, packing P).
STEP_SEGMENTS = (("step_issue", STEP_TOP, STEP_ISSUED), ("step_to_s", STEP_ISSUED, CONS_S_LANDED),
                 ("step_softmax", CONS_S_LANDED, STEP_SOFTMAX_DONE), ("step_to_pv", STEP_SOFTMAX_DONE, STEP_PV_DONE))
MASK40 = (1 << 40) - 1


def read(path):
    with open(path, "rb") as f:
        blocks, streams, events = struct.unpack("<3i", f.read(12))
        words = struct.unpack(f"<{blocks * streams * events}Q", f.read(8 * blocks * streams * events))
    out = []
    for b in range(blocks):
        per = []
        for s in range(streams):
            base = (b * streams + s) * events
            evs = []
            for w in words[base:base + events]:
                if w == 0:
                    break
                evs.append((w >> 56, (w >> 40) & 0xFFFF, w & MASK40))
            per.append(evs)
        if any(per):
            out.append(per)
    return out


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def consumer_stats(evs):
    """Per-KV periods, boundary excess, acquire waits of one consumer stream."""
    periods, firsts, bounds, waits, tiles = [], [], [], [], []
    cur = None  # S landings of the current tile
    acq = None
    for ev, arg, t in evs:
        if ev == CONS_ACQUIRE:
            acq = t
        elif ev == CONS_READY:
            if acq is not None:
                waits.append(t - acq)
            if cur:
                tiles.append(cur)
            cur = []
        elif ev == CONS_S_LANDED and cur is not None:
            cur.append(t)
    if cur:
        tiles.append(cur)
    for tl in tiles:  # S_0 -> S_1 holds the deferred epilogue: apart
        firsts += [b - a for a, b in zip(tl[:1], tl[1:2])]
        periods += [b - a for a, b in zip(tl[1:], tl[2:])]
    p = med(periods)
    for a, b in zip(tiles, tiles[1:]):
        bounds.append(b[0] - a[-1] - p)
    span = (evs[-1][2] - evs[0][2]) if evs else 0
    return periods, firsts, bounds, waits, tiles, span


def step_stats(evs):
    """The segments of the steady steps (events 10-13 and S landings carrying the same KV tile), the tail
    from a step's PV landing to the next step's top, and the share of time both consumers of a block spend
    in their softmax at once (see both_softmax)."""
    seg = {name: [] for name, _, _ in STEP_SEGMENTS}
    seg["step_tail"] = []
    last = {}
    for ev, arg, t in evs:
        if ev == STEP_TOP and STEP_PV_DONE in last and last[STEP_PV_DONE][0] == arg - 1:
            seg["step_tail"].append(t - last[STEP_PV_DONE][1])
        for name, a, b in STEP_SEGMENTS:
            if ev == b and a in last and last[a][0] == arg:
                seg[name].append(t - last[a][1])
        last[ev] = (arg, t)
    return seg


def intervals(evs, a, b):
    """[start, end) of every (a, b) event pair of the same argument."""
    out, start = [], None
    for ev, arg, t in evs:
        if ev == a:
            start = (arg, t)
        elif ev == b and start is not None and start[0] == arg:
            out.append((start[1], t))
            start = None
    return out


def both_softmax(c0, c1):
    """Of the span both consumers' softmax intervals cover, the share where both run at once."""
    a, b = intervals(c0, CONS_S_LANDED, STEP_SOFTMAX_DONE), intervals(c1, CONS_S_LANDED, STEP_SOFTMAX_DONE)
    if not a or not b:
        return None
    lo, hi = max(a[0][0], b[0][0]), min(a[-1][1], b[-1][1])
    both, j = 0, 0
    for s0, e0 in a:
        while j < len(b) and b[j][1] <= s0:
            j += 1
        k = j
        while k < len(b) and b[k][0] < e0:
            both += max(0, min(e0, b[k][1], hi) - max(s0, b[k][0], lo))
            k += 1
    return both / max(1, hi - lo)


def producer_stats(evs):
    state, kv, qwait = [], [], []
    last = {}
    for ev, arg, t in evs:
        last[ev] = t
        if ev == PROD_STATE_DONE and PROD_STATE_BEGIN in last:
            state.append(t - last[PROD_STATE_BEGIN])
        elif ev == PROD_KV_DONE and PROD_Q_ISSUED in last:
            kv.append(t - last[PROD_Q_ISSUED])
        elif ev == PROD_Q_WAITED and PROD_KV_DONE in last:
            qwait.append(t - last[PROD_KV_DONE])
    return state, kv, qwait


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("trace")
    ap.add_argument("--mhz", type=float, default=1755.0, help="SM clock for the microsecond column")
    a = ap.parse_args()
    blocks = read(a.trace)
    if not blocks:
        sys.exit("empty trace")
    us = lambda c: c / a.mhz
    rows = {}
    for per in blocks:
        for s, evs in enumerate(per[1:3], start=1):
            periods, firsts, bounds, waits, tiles, span = consumer_stats(evs)
            for k, v in (("period", periods), ("first_period", firsts), ("boundary_excess", bounds), ("acquire_wait", waits),
                         ("span", [span]), ("kv_tiles_per_q_tile", [len(t) for t in tiles])):
                rows.setdefault(f"consumer {s - 1} {k}", []).extend(v)
            for k, v in step_stats(evs).items():
                rows.setdefault(f"consumer {s - 1} {k}", []).extend(v)
        share = both_softmax(per[1], per[2]) if len(per) > 2 else None
        if share is not None:
            rows.setdefault("both_in_softmax_per_mille", []).append(1000 * share)
        state, kv, qwait = producer_stats(per[0])
        if len(per) > 3:  # the state warp (traces before session 18: the load warp built the states)
            state = producer_stats(per[3])[0]
        for k, v in (("state_build", state), ("kv_issue", kv), ("q_slot_wait", qwait)):
            rows.setdefault(f"producer {k}", []).extend(v)
    print(f"{len(blocks)} blocks traced; cycles (us at {a.mhz:.0f} MHz): median, p10, p90, n")
    for k, v in rows.items():
        if not v:
            continue
        v = sorted(v)
        p10, p90 = v[len(v) // 10], v[(9 * len(v)) // 10]
        if k.endswith("kv_tiles_per_q_tile") or k.endswith("per_mille"):
            print(f"  {k:40s} {med(v):10.1f} {p10:10.0f} {p90:10.0f} {len(v):7d}")
        else:
            print(f"  {k:40s} {med(v):10.0f} ({us(med(v)):7.3f}) {p10:10.0f} {p90:10.0f} {len(v):7d}")


if __name__ == "__main__":
    main()
