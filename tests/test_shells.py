"""Synthetic Walker shells built with SGP4."""

from __future__ import annotations

import doctest
import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sgp4.api import WGS72, Satrec

from simulator.errors import InputError
from simulator.orbits import shells
from simulator.orbits.shells import (
    FIRST_SYNTHETIC_ID,
    R_EARTH_KM,
    WalkerShell,
    mean_motion_for_altitude,
    sgp4_mean_motion,
    walker_delta,
)

R_WGS84_KM = 6378.137


def state_at(sat: Satrec, minutes: float | np.ndarray):
    """TEME position and velocity (km, km/s) ``minutes`` after the satellite's epoch."""
    minutes = np.atleast_1d(np.asarray(minutes, dtype=float))
    jd = np.full_like(minutes, sat.jdsatepoch)
    fr = sat.jdsatepochF + minutes / 1440.0
    err, r, v = sat.sgp4_array(jd, fr)
    assert not err.any()
    return r, v


def mean_altitude(sat: Satrec, samples: int = 360) -> float:
    """Radius averaged over one orbit from epoch, less the WGS84 equatorial radius."""
    period_min = 2 * math.pi / sat.no_kozai
    r, _ = state_at(sat, np.linspace(0.0, period_min, samples, endpoint=False))
    return float(np.linalg.norm(r, axis=1).mean() - R_WGS84_KM)


def inclination_deg(r: np.ndarray, v: np.ndarray) -> float:
    """Inclination of the angular momentum vector ``r x v``."""
    h = np.cross(r, v)
    return math.degrees(math.acos(np.clip(h[2] / np.linalg.norm(h), -1, 1)))


def orbit_angles(r: np.ndarray, v: np.ndarray):
    """(inclination, RAAN, argument of latitude) in degrees from one state vector."""
    h = np.cross(r, v)
    inc = inclination_deg(r, v)
    node = np.cross([0.0, 0.0, 1.0], h)
    raan = math.degrees(math.atan2(node[1], node[0])) % 360
    cos_u = np.dot(node, r) / (np.linalg.norm(node) * np.linalg.norm(r))
    u = math.degrees(math.acos(np.clip(cos_u, -1, 1)))
    if r[2] < 0:
        u = 360 - u
    return inc, raan, u


def angle_diff(a: float, b: float) -> float:
    return abs((a - b + 180) % 360 - 180)


# -- structure -----------------------------------------------------------------

def test_size_names_and_ids():
    shell = walker_delta(550, 53, planes=6, sats_per_plane=4, phasing=2)
    assert shell.size == 24
    sats = shell.satrecs()
    assert len(sats) == 24
    names = [n for n, _, _ in sats]
    ids = [i for _, i, _ in sats]
    assert names[0] == "WALKER-550-P00-S00" and names[-1] == "WALKER-550-P05-S03"
    assert len(set(names)) == 24
    assert ids == list(range(FIRST_SYNTHETIC_ID, FIRST_SYNTHETIC_ID + 24))
    assert all(sat.satnum == i for _, i, sat in sats)
    custom = walker_delta(540.5, 53, 2, 3, name_prefix="GEN2", first_id=310000)
    assert custom.satrecs()[4][:2] == ("GEN2-540.5-P01-S01", 310004)


def test_epoch_is_the_shell_epoch():
    epoch = datetime(2025, 3, 1, 12, 30, tzinfo=timezone.utc)
    _, _, sat = walker_delta(550, 53, 1, 1, phasing=0, epoch=epoch).satrecs()[0]
    jd_expected = 2440587.5 + epoch.timestamp() / 86400.0
    assert abs(sat.jdsatepoch + sat.jdsatepochF - jd_expected) * 86400 < 1e-3


@pytest.mark.parametrize("pattern, spread", [("delta", 360.0), ("star", 180.0)])
def test_planes_and_phasing_from_positions(pattern, spread):
    P, S, F, inc, raan0 = 5, 4, 3, 53.0, 20.0
    shell = walker_delta(600, inc, P, S, phasing=F, raan0_deg=raan0, pattern=pattern)
    T = P * S
    for name, _, sat in shell.satrecs():
        p, s = int(name[-6:-4]), int(name[-2:])
        expected_raan = (raan0 + p * spread / P) % 360
        expected_u = (s * 360 / S + p * F * 360 / T) % 360
        # the mean elements, exactly
        assert angle_diff(math.degrees(sat.nodeo), expected_raan) < 1e-9
        assert angle_diff(math.degrees(sat.mo), expected_u) < 1e-9
        assert math.degrees(sat.argpo) == 0.0
        # the osculating state at epoch, to within SGP4's short-period terms
        r, v = state_at(sat, 0.0)
        got_inc, got_raan, got_u = orbit_angles(r[0], v[0])
        assert abs(got_inc - inc) < 0.05
        assert angle_diff(got_raan, expected_raan) < 0.1
        assert angle_diff(got_u, expected_u) < 0.25  # 2 e sin M with e ~ 1e-3 from J3
        # J3 gives SGP4 orbits a long-period eccentricity of ~1e-3: +-7 km
        assert abs(np.linalg.norm(r[0]) - (R_EARTH_KM + 600)) < 10.0


def test_phasing_offsets_between_planes():
    P, S, F = 4, 6, 1
    sats = walker_delta(550, 53, P, S, phasing=F).satrecs()
    first_in_plane = [math.degrees(sats[p * S][2].mo) for p in range(P)]
    np.testing.assert_allclose(np.diff(first_in_plane), F * 360 / (P * S))


# -- altitude ------------------------------------------------------------------

def test_two_body_mean_motion():
    n = mean_motion_for_altitude(550.0)
    period_min = 2 * math.pi / n
    a = R_EARTH_KM + 550
    assert abs(period_min - 2 * math.pi * math.sqrt(a**3 / 398600.8) / 60) < 1e-9
    assert 95.4 < period_min < 95.8


@pytest.mark.parametrize("altitude, inclination", [
    (300, 0.0), (340, 53.0), (550, 53.0), (570, 70.0), (560, 97.6), (1200, 87.9),
    (1150, 98.0), (8062, 0.0), (20200, 55.0),
])
def test_mean_altitude_matches_request(altitude, inclination):
    shell = walker_delta(altitude, inclination, 2, 2)
    for _, _, sat in shell.satrecs():
        assert abs(mean_altitude(sat) - altitude) < 2.0


@settings(max_examples=25, deadline=None)
@given(altitude=st.floats(300, 1200), inclination=st.floats(0, 98))
def test_mean_altitude_hypothesis(altitude, inclination):
    _, _, sat = walker_delta(altitude, inclination, 1, 1, phasing=0).satrecs()[0]
    assert abs(mean_altitude(sat) - altitude) < 2.0


def test_uncompensated_mean_motion_is_off_by_a_few_km():
    """Why sgp4_mean_motion exists: the two-body value misses at low inclination."""
    shell = walker_delta(550, 0.0, 1, 1, phasing=0)
    _, _, sat = shell.satrecs()[0]
    naive = Satrec()
    naive.sgp4init(WGS72, "i", 1, sat.jdsatepoch + sat.jdsatepochF - 2433281.5, 0.0, 0.0,
                   0.0, 0.0001, 0.0, 0.0, 0.0, mean_motion_for_altitude(550), 0.0)
    assert mean_altitude(naive) - 550 < -2.5
    assert sat.no_kozai == pytest.approx(sgp4_mean_motion(550, 0.0), rel=1e-10)


def test_inclination_from_angular_momentum():
    for inc in (0.0, 43.0, 53.0, 97.6, 140.0, 180.0):
        for _, _, sat in walker_delta(550, inc, 3, 2).satrecs():
            r, v = state_at(sat, [0.0, 17.0, 50.0])
            for k in range(3):
                assert abs(inclination_deg(r[k], v[k]) - inc) < 0.05


# -- TLE export ----------------------------------------------------------------

def test_element_lines_round_trip():
    shell = walker_delta(550, 53, 3, 4, phasing=1, bstar=2e-5, raan0_deg=350.0)
    lines = shell.element_lines()
    assert len(lines) == shell.size
    for (name, line1, line2), (name2, satnum, sat) in zip(lines, shell.satrecs()):
        assert name == name2
        assert len(line1) == len(line2) == 69
        for line in (line1, line2):
            digits = sum(int(c) for c in line[:68] if c.isdigit()) + line[:68].count("-")
            assert digits % 10 == int(line[68])
        back = Satrec.twoline2rv(line1, line2)
        assert back.satnum == satnum
        r0, _ = state_at(sat, 60.0)
        r1, _ = state_at(back, 60.0)
        assert np.linalg.norm(r0 - r1) < 1.0


# -- validation and keys -------------------------------------------------------

@pytest.mark.parametrize("kwargs, field", [
    (dict(altitude_km=100), "altitude_km"),
    (dict(altitude_km=50000), "altitude_km"),
    (dict(inclination_deg=-1), "inclination_deg"),
    (dict(inclination_deg=181), "inclination_deg"),
    (dict(planes=0), "planes"),
    (dict(planes=2.0), "planes"),
    (dict(sats_per_plane=0), "sats_per_plane"),
    (dict(phasing=3), "phasing"),
    (dict(phasing=-1), "phasing"),
    (dict(epoch=datetime(2026, 1, 1)), "epoch"),
    (dict(eccentricity=1.0), "eccentricity"),
    (dict(eccentricity=0.3), "eccentricity"),
    (dict(bstar=math.inf), "bstar"),
    (dict(name_prefix=""), "name_prefix"),
    (dict(pattern="rosette"), "pattern"),
    (dict(first_id=339990), "first_id"),
])
def test_invalid_parameters(kwargs, field):
    params = dict(altitude_km=550, inclination_deg=53, planes=3, sats_per_plane=4)
    params.update(kwargs)
    with pytest.raises(InputError, match=rf"^Walker shell: {field} must be") as err:
        WalkerShell(**params)
    assert "\n" not in str(err.value)


def test_content_key_is_stable_and_complete():
    a = walker_delta(550, 53, 72, 22)
    assert a.content_key() == walker_delta(550.0, 53.0, 72, 22).content_key()
    other_epoch = a.epoch + timedelta(seconds=1)
    variants = [
        walker_delta(551, 53, 72, 22), walker_delta(550, 53.1, 72, 22),
        walker_delta(550, 53, 72, 22, phasing=2), walker_delta(550, 53, 72, 22, pattern="star"),
        walker_delta(550, 53, 72, 22, epoch=other_epoch), walker_delta(550, 53, 72, 22, bstar=1e-5),
        walker_delta(550, 53, 72, 22, raan0_deg=1), walker_delta(550, 53, 72, 22, eccentricity=0),
        walker_delta(550, 53, 72, 22, name_prefix="X"), walker_delta(550, 53, 72, 22, first_id=1),
        walker_delta(550, 53, 22, 72),
    ]
    keys = {a.content_key()} | {v.content_key() for v in variants}
    assert len(keys) == len(variants) + 1
    assert all("\n" not in k for k in keys)
    # the same instant in another time zone is the same shell
    shifted = a.epoch.astimezone(timezone(timedelta(hours=8)))
    assert walker_delta(550, 53, 72, 22, epoch=shifted).content_key() == a.content_key()


def test_big_shell_is_quick():
    shell = walker_delta(550, 53, 72, 22)
    assert len(shell.satrecs()) == 1584


def test_doctests():
    result = doctest.testmod(shells)
    assert result.attempted > 0 and result.failed == 0
