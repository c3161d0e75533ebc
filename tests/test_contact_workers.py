"""Where the contact search runs: the preloaded search process of ``spaceverse contacts``
(:mod:`simulator.orbits.preloaded_search`).

It must give the windows a search in the caller gives, bit for bit; leave no process
behind (used, unused, or the command interrupted); and never be needed: if it stops,
the caller computes what it did not receive.
"""

from __future__ import annotations

import inspect
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from simulator.orbits import search_policy
from simulator.orbits.preloaded_search import preload_pays
from simulator.orbits.tle import list_catalogs

pytestmark = pytest.mark.skipif(not (sys.platform.startswith("linux")
                                     and search_policy.numba_installed()),
                                reason="the preloaded search needs Linux and numba")

# The process is forked only from a process running a single thread; the tests of the
# suite before may have left threads here, so each scenario runs in a fresh interpreter.
_PRELUDE = """
import os, signal, sys, time, logging
from datetime import datetime, timezone
import pandas as pd
from simulator.orbits import contact_search, contact_workers
from simulator.orbits.preloaded_search import PreloadedSearch, SearchJob, preloaded_search
from simulator.orbits.contacts import find_contacts
from simulator.orbits.stations import GroundStation
from simulator.orbits.tle import load_catalog

START = datetime(2026, 6, 14, 12, tzinfo=timezone.utc)
STATIONS = [GroundStation("A", 60.0, 20.0, min_elevation_deg=5.0),
            GroundStation("B", -30.0, 140.0, min_elevation_deg=20.0),
            GroundStation("C", 5.0, -60.0, min_elevation_deg=10.0)]
contact_workers.chunk_size = lambda n_t, n_s, w: 20
PLANET = load_catalog("planet@2026-06-14").elements

def search(helper=None, **kw):
    return find_contacts(PLANET, STATIONS, START, 6 * 3600, workers=2, min_parallel_samples=0,
                         kernel="numba", preloaded=helper, **kw)
"""


def _group_gone(pgid: int, within_s: float = 5.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def _scenario(body: str) -> str:
    """Run ``body`` after :data:`_PRELUDE` in a fresh interpreter; its stdout."""
    code = _PRELUDE + inspect.getsource(_group_gone) + body
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_the_preloaded_search_gives_the_windows_of_a_search_here():
    out = _scenario("""
here = search()
with preloaded_search(True) as helper:
    assert isinstance(helper, PreloadedSearch)
    pid = helper._process.pid
    there = search(helper)
pd.testing.assert_frame_equal(here, there, check_exact=True)
assert len(here) > 100
assert _group_gone(pid)  # the process and the workers it forked
print("same windows, process group gone")
""")
    assert "same windows, process group gone" in out


def test_an_unused_preloaded_search_is_stopped():
    out = _scenario("""
with preloaded_search(True) as helper:
    pid = helper._process.pid
assert _group_gone(pid)
with preloaded_search(False) as helper:
    assert helper is None
print("stopped")
""")
    assert "stopped" in out


def test_if_the_preloaded_search_stops_the_caller_computes_the_rest():
    out = _scenario("""
here = search()
seen = []
messages = []
class Keep(logging.Handler):
    def emit(self, record):
        messages.append(record.getMessage())
log = logging.getLogger("simulator.orbits.preloaded_search")
log.setLevel(logging.INFO)
log.addHandler(Keep())
with preloaded_search(True) as helper:
    pid = helper._process.pid
    def progress(n):  # after the first chunk arrives, kill the process and its workers
        seen.append(n)
        if len(seen) == 1:
            os.killpg(pid, signal.SIGKILL)
    there = search(helper, progress=progress)
pd.testing.assert_frame_equal(here, there, check_exact=True)
assert sum(seen) == len(PLANET), seen
assert any("stopped" in m for m in messages), messages
print("computed here")
""")
    assert "computed here" in out


def test_handing_over_a_job_does_not_wait_for_the_kernel():
    """The caller hands the job over before it looks the plan up in the cache: that must
    not wait while the process loads (or, the first time, compiles) the kernel, even for
    a job larger than a pipe holds."""
    out = _scenario("""
real = contact_search.warm_up
contact_search.warm_up = lambda kernel: (time.sleep(3), real(kernel))
sats = load_catalog("starlink@2026-06-14").elements  # 1.5 MB of TLE lines
with preloaded_search(True) as helper:
    began = time.monotonic()
    helper.submit(SearchJob([(e.line1, e.line2) for e in sats], None, START, 360.0, 3600.0,
                            "numba", [(0, len(sats))], 2))
    took = time.monotonic() - began
print(f"handed over in {took:.2f} s")
""")
    took = float(out.split("handed over in ")[1].split()[0])
    assert took < 2.0


def test_preloading_is_asked_for_only_when_the_search_will_use_it(tmp_path):
    starlink = list_catalogs()["starlink@2026-06-14"]  # 10,544 satellites
    eo = list_catalogs()["eo@2026-06-14"]  # a few dozen
    assert preload_pays(starlink, 24 * 3600.0, 360.0, 10, 2)
    assert not preload_pays(starlink, 24 * 3600.0, 360.0, 10, 1)  # one worker
    assert not preload_pays(eo, 24 * 3600.0, 360.0, 10, 2)  # runs in the caller
    assert not preload_pays(None, 24 * 3600.0, 360.0, 10, 2)  # a Walker shell
    assert not preload_pays(tmp_path / "missing.tle", 24 * 3600.0, 360.0, 10, 2)
    # the same thresholds as the search: enough samples for workers, enough for numba
    n_sats = starlink.stat().st_size // 140
    cells = search_policy.MIN_PARALLEL_SAMPLES // n_sats + 1
    assert preload_pays(starlink, cells * 360.0, 360.0, 10, 2)
    assert not preload_pays(starlink, (cells - 2) * 360.0, 360.0, 10, 2)
    assert search_policy.AUTO_NUMBA_WORK > n_sats * cells  # one station is not enough
    assert not preload_pays(starlink, cells * 360.0, 360.0, 1, 2)


_BIG = ["contacts", "--tle", "starlink@2026-06-14", "--start", "2026-06-14T12:00:00Z",
        "--hours", "6", "--station", "network:ksat", "--workers", "2"]
#: Long enough (a 48 h search) to be stopped while its workers are still at it.
_LONG = [*_BIG[:5], "--hours", "48", *_BIG[7:]]


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def test_the_contacts_command_searches_in_the_preloaded_process(tmp_path, spaceverse_cache):
    proc = subprocess.run([sys.executable, "-m", "simulator", "-v", *_BIG, "--out", "w.parquet"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "forked from the process that loaded the kernel" in proc.stderr
    table = pd.read_parquet(tmp_path / "w.parquet")
    assert len(table) > 10_000 and table["rise_s"].is_monotonic_increasing
    # again: the plan is cached; the search handed over before the lookup is stopped
    again = subprocess.run([sys.executable, "-m", "simulator", "-v", *_BIG, "--out", "w2.parquet"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "contact windows from cache" in again.stderr and "searching here" not in again.stderr
    pd.testing.assert_frame_equal(table, pd.read_parquet(tmp_path / "w2.parquet"))


def test_an_interrupted_contacts_command_leaves_no_process(tmp_path, spaceverse_cache):
    """Ctrl-C (SIGINT to the command) while the preloaded process searches: exit 130,
    one line, and the process and its workers gone."""
    proc = subprocess.Popen([sys.executable, "-m", "simulator", *_LONG], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    helper = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and helper is None:  # its workers are forked
        for child in _children(proc.pid):
            if _children(child):
                helper = child
        time.sleep(0.02)
    assert helper is not None, "the preloaded process never forked its workers"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    try:
        assert err.strip().splitlines()[-1] == "interrupted" and "Traceback" not in err
        assert _group_gone(helper)
    finally:
        _kill_group(helper)


def test_a_killed_contacts_command_leaves_no_process(tmp_path, spaceverse_cache):
    """SIGKILL to the command while the preloaded process searches (nothing of the
    command runs any more): the process sees the pipe break and stops itself and its
    workers."""
    proc = subprocess.Popen([sys.executable, "-m", "simulator", *_LONG], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    helper = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and helper is None:
        for child in _children(proc.pid):
            if _children(child):
                helper = child
        time.sleep(0.02)
    assert helper is not None, "the preloaded process never forked its workers"
    proc.kill()
    proc.wait(timeout=30)
    try:
        assert _group_gone(helper, within_s=15.0)
    finally:  # (a failure here leaves no process behind either)
        _kill_group(helper)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
