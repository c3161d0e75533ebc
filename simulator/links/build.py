"""The downlink of a scenario, built from its ``link`` block.

:func:`build_link` gives a :class:`Link`: the line rate (``link.model``:
constant, a measured trace, or a link budget over the pass geometry), the light
time (``link.propagation_delay``: slant range / c over contact windows, the
satellite's altitude when always connected) and the transport over that line
rate (``link.transport``, or the preset's: TCP, an ideal pipe, or a fixed
goodput, whose value ``preset: paper-calibrated`` derives).  Errors read
``FILE:LINE: link...: message``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import InputError
from ..scenario_blocks import field, resolve_path
from .capacity import SPEED_OF_LIGHT_KM_S, LinkModel
from .transport import Transport

#: ``propagation_s(satellite index, station index, t_s)``: one-way light time in seconds.
Propagation = Callable[[int, int, float], float]


@dataclass
class Link:
    """The run's downlink: line rate, light time and transport, and what it is."""

    capacity: LinkModel
    propagation_s: Propagation
    transport: Transport
    #: ``link`` in summary.json: model, availability, the capacity's and the transport's
    #: descriptions.
    info: dict


def build_link(scenario, orbits, stations, start, windows, calibration: dict | None) -> Link:
    """The scenario's :class:`Link`.

    ``windows`` (one list of contact windows per satellite, with ``rise_s``,
    ``set_s`` and ``station``) are where the slant ranges are tabulated;
    ``calibration`` is the preset's (:func:`simulator.presets.paper_calibration`)
    or None.
    """
    with field(scenario, "link"):
        capacity, geometry = link_capacity(scenario, orbits, stations, start)
        propagation = link_propagation(scenario, orbits, stations, start, windows, geometry)
        transport = link_transport(scenario, capacity, propagation, calibration)
    info = {"model": scenario.link.model, "availability": scenario.link.availability,
            **capacity.describe(), "transport": transport.describe()}
    return Link(capacity, propagation, transport, info)


def check_link(scenario, orbits, stations) -> None:
    """Read what a run's link would read without the contact search (a trace file)."""
    if scenario.link.model == "trace":
        with field(scenario, "link.trace"):
            link_capacity(scenario, orbits, stations, None)


def link_capacity(scenario, orbits, stations, start):
    """The link's capacity model (``link.model``) and the pass geometry it built, if any."""
    from ..orbits.geometry import PassGeometry
    from .capacity import BudgetLink, ConstantLink, TraceLink

    cfg = scenario.link
    geometry = None
    if cfg.model == "constant":
        model = ConstantLink(cfg.rate_mbps)
    elif cfg.model == "trace":
        t = cfg.trace
        name = t.file if t is not None else "starlink-autobahn-2024-04-19"
        options = ({"scale": t.scale, "offset_s": t.offset_s, "loop": t.loop}
                   if t is not None else {})
        resolved = resolve_path(name, scenario)
        model = (TraceLink.from_file(resolved, **options) if Path(resolved).exists()
                 else TraceLink.from_bundled(name, **options))
    else:
        geometry = PassGeometry(orbits, stations, start)
        b = cfg.budget
        kwargs = b.model_dump() if b is not None else {}
        model = BudgetLink(geometry, **kwargs)
    return model, geometry


def link_propagation(scenario, orbits, stations, start, windows, geometry) -> Propagation:
    """``propagation_s(sat, station, t)``: the slant-range light time (0 when switched off).

    The function also has ``many(sats, stations, times)``: the light times of many
    transfers at once (arrays in, an array out, the same values bit for bit), which
    the engine and the service latency use.  The slant ranges come from a
    :class:`~simulator.orbits.geometry.RangeTable` that samples a contact window
    only when a time in it is asked for.
    """
    import numpy as np

    cfg = scenario.link
    if cfg.propagation_delay and cfg.availability == "orbital":
        from ..orbits.geometry import PassGeometry, RangeTable

        ranges = RangeTable(geometry or PassGeometry(orbits, stations, start), windows)
        range_km, range_km_many = ranges.range_km, ranges.range_km_many

        def propagation(sat, st, t):
            return range_km(sat, st, t) / SPEED_OF_LIGHT_KM_S

        def many(sats, sts, ts):
            return range_km_many(sats, sts, ts) / SPEED_OF_LIGHT_KM_S

        propagation.range_km = range_km   # the slant range itself (km), for the round trip
        propagation.prefetch = ranges.prefetch   # sample likely windows in one batch
    elif cfg.propagation_delay:
        # Always connected (the paper's measurement): the station is straight below, so
        # the slant range is the satellite's altitude (its lowest possible value).
        from ..orbits.constellations import mean_altitude_km

        altitude = [mean_altitude_km(o) for o in orbits]
        delays = np.array([a / SPEED_OF_LIGHT_KM_S for a in altitude], dtype=float)

        def propagation(sat, st, t):
            return altitude[sat] / SPEED_OF_LIGHT_KM_S

        def many(sats, sts, ts):
            sats, _, _ = np.broadcast_arrays(np.asarray(sats, dtype=np.int64), sts, ts)
            return delays[sats]
    else:
        def propagation(sat, st, t):
            return 0.0

        def many(sats, sts, ts):
            return np.zeros(np.broadcast(np.asarray(sats), np.asarray(sts), np.asarray(ts)).shape)
    propagation.many = many
    return propagation


def link_transport(scenario, capacity, propagation, calibrated: dict | None) -> Transport:
    """The link's transport (``link.transport``, or the preset's)."""
    from . import transport as tp

    cfg = scenario.link.transport
    model = cfg.model if cfg is not None else (
        "goodput" if scenario.preset == "paper-calibrated" else "tcp")
    if model == "ideal":
        return tp.IdealTransport(capacity)
    if model == "goodput":
        goodput = cfg.goodput_mbps if cfg is not None and cfg.goodput_mbps is not None else None
        per_transfer = (cfg.per_transfer_s if cfg is not None and cfg.per_transfer_s is not None
                        else 0.0)
        if goodput is None:
            if calibrated is None:
                raise InputError("link.transport.goodput_mbps is required with model: goodput "
                                 "(or use preset: paper-calibrated for the derived value)")
            goodput = calibrated["goodput_mbps"]
        return tp.GoodputTransport(goodput, per_transfer_s=per_transfer)
    options = {}
    if cfg is not None:
        for key in ("loss_rate", "mss_bytes", "mtu_bytes", "initial_window_segments",
                    "handshake_rtts", "receive_window_bytes"):
            value = getattr(cfg, key)
            if value is not None:
                options[key] = value
        options["throughput_model"] = cfg.throughput_model
    ground_rtt_s = (cfg.ground_rtt_ms / 1000.0 if cfg is not None and cfg.ground_rtt_ms is not None
                    else tp.GROUND_RTT_S)

    range_km = getattr(propagation, "range_km", None)
    if range_km is not None:   # the same arithmetic as below, one call less per transfer
        def rtt_s(sat, st, t):
            return 2.0 * (range_km(sat, st, t) / SPEED_OF_LIGHT_KM_S) + ground_rtt_s
    else:
        def rtt_s(sat, st, t):
            return 2.0 * propagation(sat, st, t) + ground_rtt_s

    many = getattr(propagation, "many", None)
    if many is not None:
        def rtt_many(sats, sts, ts):
            return 2.0 * many(sats, sts, ts) + ground_rtt_s

        rtt_s.many = rtt_many  # the round trips of many transfers (service latency)
    return tp.TcpTransport(capacity, rtt_s=rtt_s, **options)
