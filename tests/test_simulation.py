"""The SimPy core on hand-made inputs: conservation, windows, antennas, buffers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.links.transport import IdealTransport
from simulator.engine.simulation import (ContactWindow, NetworkInputs, SampleInputs,
                                         Simulation)


def make_samples(n, *, sats=1, offload=True, bytes_=1_000_000, onboard_s=1.0, ground_s=2.0,
                 capture=None, priority=None):
    capture = np.zeros(n) if capture is None else np.asarray(capture, float)
    return SampleInputs(satellite=np.arange(n) % sats, capture_s=capture,
                        onboard_s=np.full(n, onboard_s), offload=np.full(n, offload),
                        compress_s=np.zeros(n), bytes_sent=np.full(n, bytes_),
                        ground_s=np.full(n, ground_s), priority=priority)


class FunctionLink:
    """A capacity model from two functions (rate and piece length)."""

    name = "test"

    def __init__(self, rate, piece):
        self.rate_bps, self.piece_s = rate, piece

    def describe(self):
        return {"model": "test"}


def ideal(rate, piece):
    return IdealTransport(FunctionLink(lambda s, g, t: rate, lambda s, g, t: piece))


def make_network(windows, *, rate_bps=8e6, antennas=(1,), gpus=(1,), horizon=math.inf,
                 capacity=math.inf, priority=False, piece=math.inf, slots=1):
    return NetworkInputs(windows=windows, antennas=list(antennas), gpus=list(gpus),
                         transport=ideal(rate_bps, piece),
                         propagation_s=lambda s, g, t: 0.002, slots=slots,
                         buffer_capacity_bytes=capacity, priority_buffer=priority,
                         horizon_s=horizon)


def test_onboard_fifo_queue_and_status():
    samples = make_samples(3, offload=False, onboard_s=10.0, capture=[0, 1, 2])
    out = Simulation(samples, make_network([[]], horizon=100)).run()
    assert list(out.status) == ["onboard"] * 3
    assert out.onboard_start_s.tolist() == [0, 10, 20]
    assert out.done_s.tolist() == [10, 20, 30]


def test_two_slots_serve_in_parallel():
    samples = make_samples(4, offload=False, onboard_s=10.0)
    out = Simulation(samples, make_network([[]], slots=2)).run()
    assert sorted(out.done_s.tolist()) == [10, 10, 20, 20]


def test_transfer_waits_for_window_and_resumes_in_the_next():
    # 1 MB at 8 Mbit/s = 1 s; windows of 0.6 s force a split over two windows.
    samples = make_samples(1, onboard_s=0.0)
    wins = [[ContactWindow(5.0, 5.6, 0), ContactWindow(10.0, 20.0, 0)]]
    out = Simulation(samples, make_network(wins)).run()
    assert out.status[0] == "ground"
    assert out.tx_start_s[0] == pytest.approx(5.0)
    assert out.tx_end_s[0] == pytest.approx(10.4)
    assert out.tx_s[0] == pytest.approx(1.0)
    assert out.tx_pieces[0] == 2
    # Waiting: 5 s before the first window and 4.4 s between the windows.
    assert out.wait_contact_s[0] == pytest.approx(9.4)
    assert out.done_s[0] == pytest.approx(10.4 + 0.002 + 2.0)


def test_nothing_moves_without_windows_and_sample_stays_unfinished():
    samples = make_samples(2, onboard_s=0.0)
    out = Simulation(samples, make_network([[]], horizon=1000)).run()
    assert list(out.status) == ["unfinished", "unfinished"]
    assert len(out.transmissions) == 0


def test_buffer_overflow_is_dropped_and_counted():
    samples = make_samples(3, onboard_s=0.0, bytes_=600)
    out = Simulation(samples, make_network([[ContactWindow(100, 200, 0)]], capacity=1000)).run()
    assert sorted(out.status) == ["dropped", "dropped", "ground"]
    assert out.dropped_bytes == 1200


def test_priority_buffer_sends_smallest_priority_first():
    samples = make_samples(3, onboard_s=0.0, priority=np.array([3.0, 1.0, 2.0]))
    out = Simulation(samples, make_network([[ContactWindow(10, 100, 0)]], priority=True)).run()
    assert np.argsort(out.tx_end_s).tolist() == [1, 2, 0]


def test_antenna_is_never_shared():
    # Two satellites see the same single-antenna station at the same time.
    samples = make_samples(4, sats=2, onboard_s=0.0)
    wins = [[ContactWindow(0, 100, 0)], [ContactWindow(0, 100, 0)]]
    out = Simulation(samples, make_network(wins)).run()
    pieces = sorted(out.transmissions, key=lambda p: p[3])
    for a, b in zip(pieces, pieces[1:]):
        assert b[3] >= a[4] - 1e-9
    assert set(out.status) == {"ground"}
    # With two antennas the satellites transmit at the same time.
    out2 = Simulation(make_samples(4, sats=2, onboard_s=0.0),
                      make_network(wins, antennas=(2,))).run()
    assert max(out2.tx_end_s) < max(out.tx_end_s)


def test_ground_gpu_queue():
    samples = make_samples(2, onboard_s=0.0, ground_s=50.0, bytes_=1)
    out = Simulation(samples, make_network([[ContactWindow(0, 100, 0)]])).run()
    assert out.ground_start_s[1] == pytest.approx(out.ground_end_s[0])


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 40), sats=st.integers(1, 4), seed=st.integers(0, 10_000),
       rate=st.floats(1e5, 1e8), piece=st.sampled_from([math.inf, 0.7, 3.0]),
       antennas=st.integers(1, 2), horizon=st.floats(50, 2000))
def test_conservation(n, sats, seed, rate, piece, antennas, horizon):
    rng = np.random.default_rng(seed)
    windows = []
    for _ in range(sats):
        t, w = 0.0, []
        while t < horizon:
            rise = t + rng.uniform(1, 100)
            w.append(ContactWindow(rise, rise + rng.uniform(0.5, 60), int(rng.integers(0, 2))))
            t = w[-1].set_s
        windows.append(w)
    samples = SampleInputs(
        satellite=rng.integers(0, sats, n), capture_s=rng.uniform(0, horizon / 2, n),
        onboard_s=rng.uniform(0, 5, n), offload=rng.random(n) < 0.7,
        compress_s=rng.uniform(0, 1, n), bytes_sent=rng.integers(1, 5_000_000, n),
        ground_s=rng.uniform(0, 3, n))
    net = NetworkInputs(windows=windows, antennas=[antennas, 1], gpus=[1, 2],
                        transport=ideal(rate, piece),
                        propagation_s=lambda s, g, t: 0.003, buffer_capacity_bytes=2e7,
                        horizon_s=horizon)
    out = Simulation(samples, net).run()
    # every sample ends in exactly one place
    assert set(out.status) <= {"onboard", "ground", "dropped", "unfinished"}
    assert all(out.status[~samples.offload] != "ground")
    assert all(out.status[samples.offload] != "onboard")
    # transmissions happen only inside a window of that satellite at that station
    per_station_busy = {}
    sent = np.zeros(n)
    for i, sat, station, t0, t1, b in out.transmissions:
        assert any(w.station == station and w.rise_s - 1e-9 <= t0 and t1 <= w.set_s + 1e-9
                   for w in windows[sat])
        assert b <= rate * (t1 - t0) / 8 + 1e-6
        sent[i] += b
        per_station_busy.setdefault(station, []).append((t0, t1))
    # a finished transfer moved exactly the sample's bytes; nothing more ever
    done = ~np.isnan(out.tx_end_s)
    assert np.allclose(sent[done], samples.bytes_sent[done])
    assert np.all(sent <= samples.bytes_sent + 1e-6)
    # never more simultaneous transfers at a station than antennas
    caps = {0: antennas, 1: 1}
    for station, spans in per_station_busy.items():
        events = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans],
                        key=lambda e: (e[0], e[1]))
        level = 0
        for _, d in events:
            level += d
            assert level <= caps[station]
    # finished samples finish within the horizon, latencies add up
    fin = out.status == "ground"
    assert np.all(out.done_s[fin] <= horizon + 1e-9)
    assert np.all(out.wait_contact_s >= 0) and np.all(out.buffer_queue_s >= 0)
    in_buffer = out.tx_end_s[fin] - out.onboard_end_s[fin]
    parts = out.wait_contact_s[fin] + out.buffer_queue_s[fin] + out.tx_s[fin]
    assert np.allclose(in_buffer, parts, atol=1e-6)
