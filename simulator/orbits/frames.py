"""Time grids and the TEME -> Earth-fixed rotation used by the contact search.

SGP4 gives positions in the TEME frame.  To compare them with a ground station we
rotate them into the Earth-fixed frame with Greenwich Mean Sidereal Time (the
IAU-1982 formula that defines TEME), exactly as Skyfield does inside
``EarthSatellite.find_events``: no polar motion, GMST evaluated at UT1, SGP4
evaluated at UTC.

Times inside the simulator are plain floats, *seconds since the scenario start*.

>>> from datetime import datetime, timezone
>>> grid = TimeGrid.build(datetime(2026, 6, 14, tzinfo=timezone.utc), 3600.0, 60.0)
>>> len(grid.t_s), float(grid.t_s[-1])
(61, 3600.0)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache

import numpy as np

from ..errors import InputError

DAY_S = 86400.0


@lru_cache(maxsize=1)
def timescale():
    """Skyfield's timescale with its built-in leap-second and UT1 tables (no download)."""
    from skyfield.api import load

    return load.timescale(builtin=True)


def as_utc(value: datetime | str) -> datetime:
    """Parse an ISO 8601 string (``Z`` or offset; naive means UTC) into an aware UTC datetime.

    >>> as_utc("2026-06-14T12:00:00Z").isoformat()
    '2026-06-14T12:00:00+00:00'
    """
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise InputError(
                f"start time {value!r}: expected ISO 8601 like 2026-06-14T00:00:00Z"
            ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


@dataclass(frozen=True)
class TimeGrid:
    """A uniform grid of times from ``start`` spanning ``duration_s``.

    ``jd``/``fr`` are the UTC Julian date split the way sgp4 wants it; ``gmst_rad``
    is the Earth rotation angle (GMST 1982 at UT1) at every grid time.
    """

    start: datetime
    t_s: np.ndarray
    jd: np.ndarray
    fr: np.ndarray
    gmst_rad: np.ndarray

    @classmethod
    def build(cls, start: datetime, duration_s: float, step_s: float) -> "TimeGrid":
        if not duration_s > 0:
            raise InputError(f"duration must be positive, got {duration_s} s")
        if not step_s > 0:
            raise InputError(f"grid step must be positive, got {step_s} s")
        n = int(np.ceil(duration_s / step_s - 1e-9))
        t_s = np.minimum(np.arange(n + 1) * step_s, duration_s)
        return cls.at(start, t_s)

    @classmethod
    def at(cls, start: datetime, t_s: np.ndarray) -> "TimeGrid":
        """Grid at arbitrary offsets ``t_s`` (seconds) from ``start``."""
        from skyfield.sgp4lib import theta_GMST1982

        start = as_utc(start)
        t_s = np.asarray(t_s, dtype=float)
        ts = timescale()
        t0 = ts.from_datetime(start)
        # UTC Julian date of the start, split in whole + fraction like Skyfield does.
        jd0 = float(t0.whole)
        fr0 = float(t0.tai_fraction - t0._leap_seconds() / DAY_S)
        fr = fr0 + t_s / DAY_S
        whole = np.floor(fr)
        jd = jd0 + whole
        fr = fr - whole
        # UT1 - UTC changes by milliseconds a day: take it from both ends and interpolate.
        ends = ts.utc(start.year, start.month, start.day, start.hour, start.minute,
                      start.second + start.microsecond * 1e-6 + np.array([0.0, t_s.max(initial=0.0)]))
        dut1 = np.asarray(ends.dut1, dtype=float)
        span = max(float(t_s.max(initial=0.0)), 1.0)
        dut1_t = dut1[0] + (dut1[1] - dut1[0]) * (t_s / span)
        gmst, _ = theta_GMST1982(jd, fr + dut1_t / DAY_S)
        return cls(start=start, t_s=t_s, jd=jd, fr=fr, gmst_rad=np.asarray(gmst, dtype=float))

    def utc(self, t_s: float | np.ndarray):
        """Datetimes for offsets in seconds (vectorised through pandas)."""
        import pandas as pd

        return pd.Timestamp(self.start) + pd.to_timedelta(np.asarray(t_s), unit="s")


#: Earth rotation rate used for the TEME -> ITRS velocity term (rad/s), as in Skyfield.
EARTH_ROTATION_RAD_S = 7.292115146706979e-5


def teme_to_ecef(r_teme: np.ndarray, v_teme: np.ndarray, gmst_rad: np.ndarray):
    """Rotate TEME position/velocity (..., T, 3) into the Earth-fixed frame.

    ``gmst_rad`` has shape (T,).  The velocity gains the ``-omega x r`` term of the
    rotating frame, so that it is the time derivative of the returned position.
    """
    c = np.cos(gmst_rad)[:, None]
    s = np.sin(gmst_rad)[:, None]
    x, y, z = r_teme[..., 0], r_teme[..., 1], r_teme[..., 2]
    r = np.empty_like(r_teme)
    r[..., 0] = c[:, 0] * x + s[:, 0] * y
    r[..., 1] = -s[:, 0] * x + c[:, 0] * y
    r[..., 2] = z
    vx, vy, vz = v_teme[..., 0], v_teme[..., 1], v_teme[..., 2]
    v = np.empty_like(v_teme)
    w = EARTH_ROTATION_RAD_S
    v[..., 0] = c[:, 0] * vx + s[:, 0] * vy + w * r[..., 1]
    v[..., 1] = -s[:, 0] * vx + c[:, 0] * vy - w * r[..., 0]
    v[..., 2] = vz
    return r, v


def seconds_between(a: datetime, b: datetime) -> float:
    return (b - a) / timedelta(seconds=1)
