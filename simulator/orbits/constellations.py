"""One entry point for "which satellites": a TLE catalog, a file, or a Walker shell.

A constellation spec is either

* a named catalog (``starlink@2026-06-14``, ``planet``; see
  :func:`simulator.orbits.tle.list_catalogs`) or a TLE file path, or
* ``walker:ALT_KM:INC_DEG:PLANES:PER_PLANE[:PHASING]`` — a synthetic Walker-delta
  shell built with ``sgp4init`` (see :mod:`simulator.orbits.shells`).

>>> c = load_constellation("walker:550:53:4:5")
>>> len(c.orbits), c.synthetic
(20, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Sequence

from ..errors import InputError
from ..scenario_blocks import field, resolve_path
from .contacts import SatelliteOrbit, as_orbits
from .shells import WalkerShell
from .tle import Catalog, filter_names, load_catalog


@dataclass(frozen=True)
class Constellation:
    label: str
    orbits: tuple[SatelliteOrbit, ...]
    synthetic: bool
    catalog: Catalog | None = None
    shell: WalkerShell | None = None

    @property
    def default_start(self) -> datetime:
        """The newest element-set epoch rounded up to the hour (the epoch for shells).

        Starting there, no element set is propagated backwards and the freshest
        ones are at their most accurate.
        """
        if self.shell is not None:
            return self.shell.epoch
        newest = self.catalog.epoch_span()[1]
        hour = newest.replace(minute=0, second=0, microsecond=0)
        return hour if hour == newest else hour + timedelta(hours=1)


def parse_walker(spec: str, **overrides) -> WalkerShell:
    """``walker:ALT_KM:INC_DEG:PLANES:PER_PLANE[:PHASING]`` -> :class:`WalkerShell`."""
    parts = spec.split(":")[1:]
    if len(parts) not in (4, 5):
        raise InputError(f"constellation {spec!r}: expected "
                         "walker:ALT_KM:INC_DEG:PLANES:PER_PLANE[:PHASING]")
    try:
        alt, inc = float(parts[0]), float(parts[1])
        planes, per_plane = int(parts[2]), int(parts[3])
        phasing = int(parts[4]) if len(parts) == 5 else 1 % max(planes, 1)
    except ValueError:
        raise InputError(f"constellation {spec!r}: altitude and inclination must be numbers, "
                         "planes, satellites per plane and phasing integers") from None
    return WalkerShell(altitude_km=alt, inclination_deg=inc, planes=planes,
                       sats_per_plane=per_plane, phasing=phasing, **overrides)


def from_shell(shell: WalkerShell) -> Constellation:
    label = (f"walker {shell.altitude_km:g} km {shell.inclination_deg:g} deg "
             f"{shell.planes}x{shell.sats_per_plane} (synthetic)")
    return Constellation(label, tuple(as_orbits(shell.satrecs())), True, shell=shell)


def load_constellation(spec: str, *, names: Sequence[str] | None = None,
                       lenient: bool = False) -> Constellation:
    """Satellites for a constellation spec (catalog name, TLE file or Walker shell)."""
    if spec.strip().lower().startswith("walker:"):
        if names:
            raise InputError("name filters apply to TLE catalogs, not to Walker shells")
        return from_shell(parse_walker(spec.strip()))
    catalog = load_catalog(spec, lenient=lenient)
    elements = catalog.elements
    key = (catalog.name, len(elements), id(elements[0]) if elements else None,
           id(elements[-1]) if elements else None, tuple(names) if names else None)
    hit = _CONSTELLATIONS.get(key)
    if hit is not None and elements and hit[0].elements[0] is elements[0] \
            and hit[0].elements[-1] is elements[-1]:   # the same parsed element sets
        return hit[1]
    whole = catalog
    if names:
        catalog = Catalog(catalog.name, tuple(filter_names(catalog.elements, names)),
                          catalog.sources)
    if not catalog.elements:
        raise InputError(f"catalog {spec!r}: no satellites left to simulate")
    out = Constellation(catalog.name, tuple(as_orbits(catalog.elements)), False,
                        catalog=catalog)
    _CONSTELLATIONS[key] = (whole, out)   # (the element sets held: their ids stay theirs)
    while len(_CONSTELLATIONS) > 8:
        _CONSTELLATIONS.pop(next(iter(_CONSTELLATIONS)))
    return out


#: Constellations built in this process, by parsed element sets (the objects the parsed-TLE
#: cache hands out again) and name filters: a sweep's points share the catalogue's orbits
#: instead of making 10,000 of them each time.
_CONSTELLATIONS: dict[tuple, tuple] = {}


def mean_altitude_km(orbit: SatelliteOrbit) -> float:
    """Altitude of the mean semi-major axis above the equatorial radius (WGS72, as SGP4)."""
    return (orbit.satrec.a - 1.0) * 6378.135


def select_orbits(orbits: Sequence[SatelliteOrbit], *, count: int | None = None,
                  altitude_km: float | None = None, tolerance_km: float = 20.0,
                  inclination_deg: float | None = None, inclination_tolerance_deg: float = 0.5,
                  strategy: str = "spread", rng=None, where: str = "constellation.select"
                  ) -> list[SatelliteOrbit]:
    """Keep satellites of one shell, then ``count`` of them.

    The paper takes "10 satellites from the 570 km Starlink constellation": in the
    2026 snapshot that is the 70 deg shell, whose mean altitude is 570 km.  The
    candidates (sorted by name) are thinned by ``strategy``: ``first`` keeps the
    first ``count``, ``spread`` keeps ``count`` evenly spaced ones, ``random``
    draws them with ``rng`` (the scenario's seed).

    >>> c = load_constellation("walker:550:53:4:5")
    >>> [o.name for o in select_orbits(c.orbits, count=3, strategy="first")]
    ['WALKER-550-P00-S00', 'WALKER-550-P00-S01', 'WALKER-550-P00-S02']
    """
    import numpy as np

    keep = _in_shell(orbits, altitude_km, tolerance_km, inclination_deg,
                     inclination_tolerance_deg)
    if not keep:
        raise InputError(f"{where}: no satellite within {tolerance_km:g} km of "
                         f"{altitude_km} km altitude and {inclination_tolerance_deg:g} deg of "
                         f"{inclination_deg} deg inclination (out of {len(orbits)})")
    keep.sort(key=lambda o: o.name)
    if count is None or count >= len(keep):
        if count is not None and count > len(keep):
            raise InputError(f"{where}.count: {count} satellites asked, only {len(keep)} match")
        return keep
    if strategy == "first":
        return keep[:count]
    if strategy == "spread":
        idx = np.round(np.linspace(0, len(keep) - 1, count)).astype(int)
        return [keep[i] for i in idx]
    if strategy == "random":
        rng = rng if rng is not None else np.random.default_rng(0)
        idx = np.sort(rng.choice(len(keep), size=count, replace=False))
        return [keep[i] for i in idx]
    raise InputError(f"{where}.strategy: expected first, spread or random, got {strategy!r}")


#: The satellites of a catalog within a shell's altitude and inclination bounds, by
#: constellation and bounds: a sweep's points filter the 10,000-satellite catalogue once.
_SHELLS: dict[tuple, tuple] = {}


def _in_shell(orbits, altitude_km, tolerance_km, inclination_deg,
              inclination_tolerance_deg) -> list:
    """The orbits within ``tolerance_km`` of ``altitude_km`` and within
    ``inclination_tolerance_deg`` of ``inclination_deg`` (a bound that is None is not
    checked), in the order given."""
    import numpy as np

    keep = list(orbits)
    if altitude_km is not None:
        keep = [o for o in keep if abs(mean_altitude_km(o) - altitude_km) <= tolerance_km]
    if inclination_deg is not None:
        keep = [o for o in keep
                if abs(np.degrees(o.satrec.inclo) - inclination_deg) <= inclination_tolerance_deg]
    return keep


def _shell_members(const: Constellation, select) -> list[SatelliteOrbit]:
    """:func:`select_orbits`' altitude and inclination filter of ``const`` (cached per
    process), in catalogue order."""
    key = (id(const), select.altitude_km, select.tolerance_km, select.inclination_deg,
           select.inclination_tolerance_deg)
    hit = _SHELLS.get(key)
    if hit is not None and hit[0] is const:
        return list(hit[1])
    keep = _in_shell(const.orbits, select.altitude_km, select.tolerance_km,
                     select.inclination_deg, select.inclination_tolerance_deg)
    if len(_SHELLS) >= 64:
        _SHELLS.clear()
    _SHELLS[key] = (const, tuple(keep))
    return keep


def orbits_from_scenario(scenario, rng) -> tuple[list[SatelliteOrbit], Constellation]:
    """The scenario's satellites (its ``constellation`` block) and their constellation.

    The catalog or Walker shell, narrowed by ``select``.  A catalog's candidates
    are taken in name order.  A Walker shell's are taken in shell order (plane by
    plane, each plane in orbit order, whatever the number of planes), so
    ``strategy: spread`` spreads them over the planes; its altitude and
    inclination filters compare the shell's own altitude and inclination (what the
    scenario wrote), not the SGP4 mean elements.  ``rng`` draws a ``random``
    selection.  Errors read ``FILE:LINE: constellation...: message``.
    """
    with field(scenario, "constellation"):
        return _scenario_orbits(scenario, rng)


def _scenario_orbits(scenario, rng) -> tuple[list[SatelliteOrbit], Constellation]:
    from types import SimpleNamespace

    c = scenario.constellation
    if c.walker is not None:
        w = c.walker
        shell = WalkerShell(altitude_km=w.altitude_km, inclination_deg=w.inclination_deg,
                            planes=w.planes, sats_per_plane=w.per_plane, phasing=w.phasing,
                            raan0_deg=w.raan0_deg)
        const = from_shell(shell)
    else:
        const = load_constellation(resolve_path(c.catalog, scenario), names=c.names or None,
                                   lenient=c.lenient)
    orbits = list(const.orbits)
    if c.select is not None:
        s = c.select
        if c.walker is None:
            shell = _shell_members(const, s)
            if shell:  # (none: select_orbits says why)
                orbits = select_orbits(shell, count=s.count, strategy=s.strategy, rng=rng)
            else:
                orbits = select_orbits(orbits, count=s.count, altitude_km=s.altitude_km,
                                       tolerance_km=s.tolerance_km,
                                       inclination_deg=s.inclination_deg,
                                       inclination_tolerance_deg=s.inclination_tolerance_deg,
                                       strategy=s.strategy, rng=rng)
        else:
            w = c.walker
            outside = ((s.altitude_km is not None
                        and abs(w.altitude_km - s.altitude_km) > s.tolerance_km)
                       or (s.inclination_deg is not None
                           and abs(w.inclination_deg - s.inclination_deg)
                           > s.inclination_tolerance_deg))
            if outside:
                raise InputError(f"constellation.select: no satellite within "
                                 f"{s.tolerance_km:g} km of {s.altitude_km} km altitude and "
                                 f"{s.inclination_tolerance_deg:g} deg of {s.inclination_deg} "
                                 f"deg inclination (the walker shell: {w.altitude_km:g} km, "
                                 f"{w.inclination_deg:g} deg)")
            # count and strategy as for a catalog, over stand-ins named in shell order
            # (satellite names sort out of shell order past 100 planes or slots)
            stand_ins = [SimpleNamespace(name=f"{k:08d}", index=k) for k in range(len(orbits))]
            picked = select_orbits(stand_ins, count=s.count, strategy=s.strategy, rng=rng)
            orbits = [orbits[p.index] for p in picked]
    return orbits, const


def start_of(scenario, const: Constellation) -> datetime:
    """The run's start (UTC): ``time.start``, else the constellation's default start."""
    from .frames import as_utc

    return as_utc(scenario.time.start) if scenario.time.start else const.default_start
