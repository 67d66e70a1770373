"""tests/python/test_racecheck_filter.py -- bench/racecheck_filter.py (the GPU run's racecheck gate) on
logs shaped like compute-sanitizer's: the mbarrier-ordered tile-state hand-over passes, anything else fails."""
import pathlib
import subprocess
import sys

FILTER = pathlib.Path(__file__).resolve().parents[2] / "bench" / "racecheck_filter.py"

HANDOVER = """========= COMPUTE-SANITIZER
========= Error: Race reported between Write access at gna::cuda::fwd::QTileState::init_warp(const gna::cuda::FwdParams &, long, int)+0x17e70 in fwd_tile.cuh:89
=========     and Read access at gna::na::window_in(long, const gna::na::GroupAxis &)+0x33e0 in tiles.hpp:44 [640 hazards]
=========
========= Error: Race reported between Read access at gna::cuda::fwd::QTileState::all_full(const gna::cuda::FwdParams &) const+0x2b80 in fwd_tile.cuh:129
=========     and Write access at gna::cuda::fwd::QTileState::init_warp(const gna::cuda::FwdParams &, long, int)+0x17ee0 in fwd_tile.cuh:92 [128 hazards]
=========
========= RACECHECK SUMMARY: 2 hazards displayed (2 errors, 0 warnings)
"""

OTHER = """========= Error: Race reported between Write access at void gna::cuda::sm90::gna_fwd_ws_kernel<X>()+0x100 in fwd_ws_kernel.cuh:300
=========     and Read access at gna::cuda::fwd::mask_spatial<1>()+0x200 in fwd_softmax.cuh:30 [64 hazards]
=========
"""


def run(tmp_path, text):
    log = tmp_path / "racecheck.log"
    log.write_text(text)
    return subprocess.run([sys.executable, str(FILTER), str(log)], capture_output=True, text=True)


def test_handover_only_passes(tmp_path):
    r = run(tmp_path, HANDOVER)
    assert r.returncode == 0, r.stdout
    assert "2 are the mbarrier-ordered" in r.stdout


def test_clean_log_passes(tmp_path):
    assert run(tmp_path, "========= RACECHECK SUMMARY: 0 hazards displayed (0 errors, 0 warnings)\n").returncode == 0


def test_other_hazard_fails(tmp_path):
    r = run(tmp_path, OTHER + HANDOVER)
    assert r.returncode == 1
    assert "unexplained" in r.stdout and "mask_spatial" in r.stdout


def test_missing_summary_fails(tmp_path):
    assert run(tmp_path, "nothing ran\n").returncode == 2
