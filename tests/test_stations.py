"""Ground stations: catalog, inline specs, selection and WGS84 geometry."""

from __future__ import annotations

import doctest
import os
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from skyfield.api import wgs84

from simulator.errors import InputError
from simulator.orbits import stations
from simulator.orbits.stations import (
    GroundStation,
    load_station_catalog,
    networks,
    parse_station,
    resolve_stations,
    select_stations,
)

EO_NETWORKS = {"atlas": 11, "aws": 12, "dsn": 3, "ksat": 36, "leaf": 18,
               "nen": 18, "ssc": 10, "viasat": 9}
N_EO = 117
N_GATEWAYS = 222


@pytest.fixture(scope="module")
def catalog():
    return load_station_catalog()


# -- the packaged catalog ------------------------------------------------------

def test_catalog_counts(catalog):
    assert sum(EO_NETWORKS.values()) == N_EO
    counts = {net: sum(gs.network == net for gs in catalog) for net in networks(catalog)}
    assert counts == {**EO_NETWORKS, "starlink-gateway": N_GATEWAYS, "paper": 1}
    assert len(catalog) == N_EO + N_GATEWAYS + 1


def test_catalog_has_the_paper_station(catalog):
    (gs,) = select_stations(catalog, networks=["paper"])
    assert gs.name == "Shanghai"
    assert (gs.lat_deg, gs.lon_deg, gs.alt_m) == (31.2984, 121.5015, 10.0)
    assert gs.min_elevation_deg == 25.0
    assert gs.provider == "SpaceVerse authors (Fudan University)"


def test_catalog_names_unique_and_rows_valid(catalog):
    names = [gs.name.casefold() for gs in catalog]
    assert len(set(names)) == len(names)
    for gs in catalog:
        assert isinstance(gs, GroundStation)
        assert gs.name.strip() == gs.name != ""
        assert -90 <= gs.lat_deg <= 90 and -180 <= gs.lon_deg <= 180
        assert gs.antennas == 1
        expected_mask = 10.0 if gs.network in EO_NETWORKS else 25.0
        assert gs.min_elevation_deg == expected_mask
        assert np.isfinite(gs.itrs_km()).all()


def test_shared_names_are_disambiguated_by_network(catalog):
    names = {gs.name for gs in catalog}
    assert {"Svalbard (ksat)", "Svalbard (nen)"} <= names
    assert "Svalbard" not in names


def test_networks_sorted(catalog):
    assert networks(catalog) == ["atlas", "aws", "dsn", "ksat", "leaf", "nen", "paper",
                                 "ssc", "starlink-gateway", "viasat"]


# -- GroundStation -------------------------------------------------------------

@pytest.mark.parametrize("field, value", [
    ("lat_deg", 90.5), ("lat_deg", -91.0), ("lat_deg", math.nan),
    ("lon_deg", 360.0), ("lon_deg", -180.5),
    ("alt_m", -501.0), ("alt_m", 10001.0),
    ("min_elevation_deg", 90.0), ("min_elevation_deg", -6.0),
    ("antennas", 0), ("antennas", 1.5),
])
def test_ground_station_rejects_bad_fields(field, value):
    kwargs = dict(name="Somewhere", lat_deg=10.0, lon_deg=20.0)
    kwargs[field] = value
    with pytest.raises(InputError, match=rf"station 'Somewhere': {field} must be"):
        GroundStation(**kwargs)


def test_ground_station_rejects_empty_name():
    with pytest.raises(InputError, match="name must be a non-empty string"):
        GroundStation("  ", 0.0, 0.0)


def test_longitude_normalised():
    assert GroundStation("a", 0.0, 350.0).lon_deg == -10.0
    assert GroundStation("a", 0.0, 180.0).lon_deg == 180.0
    assert GroundStation("a", 0.0, -180.0).lon_deg == -180.0


def test_with_min_elevation_is_a_validated_copy():
    gs = GroundStation("a", 1.0, 2.0, min_elevation_deg=10.0)
    other = gs.with_min_elevation(25)
    assert other.min_elevation_deg == 25.0 and gs.min_elevation_deg == 10.0
    assert other.name == gs.name and other.lat_deg == gs.lat_deg
    with pytest.raises(InputError, match="station 'a': min_elevation_deg"):
        gs.with_min_elevation(95)


@settings(max_examples=60, deadline=None)
@given(lat=st.floats(-90, 90), lon=st.floats(-180, 180), alt=st.floats(-500, 10000))
def test_itrs_km_matches_skyfield(lat, lon, alt):
    ours = GroundStation("x", lat, lon, alt).itrs_km()
    theirs = wgs84.latlon(lat, lon, elevation_m=alt).itrs_xyz.km
    assert ours.shape == (3,)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(lat=st.floats(-90, 90), lon=st.floats(-180, 180))
def test_up_unit_is_the_ellipsoid_normal(lat, lon):
    gs = GroundStation("x", lat, lon)
    up = gs.up_unit()
    assert abs(np.linalg.norm(up) - 1.0) < 1e-12
    phi, lam = math.radians(lat), math.radians(lon)
    expected = [math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi)]
    np.testing.assert_allclose(up, expected, atol=1e-15)
    # Moving along "up" changes only the height: skyfield agrees.
    lifted = gs.itrs_km() + up * 1.0
    np.testing.assert_allclose(lifted, wgs84.latlon(lat, lon, 1000.0).itrs_xyz.km, atol=1e-9)


def test_up_unit_differs_from_geocentric_direction():
    gs = GroundStation("x", 45.0, 0.0)
    r = gs.itrs_km()
    angle = math.degrees(math.acos(np.dot(gs.up_unit(), r / np.linalg.norm(r))))
    assert 0.18 < angle < 0.20


# -- parse_station -------------------------------------------------------------

def test_parse_station_good():
    gs = parse_station("Svalbard:78.23:15.41")
    assert (gs.name, gs.lat_deg, gs.lon_deg, gs.alt_m) == ("Svalbard", 78.23, 15.41, 0.0)
    assert gs.network == "inline" and gs.min_elevation_deg == 10.0
    gs = parse_station(" McMurdo : -77.85 : -166.67 : 100 ", min_elevation_deg=5)
    assert (gs.name, gs.lat_deg, gs.lon_deg, gs.alt_m) == ("McMurdo", -77.85, -166.67, 100.0)
    assert gs.min_elevation_deg == 5.0


@pytest.mark.parametrize("spec, what", [
    ("Svalbard:78.2", "expected NAME:LAT:LON\\[:ALT_M\\], got 2 fields"),
    ("Svalbard", "got 1 fields"),
    ("a:1:2:3:4", "got 5 fields"),
    (":10:20", "NAME is empty"),
    ("X:north:20", "LAT must be a number"),
    ("X:10:east", "LON must be a number"),
    ("X:10:20:high", "ALT_M must be a number"),
    ("X:91:20", "lat_deg must be in \\[-90, 90\\]"),
    ("X:10:400", "lon_deg must be in"),
    ("X:10:20:20000", "alt_m must be in"),
])
def test_parse_station_bad(spec, what):
    with pytest.raises(InputError, match=what) as err:
        parse_station(spec)
    message = str(err.value)
    assert f"station {spec!r}" in message
    assert "\n" not in message


def test_parse_station_bad_mask():
    with pytest.raises(InputError, match="'X:1:2'.*min_elevation_deg"):
        parse_station("X:1:2", min_elevation_deg=90)


# -- selection -----------------------------------------------------------------

def test_select_by_name_is_case_insensitive(catalog):
    got = select_stations(catalog, names=["sHANGHAI", "svalbard (KSAT)"])
    # catalog order, not request order
    assert [gs.name for gs in got] == ["Svalbard (ksat)", "Shanghai"]


def test_select_by_network_and_dedup(catalog):
    ksat = select_stations(catalog, networks=["KSAT"])
    assert len(ksat) == EO_NETWORKS["ksat"]
    assert all(gs.network == "ksat" for gs in ksat)
    both = select_stations(catalog, names=["Svalbard (ksat)"], networks=["ksat", "paper"])
    assert len(both) == EO_NETWORKS["ksat"] + 1
    assert [c for c in catalog if c in both] == both
    assert select_stations(catalog) == []


def test_did_you_mean(catalog):
    with pytest.raises(InputError) as err:
        select_stations(catalog, names=["Svalbrd"])
    message = str(err.value)
    assert "station 'Svalbrd'" in message and "did you mean" in message
    assert "'Svalbard (ksat)'" in message and "'Svalbard (nen)'" in message


def test_network_name_used_as_station(catalog):
    with pytest.raises(InputError, match="did you mean 'network:ksat'"):
        select_stations(catalog, names=["ksat"])


def test_unknown_network_lists_known(catalog):
    with pytest.raises(InputError) as err:
        select_stations(catalog, networks=["starlink"])
    assert "network 'starlink'" in str(err.value)
    assert "ksat" in str(err.value) and "starlink-gateway" in str(err.value)


# -- resolve_stations ----------------------------------------------------------

def test_resolve_mixed_specs(catalog):
    got = resolve_stations(["Shanghai", "Home:48.1:11.6:520", "network:dsn", "shanghai"])
    assert [gs.name for gs in got][:2] == ["Shanghai", "Home"]
    assert len(got) == 2 + EO_NETWORKS["dsn"]
    assert got[1].alt_m == 520.0 and got[1].network == "inline"


def test_resolve_overrides_mask():
    got = resolve_stations(["Shanghai", "network:ksat", "X:1:2"], min_elevation_deg=40)
    assert {gs.min_elevation_deg for gs in got} == {40.0}
    assert resolve_stations(["Shanghai"])[0].min_elevation_deg == 25.0


def test_resolve_colon_in_catalog_name(catalog):
    colon_names = [gs.name for gs in catalog if ":" in gs.name]
    assert colon_names, "the packaged catalog has a gateway name with a colon"
    (gs,) = resolve_stations([colon_names[0]])
    assert gs.name == colon_names[0]


def test_resolve_errors():
    with pytest.raises(InputError, match="station 'X:1'"):
        resolve_stations(["X:1"])
    with pytest.raises(InputError, match="did you mean 'Shanghai'"):
        resolve_stations(["Shangai"])
    with pytest.raises(InputError, match="network 'nope'"):
        resolve_stations(["network:nope"])
    with pytest.raises(InputError, match="already used"):
        resolve_stations(["Shanghai", "shanghai:1:2"])


def test_resolve_inline_does_not_need_catalog(tmp_path):
    missing = tmp_path / "none.csv"
    assert len(resolve_stations(["A:1:2", "B:3:4"], catalog_path=missing)) == 2
    with pytest.raises(InputError, match="cannot read station catalog"):
        resolve_stations(["Shanghai"], catalog_path=missing)


# -- user catalogs -------------------------------------------------------------

def test_user_catalog_minimal_columns(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("name,lat_deg,lon_deg,extra\nAlpha,1.5,2.5,x\n\nBeta,-3,200,y\n")
    a, b = load_station_catalog(path)
    assert (a.name, a.alt_m, a.min_elevation_deg, a.antennas, a.network) == \
        ("Alpha", 0.0, 10.0, 1, "mine")
    assert b.lon_deg == -160.0
    assert resolve_stations(["network:mine"], catalog_path=path) == [a, b]


def test_user_catalog_all_columns(tmp_path):
    path = tmp_path / "full.csv"
    path.write_text("name,network,provider,lat_deg,lon_deg,alt_m,min_elevation_deg,"
                    "antennas,bands,status,source\n"
                    "G,net,Prov,1,2,30,15,4,Ka,Live,me\n")
    (g,) = load_station_catalog(path)
    assert g == GroundStation("G", 1.0, 2.0, 30.0, 15.0, 4, "net", "Prov")


@pytest.mark.parametrize("body, line, what", [
    ("name,lat_deg,lon_deg\nA,1,2\nB,95,2\n", 3, "lat_deg must be in"),
    ("name,lat_deg,lon_deg\nA,1,2\nB,x,2\n", 3, "lat_deg must be a number"),
    ("name,lat_deg,lon_deg\n,1,2\n", 2, "name must be a non-empty"),
    ("name,lat_deg,lon_deg,antennas\nA,1,2,two\n", 2, "antennas must be an integer"),
    ("name,lat_deg,lon_deg\nA,1,2\na,3,4\n", 3, "duplicate station name 'a' \\(first on line 2\\)"),
    ("name,lat,lon\nA,1,2\n", 1, "missing column\\(s\\) lat_deg, lon_deg"),
])
def test_user_catalog_errors(tmp_path, body, line, what):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    with pytest.raises(InputError, match=what) as err:
        load_station_catalog(path)
    assert str(err.value).startswith(f"{path}:{line}: ")


def test_doctests():
    result = doctest.testmod(stations)
    assert result.attempted > 0 and result.failed == 0


def test_user_catalog_line_numbers_count_blank_and_multiline_rows(tmp_path):
    path = tmp_path / "lines.csv"
    path.write_text('name,lat_deg,lon_deg,provider\nA,1,2,"two\nlines"\n\nB,1,999\n')
    with pytest.raises(InputError) as err:
        load_station_catalog(path)
    assert str(err.value).startswith(f"{path}:5: lon_deg must be in")


def test_user_catalog_too_many_fields(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("name,lat_deg,lon_deg\nA,1,2,3\n")
    with pytest.raises(InputError, match=r"wide.csv:2: 4 fields, but the header has 3"):
        load_station_catalog(path)


def test_a_station_catalogue_is_read_again_when_its_content_changes(tmp_path):
    """Parsed catalogues are kept per process by content: an edit is always seen."""
    from simulator.orbits.stations import load_station_catalog

    path = tmp_path / "mine.csv"
    path.write_text("name,lat_deg,lon_deg\nAlpha,10,20\n")
    first = load_station_catalog(path)
    assert [s.name for s in first] == ["Alpha"]
    assert load_station_catalog(path) == first
    stat = path.stat()
    path.write_text("name,lat_deg,lon_deg\nAlphb,10,21\n")   # same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))   # and the same mtime
    again = load_station_catalog(path)
    assert [(s.name, s.lon_deg) for s in again] == [("Alphb", 21.0)]
    again.append(None)                                          # a copy: the cache is intact
    assert len(load_station_catalog(path)) == 1
