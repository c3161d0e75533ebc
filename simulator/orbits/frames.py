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


#: Spacing of the UT1 - UTC knots (seconds from the start), see :class:`EarthClock`.
DUT1_KNOT_S = 3600.0


class EarthClock:
    """UTC Julian dates and the Earth rotation angle at offsets (seconds) from ``start``.

    Every value is a function of its own offset only, never of the other offsets asked
    for at the same time or of the span they cover: UT1 - UTC (which changes by
    milliseconds a day) is interpolated linearly between knots every
    :data:`DUT1_KNOT_S` seconds *anchored at the start*, each knot taken from
    Skyfield's built-in tables.  So a time gets the same rotation angle, bit for bit,
    whatever grid or search horizon it belongs to.

    >>> from datetime import datetime, timezone
    >>> clock = EarthClock(datetime(2026, 6, 14, tzinfo=timezone.utc))
    >>> a = clock.angles(np.array([0.0, 5000.0, 90000.0]))[2]
    >>> bool(a[1] == clock.angles(np.array([5000.0]))[2][0])
    True
    """

    def __init__(self, start: datetime):
        self.start = as_utc(start)
        ts = timescale()
        t0 = ts.from_datetime(self.start)
        # UTC Julian date of the start, split in whole + fraction like Skyfield does.
        self.jd0 = float(t0.whole)
        self.fr0 = float(t0.tai_fraction - t0._leap_seconds() / DAY_S)
        self._k0 = 0
        self._knots = np.empty(0)

    def _ensure_knots(self, k_lo: int, k_hi: int) -> None:
        have_lo, have_hi = self._k0, self._k0 + len(self._knots) - 1
        if len(self._knots) and k_lo >= have_lo and k_hi <= have_hi:
            return
        if len(self._knots):
            k_lo, k_hi = min(k_lo, have_lo), max(k_hi, have_hi)
        ks = np.arange(k_lo, k_hi + 1, dtype=float)
        st = self.start
        times = timescale().utc(st.year, st.month, st.day, st.hour, st.minute,
                                st.second + st.microsecond * 1e-6 + ks * DUT1_KNOT_S)
        self._k0, self._knots = k_lo, np.atleast_1d(np.asarray(times.dut1, dtype=float))

    def prepare(self, t_lo: float, t_hi: float) -> None:
        """Compute the knots covering ``[t_lo, t_hi]`` now (before forking workers)."""
        self._ensure_knots(int(np.floor(t_lo / DUT1_KNOT_S)), int(np.floor(t_hi / DUT1_KNOT_S)) + 1)

    def dut1(self, t_s: np.ndarray) -> np.ndarray:
        t_s = np.asarray(t_s, dtype=float)
        if t_s.size == 0:
            return np.zeros_like(t_s)
        i = np.floor(t_s / DUT1_KNOT_S)
        self._ensure_knots(int(i.min()), int(i.max()) + 1)
        j = i.astype(np.int64) - self._k0
        f0 = self._knots[j]
        f1 = self._knots[j + 1]
        w = (t_s - i * DUT1_KNOT_S) / DUT1_KNOT_S
        return f0 + (f1 - f0) * w

    def angles(self, t_s: np.ndarray):
        """``(jd, fr, gmst_rad)``: UTC Julian date split for sgp4, and GMST 1982 at UT1."""
        from skyfield.sgp4lib import theta_GMST1982

        t_s = np.asarray(t_s, dtype=float)
        fr = self.fr0 + t_s / DAY_S
        whole = np.floor(fr)
        jd = self.jd0 + whole
        fr = fr - whole
        gmst, _ = theta_GMST1982(jd, fr + self.dut1(t_s) / DAY_S)
        return jd, fr, np.asarray(gmst, dtype=float)


@dataclass(frozen=True)
class TimeGrid:
    """A uniform grid of times from ``start`` spanning ``duration_s``.

    ``jd``/``fr`` are the UTC Julian date split the way sgp4 wants it; ``gmst_rad``
    is the Earth rotation angle (GMST 1982 at UT1) at every grid time, from
    :class:`EarthClock` (so the same time always gets the same angle).
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
    def at(cls, start: datetime, t_s: np.ndarray, clock: EarthClock | None = None) -> "TimeGrid":
        """Grid at arbitrary offsets ``t_s`` (seconds) from ``start``."""
        start = as_utc(start)
        t_s = np.asarray(t_s, dtype=float)
        clock = clock or EarthClock(start)
        jd, fr, gmst = clock.angles(t_s)
        return cls(start=start, t_s=t_s, jd=jd, fr=fr, gmst_rad=gmst)

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
