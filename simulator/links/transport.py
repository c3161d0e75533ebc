"""Transport: how an application's bytes move over a link of a given capacity.

A :class:`~simulator.links.LinkModel` gives the *line rate*.  Images do not
move at the line rate: the SpaceVerse testbed sent them over TCP (Open vSwitch,
``tc`` shaping to Starlink traces), and TCP spends a round trip on its
handshake, starts slowly, carries 52 bytes of headers in every 1500-byte
packet and backs off on loss.  A :class:`Transport` turns a capacity model into
the goodput one transfer sees, piece by piece:

* :class:`IdealTransport` -- the ideal bit pipe: line rate, no protocol
  overhead (what the engine did before this module existed);
* :class:`TcpTransport` -- handshake, slow start, then a steady state bounded
  by the line rate times MSS/MTU, the loss bound (Mathis or Padhye) and the
  receive window;
* :class:`GoodputTransport` -- a fixed effective goodput and per-transfer
  setup time, whatever the capacity (a model input, e.g. calibrated on a paper).

The engine opens one :class:`Transfer` per sample and integrates it::

    tr = transport.open(sat, station, now)
    rate, hold, busy = tr.step(now)     # goodput for up to `hold` seconds
    ...                                 # send min(remaining, rate * piece) bits
    tr.advance(dt, bits)                # then step again

>>> from simulator.links import ConstantLink
>>> tcp = TcpTransport(ConstantLink(1000.0), rtt_s=0.05, loss_rate=0.0)
>>> round(tcp.alone_seconds(0, 0, 0.0, 200_000), 5)   # 1 RTT setup + 3 rounds + part of the 4th
0.24258
>>> round(IdealTransport(ConstantLink(1000.0)).alone_seconds(0, 0, 0.0, 200_000), 5)
0.0016

The default constants of :class:`TcpTransport`, their sources, and the check
of the default loss rate against the measured Starlink traces are in
:mod:`simulator.links.tcp_physics` (one table, READ / DERIVED / ASSUMPTION);
this module re-exports them.  In short: MSS 1448 B of a 1500-B MTU, IW10,
Mathis's sqrt(3/2), Linux's 6 MiB receive buffer and 200 ms minimum RTO, a
ground segment of 18.95 ms on top of the slant-range light time, and a random
loss rate of 1.79e-6 -- the largest under which every iperf3 run of the
Autobahn trace was possible; the FjordLink ping drop rate (0.115 %) would
bound TCP at 15.9 Mbps, 13.7 times below what it measured.

**Approximations of** :class:`TcpTransport` (all but the last err towards a faster transfer):

* fluid rounds: slow-start round *k* spreads ``cwnd_k x MSS`` bytes evenly over
  one RTT (real TCP sends them as a burst and then waits for ACKs);
* no loss during slow start: at p = 1.8e-6 the first loss comes after about
  560,000 segments (810 MB), beyond any image;
* cwnd doubles every round: Linux counts acknowledged segments (appropriate
  byte counting, RFC 3465), so delayed ACKs do not slow the doubling;
* steady state follows the capacity at once (no re-probing after a rise, no
  queueing) and the loss bound is the long-run mean (the sawtooth is not
  modelled); a capacity outage (rate 0) pauses a slow-start round rather than
  timing out and restarting it;
* the handshake takes ``handshake_rtts x RTT`` even during an outage, the RTT
  is fixed when the connection opens, and the whole tcp_rmem maximum is the
  receive window (Linux advertises a share of it; at 26 ms RTT the window
  binds only above 1.9 Gbps);
* the payload efficiency MSS/MTU applies to every capacity model.  A trace of
  measured TCP goodput (the Autobahn one) already excludes the headers, so it
  is replayed 3.5 % low; ``TraceLink(..., scale=MTU_BYTES / MSS_BYTES)`` undoes that.
"""

from __future__ import annotations

import logging
import math
from typing import Callable, Mapping, Protocol, runtime_checkable

import numpy as np

from ..errors import InputError
from .capacity import ConstantLink, LinkModel, _finite
from .tcp_physics import (
    AUTOBAHN_BEST_RUN_GOODPUT_BPS,
    AUTOBAHN_MEDIAN_GOODPUT_BPS,
    BENT_PIPE_MIN_RTT_S,
    GROUND_RTT_S,
    HANDSHAKE_RTTS,
    INITIAL_WINDOW_SEGMENTS,
    LINUX_RTO_MIN_S,
    LINUX_TCP_RMEM_MAX_BYTES,
    MATHIS_CONSTANT,
    MSS_BYTES,
    MTU_BYTES,
    PADHYE_SEGMENTS_PER_ACK,
    STARLINK_LOSS_RATE,
    STARLINK_LOSS_RATE_MEDIAN,
    STARLINK_PING_DROP_RATE,
    STARLINK_RTT_S,
    STARLINK_SHELL_ALTITUDE_KM,
    THROUGHPUT_MODELS,
    _check_model,
    _loss_bound_bps,
    default_loss_rate,
    loss_rate_for_goodput,
    mathis_goodput_bps,
    padhye_goodput_bps,
    round_trip_time_s,
)

logger = logging.getLogger(__name__)

__all__ = [
    "Transport", "Transfer", "IdealTransport", "TcpTransport", "GoodputTransport",
    # re-exported from .tcp_physics
    "MTU_BYTES", "MSS_BYTES", "INITIAL_WINDOW_SEGMENTS", "MATHIS_CONSTANT",
    "PADHYE_SEGMENTS_PER_ACK", "LINUX_TCP_RMEM_MAX_BYTES", "LINUX_RTO_MIN_S", "HANDSHAKE_RTTS",
    "STARLINK_RTT_S", "STARLINK_PING_DROP_RATE", "STARLINK_SHELL_ALTITUDE_KM",
    "BENT_PIPE_MIN_RTT_S", "GROUND_RTT_S", "AUTOBAHN_MEDIAN_GOODPUT_BPS",
    "AUTOBAHN_BEST_RUN_GOODPUT_BPS", "STARLINK_LOSS_RATE", "STARLINK_LOSS_RATE_MEDIAN",
    "THROUGHPUT_MODELS", "mathis_goodput_bps", "padhye_goodput_bps", "loss_rate_for_goodput",
    "default_loss_rate", "round_trip_time_s",
]

#: Leftover times below this (rounding in ``t + hold - t``) end a phase.
_TIME_TOLERANCE_S = 1e-9
#: ``alone_seconds`` gives up (returns inf) after this many zero-rate pieces in a row.
_MAX_ZERO_PIECES = 100_000


# -- the interface -----------------------------------------------------------------


@runtime_checkable
class Transfer(Protocol):
    """One connection carrying one sample's bytes (see the module docstring)."""

    def step(self, t_s: float) -> tuple[float, float, bool]:
        """``(goodput_bps, hold_s, busy)`` from ``t_s``: payload moves at ``goodput_bps``
        for up to ``hold_s`` seconds (``inf`` allowed).  ``busy`` matters only when
        the goodput is 0: True is protocol time that counts as transmitting
        (connection setup), False a capacity outage."""
        ...

    def advance(self, dt_s: float, bits: float) -> None:
        """``dt_s`` seconds passed since the last step's ``t_s``; ``bits`` payload bits moved."""
        ...


@runtime_checkable
class Transport(Protocol):
    """What the engine needs from a transport model."""

    name: str

    def open(self, sat: int, station: int, t_s: float) -> Transfer:
        """A fresh connection for one sample's transfer, starting at ``t_s``."""
        ...

    def alone_seconds(self, sat: int, station: int, t_s: float, size_bytes: float) -> float:
        """Seconds to deliver ``size_bytes`` on a fresh connection opened at ``t_s``,
        nothing else on the link and no window end (setup included)."""
        ...

    def describe(self) -> dict:
        """Every parameter and where it comes from (JSON-serialisable)."""
        ...


def _alone_seconds(transfer: Transfer, t0_s: float, size_bytes: float) -> float:
    """Step ``transfer`` from ``t0_s`` until ``size_bytes`` are delivered; the elapsed seconds."""
    size = _finite(size_bytes, "transfer size_bytes", minimum=0.0)
    remaining, elapsed, zero_pieces = size * 8.0, 0.0, 0
    while remaining > 0.0:
        rate, hold, busy = transfer.step(t0_s + elapsed)
        if rate > 0.0:
            if rate * hold >= remaining:
                return elapsed + remaining / rate
            zero_pieces = 0
        elif math.isinf(hold):
            return math.inf
        elif not busy:
            zero_pieces += 1
            if zero_pieces > _MAX_ZERO_PIECES:
                logger.warning("transfer of %g bytes from t=%g s: no capacity for %d pieces "
                               "in a row; taking it as never delivered", size, t0_s, zero_pieces)
                return math.inf
        bits = rate * hold
        transfer.advance(hold, bits)
        remaining -= bits
        elapsed += hold
    return elapsed


def _sizes(size_bytes) -> np.ndarray:
    sizes = np.asarray(size_bytes, dtype=float)
    if not np.all(np.isfinite(sizes) & (sizes >= 0)):
        bad = sizes[~(np.isfinite(sizes) & (sizes >= 0))].reshape(-1)[0]
        raise InputError(f"transfer size_bytes must be a finite number >= 0, got {bad!r}")
    return sizes


def _rtts(rtt_s) -> np.ndarray:
    rtt = np.asarray(rtt_s, dtype=float)
    if not np.all(np.isfinite(rtt) & (rtt > 0)):
        bad = rtt[~(np.isfinite(rtt) & (rtt > 0))].reshape(-1)[0]
        raise InputError(f"tcp transport rtt_s must be a finite number > 0 s, got {bad!r}")
    return rtt


def _constant_capacity_bps(capacity, who: str) -> float:
    if not isinstance(capacity, ConstantLink):
        raise InputError(f"{who}: alone_seconds_array needs a ConstantLink capacity, got "
                         f"{type(capacity).__name__}; use alone_seconds per transfer instead")
    return capacity.rate_bps(0, 0, 0.0)


def _many(sat, station, t_s, size_bytes):
    """The four per-transfer columns of ``alone_seconds_many``, broadcast to one shape."""
    return np.broadcast_arrays(np.asarray(sat), np.asarray(station), np.asarray(t_s, dtype=float),
                               _sizes(size_bytes))


def _each(transport, sat, station, t_s, size_bytes) -> np.ndarray:
    """``alone_seconds`` transfer by transfer (any capacity model)."""
    columns = _many(sat, station, t_s, size_bytes)
    out = [transport.alone_seconds(int(a), int(b), float(t), float(n)) for a, b, t, n in
           zip(*(c.reshape(-1) for c in columns))]
    return np.array(out, dtype=float).reshape(columns[0].shape)


def _check_capacity(capacity, who: str) -> LinkModel:
    if not isinstance(capacity, LinkModel):
        raise InputError(f"{who}: capacity must be a link model (rate_bps, piece_s, describe), "
                         f"got {type(capacity).__name__}")
    return capacity


# -- the ideal bit pipe -----------------------------------------------------------------


class _IdealTransfer:
    __slots__ = ("_capacity", "_sat", "_station")

    def __init__(self, capacity, sat: int, station: int):
        self._capacity, self._sat, self._station = capacity, sat, station

    def step(self, t_s: float) -> tuple[float, float, bool]:
        return (self._capacity.rate_bps(self._sat, self._station, t_s),
                self._capacity.piece_s(self._sat, self._station, t_s), False)

    def advance(self, dt_s: float, bits: float) -> None:
        pass


class IdealTransport:
    """The ideal bit pipe: line rate, no protocol overhead.

    Payload moves at exactly the capacity model's rate, with no setup.

    >>> IdealTransport(ConstantLink(100.0)).alone_seconds_array(np.array([1e6, 2e6]), 0.03)
    array([0.08, 0.16])
    """

    def __init__(self, capacity: LinkModel, *, name: str = "ideal"):
        self.capacity = _check_capacity(capacity, "ideal transport")
        self.name = name

    def __repr__(self) -> str:
        return f"IdealTransport({self.capacity!r})"

    def open(self, sat: int, station: int, t_s: float) -> _IdealTransfer:
        return _IdealTransfer(self.capacity, sat, station)

    def alone_seconds(self, sat: int, station: int, t_s: float, size_bytes: float) -> float:
        return _alone_seconds(self.open(sat, station, t_s), t_s, size_bytes)

    def alone_seconds_many(self, sat, station, t_s, size_bytes) -> np.ndarray:
        """:meth:`alone_seconds` of many transfers (arrays that broadcast together)."""
        if isinstance(self.capacity, ConstantLink):
            return self.alone_seconds_array(_many(sat, station, t_s, size_bytes)[3])
        return _each(self, sat, station, t_s, size_bytes)

    def alone_seconds_array(self, size_bytes, rtt_s=None) -> np.ndarray:
        """``size x 8 / rate`` for a ConstantLink capacity (``rtt_s`` is ignored)."""
        rate = _constant_capacity_bps(self.capacity, "ideal transport")
        sizes = _sizes(size_bytes)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(sizes > 0, sizes * 8.0 / rate, 0.0)

    def describe(self) -> dict:
        return {"model": "ideal", "name": self.name,
                "description": "ideal bit pipe: line rate, no protocol overhead",
                "capacity": self.capacity.describe()}


# -- TCP --------------------------------------------------------------------------------


class _TcpTransfer:
    """Handshake, slow-start rounds, then steady state (see :class:`TcpTransport`)."""

    __slots__ = ("_capacity", "_sat", "_station", "_rtt_s", "_efficiency", "_bound_bps",
                 "_setup_left_s", "_round_rate_bps", "_round_left_s", "_steady", "_in_round")

    def __init__(self, capacity, sat: int, station: int, rtt_s: float, efficiency: float,
                 bound_bps: float, setup_s: float, initial_rate_bps: float):
        self._capacity, self._sat, self._station = capacity, sat, station
        self._rtt_s, self._efficiency, self._bound_bps = rtt_s, efficiency, bound_bps
        self._setup_left_s = setup_s
        self._round_rate_bps, self._round_left_s = initial_rate_bps, rtt_s
        self._steady = self._in_round = False

    def step(self, t_s: float) -> tuple[float, float, bool]:
        self._in_round = False
        if self._setup_left_s > 0.0:
            return 0.0, self._setup_left_s, True
        capacity_bps = self._capacity.rate_bps(self._sat, self._station, t_s)
        piece_s = self._capacity.piece_s(self._sat, self._station, t_s)
        if capacity_bps <= 0.0:
            return 0.0, piece_s, False              # outage: a slow-start round pauses
        goodput_bps = min(capacity_bps * self._efficiency, self._bound_bps)
        if not self._steady:
            if self._round_rate_bps < goodput_bps:
                self._in_round = True
                return self._round_rate_bps, min(self._round_left_s, piece_s), False
            self._steady = True
        return goodput_bps, piece_s, False

    def advance(self, dt_s: float, bits: float) -> None:
        if self._setup_left_s > 0.0:
            self._setup_left_s -= dt_s
            if self._setup_left_s <= _TIME_TOLERANCE_S:
                self._setup_left_s = 0.0
        elif self._in_round:
            self._round_left_s -= dt_s
            if self._round_left_s <= _TIME_TOLERANCE_S:
                self._round_rate_bps *= 2.0
                self._round_left_s = self._rtt_s


class TcpTransport:
    """Application bytes over one TCP connection per transfer (see the module docstring).

    ``capacity`` is the line rate; ``rtt_s`` a number or a callable
    ``(sat, station, t_s) -> seconds``, read once when a connection opens.
    ``loss_rate`` is the random segment loss rate, 0 for no loss bound; left
    out (None) it is the derived Starlink value for ``throughput_model``
    (:func:`default_loss_rate`: :data:`STARLINK_LOSS_RATE` = 1.79e-6 for Mathis).
    A transfer goes through:

    1. **setup**: ``handshake_rtts x RTT`` with goodput 0 (``busy`` True);
    2. **slow start** (RFC 5681, initial window RFC 6928): round *k* lasts one
       RTT at ``IW x 2**k x MSS x 8 / RTT`` bit/s, until a round's rate reaches
       the steady-state goodput;
    3. **steady state**: ``min(capacity(t) x MSS/MTU, loss bound, rwnd x 8 / RTT)``
       with the loss bound of Mathis et al. (``throughput_model="mathis"``) or
       Padhye et al. (``"padhye"``, b = 2, T0 = ``rto_s``).

    A piece never crosses a capacity piece or the end of a slow-start round.
    The worked example of the tests, 200,000 B at 50 ms RTT and 1 Gbps: 50 ms
    handshake, rounds of 14,480, 28,960 and 57,920 B, then 98,640 B of the
    115,840-B round: 0.05 + 3 x 0.05 + 98,640 / (115,840 / 0.05) = 0.242576 s.

    >>> tcp = TcpTransport(ConstantLink(1000.0), rtt_s=0.05, loss_rate=0.0)
    >>> tr = tcp.open(0, 0, 0.0)
    >>> tr.step(0.0)
    (0.0, 0.05, True)
    >>> tr.advance(0.05, 0.0); tr.step(0.05)
    (2316800.0, 0.05, False)
    >>> TcpTransport(ConstantLink(1000.0), rtt_s=0.05, loss_rate=1.5)
    Traceback (most recent call last):
    ...
    simulator.errors.InputError: tcp transport loss_rate must be a fraction in [0, 1), got 1.5
    """

    def __init__(self, capacity: LinkModel, *, rtt_s: float | Callable[[int, int, float], float],
                 loss_rate: float | None = None, mss_bytes: float = MSS_BYTES,
                 mtu_bytes: float = MTU_BYTES,
                 initial_window_segments: float = INITIAL_WINDOW_SEGMENTS,
                 handshake_rtts: float = HANDSHAKE_RTTS,
                 receive_window_bytes: float = LINUX_TCP_RMEM_MAX_BYTES,
                 throughput_model: str = "mathis", rto_s: float = LINUX_RTO_MIN_S,
                 name: str = "tcp", sources: Mapping[str, str] | None = None):
        who = "tcp transport"
        self.capacity = _check_capacity(capacity, who)
        self._rtt_fn, self.rtt_s = (rtt_s, None) if callable(rtt_s) else (
            None, _finite(rtt_s, f"{who} rtt_s (seconds)", minimum=0.0, strict=True))
        self.throughput_model = _check_model(throughput_model)
        self.rto_s = _finite(rto_s, f"{who} rto_s", minimum=0.0, strict=True)
        self._sources = dict(sources or {})
        if loss_rate is None:
            loss_rate = default_loss_rate(self.throughput_model, self.rto_s)
            self._sources.setdefault("loss_rate", (
                f"DERIVED: {self.throughput_model} bound inverted at the best Autobahn iperf3 "
                f"run (403.176 Mbps) and the FjordLink median RTT (26.291 ms); see tcp_physics"))
        loss = _finite(loss_rate, f"{who} loss_rate")
        if not 0.0 <= loss < 1.0:
            raise InputError(f"{who} loss_rate must be a fraction in [0, 1), got {loss_rate!r}")
        self.loss_rate = loss
        self.mtu_bytes = _finite(mtu_bytes, f"{who} mtu_bytes", minimum=0.0, strict=True)
        self.mss_bytes = _finite(mss_bytes, f"{who} mss_bytes", minimum=0.0, strict=True)
        if self.mss_bytes > self.mtu_bytes:
            raise InputError(f"{who} mss_bytes must be <= mtu_bytes ({self.mtu_bytes:g}), "
                             f"got {mss_bytes!r}")
        self.initial_window_segments = _finite(initial_window_segments,
                                               f"{who} initial_window_segments", minimum=1.0)
        self.handshake_rtts = _finite(handshake_rtts, f"{who} handshake_rtts", minimum=0.0)
        self.receive_window_bytes = _finite(receive_window_bytes, f"{who} receive_window_bytes",
                                            minimum=0.0, strict=True)
        self.name = name
        self.payload_efficiency = self.mss_bytes / self.mtu_bytes

    def __repr__(self) -> str:
        rtt = "callable" if self._rtt_fn is not None else f"{self.rtt_s:g} s"
        return (f"TcpTransport({self.capacity!r}, rtt={rtt}, loss={self.loss_rate:g}, "
                f"{self.throughput_model})")

    # -- per transfer ----------------------------------------------------------------

    def rtt_at(self, sat: int, station: int, t_s: float) -> float:
        """The RTT a connection opened at ``t_s`` keeps."""
        if self._rtt_fn is None:
            return self.rtt_s
        rtt = self._rtt_fn(sat, station, t_s)
        try:
            rtt = float(rtt)
        except (TypeError, ValueError):
            rtt = math.nan
        if not (math.isfinite(rtt) and rtt > 0.0):
            raise InputError(f"tcp transport rtt_s callable must return a finite number > 0 s, "
                             f"got {rtt!r} for sat {sat}, station {station} at t = {t_s:g} s")
        return rtt

    def steady_bound_bps(self, rtt_s):
        """``min(loss bound, rwnd x 8 / RTT)``: the steady goodput over an infinite capacity."""
        loss_bound = (_loss_bound_bps(self.throughput_model, rtt_s, self.loss_rate, self.mss_bytes,
                                      self.rto_s) if self.loss_rate > 0.0 else math.inf)
        rtt = np.asarray(rtt_s, dtype=float)
        return np.minimum(loss_bound, self.receive_window_bytes * 8.0 / rtt)

    def _steady_bound_one(self, rtt: float) -> float:
        """:meth:`steady_bound_bps` for one RTT (the same arithmetic, without numpy for Mathis)."""
        if self.loss_rate <= 0.0:
            loss_bound = math.inf
        elif self.throughput_model == "mathis":
            loss_bound = self.mss_bytes * 8.0 / rtt * MATHIS_CONSTANT / math.sqrt(self.loss_rate)
        else:
            loss_bound = float(_loss_bound_bps("padhye", rtt, self.loss_rate, self.mss_bytes,
                                               self.rto_s))
        return min(loss_bound, self.receive_window_bytes * 8.0 / rtt)

    def open(self, sat: int, station: int, t_s: float) -> _TcpTransfer:
        rtt = self.rtt_at(sat, station, t_s)
        return _TcpTransfer(self.capacity, sat, station, rtt, self.payload_efficiency,
                            self._steady_bound_one(rtt), self.handshake_rtts * rtt,
                            self.initial_window_segments * self.mss_bytes * 8.0 / rtt)

    def alone_seconds(self, sat: int, station: int, t_s: float, size_bytes: float) -> float:
        return _alone_seconds(self.open(sat, station, t_s), t_s, size_bytes)

    def alone_seconds_many(self, sat, station, t_s, size_bytes) -> np.ndarray:
        """:meth:`alone_seconds` of many transfers (arrays that broadcast together).

        Over a ConstantLink this is :meth:`alone_seconds_array` with each
        transfer's RTT (the callable is asked once per transfer); over other
        capacity models, the transfers are stepped one by one.
        """
        if not isinstance(self.capacity, ConstantLink):
            return _each(self, sat, station, t_s, size_bytes)
        sats, stations, times, sizes = _many(sat, station, t_s, size_bytes)
        if self._rtt_fn is None:
            return self.alone_seconds_array(sizes, self.rtt_s)
        rtt = [self.rtt_at(int(a), int(b), float(t)) for a, b, t in
               zip(sats.reshape(-1), stations.reshape(-1), times.reshape(-1))]
        return self.alone_seconds_array(sizes, np.array(rtt, dtype=float).reshape(sizes.shape))

    def alone_seconds_array(self, size_bytes, rtt_s) -> np.ndarray:
        """:meth:`alone_seconds` in closed form for a ConstantLink capacity (vectorised).

        With steady goodput ``G`` and first-round rate ``r0 = IW x MSS x 8 / RTT``,
        the slow-start rounds are those with ``r0 x 2**k < G``: ``K`` of them,
        carrying ``IW x MSS x (2**K - 1)`` bytes.  A transfer that fits in them
        ends in round ``j``, the first whose cumulative bytes reach its size;
        otherwise the rest moves at ``G``.
        """
        capacity_bps = _constant_capacity_bps(self.capacity, "tcp transport")
        sizes, rtt = np.broadcast_arrays(_sizes(size_bytes), _rtts(rtt_s))
        goodput = np.minimum(capacity_bps * self.payload_efficiency, self.steady_bound_bps(rtt))
        rate0 = self.initial_window_segments * self.mss_bytes * 8.0 / rtt
        bits = sizes * 8.0
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratio = goodput / rate0
            rounds = np.where(ratio > 1.0, np.ceil(np.log2(np.maximum(ratio, 1.0))), 0.0)
            for _ in range(2):   # the stepped model's own test, against rounding in log2
                rounds = np.where(rate0 * np.exp2(rounds) < goodput, rounds + 1.0, rounds)
                rounds = np.where((rounds > 0) & (rate0 * np.exp2(rounds - 1.0) >= goodput),
                                  rounds - 1.0, rounds)
            ss_bits = rate0 * rtt * (np.exp2(rounds) - 1.0)          # bits the K rounds carry
            j = np.maximum(np.ceil(np.log2(bits / (rate0 * rtt) + 1.0)) - 1.0, 0.0)
            for _ in range(2):
                j = np.where(rate0 * rtt * (np.exp2(j + 1.0) - 1.0) < bits, j + 1.0, j)
                j = np.where((j > 0) & (rate0 * rtt * (np.exp2(j) - 1.0) >= bits), j - 1.0, j)
            before_j = rate0 * rtt * (np.exp2(j) - 1.0)
            in_slow_start = (j < rounds) & (bits <= ss_bits)
            t_slow = j * rtt + (bits - before_j) / (rate0 * np.exp2(j))
            t_steady = rounds * rtt + (bits - ss_bits) / goodput
            seconds = self.handshake_rtts * rtt + np.where(in_slow_start, t_slow, t_steady)
        return np.where(sizes > 0, seconds, 0.0)

    # -- metadata ---------------------------------------------------------------

    def describe(self) -> dict:
        mathis = self.throughput_model == "mathis"
        sources = {
            "rtt_s": ("per transfer, from a callable at open time" if self._rtt_fn is not None
                      else "model input"),
            "loss_rate": "model input",
            "mss_bytes": "DERIVED: 1500 MTU - 20 IPv4 (RFC 791) - 20 TCP (RFC 9293) "
                         "- 12 timestamps (RFC 7323)",
            "mtu_bytes": "READ: Ethernet payload, RFC 894",
            "initial_window_segments": "READ: RFC 6928 (IW10)",
            "handshake_rtts": "ASSUMPTION: SYN, SYN-ACK, data with the ACK (no TFO, no TLS)",
            "receive_window_bytes": "READ: Linux net.ipv4.tcp_rmem max, 6 MiB (ip-sysctl)",
            "rto_s": "READ: Linux TCP_RTO_MIN = HZ/5 = 200 ms (include/net/tcp.h)",
            "throughput_model": ("Mathis, Semke, Mahdavi, Ott 1997, CCR 27(3): C = sqrt(3/2)"
                                 if mathis else "Padhye, Firoiu, Towsley, Kurose 1998, "
                                                "SIGCOMM: b = 2, T0 = rto_s"),
            **self._sources}
        rtt = (self.rtt_s if self._rtt_fn is None
               else getattr(self._rtt_fn, "__name__", "callable"))
        return {
            "model": "tcp", "name": self.name, "capacity": self.capacity.describe(),
            "rtt_s": rtt, "loss_rate": self.loss_rate, "throughput_model": self.throughput_model,
            "mss_bytes": self.mss_bytes, "mtu_bytes": self.mtu_bytes,
            "payload_efficiency": self.payload_efficiency,
            "initial_window_segments": self.initial_window_segments,
            "handshake_rtts": self.handshake_rtts,
            "receive_window_bytes": self.receive_window_bytes, "rto_s": self.rto_s,
            "segments_per_ack": None if mathis else PADHYE_SEGMENTS_PER_ACK,
            "mathis_constant": MATHIS_CONSTANT if mathis else None,
            "sources": sources,
            "approximations": "fluid slow-start rounds; no loss in slow start; cwnd doubles "
                              "per RTT; steady state follows capacity at once; RTT fixed per "
                              "connection; outages pause slow start",
        }


# -- a fixed effective goodput ----------------------------------------------------------


class _GoodputTransfer:
    __slots__ = ("_goodput_bps", "_setup_left_s")

    def __init__(self, goodput_bps: float, setup_s: float):
        self._goodput_bps, self._setup_left_s = goodput_bps, setup_s

    def step(self, t_s: float) -> tuple[float, float, bool]:
        if self._setup_left_s > 0.0:
            return 0.0, self._setup_left_s, True
        return self._goodput_bps, math.inf, False

    def advance(self, dt_s: float, bits: float) -> None:
        if self._setup_left_s > 0.0:
            self._setup_left_s -= dt_s
            if self._setup_left_s <= _TIME_TOLERANCE_S:
                self._setup_left_s = 0.0


class GoodputTransport:
    """A fixed effective goodput and per-transfer setup time, whatever the capacity.

    An effective goodput is a model input (for instance calibrated on a paper's
    reported latencies), not a physical model: ``source`` says where it comes from.

    >>> g = GoodputTransport(80.0, per_transfer_s=0.1)
    >>> g.alone_seconds(0, 0, 0.0, 1e6)      # 0.1 s + 8e6 bit / 80e6 bit/s
    0.2
    >>> g.describe()["kind"]
    'effective goodput, model input'
    """

    def __init__(self, goodput_mbps: float, per_transfer_s: float = 0.0, *, name: str = "goodput",
                 source: str = "model input"):
        who = "goodput transport"
        self.goodput_mbps = _finite(goodput_mbps, f"{who} goodput_mbps", minimum=0.0, strict=True)
        self.per_transfer_s = _finite(per_transfer_s, f"{who} per_transfer_s", minimum=0.0)
        self.name = name
        self.source = str(source)

    def __repr__(self) -> str:
        return (f"GoodputTransport({self.goodput_mbps:g} Mbps, "
                f"per_transfer_s={self.per_transfer_s:g})")

    def open(self, sat: int, station: int, t_s: float) -> _GoodputTransfer:
        return _GoodputTransfer(self.goodput_mbps * 1e6, self.per_transfer_s)

    def alone_seconds(self, sat: int, station: int, t_s: float, size_bytes: float) -> float:
        return _alone_seconds(self.open(sat, station, t_s), t_s, size_bytes)

    def alone_seconds_many(self, sat, station, t_s, size_bytes) -> np.ndarray:
        """:meth:`alone_seconds` of many transfers (arrays that broadcast together)."""
        return self.alone_seconds_array(_many(sat, station, t_s, size_bytes)[3])

    def alone_seconds_array(self, size_bytes, rtt_s=None) -> np.ndarray:
        """``per_transfer_s + size x 8 / goodput`` (``rtt_s`` is ignored)."""
        sizes = _sizes(size_bytes)
        seconds = self.per_transfer_s + sizes * 8.0 / (self.goodput_mbps * 1e6)
        return np.where(sizes > 0, seconds, 0.0)

    def describe(self) -> dict:
        return {"model": "goodput", "name": self.name, "kind": "effective goodput, model input",
                "goodput_mbps": self.goodput_mbps, "per_transfer_s": self.per_transfer_s,
                "source": self.source}
