"""Where things are: satellite positions, sub-satellite points and station footprints.

Satellites are propagated exactly as the contact search propagates them
(:mod:`simulator.orbits.contacts`): all at once with sgp4's ``SatrecArray`` at the
UTC Julian dates of :meth:`TimeGrid.at <simulator.orbits.frames.TimeGrid.at>`,
then rotated from TEME into the Earth-fixed frame with GMST
(:func:`~simulator.orbits.frames.teme_to_ecef`).  The pictures put everything on
a spherical Earth of radius :data:`EARTH_RADIUS_KM`: a satellite's sub-point is
the direction of its Earth-fixed position (geocentric latitude), a station sits
at its catalog latitude and longitude.  The two differ from the WGS84 geodetic
picture of the contact search by at most 0.2 degrees (about 20 km), far below
what the views can show.

A station's *footprint* is the ground circle inside which a satellite at altitude
``h`` stands above the station's elevation mask ``m``: on a sphere of radius
``R`` its Earth central angle is ``lambda = acos(R cos m / (R + h)) - m`` and its
ground radius ``R * lambda``:

>>> round(footprint_radius_km(550.0, 25.0), 1)
940.5
"""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
from sgp4.api import SatrecArray

from ..orbits.frames import TimeGrid, teme_to_ecef

#: Mean Earth radius (km) of the spherical Earth the views draw (IUGG mean radius R1).
EARTH_RADIUS_KM = 6371.0088


def positions_km(orbits, start: datetime, t_s) -> np.ndarray:
    """Earth-fixed positions (km) of every satellite at the offsets ``t_s`` (seconds
    since ``start``): shape ``(len(t_s), len(orbits), 3)``; ``nan`` where SGP4 fails."""
    t_s = np.atleast_1d(np.asarray(t_s, dtype=float))
    out = np.full((len(t_s), len(orbits), 3), np.nan)
    if not len(orbits) or not len(t_s):
        return out
    grid = TimeGrid.at(start, t_s)
    array = SatrecArray([o.satrec for o in orbits])
    err, r_teme, v_teme = array.sgp4(grid.jd, grid.fr)  # (S, T, 3)
    r, _ = teme_to_ecef(np.asarray(r_teme), np.asarray(v_teme), grid.gmst_rad)
    r[np.asarray(err) != 0] = np.nan
    return np.transpose(r, (1, 0, 2))


def positions_of(orbits, start: datetime, sat: np.ndarray, t_s: np.ndarray) -> np.ndarray:
    """Earth-fixed position (km) of satellite ``sat[k]`` at ``t_s[k]`` for every ``k``."""
    sat = np.asarray(sat, dtype=int)
    t_s = np.asarray(t_s, dtype=float)
    out = np.full((len(sat), 3), np.nan)
    if not len(sat):
        return out
    grid = TimeGrid.at(start, t_s)
    for s in np.unique(sat):
        rows = np.flatnonzero(sat == s)
        err, r, v = orbits[s].satrec.sgp4_array(grid.jd[rows], grid.fr[rows])
        r, _ = teme_to_ecef(np.asarray(r), np.asarray(v), grid.gmst_rad[rows])
        r[np.asarray(err) != 0] = np.nan
        out[rows] = r
    return out


def lat_lon_deg(r_km: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Geocentric latitude and longitude (degrees) of Earth-fixed positions ``(..., 3)``.

    >>> lat, lon = lat_lon_deg(np.array([[0.0, 7000.0, 0.0], [0.0, 0.0, -7000.0]]))
    >>> lat.round(6).tolist(), lon.round(6).tolist()
    ([0.0, -90.0], [90.0, 0.0])
    """
    r = np.asarray(r_km, dtype=float)
    x, y, z = r[..., 0], r[..., 1], r[..., 2]
    return np.degrees(np.arctan2(z, np.hypot(x, y))), np.degrees(np.arctan2(y, x))


def unit_vector(lat_deg, lon_deg) -> np.ndarray:
    """Unit vectors ``(..., 3)`` of geocentric latitudes and longitudes (degrees)."""
    la, lo = np.radians(lat_deg), np.radians(lon_deg)
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=-1)


def footprint_angle_rad(altitude_km: float, mask_deg: float,
                        radius_km: float = EARTH_RADIUS_KM) -> float:
    """Earth central angle of the footprint: ``acos(R cos m / (R + h)) - m`` (radians)."""
    m = math.radians(mask_deg)
    return math.acos(radius_km * math.cos(m) / (radius_km + altitude_km)) - m


def footprint_radius_km(altitude_km: float, mask_deg: float,
                        radius_km: float = EARTH_RADIUS_KM) -> float:
    """Ground radius (km, along the surface) of a station's footprint at the mask."""
    return radius_km * footprint_angle_rad(altitude_km, mask_deg, radius_km)


def footprint_ring(lat_deg: float, lon_deg: float, angle_rad: float,
                   points: int = 121) -> tuple[np.ndarray, np.ndarray]:
    """The small circle ``angle_rad`` away from a station: ``(lat, lon)`` in degrees,
    closed (the first point repeated last); longitudes in [-180, 180]."""
    centre = unit_vector(lat_deg, lon_deg)
    # An east and a north unit vector at the station span the circle's plane.
    east = np.array([-math.sin(math.radians(lon_deg)), math.cos(math.radians(lon_deg)), 0.0])
    north = np.cross(centre, east)
    az = np.linspace(0.0, 2 * math.pi, points)
    ring = (math.cos(angle_rad) * centre[None, :]
            + math.sin(angle_rad) * (np.cos(az)[:, None] * north[None, :]
                                     + np.sin(az)[:, None] * east[None, :]))
    return lat_lon_deg(ring)


def shell_altitude_km(orbits) -> float:
    """The shell's altitude: the median mean altitude of the satellites (km)."""
    from ..orbits.constellations import mean_altitude_km

    if not orbits:
        return float("nan")
    return float(np.median([mean_altitude_km(o) for o in orbits]))
