"""Relay through inter-satellite links (a mixin of
:class:`~simulator.engine.simulation.Simulation`).

With ``NetworkInputs.isl`` set (an :class:`~simulator.orbits.isl.InterSatelliteLinks`),
a sample entering a satellite's buffer while that satellite is out of contact may
hop to a neighbour that is in contact, or will be sooner: when the neighbour's
first transfer opportunity, plus the hop itself (transmission at the ISL rate
and light time over the current distance), comes at least ``isl.margin_s``
before the satellite's own.  Each satellite has one ISL terminal (one hop out
at a time, first come first served); a hop leaves the sender's buffer when its
last bit is sent and enters the receiver's buffer a light time later (dropped
if it does not fit, like any arrival).  Samples hop at most ``isl.max_hops``
times and never straight back.  Every hop is logged (``hops``: sample, hop
number, from, to, start, end of transmission, bytes, light time) and per
sample: hops, seconds on ISLs (queue, transmission, light time) and the path.
"""

from __future__ import annotations

import math
from collections import deque


class Relay:
    """ISL relay (uses the Simulation's state; see the module doc)."""

    def _relay_setup(self) -> None:
        n = len(self.s)
        self.isl = getattr(self.net, "isl", None)
        self.hops: list = []
        if self.isl is None:  # no relay: no per-sample relay state (the log fills zeros)
            self._hop_count = self._isl_s = self._path = self._came_from = None
            return
        self._hop_count = [0] * n
        self._isl_s = [0.0] * n
        self._path = [None] * n
        self._came_from = [-1] * n
        for sat in self.sats:
            sat.isl_out = deque()
            sat.isl_wake = None
            self.env.process(self._isl_sender(sat))

    def _first_opportunity_s(self, sat, now: float) -> float:
        """Seconds until ``sat`` could start a downlink (0 in contact, inf never)."""
        open_now, nxt = self._open_windows(sat, now)
        if open_now:
            return 0.0
        return nxt - now if math.isfinite(nxt) else math.inf

    def _relay_target(self, sat, i: int):
        """The neighbour to hop to, or None to wait for this satellite's own contact."""
        isl = self.isl
        if self._hop_count[i] >= isl.max_hops:
            return None
        now = self.env.now
        own = self._first_opportunity_s(sat, now)
        if own == 0.0:
            return None
        bits = 8.0 * self._bytes[i]
        best, best_cost = None, own - isl.margin_s
        for b in isl.neighbours(sat.index):
            if b == self._came_from[i] or not isl.in_range(sat.index, b, now):
                continue
            cost = (bits / isl.rate_bps + isl.delay_s(sat.index, b, now)
                    + self._first_opportunity_s(self.sats[b], now))
            if cost < best_cost:
                best, best_cost = b, cost
        return best

    def _to_isl(self, i: int, sat, target: int) -> None:
        sat.isl_out.append((i, target, self.env.now))
        if sat.isl_wake is not None:
            wake, sat.isl_wake = sat.isl_wake, None
            wake.succeed()

    def _isl_sender(self, sat):
        env, isl = self.env, self.isl
        while True:
            if not sat.isl_out:
                sat.isl_wake = env.event()
                yield sat.isl_wake
            i, target, queued = sat.isl_out.popleft()
            now = env.now
            if not isl.in_range(sat.index, target, now):
                # the neighbour moved out of range meanwhile: into the own downlink buffer
                # (its bytes never left this satellite's buffer)
                self._isl_s[i] += now - queued
                self._admit_downlink(i, sat)
                continue
            dt = 8.0 * self._bytes[i] / isl.rate_bps
            delay = isl.delay_s(sat.index, target, now)
            yield env.timeout(dt)
            sat.used_bytes -= self._bytes[i]
            hop = self._hop_count[i] + 1
            self._hop_count[i] = hop
            self._came_from[i] = sat.index
            self._isl_s[i] += (env.now - queued) + delay
            self._path[i] = (self._path[i] or [sat.index]) + [target]
            self.hops.append((i, hop, sat.index, target, now, env.now, self._bytes[i], delay))
            arrival = env.timeout(delay, (i, target))
            arrival.callbacks.append(self._isl_arrive)

    def _isl_arrive(self, event) -> None:
        i, target = event.value
        self._enqueue(i, self.sats[target])
