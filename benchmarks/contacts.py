"""Benchmark: contact windows for a whole Starlink snapshot, against Skyfield.

    python benchmarks/contacts.py            # full run (10,544 satellites x 10 stations x 24 h)
    python benchmarks/contacts.py --quick    # 1,000 satellites, for a smoke test

Prints the wall time and peak memory of :func:`simulator.orbits.contacts.find_contacts`
on the 2026-06-14 Starlink catalog, then times Skyfield's ``find_events`` (the
reference) on a random subset of satellite-station pairs *in the same run* and prints
the speed ratio per satellite-station-day.  Targets (issue 2): >= 20x Skyfield,
full run <= 60 s and peak RSS <= 2 GB on 2 cores.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import resource
import sys
import time
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from simulator.orbits.contacts import find_contacts  # noqa: E402
from simulator.orbits.frames import timescale  # noqa: E402
from simulator.orbits.stations import resolve_stations  # noqa: E402
from simulator.orbits.tle import load_catalog  # noqa: E402

STATIONS = ["Shanghai", "Svalbard (ksat)", "Troll (ksat)", "Inuvik", "Hartebeesthoek (ksat)",
            "Singapore (ksat)", "Punta Arenas (ksat)", "Goldstone", "Madrid", "Awarua (ksat)"]
START = datetime(2026, 6, 14, 12, tzinfo=timezone.utc)
DAY_S = 86400.0


def peak_rss_mb() -> tuple[float, float]:
    """(this process, largest finished child) peak resident set size in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, child


def skyfield_time(sats, stations, hours: float) -> tuple[float, int]:
    from skyfield.api import EarthSatellite, wgs84

    ts = timescale()
    t0 = ts.from_datetime(START)
    t1 = ts.from_datetime(START + timedelta(hours=hours))
    tops = [(wgs84.latlon(s.lat_deg, s.lon_deg, s.alt_m), s.min_elevation_deg) for s in stations]
    passes = 0
    begin = time.perf_counter()
    for sat in sats:
        es = EarthSatellite.from_satrec(sat.satrec(), ts)
        for topos, mask in tops:
            _, events = es.find_events(topos, t0, t1, altitude_degrees=mask)
            passes += int((events == 0).sum())
    return time.perf_counter() - begin, passes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 satellites only")
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--reference-sats", type=int, default=60,
                        help="satellites in the Skyfield subset (x 10 stations)")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")

    catalog = load_catalog("starlink@2026-06-14")
    sats = list(catalog.elements)
    if args.quick:
        sats = sats[:1000]
    stations = resolve_stations(STATIONS)
    print(f"catalog starlink@2026-06-14: {len(sats)} satellites x {len(stations)} stations x "
          f"{args.hours:g} h, start {START:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs")

    begin = time.perf_counter()
    windows = find_contacts(sats, stations, START, args.hours * 3600, workers=args.workers)
    ours_s = time.perf_counter() - begin
    own, child = peak_rss_mb()
    pair_days = len(sats) * len(stations) * args.hours / 24
    print(f"spaceverse find_contacts : {ours_s:7.2f} s, {len(windows)} windows, "
          f"{1e6 * ours_s / pair_days:.1f} us per satellite-station-day")
    print(f"peak RSS                 : parent {own:.0f} MB, largest worker {child:.0f} MB")

    rng = random.Random(0)
    subset = rng.sample(sats, min(args.reference_sats, len(sats)))
    ref_s, ref_passes = skyfield_time(subset, stations, args.hours)
    ref_pair_days = len(subset) * len(stations) * args.hours / 24
    sub_begin = time.perf_counter()
    sub = find_contacts(subset, stations, START, args.hours * 3600, workers=1)
    sub_s = time.perf_counter() - sub_begin
    print(f"skyfield find_events     : {ref_s:7.2f} s on {len(subset)} satellites "
          f"({ref_passes} passes), {1e6 * ref_s / ref_pair_days:.1f} us per satellite-station-day")
    print(f"spaceverse, same subset  : {sub_s:7.2f} s, 1 process ({len(sub)} windows)")
    ratio = (ref_s / ref_pair_days) / (ours_s / pair_days)
    print(f"speed ratio vs Skyfield  : {ratio:.1f}x per satellite-station-day (full run vs subset; "
          f"target >= 20x)")
    print(f"targets                  : full run {ours_s:.1f} s (<= 60 s), "
          f"peak RSS {own + child * max(1, (args.workers or os.cpu_count() or 1)):.0f} MB "
          f"upper bound (<= 2048 MB)")


if __name__ == "__main__":
    main()
