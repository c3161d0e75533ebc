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
  longest, and transmits the head of the buffer over the link's transport
  (a TCP connection per transfer, or an ideal pipe), piece by piece (a piece
  ends when the sample is sent, the goodput may change, or the window closes).
  A transfer cut by the end of a window resumes in the next window on a new
  connection, possibly at another station: stations are assumed to be joined by
  a terrestrial network and the sample is processed where its last byte lands.
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

from .online import OnlineOnboard
from .relay import Relay

#: Final status of a sample: exactly one per sample.
STATUS = ("onboard", "ground", "dropped", "unfinished")


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
    #: Decisions during the run (:mod:`simulator.engine.decisions`): a decider and the
    #: cumulative onboard seconds to reach each stage (n x (I + 2)).  None = the static
    #: ``offload`` / ``onboard_s`` above, scheduled in closed form (the fast path).
    decider: object | None = None
    onboard_at_stage: np.ndarray | None = None

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
    transport: object                           # simulator.links.transport.Transport
    propagation_s: Callable[[int, int, float], float]
    slots: int = 1
    isl: object | None = None                   # simulator.orbits.isl.InterSatelliteLinks
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
    #: What was decided (the inputs' plan on the fast path, the decider's choices online):
    offload: np.ndarray | None = None   # bool
    stage: np.ndarray | None = None     # int, the decision point; -1 = never started
    onboard_s: np.ndarray | None = None  # onboard accelerator seconds spent
    #: Inter-satellite relay: per-sample hops and seconds on ISLs, and every hop
    #: (sample, hop, from, to, start, end, bytes, light time).
    isl_hops: np.ndarray | None = None
    isl_s: np.ndarray | None = None
    isl_path: list | None = None
    hops: list = field(default_factory=list)


class _Satellite:
    __slots__ = ("index", "windows", "w", "buffer", "used_bytes", "wake", "tx_cum",
                 "tx_since", "seq", "isl_out", "isl_wake")

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


class Simulation(OnlineOnboard, Relay):
    """One run.  Build with inputs; :meth:`run` returns a :class:`SimulationOutput`."""

    def __init__(self, samples: SampleInputs, network: NetworkInputs):
        self.s = samples
        self.net = network
        n = len(samples)
        self.env = simpy.Environment()
        nan = float("nan")
        # Per-sample results as Python lists while running: indexing one element of a
        # list is several times cheaper than of a numpy array.  Turned into arrays at the end.
        self.status = ["unfinished"] * n
        self.station = [-1] * n
        self.tx_start = [nan] * n
        self.tx_end = [nan] * n
        self.tx_s = [0.0] * n
        self.tx_pieces = [0] * n
        self.wait_contact = [0.0] * n
        self.buffer_queue = [0.0] * n
        self.propagation = [0.0] * n
        self.ground_arrival = [nan] * n
        self.ground_start = [nan] * n
        self.ground_end = [nan] * n
        self.done = [nan] * n
        self.transmissions: list = []
        self.dropped_bytes = 0.0
        self.onboard_start = np.full(n, np.nan)
        self.onboard_end = np.full(n, np.nan)
        # Python lists are much faster to index one element at a time than numpy arrays.
        self._bytes = samples.bytes_sent.astype(float).tolist()
        self._remaining_bits = [8.0 * b for b in self._bytes]
        self._ground_s = samples.ground_s.astype(float).tolist()
        self._priority = (samples.priority.astype(float).tolist()
                          if samples.priority is not None else None)
        self._buffer_in = [0.0] * n
        self._tx_mark = [0.0] * n
        self.sats = [_Satellite(i, list(w)) for i, w in enumerate(network.windows)]
        for sat in self.sats:
            sat.buffer = [] if network.priority_buffer else deque()
        self.antennas_free = list(network.antennas)
        self.antenna_freed = [self.env.event() for _ in network.antennas]
        self.gpu_free = [[0.0] * max(1, g) for g in network.gpus]
        self._relay_setup()
        self.online = samples.decider is not None
        if self.online:
            self._offload_dyn = [False] * n
            self._stage_dyn = [-1] * n
            self._onboard_dyn = [0.0] * n

    # -- onboard ---------------------------------------------------------------

    @staticmethod
    def fifo_schedule(capture: np.ndarray, work: np.ndarray, slots: int):
        """Start and end times of FIFO service with ``slots`` servers (capture order).

        The result is exactly the recursion ``start_k = max(capture_k, end_{k-1})``,
        ``end_k = start_k + work_k`` evaluated in floating point, so a sample that
        does not wait has ``start == capture`` exactly (a wait of exactly 0, never
        -1e-11), ``start >= capture`` always and ``end == start + work`` always.

        With one server it is vectorised.  The closed form ``end_k = W_k +
        max_{j<=k}(capture_j - W_{j-1})`` (``W`` the cumulative work, one
        ``maximum.accumulate``) is right to rounding only: subtracting large
        cumulative sums leaves errors of ~1e-11 s, enough to turn "no wait" into a
        tiny negative or positive one.  So it only *guesses* the busy periods (runs
        of samples each starting when the previous ends).  Inside each period the
        recursion is a plain running sum from the period's first capture; periods
        of similar length are padded into one matrix and summed row by row with
        ``np.add.accumulate`` (sequential, hence the recursion's exact rounding).
        Then every guess is checked against the exact ends (``capture_k >=
        end_{k-1}`` starts a new period); a wrong guess can only be a near-tie and
        is corrected, which makes the first disagreement move strictly forward, so
        this ends -- in practice at once.  Short queues use the loop directly.

        >>> Simulation.fifo_schedule(np.array([0., 1., 10.]), np.array([5., 5., 1.]), 1)
        (array([ 0.,  5., 10.]), array([ 5., 10., 11.]))
        """
        capture = np.asarray(capture, dtype=float)
        work = np.asarray(work, dtype=float)
        n = len(capture)

        def loop(servers: int):
            free = [-math.inf] * servers
            starts, ends = [], []
            for c, d in zip(capture.tolist(), work.tolist()):
                t = heapq.heappop(free)
                start = c if c > t else t
                heapq.heappush(free, start + d)
                starts.append(start)
                ends.append(start + d)
            return np.asarray(starts, dtype=float), np.asarray(ends, dtype=float)

        if slots != 1 or n < 512:  # a Python loop: exact, and quicker for short queues
            return loop(max(1, int(slots)))

        def periods(first: np.ndarray):
            """The recursion, given which samples start a busy period."""
            start = capture.copy()
            end = np.empty(n)
            lone = first & np.append(first[1:], True)  # periods of one sample
            end[lone] = capture[lone] + work[lone]
            heads = np.flatnonzero(first & ~lone)
            if len(heads) == 0:
                return start, end
            bounds = np.append(np.flatnonzero(first), n)
            lengths = bounds[np.searchsorted(bounds, heads, side="right")] - heads
            bucket = np.ceil(np.log2(lengths)).astype(np.int8)  # padded to a power of two
            for b in np.unique(bucket):
                sel = np.flatnonzero(bucket == b)
                h, size = heads[sel], lengths[sel]
                if len(sel) == 1:  # one long period: a plain running sum
                    h0, k = int(h[0]), int(size[0])
                    acc = np.add.accumulate(np.concatenate(([capture[h0]], work[h0:h0 + k])))
                    start[h0 + 1:h0 + k] = acc[1:-1]
                    end[h0:h0 + k] = acc[1:]
                    continue
                width = (1 << int(b)) + 1  # column 0: the period's first capture
                rows = np.repeat(np.arange(len(sel)), size)
                offset = np.arange(int(size.sum())) - np.repeat(np.cumsum(size) - size, size)
                members = h[rows] + offset
                slot = rows * width + offset + 1
                table = np.zeros(len(sel) * width)
                table[np.arange(len(sel)) * width] = capture[h]
                table[slot] = work[members]
                table = np.add.accumulate(table.reshape(len(sel), width), axis=1).ravel()
                start[members] = table[slot - 1]
                end[members] = table[slot]
            return start, end

        total = np.cumsum(work)
        guess_end = total + np.maximum.accumulate(capture - (total - work))
        first = np.ones(n, dtype=bool)
        first[1:] = capture[1:] >= guess_end[:-1]
        for _ in range(32):
            start, end = periods(first)
            exact = np.ones(n, dtype=bool)
            exact[1:] = capture[1:] >= end[:-1]
            if np.array_equal(exact, first):
                return start, end
            first = exact
        return loop(1)  # pathological near-ties everywhere: the plain recursion

    # -- onboard, decided before the run (the fast path) --------------------------

    def _schedule_onboard(self) -> None:
        s = self.s
        slots = max(1, int(self.net.slots))
        work = s.onboard_s + np.where(s.offload, s.compress_s, 0.0)
        for sat in range(len(self.sats)):
            idx = np.nonzero(s.satellite == sat)[0]
            idx = idx[np.argsort(s.capture_s[idx], kind="stable")]
            start, end = self.fifo_schedule(s.capture_s[idx], work[idx], slots)
            self.onboard_start[idx] = start
            self.onboard_end[idx] = end
            order = np.argsort(end, kind="stable")
            self.env.process(self._onboard(self.sats[sat], idx[order].tolist(),
                                           end[order].tolist(), s.offload[idx[order]].tolist()))

    def _onboard(self, sat, rows, ends, offload):
        """Hand each sample on when its onboard work ends: answer, or buffer."""
        env = self.env
        for i, end, off in zip(rows, ends, offload):
            if end > env.now:
                yield env.timeout(end - env.now)
            if off:
                self._enqueue(i, sat)
            else:
                self.status[i] = "onboard"
                self.done[i] = env.now

    # -- buffer ----------------------------------------------------------------

    def _enqueue(self, i: int, sat: _Satellite) -> None:
        size = self._bytes[i]
        if sat.used_bytes + size > self.net.buffer_capacity_bytes:
            self.status[i] = "dropped"
            self.dropped_bytes += size
            return
        sat.used_bytes += size
        if self.isl is not None:
            target = self._relay_target(sat, i)
            if target is not None:
                self._to_isl(i, sat, target)
                return
        self._admit_downlink(i, sat)

    def _admit_downlink(self, i: int, sat: _Satellite) -> None:
        """Put sample ``i`` (already counted in ``used_bytes``) in the downlink buffer."""
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
        """Send the head of the buffer while the window lasts, one transfer per sample.

        Each sample's transfer is a fresh connection of the network's transport
        (:class:`~simulator.links.transport.Transport`): its pieces come from
        ``Transfer.step``.  A piece with no goodput is either connection setup
        (``busy``: it counts as transmission time) or a capacity outage (it
        counts as waiting for the link).  A transfer cut by the end of the window
        is abandoned; the next window opens a new connection for what is left.
        """
        env, net = self.env, self.net
        st = win.station
        transport = net.transport
        remaining = self._remaining_bits
        tx_s, tx_pieces, log = self.tx_s, self.tx_pieces, self.transmissions
        transfer, current = None, -1
        while sat.buffer and env.now < win.set_s:
            i = self._head(sat)
            now = env.now
            if i != current:
                transfer, current = transport.open(sat.index, st, now), i
            if tx_pieces[i] == 0:
                self.tx_start[i] = now
            rate, hold, busy = transfer.step(now)
            piece = min(hold, win.set_s - now)
            if rate <= 0.0:
                if busy:  # connection setup: the link is in use, no payload yet
                    sat.tx_since = now
                    yield env.timeout(piece)
                    sat.tx_since = None
                    sat.tx_cum += piece
                    tx_s[i] += piece
                else:     # outage: nothing moves
                    yield env.timeout(piece)
                transfer.advance(piece, 0.0)
                continue
            need = remaining[i] / rate
            finishes = need <= piece
            dt = need if finishes else piece
            sat.tx_since = now
            yield env.timeout(dt)
            sat.tx_since = None
            sat.tx_cum += dt
            sent_bits = remaining[i] if finishes else dt * rate
            transfer.advance(dt, sent_bits)
            remaining[i] -= sent_bits
            tx_s[i] += dt
            tx_pieces[i] += 1
            log.append((i, sat.index, st, now, now + dt, sent_bits / 8.0))
            if finishes:
                remaining[i] = 0.0
                self._pop(sat)
                sat.used_bytes -= self._bytes[i]
                self._sent(i, sat, st)

    def _sent(self, i: int, sat: _Satellite, station: int) -> None:
        env = self.env
        now = env.now
        self.tx_end[i] = now
        self.station[i] = station
        in_buffer = now - self._buffer_in[i]
        busy = sat.transmitted_time(now) - self._tx_mark[i]
        # Differences of sums of times: round-off below a nanosecond is zero.
        wait = in_buffer - busy
        self.wait_contact[i] = wait if wait > 1e-9 else 0.0
        queue = busy - self.tx_s[i]
        self.buffer_queue[i] = queue if queue > 1e-9 else 0.0
        delay = self.net.propagation_s(sat.index, station, now)
        self.propagation[i] = delay
        ev = env.timeout(delay, (i, station))
        ev.callbacks.append(self._arrive)

    # -- ground ----------------------------------------------------------------

    def _arrive(self, event) -> None:
        i, station = event.value
        now = self.env.now
        self.ground_arrival[i] = now
        free = self.gpu_free[station]
        t = heapq.heappop(free)
        start = now if now > t else t
        end = start + self._ground_s[i]
        heapq.heappush(free, end)
        self.ground_start[i] = start
        self.ground_end[i] = end
        if end <= self.net.horizon_s:
            self.status[i] = "ground"
            self.done[i] = end

    # -- run -------------------------------------------------------------------

    def run(self, progress: Callable[[float], None] | None = None, steps: int = 100):
        """Run to the horizon; ``progress`` gets the simulated seconds advanced."""
        if self.online:
            self._schedule_online()
        else:
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
        # SimPy numbers every scheduled event with a counter: its next value is the count.
        events = next(self.env._eid)
        f = lambda values: np.asarray(values, dtype=float)  # noqa: E731
        return SimulationOutput(
            status=np.asarray(self.status, dtype=object), station=np.asarray(self.station),
            onboard_start_s=self.onboard_start, onboard_end_s=self.onboard_end,
            tx_start_s=f(self.tx_start), tx_end_s=f(self.tx_end), tx_s=f(self.tx_s),
            tx_pieces=np.asarray(self.tx_pieces), wait_contact_s=f(self.wait_contact),
            buffer_queue_s=f(self.buffer_queue), propagation_s=f(self.propagation),
            ground_arrival_s=f(self.ground_arrival), ground_start_s=f(self.ground_start),
            ground_end_s=f(self.ground_end), done_s=f(self.done),
            transmissions=self.transmissions, events=events, dropped_bytes=self.dropped_bytes,
            isl_hops=np.asarray(self._hop_count, dtype=np.int64),
            isl_s=np.asarray(self._isl_s, dtype=float),
            isl_path=[">".join(map(str, p)) if p else "" for p in self._path],
            hops=self.hops, **self._decided())

    def _decided(self) -> dict:
        s = self.s
        if not self.online:
            return {"offload": np.asarray(s.offload, dtype=bool), "stage": None,
                    "onboard_s": np.asarray(s.onboard_s, dtype=float)}
        return {"offload": np.asarray(self._offload_dyn, dtype=bool),
                "stage": np.asarray(self._stage_dyn, dtype=np.int64),
                "onboard_s": np.asarray(self._onboard_dyn, dtype=float)}
