"""Where a satellite stands in a ground station's sky: slant range and elevation.

The contact search (:mod:`simulator.orbits.contacts`) tells *when* a satellite is
in view.  A link-budget model also needs *how far away* it is, and the transfer
model needs the light-time delay.  :class:`PassGeometry` answers both for any
satellite x station pair at any simulation time, given in seconds since the
scenario start::

    >>> from datetime import datetime, timezone
    >>> from simulator.orbits.stations import GroundStation
    >>> from simulator.orbits.tle import load_catalog
    >>> sats = load_catalog("eo@2026-06-14", names=["SENTINEL-2A"]).elements
    >>> geometry = PassGeometry(sats, [GroundStation("Svalbard", 78.23, 15.41)],
    ...                         datetime(2026, 6, 14, tzinfo=timezone.utc))
    >>> rng, el = geometry.range_and_elevation(0, 0, 1200.0)   # 20 minutes in
    >>> round(rng), round(el)
    (2101, 14)

Times may be a single float or an array (the work is then vectorised)::

    >>> geometry.elevation_deg(0, 0, [1020.0, 1200.0, 1380.0]).round(1)
    array([10.5, 13.9,  8.1])

The computation is the one the contact search uses, so that a window found there
and the geometry reported here agree: the satellite is propagated with SGP4 at the
UTC Julian dates of :meth:`TimeGrid.at <simulator.orbits.frames.TimeGrid.at>`,
rotated from TEME into the Earth-fixed frame with GMST
(:func:`~simulator.orbits.frames.teme_to_ecef`), and compared with the station's
Earth-fixed position.  With ``d = r_sat - r_station``::

    range_km      = |d|
    elevation_deg = asin(d . up / |d|)       (up: the WGS84 ellipsoid normal)

Elevation is geometric (no refraction).  The results agree with Skyfield's
``(EarthSatellite - wgs84.latlon(...)).at(t).altaz()`` to about 1e-11 degrees
and 1e-9 km over a day (Skyfield 1.55, no polar-motion table loaded;
``tests/test_links.py`` checks 1e-4 degrees and 1 m).

Times at which SGP4 cannot propagate a satellite (decayed, bad elements) give
``nan`` and a warning in the log, rather than an exception in the middle of a
simulation.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from functools import lru_cache
from typing import Sequence

import numpy as np

from ..errors import InputError
from .contacts import SatelliteOrbit, as_orbits
from .frames import EarthClock, TimeGrid, as_utc, teme_to_ecef

logger = logging.getLogger(__name__)

__all__ = ["PassGeometry"]


class PassGeometry:
    """Slant range and elevation of satellites seen from ground stations.

    ``orbits`` holds TLE element sets, ``(name, norad_id, Satrec)`` tuples or
    :class:`~simulator.orbits.contacts.SatelliteOrbit` (anything
    :func:`~simulator.orbits.contacts.as_orbits` accepts); ``stations`` holds
    :class:`~simulator.orbits.stations.GroundStation` objects; ``start`` is the
    scenario start (a datetime, or an ISO 8601 string; naive means UTC).
    Satellites and stations are then addressed by their index in these
    sequences, the way the contact table's ``sat`` index and the simulator do.

    Scalar queries are cached (``cache_size`` most recent satellite positions),
    because a simulator asks about the same satellite at the same instant for
    several stations, and for the rate and the delay separately.
    """

    def __init__(self, orbits: Sequence[SatelliteOrbit], stations: Sequence,
                 start: datetime | str, *, cache_size: int = 4096):
        self.orbits = as_orbits(orbits)
        self.stations = list(stations)
        self.start = as_utc(start)
        if not self.orbits:
            raise InputError("pass geometry: no satellites; expected at least one orbit")
        if not self.stations:
            raise InputError("pass geometry: no ground stations; expected at least one")
        self._station_pos = [np.asarray(s.itrs_km(), dtype=float) for s in self.stations]
        self._station_up = [np.asarray(s.up_unit(), dtype=float) for s in self.stations]
        self._station_array = np.asarray(self._station_pos, dtype=float).reshape(-1, 3)
        self._warned: set[int] = set()
        self._scalar_position = lru_cache(maxsize=cache_size)(self._position_one)
        # one clock for every query: its UT1 knots are computed once (a time's angle
        # does not depend on the other times asked with it: EarthClock)
        self._clock = EarthClock(self.start)

    def __repr__(self) -> str:
        return (f"PassGeometry({len(self.orbits)} satellites, {len(self.stations)} stations, "
                f"start={self.start.isoformat()})")

    # -- indices ------------------------------------------------------------

    def _check(self, sat: int, station: int) -> None:
        if not 0 <= sat < len(self.orbits) or isinstance(sat, bool):
            raise InputError(f"satellite index {sat!r} out of range; "
                             f"expected 0..{len(self.orbits) - 1}")
        if not 0 <= station < len(self.stations) or isinstance(station, bool):
            raise InputError(f"station index {station!r} out of range; "
                             f"expected 0..{len(self.stations) - 1}")

    # -- positions ------------------------------------------------------------

    def position_km(self, sat: int, t_s: float | np.ndarray) -> np.ndarray:
        """Earth-fixed position of satellite ``sat`` in km, shape ``(3,)`` or ``(T, 3)``."""
        self._check(sat, 0)
        if np.ndim(t_s) == 0:
            return self._scalar_position(sat, float(t_s)).copy()
        return self._positions(sat, np.asarray(t_s, dtype=float))

    def _position_one(self, sat: int, t_s: float) -> np.ndarray:
        return self._positions(sat, np.array([t_s]))[0]

    def _positions(self, sat: int, t_s: np.ndarray) -> np.ndarray:
        if t_s.size == 0:
            return np.empty((0, 3))
        if not np.all(np.isfinite(t_s)):
            raise InputError("pass geometry: times must be finite numbers of seconds")
        grid = TimeGrid.at(self.start, t_s.ravel(), self._clock)
        err, r_teme, v_teme = self.orbits[sat].satrec.sgp4_array(grid.jd, grid.fr)
        r, _ = teme_to_ecef(np.asarray(r_teme), np.asarray(v_teme), grid.gmst_rad)
        failed = np.asarray(err) != 0
        if failed.any():
            r[failed] = np.nan
            if sat not in self._warned:
                self._warned.add(sat)
                logger.warning("satellite %s: SGP4 cannot propagate it at %d of %d requested "
                               "times (decayed or bad elements); its range there is nan",
                               self.orbits[sat].name, int(failed.sum()), failed.size)
        return r.reshape(t_s.shape + (3,))

    # -- range and elevation ---------------------------------------------------

    def range_and_elevation(self, sat: int, station: int, t_s: float | np.ndarray):
        """``(range_km, elevation_deg)`` of ``sat`` seen from ``station`` at ``t_s``.

        Floats for a scalar ``t_s``, arrays of its shape otherwise.
        """
        self._check(sat, station)
        scalar = np.ndim(t_s) == 0
        r = self.position_km(sat, t_s)
        d = r - self._station_pos[station]
        rng = np.sqrt(np.sum(d * d, axis=-1))
        with np.errstate(invalid="ignore", divide="ignore"):
            sin_el = np.clip((d @ self._station_up[station]) / rng, -1.0, 1.0)
        el = np.degrees(np.arcsin(sin_el))
        if scalar:
            return float(rng), float(el)
        return rng, el

    def range_km(self, sat: int, station: int, t_s: float | np.ndarray):
        """Slant range (km) between the station and the satellite."""
        return self.range_and_elevation(sat, station, t_s)[0]

    def range_km_many(self, sat, station, t_s) -> np.ndarray:
        """Slant ranges (km) of many (satellite, station, time) triples at once.

        Arrays that broadcast together; the result has their shape.  The values
        are :meth:`range_km`'s, bit for bit (every step is elementwise and a time's
        Earth rotation does not depend on the other times: ``EarthClock``), with
        the rotation computed once for all times and SGP4 called once per satellite.
        """
        sat, station, t = np.broadcast_arrays(np.asarray(sat, dtype=np.int64),
                                              np.asarray(station, dtype=np.int64),
                                              np.asarray(t_s, dtype=float))
        shape = t.shape
        sat, station, t = sat.ravel(), station.ravel(), t.ravel()
        n = len(t)
        if n == 0:
            return np.empty(shape)
        bad = np.flatnonzero((sat < 0) | (sat >= len(self.orbits)) | (station < 0)
                             | (station >= len(self.stations)))
        if len(bad):
            self._check(int(sat[bad[0]]), int(station[bad[0]]))
        if not np.all(np.isfinite(t)):
            raise InputError("pass geometry: times must be finite numbers of seconds")
        jd, fr, gmst = self._clock.angles(t)
        first = int(sat[0])
        if (sat == first).all():   # one satellite (a window): no grouping
            r_teme, failed = self._teme(first, jd, fr)
        else:
            r_teme = np.empty((n, 3))
            failed = np.zeros(n, dtype=bool)
            order = np.argsort(sat, kind="stable")
            sats, cuts = np.unique(sat[order], return_index=True)
            for k, a, b in zip(sats.tolist(), cuts.tolist(), np.append(cuts[1:], n).tolist()):
                rows = order[a:b]
                r_teme[rows], failed[rows] = self._teme(k, jd[rows], fr[rows])
        c, s = np.cos(gmst), np.sin(gmst)   # as teme_to_ecef rotates positions
        x, y = r_teme[:, 0], r_teme[:, 1]
        r = np.empty((n, 3))
        r[:, 0] = c * x + s * y
        r[:, 1] = -s * x + c * y
        r[:, 2] = r_teme[:, 2]
        if failed.any():
            r[failed] = np.nan
        d = r - self._station_array[station]
        return np.sqrt(np.sum(d * d, axis=-1)).reshape(shape)

    def _ranges_one(self, sat: int, station: int, t: np.ndarray) -> np.ndarray:
        """:meth:`range_km_many` for one satellite, one station and finite times (no
        checks: the quickest way to sample one contact window)."""
        jd, fr, gmst = self._clock.angles(t)
        r_teme, failed = self._teme(sat, jd, fr)
        c, s = np.cos(gmst), np.sin(gmst)
        x, y = r_teme[:, 0], r_teme[:, 1]
        r = np.empty((len(t), 3))
        r[:, 0] = c * x + s * y
        r[:, 1] = -s * x + c * y
        r[:, 2] = r_teme[:, 2]
        if failed.any():
            r[failed] = np.nan
        d = r - self._station_array[station]
        return np.sqrt(np.sum(d * d, axis=-1))

    def _teme(self, k: int, jd: np.ndarray, fr: np.ndarray):
        """SGP4 positions (TEME, km) of satellite ``k``, and where it failed."""
        err, r, _ = self.orbits[k].satrec.sgp4_array(jd, fr)
        failed = np.asarray(err) != 0
        if failed.any() and k not in self._warned:
            self._warned.add(k)
            logger.warning("satellite %s: SGP4 cannot propagate it at %d of %d requested times "
                           "(decayed or bad elements); its range there is nan",
                           self.orbits[k].name, int(failed.sum()), failed.size)
        return r, failed

    def elevation_deg(self, sat: int, station: int, t_s: float | np.ndarray):
        """Geometric elevation (degrees) of the satellite above the station's horizon."""
        return self.range_and_elevation(sat, station, t_s)[1]


def _bisect_many(values: np.ndarray, x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``bisect.bisect_right(values, x[i], lo[i], hi[i])`` for every ``i`` at once (the same
    probes in the same order, so the same answer on any sequence, sorted or not)."""
    lo, hi = lo.astype(np.int64, copy=True), hi.astype(np.int64, copy=True)
    active = lo < hi
    while active.any():
        idx = np.flatnonzero(active)
        mid = (lo[idx] + hi[idx]) // 2
        right = values[mid] <= x[idx]
        lo[idx] = np.where(right, mid + 1, lo[idx])
        hi[idx] = np.where(right, hi[idx], mid)
        active[idx] = lo[idx] < hi[idx]
    return lo


class _PairBlocks:
    """``(satellite, station) -> (lo, hi)``: where a pair's windows lie in a
    :class:`RangeTable`'s arrays (a dict's ``get``/``[]`` over two dense arrays indexed by
    ``satellite * stations + station``: a few bytes a pair where a dict takes hundreds)."""

    def __init__(self, keys: np.ndarray, lo: np.ndarray, hi: np.ndarray, n_stations: int):
        from array import array

        self._n = n_stations
        size = int(keys.max()) + 1 if len(keys) else 0
        start = np.full(size, -1, dtype=np.int64)
        end = np.full(size, -1, dtype=np.int64)
        start[keys], end[keys] = lo, hi
        self._lo, self._hi = array("q", start.tobytes()), array("q", end.tobytes())
        self._count = len(keys)

    def __len__(self) -> int:
        return self._count

    def get(self, key, default=None):
        sat, station = key
        if not 0 <= station < self._n or sat < 0:
            return default
        i = sat * self._n + station
        if i >= len(self._lo) or self._lo[i] < 0:
            return default
        return self._lo[i], self._hi[i]

    def __getitem__(self, key):
        got = self.get(key)
        if got is None:
            raise KeyError(key)
        return got


#: Samples a :class:`RangeTable` hands to SGP4 at once when it samples many windows.
FILL_SAMPLES = 262_144


class RangeTable:
    """Slant ranges through contact windows, for fast lookups in the event loop.

    The event loop needs the range (for the propagation delay and the TCP round
    trip) once or twice per transmitted sample; propagating SGP4 each time costs
    far more than the rest of the event.  Ranges are sampled every ``step_s``
    seconds through a window and interpolated linearly: near a zenith pass at
    550 km the range curves by at most ~0.1 km/s^2, so a 10 s step is within
    ~1 km (3 microseconds of delay).

    **Lazy and array-backed.**  The windows are kept as arrays (satellite-station
    pair by pair, each pair's windows in the order given); a window is sampled
    (one vectorised SGP4 call, or one for many windows: :meth:`prefetch`) the
    first time a time in or next to it is asked for, into one flat array of
    sample times and ranges.  A run samples only the windows that carry a
    transfer.  The values are those of sampling every window of a pair at once
    and interpolating along the pair's concatenated samples (between two windows
    of the pair: from the last sample of one to the first of the next); times
    before the pair's first window or after its last, and pairs without a
    window, fall back to :class:`PassGeometry`.  A pair whose windows overlap
    (never from the contact search) is sampled as one table.

    :meth:`range_km` answers one time (bisection in Python, the quickest for
    one); :meth:`range_km_many` many at once (the same bisections and arithmetic
    in numpy, bit for bit).
    """

    def __init__(self, geometry: PassGeometry, windows, step_s: float = 10.0):
        import bisect
        from array import array

        self._bisect = bisect.bisect_right
        self.geometry = geometry
        self.step_s = step_s
        self.sampled_windows = 0     #: windows sampled so far
        self.sampling_s = 0.0        #: seconds spent sampling them
        flat = getattr(windows, "arrays", None)  # the same windows as arrays, in this order
        if flat is not None:
            sat, station, rise, set_ = (np.asarray(flat[0], dtype=np.int64),
                                        np.asarray(flat[1], dtype=np.int64),
                                        np.asarray(flat[2], dtype=float),
                                        np.asarray(flat[3], dtype=float))
        else:
            sats, stations, rises, sets = [], [], [], []
            for k, sat_windows in enumerate(windows):
                for w in sat_windows:
                    sats.append(k)
                    stations.append(w.station)
                    rises.append(w.rise_s)
                    sets.append(w.set_s)
            rise = np.asarray(rises, dtype=float)
            set_ = np.asarray(sets, dtype=float)
            sat = np.asarray(sats, dtype=np.int64)
            station = np.asarray(stations, dtype=np.int64)
            del sats, stations, rises, sets
        keep = set_ < np.inf           # endless windows (always connected) have no table
        rise, set_, sat, station = rise[keep], set_[keep], sat[keep], station[keep]
        n_stations = len(getattr(geometry, "stations", ()))
        self._n_stations = max(n_stations, int(station.max()) + 1 if len(station) else 0, 1)
        key = sat * self._n_stations + station
        order = np.argsort(key, kind="stable")   # pair by pair, each in the given order
        self._key = key[order]
        self._sat, self._station = sat[order], station[order]
        # array("d") for quick scalar reads, numpy views of the same memory for array work
        self._rise_a = array("d", rise[order].tobytes())
        self._set_a = array("d", set_[order].tobytes())
        self._rise = np.frombuffer(self._rise_a, dtype=float)
        self._set = np.frombuffer(self._set_a, dtype=float)
        del rise, set_
        # where each window's samples start in the flat arrays (-1: not sampled yet)
        self._offset = array("q", np.full(len(order), -1, dtype=np.int64).tobytes())
        self._count = array("q", bytes(8 * len(order)))
        self._times, self._ranges = array("d"), array("d")   # the samples, window after window
        self._last = (-1, -1, 0.0, 0.0, [], [])
        cuts = np.flatnonzero(np.diff(self._key)) + 1
        self._block_lo = np.concatenate(([0], cuts)).astype(np.int64)
        self._block_hi = np.concatenate((cuts, [len(order)])).astype(np.int64)
        self._block_key = self._key[self._block_lo] if len(order) else np.zeros(0, np.int64)
        self._blocks = _PairBlocks(self._block_key, self._block_lo, self._block_hi,
                                   self._n_stations)
        # pairs whose windows overlap, or are not in rise order: one table (the plain way)
        odd = np.zeros(len(order), dtype=bool)
        if len(order) > 1:
            same = self._key[1:] == self._key[:-1]
            odd[1:] = same & (self._rise[1:] < self._set[:-1])
        self._eager: dict = {}
        for k in np.unique(self._key[odd]).tolist():
            self._eager[(k // self._n_stations, k % self._n_stations)] = None

    def __repr__(self) -> str:
        return (f"RangeTable({len(self._blocks)} pairs, {self.sampled_windows} of "
                f"{len(self._rise)} windows sampled)")

    # -- samples --------------------------------------------------------------

    def _samples(self, rise: float, set_s: float) -> np.ndarray:
        return np.append(np.arange(rise, set_s, self.step_s), set_s)

    def _fill(self, windows) -> None:
        """Sample the windows ``windows`` (indices, not yet sampled) in one batch."""
        windows = [int(w) for w in windows if self._offset[int(w)] < 0]
        if not windows:
            return
        begin = time.perf_counter()
        try:
            times = [self._samples(self._rise_a[w], self._set_a[w]) for w in windows]
            sizes = [len(x) for x in times]
            flat_t = np.concatenate(times)
            if len(windows) == 1 and hasattr(self.geometry, "_ranges_one"):
                w = windows[0]
                flat_r = self.geometry._ranges_one(int(self._sat[w]), int(self._station[w]),
                                                   flat_t)
            elif hasattr(self.geometry, "range_km_many"):
                # in slices of samples (the values are elementwise, so the same), so that a
                # batch of 100,000 windows does not hold SGP4's scratch for all at once
                idx = np.asarray(windows, dtype=np.int64)
                sats = np.repeat(self._sat[idx], sizes)
                stations = np.repeat(self._station[idx], sizes)
                flat_r = np.empty(len(flat_t))
                for lo in range(0, len(flat_t), FILL_SAMPLES):
                    hi = lo + FILL_SAMPLES
                    flat_r[lo:hi] = self.geometry.range_km_many(sats[lo:hi], stations[lo:hi],
                                                                flat_t[lo:hi])
            else:
                flat_r = np.concatenate([
                    np.asarray(self.geometry.range_km(int(self._sat[w]), int(self._station[w]),
                                                      x), dtype=float)
                    for w, x in zip(windows, times)])
            flat_r = np.asarray(flat_r, dtype=float)
            start = len(self._times)
            self._times.frombytes(flat_t.tobytes())
            self._ranges.frombytes(flat_r.tobytes())
            for w, x, n in zip(windows, times, sizes):
                self._offset[w], self._count[w] = start, n
                start += n
                if n > 1 and not (x[1:] > x[:-1]).all():  # a rounding oddity of arange
                    self._eager[(int(self._sat[w]), int(self._station[w]))] = None
                    self._last = (-1, -1, 0.0, 0.0, [], [])
        finally:
            self.sampled_windows += len(windows)
            self.sampling_s += time.perf_counter() - begin

    def _eager_table(self, key):
        """The pair ``key`` as one table (the plain algorithm, for odd windows)."""
        table = self._eager[key]
        if table is None:
            lo, hi = self._blocks[key]
            times = np.concatenate([self._samples(self._rise_a[w], self._set_a[w])
                                    for w in range(lo, hi)])
            ranges = np.asarray(self.geometry.range_km(key[0], key[1], times), dtype=float)
            table = self._eager[key] = (times.tolist(), ranges.tolist())
        return table

    def prefetch(self, sat, station, t_s) -> int:
        """Sample, in one batch, the windows that contain these (satellite, station, time)
        triples (a guess of where transfers will happen: any guess gives the same
        values, a good one saves sampling windows one at a time).  Returns how many."""
        j, inside, _ = self._locate(sat, station, t_s)
        wanted = np.unique(j[inside])
        wanted = wanted[np.frombuffer(self._offset, dtype=np.int64)[wanted] < 0]
        self._fill(wanted.tolist())
        return len(wanted)

    # -- lookups -------------------------------------------------------------

    def range_km(self, sat: int, station: int, t_s: float) -> float:
        last = self._last   # the window interpolated in last: most lookups fall in it again
        if last[0] == sat and last[1] == station and last[2] <= t_s < last[3]:
            times, r = last[4], last[5]
            k = self._bisect(times, t_s)
            t0, t1 = times[k - 1], times[k]
            if t1 - t0 > 0:
                return r[k - 1] + (r[k] - r[k - 1]) * (t_s - t0) / (t1 - t0)
            return float(self.geometry.range_km(sat, station, t_s))
        key = (sat, station)
        block = self._blocks.get(key)
        if block is None:
            return float(self.geometry.range_km(sat, station, t_s))
        if key in self._eager:
            return self._lookup(*self._eager_table(key), sat, station, t_s)
        lo, hi = block
        j = self._bisect(self._rise_a, t_s, lo, hi) - 1
        if j >= lo and t_s < self._set_a[j]:  # inside window j
            o = self._offset[j]
            if o < 0:
                self._fill((j,))
                if key in self._eager:
                    return self._lookup(*self._eager_table(key), sat, station, t_s)
                o = self._offset[j]
            times, r = self._times, self._ranges
            # (windows of a pair in order: rise <= t < set is window j and no other)
            end = o + self._count[j]
            self._last = (sat, station, self._rise_a[j], self._set_a[j], times[o:end].tolist(),
                          r[o:end].tolist())
            k = self._bisect(times, t_s, o, end)
            t0, t1 = times[k - 1], times[k]
            if t1 - t0 > 0:
                return r[k - 1] + (r[k] - r[k - 1]) * (t_s - t0) / (t1 - t0)
            return float(self.geometry.range_km(sat, station, t_s))
        if j < lo:   # before the pair's first window
            return float(self.geometry.range_km(sat, station, t_s))
        # at or after the end of window j: between it and the next, or past the last
        self._fill([w for w in (j, j + 1) if w < hi])
        if key in self._eager:
            return self._lookup(*self._eager_table(key), sat, station, t_s)
        times, r = self._times, self._ranges
        last = self._offset[j] + self._count[j] - 1
        if j + 1 < hi:
            first = self._offset[j + 1]
            t0, t1 = times[last], times[first]
            if t1 - t0 > 0:
                return r[last] + (r[first] - r[last]) * (t_s - t0) / (t1 - t0)
        elif t_s == times[last]:
            return r[last]
        return float(self.geometry.range_km(sat, station, t_s))

    def _lookup(self, times, ranges, sat, station, t_s):
        """Linear interpolation along one table (the plain algorithm)."""
        k = self._bisect(times, t_s)
        if 0 < k < len(times):
            t0, t1 = times[k - 1], times[k]
            if t1 - t0 > 0:
                return ranges[k - 1] + (ranges[k] - ranges[k - 1]) * (t_s - t0) / (t1 - t0)
        elif k == len(times) and times and t_s == times[-1]:
            return ranges[-1]
        return float(self.geometry.range_km(sat, station, t_s))

    def _locate(self, sat, station, t_s):
        """Per triple: the window index ``j`` (last of its pair risen by ``t``), whether
        ``t`` is inside it, and the pair's block end; ``j`` < block start where none."""
        sat = np.asarray(sat, dtype=np.int64)
        station = np.asarray(station, dtype=np.int64)
        t = np.asarray(t_s, dtype=float)
        n = len(t)
        key = sat * self._n_stations + station
        pos = np.searchsorted(self._block_key, key)
        pos_ok = np.minimum(pos, max(len(self._block_key) - 1, 0))
        found = ((station >= 0) & (station < self._n_stations) & (sat >= 0)
                 & (pos < len(self._block_key)))
        if len(self._block_key):
            found &= self._block_key[pos_ok] == key
        lo = np.where(found, self._block_lo[pos_ok] if len(self._block_key) else 0, 0)
        hi = np.where(found, self._block_hi[pos_ok] if len(self._block_key) else 0, 0)
        j = _bisect_many(self._rise, t, lo, hi) - 1 if n else np.zeros(0, np.int64)
        inside = found & (j >= lo) & (t < self._set[np.clip(j, 0, max(len(self._set) - 1, 0))]
                                      if len(self._set) else False)
        return j, inside, (found, lo, hi)

    def range_km_many(self, sat, station, t_s) -> np.ndarray:
        """:meth:`range_km` of many (satellite, station, time) triples at once.

        Arrays that broadcast together; the result has their shape.  The windows
        asked for are sampled in one batch; times inside a window, or between two
        windows of a pair, are interpolated in numpy; the rest go one by one.
        """
        sat, station, t = np.broadcast_arrays(np.asarray(sat, dtype=np.int64),
                                              np.asarray(station, dtype=np.int64),
                                              np.asarray(t_s, dtype=float))
        shape = t.shape
        sat, station, t = sat.ravel(), station.ravel(), t.ravel()
        out = np.full(len(t), np.nan)
        if not len(t):
            return out.reshape(shape)
        j, inside, (found, lo, hi) = self._locate(sat, station, t)
        after = found & (j >= lo) & ~inside
        nxt = after & (j + 1 < hi)
        self._fill(np.unique(np.concatenate((j[inside], j[after], j[nxt] + 1))).tolist())
        eager = np.zeros(len(t), dtype=bool)
        if self._eager:
            pairs = set(self._eager)
            eager = found & np.fromiter(((a, b) in pairs for a, b in
                                         zip(sat.tolist(), station.tolist())), bool, len(t))
        offset = np.frombuffer(self._offset, dtype=np.int64)
        count = np.frombuffer(self._count, dtype=np.int64)
        times = np.frombuffer(self._times, dtype=np.float64)
        ranges = np.frombuffer(self._ranges, dtype=np.float64)
        done = np.zeros(len(t), dtype=bool)
        with np.errstate(invalid="ignore", divide="ignore"):
            rows = np.flatnonzero(inside & ~eager)
            if len(rows):
                o = offset[j[rows]]
                k = _bisect_many(times, t[rows], o, o + count[j[rows]])
                t0, t1, r0, r1 = times[k - 1], times[k], ranges[k - 1], ranges[k]
                ok = t1 - t0 > 0
                x = t[rows]
                out[rows] = r0 + (r1 - r0) * (x - t0) / (t1 - t0)
                done[rows[ok]] = True
            rows = np.flatnonzero(nxt & ~eager)
            if len(rows):
                last = offset[j[rows]] + count[j[rows]] - 1
                first = offset[j[rows] + 1]
                t0, t1, r0, r1 = times[last], times[first], ranges[last], ranges[first]
                ok = t1 - t0 > 0
                x = t[rows]
                out[rows] = r0 + (r1 - r0) * (x - t0) / (t1 - t0)
                done[rows[ok]] = True
            rows = np.flatnonzero(after & ~nxt & ~eager)
            if len(rows):
                last = offset[j[rows]] + count[j[rows]] - 1
                ok = t[rows] == times[last]
                out[rows[ok]] = ranges[last[ok]]
                done[rows[ok]] = True
        del offset, count, times, ranges   # (views: the arrays may grow again)
        rest = np.flatnonzero(~done)
        plain = rest[~found[rest] | (j[rest] < lo[rest])] if len(rest) else rest
        if len(plain) and hasattr(self.geometry, "range_km_many"):
            out[plain] = self.geometry.range_km_many(sat[plain], station[plain], t[plain])
            done[plain] = True
        for row in np.flatnonzero(~done).tolist():
            out[row] = self.range_km(int(sat[row]), int(station[row]), float(t[row]))
        return out.reshape(shape)
