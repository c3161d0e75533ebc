"""Statistics of contact-window tables, on hand-made tables with known answers."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.orbits import contact_stats
from simulator.orbits.contact_stats import (
    contact_fraction_by_altitude,
    overhead_pass_fraction,
    per_pair,
    per_satellite,
    per_station,
    visibility_half_angle,
)
from simulator.orbits.contacts import WINDOW_COLUMNS, find_contacts
from simulator.orbits.shells import WalkerShell
from simulator.orbits.stations import GroundStation


def windows(rows) -> pd.DataFrame:
    """A window table from ``(satellite, station, rise_s, set_s)`` tuples."""
    frame = pd.DataFrame(rows, columns=["satellite", "station", "rise_s", "set_s"])
    frame["rise_s"] = frame["rise_s"].astype(float)
    frame["set_s"] = frame["set_s"].astype(float)
    frame["duration_s"] = frame["set_s"] - frame["rise_s"]
    return frame


def empty_windows() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float if c.endswith("_s") else object)
                         for c in WINDOW_COLUMNS})


# ---------------------------------------------------------------------------
# per_pair


def test_per_pair_known_answers():
    # Rows deliberately out of order: the function must sort by rise time.
    table = windows([
        ("A", "S1", 1000, 1100),
        ("A", "S1", 0, 100),
        ("A", "S2", 50, 110),
        ("A", "S1", 300, 400),
        ("B", "S1", 200, 260),
    ])
    out = per_pair(table, 2000.0).set_index(["satellite", "station"])
    assert list(out.columns) == ["passes", "contact_s", "mean_pass_s", "contact_fraction",
                                 "mean_gap_s", "max_gap_s"]
    assert len(out) == 3

    a1 = out.loc[("A", "S1")]
    assert a1["passes"] == 3
    assert a1["contact_s"] == pytest.approx(300.0)
    assert a1["mean_pass_s"] == pytest.approx(100.0)
    assert a1["contact_fraction"] == pytest.approx(0.15)
    # gaps 100 -> 300 (200 s) and 400 -> 1000 (600 s)
    assert a1["mean_gap_s"] == pytest.approx(400.0)
    assert a1["max_gap_s"] == pytest.approx(600.0)

    a2 = out.loc[("A", "S2")]
    assert a2["passes"] == 1
    assert a2["contact_s"] == pytest.approx(60.0)
    assert a2["contact_fraction"] == pytest.approx(0.03)
    # a single pass has no gap
    assert math.isnan(a2["mean_gap_s"]) and math.isnan(a2["max_gap_s"])

    b1 = out.loc[("B", "S1")]
    assert b1["passes"] == 1
    assert b1["mean_pass_s"] == pytest.approx(60.0)


def test_per_pair_gaps_do_not_leak_between_pairs():
    # Satellite A's last S1 pass must not be paired with satellite B's first one.
    table = windows([("A", "S1", 0, 10), ("A", "S1", 100, 110), ("B", "S1", 5000, 5010)])
    out = per_pair(table, 10000.0).set_index(["satellite", "station"])
    assert out.loc[("A", "S1"), "max_gap_s"] == pytest.approx(90.0)
    assert math.isnan(out.loc[("B", "S1"), "max_gap_s"])


# ---------------------------------------------------------------------------
# per_satellite


def test_per_satellite_counts_overlapping_windows_once():
    table = windows([
        ("A", "S1", 0, 100),
        ("A", "S2", 50, 150),    # overlaps the S1 pass: union 0..150
        ("A", "S1", 300, 400),
        ("B", "S1", 10, 20),
        ("B", "S2", 20, 30),     # touches: union 10..30
        ("C", "S1", 0, 100),
        ("C", "S2", 10, 20),     # nested
    ])
    out = per_satellite(table, 1000.0).set_index("satellite")
    assert list(out.index) == ["A", "B", "C"]
    assert out.loc["A", "passes"] == 3
    assert out.loc["A", "contact_s"] == pytest.approx(250.0)
    assert out.loc["A", "contact_fraction"] == pytest.approx(0.25)
    assert out.loc["B", "contact_s"] == pytest.approx(20.0)
    assert out.loc["C", "contact_s"] == pytest.approx(100.0)
    assert out.loc["C", "passes"] == 2


# ---------------------------------------------------------------------------
# per_station


def test_per_station_coverage_and_mean_over_all_satellites():
    table = windows([
        ("A", "S1", 0, 100),
        ("B", "S1", 50, 150),
        ("A", "S1", 500, 600),
        ("C", "S2", 0, 40),
    ])
    out = per_station(table, 1000.0, n_satellites=5).set_index("station")
    assert list(out.columns) == ["passes", "satellites_seen", "mean_pass_s",
                                 "mean_sat_contact_fraction", "coverage_fraction"]
    s1 = out.loc["S1"]
    assert s1["passes"] == 3
    assert s1["satellites_seen"] == 2
    assert s1["mean_pass_s"] == pytest.approx(100.0)
    # 300 s of contact shared by all 5 satellites searched, not just the 2 seen
    assert s1["mean_sat_contact_fraction"] == pytest.approx(300.0 / (1000.0 * 5))
    # at least one satellite in view during 0..150 and 500..600
    assert s1["coverage_fraction"] == pytest.approx(0.25)
    s2 = out.loc["S2"]
    assert s2["passes"] == 1
    assert s2["coverage_fraction"] == pytest.approx(0.04)
    assert s2["mean_sat_contact_fraction"] == pytest.approx(40.0 / 5000.0)


# ---------------------------------------------------------------------------
# empty tables


@pytest.mark.parametrize("make", [
    lambda w: per_pair(w, 3600.0),
    lambda w: per_satellite(w, 3600.0),
    lambda w: per_station(w, 3600.0, 10),
], ids=["per_pair", "per_satellite", "per_station"])
def test_empty_table_gives_empty_summary_with_columns(make):
    out = make(empty_windows())
    assert len(out) == 0
    assert "contact_fraction" in out.columns or "coverage_fraction" in out.columns


def test_empty_summaries_have_the_usual_columns():
    empty = empty_windows()
    assert list(per_pair(empty, 60.0).columns) == list(
        per_pair(windows([("A", "S", 0, 1)]), 60.0).columns)
    assert list(per_satellite(empty, 60.0).columns) == ["satellite", "passes", "contact_s",
                                                       "contact_fraction"]
    assert list(per_station(empty, 60.0, 3).columns)[0] == "station"


# ---------------------------------------------------------------------------
# overhead pass fraction


def test_overhead_pass_fraction_paper_value():
    # The SpaceVerse paper quotes 4.33 % for 570 km and a 28 degree mask; the
    # spherical-Earth overhead pass gives 4.36 %.
    assert overhead_pass_fraction(570.0, 28.0) == pytest.approx(0.0437, abs=1e-4)
    assert overhead_pass_fraction(570.0, 28.0) == pytest.approx(0.04363, abs=1e-5)


@pytest.mark.parametrize("altitude, mask", [(570.0, 28.0), (400.0, 10.0), (1200.0, 40.0)])
def test_overhead_pass_fraction_matches_nadir_angle_geometry(altitude, mask):
    # Independent derivation: the nadir angle eta at the satellite obeys
    # sin(eta) = R cos(m) / (R + h), and lambda + eta + m = 90 degrees.
    r = contact_stats.EARTH_RADIUS_KM
    eta = math.degrees(math.asin(r * math.cos(math.radians(mask)) / (r + altitude)))
    expected = (90.0 - mask - eta) / 180.0
    assert overhead_pass_fraction(altitude, mask) == pytest.approx(expected, rel=1e-12)


def test_module_doctests():
    result = doctest.testmod(contact_stats)
    assert result.attempted > 0
    assert result.failed == 0


def test_overhead_pass_fraction_limits():
    # zero mask: the horizon half-angle acos(R / (R + h))
    r = contact_stats.EARTH_RADIUS_KM
    assert visibility_half_angle(550.0, 0.0) == pytest.approx(math.acos(r / (r + 550.0)))
    # a 90 degree mask leaves only the zenith point
    assert overhead_pass_fraction(550.0, 90.0) == pytest.approx(0.0, abs=1e-12)


def test_overhead_pass_fraction_is_monotone():
    altitudes = np.linspace(300.0, 2000.0, 35)
    masks = np.linspace(0.0, 80.0, 33)
    grid = np.array([[overhead_pass_fraction(a, m) for m in masks] for a in altitudes])
    assert np.all(grid > 0) and np.all(grid < 0.5)
    assert np.all(np.diff(grid, axis=0) > 0), "must grow with altitude"
    assert np.all(np.diff(grid, axis=1) < 0), "must shrink with the mask"


# ---------------------------------------------------------------------------
# properties of the union


_intervals = st.lists(
    st.tuples(st.integers(0, 1000), st.integers(1, 200), st.sampled_from(["S1", "S2", "S3"])),
    min_size=1, max_size=25)


@settings(max_examples=150, deadline=None)
@given(_intervals)
def test_per_satellite_union_bounds(intervals):
    table = windows([("A", station, rise, rise + length) for rise, length, station in intervals])
    duration = 1200.0  # every window ends by then
    out = per_satellite(table, duration)
    assert len(out) == 1
    union = out["contact_s"].iloc[0]
    assert union <= table["duration_s"].sum() + 1e-9
    assert union >= table["duration_s"].max() - 1e-9
    assert union <= duration
    assert out["contact_fraction"].iloc[0] == pytest.approx(union / duration)
    # integer end points: the union is the number of unit cells covered
    covered = set()
    for rise, length, _ in intervals:
        covered.update(range(rise, rise + length))
    assert union == pytest.approx(len(covered))


# ---------------------------------------------------------------------------
# contact fraction against altitude (synthetic Walker shells)


def test_contact_fraction_by_altitude_tiny_shell():
    station = GroundStation("Munich", 48.1, 11.6, min_elevation_deg=10.0)
    calls = []
    duration = 3 * 3600.0
    table = contact_fraction_by_altitude([500.0, 800.0], [station], inclination_deg=53.0,
                                         planes=2, per_plane=3, duration_s=duration,
                                         workers=1, progress=calls.append)
    documented = {"altitude_km", "satellites", "passes", "mean_contact_fraction",
                  "mean_pass_s", "passes_per_sat_day", "overhead_pass_fraction", "synthetic"}
    assert documented <= set(table.columns)
    assert len(table) == 2
    assert list(table["altitude_km"]) == [500.0, 800.0]
    assert list(table["satellites"]) == [6, 6]
    assert table["synthetic"].all()
    assert calls == [1, 1]
    # this station sees both shells within 3 hours
    assert (table["passes"] > 0).all()
    assert table["mean_contact_fraction"].between(0.0, 1.0, inclusive="neither").all()
    assert list(table["passes_per_sat_day"]) == pytest.approx(
        list(table["passes"] / 6 * 86400.0 / duration))
    assert list(table["overhead_pass_fraction"]) == pytest.approx(
        [overhead_pass_fraction(500.0, 10.0), overhead_pass_fraction(800.0, 10.0)])

    # The mean contact fraction is the per-satellite union averaged over the shell.
    shell = WalkerShell(altitude_km=500.0, inclination_deg=53.0, planes=2, sats_per_plane=3,
                        phasing=1)
    found = find_contacts(shell.satrecs(), [station], shell.epoch, duration, workers=1)
    expected = per_satellite(found, duration)["contact_s"].sum() / (duration * 6)
    assert table["mean_contact_fraction"].iloc[0] == pytest.approx(expected)
    assert table["passes"].iloc[0] == len(found)
    assert table["mean_pass_s"].iloc[0] == pytest.approx(found["duration_s"].mean())
    if "pass_fraction_of_period" in table:
        periods = [contact_stats.orbital_period_s(a) for a in table["altitude_km"]]
        assert list(table["pass_fraction_of_period"]) == pytest.approx(
            list(table["mean_pass_s"] / periods))
