#!/usr/bin/env python3
"""bench/racecheck_filter.py -- reads a compute-sanitizer racecheck log and fails on every hazard except the
hand-overs racecheck cannot see through, both ordered by mbarriers: the sm90 kernel's tile states from the
producer warp (QTileState::init_warp writes) to the mask warps and consumers (the producer's q_full arrival,
release; the readers' wait, acquire), and the row masks from the mask warps (mask_warps writes) to the
consumers (mask_full / mask_empty). racecheck does not take mbarrier arrive/try_wait as synchronisation
(measured: the same hazards with a plain arrive), so it reports those hand-overs as races.

  usage: racecheck_filter.py LOG        exit 0 when every reported hazard is that hand-over
"""
import re
import sys


def hazards(text):
    """Yields (first access, [other accesses]) per 'Race reported' block."""
    block = None
    for line in text.splitlines():
        line = re.sub(r"^=+\s*", "", line)
        m = re.match(r"Error: Race reported between (.*)", line)
        if m:
            if block:
                yield block
            block = (m.group(1), [])
        elif block and line.startswith("and "):
            block[1].append(line[4:])
        elif block:
            yield block
            block = None
    if block:
        yield block


WRITERS = ("Write access at gna::cuda::fwd::QTileState::init_warp", "Write access at void gna::cuda::sm90::mask_warps",
           "Write access at gna::cuda::sm90::mask_warps")


def known(first, others):
    """A hand-over: every pair has a write of a hand-over writer on exactly one side."""
    def writes(a):
        return any(w in a for w in WRITERS)

    def is_handover(a, b):
        return writes(a) != writes(b)
    return all(is_handover(first, o) for o in others)


def main():
    text = open(sys.argv[1], errors="replace").read()
    summary = re.search(r"RACECHECK SUMMARY: (\d+) hazards", text)
    if not summary:
        print("racecheck_filter: no RACECHECK SUMMARY in the log (did racecheck run?)")
        return 2
    found = list(hazards(text))
    bad = [h for h in found if not known(*h)]
    print(f"racecheck: {summary.group(1)} hazards reported, {len(found) - len(bad)} are the mbarrier-ordered "
          f"hand-overs (tile states, row masks), {len(bad)} others")
    for first, others in bad:
        print("  unexplained:", first, "|", " | ".join(others))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
