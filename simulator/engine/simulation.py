"""The event-driven core: satellites, their buffers and downlinks, ground stations.

This module knows nothing about YAML, traces or policies.  It receives, per
sample, *what* happens (which satellite captured it when, how long its onboard
work takes, whether it is offloaded, how many bytes go down, how long the ground
model needs) and, per satellite, *when* it can talk to which station (the
contact plan).  It returns *when* everything happened.

What is simulated:

* **Onboard accelerator.**  Each satellite has ``slots`` accelerator slots (one by
  default).  Samples are served first come, first served in capture order; a
  sample holds a slot for its onboard inference and, if offloaded, compression.
  Because service is FIFO and durations are known when a sample starts, start
  and end times follow in closed form (:meth:`Simulation.fifo_schedule`).
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
  A satellite that finds every antenna it could use taken waits in each of
  those stations' queues (first come, first served); a freed antenna wakes only
  the first satellite waiting for it.
* **Ground station.**  After the propagation delay the sample queues for the
  station's GPUs (first come, first served) and runs the ground model.

Two latencies are logged per sample: end-to-end (capture to answer) and
in-contact, which leaves out the time the satellite could not transmit (no
window, no free antenna, or a zero-rate outage) — what the SpaceVerse paper
measures.

**How the work is split between events and closed forms.**  Only what couples
satellites in time is an event: who holds which antenna.  With decisions taken
before the run and no inter-satellite relay (the *fast path*), a satellite's
own timeline needs no event at all: its samples enter the buffer at their
precomputed onboard end times (read in order as the downlink reaches them), and
once it holds an antenna everything it does until its buffer is empty or the
window closes is computed at once, piece by piece, ending in one event that
frees the antenna.  The ground GPUs, which nothing in the run reads, are
scheduled after the loop (FIFO in closed form, like the onboard accelerator),
with the light times of all transfers computed together.  Policies that decide
during the run (:mod:`.online`) read the buffer, the contacts and the ground
queue at any moment, and relayed samples (:mod:`.relay`) arrive at any moment:
they take the *live path*, where every piece is an event and the ground queue is
simulated as it fills.  Both paths give the same results bit for bit
(``tests/test_reference_outputs.py``, ``tests/test_simulation.py``).
"""

from __future__ import annotations

import heapq
import math
from array import array
from collections import deque
from typing import Callable

import numpy as np
import simpy
from simpy.events import NORMAL, Event

from .fast_path import FastPath, _TcpKernel
from .inputs import (_DROPPED, _GROUND, _ONBOARD, _UNFINISHED, STATUS,  # noqa: F401
                     TRANSMISSION_DTYPE, ContactWindow, NetworkInputs, SampleInputs,
                     SimulationOutput)
from .online import OnlineOnboard
from .relay import Relay
from .schedules import fifo_schedule, timeout_chain
from .service import first_contact

#: The inputs and output live in :mod:`.inputs`; they are named here too, where the
#: event loop's callers have always imported them from.
__all__ = ["STATUS", "TRANSMISSION_DTYPE", "ContactWindow", "NetworkInputs", "SampleInputs",
           "Simulation", "SimulationOutput"]


def _floats(n: int, value: float) -> array:
    """A preallocated per-sample array of doubles (8 bytes a sample, quick to index)."""
    return array("d", np.full(n, value, dtype=np.float64).tobytes())


def _ints(n: int, value: int) -> array:
    return array("q", np.full(n, value, dtype=np.int64).tobytes())


class _Environment(simpy.Environment):
    """SimPy's environment, plus events at an absolute time.

    ``timeout(t - now)`` fires at ``now + (t - now)``, which rounding may move off
    ``t`` by an ulp; :meth:`at` fires at exactly ``t`` (a time the event loop
    computed as a running sum, the way successive timeouts would have reached it).
    """

    def at(self, t: float) -> Event:
        event = Event(self)
        event._ok = True
        event._value = None
        heapq.heappush(self._queue, (t, NORMAL, next(self._eid), event))
        return event


class _Satellite:
    __slots__ = ("index", "windows", "w", "buffer", "used_bytes", "wake", "tx_cum",
                 "tx_since", "seq", "isl_out", "isl_wake",
                 # fast path: the offloaded samples in onboard-end order, and how far read
                 "arr_t", "arr_i", "k",
                 # waiting for an antenna: the wake event, a token that invalidates old
                 # places in the stations' queues, the station whose release woke it,
                 # and the one pending timer (event, the time it fires)
                 "wait_ev", "token", "woken_for", "timer", "timer_at")

    def __init__(self, index, windows):
        self.index = index
        self.windows = windows
        self.w = 0
        self.buffer = []          # deque (FIFO) or heap of (priority, seq, sample)
        self.used_bytes = 0.0
        self.wake = None
        self.tx_cum = 0.0         # seconds spent transmitting so far
        self.tx_since = None      # start of the piece in progress, if any (live path)
        self.seq = 0
        self.arr_t = self.arr_i = ()
        self.k = 0
        self.wait_ev = None
        self.token = 0
        self.woken_for = -1
        self.timer = None
        self.timer_at = math.nan

    def transmitted_time(self, now: float) -> float:
        return self.tx_cum + (now - self.tx_since if self.tx_since is not None else 0.0)


class Simulation(FastPath, OnlineOnboard, Relay):
    """One run.  Build with inputs; :meth:`run` returns a :class:`SimulationOutput`."""

    def __init__(self, samples: SampleInputs, network: NetworkInputs):
        self.s = samples
        self.net = network
        n = len(samples)
        self.n = n
        self.env = _Environment()
        self.online = samples.decider is not None
        # Per-sample results, preallocated (8 bytes a sample); numpy arrays at the end.
        nan = math.nan
        self.status = array("b", bytes([_UNFINISHED]) * n)
        self.station = _ints(n, -1)
        self.tx_sat = _ints(n, -1)       # the satellite that sent the last byte
        self.tx_start = _floats(n, nan)
        self.tx_end = _floats(n, nan)
        self.tx_s = _floats(n, 0.0)
        self.tx_pieces = _ints(n, 0)
        self.wait_contact = _floats(n, 0.0)
        self.buffer_queue = _floats(n, 0.0)
        self.propagation = _floats(n, 0.0)
        self.ground_arrival = _floats(n, nan)
        self.ground_start = _floats(n, nan)
        self.ground_end = _floats(n, nan)
        self.done = _floats(n, nan)
        # transmitted pieces: (sample, start, end, bits) each, and runs of pieces sent
        # by one satellite to one station: (satellite, station, pieces) each
        self.log = array("d")
        self.log_runs = array("q")
        self.dropped_bytes = 0.0
        self.onboard_start = np.full(n, np.nan)
        self.onboard_end = np.full(n, np.nan)
        sizes = np.asarray(samples.bytes_sent).astype(float)
        self._bytes = array("d", sizes.tobytes())
        self._remaining_bits = array("d", (8.0 * sizes).tobytes())
        self._ground_s = samples.ground_s.astype(float).tolist() if self.online else None
        self._priority = (array("d", np.asarray(samples.priority, float).tobytes())
                          if samples.priority is not None else None)
        self._buffer_in = _floats(n, 0.0)
        self._tx_mark = _floats(n, 0.0)
        self._landed = array("q")         # samples in the order their last byte landed
        self._cum_end = _floats(n, 0.0)   # the satellite's transmitting seconds by then
        self.sats = [_Satellite(i, list(w)) for i, w in enumerate(network.windows)]
        for sat in self.sats:
            sat.buffer = [] if network.priority_buffer else deque()
        self.antennas_free = list(network.antennas)
        self._waiting = [deque() for _ in network.antennas]   # (satellite, token)
        self.gpu_free = [[0.0] * max(1, g) for g in network.gpus]
        self._relay_setup()
        self.fast = not self.online and self.isl is None
        self._stop = math.inf
        if self.online:
            self._offload_dyn = [False] * n
            self._stage_dyn = [-1] * n
            self._onboard_dyn = [0.0] * n

    # -- onboard ---------------------------------------------------------------

    fifo_schedule = staticmethod(fifo_schedule)
    timeout_chain = staticmethod(timeout_chain)

    # -- onboard, decided before the run (the fast path) --------------------------

    def _by_satellite(self):
        """Sample indices per satellite, each in capture order (ties: sample order)."""
        s = self.s
        sat = np.asarray(s.satellite)
        order = np.lexsort((np.asarray(s.capture_s), sat))
        bounds = np.searchsorted(sat[order], np.arange(len(self.sats) + 1))
        return [order[bounds[k]:bounds[k + 1]] for k in range(len(self.sats))]

    def _schedule_onboard(self) -> None:
        """Onboard FIFO in closed form.  Each sample leaves the accelerator when the
        satellite's onboard process would have resumed for it (:meth:`timeout_chain`):
        answered there, or into the buffer."""
        s = self.s
        slots = max(1, int(self.net.slots))
        work = s.onboard_s + np.where(s.offload, s.compress_s, 0.0)
        offload = np.asarray(s.offload, dtype=bool)
        stop = self._stop
        guesses = []   # (satellite, when) of every sample that enters a buffer
        for sat, idx in zip(self.sats, self._by_satellite()):
            if not len(idx):
                continue
            start, end = self.fifo_schedule(s.capture_s[idx], work[idx], slots)
            self.onboard_start[idx] = start
            self.onboard_end[idx] = end
            order = np.argsort(end, kind="stable")
            rows, ends = idx[order], end[order]
            if not self.fast:  # relayed samples arrive at any moment: the live path
                self.env.process(self._onboard(sat, rows.tolist(), ends.tolist(),
                                               offload[rows].tolist()))
                continue
            left = self.timeout_chain(ends)
            happened = left < stop           # the run stops before any event at `stop`
            kept = happened & ~offload[rows]
            done = np.frombuffer(self.done, dtype=np.float64)
            status = np.frombuffer(self.status, dtype=np.int8)
            done[rows[kept]] = left[kept]
            status[rows[kept]] = _ONBOARD
            sent = happened & offload[rows]
            sat.arr_t = array("d", left[sent].tobytes())
            sat.arr_i = array("q", rows[sent].astype(np.int64).tobytes())
            buffer_in = np.frombuffer(self._buffer_in, dtype=np.float64)
            buffer_in[rows[sent]] = left[sent]
            guesses.append((np.full(int(sent.sum()), sat.index, dtype=np.int64), left[sent]))
        prefetch = getattr(self.net.propagation_s, "prefetch", None)
        if self.fast and prefetch is not None and guesses:
            # Where transfers will most likely happen: the window each sample would take
            # if it found the link to itself.  Sampling their slant ranges in one batch
            # is much quicker than one window at a time as the loop reaches them.
            sats = np.concatenate([g[0] for g in guesses])
            when = np.concatenate([g[1] for g in guesses])
            station, start = first_contact(self.net.windows, sats, when)
            ok = station >= 0
            prefetch(sats[ok], station[ok], start[ok])

    def _onboard(self, sat, rows, ends, offload):
        """Hand each sample on when its onboard work ends: answer, or buffer (live path)."""
        env = self.env
        for i, end, off in zip(rows, ends, offload):
            if end > env.now:
                yield env.timeout(end - env.now)
            if off:
                self._enqueue(i, sat)
            else:
                self.status[i] = _ONBOARD
                self.done[i] = env.now

    # -- buffer ----------------------------------------------------------------

    def _enqueue(self, i: int, sat: _Satellite) -> None:
        size = self._bytes[i]
        if sat.used_bytes + size > self.net.buffer_capacity_bytes:
            self.status[i] = _DROPPED
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
        fast = self.fast
        free = self.antennas_free
        while True:
            now = env.now
            woken_for, sat.woken_for = sat.woken_for, -1
            if fast:
                if sat.k < len(sat.arr_t) and sat.arr_t[sat.k] <= now:
                    self._arrivals(sat, now, now, sat.tx_cum, False)
                if not sat.buffer:
                    if woken_for >= 0:
                        self._pass_on(woken_for)
                    if sat.k >= len(sat.arr_t):
                        return  # nothing more will come
                    yield env.at(sat.arr_t[sat.k])  # the next sample leaves the accelerator
                    continue
            elif not sat.buffer:
                if woken_for >= 0:
                    self._pass_on(woken_for)
                sat.wake = env.event()
                yield sat.wake
                continue
            open_now, nxt = self._open_windows(sat, now)
            win = None
            for w in open_now:  # the usable window that stays open longest (first on ties)
                if free[w.station] > 0 and (win is None or w.set_s > win.set_s):
                    win = w
            if woken_for >= 0 and (win is None or win.station != woken_for):
                self._pass_on(woken_for)
            if win is None:
                if not open_now and nxt == math.inf:
                    return  # no more contacts: what is left stays unfinished
                until = nxt
                for w in open_now:
                    if w.set_s < until:
                        until = w.set_s
                if open_now:
                    yield self._wait_for_antenna(sat, until, open_now)
                else:
                    yield env.timeout(until - now)
                continue
            st = win.station
            free[st] -= 1
            try:
                if fast:
                    yield from self._session(sat, win)
                else:
                    yield from self._transmit(sat, win)
            finally:
                free[st] += 1
                self._pass_on(st)

    def _wait_for_antenna(self, sat: _Satellite, until: float, open_now) -> Event:
        """Queue ``sat`` at the stations of its open windows and arm its timer for
        ``until`` (a window rises or sets); the event fires on whichever comes first."""
        env = self.env
        sat.token += 1
        ev = sat.wait_ev = env.event()
        entry = (sat, sat.token)
        for w in open_now:
            self._waiting[w.station].append(entry)
        if until == math.inf:
            return ev
        when = env.now + (until - env.now)   # when timeout(until - now) fires
        timer = sat.timer
        if timer is None or timer.callbacks is None or sat.timer_at != when:
            timer = env.timeout(until - env.now, sat)
            timer.callbacks.append(self._timer_fired)
            sat.timer, sat.timer_at = timer, when
        return ev

    def _timer_fired(self, event) -> None:
        sat = event.value
        if sat.timer is not event:
            return  # a timer since replaced: ignored
        sat.timer = None
        if sat.wait_ev is not None:
            self._wake(sat)

    def _wake(self, sat: _Satellite) -> None:
        ev, sat.wait_ev = sat.wait_ev, None
        sat.token += 1   # its places in the stations' queues are void
        ev.succeed()

    def _pass_on(self, st: int) -> None:
        """An antenna of ``st`` may be free: wake the first satellite waiting for it."""
        if self.antennas_free[st] <= 0:
            return
        queue = self._waiting[st]
        while queue:
            sat, token = queue.popleft()
            if sat.token == token and sat.wait_ev is not None:
                sat.woken_for = st
                self._wake(sat)
                return

    def _transmit(self, sat: _Satellite, win: ContactWindow):
        """Send the head of the buffer while the window lasts, one transfer per sample
        (live path: every piece is an event).

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
        tx_s, tx_pieces, log = self.tx_s, self.tx_pieces, self.log
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
            log.extend((i, now, now + dt, sent_bits))
            runs = self.log_runs
            if len(runs) and runs[-3] == sat.index and runs[-2] == st:
                runs[-1] += 1
            else:
                runs.extend((sat.index, st, 1))
            if finishes:
                remaining[i] = 0.0
                self._pop(sat)
                sat.used_bytes -= self._bytes[i]
                self._sent(i, sat, st, env.now, sat.tx_cum)

    def _sent(self, i: int, sat: _Satellite, station: int, now: float,
              transmitted: float) -> None:
        """Sample ``i``'s last byte landed at ``now`` (``transmitted``: the satellite's
        transmitting seconds so far)."""
        self.tx_end[i] = now
        self.station[i] = station
        self.tx_sat[i] = sat.index
        self._cum_end[i] = transmitted
        self._landed.append(i)
        if not self.online:
            return   # the ground queue is scheduled after the run
        delay = self.net.propagation_s(sat.index, station, now)
        self.propagation[i] = delay
        ev = self.env.timeout(delay, (i, station))
        ev.callbacks.append(self._arrive)

    # -- ground ----------------------------------------------------------------

    def _arrive(self, event) -> None:
        """Live path: a sample reaches its station and queues for a GPU."""
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
            self.status[i] = _GROUND
            self.done[i] = end

    def _waits(self) -> None:
        """Each sent sample's wait for a contact and queue in the buffer: its time in the
        buffer split into the satellite's transmitting time meanwhile (its own
        transmission and the samples ahead of it) and the rest."""
        rows = np.frombuffer(self._landed, dtype=np.int64)
        if not len(rows):
            return
        f = lambda values: np.frombuffer(values, dtype=np.float64)  # noqa: E731
        in_buffer = f(self.tx_end)[rows] - f(self._buffer_in)[rows]
        busy = f(self._cum_end)[rows] - f(self._tx_mark)[rows]
        # Differences of sums of times: round-off below a nanosecond is zero.
        wait = in_buffer - busy
        f(self.wait_contact)[rows] = np.where(wait > 1e-9, wait, 0.0)
        queue = busy - f(self.tx_s)[rows]
        f(self.buffer_queue)[rows] = np.where(queue > 1e-9, queue, 0.0)

    # -- run -------------------------------------------------------------------

    def run(self, progress: Callable[[float], None] | None = None, steps: int = 100):
        """Run to the horizon; ``progress`` gets the simulated seconds advanced."""
        horizon = self.net.horizon_s
        stepped = progress is not None and math.isfinite(horizon)
        if stepped:
            step = horizon / steps
            self._stop = min(horizon, steps * step)
        else:
            self._stop = horizon if math.isfinite(horizon) else math.inf
        self._kernel = _TcpKernel.for_transport(self.net.transport) if self.fast else None
        if self.online:
            self._schedule_online()
        else:
            self._schedule_onboard()
        for sat in self.sats:
            self.env.process(self._downlink(sat))
        if not stepped:
            self.env.run(until=horizon if math.isfinite(horizon) else None)
        else:
            for k in range(1, steps + 1):
                before = self.env.now
                self.env.run(until=min(horizon, k * step))
                progress(self.env.now - before)
        # SimPy numbers every scheduled event with a counter: its next value is the count.
        events = next(self.env._eid)
        if self.fast:
            # what left the accelerator before the stop but found no downlink to take it
            for sat in self.sats:
                if sat.k < len(sat.arr_t):
                    self._arrivals(sat, math.inf, 0.0, sat.tx_cum, False)
        self._waits()
        if not self.online:
            self._schedule_ground()
        out = self._output(events)
        self._let_go()
        return out

    #: Per-sample state the output does not hold.
    _SCRATCH = ("_bytes", "_remaining_bits", "_buffer_in", "_tx_mark", "_cum_end", "_landed",
                "tx_sat", "_priority", "_ground_s", "log", "log_runs", "status")

    def _let_go(self) -> None:
        """Drop the run's scratch now.  A Simulation sits in reference cycles with its
        SimPy processes, so it is freed only when Python's cycle collector next runs: a
        million-sample run would hold about 100 MB of it while the log is built."""
        for name in self._SCRATCH:
            setattr(self, name, None)
        for sat in self.sats:
            sat.buffer = sat.arr_t = sat.arr_i = None

    def _output(self, events: int) -> SimulationOutput:
        # Views of the per-sample buffers, not copies (a run's output is its last use of
        # them: a copy would hold every column twice at the end of a large run).
        f = lambda values: np.frombuffer(values, dtype=np.float64)  # noqa: E731
        q = lambda values: np.frombuffer(values, dtype=np.int64)  # noqa: E731
        pieces = np.frombuffer(self.log, dtype=np.float64).reshape(-1, 4)
        runs = np.frombuffer(self.log_runs, dtype=np.int64).reshape(-1, 3)
        order = (np.argsort(pieces[:, 2], kind="stable") if self.fast  # logged satellite by
                 else slice(None))                   # satellite: in the order pieces ended
        log = np.empty(len(pieces), dtype=TRANSMISSION_DTYPE)
        log["row"] = pieces[order, 0]
        log["satellite_index"] = np.repeat(runs[:, 0], runs[:, 2])[order]
        log["station_index"] = np.repeat(runs[:, 1], runs[:, 2])[order]
        log["start_s"] = pieces[order, 1]
        log["end_s"] = pieces[order, 2]
        log["bytes"] = pieces[order, 3] / 8.0   # (logged in bits)
        del pieces, runs
        status = np.asarray(STATUS, dtype=object)[np.frombuffer(self.status, dtype=np.int8)]
        return SimulationOutput(
            status=status, station=q(self.station),
            onboard_start_s=self.onboard_start, onboard_end_s=self.onboard_end,
            tx_start_s=f(self.tx_start), tx_end_s=f(self.tx_end), tx_s=f(self.tx_s),
            tx_pieces=q(self.tx_pieces), wait_contact_s=f(self.wait_contact),
            buffer_queue_s=f(self.buffer_queue), propagation_s=f(self.propagation),
            ground_arrival_s=f(self.ground_arrival), ground_start_s=f(self.ground_start),
            ground_end_s=f(self.ground_end), done_s=f(self.done),
            transmissions=log, events=events, dropped_bytes=self.dropped_bytes,
            **self._relayed(),
            hops=self.hops, path="fast" if self.fast else "live", **self._decided())

    def _relayed(self) -> dict:
        """Per-sample relay results (None without inter-satellite links)."""
        if self._hop_count is None:
            return {"isl_hops": None, "isl_s": None, "isl_path": None}
        return {"isl_hops": np.asarray(self._hop_count, dtype=np.int64),
                "isl_s": np.asarray(self._isl_s, dtype=float),
                "isl_path": [">".join(map(str, p)) if p else "" for p in self._path]}

    def _decided(self) -> dict:
        s = self.s
        if not self.online:
            return {"offload": np.asarray(s.offload, dtype=bool), "stage": None,
                    "onboard_s": np.asarray(s.onboard_s, dtype=float)}
        return {"offload": np.asarray(self._offload_dyn, dtype=bool),
                "stage": np.asarray(self._stage_dyn, dtype=np.int64),
                "onboard_s": np.asarray(self._onboard_dyn, dtype=float)}
