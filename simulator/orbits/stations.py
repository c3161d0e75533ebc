"""Ground stations: where they are, and which ones a scenario uses.

A ground station is a point on the WGS84 ellipsoid plus an *elevation mask*:
the lowest angle above the horizon at which it can still talk to a satellite.
You can describe one inline, as ``NAME:LAT:LON[:ALT_M]``::

    >>> gs = parse_station("Svalbard:78.23:15.41:500")
    >>> gs.name, gs.lat_deg, gs.lon_deg, gs.alt_m, gs.min_elevation_deg
    ('Svalbard', 78.23, 15.41, 500.0, 10.0)

or pick stations from the packaged catalog (117 Earth-observation stations of
eight networks, 222 Starlink gateways from a 2023 community map, and the
paper's own station in Shanghai; see ``simulator/data/GROUND_STATIONS_PROVENANCE.md``)::

    >>> catalog = load_station_catalog()
    >>> [gs.name for gs in select_stations(catalog, names=["shanghai"])]
    ['Shanghai']
    >>> networks(catalog)[:3]
    ['atlas', 'aws', 'dsn']

:func:`resolve_stations` accepts a mix of both, as the command line does::

    >>> [gs.name for gs in resolve_stations(["Shanghai", "Home:48.1:11.6"])]
    ['Shanghai', 'Home']

Positions are Earth-fixed (ITRS, the frame Skyfield and the IERS call ECEF):
:meth:`GroundStation.itrs_km` gives the station's position vector and
:meth:`GroundStation.up_unit` its local zenith, which is all that an elevation
test ``asin(up . (r_sat - r_gs) / |r_sat - r_gs|) >= mask`` needs.

Names are unique in a catalog.  Where two providers use the same site name
(KSAT and NASA NEN both list "Svalbard") the packaged catalog calls them
``"Svalbard (ksat)"`` and ``"Svalbard (nen)"``; asking for plain ``"Svalbard"``
fails with a hint listing both.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import hashlib
import io
import logging
import math
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from simulator.errors import InputError
from simulator.paths import PACKAGE_DATA
from simulator.scenario_blocks import field, resolve_path

log = logging.getLogger(__name__)

#: The catalog shipped with the package.
DEFAULT_CATALOG = PACKAGE_DATA / "ground_stations.csv"

#: WGS84 equatorial radius (km) and inverse flattening.
WGS84_A_KM = 6378.137
WGS84_INVERSE_FLATTENING = 298.257223563
_ONE_MINUS_F_SQUARED = (1.0 - 1.0 / WGS84_INVERSE_FLATTENING) ** 2

_SPEC_FORMAT = "NAME:LAT:LON[:ALT_M]"
_NETWORK_PREFIX = "network:"
_REQUIRED_COLUMNS = ("name", "lat_deg", "lon_deg")
#: Longest station name accepted (the bundled catalog's longest is far shorter).
MAX_NAME_LENGTH = 200
#: Largest station catalog read (the bundled one is about 100 kB).
MAX_CATALOG_BYTES = 32 << 20


def _problem(name, lat_deg, lon_deg, alt_m, min_elevation_deg, antennas) -> str | None:
    """Say what is wrong with these station fields, or return ``None``.

    Written as ``not (lo <= x <= hi)`` so that NaN fails every check.
    """
    if not isinstance(name, str) or not name.strip():
        return f"name must be a non-empty string, got {name!r}"
    if len(name) > MAX_NAME_LENGTH:
        return f"name has {len(name)} characters; expected at most {MAX_NAME_LENGTH}"
    if any(unicodedata.category(c) == "Cc" for c in name):
        return f"name {name!r} contains control characters; expected printable text"
    if not -90.0 <= lat_deg <= 90.0:
        return f"lat_deg must be in [-90, 90] degrees, got {lat_deg!r}"
    if not -180.0 <= lon_deg < 360.0:
        return f"lon_deg must be in [-180, 360) degrees, got {lon_deg!r}"
    if not -500.0 <= alt_m <= 10000.0:
        return f"alt_m must be in [-500, 10000] metres, got {alt_m!r}"
    if not -5.0 <= min_elevation_deg < 90.0:
        return f"min_elevation_deg must be in [-5, 90) degrees, got {min_elevation_deg!r}"
    if isinstance(antennas, bool) or not isinstance(antennas, (int, np.integer)) or antennas < 1:
        return f"antennas must be an integer >= 1, got {antennas!r}"
    return None


@dataclass(frozen=True)
class GroundStation:
    """A ground station on the WGS84 ellipsoid.

    ``lat_deg`` is geodetic latitude, ``lon_deg`` east longitude (values in
    (180, 360) are folded to the western hemisphere, so 350 becomes -10),
    ``alt_m`` the height above the ellipsoid in metres.  A satellite is in view
    while its elevation is at least ``min_elevation_deg``; ``antennas`` is how
    many satellites the station can serve at once.  Bad values raise
    :class:`~simulator.errors.InputError` naming the station and the field.

    >>> GroundStation("Kiruna", 67.86, 350.0).lon_deg
    -10.0
    """

    name: str
    lat_deg: float
    lon_deg: float
    alt_m: float = 0.0
    min_elevation_deg: float = 10.0
    antennas: int = 1
    network: str = "inline"
    provider: str = ""

    def __post_init__(self) -> None:
        problem = _problem(self.name, self.lat_deg, self.lon_deg, self.alt_m,
                           self.min_elevation_deg, self.antennas)
        if problem:
            raise InputError(f"station {self.name!r}: {problem}")
        lon = float(self.lon_deg)
        if lon > 180.0:
            lon -= 360.0
        object.__setattr__(self, "lat_deg", float(self.lat_deg))
        object.__setattr__(self, "lon_deg", lon)
        object.__setattr__(self, "alt_m", float(self.alt_m))
        object.__setattr__(self, "min_elevation_deg", float(self.min_elevation_deg))
        object.__setattr__(self, "antennas", int(self.antennas))

    def itrs_km(self) -> np.ndarray:
        """Earth-fixed (ITRS/ECEF) position in km, shape ``(3,)``.

        The standard geodetic-to-Cartesian formulas: with prime-vertical
        radius of curvature ``N = a / sqrt(1 - e^2 sin^2(lat))``, the point
        lies at ``((N + h) cos lat cos lon, (N + h) cos lat sin lon,
        (N (1 - e^2) + h) sin lat)``.  ``1 - e^2`` equals ``(1 - f)^2``.

        >>> GroundStation("Null Island", 0.0, 0.0).itrs_km()
        array([6378.137,    0.   ,    0.   ])
        """
        lat = math.radians(self.lat_deg)
        lon = math.radians(self.lon_deg)
        h = self.alt_m / 1000.0
        sin_lat, cos_lat = math.sin(lat), math.cos(lat)
        n = WGS84_A_KM / math.sqrt(cos_lat * cos_lat + sin_lat * sin_lat * _ONE_MINUS_F_SQUARED)
        xy = (n + h) * cos_lat
        z = (n * _ONE_MINUS_F_SQUARED + h) * sin_lat
        return np.array([xy * math.cos(lon), xy * math.sin(lon), z])

    def up_unit(self) -> np.ndarray:
        """Unit vector of the local zenith (the ellipsoid normal), in ITRS.

        It points along geodetic latitude, not from the Earth's centre; the two
        differ by up to 0.19 degrees at mid latitudes.
        """
        lat = math.radians(self.lat_deg)
        lon = math.radians(self.lon_deg)
        cos_lat = math.cos(lat)
        return np.array([cos_lat * math.cos(lon), cos_lat * math.sin(lon), math.sin(lat)])

    def with_min_elevation(self, deg: float) -> "GroundStation":
        """A copy of this station with another elevation mask."""
        return dataclasses.replace(self, min_elevation_deg=deg)


def _float(text: str, what: str, where: str, expected: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise InputError(f"{where}: {what} must be {expected}, got {text!r}") from None
    return value


def parse_station(spec: str, *, min_elevation_deg: float | None = None) -> GroundStation:
    """Parse an inline station ``NAME:LAT:LON[:ALT_M]``.

    Latitude and longitude are decimal degrees (south and west negative), the
    optional altitude is in metres above the WGS84 ellipsoid.  The elevation
    mask is ``min_elevation_deg`` when given, else the class default.

    >>> parse_station("Cape Town:-33.92:18.42").lat_deg
    -33.92
    >>> parse_station("Svalbard:78.2")
    Traceback (most recent call last):
    ...
    simulator.errors.InputError: station 'Svalbard:78.2': expected NAME:LAT:LON[:ALT_M], got 2 fields
    """
    where = f"station {spec!r}"
    if not isinstance(spec, str):
        raise InputError(f"{where}: expected a string {_SPEC_FORMAT}")
    fields = [f.strip() for f in spec.split(":")]
    if len(fields) not in (3, 4):
        raise InputError(f"{where}: expected {_SPEC_FORMAT}, got {len(fields)} fields")
    name = fields[0]
    if not name:
        raise InputError(f"{where}: NAME is empty; expected {_SPEC_FORMAT}")
    lat = _float(fields[1], "LAT", where, "a number in decimal degrees")
    lon = _float(fields[2], "LON", where, "a number in decimal degrees")
    alt = _float(fields[3], "ALT_M", where, "a number in metres") if len(fields) == 4 else 0.0
    kwargs = {}
    if min_elevation_deg is not None:
        kwargs["min_elevation_deg"] = min_elevation_deg
    mask = kwargs.get("min_elevation_deg", GroundStation.min_elevation_deg)
    problem = _problem(name, lat, lon, alt, mask, 1)
    if problem:
        raise InputError(f"{where}: {problem}")
    return GroundStation(name, lat, lon, alt, **kwargs)


def load_station_catalog(path: str | Path | None = None) -> list[GroundStation]:
    """Read a ground-station catalog (CSV); by default the packaged one.

    Columns are ``name, network, provider, lat_deg, lon_deg, alt_m,
    min_elevation_deg, antennas, bands, status, source``.  Only ``name``,
    ``lat_deg`` and ``lon_deg`` are required; empty or missing cells take the
    :class:`GroundStation` defaults (``network`` defaults to the file's stem).
    Unknown columns are ignored.  Names must be unique, case-insensitively.
    Errors name the file and line: ``my.csv:7: lat_deg must be ...``.
    """
    path = Path(path) if path is not None else DEFAULT_CATALOG
    try:
        if path.is_dir():
            raise InputError(f"{path}: is a folder, expected a station catalog (CSV file)")
        with path.open("rb") as raw:
            data = raw.read(MAX_CATALOG_BYTES + 1)
    except OSError as exc:
        raise InputError(f"{path}: cannot read station catalog ({exc.strerror or exc})") from None
    if len(data) > MAX_CATALOG_BYTES:
        raise InputError(f"{path}: station catalog larger than {MAX_CATALOG_BYTES >> 20} MiB; "
                         "expected a CSV of ground stations")
    key = (str(path), hashlib.sha256(data).hexdigest())
    if key not in _STATION_CATALOGS:
        stations = _parse_station_catalog(data, path)
        _STATION_CATALOGS.clear()          # one catalogue kept: the last one read
        _STATION_CATALOGS[key] = tuple(stations)
    return list(_STATION_CATALOGS[key])


#: The last station catalogue parsed in this process (stations are frozen), by path and
#: content: every point of a sweep reads the same catalogue.
_STATION_CATALOGS: dict[tuple, tuple] = {}


def _parse_station_catalog(data: bytes, path: Path) -> list[GroundStation]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); "
                         "save the catalog as UTF-8 CSV") from None
    if "\0" in text:
        line = text.count("\n", 0, text.index("\0")) + 1
        raise InputError(f"{path}:{line}: NUL byte; expected a text CSV of ground stations")
    handle = io.StringIO(text, newline="")
    try:
        return _read_station_rows(handle, path)
    except csv.Error as exc:
        raise InputError(f"{path}:{_csv_line(handle, text)}: not a valid CSV ({exc})") from None


def _csv_line(handle: io.StringIO, text: str) -> int:
    """The line the CSV reader stopped at (for an error message)."""
    return text.count("\n", 0, handle.tell()) + 1


def _read_station_rows(handle, path: Path) -> list[GroundStation]:
    stations: list[GroundStation] = []
    first_line: dict[str, int] = {}
    reader = csv.reader(handle)
    header = [h.strip() for h in next(reader, [])]
    missing = [c for c in _REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InputError(f"{path}:1: missing column(s) {', '.join(missing)}; "
                         f"expected a header with at least {','.join(_REQUIRED_COLUMNS)}")
    line = reader.line_num
    for cells in reader:
        # a quoted cell may span lines: the record starts after the last one
        start, line = line + 1, reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            raise InputError(f"{path}:{start}: {len(cells)} fields, but the header "
                             f"has {len(header)}; expected one field per column")
        row = {k: v.strip() for k, v in zip(header, cells)}
        where = f"{path}:{start}"
        station = _station_from_row(row, where, default_network=path.stem)
        key = station.name.casefold()
        if key in first_line:
            raise InputError(f"{where}: duplicate station name {station.name!r} "
                             f"(first on line {first_line[key]})")
        first_line[key] = start
        stations.append(station)
    log.debug("loaded %d ground stations from %s", len(stations), path)
    return stations


def _station_from_row(row: dict[str, str], where: str, default_network: str) -> GroundStation:
    name = row.get("name", "")
    lat = _float(row.get("lat_deg", ""), "lat_deg", where, "a number in decimal degrees")
    lon = _float(row.get("lon_deg", ""), "lon_deg", where, "a number in decimal degrees")
    alt = _float(row.get("alt_m") or "0", "alt_m", where, "a number in metres")
    mask = _float(row.get("min_elevation_deg") or repr(GroundStation.min_elevation_deg),
                  "min_elevation_deg", where, "a number in degrees")
    antennas_text = row.get("antennas") or "1"
    try:
        antennas = int(antennas_text)
    except ValueError:
        raise InputError(f"{where}: antennas must be an integer >= 1, "
                         f"got {antennas_text!r}") from None
    problem = _problem(name, lat, lon, alt, mask, antennas)
    if problem:
        raise InputError(f"{where}: {problem}")
    return GroundStation(name=name, lat_deg=lat, lon_deg=lon, alt_m=alt,
                         min_elevation_deg=mask, antennas=antennas,
                         network=row.get("network") or default_network,
                         provider=row.get("provider", ""))


def networks(catalog: Iterable[GroundStation]) -> list[str]:
    """The network names used in ``catalog``, sorted."""
    return _network_names(catalog)


def _network_names(catalog: Iterable[GroundStation]) -> list[str]:
    # select_stations() has a parameter called ``networks``; it calls this one.
    return sorted({gs.network for gs in catalog})


_SUFFIX = re.compile(r"\s*\([^()]*\)\s*$")


def _suggestions(word: str, catalog: Sequence[GroundStation], n: int = 5) -> list[str]:
    """Catalog names close to ``word``, best first.

    ``"Svalbard (ksat)"`` is also compared under its base name ``"Svalbard"``,
    and only names scoring nearly as well as the best one are kept.
    """
    matcher = difflib.SequenceMatcher()
    matcher.set_seq2(word.casefold())
    scored = []
    for gs in catalog:
        best = 0.0
        for candidate in {gs.name, _SUFFIX.sub("", gs.name)}:
            matcher.set_seq1(candidate.casefold())
            if matcher.real_quick_ratio() >= 0.6 and matcher.quick_ratio() >= 0.6:
                best = max(best, matcher.ratio())
        if best >= 0.6:
            scored.append((-best, gs.name))
    scored.sort()
    if not scored:
        return []
    cutoff = -scored[0][0] - 0.15  # only the names about as close as the best one
    return [name for score, name in scored[:n] if -score >= cutoff]


def _unknown_station(name: str, catalog: Sequence[GroundStation]) -> InputError:
    if name.strip().casefold() in {gs.network.casefold() for gs in catalog}:
        return InputError(f"station {name!r}: not in the catalog, but it is a network; "
                          f"did you mean 'network:{name.strip()}'?")
    hints = _suggestions(name, catalog)
    if hints:
        return InputError(f"station {name!r}: not in the catalog; did you mean "
                          + ", ".join(repr(h) for h in hints) + "?")
    return InputError(f"station {name!r}: not in the catalog ({len(catalog)} stations); "
                      f"expected a catalog name, NAME:LAT:LON[:ALT_M] or network:<name>")


def select_stations(catalog: Sequence[GroundStation], names: Sequence[str] = (),
                    networks: Sequence[str] = ()) -> list[GroundStation]:
    """Pick stations from ``catalog`` by name and by network.

    Names match exactly but case-insensitively; a network (``"ksat"``,
    ``"starlink-gateway"``, ``"paper"``) brings all of its stations.  The result
    keeps catalog order and lists each station once; asking for nothing gives
    an empty list.  An unknown name raises :class:`InputError` with the closest
    catalog names, an unknown network one listing the known networks.

    >>> catalog = load_station_catalog()
    >>> select_stations(catalog, names=["Svalbrd"])
    Traceback (most recent call last):
    ...
    simulator.errors.InputError: station 'Svalbrd': not in the catalog; did you mean 'Svalbard (ksat)', 'Svalbard (nen)'?
    """
    if isinstance(names, str) or isinstance(networks, str):
        raise TypeError("names and networks must be sequences of strings, not a string")
    by_name = {gs.name.casefold(): gs for gs in catalog}
    known_networks = {gs.network.casefold() for gs in catalog}
    wanted_ids: set[int] = set()
    for name in names:
        gs = by_name.get(name.strip().casefold())
        if gs is None:
            raise _unknown_station(name, catalog)
        wanted_ids.add(id(gs))
    wanted_networks = set()
    for net in networks:
        key = net.strip().casefold()
        if key not in known_networks:
            raise InputError(f"network {net!r}: not in the catalog; known networks: "
                             + (", ".join(_network_names(catalog)) or "(none)"))
        wanted_networks.add(key)
    return [gs for gs in catalog
            if id(gs) in wanted_ids or gs.network.casefold() in wanted_networks]


def resolve_stations(specs: Sequence[str], *, catalog_path: str | Path | None = None,
                     min_elevation_deg: float | None = None) -> list[GroundStation]:
    """Turn command-line station specs into stations.

    Each spec is one of

    * ``NAME:LAT:LON[:ALT_M]`` -- an inline station (see :func:`parse_station`);
    * ``network:<net>`` -- every catalog station of that network;
    * a catalog station name (case-insensitive).

    A spec containing ``:`` that does not parse as coordinates is still looked
    up as a catalog name (some gateway names contain a colon).  The catalog
    (``catalog_path``, default the packaged one) is only read when needed.
    ``min_elevation_deg``, when given, replaces every station's own mask.  The
    result follows the order of ``specs``; a station named twice appears once,
    but two *different* stations with the same name raise :class:`InputError`.
    """
    if isinstance(specs, str):
        raise TypeError("specs must be a sequence of strings, not a string")
    catalog: list[GroundStation] | None = None

    def get_catalog() -> list[GroundStation]:
        nonlocal catalog
        if catalog is None:
            catalog = load_station_catalog(catalog_path)
        return catalog

    result: dict[str, GroundStation] = {}
    for spec in specs:
        text = spec.strip()
        if text.casefold().startswith(_NETWORK_PREFIX):
            net = text[len(_NETWORK_PREFIX):].strip()
            found = select_stations(get_catalog(), networks=[net])
        elif ":" in text:
            try:
                found = [parse_station(text)]
            except InputError:
                found = [gs for gs in get_catalog() if gs.name.casefold() == text.casefold()]
                if not found:
                    raise
        else:
            found = select_stations(get_catalog(), names=[text])
        for gs in found:
            key = gs.name.casefold()
            if key in result and result[key] != gs:
                raise InputError(f"station {spec!r}: the name {gs.name!r} is already used by "
                                 "another station; expected unique station names")
            result.setdefault(key, gs)
    stations = list(result.values())
    if min_elevation_deg is not None:
        stations = [gs.with_min_elevation(min_elevation_deg) for gs in stations]
    return stations


def stations_from_scenario(scenario) -> list[GroundStation]:
    """The scenario's ``ground_stations`` (with ``stations_catalog``), in the order listed.

    An inline station is checked as written; a catalog name or ``network`` is looked
    up, then its mask and antennas replaced where the scenario gives them.  Errors
    read ``FILE:LINE: ground_stations[k]...: message``; a station listed twice is one.
    """
    catalog_path = (resolve_path(scenario.stations_catalog, scenario)
                    if scenario.stations_catalog else None)
    out: list[GroundStation] = []
    for k, spec in enumerate(scenario.ground_stations):
        where = f"ground_stations[{k}]"
        if spec.lat_deg is not None:
            with field(scenario, where):
                found = [GroundStation(spec.name, spec.lat_deg, spec.lon_deg, spec.alt_m or 0.0,
                                       min_elevation_deg=(spec.min_elevation_deg
                                                          if spec.min_elevation_deg is not None
                                                          else 10.0),
                                       antennas=spec.antennas or 1)]
        else:
            key = f"network:{spec.network}" if spec.network else spec.name
            with field(scenario, where + (".network" if spec.network else ".name")):
                found = resolve_stations([key], catalog_path=catalog_path)
            changes = {}
            if spec.min_elevation_deg is not None:
                changes["min_elevation_deg"] = spec.min_elevation_deg
            if spec.antennas is not None:
                changes["antennas"] = spec.antennas
            found = [dataclasses.replace(s, **changes) for s in found]
        for s in found:
            if any(o.name == s.name for o in out):
                raise scenario.input_error(where, f"station {s.name!r} is listed twice")
            out.append(s)
    return out
