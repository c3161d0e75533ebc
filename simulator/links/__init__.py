"""The downlink: what the link carries, and how an application's bytes move over it.

Import everything from here (``from simulator.links import TraceLink``); the
submodules are an implementation detail:

* :mod:`~simulator.links.capacity` -- line rate.  :class:`LinkModel` (the
  interface), :class:`ConstantLink`, :class:`TraceLink`, :class:`BudgetLink`
  with :class:`LinkBudget`, :class:`Modcod`, :data:`DVB_S2_MODCODS` and
  :func:`efficient_modcods`; :func:`free_space_path_loss_db`,
  :func:`propagation_delay_s`; :data:`SPEED_OF_LIGHT_KM_S`,
  :data:`BOLTZMANN_DBW_PER_K_HZ`, :data:`BOUNDARY_TOLERANCE_S`,
  :data:`MASK_TOLERANCE_DEG`.
* :mod:`~simulator.links.trace_files` -- the bundled measured traces.
  :func:`list_link_traces`, :func:`link_traces_dir`, :data:`TRACE_COLUMNS`,
  :func:`convert_autobahn`, :func:`convert_fjordlink`,
  :func:`trace_statistics`, :func:`write_trace_csv`,
  :func:`build_bundled_traces`.
* :mod:`~simulator.links.transport` -- goodput over the line rate.
  :class:`Transport` and :class:`Transfer` (the interfaces),
  :class:`IdealTransport`, :class:`TcpTransport`, :class:`GoodputTransport`.
* :mod:`~simulator.links.tcp_physics` -- TCP's loss bounds and the measured
  Starlink numbers.  :func:`mathis_goodput_bps`, :func:`padhye_goodput_bps`,
  :func:`loss_rate_for_goodput`, :func:`default_loss_rate`,
  :func:`round_trip_time_s`; :data:`MSS_BYTES`, :data:`MTU_BYTES`,
  :data:`STARLINK_RTT_S`, :data:`GROUND_RTT_S`, :data:`STARLINK_LOSS_RATE`
  and the rest of that module's table of sources.

>>> link = TraceLink.from_bundled("starlink-autobahn-2024-04-19")
>>> round(link.mean_rate_mbps, 1)
217.7
>>> tcp = TcpTransport(link, rtt_s=STARLINK_RTT_S)   # the derived default loss rate
>>> round(tcp.loss_rate, 10), round(tcp.payload_efficiency, 4)
(1.7914e-06, 0.9653)
"""

from .capacity import (
    BOLTZMANN_DBW_PER_K_HZ,
    BOUNDARY_TOLERANCE_S,
    DVB_S2_MODCODS,
    MASK_TOLERANCE_DEG,
    SPEED_OF_LIGHT_KM_S,
    BudgetLink,
    ConstantLink,
    LinkBudget,
    LinkModel,
    Modcod,
    TraceLink,
    efficient_modcods,
    free_space_path_loss_db,
    propagation_delay_s,
)
from .trace_files import (
    TRACE_COLUMNS,
    build_bundled_traces,
    convert_autobahn,
    convert_fjordlink,
    link_traces_dir,
    list_link_traces,
    trace_statistics,
    write_trace_csv,
)
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
    default_loss_rate,
    loss_rate_for_goodput,
    mathis_goodput_bps,
    padhye_goodput_bps,
    round_trip_time_s,
)
from .transport import GoodputTransport, IdealTransport, TcpTransport, Transfer, Transport

__all__ = [
    # capacity
    "SPEED_OF_LIGHT_KM_S", "BOLTZMANN_DBW_PER_K_HZ", "BOUNDARY_TOLERANCE_S", "MASK_TOLERANCE_DEG",
    "LinkModel", "ConstantLink", "TraceLink", "BudgetLink", "LinkBudget", "Modcod",
    "DVB_S2_MODCODS", "efficient_modcods", "free_space_path_loss_db", "propagation_delay_s",
    # trace files
    "TRACE_COLUMNS", "link_traces_dir", "list_link_traces", "convert_autobahn",
    "convert_fjordlink", "trace_statistics", "write_trace_csv", "build_bundled_traces",
    # transport
    "Transport", "Transfer", "IdealTransport", "TcpTransport", "GoodputTransport",
    # tcp physics
    "THROUGHPUT_MODELS", "mathis_goodput_bps", "padhye_goodput_bps", "loss_rate_for_goodput",
    "default_loss_rate", "round_trip_time_s",
    "MTU_BYTES", "MSS_BYTES", "INITIAL_WINDOW_SEGMENTS", "MATHIS_CONSTANT",
    "PADHYE_SEGMENTS_PER_ACK", "LINUX_TCP_RMEM_MAX_BYTES", "LINUX_RTO_MIN_S", "HANDSHAKE_RTTS",
    "STARLINK_RTT_S", "STARLINK_PING_DROP_RATE", "STARLINK_SHELL_ALTITUDE_KM",
    "BENT_PIPE_MIN_RTT_S", "GROUND_RTT_S", "AUTOBAHN_MEDIAN_GOODPUT_BPS",
    "AUTOBAHN_BEST_RUN_GOODPUT_BPS", "STARLINK_LOSS_RATE", "STARLINK_LOSS_RATE_MEDIAN",
]
