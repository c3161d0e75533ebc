"""The onboard accelerator when a policy decides during the run (a mixin of
:class:`~simulator.engine.simulation.Simulation`).

Each satellite has ``slots`` worker processes taking captured samples in
capture order.  A sample runs stage by stage; at every decision point the
policy's decider sees a :class:`~simulator.engine.decisions.DecisionView` and
may offload it; an offloaded sample is compressed and offered to the buffer
(``admit``); refused, it finishes onboard.  Static policies never come here:
their schedule is computed in closed form
(:meth:`~simulator.engine.simulation.Simulation.fifo_schedule`).
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np


class OnlineOnboard:
    """Online onboard scheduling (uses the Simulation's state; see the module doc)."""

    def _schedule_online(self) -> None:
        s = self.s
        slots = max(1, int(self.net.slots))
        self._cum = np.asarray(s.onboard_at_stage, dtype=float)
        self._final = self._cum.shape[1] - 1
        self._compress = s.compress_s.astype(float).tolist()
        self._capture = s.capture_s.astype(float).tolist()
        self._ground_s = s.ground_s.astype(float).tolist()
        for sat, idx in zip(self.sats, self._by_satellite()):
            queue = deque(idx.tolist())
            for _ in range(slots):
                self.env.process(self._online_worker(sat, queue))

    def _online_worker(self, sat, queue):
        """One accelerator slot: take the next captured sample, run it stage by stage,
        ask the decider at every point and at the buffer's door."""
        env, decider = self.env, self.s.decider
        capture, cum, final = self._capture, self._cum, self._final
        while queue:
            i = queue.popleft()
            if capture[i] > env.now:
                yield env.timeout(capture[i] - env.now)
            start = env.now
            self.onboard_start[i] = start
            stage, may_offload, extra = 0, True, 0.0
            row = cum[i]
            while True:
                if may_offload and decider.decide(self._view(sat, i, stage, queue)):
                    end = start + (row[stage] + self._compress[i]) + extra
                    if end > env.now:
                        yield env.timeout(end - env.now)
                    if decider.admit(self._view(sat, i, stage, queue)):
                        self._offload_dyn[i], self._stage_dyn[i] = True, stage
                        self._onboard_dyn[i] = row[stage]
                        self.onboard_end[i] = env.now
                        self._enqueue(i, sat)
                        break
                    # kept onboard after all: the rest of the inference, no more offers
                    may_offload, extra = False, extra + self._compress[i]
                if stage == final:
                    self._stage_dyn[i], self._onboard_dyn[i] = final, row[final]
                    self.onboard_end[i] = env.now
                    self.status[i] = 0  # "onboard" (simulation.STATUS[0])
                    self.done[i] = env.now
                    break
                stage += 1
                end = start + row[stage] + extra
                if end > env.now:
                    yield env.timeout(end - env.now)

    def _view(self, sat, i: int, stage: int, queue):
        from .decisions import DecisionView

        now = self.env.now
        open_now, nxt = self._open_windows(sat, now)
        if open_now:
            win = max(open_now, key=lambda w: w.set_s)
            in_contact, left, next_in = True, win.set_s - now, 0.0
            station, length, t_link = win.station, win.set_s - now, now
        else:
            upcoming = [w for w in sat.windows[sat.w:] if w.rise_s == nxt]
            win = max(upcoming, key=lambda w: w.set_s) if upcoming else None
            in_contact, left = False, 0.0
            next_in = nxt - now if math.isfinite(nxt) else math.inf
            station = win.station if win is not None else -1
            length = (win.set_s - win.rise_s) if win is not None else 0.0
            t_link = nxt if win is not None else now
        size = self._bytes[i]
        transport = self.net.transport
        tx = rate = math.nan
        queue_s = 0.0
        if station >= 0:
            try:
                tx = transport.alone_seconds(sat.index, station, t_link, size)
            except Exception:  # noqa: BLE001 - an estimate; the run itself will say
                tx = math.nan
            capacity = getattr(transport, "capacity", None)
            if capacity is not None:
                rate = float(capacity.rate_bps(sat.index, station, t_link))
            free = min(self.gpu_free[station])
            queue_s = max(0.0, free - now)
        goodput = 8.0 * size / tx if tx and tx > 0 and math.isfinite(tx) else math.nan
        backlog = 8.0 * sat.used_bytes / goodput if goodput and goodput > 0 else 0.0
        return DecisionView(
            now_s=now, satellite=sat.index, sample=i, stage=stage, final_stage=self._final,
            onboard_s_at_stage=tuple(self._cum[i].tolist()), ground_s=self._ground_s[i],
            sample_bytes=size, compress_s=self._compress[i], buffer_bytes=sat.used_bytes,
            buffer_capacity_bytes=self.net.buffer_capacity_bytes, in_contact=in_contact,
            contact_left_s=left, next_contact_in_s=next_in, next_contact_length_s=length,
            station=station, link_rate_bps=rate, expected_tx_s=tx, backlog_tx_s=backlog,
            ground_queue_s=queue_s, onboard_queue=len(queue))

