"""Benchmark: contact windows for a whole Starlink snapshot, against Skyfield.

    python benchmarks/contacts.py              # full: 10,544 satellites x 10 stations x 24 h,
                                               # 3 repetitions, then 168 h for memory
    python benchmarks/contacts.py --quick      # 1,000 satellites, 1 repetition, no 168 h run

Each repetition times, in this order:

* Skyfield's ``EarthSatellite.find_events`` (the reference) on a subset of satellites
  spread evenly over the catalogue (every k-th; a different fixed set in each
  repetition) x the same stations x the same span, single-threaded in this process;
* a whole ``spaceverse contacts`` process (imports, catalog, search, table, cache
  write, summary) with a *cold* contact cache, ``--workers 1``;
* the same with ``--workers 2``;
* Skyfield on the same subset again.

Ratios are per satellite-station-day against the mean of the two Skyfield times of the
*same* repetition (before and after: a machine whose speed drifts during the repetition
moves both sides): **per core** (1 worker vs single-threaded Skyfield) and **per machine**
(2 workers).  Peak resident memory of the ``spaceverse`` process and of its largest
worker is read from ``/proc`` (VmHWM) while they run, and the peak proportional set
size of the whole process tree (shared pages -- libraries, pages a forked worker
still shares with its parent -- counted once).  The numba kernel is compiled once
before timing (as after installation); the compile time of a first-ever run is
reported separately.  The grid step is passed explicitly (``--step``): the CLI's own
default is older.  Targets (issue 14): >= 50x per core, >= 100x with 2 workers,
<= 1 GB for 168 h of the full catalogue.  On a shared machine, read the minimum and
the median over the repetitions.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from simulator.orbits.frames import timescale  # noqa: E402
from simulator.orbits.stations import resolve_stations  # noqa: E402
from simulator.orbits.tle import load_catalog  # noqa: E402

CATALOG = "starlink@2026-06-14"
STATIONS = ["Shanghai", "Svalbard (ksat)", "Troll (ksat)", "Inuvik", "Hartebeesthoek (ksat)",
            "Singapore (ksat)", "Punta Arenas (ksat)", "Goldstone", "Madrid", "Awarua (ksat)"]
START = "2026-06-14T12:00:00Z"
STEP_S = 360.0  # the default of find_contacts (the CLI still passes --step 60 unless told)


def _hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kb(pid: int) -> int:
    """Proportional set size: shared pages (imported libraries, pages a forked worker still
    shares with its parent) split between the processes that map them."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                out += [int(x) for x in fh.read().split()]
    except OSError:
        pass
    return out


def write_subset(sats, path: str) -> str:
    """A TLE file holding ``sats`` (three-line records)."""
    with open(path, "w") as fh:
        for s in sats:
            fh.write(f"{s.name}\n{s.line1}\n{s.line2}\n")
    return path


def run_cli(hours: float, workers: int, tle: str = CATALOG, env_extra=None) -> dict:
    """One cold ``spaceverse contacts`` process: wall time, peak RSS (MB), passes."""
    cmd = [sys.executable, "-m", "simulator", "contacts", "--tle", tle, "--start", START,
           "--hours", f"{hours:g}", "--step", f"{STEP_S:g}", "--workers", str(workers)]
    for st in STATIONS:
        cmd += ["--station", st]
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, SPACEVERSE_CACHE=cache, COLUMNS="200")
        env.update(env_extra or {})
        peak = {"parent": 0, "worker": 0, "total_pss": 0}
        begin = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env, cwd=os.path.join(os.path.dirname(__file__), ".."))
        done = threading.Event()

        def watch():
            tick = 0
            while not done.is_set():
                peak["parent"] = max(peak["parent"], _hwm_kb(proc.pid))
                children = _children(proc.pid)
                for child in children:
                    peak["worker"] = max(peak["worker"], _hwm_kb(child))
                if tick % 5 == 0:  # the whole tree's memory, shared pages counted once
                    total = _pss_kb(proc.pid) + sum(_pss_kb(c) for c in children)
                    peak["total_pss"] = max(peak["total_pss"], total)
                tick += 1
                done.wait(0.02)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        out, err = proc.communicate()
        wall = time.perf_counter() - begin
        done.set()
        watcher.join()
    if proc.returncode != 0:
        raise RuntimeError(f"spaceverse contacts failed ({proc.returncode}):\n{err[-2000:]}")
    passes = None
    for line in out.splitlines():
        found = re.search(r"UTC, (\d+) passes", line)
        if found:
            passes = int(found.group(1))
    return {"wall": wall, "parent_mb": peak["parent"] / 1024, "worker_mb": peak["worker"] / 1024,
            "total_pss_mb": peak["total_pss"] / 1024, "passes": passes}


def skyfield_us_per_pair_day(sats, stations, hours: float) -> tuple[float, int]:
    from skyfield.api import EarthSatellite, wgs84

    from simulator.orbits.frames import as_utc

    ts = timescale()
    start = as_utc(START)
    t0 = ts.from_datetime(start)
    t1 = ts.from_datetime(start + timedelta(hours=hours))
    tops = [(wgs84.latlon(s.lat_deg, s.lon_deg, s.alt_m), s.min_elevation_deg) for s in stations]
    passes = 0
    begin = time.perf_counter()
    for sat in sats:
        es = EarthSatellite.from_satrec(sat.satrec(), ts)
        for topos, mask in tops:
            _, events = es.find_events(topos, t0, t1, altitude_degrees=mask)
            passes += int((events == 0).sum())
    elapsed = time.perf_counter() - begin
    return 1e6 * elapsed / (len(sats) * len(stations) * hours / 24), passes


def reference_subset(sats, n: int, rep: int) -> list:
    """``n`` satellites spread evenly over the catalogue (every k-th), a different fixed
    set in each repetition: the reference covers every shell, and reruns measure the
    same satellites."""
    step = max(1, len(sats) // max(1, n))
    return sats[rep % step::step][:n]


def _mm(values, fmt="{:.1f}") -> str:
    return f"min {fmt.format(min(values))}, median {fmt.format(statistics.median(values))}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 satellites, one repetition")
    parser.add_argument("--repeat", type=int, default=None, help="repetitions (default 3; quick 1)")
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--reference-sats", type=int, default=40,
                        help="satellites in each Skyfield subset (x 10 stations)")
    parser.add_argument("--week-hours", type=float, default=168.0,
                        help="span of the memory run (0: skip)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    repeat = args.repeat or (1 if args.quick else 3)

    sats = list(load_catalog(CATALOG).elements)
    scratch = tempfile.mkdtemp(prefix="bench-contacts-")
    tle = CATALOG
    if args.quick:
        sats = sats[:1000]
        tle = write_subset(sats, os.path.join(scratch, "quick.tle"))
    small = write_subset(sats[:2000], os.path.join(scratch, "small.tle"))  # big enough for numba
    stations = resolve_stations(STATIONS)
    pair_days = len(sats) * len(stations) * args.hours / 24
    print(f"{CATALOG}: {len(sats)} satellites x {len(stations)} stations x {args.hours:g} h "
          f"from {START}, grid {STEP_S:g} s, {os.cpu_count()} CPUs; {repeat} repetition(s)")

    # Compile the numba kernel into its on-disk cache (as after installation), and time
    # a first-ever run separately.
    with tempfile.TemporaryDirectory() as jit:
        first = run_cli(24.0, 1, small, {"NUMBA_CACHE_DIR": jit})
    warm = run_cli(24.0, 1, small)
    print(f"first-ever run (2,000 satellites x 24 h, numba compiling the kernel): "
          f"{first['wall']:.1f} s; with the compiled kernel cached: {warm['wall']:.1f} s")

    from simulator.orbits.contacts import DEFAULT_STEP_S, find_contacts

    rows = []
    for rep in range(repeat):
        subset = reference_subset(sats, args.reference_sats, rep)
        before_us, ref_passes = skyfield_us_per_pair_day(subset, stations, args.hours)
        one = run_cli(args.hours, 1, tle)
        two = run_cli(args.hours, 2, tle)
        after_us, _ = skyfield_us_per_pair_day(subset, stations, args.hours)
        ref_us = (before_us + after_us) / 2
        search = {}
        for workers in (1, 2):  # the search alone, in this process (no CLI around it)
            begin = time.perf_counter()
            find_contacts(sats, stations, START, args.hours * 3600, step_s=DEFAULT_STEP_S,
                          workers=workers)
            search[workers] = time.perf_counter() - begin
        us1 = 1e6 * one["wall"] / pair_days
        us2 = 1e6 * two["wall"] / pair_days
        row = {"ref_us": ref_us, "one": one, "two": two, "core": ref_us / us1,
               "machine": ref_us / us2, "search": search,
               "search_core": ref_us / (1e6 * search[1] / pair_days),
               "search_machine": ref_us / (1e6 * search[2] / pair_days)}
        rows.append(row)
        print(f"[{rep + 1}/{repeat}] skyfield {ref_us:5.0f} us/pair-day (before {before_us:.0f}, "
              f"after {after_us:.0f}; {len(subset)} sats, "
              f"{ref_passes} passes) | 1 worker {one['wall']:6.2f} s, {one['passes']} passes, "
              f"RSS {one['parent_mb']:.0f} MB | 2 workers {two['wall']:6.2f} s, RSS parent "
              f"{two['parent_mb']:.0f} MB + worker {two['worker_mb']:.0f} MB (tree PSS "
              f"{two['total_pss_mb']:.0f} MB) | {row['core']:.1f}x per core, "
              f"{row['machine']:.1f}x per machine", flush=True)

    print()
    print(f"skyfield find_events      : {_mm([r['ref_us'] for r in rows], '{:.0f}')} us per "
          f"satellite-station-day (single-threaded)")
    print(f"spaceverse, 1 worker      : {_mm([r['one']['wall'] for r in rows], '{:.2f}')} s "
          f"(whole process, cold cache); peak RSS {max(r['one']['parent_mb'] for r in rows):.0f} MB")
    print(f"spaceverse, 2 workers     : {_mm([r['two']['wall'] for r in rows], '{:.2f}')} s; "
          f"peak RSS parent {max(r['two']['parent_mb'] for r in rows):.0f} MB, largest worker "
          f"{max(r['two']['worker_mb'] for r in rows):.0f} MB")
    print(f"ratio per core (1 worker) : {_mm([r['core'] for r in rows])} x Skyfield (target >= 50x)")
    print(f"ratio per machine (2 wkr) : {_mm([r['machine'] for r in rows])} x Skyfield "
          f"(target >= 100x)")
    print(f"search alone (in-process) : 1 worker {_mm([r['search'][1] for r in rows], '{:.2f}')} s "
          f"= {_mm([r['search_core'] for r in rows])} x; 2 workers "
          f"{_mm([r['search'][2] for r in rows], '{:.2f}')} s = "
          f"{_mm([r['search_machine'] for r in rows])} x Skyfield")

    if args.week_hours and not args.quick:
        for workers in (2, 1):
            week = run_cli(args.week_hours, workers, tle)
            print(f"{args.week_hours:g} h, full catalogue, {workers} worker(s): {week['wall']:.1f} s, "
                  f"{week['passes']} passes; peak RSS parent {week['parent_mb']:.0f} MB"
                  + (f", largest worker {week['worker_mb']:.0f} MB" if workers > 1 else "")
                  + f"; peak PSS of the whole process tree {week['total_pss_mb']:.0f} MB "
                  f"(target <= 1024 MB)", flush=True)


if __name__ == "__main__":
    main()
