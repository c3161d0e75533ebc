"""TCP throughput physics, and the measured Starlink numbers behind the defaults.

The steady-state goodput bounds of TCP under random loss
(:func:`mathis_goodput_bps`, :func:`padhye_goodput_bps`), their inversion
(:func:`loss_rate_for_goodput`, :func:`default_loss_rate`), the round-trip
time of a satellite-station path (:func:`round_trip_time_s`) and every
constant :class:`~simulator.links.TcpTransport` uses by default.

>>> round(mathis_goodput_bps(STARLINK_RTT_S, STARLINK_PING_DROP_RATE) / 1e6, 2)  # ping drops
15.91
>>> round(mathis_goodput_bps(STARLINK_RTT_S, STARLINK_LOSS_RATE) / 1e6, 2)  # derived default
403.18

**Default constants and where they come from** (READ: taken from a document or
data set; DERIVED: computed here from READ values; ASSUMPTION: a modelling
choice)::

    constant                       value         label       source
    MTU_BYTES                      1500 B        READ        Ethernet payload, RFC 894
    MSS_BYTES                      1448 B        DERIVED     1500 - 20 IPv4 (RFC 791) - 20 TCP
                                                             (RFC 9293) - 12 timestamps option
                                                             (RFC 7323: 10 B + 2 B NOP padding)
    INITIAL_WINDOW_SEGMENTS        10            READ        RFC 6928 (IW10)
    MATHIS_CONSTANT                sqrt(3/2)     READ        Mathis, Semke, Mahdavi, Ott 1997,
                                                             CCR 27(3) (an ACK per segment)
    PADHYE_SEGMENTS_PER_ACK        2             READ        Padhye, Firoiu, Towsley, Kurose
                                                             1998 (b = 2: delayed ACKs)
    LINUX_TCP_RMEM_MAX_BYTES       6291456 B     READ        Linux net.ipv4.tcp_rmem max, 6 MiB
                                                             (Documentation/networking/ip-sysctl)
    LINUX_RTO_MIN_S                0.2 s         READ        Linux TCP_RTO_MIN = HZ/5
                                                             (include/net/tcp.h)
    HANDSHAKE_RTTS                 1.0           ASSUMPTION  sender opens: SYN, SYN-ACK, data
                                                             with the ACK (no TFO, no TLS)
    STARLINK_RTT_S                 26.291 ms     READ        FjordLink, median pop_ping_latency_ms
    STARLINK_PING_DROP_RATE        0.115 %       READ        FjordLink, mean pop_ping_drop_rate
    STARLINK_SHELL_ALTITUDE_KM     550 km        READ        Starlink's first shell (SpaceX's
                                                             FCC filings)
    BENT_PIPE_MIN_RTT_S            7.338 ms      DERIVED     4 x 550 km / c
    GROUND_RTT_S                   18.953 ms     DERIVED     STARLINK_RTT_S - BENT_PIPE_MIN_RTT_S
    AUTOBAHN_MEDIAN_GOODPUT_BPS    218.313 Mbps  READ        median 1-s iperf3 report, bundled
                                                             starlink-autobahn-2024-04-19
    AUTOBAHN_BEST_RUN_GOODPUT_BPS  403.176 Mbps  READ        best 60-s iperf3 run, same trace
    STARLINK_LOSS_RATE (default)   1.791e-6      DERIVED     Mathis inverted at the best run
    STARLINK_LOSS_RATE_MEDIAN      6.110e-6      DERIVED     Mathis inverted at the median
    default_loss_rate("padhye")    8.957e-7      DERIVED     Padhye inverted at the best run

FjordLink: ``dish_status_key_columns_DERIVED.csv`` of ds-kiel/FjordLink, commit
1d683bbf05bd23b3869287d3e8999bf7037e5f83, CC BY 4.0 (3600 one-second dish
status rows, 2024-12-12, Kiel Fjord).  The values are constants here; nothing
reads the data at run time.  The ping RTT is at least 20.7 ms (5th-95th
percentile 22.4-34.9 ms); pings were dropped in only 64 of the 3600 seconds
(1.8 %), at a median 6.25 % in those seconds.

**Ground segment.**  ``pop_ping_latency_ms`` is the dish's round trip to its
point of presence: dish - satellite - gateway - PoP and back.  Its bent-pipe
part is at least 4 x 550 km / c = 7.338 ms (satellite at zenith over both dish
and gateway), so the rest, 26.291 - 7.338 = 18.953 ms, is an upper bound on
the ground segment (gateway-PoP backhaul, scheduling, queueing).  The engine's
RTT is ``2 x slant range / c + GROUND_RTT_S`` (:func:`round_trip_time_s`).

**Physics check: ping drops are not TCP loss.**  The bundled
``starlink-autobahn-2024-04-19`` trace is *measured TCP goodput*: 85 iperf3
downloads over Starlink (80 of 30-60 s), mean 217.664 Mbps, median 218.313 Mbps.
Mathis at the FjordLink RTT and ping drop rate gives::

    (1448 x 8 / 0.026291 s) x sqrt(3/2) / sqrt(0.0011499) = 15.91 Mbps

13.7 times below what TCP achieved.  Ping drops are bursty outages (1.8 %
of the seconds), which cost TCP one window reduction per burst, not one per
lost packet; they are not the independent random loss Mathis assumes.  So the
loss rate is inferred from the goodput instead, by inverting Mathis
(:func:`loss_rate_for_goodput`), ``p = (MSS x 8 x sqrt(3/2) / (RTT x B))**2``:

* at the median report, B = 218.313 Mbps: p = (11584 x 1.224745 / (0.026291 x
  218.313e6))**2 = 6.110e-6.  But then the bound *is* the median: 45 of the
  80 runs averaged more than it, which under that loss they could not have,
  and replaying the trace through TCP with it cuts the mean goodput by 17.4 %;
* the largest random loss rate compatible with *every* measured run (80 runs
  of 30 s or more) is set by the best one (its 60 reports from 16:59:08 UTC, rows
  t_s = 1999-2058 of the bundled trace), B = 403.176 Mbps: p = (11584 x
  1.224745 / (0.026291 x 403.176e6))**2 = 1.791e-6.  This is the default
  (:data:`STARLINK_LOSS_RATE`); replaying the trace through TCP with it keeps
  99.5 % of the trace's mean x MSS/MTU, where the ping drop rate would keep
  7.4 % (``tests/test_transport.py``).  :func:`default_loss_rate` inverts the
  bound of either throughput model at the same point.

The RTT of the Autobahn runs is not in the bundled data; FjordLink's median is
used (ASSUMPTION: same network, same dish model).  A higher RTT would make the
compatible loss rate smaller (p scales as 1/RTT**2).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..errors import InputError
from .capacity import SPEED_OF_LIGHT_KM_S, _finite

__all__ = [
    "MTU_BYTES", "MSS_BYTES", "INITIAL_WINDOW_SEGMENTS", "MATHIS_CONSTANT",
    "PADHYE_SEGMENTS_PER_ACK", "LINUX_TCP_RMEM_MAX_BYTES", "LINUX_RTO_MIN_S", "HANDSHAKE_RTTS",
    "STARLINK_RTT_S", "STARLINK_PING_DROP_RATE", "STARLINK_SHELL_ALTITUDE_KM",
    "BENT_PIPE_MIN_RTT_S", "GROUND_RTT_S", "AUTOBAHN_MEDIAN_GOODPUT_BPS",
    "AUTOBAHN_BEST_RUN_GOODPUT_BPS", "STARLINK_LOSS_RATE", "STARLINK_LOSS_RATE_MEDIAN",
    "THROUGHPUT_MODELS", "mathis_goodput_bps", "padhye_goodput_bps", "loss_rate_for_goodput",
    "default_loss_rate", "round_trip_time_s",
]

# -- constants (see the table in the module docstring) -------------------------

MTU_BYTES = 1500
MSS_BYTES = 1500 - 20 - 20 - 12
INITIAL_WINDOW_SEGMENTS = 10
MATHIS_CONSTANT = math.sqrt(3.0 / 2.0)
PADHYE_SEGMENTS_PER_ACK = 2
LINUX_TCP_RMEM_MAX_BYTES = 6 * 1024 * 1024
LINUX_RTO_MIN_S = 0.2
HANDSHAKE_RTTS = 1.0
#: Median of FjordLink's 3600 ``pop_ping_latency_ms`` values, in seconds.
STARLINK_RTT_S = 26.2910737991333e-3
#: Mean of FjordLink's 3600 ``pop_ping_drop_rate`` values.
STARLINK_PING_DROP_RATE = 0.001149879421831833
STARLINK_SHELL_ALTITUDE_KM = 550.0
BENT_PIPE_MIN_RTT_S = 4.0 * STARLINK_SHELL_ALTITUDE_KM / SPEED_OF_LIGHT_KM_S
#: Round-trip time beyond the light time of the space segment (upper bound).
GROUND_RTT_S = STARLINK_RTT_S - BENT_PIPE_MIN_RTT_S
#: Median of the 4860 one-second iperf3 reports of the bundled Autobahn trace.
AUTOBAHN_MEDIAN_GOODPUT_BPS = 218.3128355e6
#: Mean of the best 60-s iperf3 run of the bundled Autobahn trace (t_s 1999-2058).
AUTOBAHN_BEST_RUN_GOODPUT_BPS = 403.1755596333333e6
#: Default random segment loss: Mathis inverted at the best run and STARLINK_RTT_S.
STARLINK_LOSS_RATE = 1.7914443159027809e-06
#: Alternative: Mathis inverted at the median report (contradicted by 45 of 80 runs).
STARLINK_LOSS_RATE_MEDIAN = 6.109886849124867e-06
#: The steady-state loss bounds :class:`~simulator.links.TcpTransport` knows.
THROUGHPUT_MODELS = ("mathis", "padhye")


def mathis_goodput_bps(rtt_s, loss_rate, mss_bytes: float = MSS_BYTES):
    """Mathis et al. (1997) steady-state goodput ``(MSS x 8 / RTT) x sqrt(3/2) / sqrt(p)``.

    Vectorised over ``rtt_s`` and ``loss_rate``; ``inf`` where ``p = 0``.

    >>> round(mathis_goodput_bps(0.05, 0.01) / 1e6, 4)   # 231,680 bit/s x 12.247
    2.8375
    """
    p = np.asarray(loss_rate, dtype=float)
    with np.errstate(divide="ignore"):
        rtt = np.asarray(rtt_s, dtype=float)
        bound = mss_bytes * 8.0 / rtt * MATHIS_CONSTANT / np.sqrt(p)
    return float(bound) if np.ndim(bound) == 0 else bound


def padhye_goodput_bps(rtt_s, loss_rate, mss_bytes: float = MSS_BYTES,
                       rto_s: float = LINUX_RTO_MIN_S,
                       segments_per_ack: int = PADHYE_SEGMENTS_PER_ACK):
    """Padhye et al. (1998) goodput with timeouts, the receive window left out::

        MSS x 8 / (RTT sqrt(2bp/3) + T0 min(1, 3 sqrt(3bp/8)) p (1 + 32 p**2))

    ``b`` = ``segments_per_ack``, ``T0`` = ``rto_s``; vectorised; ``inf`` where ``p = 0``.

    >>> round(padhye_goodput_bps(0.05, 0.01) / 1e6, 4)
    1.8403
    """
    p = np.asarray(loss_rate, dtype=float)
    b = float(segments_per_ack)
    rtt = np.asarray(rtt_s, dtype=float)
    timeouts = rto_s * np.minimum(1.0, 3.0 * np.sqrt(3.0 * b * p / 8.0)) * p * (1.0 + 32.0 * p**2)
    denominator = rtt * np.sqrt(2.0 * b * p / 3.0) + timeouts
    with np.errstate(divide="ignore"):
        bound = mss_bytes * 8.0 / denominator
    return float(bound) if np.ndim(bound) == 0 else bound


def _loss_bound_bps(model: str, rtt_s, loss_rate: float, mss_bytes: float, rto_s: float):
    if model == "mathis":
        return mathis_goodput_bps(rtt_s, loss_rate, mss_bytes)
    return padhye_goodput_bps(rtt_s, loss_rate, mss_bytes, rto_s)


def _check_model(model) -> str:
    if model not in THROUGHPUT_MODELS:
        raise InputError(f"tcp throughput_model must be 'mathis' or 'padhye', got {model!r}")
    return model


def loss_rate_for_goodput(goodput_bps: float, rtt_s: float, mss_bytes: float = MSS_BYTES,
                          model: str = "mathis", rto_s: float = LINUX_RTO_MIN_S) -> float:
    """The random loss rate at which the ``model`` bound equals ``goodput_bps``.

    It is the largest loss rate under which TCP could have reached that goodput
    at that RTT.  Mathis inverts in closed form,
    ``p = (MSS x 8 x sqrt(3/2) / (RTT x goodput))**2``; Padhye by bisection.

    >>> loss_rate_for_goodput(AUTOBAHN_BEST_RUN_GOODPUT_BPS, STARLINK_RTT_S) == STARLINK_LOSS_RATE
    True
    >>> round(loss_rate_for_goodput(2.8375e6, 0.05), 5)
    0.01
    """
    goodput = _finite(goodput_bps, "loss_rate_for_goodput goodput_bps", minimum=0.0, strict=True)
    rtt = _finite(rtt_s, "loss_rate_for_goodput rtt_s", minimum=0.0, strict=True)
    mss = _finite(mss_bytes, "loss_rate_for_goodput mss_bytes", minimum=0.0, strict=True)
    _check_model(model)
    if model == "mathis":
        p = (mss * 8.0 * MATHIS_CONSTANT / (rtt * goodput)) ** 2
    else:
        low, high = -30.0, math.log10(1.0 - 1e-12)   # log10 p
        if padhye_goodput_bps(rtt, 10.0**high, mss, rto_s) > goodput:
            p = 1.0
        else:
            for _ in range(200):       # the bound falls as p rises
                mid = 0.5 * (low + high)
                if padhye_goodput_bps(rtt, 10.0**mid, mss, rto_s) > goodput:
                    low = mid
                else:
                    high = mid
            p = 10.0 ** (0.5 * (low + high))
    if p >= 1.0:
        raise InputError(f"loss_rate_for_goodput: {goodput:g} bit/s at RTT {rtt:g} s is below "
                         f"what TCP achieves at any loss rate < 1 ({model})")
    return float(p)


@functools.lru_cache(maxsize=None)
def default_loss_rate(throughput_model: str = "mathis", rto_s: float = LINUX_RTO_MIN_S) -> float:
    """The derived default loss rate for ``throughput_model`` (see the module docstring).

    The ``throughput_model`` bound inverted at the best Autobahn iperf3 run
    (:data:`AUTOBAHN_BEST_RUN_GOODPUT_BPS`) and :data:`STARLINK_RTT_S`, with the
    path's MSS of 1448 B: the largest random loss rate under which every
    measured run was possible.

    >>> default_loss_rate() == STARLINK_LOSS_RATE
    True
    >>> f"{default_loss_rate('padhye'):.4g}"
    '8.957e-07'
    """
    return loss_rate_for_goodput(AUTOBAHN_BEST_RUN_GOODPUT_BPS, STARLINK_RTT_S, MSS_BYTES,
                                 throughput_model, rto_s)


def round_trip_time_s(range_km, ground_rtt_s: float = GROUND_RTT_S):
    """RTT of a bent-pipe path: ``2 x range / c`` plus the ground segment (vectorised).

    >>> round(round_trip_time_s(550.0) * 1e3, 3)   # zenith pass at 550 km
    22.622
    """
    rng = np.asarray(range_km, dtype=float)
    rtt = 2.0 * rng / SPEED_OF_LIGHT_KM_S + ground_rtt_s
    return float(rtt) if np.ndim(rtt) == 0 else rtt
