"""The event-driven core: satellites, their buffers and downlinks, ground stations.

This module knows nothing about YAML, traces or policies.  It receives, per
sample, *what* happens (which satellite captured it when, how long its onboard
work takes, whether it is offloaded, how many bytes go down, how long the ground
model needs) and, per satellite, *when* it can talk to which station (the
contact plan).  It returns *when* everything happened.

What is simulated, and how (SimPy):

* **Onboard accelerator.**  Each satellite has ``slots`` accelerator slots (one by
  default).  Samples are served first come, first served in capture order; a
  sample holds a slot for its onboard inference and, if offloaded, compression.
  Because service is FIFO and durations are known when a sample starts, start
  and end times follow directly; the end of each sample's onboard work is one
  SimPy event.
* **Buffer.**  Offloaded samples wait in a finite onboard buffer (bytes), FIFO or
  by priority (smaller value first).  A sample that does not fit is *dropped*
  and counted, never silently lost.
* **Downlink** (one SimPy process per satellite).  When the buffer is not empty,
  the satellite looks for an open contact window whose station has a free
  antenna (one satellite per antenna), preferring the window that stays open
  longest, and transmits the head of the buffer at the link model's rate,
  piece by piece (a piece ends when the sample is sent, the rate may change, or
  the window closes).  A transfer cut by the end of a window resumes in the next
  window, possibly at another station: stations are assumed to be joined by a
  terrestrial network and the sample is processed where its last byte lands.
* **Ground station.**  After the propagation delay the sample queues for the
  station's GPUs (first come, first served) and runs the ground model.

Two latencies are logged per sample: end-to-end (capture to answer) and
in-contact, which leaves out the time the satellite could not transmit (no
window, no free antenna, or a zero-rate outage) — what the SpaceVerse paper
measures.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import simpy

#: Final status of a sample: exactly one per sample.
STATUS = ("onboard", "ground", "dropped", "unfinished")


class CountingEnvironment(simpy.Environment):
    """A SimPy environment that counts the events it schedules (for benchmarks)."""

    def __init__(self, initial_time: float = 0.0):
        super().__init__(initial_time)
        self.events_scheduled = 0

    def schedule(self, event, priority=1, delay=0):  # noqa: D401 - SimPy signature
        self.events_scheduled += 1
        super().schedule(event, priority, delay)


@dataclass
class SampleInputs:
    """Per-sample inputs, arrays of equal length ``n``."""

    satellite: np.ndarray        # int: index of the capturing satellite
    capture_s: np.ndarray        # float: capture time, seconds since start
    onboard_s: np.ndarray        # float: onboard accelerator seconds (inference up to the decision)
    offload: np.ndarray          # bool: sent to the ground
    compress_s: np.ndarray       # float: onboard compression seconds (offloaded samples)
    bytes_sent: np.ndarray       # int: bytes downlinked (after compression)
    ground_s: np.ndarray         # float: ground GPU seconds
    priority: np.ndarray | None = None  # float: buffer priority, smaller first

    def __len__(self) -> int:
        return len(self.capture_s)


@dataclass
class ContactWindow:
    rise_s: float
    set_s: float
    station: int


@dataclass
class NetworkInputs:
    """Satellites, stations and links."""

    windows: Sequence[Sequence[ContactWindow]]  # per satellite, sorted by rise
    antennas: Sequence[int]                     # per station
    gpus: Sequence[int]                         # per station
    rate_bps: Callable[[int, int, float], float]
    piece_s: Callable[[int, int, float], float]
    propagation_s: Callable[[int, int, float], float]
    slots: int = 1
    buffer_capacity_bytes: float = math.inf
    priority_buffer: bool = False
    horizon_s: float = math.inf


@dataclass
class SimulationOutput:
    """Per-sample timings (arrays of length n) and the transmission log."""

    status: np.ndarray
    station: np.ndarray
    onboard_start_s: np.ndarray
    onboard_end_s: np.ndarray
    tx_start_s: np.ndarray
    tx_end_s: np.ndarray
    tx_s: np.ndarray
    tx_pieces: np.ndarray
    wait_contact_s: np.ndarray
    buffer_queue_s: np.ndarray
    propagation_s: np.ndarray
    ground_arrival_s: np.ndarray
    ground_start_s: np.ndarray
    ground_end_s: np.ndarray
    done_s: np.ndarray
    transmissions: list = field(default_factory=list)  # (sample, sat, station, start, end, bytes)
    events: int = 0
    dropped_bytes: float = 0.0


class _Satellite:
    __slots__ = ("index", "windows", "w", "buffer", "used_bytes", "wake", "tx_cum",
                 "tx_since", "seq")

    def __init__(self, index, windows):
        self.index = index
        self.windows = windows
        self.w = 0
        self.buffer = []          # deque (FIFO) or heap of (priority, seq, sample)
        self.used_bytes = 0.0
        self.wake = None
        self.tx_cum = 0.0         # seconds spent transmitting so far
        self.tx_since = None      # start of the piece in progress, if any
        self.seq = 0

    def transmitted_time(self, now: float) -> float:
        return self.tx_cum + (now - self.tx_since if self.tx_since is not None else 0.0)


class Simulation:
    """One run.  Build with inputs, call :meth:`run`, read :attr:`out`."""

    def __init__(self, samples: SampleInputs, network: NetworkInputs):
        self.s = samples
        self.net = network
        n = len(samples)
        self.env = CountingEnvironment()
        nan = np.full(n, np.nan)
        self.out = SimulationOutput(
            status=np.full(n, "unfinished", dtype=object), station=np.full(n, -1),
            onboard_start_s=nan.copy(), onboard_end_s=nan.copy(), tx_start_s=nan.copy(),
            tx_end_s=nan.copy(), tx_s=np.zeros(n), tx_pieces=np.zeros(n, dtype=int),
            wait_contact_s=np.zeros(n), buffer_queue_s=np.zeros(n), propagation_s=np.zeros(n),
            ground_arrival_s=nan.copy(), ground_start_s=nan.copy(), ground_end_s=nan.copy(),
            done_s=nan.copy())
        # Python lists are much faster to index one element at a time than numpy arrays.
        self._bytes = samples.bytes_sent.astype(float).tolist()
        self._remaining_bits = [8.0 * b for b in self._bytes]
        self._ground_s = samples.ground_s.astype(float).tolist()
        self._priority = (samples.priority.astype(float).tolist()
                          if samples.priority is not None else None)
        self._buffer_in = [0.0] * n
        self._tx_mark = [0.0] * n
        self.sats = [_Satellite(i, list(w)) for i, w in enumerate(network.windows)]
        self.antennas_free = list(network.antennas)
        self.antenna_freed = [self.env.event() for _ in network.antennas]
        self.gpu_free = [[0.0] * max(1, g) for g in network.gpus]

    # -- onboard ---------------------------------------------------------------

    def _schedule_onboard(self) -> None:
        s, out, env = self.s, self.out, self.env
        slots = max(1, int(self.net.slots))
        work = s.onboard_s + np.where(s.offload, s.compress_s, 0.0)
        for sat in range(len(self.sats)):
            idx = np.nonzero(s.satellite == sat)[0]
            idx = idx[np.argsort(s.capture_s[idx], kind="stable")]
            free = [0.0] * slots
            capture = s.capture_s[idx].tolist()
            dur = work[idx].tolist()
            starts, ends = [], []
            for c, d in zip(capture, dur):
                t = heapq.heappop(free)
                start = c if c > t else t
                end = start + d
                heapq.heappush(free, end)
                starts.append(start)
                ends.append(end)
            out.onboard_start_s[idx] = starts
            out.onboard_end_s[idx] = ends
            offload = s.offload[idx].tolist()
            for i, end, off in zip(idx.tolist(), ends, offload):
                ev = env.timeout(end)
                ev.callbacks.append(self._to_buffer(i, sat) if off else self._done_onboard(i))

    def _done_onboard(self, i):
        def cb(_event):
            self.out.status[i] = "onboard"
            self.out.done_s[i] = self.env.now
        return cb

    def _to_buffer(self, i, sat_index):
        def cb(_event):
            self._enqueue(i, self.sats[sat_index])
        return cb

    # -- buffer ----------------------------------------------------------------

    def _enqueue(self, i: int, sat: _Satellite) -> None:
        size = self._bytes[i]
        if sat.used_bytes + size > self.net.buffer_capacity_bytes:
            self.out.status[i] = "dropped"
            self.out.dropped_bytes += size
            return
        sat.used_bytes += size
        now = self.env.now
        self._buffer_in[i] = now
        self._tx_mark[i] = sat.transmitted_time(now)
        if self.net.priority_buffer:
            sat.seq += 1
            heapq.heappush(sat.buffer, (self._priority[i], sat.seq, i))
        else:
            sat.buffer.append(i)
        if sat.wake is not None:
            wake, sat.wake = sat.wake, None
            wake.succeed()

    def _head(self, sat: _Satellite) -> int:
        return sat.buffer[0][2] if self.net.priority_buffer else sat.buffer[0]

    def _pop(self, sat: _Satellite) -> None:
        if self.net.priority_buffer:
            heapq.heappop(sat.buffer)
        else:
            sat.buffer.popleft()

    # -- downlink --------------------------------------------------------------

    def _open_windows(self, sat: _Satellite, now: float):
        """Windows open at ``now`` and the start of the next one (inf if none)."""
        wins = sat.windows
        while sat.w < len(wins) and wins[sat.w].set_s <= now:
            sat.w += 1
        open_now = []
        nxt = math.inf
        for j in range(sat.w, len(wins)):
            win = wins[j]
            if win.rise_s > now:
                nxt = win.rise_s
                break
            if win.set_s > now:
                open_now.append(win)
        return open_now, nxt

    def _downlink(self, sat: _Satellite):
        env = self.env
        if not self.net.priority_buffer:
            sat.buffer = deque()
        while True:
            if not sat.buffer:
                sat.wake = env.event()
                yield sat.wake
            now = env.now
            open_now, nxt = self._open_windows(sat, now)
            usable = [w for w in open_now if self.antennas_free[w.station] > 0]
            if not usable:
                if not open_now and nxt == math.inf:
                    return  # no more contacts: what is left stays unfinished
                until = min([nxt] + [w.set_s for w in open_now])
                waits = [env.timeout(until - now)]
                waits += [self.antenna_freed[w.station] for w in open_now]
                yield env.any_of(waits)
                continue
            win = max(usable, key=lambda w: w.set_s)
            self.antennas_free[win.station] -= 1
            try:
                yield from self._transmit(sat, win)
            finally:
                self.antennas_free[win.station] += 1
                freed, self.antenna_freed[win.station] = (self.antenna_freed[win.station],
                                                          env.event())
                freed.succeed()

    def _transmit(self, sat: _Satellite, win: ContactWindow):
        env, out, net = self.env, self.out, self.net
        st = win.station
        while sat.buffer and env.now < win.set_s:
            i = self._head(sat)
            now = env.now
            if out.tx_pieces[i] == 0:
                out.tx_start_s[i] = now
            rate = net.rate_bps(sat.index, st, now)
            piece = min(net.piece_s(sat.index, st, now), win.set_s - now)
            if rate <= 0.0:
                yield env.timeout(piece)  # outage: nothing moves
                continue
            need = self._remaining_bits[i] / rate
            finishes = need <= piece
            dt = need if finishes else piece
            sat.tx_since = now
            yield env.timeout(dt)
            sat.tx_since = None
            sat.tx_cum += dt
            sent_bits = self._remaining_bits[i] if finishes else dt * rate
            self._remaining_bits[i] -= sent_bits
            out.tx_s[i] += dt
            out.tx_pieces[i] += 1
            self.out.transmissions.append((i, sat.index, st, now, now + dt, sent_bits / 8.0))
            if finishes:
                self._remaining_bits[i] = 0.0
                self._pop(sat)
                sat.used_bytes -= self._bytes[i]
                self._sent(i, sat, st)

    def _sent(self, i: int, sat: _Satellite, station: int) -> None:
        env, out = self.env, self.out
        now = env.now
        out.tx_end_s[i] = now
        out.station[i] = station
        in_buffer = now - self._buffer_in[i]
        busy = sat.transmitted_time(now) - self._tx_mark[i]
        out.wait_contact_s[i] = max(0.0, in_buffer - busy)
        out.buffer_queue_s[i] = max(0.0, busy - out.tx_s[i])
        delay = self.net.propagation_s(sat.index, station, now)
        out.propagation_s[i] = delay
        ev = env.timeout(delay)
        ev.callbacks.append(lambda _e: self._arrive(i, station))

    # -- ground ----------------------------------------------------------------

    def _arrive(self, i: int, station: int) -> None:
        now = self.env.now
        out = self.out
        out.ground_arrival_s[i] = now
        free = self.gpu_free[station]
        t = heapq.heappop(free)
        start = now if now > t else t
        end = start + self._ground_s[i]
        heapq.heappush(free, end)
        out.ground_start_s[i] = start
        out.ground_end_s[i] = end
        if end <= self.net.horizon_s:
            out.status[i] = "ground"
            out.done_s[i] = end

    # -- run -------------------------------------------------------------------

    def run(self, progress: Callable[[float], None] | None = None, steps: int = 100):
        """Run to the horizon; ``progress`` gets the simulated seconds advanced."""
        self._schedule_onboard()
        for sat in self.sats:
            self.env.process(self._downlink(sat))
        horizon = self.net.horizon_s
        if progress is None or not math.isfinite(horizon):
            self.env.run(until=horizon if math.isfinite(horizon) else None)
        else:
            step = horizon / steps
            for k in range(1, steps + 1):
                before = self.env.now
                self.env.run(until=min(horizon, k * step))
                progress(self.env.now - before)
        self.out.events = self.env.events_scheduled
        return self.out
