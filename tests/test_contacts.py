"""Contact windows: accuracy against Skyfield's find_events, and invariants."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from skyfield.api import EarthSatellite, wgs84

from simulator.errors import InputError
from simulator.orbits import contact_search
from simulator.orbits.contacts import (WINDOW_COLUMNS, cached_contacts, find_contacts,
                                       write_table)
from simulator.orbits.frames import timescale
from simulator.orbits.shells import WalkerShell
from simulator.orbits.stations import GroundStation, load_station_catalog
from simulator.orbits.tle import load_catalog

DAY = 86400.0


# ---------------------------------------------------------------------------
# Reference: Skyfield find_events, adjudicated by dense sampling where it disagrees


def _skyfield_windows(sat, station: GroundStation, start: datetime, duration_s: float):
    """Windows (rise_s, set_s, clipped_start, clipped_end) from find_events."""
    ts = timescale()
    t0 = ts.from_datetime(start)
    t1 = ts.from_datetime(start + timedelta(seconds=duration_s))
    es = EarthSatellite.from_satrec(sat.satrec(), ts)
    topos = wgs84.latlon(station.lat_deg, station.lon_deg, station.alt_m)
    times, events = es.find_events(topos, t0, t1, altitude_degrees=station.min_elevation_deg)
    secs = [(t - t0) * DAY for t in times]
    out, rise = [], None
    open_start = True
    for s, e in zip(secs, events):
        if e == 0:
            rise, open_start = s, False
        elif e == 2:
            out.append((0.0 if rise is None and open_start else rise, s))
            rise, open_start = None, False
        elif e == 1 and rise is None and open_start:
            rise = 0.0  # culmination before any rise: visible at the start
            open_start = False
    if rise is not None:
        out.append((rise, duration_s))
    return [w for w in out if w[0] is not None]


def _dense_altitude(sat, station, start, t_s):
    ts = timescale()
    t = ts.from_datetime(start) + np.asarray(t_s) / DAY
    es = EarthSatellite.from_satrec(sat.satrec(), ts)
    topos = wgs84.latlon(station.lat_deg, station.lon_deg, station.alt_m)
    return (es - topos).at(t).altaz()[0].degrees


def _really_visible(sat, station, start, lo, hi):
    """Dense 0.5 s check that the satellite is above the mask inside (lo, hi)."""
    grid = np.arange(lo + 0.25, hi - 0.25, 0.5)
    if len(grid) == 0:
        return False
    return bool(np.all(_dense_altitude(sat, station, start, grid) >= station.min_elevation_deg - 1e-6))


def _random_pairs(n_pairs: int, seed: int):
    rng = random.Random(seed)
    catalogs = {
        "starlink@2026-06-14": load_catalog("starlink@2026-06-14").elements,
        "planet@2026-06-14": load_catalog("planet@2026-06-14").elements,
        "eo@2026-06-14": load_catalog("eo@2026-06-14").elements,
        "starlink@2024-07-16": load_catalog("starlink@2024-07-16").elements,
    }
    stations = load_station_catalog()
    pairs = []
    for i in range(n_pairs):
        name = rng.choice(list(catalogs))
        sat = rng.choice(catalogs[name])
        station = rng.choice(stations)
        if i % 3 == 0:  # also masks that are not in the catalog
            station = station.with_min_elevation(rng.choice([0.0, 5.0, 15.0, 28.0, 40.0]))
        pairs.append((name, sat, station))
    return pairs


def test_matches_skyfield_find_events_on_random_real_pairs():
    """>= 200 random satellite-station pairs from real catalogs over 24 h.

    Every rise and set matches Skyfield's within 0.5 s (Skyfield's own root finder
    is the coarser of the two: ours are exact roots, see the next test); no pass of
    20 s or more is missed or invented.  Where the two disagree about a pass's existence, a dense
    0.5 s altitude scan with Skyfield decides (and must side with us).
    """
    pairs = _random_pairs(240, seed=20261126)
    starts = {"starlink@2026-06-14": datetime(2026, 6, 14, 12, tzinfo=timezone.utc),
              "planet@2026-06-14": datetime(2026, 6, 14, 12, tzinfo=timezone.utc),
              "eo@2026-06-14": datetime(2026, 6, 14, 12, tzinfo=timezone.utc),
              "starlink@2024-07-16": datetime(2024, 7, 16, 0, tzinfo=timezone.utc)}
    checked = matched = 0
    worst = 0.0
    skyfield_missed = []
    by_catalog: dict[str, list] = {}
    for name, sat, station in pairs:
        by_catalog.setdefault(name, []).append((sat, station))
    for name, group in by_catalog.items():
        start = starts[name]
        for sat, station in group:
            ours = find_contacts([sat], [station], start, DAY, workers=1)
            ref = _skyfield_windows(sat, station, start, DAY)
            checked += 1
            used = set()
            for lo, hi in ref:
                if hi - lo < 20.0:
                    continue
                near = ours[(ours.rise_s < hi + 5) & (ours.set_s > lo - 5)]
                assert len(near) == 1, (sat.name, station.name, lo, hi, ours[["rise_s", "set_s"]])
                row = near.iloc[0]
                used.add(near.index[0])
                d_rise = abs(row.rise_s - lo)
                d_set = abs(row.set_s - hi)
                assert d_rise <= 0.5 and d_set <= 0.5, (sat.name, station.name, lo, hi,
                                                        row.rise_s, row.set_s)
                worst = max(worst, d_rise, d_set)
                matched += 1
            for idx, row in ours.iterrows():
                if idx in used or row.duration_s < 20.0:
                    continue
                if any(lo < row.set_s + 5 and hi > row.rise_s - 5 for lo, hi in ref):
                    continue
                # Skyfield reports nothing here: the dense scan must confirm our pass.
                assert _really_visible(sat, station, start, row.rise_s, row.set_s), \
                    (sat.name, station.name, row.rise_s, row.set_s)
                skyfield_missed.append((sat.name, station.name, row.duration_s))
    assert checked >= 200
    assert matched >= 500, matched
    assert worst <= 0.5
    # Record of the comparison, visible with -s.
    print(f"\n{checked} pairs, {matched} passes matched, worst rise/set difference "
          f"{worst:.3f} s, passes Skyfield missed (confirmed by dense scan): {len(skyfield_missed)}")


def test_rise_set_are_exact_roots_of_the_elevation():
    """At our rise and set times the elevation (Skyfield, no interpolation) equals the mask."""
    sats = load_catalog("eo@2026-06-14").elements
    station = GroundStation("Mid", 45.0, 10.0, 200.0, min_elevation_deg=12.0)
    start = datetime(2026, 6, 14, 12, tzinfo=timezone.utc)
    w = find_contacts(sats, [station], start, DAY, workers=1)
    w = w[~w.open_at_start & ~w.open_at_end]
    assert len(w) > 20
    for sat in sats:
        mine = w[w.satellite == sat.name]
        if len(mine) == 0:
            continue
        t = np.concatenate([mine.rise_s, mine.set_s])
        alt = _dense_altitude(sat, station, start, t)
        assert np.max(np.abs(alt - 12.0)) < 1e-6  # degrees: roots of the SGP4 elevation
        peak = _dense_altitude(sat, station, start, mine.culmination_s.to_numpy())
        assert np.allclose(peak, mine.max_elevation_deg, rtol=0, atol=1e-6)


def test_windows_open_at_the_ends_are_clipped_and_flagged():
    sats = load_catalog("stations@2026-06-14", names=["ISS (ZARYA)"]).elements
    station = GroundStation("Site", 40.0, -3.0, min_elevation_deg=10.0)
    start = datetime(2026, 6, 14, 12, tzinfo=timezone.utc)
    full = find_contacts(sats, [station], start, DAY, workers=1)
    first = full.iloc[0]
    mid = first.rise_s + 0.5 * first.duration_s
    # Start in the middle of the first pass, end in the middle of the second.
    second = full.iloc[1]
    end = second.rise_s + 0.5 * second.duration_s
    clipped = find_contacts(sats, [station], start + timedelta(seconds=mid), end - mid, workers=1)
    assert clipped.iloc[0].open_at_start and clipped.iloc[0].rise_s == 0.0
    assert clipped.iloc[0].set_s == pytest.approx(first.set_s - mid, abs=1e-3)
    assert clipped.iloc[-1].open_at_end
    assert clipped.iloc[-1].set_s == pytest.approx(end - mid)
    assert not clipped.iloc[-1].open_at_start
    assert len(clipped) == 2


def test_same_result_for_every_chunking_and_worker_count(monkeypatch):
    import simulator.orbits.contact_workers as contact_workers
    import simulator.orbits.contacts as contacts

    sats = load_catalog("planet@2026-06-14").elements
    stations = [GroundStation("A", 60.0, 20.0, min_elevation_deg=5.0),
                GroundStation("B", -30.0, 140.0, min_elevation_deg=20.0)]
    start = datetime(2026, 6, 14, 12, tzinfo=timezone.utc)
    base = find_contacts(sats, stations, start, 6 * 3600, workers=1)
    monkeypatch.setattr(contact_workers, "chunk_size", lambda n_t, n_s, w: 7)
    small = find_contacts(sats, stations, start, 6 * 3600, workers=1)
    _assert_same_windows(base, small)
    # Force the process pool even for a small job.
    monkeypatch.setattr(contact_workers, "chunk_size", lambda n_t, n_s, w: 20)
    parallel = contacts.find_contacts(sats, stations, start, 6 * 3600, workers=2,
                                      min_parallel_samples=0)
    _assert_same_windows(base, parallel)
    if contact_search.kernel_available("numba"):  # loaded here, then the workers forked
        compiled = contacts.find_contacts(sats, stations, start, 6 * 3600, workers=2,
                                          min_parallel_samples=0, kernel="numba")
        _assert_same_windows(base, compiled)


def _assert_same_windows(a, b):
    """The same windows, bit for bit (every decision and refinement is per event)."""
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True),
                                  check_exact=True)


def test_grid_step_does_not_change_the_answer():
    sats = load_catalog("eo@2026-06-14").elements
    station = GroundStation("S", 70.0, 20.0, min_elevation_deg=5.0)
    start = datetime(2026, 6, 14, 12, tzinfo=timezone.utc)
    a = find_contacts(sats, [station], start, DAY, step_s=30.0, workers=1)
    b = find_contacts(sats, [station], start, DAY, step_s=120.0, workers=1)
    c = find_contacts(sats, [station], start, DAY, step_s=600.0, workers=1)
    for other in (b, c):  # the same roots of the SGP4 elevation, to rounding
        assert len(a) == len(other)
        for col in ("rise_s", "set_s"):
            assert np.max(np.abs(a[col].to_numpy() - other[col].to_numpy())) < 1e-5
        assert np.max(np.abs(a.culmination_s.to_numpy() - other.culmination_s.to_numpy())) < 1e-2
        assert np.max(np.abs(a.max_elevation_deg.to_numpy()
                             - other.max_elevation_deg.to_numpy())) < 1e-8


def test_cache_roundtrip_and_key(tmp_path):
    sats = load_catalog("eo@2026-06-14").elements
    station = GroundStation("S", 10.0, 20.0, min_elevation_deg=5.0)
    start = datetime(2026, 6, 14, 12, tzinfo=timezone.utc)
    a = cached_contacts(sats, [station], start, 7200, cache_dir=tmp_path)
    files = list(tmp_path.glob("*.parquet"))
    assert len(files) == 1
    b = cached_contacts(sats, [station], start, 7200, cache_dir=tmp_path)
    pd.testing.assert_frame_equal(a, b)
    # A different mask is a different cache entry.
    cached_contacts(sats, [station.with_min_elevation(6.0)], start, 7200, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.parquet"))) == 2
    # A corrupt entry is recomputed, not fatal.
    files[0].write_bytes(b"not parquet")
    c = cached_contacts(sats, [station], start, 7200, cache_dir=tmp_path)
    pd.testing.assert_frame_equal(a, c)


def test_table_columns_and_csv(tmp_path):
    sats = load_catalog("eo@2026-06-14").elements
    station = GroundStation("S", 50.0, 0.0, min_elevation_deg=10.0)
    w = find_contacts(sats, [station], "2026-06-14T12:00:00Z", 7200, workers=1)
    assert list(w.columns) == WINDOW_COLUMNS
    path = write_table(w, tmp_path / "w.csv")
    back = pd.read_csv(path)
    assert list(back.columns) == WINDOW_COLUMNS
    assert back.rise_utc.iloc[0].endswith("Z")
    with pytest.raises(InputError):
        write_table(w, tmp_path / "w.txt")


def test_bad_arguments_raise_input_errors():
    sats = load_catalog("eo@2026-06-14").elements
    station = GroundStation("S", 50.0, 0.0)
    with pytest.raises(InputError, match="no satellites"):
        find_contacts([], [station], "2026-06-14T00:00:00Z", 100)
    with pytest.raises(InputError, match="no ground stations"):
        find_contacts(sats, [], "2026-06-14T00:00:00Z", 100)
    with pytest.raises(InputError, match="ISO 8601"):
        find_contacts(sats, [station], "tomorrow", 100)
    with pytest.raises(InputError, match="duration"):
        find_contacts(sats, [station], "2026-06-14T00:00:00Z", -5)


def test_decayed_satellite_is_left_out_with_a_warning(caplog):
    # STARLINK-1795 re-enters a day or two after its epoch: SGP4 reports it as decayed.
    sats = load_catalog("starlink@2026-06-14", names=["STARLINK-1795", "STARLINK-1008"]).elements
    station = GroundStation("S", 30.0, 0.0, min_elevation_deg=0.0)
    w = find_contacts(sats, [station], "2026-06-14T00:00:00Z", 5 * DAY, workers=1)
    assert "STARLINK-1795" not in set(w.satellite)
    assert "STARLINK-1008" in set(w.satellite)
    assert any("STARLINK-1795" in r.getMessage() for r in caplog.records)


# ---------------------------------------------------------------------------
# Invariants, on random stations and random Walker shells


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lat=st.floats(-89.9, 89.9), lon=st.floats(-180, 179.9), alt_m=st.floats(0, 3000),
       mask=st.floats(0, 60), altitude=st.floats(350, 1500), inc=st.floats(0, 120),
       hours=st.floats(1, 12))
def test_window_invariants(lat, lon, alt_m, mask, altitude, inc, hours):
    shell = WalkerShell(altitude_km=altitude, inclination_deg=inc, planes=3, sats_per_plane=4)
    station = GroundStation("P", lat, lon, alt_m, min_elevation_deg=mask)
    duration = hours * 3600
    w = find_contacts(shell.satrecs(), [station], shell.epoch, duration, workers=1)
    if len(w) == 0:
        return
    assert (w.rise_s <= w.culmination_s).all() and (w.culmination_s <= w.set_s).all()
    inner = w[~w.open_at_start & ~w.open_at_end]
    assert (inner.rise_s < inner.culmination_s).all() and (inner.culmination_s < inner.set_s).all()
    assert (w.max_elevation_deg >= mask - 1e-6).all()
    assert (w.rise_s >= 0).all() and (w.set_s <= duration + 1e-9).all()
    assert np.allclose(w.duration_s, w.set_s - w.rise_s)
    for _, grp in w.groupby("satellite"):
        g = grp.sort_values("rise_s")
        assert (g.rise_s.to_numpy()[1:] > g.set_s.to_numpy()[:-1]).all()  # never overlap
    assert (w.open_at_start == (w.rise_s == 0)).all()


# ---------------------------------------------------------------------------
# Determinism: horizon, kernels; grazing passes; the bounds the screening relies on


def _steady_sample(n: int, seed: int):
    """``n`` Starlink satellites that do not decay within a week (perigee above 400 km)."""
    sats = [s for s in load_catalog("starlink@2026-06-14").elements
            if s.satrec().a * 6378.135 * (1 - s.satrec().ecco) > 6778.0]
    return random.Random(seed).sample(sats, n)


def test_windows_do_not_depend_on_the_horizon():
    """The windows that rise and set inside [0, 24 h] are bit-identical whether the
    search stops at 24 h, at 96 h or at an odd horizon (grids anchored at the start,
    blocks of cells at fixed multiples of the step, refinement per event)."""
    sats = _steady_sample(20, seed=7)
    stations = [GroundStation("A", 60.0, 20.0, min_elevation_deg=5.0),
                GroundStation("B", -30.0, 140.0, min_elevation_deg=20.0),
                GroundStation("C", 31.3, 121.5, min_elevation_deg=25.0)]
    start = datetime(2026, 6, 14, 12, tzinfo=timezone.utc)
    day = find_contacts(sats, stations, start, DAY, workers=1)
    longer = find_contacts(sats, stations, start, 4 * DAY, workers=1)
    odd = find_contacts(sats, stations, start, DAY + 1234.5, workers=1)
    assert len(day) > 150

    def closed(w, t):
        return w[~w.open_at_start & ~w.open_at_end & (w.set_s < t)].reset_index(drop=True)

    _assert_same_windows(closed(day, DAY), closed(longer, DAY))
    _assert_same_windows(closed(day, DAY), closed(odd, DAY))
    # Windows open at the start are the same too (the start is the anchor).
    first = day[day.open_at_start & ~day.open_at_end].reset_index(drop=True)
    _assert_same_windows(first, longer[longer.open_at_start & (longer.set_s < DAY)]
                         .reset_index(drop=True))


@pytest.mark.skipif(not contact_search.kernel_available("numba"), reason="numba not installed")
def test_numba_and_numpy_kernels_give_identical_windows():
    rng = random.Random(3)
    sats = (rng.sample(load_catalog("starlink@2026-06-14").elements, 150)
            + list(load_catalog("stations@2026-06-14").elements)
            + rng.sample(load_catalog("planet@2026-06-14").elements, 40))
    stations = [s.with_min_elevation(m) for s, m in
                zip(rng.sample(load_catalog_stations(), 6), [0.0, 5.0, 10.0, 15.0, 28.0, 40.0])]
    start = datetime(2026, 6, 14, 12, tzinfo=timezone.utc)
    for step in (360.0, 90.0):
        a = find_contacts(sats, stations, start, DAY, step_s=step, workers=1, kernel="numba")
        b = find_contacts(sats, stations, start, DAY, step_s=step, workers=1, kernel="numpy")
        assert len(a) > 500
        _assert_same_windows(a, b)


@pytest.mark.skipif(not contact_search.kernel_available("numba"), reason="numba not installed")
def test_kernels_agree_on_grid_states_and_events():
    """The compiled and numpy screening see the same Earth-fixed states and emit the
    same events, operation for operation."""
    from sgp4.api import SatrecArray

    from simulator.orbits.frames import EarthClock

    recs = [s.satrec() for s in load_catalog("starlink@2026-06-14").elements[:300]]
    st = contact_search.StationArrays.of(load_catalog_stations()[:5])
    bounds = contact_search.satellite_bounds(recs)
    geo = contact_search.make_geometry(bounds, st, 240.0)
    clock = EarthClock(datetime(2026, 6, 14, 12, tzinfo=timezone.utc))
    jd, fr, gmst = clock.angles(contact_search.sub_time(np.arange(91) * geo.n, 240.0, geo.n))
    err, r_teme, v_teme = SatrecArray(recs).sgp4(jd, fr)
    r1, v1, out1 = contact_search.grid_ecef(r_teme, v_teme, gmst, bounds, "numba")
    r2, v2, out2 = contact_search.grid_ecef(r_teme, v_teme, gmst, bounds, "numpy")
    assert np.array_equal(r1, r2) and np.array_equal(v1, v2) and np.array_equal(out1, out2)
    valid = ~out1 & ~(err != 0).any(axis=1)
    e1 = contact_search.screen(r1, v1, valid, 0, geo, "numba")
    e2 = contact_search.screen(r2, v2, valid, 0, geo, "numpy")
    assert len(e1[0]) > 1000
    o1 = np.lexsort((e1[3], e1[1], e1[0]))
    o2 = np.lexsort((e2[3], e2[1], e2[0]))
    for x, y in zip(e1, e2):
        assert np.array_equal(x[o1], y[o2])


@pytest.mark.skipif(not contact_search.kernel_available("numba"), reason="numba not installed")
def test_compiled_kernel_constants_match():
    """numba freezes the kernel's constants into its cache, which only notices edits to
    the kernel's own file: the kernel keeps its own copy, equal to the search's."""
    from simulator.orbits import contact_kernel

    for name in ("MU_KM3_S2", "RE_KM", "J2", "OMEGA_E", "D_FLOOR_KM", "EPS_V_BASE", "RISE",
                 "SET", "PEAK", "AMBIGUOUS"):
        assert getattr(contact_kernel, name) == getattr(contact_search, name), name


@pytest.mark.skipif(not contact_search.kernel_available("numba"), reason="numba not installed")
def test_kernel_loads_without_numbas_blas_probe_and_blas_still_works():
    """Loading the kernel skips numba's BLAS probe (it imports scipy.linalg); numba's flag
    is then set as the probe would have set it, and a function using BLAS still
    compiles and runs (numba imports scipy itself then).  In a fresh process: numba is
    imported once per process."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import sys
        from simulator.orbits import contact_search
        contact_search.warm_up("numba")
        linalg_after_load = "scipy.linalg" in sys.modules
        import numba, numpy as np
        import numba.np.arraymath as arraymath
        assert "scipy.linalg.cython_blas" not in sys.modules or sys.modules[
            "scipy.linalg.cython_blas"] is not None
        flag = arraymath._HAVE_BLAS

        @numba.njit
        def inner(a, b):
            return np.dot(a, b)

        print(linalg_after_load, flag, inner(np.arange(3.0), np.arange(3.0)))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True", "5.0"]


def load_catalog_stations():
    return load_station_catalog()


def test_grazing_passes_are_found():
    """A pass whose peak sits a hair above the mask -- far shorter than the 20 s
    screening sub-step, its peak between two sub-steps -- is found, with exact rise
    and set; a hair below, there is none."""
    sats = _steady_sample(6, seed=11)
    station = GroundStation("G", 47.0, 8.0, min_elevation_deg=0.0)
    start = datetime(2026, 6, 14, 12, tzinfo=timezone.utc)
    base = find_contacts(sats, [station], start, DAY / 2, workers=1)
    inner = base[~base.open_at_start & ~base.open_at_end & (base.max_elevation_deg > 8)]
    assert len(inner) >= 5
    bysat = {s.name: s for s in sats}
    found = 0
    for _, row in inner.head(6).iterrows():
        sat = bysat[row.satellite]
        for delta, expect in ((-2e-4, True), (2e-4, False)):
            mask = row.max_elevation_deg + delta
            w = find_contacts([sat], [station.with_min_elevation(mask)], start, DAY / 2, workers=1)
            near = w[(w.rise_s > row.rise_s - 60) & (w.set_s < row.set_s + 60)]
            assert len(near) == int(expect), (row.satellite, delta, near)
            if expect:
                hit = near.iloc[0]
                assert hit.duration_s < 5.0  # a 2e-4 deg sliver of a pass
                alt = _dense_altitude(sat, station, start, [hit.rise_s, hit.set_s])
                assert np.max(np.abs(alt - mask)) < 1e-6
                mid = _dense_altitude(sat, station, start, [hit.culmination_s])[0]
                assert mid > mask
                found += 1
    assert found >= 5


def test_screening_bounds_hold_on_real_orbits():
    """The bounds the screening proves its exclusions with hold on real SGP4 motion:
    radius and speed inside the element bounds, and the cubic-Hermite interpolation
    error (position and velocity) below its bound, at every sub-step of every cell."""
    from sgp4.api import SatrecArray

    from simulator.orbits.frames import EarthClock, teme_to_ecef

    clock = EarthClock(datetime(2026, 6, 14, 12, tzinfo=timezone.utc))
    for name in ("starlink@2026-06-14", "stations@2026-06-14", "planet@2026-06-14"):
        recs = [s.satrec() for s in load_catalog(name).elements]
        recs = [recs[i] for i in np.random.default_rng(1).permutation(len(recs))[:300]]
        b = contact_search.satellite_bounds(recs)
        for H in (240.0, 360.0, 600.0):
            n = contact_search.sub_steps(H)
            t0 = np.arange(int(DAY / 2 / H)) * H
            tau = np.arange(n + 1) / n
            jd, fr, gmst = clock.angles((t0[:, None] + tau[None, :] * H).ravel())
            err, r, v = SatrecArray(recs).sgp4(jd, fr)
            r, v = teme_to_ecef(r, v, gmst)
            S = len(recs)
            r = r.reshape(S, len(t0), n + 1, 3)
            v = v.reshape(S, len(t0), n + 1, 3)
            ok = ~(err != 0).reshape(S, -1).any(axis=1)
            rho = np.linalg.norm(r, axis=3)[ok]
            speed = np.linalg.norm(v, axis=3)[ok]
            assert (rho >= b["rho_lo"][ok, None, None]).mean() > 0.999  # decaying ones excepted
            assert (rho <= b["rho_hi"][ok, None, None]).all()
            assert (speed <= b["v_max"][ok, None, None]).all()
            r, v = r[ok], v[ok]
            j4 = b["j4"][ok]
            j5 = b["j5"][ok]
            r0, v0, r1, v1 = r[:, :, 0], v[:, :, 0], r[:, :, n], v[:, :, n]
            T = tau[None, None, 1:n, None]
            t2, t3 = T * T, T * T * T
            herm_r = ((2 * t3 - 3 * t2 + 1) * r0[:, :, None] + (t3 - 2 * t2 + T) * H * v0[:, :, None]
                      + (-2 * t3 + 3 * t2) * r1[:, :, None] + (t3 - t2) * H * v1[:, :, None])
            herm_v = ((6 * t2 - 6 * T) / H * (r0 - r1)[:, :, None] + (3 * t2 - 4 * T + 1) * v0[:, :, None]
                      + (3 * t2 - 2 * T) * v1[:, :, None])
            slack = H**5 * j5 / 720 + H * H * contact_search.DA_MODEL / 6
            eps = np.stack([contact_search._cell_eps_v_np(r0[i], v0[i], r1[i], v1[i], H,
                                                          np.full(len(t0), slack[i]))
                            for i in range(len(j4))])
            om = tau[1:n] * (1 - tau[1:n])
            bound_r = (j4[:, None, None] * (H**4 * om * om / 24)[None, None, :]
                       + eps[:, :, None] * (H * om)[None, None, :])
            bound_v = (j4 * H**3 * contact_search.CV)[:, None, None] + eps[:, :, None]
            assert (np.linalg.norm(herm_r - r[:, :, 1:n], axis=3) <= bound_r).all(), (name, H)
            assert (np.linalg.norm(herm_v - v[:, :, 1:n], axis=3) <= bound_v).all(), (name, H)


def test_windows_by_satellite_matches_a_plain_loop():
    """The engine's windows from a contact table: per satellite, in rise order (ties as
    the table's stable sort leaves them), naming the station by index."""
    from types import SimpleNamespace

    import pandas as pd

    from simulator.engine.windows import windows_by_satellite

    rng = np.random.default_rng(4)
    n = 5000
    sats = [SimpleNamespace(name=f"SAT-{i}") for i in range(40)]
    stations = [SimpleNamespace(name=f"GS {j}") for j in range(7)]
    rise = np.round(rng.uniform(0, 86400, n), 0)           # many equal rise times
    table = pd.DataFrame({
        "satellite": pd.array([sats[i].name for i in rng.integers(0, 40, n)], dtype="str"),
        "station": pd.array([stations[j].name for j in rng.integers(0, 7, n)], dtype="str"),
        "rise_s": rise, "set_s": rise + rng.uniform(60, 600, n)})
    got = windows_by_satellite(table, sats, stations)
    expected = [[] for _ in sats]
    sat_of = {s.name: i for i, s in enumerate(sats)}
    st_of = {s.name: j for j, s in enumerate(stations)}
    ordered = table.sort_values("rise_s")
    for name, st, r, s in zip(ordered["satellite"], ordered["station"], ordered["rise_s"],
                              ordered["set_s"]):
        expected[sat_of[name]].append((float(r), float(s), st_of[st]))
    assert [[(w.rise_s, w.set_s, w.station) for w in ws] for ws in got] == expected
    with pytest.raises(KeyError, match="GS 9"):
        windows_by_satellite(table.assign(station="GS 9"), sats, stations)
