"""Synthetic Walker constellations, as SGP4 element sets.

Real element sets (TLEs) describe the constellation that flies today.  To ask
"what if the shell were at 400 km instead of 550 km?" we need element sets for
constellations that do not exist, and this module builds them.

A *Walker constellation* ``i: T/P/F`` puts ``T`` satellites in ``P`` circular
orbital planes of inclination ``i``, ``S = T/P`` satellites per plane, equally
spaced.  In a *delta* pattern the planes' ascending nodes are spread evenly over
360 degrees (Starlink, Kuiper); in a *star* pattern over 180 degrees (Iridium,
near-polar shells whose planes would otherwise cross twice).  The phasing
factor ``F`` (0 <= F < P) shifts each plane's satellites along the orbit, so
that neighbouring planes do not pass the equator together::

    RAAN(p)    = raan0 + p * 360 / P          (delta; 180 / P for star)
    M(p, s)    = s * 360 / S + p * F * 360 / T

for plane ``p = 0 .. P-1`` and slot ``s = 0 .. S-1``.

>>> shell = walker_delta(550, 53, planes=72, sats_per_plane=22)
>>> shell.size
1584
>>> name, satnum, sat = shell.satrecs()[23]
>>> name, satnum
('WALKER-550-P01-S01', 300023)
>>> round(math.degrees(sat.nodeo), 6), round(math.degrees(sat.mo), 6)
(5.0, 16.590909)

Mean motion and altitude
------------------------
A TLE does not store an altitude but a *mean motion*, and SGP4 reads it as a
Kozai mean motion, which it converts to Brouwer's mean motion (about 0.1 %
smaller near the equator) before deriving the orbit's size.  SGP4 then adds J2
short-period terms to the radius whose average over one orbit is
``-0.75 J2 (3 cos^2 i - 1) R_E^2 / a``.  The two effects partly cancel: fed the
two-body value of :func:`mean_motion_for_altitude`, SGP4 puts a 550 km shell
about 3.2 km too low at inclination 0, 0.1 km too low at 53 degrees and
1.5 km too high at 98 degrees (measured as the radius averaged over one orbit,
minus ``R_E``).  :func:`sgp4_mean_motion` undoes both effects, and
:class:`WalkerShell` uses it, so that a shell requested at ``h`` km has its
average ``|r| - R_E`` within a few metres of ``h`` at epoch, for LEO and MEO
(drag, ``bstar``, lowers it afterwards).  For an eccentric orbit the altitude
means the semi-major axis less ``R_E``; its time-averaged radius is larger by
``a e^2 / 2``.

Satellite numbers
-----------------
Synthetic satellites are numbered from ``first_id`` (default 300000) upward.
Two-line element sets hold at most five characters for the number; the
"Alpha-5" scheme stretches that to 339999 (``Z9999``), which is why the
numbers are not higher.  Numbers from 300000 (``W0000``) are far above the
real catalog (about 70000 in 2026).  Give each shell of one simulation its own
``first_id`` if their numbers must not overlap.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

from sgp4.api import WGS72, Satrec
from sgp4.earth_gravity import wgs72
from sgp4.exporter import export_tle

from simulator.errors import InputError

log = logging.getLogger(__name__)

#: Earth's equatorial radius (km) and gravitational parameter (km^3/s^2) of
#: WGS72, the constants SGP4 uses.
R_EARTH_KM = wgs72.radiusearthkm   # 6378.135
MU_KM3_S2 = wgs72.mu               # 398600.8

#: First and largest satellite numbers a TLE can hold (Alpha-5 "W0000" .. "Z9999").
FIRST_SYNTHETIC_ID = 300_000
MAX_SATNUM = 339_999

_SGP4_EPOCH = datetime(1949, 12, 31, tzinfo=timezone.utc)


def mean_motion_for_altitude(altitude_km: float) -> float:
    """Two-body mean motion (rad/min) of a circular orbit at ``altitude_km``.

    The radius is ``R_E + h`` with the WGS72 radius ``R_E = 6378.135`` km and
    ``mu = 398600.8`` km^3/s^2, the constants of SGP4.  This is Kepler's third
    law only: used as SGP4's ``no_kozai`` it lands the orbit up to about 3 km
    off the requested altitude (see the module notes); :func:`sgp4_mean_motion`
    corrects for that.

    >>> round(mean_motion_for_altitude(550.0), 8)
    0.06568948
    """
    radius = R_EARTH_KM + altitude_km
    return math.sqrt(MU_KM3_S2 / radius**3) * 60.0


def _brouwer_from_kozai(no_kozai: float, cos_i: float, ecc: float) -> float:
    """SGP4's conversion of a Kozai mean motion to Brouwer's (``sgp4init``)."""
    xke, j2 = wgs72.xke, wgs72.j2
    omeosq = 1.0 - ecc * ecc
    ak = (xke / no_kozai) ** (2.0 / 3.0)
    d1 = 0.75 * j2 * (3.0 * cos_i * cos_i - 1.0) / (math.sqrt(omeosq) * omeosq)
    delta = d1 / (ak * ak)
    adel = ak * (1.0 - delta * delta - delta * (1.0 / 3.0 + 134.0 * delta * delta / 81.0))
    delta = d1 / (adel * adel)
    return no_kozai / (1.0 + delta)


def sgp4_mean_motion(altitude_km: float, inclination_deg: float,
                     eccentricity: float = 0.0) -> float:
    """The Kozai mean motion (rad/min) that puts an SGP4 orbit at ``altitude_km``.

    "At" means: the radius averaged over one orbit, minus ``R_E``, equals the
    altitude.  We solve for the Brouwer semi-major axis ``a`` (Earth radii)
    whose average SGP4 radius ``a - 0.75 J2 (3 cos^2 i - 1) / a`` is
    ``1 + h / R_E``, and then invert SGP4's Kozai-to-Brouwer conversion by
    fixed-point iteration (its correction is ~1e-3, so a few steps suffice).

    >>> round(sgp4_mean_motion(550.0, 53.0), 9)
    0.065687524
    """
    target = 1.0 + altitude_km / R_EARTH_KM
    cos_i = math.cos(math.radians(inclination_deg))
    k = 0.75 * wgs72.j2 * (3.0 * cos_i * cos_i - 1.0) / (1.0 - eccentricity**2) ** 1.5
    a = 0.5 * (target + math.sqrt(target * target + 4.0 * k))
    no_brouwer = wgs72.xke * a**-1.5
    no_kozai = no_brouwer
    for _ in range(50):
        step = no_brouwer / _brouwer_from_kozai(no_kozai, cos_i, eccentricity)
        no_kozai *= step
        if abs(step - 1.0) < 1e-15:
            break
    return no_kozai


def _require(ok: bool, field: str, expected: str, value) -> None:
    if not ok:
        raise InputError(f"Walker shell: {field} must be {expected}, got {value!r}")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class WalkerShell:
    """One Walker shell: ``planes`` x ``sats_per_plane`` satellites.

    ``phasing`` is Walker's ``F``; ``raan0_deg`` the right ascension of plane 0;
    ``pattern`` "delta" spreads the planes over 360 degrees, "star" over 180.
    Every satellite starts with argument of perigee 0, the same small
    ``eccentricity`` and drag term ``bstar`` (1/earth radii; 0 = no drag), at
    ``epoch`` (a timezone-aware datetime).  Bad parameters raise
    :class:`~simulator.errors.InputError` naming the field.
    """

    altitude_km: float
    inclination_deg: float
    planes: int
    sats_per_plane: int
    phasing: int = 1
    epoch: datetime = datetime(2026, 6, 14, tzinfo=timezone.utc)
    raan0_deg: float = 0.0
    eccentricity: float = 0.0001
    bstar: float = 0.0
    name_prefix: str = "WALKER"
    pattern: Literal["delta", "star"] = "delta"
    first_id: int = FIRST_SYNTHETIC_ID

    def __post_init__(self) -> None:
        _require(isinstance(self.altitude_km, (int, float)) and 150.0 <= self.altitude_km <= 40000.0,
                 "altitude_km", "a number in [150, 40000] km", self.altitude_km)
        _require(isinstance(self.inclination_deg, (int, float))
                 and 0.0 <= self.inclination_deg <= 180.0,
                 "inclination_deg", "a number in [0, 180] degrees", self.inclination_deg)
        _require(_is_int(self.planes) and self.planes >= 1,
                 "planes", "an integer >= 1", self.planes)
        _require(_is_int(self.sats_per_plane) and self.sats_per_plane >= 1,
                 "sats_per_plane", "an integer >= 1", self.sats_per_plane)
        _require(_is_int(self.phasing) and 0 <= self.phasing < self.planes,
                 "phasing", f"an integer F with 0 <= F < planes ({self.planes})", self.phasing)
        _require(isinstance(self.epoch, datetime) and self.epoch.utcoffset() is not None,
                 "epoch", "a timezone-aware datetime", self.epoch)
        _require(isinstance(self.raan0_deg, (int, float)) and math.isfinite(self.raan0_deg),
                 "raan0_deg", "a finite number of degrees", self.raan0_deg)
        _require(isinstance(self.eccentricity, (int, float)) and 0.0 <= self.eccentricity < 1.0,
                 "eccentricity", "a number in [0, 1)", self.eccentricity)
        perigee_km = (R_EARTH_KM + self.altitude_km) * (1.0 - self.eccentricity) - R_EARTH_KM
        _require(perigee_km >= 100.0, "eccentricity",
                 f"small enough to keep the perigee above 100 km (perigee {perigee_km:.0f} km)",
                 self.eccentricity)
        _require(isinstance(self.bstar, (int, float)) and math.isfinite(self.bstar),
                 "bstar", "a finite number", self.bstar)
        _require(isinstance(self.name_prefix, str) and self.name_prefix.strip() != "",
                 "name_prefix", "a non-empty string", self.name_prefix)
        _require(self.pattern in ("delta", "star"), "pattern", "'delta' or 'star'", self.pattern)
        _require(_is_int(self.first_id) and 0 <= self.first_id
                 and self.first_id + self.size - 1 <= MAX_SATNUM,
                 "first_id", f"an integer >= 0 with first_id + size - 1 <= {MAX_SATNUM} "
                 f"(size {self.size})", self.first_id)

    @property
    def size(self) -> int:
        """Number of satellites, ``planes * sats_per_plane``."""
        return self.planes * self.sats_per_plane

    @property
    def raan_spread_deg(self) -> float:
        """The arc over which the ascending nodes are spread: 360 or 180 degrees."""
        return 360.0 if self.pattern == "delta" else 180.0

    def raan_deg(self, plane: int) -> float:
        """Right ascension of the ascending node of ``plane``, in [0, 360)."""
        return (self.raan0_deg + plane * self.raan_spread_deg / self.planes) % 360.0

    def mean_anomaly_deg(self, plane: int, slot: int) -> float:
        """Mean anomaly at epoch of ``slot`` in ``plane``, in [0, 360)."""
        return (slot * 360.0 / self.sats_per_plane
                + plane * self.phasing * 360.0 / self.size) % 360.0

    def satellite_name(self, plane: int, slot: int) -> str:
        return f"{self.name_prefix}-{self.altitude_km:g}-P{plane:02d}-S{slot:02d}"

    def satrecs(self) -> list[tuple[str, int, Satrec]]:
        """Build every satellite: ``(name, satellite number, Satrec)``.

        Order is plane by plane, slot by slot; satellite ``p * S + s`` gets
        number ``first_id + p * S + s``.  Each call builds fresh ``Satrec``
        objects.
        """
        epoch_days = (self.epoch - _SGP4_EPOCH).total_seconds() / 86400.0
        no_kozai = sgp4_mean_motion(self.altitude_km, self.inclination_deg, self.eccentricity)
        inclination = math.radians(self.inclination_deg)
        out = []
        for plane in range(self.planes):
            node = math.radians(self.raan_deg(plane))
            for slot in range(self.sats_per_plane):
                satnum = self.first_id + plane * self.sats_per_plane + slot
                sat = Satrec()
                sat.sgp4init(WGS72, "i", satnum, epoch_days, self.bstar, 0.0, 0.0,
                             self.eccentricity, 0.0, inclination,
                             math.radians(self.mean_anomaly_deg(plane, slot)),
                             no_kozai, node)
                if sat.error:
                    raise InputError(f"Walker shell {self.content_key()}: SGP4 rejected "
                                     f"satellite {satnum}: error {sat.error}")
                out.append((self.satellite_name(plane, slot), satnum, sat))
        log.debug("built %d satellites for %s", len(out), self.content_key())
        return out

    def element_lines(self) -> list[tuple[str, str, str]]:
        """The shell as two-line element sets: ``(name, line1, line2)``.

        Written with :func:`sgp4.exporter.export_tle`, so the angles keep four
        decimals (about 10 m along the orbit) and the mean motion eight.
        """
        return [(name, *export_tle(sat)) for name, _, sat in self.satrecs()]

    def content_key(self) -> str:
        """A stable one-line description of every parameter, for cache keys."""
        epoch = self.epoch.astimezone(timezone.utc).isoformat()
        return (f"walker-v1 pattern={self.pattern} alt_km={float(self.altitude_km)!r} "
                f"inc_deg={float(self.inclination_deg)!r} P={self.planes} "
                f"S={self.sats_per_plane} F={self.phasing} epoch={epoch} "
                f"raan0_deg={float(self.raan0_deg)!r} ecc={float(self.eccentricity)!r} "
                f"bstar={float(self.bstar)!r} prefix={self.name_prefix} "
                f"first_id={self.first_id}")


def walker_delta(altitude_km: float, inclination_deg: float, planes: int,
                 sats_per_plane: int, phasing: int = 1, **kw) -> WalkerShell:
    """A Walker shell, delta pattern unless ``pattern="star"`` is passed.

    Keyword arguments are the other :class:`WalkerShell` fields.

    >>> walker_delta(1200, 87.9, 12, 49).size
    588
    """
    return WalkerShell(altitude_km, inclination_deg, planes, sats_per_plane, phasing, **kw)
