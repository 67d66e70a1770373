"""tests/python/test_trace_report.py -- bench/trace_report.py (the sm90 pipeline timeline summary) on a
synthetic trace file laid out as src/cuda/sm90/trace.cuh writes it: known periods, boundary, waits."""
import pathlib
import struct
import subprocess
import sys

REPORT = pathlib.Path(__file__).resolve().parents[2] / "bench" / "trace_report.py"
BLOCKS, STREAMS, EVENTS = 4, 3, 64


def write_trace(path, streams, n_streams=STREAMS):
    """streams: {(block, stream): [(event, arg, clock), ...]} -> the binary file (3 streams as traces before
    session 18 have, 4 with the state warp's)."""
    words = [0] * (BLOCKS * n_streams * EVENTS)
    for (b, s), evs in streams.items():
        for i, (ev, arg, t) in enumerate(evs):
            words[(b * n_streams + s) * EVENTS + i] = (ev << 56) | (arg << 40) | t
    path.write_bytes(struct.pack("<3i", BLOCKS, n_streams, EVENTS) + struct.pack(f"<{len(words)}Q", *words))


def row(out, name):
    line = next(l for l in out.splitlines() if l.strip().startswith(name + " "))
    return float(line.strip()[len(name):].split()[0])


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


def test_step_segments_and_softmax_overlap(tmp_path):
    # Two consumers of block 0, three steady steps each (KV tiles 1..3) of 1000 cycles: top, issued +300,
    # S landed +50, softmax done +500, PV landed +30, next top +120. Consumer 1 runs 400 cycles later, so
    # its softmax intervals [1850, 2350), [2850, 3350), [3850, 4350) overlap consumer 0's [1450, 1950),
    # [2450, 2950), [3450, 3950) by 100 each, inside the common span [1850, 3950).
    def steps(t0):
        evs = [(5, 0, t0), (6, 0, t0 + 10), (7, 0, t0 + 20)]
        for it in (1, 2, 3):
            t = t0 + 100 + 1000 * (it - 1)
            evs += [(10, it, t), (11, it, t + 300), (7, it, t + 350), (12, it, t + 850), (13, it, t + 880)]
        return evs
    trace = tmp_path / "s.bin"
    write_trace(trace, {(0, 1): steps(1000), (0, 2): steps(1400)})
    r = subprocess.run([sys.executable, str(REPORT), str(trace)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for c in (0, 1):
        assert row(out, f"consumer {c} step_issue") == 300
        assert row(out, f"consumer {c} step_to_s") == 50
        assert row(out, f"consumer {c} step_softmax") == 500
        assert row(out, f"consumer {c} step_to_pv") == 30
        assert row(out, f"consumer {c} step_tail") == 120
        assert row(out, f"consumer {c} period") == 1000
    assert abs(row(out, "both_in_softmax_per_mille") - 1000 * 300 / 2100) < 0.1


def test_state_warp_stream(tmp_path):
    # Session-18 layout: the load warp (stream 0) records no state events, the state warp (stream 3) does;
    # its builds of 4000 and 6000 cycles give the state_build median, and stream 3 is not a consumer.
    prod = [(1, 0, 10), (2, 0, 60), (4, 0, 7000), (1, 1, 7200), (2, 1, 7250), (4, 1, 14000)]
    state = [(9, 0, 0), (3, 0, 4000), (9, 1, 5000), (3, 1, 11000)]
    cons = [(5, 0, 100), (6, 0, 300), (7, 0, 1000), (7, 1, 2000), (7, 2, 3000)]
    trace = tmp_path / "w.bin"
    write_trace(trace, {(0, 0): prod, (0, 1): cons, (0, 3): state}, n_streams=4)
    r = subprocess.run([sys.executable, str(REPORT), str(trace)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert row(r.stdout, "producer state_build") == 5000
    assert row(r.stdout, "producer kv_issue") == 6845  # median of 6940 and 6750
    assert "consumer 2" not in r.stdout


def test_empty_trace_fails(tmp_path):
    trace = tmp_path / "empty.bin"
    write_trace(trace, {})
    r = subprocess.run([sys.executable, str(REPORT), str(trace)], capture_output=True, text=True)
    assert r.returncode != 0 and "empty trace" in r.stderr
