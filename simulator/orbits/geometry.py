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


class _Pair:
    """The contact windows of one satellite-station pair, and their range tables."""

    __slots__ = ("rise", "set", "tables", "rise_arr", "set_arr", "eager")

    def __init__(self):
        self.rise: list[float] = []
        self.set: list[float] = []
        self.tables: list = []       # per window: None until asked, then (t, r, t[], r[])
        self.rise_arr = self.set_arr = None
        self.eager = None            # (times, ranges) of all windows: the pair's fallback


class RangeTable:
    """Slant ranges through contact windows, for fast lookups in the event loop.

    The event loop needs the range (for the propagation delay and the TCP round
    trip) once or twice per transmitted sample; propagating SGP4 each time costs
    far more than the rest of the event.  Ranges are sampled every ``step_s``
    seconds through a window (one vectorised SGP4 call) and interpolated
    linearly: near a zenith pass at 550 km the range curves by at most ~0.1
    km/s^2, so a 10 s step is within ~1 km (3 microseconds of delay).

    A window is sampled the first time a time in (or next to) it is asked for,
    and kept as arrays: a run samples only the windows that carry a transfer.
    The values are those of sampling every window of a satellite-station pair at
    once and interpolating along the pair's concatenated samples (between two
    windows of the pair: from the last sample of one to the first of the next);
    times before the pair's first window or after its last, and pairs without a
    window, fall back to :class:`PassGeometry`.

    :meth:`range_km` answers one time (bisection in Python lists, the quickest
    for one), :meth:`range_km_many` many at once (the same arithmetic in numpy,
    bit for bit).
    """

    def __init__(self, geometry: PassGeometry, windows, step_s: float = 10.0):
        import bisect

        self._bisect = bisect.bisect_right
        self.geometry = geometry
        self.step_s = step_s
        self._pairs: dict[tuple[int, int], _Pair] = {}
        pairs = self._pairs
        for sat, sat_windows in enumerate(windows):
            for w in sat_windows:
                set_s = w.set_s
                if not set_s < np.inf:  # also skips nan
                    continue
                key = (sat, w.station)
                pair = pairs.get(key)
                if pair is None:
                    pair = pairs[key] = _Pair()
                pair.rise.append(w.rise_s)
                pair.set.append(set_s)
        for pair in pairs.values():
            pair.tables = [None] * len(pair.rise)
            if any(b < a for a, b in zip(pair.set, pair.rise[1:])):
                pair.eager = ()  # windows that overlap: sample the pair as one table

    def __repr__(self) -> str:
        sampled = sum(t is not None for p in self._pairs.values() for t in p.tables)
        windows = sum(len(p.tables) for p in self._pairs.values())
        return f"RangeTable({len(self._pairs)} pairs, {sampled} of {windows} windows sampled)"

    # -- tables ---------------------------------------------------------------

    def _samples(self, rise: float, set_s: float) -> np.ndarray:
        return np.append(np.arange(rise, set_s, self.step_s), set_s)

    def _table(self, key, pair: _Pair, j: int):
        table = pair.tables[j]
        if table is None:
            self._fill([(key, pair, j)])
            table = pair.tables[j]
        return table

    def _fill(self, wanted) -> None:
        """Sample the windows ``wanted`` ((key, pair, j) each) in one batch."""
        times = [self._samples(pair.rise[j], pair.set[j]) for _, pair, j in wanted]
        many = getattr(self.geometry, "range_km_many", None)
        if len(wanted) == 1 and hasattr(self.geometry, "_ranges_one"):
            (key, _, _), = wanted
            ranges = [self.geometry._ranges_one(key[0], key[1], times[0])]
        elif many is not None:
            sizes = [len(x) for x in times]
            sats = np.repeat([key[0] for key, _, _ in wanted], sizes)
            stations = np.repeat([key[1] for key, _, _ in wanted], sizes)
            flat = np.asarray(many(sats, stations, np.concatenate(times)), dtype=float)
            ranges = np.split(flat, np.cumsum(sizes)[:-1])
        else:
            ranges = [np.asarray(self.geometry.range_km(key[0], key[1], x), dtype=float)
                      for (key, _, _), x in zip(wanted, times)]
        for (key, pair, j), x, r in zip(wanted, times, ranges):
            if len(x) > 1 and not (x[1:] > x[:-1]).all():
                pair.eager = ()  # a rounding oddity of arange: the pair as one table
            pair.tables[j] = (x.tolist(), r.tolist(), x, r)

    def _eager(self, key, pair: _Pair):
        """The whole pair as one table (the plain algorithm, for odd windows)."""
        if not pair.eager:
            times = np.concatenate([self._samples(a, b) for a, b in zip(pair.rise, pair.set)])
            ranges = np.asarray(self.geometry.range_km(key[0], key[1], times), dtype=float)
            pair.eager = (times.tolist(), ranges.tolist())
        return pair.eager

    # -- lookups -------------------------------------------------------------

    def range_km(self, sat: int, station: int, t_s: float) -> float:
        key = (sat, station)
        pair = self._pairs.get(key)
        if pair is not None and pair.eager is None:
            j = self._bisect(pair.rise, t_s) - 1
            if j >= 0 and t_s < pair.set[j]:  # inside window j
                table = pair.tables[j] or self._table(key, pair, j)
                if pair.eager is None:
                    times, r = table[0], table[1]
                    k = self._bisect(times, t_s)
                    t0, t1 = times[k - 1], times[k]
                    if t1 - t0 > 0:
                        return r[k - 1] + (r[k] - r[k - 1]) * (t_s - t0) / (t1 - t0)
                    return float(self.geometry.range_km(sat, station, t_s))
            return self._outside(key, pair, j, t_s)
        if pair is not None:
            return self._lookup(*self._eager(key, pair), sat, station, t_s)
        return float(self.geometry.range_km(sat, station, t_s))

    def _outside(self, key, pair: _Pair, j: int, t_s: float) -> float:
        """``t_s`` not inside a window: before the first (``j`` = -1), at or after the end
        of window ``j``, between it and the next."""
        if pair.eager is not None:
            return self._lookup(*self._eager(key, pair), key[0], key[1], t_s)
        if j >= 0:
            last = self._table(key, pair, j)
            if j + 1 < len(pair.rise):   # between window j and j + 1
                first = self._table(key, pair, j + 1)
                if pair.eager is None:
                    t0, t1, r0, r1 = last[0][-1], first[0][0], last[1][-1], first[1][0]
                    if t1 - t0 > 0:
                        return r0 + (r1 - r0) * (t_s - t0) / (t1 - t0)
                    return float(self.geometry.range_km(key[0], key[1], t_s))
                return self._outside(key, pair, j, t_s)
            if pair.eager is None and t_s == last[0][-1]:  # the end of the last window
                return last[1][-1]
            if pair.eager is not None:
                return self._outside(key, pair, j, t_s)
        return float(self.geometry.range_km(key[0], key[1], t_s))

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

    def range_km_many(self, sat, station, t_s) -> np.ndarray:
        """:meth:`range_km` of many (satellite, station, time) triples at once.

        Arrays that broadcast together; the result has their shape.  Times inside
        a window are interpolated in numpy, window by window; the others (rare:
        after a window's end, or outside every window) go one by one.
        """
        sat, station, t = np.broadcast_arrays(np.asarray(sat, dtype=np.int64),
                                              np.asarray(station, dtype=np.int64),
                                              np.asarray(t_s, dtype=float))
        shape = t.shape
        sat, station, t = sat.ravel(), station.ravel(), t.ravel()
        out = np.empty(len(t))
        if not len(t):
            return out.reshape(shape)
        order = np.lexsort((station, sat))
        a_sorted, g_sorted = sat[order], station[order]
        cuts = np.flatnonzero((np.diff(a_sorted) != 0) | (np.diff(g_sorted) != 0)) + 1
        groups = []
        wanted = []
        for a, b in zip(np.concatenate(([0], cuts)).tolist(),
                        np.concatenate((cuts, [len(order)])).tolist()):
            rows = order[a:b]
            key = (int(a_sorted[a]), int(g_sorted[a]))
            groups.append((key, rows))
            pair = self._pairs.get(key)
            if pair is None or pair.eager is not None:
                continue
            if pair.rise_arr is None:
                pair.rise_arr = np.asarray(pair.rise, dtype=float)
                pair.set_arr = np.asarray(pair.set, dtype=float)
            x = t[rows]
            j = np.searchsorted(pair.rise_arr, x, side="right") - 1
            inside = (j >= 0) & (x < pair.set_arr[np.maximum(j, 0)])
            # inside window j: that window; after it: it and the next (interpolated between)
            need = np.concatenate((j[inside], j[~inside & (j >= 0)],
                                   j[~inside & (j >= 0) & (j + 1 < len(pair.rise))] + 1))
            wanted += [(key, pair, w) for w in np.unique(need).tolist()
                       if pair.tables[w] is None]
        if wanted:
            self._fill(wanted)
        for key, rows in groups:
            out[rows] = self._pair_many(key, t[rows])
        return out.reshape(shape)

    def _pair_many(self, key, t: np.ndarray) -> np.ndarray:
        pair = self._pairs.get(key)
        if pair is None or pair.eager is not None:
            return np.array([self.range_km(key[0], key[1], x) for x in t.tolist()], dtype=float)
        if pair.rise_arr is None:
            pair.rise_arr = np.asarray(pair.rise, dtype=float)
            pair.set_arr = np.asarray(pair.set, dtype=float)
        j = np.searchsorted(pair.rise_arr, t, side="right") - 1
        inside = (j >= 0) & (t < pair.set_arr[np.maximum(j, 0)])
        out = np.empty(len(t))
        done = np.zeros(len(t), dtype=bool)
        for w in np.unique(j[inside]).tolist():
            table = pair.tables[w]
            if pair.eager is not None:  # an odd window turned up: the plain algorithm
                return np.array([self.range_km(key[0], key[1], x) for x in t.tolist()],
                                dtype=float)
            times, ranges = table[2], table[3]
            sel = np.flatnonzero(inside & (j == w))
            x = t[sel]
            k = np.searchsorted(times, x, side="right")
            t0, t1, r0, r1 = times[k - 1], times[k], ranges[k - 1], ranges[k]
            ok = t1 - t0 > 0
            with np.errstate(invalid="ignore", divide="ignore"):
                out[sel] = r0 + (r1 - r0) * (x - t0) / (t1 - t0)
            done[sel[ok]] = True
        for row in np.flatnonzero(~done).tolist():
            out[row] = self.range_km(key[0], key[1], float(t[row]))
        return out
