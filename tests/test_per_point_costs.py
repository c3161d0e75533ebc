"""What a sweep point no longer recomputes gives what the computation gave."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import numpy as np
import pytest

from simulator.inference.synthetic import _box_strings
from simulator.orbits import constellations
from simulator.orbits.constellations import load_constellation, select_orbits
from simulator.orbits.epochs import microseconds
from simulator.orbits.tle import load_catalog


@pytest.mark.parametrize("start", [datetime(2026, 6, 14, tzinfo=timezone.utc),
                                   datetime(2026, 7, 1, 3, 17, 5, 123457, tzinfo=timezone.utc),
                                   datetime(2020, 1, 1, tzinfo=timezone.utc)])
def test_epoch_ages_in_arrays_equal_timedelta_arithmetic(start):
    catalog = load_catalog("starlink@2026-06-14")
    old = np.array([(start - e.epoch).total_seconds() / 86400.0 for e in catalog.elements])
    new = (microseconds(start) - catalog.epoch_microseconds()).astype(float) / 1e6 / 86400.0
    np.testing.assert_array_equal(new, old)


def test_shell_members_cached_equal_select_orbits():
    const = load_constellation("starlink@2026-06-14")
    select = SimpleNamespace(altitude_km=570.0, tolerance_km=20.0, inclination_deg=None,
                             inclination_tolerance_deg=0.5)
    first = constellations._shell_members(const, select)
    again = constellations._shell_members(const, select)
    assert [o.name for o in first] == [o.name for o in again]
    for strategy in ("first", "spread"):
        want = select_orbits(const.orbits, count=10, altitude_km=570.0, strategy=strategy)
        got = select_orbits(first, count=10, strategy=strategy)
        assert [o.name for o in got] == [o.name for o in want]
    want = select_orbits(const.orbits, count=10, altitude_km=570.0, strategy="random",
                         rng=np.random.default_rng(3))
    got = select_orbits(first, count=10, strategy="random", rng=np.random.default_rng(3))
    assert [o.name for o in got] == [o.name for o in want]


def test_box_strings_equal_per_value_formatting():
    rng = np.random.default_rng(0)
    boxes = np.round(rng.uniform(-1, 2, (500, 4)), 6)
    boxes[0] = [-0.0, 1e-9, np.nan, np.inf]
    want = [f"[{a:.6f}, {b:.6f}, {c:.6f}, {d:.6f}]" for a, b, c, d in boxes]
    assert _box_strings(boxes) == want
    assert _box_strings(np.zeros((0, 4))) == []
