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
from .frames import TimeGrid, as_utc, teme_to_ecef

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
        self._warned: set[int] = set()
        self._scalar_position = lru_cache(maxsize=cache_size)(self._position_one)

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
        grid = TimeGrid.at(self.start, t_s.ravel())
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

    def elevation_deg(self, sat: int, station: int, t_s: float | np.ndarray):
        """Geometric elevation (degrees) of the satellite above the station's horizon."""
        return self.range_and_elevation(sat, station, t_s)[1]


class RangeTable:
    """Slant ranges sampled through contact windows, for fast lookups in the event loop.

    The event loop needs the range (for the propagation delay) once per
    transmitted sample; propagating SGP4 each time costs far more than the rest
    of the event.  Ranges are sampled every ``step_s`` seconds through every
    window (one vectorised SGP4 call per satellite-station pair) and
    interpolated linearly: near a zenith pass at 550 km the range curves by at
    most ~0.1 km/s^2, so a 10 s step is within ~1 km (3 microseconds of delay).
    Times outside every window fall back to :class:`PassGeometry`.
    """

    def __init__(self, geometry: PassGeometry, windows, step_s: float = 10.0):
        import bisect

        self._bisect = bisect.bisect_right
        self.geometry = geometry
        self._t: dict[tuple[int, int], list[float]] = {}
        self._r: dict[tuple[int, int], list[float]] = {}
        for sat, sat_windows in enumerate(windows):
            by_station: dict[int, list[np.ndarray]] = {}
            for w in sat_windows:
                if not np.isfinite(w.set_s):
                    continue
                times = np.append(np.arange(w.rise_s, w.set_s, step_s), w.set_s)
                by_station.setdefault(w.station, []).append(times)
            for station, chunks in by_station.items():
                t = np.concatenate(chunks)
                r = np.asarray(geometry.range_km(sat, station, t), dtype=float)
                self._t[(sat, station)] = t.tolist()
                self._r[(sat, station)] = r.tolist()

    def range_km(self, sat: int, station: int, t_s: float) -> float:
        key = (sat, station)
        times = self._t.get(key)
        if times is not None:
            k = self._bisect(times, t_s)
            if 0 < k < len(times):
                t0, t1 = times[k - 1], times[k]
                if t1 - t0 > 0:
                    r = self._r[key]
                    return r[k - 1] + (r[k] - r[k - 1]) * (t_s - t0) / (t1 - t0)
            elif k == len(times) and times and t_s == times[-1]:
                return self._r[key][-1]
        return float(self.geometry.range_km(sat, station, t_s))
