"""Transport models: TCP over a capacity model, the ideal pipe, a fixed goodput."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from simulator.errors import InputError
from simulator.links import (
    AUTOBAHN_BEST_RUN_GOODPUT_BPS,
    AUTOBAHN_MEDIAN_GOODPUT_BPS,
    BENT_PIPE_MIN_RTT_S,
    GROUND_RTT_S,
    MSS_BYTES,
    MTU_BYTES,
    STARLINK_LOSS_RATE,
    STARLINK_LOSS_RATE_MEDIAN,
    STARLINK_PING_DROP_RATE,
    STARLINK_RTT_S,
    ConstantLink,
    GoodputTransport,
    IdealTransport,
    TcpTransport,
    TraceLink,
    Transfer,
    Transport,
    default_loss_rate,
    loss_rate_for_goodput,
    mathis_goodput_bps,
    padhye_goodput_bps,
    round_trip_time_s,
)

GBPS_LINK = ConstantLink(1000.0)


def run_by_hand(transfer, size_bytes: float, t0_s: float = 0.0, max_pieces: int = 100_000):
    """The engine's loop without a window end: the pieces and the finishing time."""
    remaining, now, pieces = size_bytes * 8.0, t0_s, []
    while remaining > 0:
        rate, hold, busy = transfer.step(now)
        pieces.append((now, rate, hold, busy))
        if rate > 0 and rate * hold >= remaining:
            return pieces, now + remaining / rate - t0_s
        bits = rate * hold
        transfer.advance(hold, bits)
        remaining -= bits
        now += hold
        assert len(pieces) < max_pieces
    return pieces, now - t0_s


# ---------------------------------------------------------------------------
# Slow start by hand


def test_slow_start_hand_calculation():
    # 200,000 B at RTT 50 ms, IW10, MSS 1448, 1 Gbps, no loss:
    # handshake 50 ms; rounds of 14,480, 28,960, 57,920 B (101,360 B in all);
    # the 4th round (115,840 B per RTT) carries the remaining 98,640 B.
    expected = 0.05 + 3 * 0.05 + (200_000 - 101_360) / (115_840 / 0.05)
    assert expected == pytest.approx(0.242576, abs=1e-6)
    tcp = TcpTransport(GBPS_LINK, rtt_s=0.05, loss_rate=0.0)
    assert tcp.alone_seconds(0, 0, 0.0, 200_000) == pytest.approx(expected, abs=1e-9)

    pieces, seconds = run_by_hand(tcp.open(0, 0, 0.0), 200_000)
    assert seconds == pytest.approx(expected, abs=1e-9)
    assert pieces[0] == (0.0, 0.0, 0.05, True)                       # the handshake
    rates = [rate for _, rate, _, _ in pieces[1:]]
    assert rates == pytest.approx([r * 8 / 0.05 for r in (14_480, 28_960, 57_920, 115_840)])
    assert all(hold == pytest.approx(0.05) and not busy for _, _, hold, busy in pieces[1:])


def test_slow_start_ends_at_the_steady_state_goodput():
    # 100 Mbps: cap 100e6 x 1448/1500 = 96.53 Mbps; rounds 2.3168 Mbps x 2^k stay
    # below it for k = 0..5 (74.1 Mbps), round 6 (148 Mbps) would not.
    tcp = TcpTransport(ConstantLink(100.0), rtt_s=0.05, loss_rate=0.0)
    pieces, _ = run_by_hand(tcp.open(0, 0, 0.0), 50e6)
    rates = [rate for _, rate, _, _ in pieces[1:]]
    cap = 100e6 * MSS_BYTES / MTU_BYTES
    assert rates[:6] == pytest.approx([2.3168e6 * 2**k for k in range(6)])
    assert rates[6] == pytest.approx(cap) and len(rates) == 7
    assert pieces[-1][2] == math.inf


def test_a_new_connection_starts_over():
    # A window end abandons the transfer; the next window opens a fresh connection.
    tcp = TcpTransport(GBPS_LINK, rtt_s=0.05, loss_rate=0.0)
    first = tcp.open(0, 0, 0.0)
    for now in (0.0, 0.05, 0.10, 0.15):
        _, hold, _ = first.step(now)
        first.advance(hold, 0.0)
    assert first.step(0.2)[0] == pytest.approx(8 * 14_480 * 8 / 0.05)   # round 3
    second = tcp.open(0, 0, 600.0)
    assert second.step(600.0) == (0.0, 0.05, True)
    second.advance(0.05, 0.0)
    assert second.step(600.05)[0] == pytest.approx(14_480 * 8 / 0.05)   # IW10 again


def test_handshake_rtts_and_rtt_callable():
    calls = []

    def rtt(sat, station, t_s):
        calls.append((sat, station, t_s))
        return 0.02 + 0.001 * sat

    tcp = TcpTransport(GBPS_LINK, rtt_s=rtt, loss_rate=0.0, handshake_rtts=1.5)
    tr = tcp.open(3, 1, 7.0)
    assert calls == [(3, 1, 7.0)]
    assert tr.step(7.0) == (0.0, pytest.approx(1.5 * 0.023), True)
    assert tcp.describe()["rtt_s"] == "rtt"


# ---------------------------------------------------------------------------
# Steady state


def test_mathis_and_padhye_at_one_percent_loss():
    # Mathis: (MSS x 8 / RTT) x sqrt(3/2) / sqrt(p) = (11584 / 0.05) x 1.2247449 / 0.1
    mathis = 11_584 / 0.05 * math.sqrt(1.5) / math.sqrt(0.01)
    assert mathis == pytest.approx(2.837489e6, rel=1e-6)
    assert mathis_goodput_bps(0.05, 0.01) == pytest.approx(mathis, rel=1e-12)
    # Padhye, b = 2, T0 = 0.2 s:
    #   RTT sqrt(2bp/3)                   = 0.05 x sqrt(0.04/3)         = 0.0057735
    #   T0 min(1, 3 sqrt(3bp/8)) p (1+32p^2) = 0.2 x 0.2598076 x 0.01 x 1.0032 = 0.0005213
    #   11584 bit / 0.0062948 s = 1.84025 Mbps
    assert padhye_goodput_bps(0.05, 0.01) == pytest.approx(1.84025e6, rel=1e-5)

    for model, bound in (("mathis", mathis), ("padhye", padhye_goodput_bps(0.05, 0.01))):
        tcp = TcpTransport(GBPS_LINK, rtt_s=0.05, loss_rate=0.01, throughput_model=model)
        pieces, _ = run_by_hand(tcp.open(0, 0, 0.0), 10e6)
        assert pieces[-1][1] == pytest.approx(bound, rel=1e-12)      # steady state
        assert max(rate for _, rate, _, _ in pieces) <= bound * (1 + 1e-12)


def test_receive_window_bounds_the_goodput():
    tcp = TcpTransport(ConstantLink(10_000.0), rtt_s=0.1, loss_rate=0.0,
                       receive_window_bytes=1_000_000)
    pieces, _ = run_by_hand(tcp.open(0, 0, 0.0), 1e9)
    assert pieces[-1][1] == pytest.approx(1e6 * 8 / 0.1)


def test_goodput_never_exceeds_capacity_times_payload_efficiency():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"t_s": np.arange(200.0), "rate_mbps": rng.uniform(0, 500, 200)})
    link = TraceLink(frame)
    tcp = TcpTransport(link, rtt_s=0.03, loss_rate=0.0)
    pieces, _ = run_by_hand(tcp.open(0, 0, 12.3), 5e9, t0_s=12.3)
    for now, rate, hold, _ in pieces:
        assert rate <= link.rate_bps(0, 0, now) * MSS_BYTES / MTU_BYTES * (1 + 1e-12)


def test_outage_pieces_and_trace_boundaries():
    frame = pd.DataFrame({"t_s": [0.0, 0.25, 0.5, 0.75], "rate_mbps": [200.0, 0.0, 50.0, 300.0]})
    link = TraceLink(frame, loop=False)
    tcp = TcpTransport(link, rtt_s=0.04, loss_rate=0.0)
    pieces, _ = run_by_hand(tcp.open(0, 0, 0.1), 30e6, t0_s=0.1)
    outages = [p for p in pieces if p[1] == 0.0 and not p[3]]
    assert outages and all(0.25 - 1e-9 <= now < 0.5 for now, _, _, _ in outages)
    for now, rate, hold, busy in pieces:
        assert hold <= link.piece_s(0, 0, now) + 1e-12               # never past a sample boundary
        assert busy == (now < 0.1 + 0.04 - 1e-12)                    # only the handshake is busy


def test_trace_scalar_lookups_match_the_vectorised_ones():
    # Transfers ask the capacity one float time at a time (TraceLink's fast path)
    rng = np.random.default_rng(5)
    links = [TraceLink.from_bundled("fjordlink-dish-2024-12-12", offset_s=12.3),
             TraceLink(pd.DataFrame({"t_s": [0.0, 1.0, 2.5], "rate_mbps": [1, 0, 3]}), loop=False)]
    for link in links:
        edges = np.arange(0, 3 * link.duration_s, link.sample_period_s)[:3000]
        times = np.concatenate([rng.uniform(0, 3 * link.duration_s, 5000), edges,
                                np.maximum(edges - 1e-7, 0), edges + 1e-7])
        assert [link.rate_bps(0, 0, float(t)) for t in times] == link.rate_bps(0, 0, times).tolist()
        assert [link.piece_s(0, 0, float(t)) for t in times] == link.piece_s(0, 0, times).tolist()
    with pytest.raises(InputError, match="t_s must be a finite time >= 0 s"):
        links[0].piece_s(0, 0, -1.0)


# ---------------------------------------------------------------------------
# Against the shipped measurements


def autobahn_replay_ratio(loss_rate: float) -> float:
    """Mean goodput of one transfer lasting about one loop of the Autobahn trace,
    over the trace's own mean x MSS/MTU."""
    link = TraceLink.from_bundled("starlink-autobahn-2024-04-19")
    target_bps = link.mean_rate_mbps * 1e6 * MSS_BYTES / MTU_BYTES
    tcp = TcpTransport(link, rtt_s=STARLINK_RTT_S, loss_rate=loss_rate)
    size = target_bps * link.duration_s / 8
    return size * 8 / tcp.alone_seconds(0, 0, 0.0, size) / target_bps


def test_default_loss_keeps_the_measured_tcp_goodput():
    # The trace *is* TCP goodput: the default loss may cut it by at most 2 %
    # (it cuts 0.55 %; the rest is the handshake and slow start).
    assert 0.98 <= autobahn_replay_ratio(STARLINK_LOSS_RATE) <= 1.0
    # The median-derived loss cuts 17 %, the ping drop rate more than 5x (13x).
    assert 0.80 < autobahn_replay_ratio(STARLINK_LOSS_RATE_MEDIAN) < 0.85
    assert autobahn_replay_ratio(STARLINK_PING_DROP_RATE) < 1 / 5


def test_measured_constants_against_the_bundled_trace():
    rates = pd.read_csv(TraceLink.from_bundled("starlink-autobahn-2024-04-19").source)["rate_mbps"]
    assert np.median(rates) * 1e6 == pytest.approx(AUTOBAHN_MEDIAN_GOODPUT_BPS, rel=1e-9)
    best_run = rates.iloc[1999:2059].mean() * 1e6          # 2024-04-19 16:59:08-17:00:07 UTC
    assert best_run == pytest.approx(AUTOBAHN_BEST_RUN_GOODPUT_BPS, rel=1e-9)
    # Mathis at the ping drop rate: 15.9 Mbps, an order of magnitude below the trace
    ping_bound = mathis_goodput_bps(STARLINK_RTT_S, STARLINK_PING_DROP_RATE)
    assert ping_bound == pytest.approx(15.914e6, rel=1e-4)
    by_hand = (1448 * 8 * math.sqrt(1.5) / (STARLINK_RTT_S * best_run)) ** 2
    assert loss_rate_for_goodput(best_run, STARLINK_RTT_S) == pytest.approx(by_hand, rel=1e-12)
    assert STARLINK_LOSS_RATE == pytest.approx(by_hand, rel=1e-9)
    assert loss_rate_for_goodput(AUTOBAHN_MEDIAN_GOODPUT_BPS, STARLINK_RTT_S) == pytest.approx(
        STARLINK_LOSS_RATE_MEDIAN, rel=1e-12)
    assert BENT_PIPE_MIN_RTT_S == pytest.approx(2200 / 299_792.458)
    assert GROUND_RTT_S == pytest.approx(0.018953, abs=1e-6)
    # satellite <-> station is half of Starlink's bent pipe (no second space hop)
    assert round_trip_time_s(np.array([550.0, 2000.0])) == pytest.approx(
        [STARLINK_RTT_S - BENT_PIPE_MIN_RTT_S / 2, 4000 / 299_792.458 + GROUND_RTT_S])


@pytest.mark.parametrize("model", ["mathis", "padhye"])
def test_loss_rate_for_goodput_round_trips(model):
    bound = mathis_goodput_bps if model == "mathis" else padhye_goodput_bps
    for goodput_bps, rtt_s in ((218e6, 0.026), (2e6, 0.05), (50e3, 0.6)):
        p = loss_rate_for_goodput(goodput_bps, rtt_s, model=model)
        assert 0 < p < 1
        assert bound(rtt_s, p) == pytest.approx(goodput_bps, rel=1e-9)
    with pytest.raises(InputError, match="below what TCP achieves"):
        loss_rate_for_goodput(1.0, 10.0, model=model)


def test_default_loss_rate_is_derived_per_model():
    tcp = TcpTransport(GBPS_LINK, rtt_s=STARLINK_RTT_S)
    assert tcp.loss_rate == STARLINK_LOSS_RATE == default_loss_rate("mathis")
    assert "DERIVED" in tcp.describe()["sources"]["loss_rate"]
    padhye = TcpTransport(GBPS_LINK, rtt_s=STARLINK_RTT_S, throughput_model="padhye")
    assert padhye_goodput_bps(STARLINK_RTT_S, padhye.loss_rate) == pytest.approx(
        AUTOBAHN_BEST_RUN_GOODPUT_BPS, rel=1e-9)
    explicit = TcpTransport(GBPS_LINK, rtt_s=STARLINK_RTT_S, loss_rate=0.01)
    assert explicit.describe()["sources"]["loss_rate"] == "model input"


# ---------------------------------------------------------------------------
# The closed form


@pytest.mark.parametrize("model,loss", [("mathis", 0.0), ("mathis", 1e-4), ("padhye", 1e-3),
                                        ("mathis", STARLINK_LOSS_RATE)])
@pytest.mark.parametrize("rate_mbps", [1.0, 110.67, 1000.0, 0.0])
def test_alone_seconds_array_equals_the_stepped_model(model, loss, rate_mbps):
    rng = np.random.default_rng(11)
    sizes = np.concatenate([rng.uniform(0, 5e6, 200), 10 ** rng.uniform(2, 9, 200),
                            [0.0, 1.0, 14_480.0, 43_440.0, 101_360.0]])
    rtts = rng.uniform(0.005, 0.6, len(sizes))
    tcp = TcpTransport(ConstantLink(rate_mbps), rtt_s=0.05, loss_rate=loss, throughput_model=model)
    fast = tcp.alone_seconds_array(sizes, rtts)
    for size, rtt, seconds in zip(sizes, rtts, fast):
        one = TcpTransport(ConstantLink(rate_mbps), rtt_s=rtt, loss_rate=loss,
                           throughput_model=model)
        slow = one.alone_seconds(0, 0, 5.0, size)
        if math.isinf(slow):
            assert math.isinf(seconds) and size > 0
        else:
            assert seconds == pytest.approx(slow, abs=1e-9, rel=0), (size, rtt)


def test_alone_seconds_many_matches_alone_seconds():
    sats, stations = np.array([0, 1, 2, 1]), np.array([0, 0, 1, 1])
    times, sizes = np.array([0.0, 10.0, 20.5, 99.0]), np.array([1e3, 2e5, 7e6, 0.0])

    def rtt(sat, station, t_s):
        return 0.02 + 0.003 * sat + 0.001 * station

    trace = TraceLink(pd.DataFrame({"t_s": [0.0, 1.0, 2.0], "rate_mbps": [50.0, 0.0, 200.0]}))
    for transport in (TcpTransport(ConstantLink(110.67), rtt_s=rtt),
                      TcpTransport(ConstantLink(110.67), rtt_s=0.03, loss_rate=1e-3),
                      TcpTransport(trace, rtt_s=rtt), IdealTransport(ConstantLink(20.0)),
                      IdealTransport(trace), GoodputTransport(30.0, per_transfer_s=0.1)):
        many = transport.alone_seconds_many(sats, stations, times, sizes)
        one = [transport.alone_seconds(int(a), int(b), t, n) for a, b, t, n in
               zip(sats, stations, times, sizes)]
        assert many == pytest.approx(one, abs=1e-9, rel=0), transport


def test_alone_seconds_array_needs_a_constant_capacity():
    link = TraceLink(pd.DataFrame({"t_s": [0.0, 1.0], "rate_mbps": [1.0, 2.0]}))
    with pytest.raises(InputError, match="needs a ConstantLink capacity"):
        TcpTransport(link, rtt_s=0.05, loss_rate=0.0).alone_seconds_array([1e6], 0.05)


# ---------------------------------------------------------------------------
# Ideal pipe and fixed goodput


def test_ideal_transport_is_the_line_rate():
    ideal = IdealTransport(ConstantLink(110.67))
    assert ideal.open(0, 0, 0.0).step(3.0) == (110.67e6, math.inf, False)
    assert ideal.alone_seconds(0, 0, 0.0, 1e6) == pytest.approx(8e6 / 110.67e6)
    assert ideal.alone_seconds_array(np.array([1e6, 0.0]))[0] == pytest.approx(8e6 / 110.67e6)
    assert "no protocol overhead" in ideal.describe()["description"]


def test_goodput_transport():
    g = GoodputTransport(55.0, per_transfer_s=0.3)
    sizes = np.array([1.0, 1e6, 3.3e7])
    expected = sizes * 8 / 55e6 + 0.3
    assert g.alone_seconds_array(sizes) == pytest.approx(expected)
    assert [g.alone_seconds(0, 0, 9.0, s) for s in sizes] == pytest.approx(expected)
    tr = g.open(0, 0, 0.0)
    assert tr.step(0.0) == (0.0, 0.3, True)
    tr.advance(0.3, 0.0)
    assert tr.step(0.3) == (55e6, math.inf, False)
    assert g.describe()["kind"] == "effective goodput, model input"


def test_protocols_and_json_descriptions():
    link = TraceLink.from_bundled("fjordlink-dish-2024-12-12")
    for transport in (IdealTransport(link), TcpTransport(link, rtt_s=STARLINK_RTT_S),
                      GoodputTransport(10.0)):
        assert isinstance(transport, Transport)
        assert isinstance(transport.open(0, 0, 0.0), Transfer)
        json.dumps(transport.describe())


# ---------------------------------------------------------------------------
# Bad parameters


@pytest.mark.parametrize("options,message", [
    ({"loss_rate": -0.1}, "loss_rate must be a fraction in \\[0, 1\\), got -0.1"),
    ({"loss_rate": 1.0}, "loss_rate must be a fraction in \\[0, 1\\), got 1.0"),
    ({"loss_rate": "lots"}, "loss_rate must be a number, got 'lots'"),
    ({"mss_bytes": 1600}, "mss_bytes must be <= mtu_bytes \\(1500\\), got 1600"),
    ({"rtt_s": 0.0}, "rtt_s \\(seconds\\) must be > 0, got 0.0"),
    ({"rtt_s": -0.02}, "rtt_s \\(seconds\\) must be > 0, got -0.02"),
    ({"throughput_model": "reno"}, "throughput_model must be 'mathis' or 'padhye', got 'reno'"),
    ({"initial_window_segments": 0}, "initial_window_segments must be >= 1, got 0"),
    ({"rto_s": 0}, "rto_s must be > 0, got 0"),
])
def test_bad_tcp_parameters(options, message):
    kwargs = {"rtt_s": 0.05, "loss_rate": 0.0, **options}
    with pytest.raises(InputError, match=message) as info:
        TcpTransport(GBPS_LINK, **kwargs)
    assert "\n" not in str(info.value)


def test_bad_per_transfer_values():
    tcp = TcpTransport(GBPS_LINK, rtt_s=lambda sat, st, t: -1.0, loss_rate=0.0)
    with pytest.raises(InputError, match="rtt_s callable must return a finite number > 0 s, "
                                         "got -1.0"):
        tcp.open(0, 0, 0.0)
    ok = TcpTransport(GBPS_LINK, rtt_s=0.05, loss_rate=0.0)
    with pytest.raises(InputError, match="size_bytes must be >= 0"):
        ok.alone_seconds(0, 0, 0.0, -5)
    with pytest.raises(InputError, match="rtt_s must be a finite number > 0 s"):
        ok.alone_seconds_array([1.0, 2.0], [0.05, 0.0])
    with pytest.raises(InputError, match="goodput_mbps must be > 0"):
        GoodputTransport(0.0)
    with pytest.raises(InputError, match="capacity must be a link model"):
        IdealTransport(110.67)
