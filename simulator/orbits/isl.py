"""Inter-satellite links: which satellites can talk to which, when, and how fast.

Hypatia and StarPerf users expect a constellation to relay traffic over
inter-satellite links (ISLs).  :class:`InterSatelliteLinks` gives the engine
(:mod:`simulator.engine.relay`) what it needs:

* **neighbours** of each satellite, fixed for the run: ``"nearest"`` = the ``k``
  nearest satellites at the start (for a Walker shell with ``k = 4``: the two
  in-plane neighbours and the nearest of each adjacent plane, the usual
  "+Grid"), or explicit ``pairs`` of satellite names;
* whether a link is **up** at a time: the distance is at most ``max_range_km``
  and the straight line between the two clears the Earth and its atmosphere
  (``GRAZING_KM`` above the surface);
* its **rate** (``rate_mbps``) and **light time** (distance / c).

Positions are the same SGP4 states as the contact search
(:class:`~simulator.orbits.geometry.PassGeometry`).

>>> from datetime import datetime, timezone
>>> from simulator.orbits.constellations import from_shell
>>> from simulator.orbits.shells import WalkerShell
>>> shell = from_shell(WalkerShell(altitude_km=550, inclination_deg=53, planes=6, sats_per_plane=10))
>>> isl = InterSatelliteLinks(shell.orbits, datetime(2026, 6, 14, tzinfo=timezone.utc))
>>> len(isl.neighbours(0)), isl.in_range(0, isl.neighbours(0)[0], 0.0)
(4, True)
"""

from __future__ import annotations

import math
from datetime import datetime
from functools import lru_cache
from typing import Sequence

import numpy as np

from ..errors import InputError

SPEED_OF_LIGHT_KM_S = 299792.458
#: Mean Earth radius (km) and the height a link must clear (atmosphere), km.
EARTH_RADIUS_KM = 6371.0
GRAZING_KM = 80.0


class InterSatelliteLinks:
    """ISLs of a constellation (see the module docstring)."""

    def __init__(self, orbits: Sequence, start: datetime, *, neighbours: str = "nearest",
                 k: int = 4, pairs: Sequence[Sequence[str]] | None = None,
                 rate_mbps: float = 1000.0, max_range_km: float = 5000.0,
                 margin_s: float = 1.0, max_hops: int = 2):
        from .geometry import PassGeometry

        if not rate_mbps > 0 or not math.isfinite(rate_mbps):
            raise InputError(f"isl.rate_mbps={rate_mbps!r}; expected a number > 0")
        if not max_range_km > 0:
            raise InputError(f"isl.max_range_km={max_range_km!r}; expected a number > 0")
        self.orbits = list(orbits)
        self.rate_bps = float(rate_mbps) * 1e6
        self.max_range_km = float(max_range_km)
        self.margin_s = float(margin_s)
        self.max_hops = int(max_hops)
        self.rate_mbps = float(rate_mbps)
        self.kind = neighbours
        n = len(self.orbits)
        # a station list is required by PassGeometry; positions only are used here
        from .stations import GroundStation

        self._geometry = PassGeometry(self.orbits, [GroundStation("origin", 0.0, 0.0)], start)
        self._position = lru_cache(maxsize=65536)(self._position_uncached)
        if neighbours == "explicit":
            index = {o.name: j for j, o in enumerate(self.orbits)}
            links: list[set] = [set() for _ in range(n)]
            for p, pair in enumerate(pairs or []):
                if len(pair) != 2 or any(name not in index for name in pair):
                    raise InputError(f"isl.pairs[{p}]: {list(pair)!r}; expected two names of "
                                     f"simulated satellites")
                a, b = index[pair[0]], index[pair[1]]
                if a != b:
                    links[a].add(b)
                    links[b].add(a)
            self._neighbours = [sorted(x) for x in links]
        elif neighbours == "nearest":
            if n < 2:
                self._neighbours = [[] for _ in range(n)]
            else:
                pos = np.array([self._position(j, 0.0) for j in range(n)])
                dist = np.linalg.norm(pos[:, None, :] - pos[None, :, :], axis=-1)
                np.fill_diagonal(dist, np.inf)
                order = np.argsort(dist, axis=1, kind="stable")[:, :max(0, int(k))]
                self._neighbours = [[int(b) for b in row if dist[a, b] <= self.max_range_km]
                                    for a, row in enumerate(order)]
        else:
            raise InputError(f"isl.neighbours {neighbours!r}; expected nearest or explicit")

    def _position_uncached(self, sat: int, t_s: float) -> np.ndarray:
        return self._geometry.position_km(sat, t_s)

    def neighbours(self, sat: int) -> list[int]:
        return self._neighbours[sat]

    def distance_km(self, a: int, b: int, t_s: float) -> float:
        return float(np.linalg.norm(self._position(a, float(t_s)) - self._position(b, float(t_s))))

    def in_range(self, a: int, b: int, t_s: float) -> bool:
        """Within ``max_range_km`` and in line of sight above the atmosphere."""
        pa, pb = self._position(a, float(t_s)), self._position(b, float(t_s))
        d = pb - pa
        length = float(np.linalg.norm(d))
        if not np.isfinite(length) or length > self.max_range_km:
            return False
        if length == 0:
            return True
        u = min(1.0, max(0.0, -float(pa @ d) / (length * length)))
        closest = float(np.linalg.norm(pa + u * d))
        return closest > EARTH_RADIUS_KM + GRAZING_KM

    def delay_s(self, a: int, b: int, t_s: float) -> float:
        return self.distance_km(a, b, t_s) / SPEED_OF_LIGHT_KM_S

    def describe(self) -> dict:
        links = sum(len(x) for x in self._neighbours) // 2
        return {"neighbours": self.kind, "links": links, "rate_mbps": self.rate_mbps,
                "max_range_km": self.max_range_km, "margin_s": self.margin_s,
                "max_hops": self.max_hops}
