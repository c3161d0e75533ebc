"""The fast path of the event loop: a satellite's timeline computed, not simulated.

With every decision taken before the run and no inter-satellite relay, nothing
but the antennas couples satellites in time.  Once a satellite holds an antenna,
everything it does until its buffer is empty or the window closes is computed at
once (:meth:`FastPath._session`), in the same floating-point arithmetic as the
live path's event-by-event :meth:`~simulator.engine.simulation.Simulation._transmit`;
the ground GPUs, which nothing in the run reads, are scheduled after the loop
(:meth:`FastPath._schedule_ground`).  ``tests/test_simulation.py`` and
``tests/test_reference_outputs.py`` hold the two paths to the same results bit
for bit.
"""

from __future__ import annotations

import heapq
import math
from typing import TYPE_CHECKING

import numpy as np

from .inputs import _DROPPED, _GROUND
from .schedules import gpu_schedule
from .service import light_times

if TYPE_CHECKING:  # pragma: no cover
    from .inputs import ContactWindow
    from .simulation import _Satellite


class _TcpKernel:
    """The TCP transfer of :class:`~simulator.links.transport.TcpTransport` over a
    :class:`~simulator.links.capacity.ConstantLink`, stepped inline by the fast path.

    Over a constant capacity a connection's pieces are fixed once it is open:
    ``handshake x RTT`` of setup, slow-start rounds of one RTT at ``IW x MSS x 8 /
    RTT x 2**k``, then the steady goodput.  The fast path opens the connection from
    the transport's own numbers (``rtt_at``, ``handshake_rtts``, the initial window,
    the steady bound) and repeats ``Transfer.step``/``advance`` arithmetic in its
    loop instead of constructing a connection and making two method calls (and
    two capacity calls) per piece.  ``tests/test_simulation.py`` runs the engine
    with and without it and requires the same results bit for bit, so that a change
    of the transport cannot go unnoticed.
    """

    __slots__ = ("rate_bps", "tolerance", "rtt_at", "rtt_fn", "handshake_rtts", "window_bits",
                 "efficiency", "steady_bound")

    @classmethod
    def for_transport(cls, transport):
        try:
            from ..links.capacity import ConstantLink
            from ..links.transport import _TIME_TOLERANCE_S, TcpTransport, _TcpTransfer
        except ImportError:  # pragma: no cover - a reorganised links package
            return None
        if type(transport) is not TcpTransport or type(transport.capacity) is not ConstantLink:
            return None
        fields = ("_setup_left_s", "_round_rate_bps", "_round_left_s", "_rtt_s",
                  "_efficiency", "_bound_bps", "_steady", "_in_round")
        if (set(getattr(_TcpTransfer, "__slots__", ())) != set(fields) | {
                "_capacity", "_sat", "_station"}
                or not hasattr(transport, "_steady_bound_one")):
            return None  # pragma: no cover - the transfer changed: step it generically
        kernel = cls()
        kernel.rate_bps = transport.capacity.rate_bps(0, 0, 0.0)
        kernel.tolerance = _TIME_TOLERANCE_S
        kernel.rtt_at = transport.rtt_at
        fixed = transport.rtt_s
        kernel.rtt_fn = getattr(transport, "_rtt_fn", None) or (lambda sat, st, t: fixed)
        kernel.handshake_rtts = transport.handshake_rtts
        # as TcpTransport.open computes the first round's rate: IW x MSS x 8.0 / rtt
        kernel.window_bits = transport.initial_window_segments * transport.mss_bytes * 8.0
        kernel.efficiency = transport.payload_efficiency
        kernel.steady_bound = transport._steady_bound_one
        return kernel


class FastPath:
    """Mixin of :class:`~simulator.engine.simulation.Simulation`: the fast path's steps."""

    def _arrivals(self, sat: _Satellite, upto: float, start: float, cum: float,
                  counting: bool) -> None:
        """Fast path: the samples whose onboard work ended by ``upto`` enter the buffer
        (or are dropped) in order.  They arrived during a piece that began at
        ``start`` with ``cum`` seconds transmitted so far (``counting``: the piece is
        transmission time), or while idle (``counting`` False, ``cum`` the total)."""
        arr_t, arr_i = sat.arr_t, sat.arr_i
        k, n = sat.k, len(arr_t)
        size_of, capacity = self._bytes, self.net.buffer_capacity_bytes
        buffer, mark = sat.buffer, self._tx_mark
        priority = self._priority
        while k < n:
            t = arr_t[k]
            if t > upto:
                break
            i = arr_i[k]
            k += 1
            size = size_of[i]
            if sat.used_bytes + size > capacity:
                self.status[i] = _DROPPED
                self.dropped_bytes += size
                continue
            sat.used_bytes += size
            mark[i] = cum + (t - start) if counting else cum
            if priority is None:
                buffer.append(i)
            else:
                sat.seq += 1
                heapq.heappush(buffer, (priority[i], sat.seq, i))
        sat.k = k

    def _session(self, sat: _Satellite, win: ContactWindow):
        """Fast path: everything ``sat`` does with this antenna, computed at once.

        The same pieces as :meth:`_transmit`, in the same floating-point arithmetic
        (each piece starts where the last ended: ``t + dt``), with the samples that
        leave the accelerator meanwhile entering the buffer at their own times.
        It ends when the buffer is empty, the window closes or the run stops; one
        event at that moment frees the antenna.  Pieces that would end at or after
        the run's stop never happen (as no event at or after it is processed).

        Two loops: one over ``Transfer.step``/``advance`` for any transport, and the
        same for TCP over a constant capacity with the connection's arithmetic
        written out (:class:`_TcpKernel`), the hot path of most runs.
        """
        env = self.env
        st, set_s, stop = win.station, win.set_s, self._stop
        kernel = self._kernel
        remaining, size_of = self._remaining_bits, self._bytes
        tx_s, tx_pieces, tx_start = self.tx_s, self.tx_pieces, self.tx_start
        tx_end, station_of, tx_sat = self.tx_end, self.station, self.tx_sat
        cum_end, landed = self._cum_end, self._landed.append
        log_extend = self.log.extend
        buffer = sat.buffer
        fifo = not self.net.priority_buffer
        arr_t = sat.arr_t
        n_arr = len(arr_t)
        inf = math.inf
        next_arrival = arr_t[sat.k] if sat.k < n_arr else inf
        index = sat.index
        t = env.now
        cum = sat.tx_cum
        first_piece = len(self.log) >> 2
        i = -1
        # the sample in progress: bits left, seconds and pieces so far (written back
        # when it ends, another sample takes the head, or the session ends)
        rem = txs = 0.0
        count = 0
        if kernel is None:
            transport = self.net.transport
            transfer = None
        else:
            line_bps, tolerance = kernel.rate_bps, kernel.tolerance
            rtt_at, rtt_fn = kernel.rtt_at, kernel.rtt_fn
            handshake, window_bits = kernel.handshake_rtts, kernel.window_bits
            efficiency, steady_bound = kernel.efficiency, kernel.steady_bound
            # the connection (TcpTransport.open's numbers, Transfer.step's state)
            setup = round_rate = round_left = rtt = goodput = 0.0
            steady = False
        stopped = False
        while buffer and t < set_s and not stopped:
            head = buffer[0] if fifo else buffer[0][2]
            if head != i:
                if i >= 0:
                    remaining[i], tx_s[i], tx_pieces[i] = rem, txs, count
                i = head
                rem, txs, count = remaining[i], tx_s[i], tx_pieces[i]
                if kernel is None:
                    transfer = transport.open(index, st, t)
                else:
                    rtt = rtt_fn(index, st, t)   # (what rtt_at checks, rtt_at says wrong)
                    if type(rtt) is not float or not 0.0 < rtt < inf:
                        rtt = rtt_at(index, st, t)
                    setup, round_rate, round_left = handshake * rtt, window_bits / rtt, rtt
                    goodput = min(line_bps * efficiency, steady_bound(rtt))
                    steady = False
            if count == 0:
                tx_start[i] = t
            if kernel is None:
                rate, hold, busy = transfer.step(t)
            elif setup > 0.0:
                rate, hold, busy = 0.0, setup, True
            elif line_bps <= 0.0:
                rate, hold, busy = 0.0, inf, False
            else:
                rate = 1.0   # payload: the kernel's own loop below
            if rate <= 0.0:  # connection setup (busy: transmission time) or an outage
                left = set_s - t
                piece = hold if hold <= left else left
                end = t + piece
                if end >= stop:  # the run stops first: this piece never ends
                    if next_arrival < inf:  # (every arrival is before the stop)
                        self._arrivals(sat, inf, t, cum, busy)
                    t = end
                    break
                if next_arrival <= end:
                    self._arrivals(sat, end, t, cum, busy)
                    next_arrival = arr_t[sat.k] if sat.k < n_arr else inf
                if busy:
                    cum += piece
                    txs += piece
                if kernel is None:
                    transfer.advance(piece, 0.0)
                else:  # the setup piece (an outage of a constant link never ends)
                    setup -= piece
                    if setup <= tolerance:
                        setup = 0.0
                t = end
                continue
            while True:  # payload pieces of sample i (one, unless the kernel's)
                if kernel is None:
                    if rate <= 0.0:
                        break
                    in_round = False
                elif not steady and round_rate < goodput:
                    in_round = True
                    rate, hold = round_rate, round_left
                else:
                    steady, in_round = True, False
                    rate, hold = goodput, inf
                left = set_s - t
                piece = hold if hold <= left else left
                need = rem / rate
                if need <= piece:
                    dt, finishes = need, True
                else:
                    dt, finishes = piece, False
                end = t + dt
                if end >= stop:
                    if next_arrival < inf:
                        self._arrivals(sat, inf, t, cum, True)
                    t = end
                    stopped = True
                    break
                admitted = next_arrival <= end
                if admitted:
                    self._arrivals(sat, end, t, cum, True)
                    next_arrival = arr_t[sat.k] if sat.k < n_arr else inf
                bits = rem if finishes else dt * rate
                cum += dt
                txs += dt
                count += 1
                log_extend((i, t, end, bits))
                t = end
                if finishes:
                    # the last byte landed (what _sent does on the live path)
                    remaining[i], tx_s[i], tx_pieces[i] = 0.0, txs, count
                    if fifo:
                        buffer.popleft()
                    else:
                        heapq.heappop(buffer)
                    sat.used_bytes -= size_of[i]
                    tx_end[i], station_of[i], tx_sat[i], cum_end[i] = t, st, index, cum
                    landed(i)
                    i = -1
                    break
                rem -= bits
                if kernel is None:
                    transfer.advance(dt, bits)
                    break
                if in_round:
                    round_left -= dt
                    if round_left <= tolerance:
                        round_rate *= 2.0
                        round_left = rtt
                        # Whole slow-start rounds, the common case, in a shorter loop:
                        # the arithmetic above for a round that ends neither the sample
                        # nor the window, and meets neither the stop nor an arrival.
                        while (round_rate < goodput and rem / round_rate > rtt
                               and rtt <= set_s - t):
                            end = t + rtt
                            if end >= stop or next_arrival <= end:
                                break
                            bits = rtt * round_rate
                            cum += rtt
                            txs += rtt
                            count += 1
                            log_extend((i, t, end, bits))
                            t = end
                            rem -= bits
                            round_rate *= 2.0   # (round_left - rtt is 0: the next round)
                if not t < set_s or (admitted and not fifo):
                    break  # the window closed, or an arrival may take the head
        if i >= 0:
            remaining[i], tx_s[i], tx_pieces[i] = rem, txs, count
        sat.tx_cum = cum
        logged = (len(self.log) >> 2) - first_piece
        if logged:
            self.log_runs.extend((index, st, logged))
        yield env.at(t)

    def _schedule_ground(self) -> None:
        """The ground stations after the run (nothing during it reads them).

        Light times of all transfers at once; a sample reaches its station if that
        happens before the run stops, and the stations' GPUs serve arrivals first
        come, first served (ties: the order the last bytes landed) -- the same
        recursion as the live path's, in closed form."""
        rows = np.frombuffer(self._landed, dtype=np.int64)
        if not len(rows):
            return
        sent_at = np.frombuffer(self.tx_end, dtype=np.float64)[rows]
        station = np.frombuffer(self.station, dtype=np.int64)[rows]
        sat = np.frombuffer(self.tx_sat, dtype=np.int64)[rows]
        delay = light_times(self.net.propagation_s, sat, station, sent_at)
        np.frombuffer(self.propagation, dtype=np.float64)[rows] = delay
        arrival = sent_at + delay
        ok = arrival < self._stop
        rows, station, arrival, sent_at = rows[ok], station[ok], arrival[ok], sent_at[ok]
        seq = np.arange(len(rows))
        order = np.lexsort((seq, sent_at, arrival, station))
        rows, station, arrival = rows[order], station[order], arrival[order]
        ground_s = np.asarray(self.s.ground_s, dtype=float)[rows]
        bounds = np.searchsorted(station, np.arange(len(self.gpu_free) + 1))
        start = np.empty(len(rows))
        end = np.empty(len(rows))
        for st in range(len(self.gpu_free)):
            a, b = bounds[st], bounds[st + 1]
            if a == b:
                continue
            # the GPUs are free from 0: arrivals are at >= 0, so -inf gives the same starts
            start[a:b], end[a:b] = gpu_schedule(arrival[a:b], ground_s[a:b],
                                                      len(self.gpu_free[st]))
        f = lambda values: np.frombuffer(values, dtype=np.float64)  # noqa: E731
        f(self.ground_arrival)[rows] = arrival
        f(self.ground_start)[rows] = start
        f(self.ground_end)[rows] = end
        finished = end <= self.net.horizon_s
        f(self.done)[rows[finished]] = end[finished]
        np.frombuffer(self.status, dtype=np.int8)[rows[finished]] = _GROUND
