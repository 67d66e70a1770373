"""tests/python/test_trace_report.py -- bench/trace_report.py (the sm90 pipeline timeline summary) on a
synthetic trace file laid out as src/cuda/sm90/trace.cuh writes it: known periods, boundary, waits."""
import pathlib
import struct
import subprocess
import sys

REPORT = pathlib.Path(__file__).resolve().parents[2] / "bench" / "trace_report.py"
BLOCKS, STREAMS, EVENTS = 4, 3, 64


def write_trace(path, streams):
    """streams: {(block, stream): [(event, arg, clock), ...]} -> the binary file."""
    words = [0] * (BLOCKS * STREAMS * EVENTS)
    for (b, s), evs in streams.items():
        for i, (ev, arg, t) in enumerate(evs):
            words[(b * STREAMS + s) * EVENTS + i] = (ev << 56) | (arg << 40) | t
    path.write_bytes(struct.pack("<3i", BLOCKS, STREAMS, EVENTS) + struct.pack(f"<{len(words)}Q", *words))


def row(out, name):
    line = next(l for l in out.splitlines() if l.strip().startswith(name))
    return float(line[len("  ") + 34:].split()[0])


def test_periods_boundary_and_producer(tmp_path):
    # Consumer 0 of block 1: two tiles of 4 KV tiles, a step every 1000 cycles; S_0 of tile 2 lands 2500
    # after the last S of tile 1 (boundary excess 1500), S_1 of tile 2 1800 after its S_0 (deferred epilogue).
    cons = [(5, 0, 100), (6, 0, 300), (7, 0, 1000), (7, 1, 2000), (7, 2, 3000), (7, 3, 4000),
            (5, 0, 4100), (6, 1, 4400), (7, 0, 6500), (8, 0, 7000), (7, 1, 8300), (7, 2, 9300), (7, 3, 10300)]
    prod = [(1, 0, 10), (2, 0, 60), (9, 0, 500), (3, 0, 6500), (4, 0, 7000), (1, 1, 7200), (2, 1, 7250),
            (9, 1, 7300), (3, 1, 13300), (4, 1, 14000)]
    trace = tmp_path / "t.bin"
    write_trace(trace, {(1, 1): cons, (1, 0): prod})
    r = subprocess.run([sys.executable, str(REPORT), str(trace), "--mhz", "1000"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.startswith("1 blocks traced")
    assert row(out, "consumer 0 period") == 1000
    assert row(out, "consumer 0 first_period") == 1400  # median of the two first steps, 1000 and 1800
    assert row(out, "consumer 0 boundary_excess") == 1500
    assert row(out, "consumer 0 acquire_wait") == 250  # median of 200 and 300
    assert row(out, "consumer 0 kv_tiles_per_q_tile") == 4
    assert row(out, "producer state_build") == 6000
    assert row(out, "producer q_slot_wait") == 200


def test_empty_trace_fails(tmp_path):
    trace = tmp_path / "empty.bin"
    write_trace(trace, {})
    r = subprocess.run([sys.executable, str(REPORT), str(trace)], capture_output=True, text=True)
    assert r.returncode != 0 and "empty trace" in r.stderr
