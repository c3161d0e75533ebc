"""Contact windows held as arrays give what the window objects gave: the engine's lists,
the first contact of each sample, and the slant-range table."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from simulator.engine.service import first_contact
from simulator.engine.windows import WindowArrays, window_arrays, windows_by_satellite
from simulator.orbits import geometry
from simulator.orbits.geometry import RangeTable, _PairBlocks


def _table(n=3000, sats=25, stations=6, seed=1):
    rng = np.random.default_rng(seed)
    rise = np.round(rng.uniform(0, 86400, n), 0)            # many equal rise times
    return (pd.DataFrame({
        "satellite": pd.array([f"S{i}" for i in rng.integers(0, sats, n)], dtype="str"),
        "station": pd.array([f"G{j}" for j in rng.integers(0, stations, n)], dtype="str"),
        "rise_s": rise, "set_s": rise + np.round(rng.uniform(60, 600, n), 0)}),
        [SimpleNamespace(name=f"S{i}") for i in range(sats + 2)],   # two without windows
        [SimpleNamespace(name=f"G{j}") for j in range(stations)])


def _tuples(lists):
    return [[(w.rise_s, w.set_s, w.station) for w in ws] for ws in lists]


def test_arrays_read_like_the_lists():
    table, sats, stations = _table()
    arrays = window_arrays(table, sats, stations)
    lists = windows_by_satellite(table, sats, stations)
    assert len(arrays) == len(lists) == len(sats)
    assert _tuples(arrays) == _tuples(lists)
    assert _tuples([arrays[k] for k in range(len(sats))]) == _tuples(lists)
    assert _tuples([arrays[-1]]) == _tuples([lists[-1]]) == [[]]
    with pytest.raises(IndexError):
        arrays[len(sats)]
    for horizon in (0.0, 30000.0, 1e9):
        assert _tuples(arrays.lists(before=horizon)) == _tuples(
            [[w for w in ws if w.rise_s < horizon] for ws in lists])
    sat, st, rise, set_ = arrays.arrays
    flat = [(k, w.station, w.rise_s, w.set_s) for k, ws in enumerate(lists) for w in ws]
    assert list(zip(sat.tolist(), st.tolist(), rise.tolist(), set_.tolist())) == flat
    rise_k, set_k, st_k = arrays.of(3)
    assert list(zip(rise_k.tolist(), set_k.tolist(), st_k.tolist())) == _tuples(lists)[3]


def test_no_contacts():
    _, sats, stations = _table()
    empty = window_arrays(pd.DataFrame(columns=["satellite", "station", "rise_s", "set_s"]),
                          sats, stations)
    assert len(empty) == len(sats) and _tuples(empty) == [[]] * len(sats)


def test_first_contact_from_arrays_equals_from_objects():
    table, sats, stations = _table(seed=2)
    # overlapping windows of one satellite with equal rises and different sets, out of order
    arrays = window_arrays(table, sats, stations)
    lists = arrays.lists()
    rng = np.random.default_rng(0)
    sat = rng.integers(0, len(sats), 4000)
    ready = rng.uniform(-100, 90000, 4000)
    got = first_contact(arrays, sat, ready)
    want = first_contact(lists, sat, ready)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_first_contact_sorts_equal_rises_by_set():
    arrays = WindowArrays(np.array([1, 0, 2]), np.array([10.0, 10.0, 50.0]),
                          np.array([40.0, 20.0, 60.0]), np.array([0, 3]))
    lists = arrays.lists()
    for t in (5.0, 10.0, 25.0, 45.0, 70.0):
        for got, want in zip(first_contact(arrays, [0], [t]), first_contact(lists, [0], [t])):
            np.testing.assert_array_equal(got, want)


class _FakeGeometry:
    """A slant range that is a smooth function of (satellite, station, time)."""

    def __init__(self, sats, stations):
        self.orbits, self.stations = list(range(sats)), list(range(stations))

    def range_km(self, sat, station, t):
        t = np.asarray(t, dtype=float)
        return 600.0 + 40.0 * sat + 7.0 * station + 500.0 * np.sin(t / 700.0 + sat)

    def range_km_many(self, sat, station, t):
        return self.range_km(np.asarray(sat), np.asarray(station), t)


def test_range_table_from_arrays_equals_from_objects(monkeypatch):
    table, sats, stations = _table(n=800, sats=12, stations=4, seed=3)
    arrays = window_arrays(table, sats, stations)
    fake = _FakeGeometry(len(sats), len(stations))
    rng = np.random.default_rng(5)
    q_sat = rng.integers(0, len(sats), 3000)
    q_st = rng.integers(0, len(stations), 3000)
    q_t = rng.uniform(0, 87000, 3000)
    want_table = RangeTable(fake, arrays.lists())
    want_table.prefetch(q_sat, q_st, q_t)
    want = want_table.range_km_many(q_sat, q_st, q_t)
    monkeypatch.setattr(geometry, "FILL_SAMPLES", 7)   # SGP4 in slices: the same values
    got_table = RangeTable(fake, arrays)
    got_table.prefetch(q_sat, q_st, q_t)
    np.testing.assert_array_equal(got_table.range_km_many(q_sat, q_st, q_t), want)
    scalar = [got_table.range_km(int(a), int(b), float(c)) for a, b, c in zip(q_sat, q_st, q_t)]
    np.testing.assert_array_equal(scalar, want)


def test_pair_blocks_read_like_a_dict():
    blocks = _PairBlocks(np.array([1, 5, 6]), np.array([0, 2, 7]), np.array([2, 7, 9]), 3)
    as_dict = {(0, 1): (0, 2), (1, 2): (2, 7), (2, 0): (7, 9)}
    assert len(blocks) == 3
    for sat in range(-1, 5):
        for st in range(-1, 4):
            assert blocks.get((sat, st)) == as_dict.get((sat, st))
    assert blocks[(1, 2)] == (2, 7)
    with pytest.raises(KeyError):
        blocks[(0, 0)]
