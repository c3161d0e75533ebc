"""Two-line element sets: reading, checking and naming TLE catalogs.

A *two-line element set* (TLE) is the fixed-column text format in which
NORAD and CelesTrak publish the mean orbital elements of every tracked
satellite.  Each satellite takes two 69-character lines, usually preceded by a
line carrying its name::

    ISS (ZARYA)
    1 25544U 98067A   26164.83523427  .00008738  00000+0  16534-3 0  9990
    2 25544  51.6333 316.6832 0004955 182.4672 177.6293 15.49214103571238

The elements are only meaningful to the SGP4 propagator they were fitted for,
and only near their *epoch* (columns 19-32 of line 1): the further a
simulation runs from the epoch, the larger the position error.  This module
therefore does three things:

* :func:`parse_tle` and :func:`read_tle_file` turn text into
  :class:`ElementSet` objects, checking each record (line numbers, lengths,
  checksums, matching satellite numbers, a readable epoch, and that SGP4
  accepts the elements) and failing with a one-line
  :class:`~simulator.errors.InputError` that names file and line;
* :func:`load_catalog` maps short names such as ``starlink@2026-06-14`` to the
  real CelesTrak snapshots bundled in the repository's ``tle/`` folder (see
  ``tle/PROVENANCE.md``), or reads any other file path;
* :func:`epoch_warnings` tells you when the simulation start is too far from
  the epochs for the results to be trusted.

>>> catalog = load_catalog("eo@2026-06-14", names=["SENTINEL-2*"])
>>> [e.name for e in catalog.elements]
['SENTINEL-2A', 'SENTINEL-2B', 'SENTINEL-2C']
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import logging
import math
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
from sgp4 import __version__ as sgp4_version
from sgp4.api import SGP4_ERRORS, Satrec

from simulator.errors import InputError
from simulator.paths import tle_dir

logger = logging.getLogger(__name__)

__all__ = ["ElementSet", "Catalog", "checksum", "decode_satnum", "parse_tle", "read_tle_file",
           "catalog_file", "load_catalog", "list_catalogs", "filter_names", "epoch_warnings"]

#: Length of line 1 and line 2 of a TLE, checksum digit included.
LINE_LENGTH = 69

# ---------------------------------------------------------------------------
# The bundled snapshots.  Keys are the names users type; values are paths
# relative to ``simulator.paths.tle_dir()``.
# ---------------------------------------------------------------------------

_SNAPSHOTS: dict[str, str] = {
    "starlink@2026-06-14": "celestrak_2026-06-14/starlink.tle",
    "planet@2026-06-14": "celestrak_2026-06-14/planet_from_active.tle",
    "eo@2026-06-14": "celestrak_2026-06-14/eo_iss_from_active.tle",
    "stations@2026-06-14": "celestrak_2026-06-14/stations.tle",
    "starlink@2024-07-16": "celestrak_2024-07-16/starlink.txt",
    "planet@2024-07-16": "celestrak_2024-07-16/planet.txt",
    "earth-resources@2024-07-16": "celestrak_2024-07-16/earth_resources.txt",
    "stations@2024-07-16": "celestrak_2024-07-16/spacestation.txt",
}


def _newest_aliases() -> dict[str, str]:
    """Bare family names (``starlink``) -> newest dated name of that family."""
    newest: dict[str, str] = {}
    for name in _SNAPSHOTS:
        family, _, date = name.partition("@")
        if family not in newest or date > newest[family].partition("@")[2]:
            newest[family] = name
    return newest


_ALIASES = _newest_aliases()

# ---------------------------------------------------------------------------
# Line-level helpers
# ---------------------------------------------------------------------------

# Byte value -> checksum weight: digits count their value, '-' counts 1.
_CHECKSUM_WEIGHTS = bytes(
    (c - 48) if 48 <= c <= 57 else 1 if c == 45 else 0 for c in range(256)
)

# Alpha-5 satellite numbers replace the leading digit by a letter, skipping
# I and O (which look like 1 and 0): A=10, B=11, ..., H=17, J=18, ..., Z=33.
_ALPHA5 = {
    letter: value
    for value, letter in enumerate("ABCDEFGHJKLMNPQRSTUVWXYZ", start=10)
}


def checksum(line: str) -> int:
    """The modulo-10 checksum of a TLE line (over its first 68 characters).

    Digits count their value, a minus sign counts 1, everything else 0.  The
    69th character of a valid line is this number:

    >>> line = "1 25544U 98067A   26164.83523427  .00008738  00000+0  16534-3 0  9990"
    >>> checksum(line), line[68]
    (0, '0')
    """
    data = line[:68].encode("ascii", "replace")
    return sum(data.translate(_CHECKSUM_WEIGHTS)) % 10


def decode_satnum(field: str) -> int:
    """The catalog number in columns 3-7 of a TLE line, Alpha-5 included.

    Numbers above 99,999 are written with a letter in front of four digits:

    >>> decode_satnum("25544"), decode_satnum("A0001"), decode_satnum("Z9999")
    (25544, 100001, 339999)

    Raises :class:`ValueError` for anything else.
    """
    field = field.strip()
    if field[:1] in _ALPHA5 and len(field) == 5 and field[1:].isdigit():
        return _ALPHA5[field[0]] * 10_000 + int(field[1:])
    if not field.isdigit():
        raise ValueError(f"bad satellite number {field!r}")
    return int(field)


def _parse_epoch(line1: str) -> datetime:
    """The epoch of line 1 (columns 19-32, ``YYDDD.DDDDDDDD``) as UTC datetime.

    Two-digit years 57-99 are 1957-1999, 00-56 are 2000-2056 (the SGP4
    convention); day 1.0 is January 1, 00:00 UTC.
    """
    yy, doy = line1[18:20], float(line1[20:32])
    if not yy.isdigit():
        raise ValueError(f"bad epoch year {yy!r}")
    year = int(yy) + (1900 if int(yy) >= 57 else 2000)
    days_in_year = 366 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 365
    if not 1.0 <= doy < days_in_year + 1:
        raise ValueError(f"day of year {doy!r} outside 1..{days_in_year}")
    return datetime(year, 1, 1, tzinfo=timezone.utc) + timedelta(days=doy - 1.0)


# Satrec attributes that the (silent, sscanf-based) C++ parser leaves NaN when
# a field cannot be read, with the TLE line each comes from.
_SATREC_FIELDS = (
    ("ndot", 1), ("nddot", 1), ("bstar", 1),
    ("inclo", 2), ("nodeo", 2), ("ecco", 2), ("argpo", 2), ("mo", 2), ("no_kozai", 2),
)


def _build_satrec(line1: str, line2: str, where1: str, where2: str, label: str) -> Satrec:
    """``Satrec.twoline2rv`` that fails loudly.

    The accelerated sgp4 parser never raises: an unreadable field becomes NaN
    or zero and the problem shows up as ``satrec.error`` (SGP4 runs once at
    the epoch during initialisation).  Both are turned into InputError here.
    """
    try:
        sat = Satrec.twoline2rv(line1, line2)
    except Exception as exc:  # the pure-Python fallback raises ValueError
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{where1}: SGP4 cannot read the element set: {first} ({label})") from None
    if not math.isfinite(sat.ndot + sat.nddot + sat.bstar + sat.inclo + sat.nodeo
                         + sat.ecco + sat.argpo + sat.mo + sat.no_kozai):
        attr, which = next((a, w) for a, w in _SATREC_FIELDS
                           if not math.isfinite(getattr(sat, a)))
        raise InputError(f"{where1 if which == 1 else where2}: line {which} field "
                         f"'{attr}' is not a number ({label})")
    if sat.error:
        reason = SGP4_ERRORS.get(sat.error, "unknown error")
        raise InputError(f"{where1}: SGP4 rejects the elements at their epoch: "
                         f"error {sat.error}, {reason} ({label})")
    return sat


# ---------------------------------------------------------------------------
# Data classes
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ElementSet:
    """One satellite's TLE, checked and with its epoch decoded.

    ``name`` is the name line of a three-line record (a CelesTrak "3LE"
    leading ``"0 "`` removed) or ``"NORAD <id>"`` when the record had none.
    ``line1`` and ``line2`` are kept verbatim except for line ends and
    trailing blanks, so they can be written back out or handed to any SGP4
    implementation.  ``source`` and ``line_number`` (of line 1, 1-based) say
    where the record came from, for error messages.

    Equality and hashing use the fields only; the cached SGP4 object is not
    part of the value.
    """

    name: str
    norad_id: int
    line1: str
    line2: str
    epoch: datetime
    source: str = ""
    line_number: int = 0

    def satrec(self) -> Satrec:
        """The sgp4 :class:`~sgp4.api.Satrec` for these elements (built once).

        >>> [iss] = parse_tle(ISS_EXAMPLE)
        >>> error, position_km, velocity_km_s = iss.satrec().sgp4_tsince(0.0)
        >>> error, round(sum(x * x for x in position_km) ** 0.5) > 6378
        (0, True)

        The same object is returned on every call; treat it as read-only.
        """
        sat = self.__dict__.get("_satrec")
        if sat is None:
            where = f"{self.source or '<element set>'}:{self.line_number}"
            where2 = f"{self.source or '<element set>'}:{self.line_number + 1}"
            sat = _build_satrec(self.line1, self.line2, where, where2, _label(self.name, self.norad_id))
            self.__dict__["_satrec"] = sat  # a cache, not a field: bypasses frozen
        return sat

    def __getstate__(self) -> dict:
        # Satrec objects cannot be pickled; they are rebuilt on demand.
        state = dict(self.__dict__)
        state.pop("_satrec", None)
        return state


@dataclass(frozen=True)
class Catalog:
    """A named, ordered collection of element sets read from ``sources``.

    >>> catalog = load_catalog("stations@2026-06-14", names=["ISS (ZARYA)"])
    >>> catalog.name, len(catalog), catalog.elements[0].norad_id
    ('stations@2026-06-14', 1, 25544)
    """

    name: str
    elements: tuple[ElementSet, ...]
    sources: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.elements)

    def __iter__(self) -> Iterator[ElementSet]:
        return iter(self.elements)

    @property
    def content_hash(self) -> str:
        """SHA-256 (hex) of the element sets themselves.

        It is computed over the sorted ``(line1, line2)`` pairs, each hashed as
        ``line1 + "\\n" + line2 + "\\n"``, so it ignores names, file order, line
        ends and where the file lives: two catalogs with the same hash
        describe the same orbits.  Use it as a cache key.
        """
        cached = self.__dict__.get("_content_hash")
        if cached is None:
            digest = hashlib.sha256()
            for line1, line2 in sorted((e.line1, e.line2) for e in self.elements):
                digest.update(f"{line1}\n{line2}\n".encode("ascii", "replace"))
            cached = digest.hexdigest()
            self.__dict__["_content_hash"] = cached
        return cached

    def epoch_microseconds(self) -> np.ndarray:
        """Every element set's epoch as whole microseconds since 1970-01-01 UTC (int64;
        computed once per catalog)."""
        cached = self.__dict__.get("_epoch_us")
        if cached is None:
            cached = np.array([microseconds(e.epoch) for e in self.elements], dtype=np.int64)
            self.__dict__["_epoch_us"] = cached
        return cached

    def epoch_span(self) -> tuple[datetime, datetime]:
        """The oldest and the newest epoch in the catalog."""
        if not self.elements:
            raise InputError(f"catalog {self.name}: no element sets")
        epochs = [e.epoch for e in self.elements]
        return min(epochs), max(epochs)


# ---------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------

class _BadRecord(Exception):
    """A record problem: the message and how many lines the record used."""

    def __init__(self, message: str, consumed: int):
        super().__init__(message)
        self.consumed = consumed


def _label(name: str | None, norad: int | str) -> str:
    norad_text = f"NORAD {norad}"
    return norad_text if not name or name == norad_text else f"{name}, {norad_text}"


def _snippet(text: str) -> str:
    return repr(text if len(text) <= 24 else text[:21] + "...")


def _check_line(text: str, number: int, where: str, label: str) -> None:
    """Length, character set and checksum of line 1 or line 2."""
    if not text.isascii():
        raise InputError(f"{where}: line {number} contains non-ASCII characters ({label})")
    if len(text) != LINE_LENGTH:
        raise InputError(f"{where}: line {number} has {len(text)} characters, "
                         f"expected {LINE_LENGTH} ({label})")
    written = text[68]
    if not written.isdigit():
        raise InputError(f"{where}: checksum of line {number} is {written!r}, "
                         f"not a digit ({label})")
    computed = checksum(text)
    if int(written) != computed:
        raise InputError(f"{where}: checksum of line {number} is {written}, "
                         f"expected {computed} ({label})")


def _make_element(name: str | None, line1: str, n1: int, line2: str, n2: int,
                  source: str) -> ElementSet:
    """Check one record and build its ElementSet (raises InputError)."""
    where1, where2 = f"{source}:{n1}", f"{source}:{n2}"
    label = _label(name, line1[2:7].strip())
    _check_line(line1, 1, where1, label)
    _check_line(line2, 2, where2, label)
    try:
        norad = decode_satnum(line1[2:7])
    except ValueError:
        raise InputError(f"{where1}: satellite number {line1[2:7]!r} of line 1 is neither "
                         f"digits nor Alpha-5 ({label})") from None
    try:
        norad2 = decode_satnum(line2[2:7])
    except ValueError:
        raise InputError(f"{where2}: satellite number {line2[2:7]!r} of line 2 is neither "
                         f"digits nor Alpha-5 ({label})") from None
    if norad2 != norad:
        raise InputError(f"{where2}: satellite number {norad2} of line 2 does not match "
                         f"{norad} of line 1 ({label})")
    try:
        epoch = _parse_epoch(line1)
    except ValueError as exc:
        raise InputError(f"{where1}: epoch {line1[18:32]!r} of line 1 is not "
                         f"YYDDD.DDDDDDDD: {exc} ({label})") from None
    satrec = _build_satrec(line1, line2, where1, where2, label)
    element = ElementSet(name or f"NORAD {norad}", norad, line1, line2, epoch, source, n1)
    element.__dict__["_satrec"] = satrec
    return element


def _records(rows: list[tuple[int, str]], source: str,
             lenient: bool) -> tuple[list[ElementSet], int]:
    """Walk the non-blank ``(line number, text)`` rows; return elements and skips."""
    elements: list[ElementSet] = []
    skipped = 0
    i, n = 0, len(rows)
    while i < n:
        try:
            lineno, text = rows[i]
            if text.startswith("1 "):
                name, first = None, i
            elif text.startswith("2 "):
                raise _BadRecord(f"{source}:{lineno}: line 2 without a line 1 before it "
                                 f"(NORAD {text[2:7].strip()})", 1)
            else:
                name = text[2:].strip() if text.startswith("0 ") else text.strip()
                if i + 1 >= n:
                    raise _BadRecord(f"{source}:{lineno}: name line {_snippet(name)} is the "
                                     f"last line; its line 1 and line 2 are missing", 1)
                if not rows[i + 1][1].startswith("1 "):
                    raise _BadRecord(f"{source}:{lineno}: name line {_snippet(name)} is not "
                                     f"followed by line 1 (line {rows[i + 1][0]} is "
                                     f"{_snippet(rows[i + 1][1])})", 1)
                first = i + 1
            n1, line1 = rows[first]
            label = _label(name, line1[2:7].strip())
            if first + 1 >= n:
                raise _BadRecord(f"{source}:{n1}: truncated record, file ends after "
                                 f"line 1 ({label})", first - i + 1)
            n2, line2 = rows[first + 1]
            if not line2.startswith("2 "):
                raise _BadRecord(f"{source}:{n2}: expected line 2 after line {n1}, "
                                 f"found {_snippet(line2)} ({label})", first - i + 1)
            try:
                elements.append(_make_element(name, line1, n1, line2, n2, source))
            except InputError as exc:
                raise _BadRecord(str(exc), first - i + 2) from None
            i = first + 2
        except _BadRecord as bad:
            if not lenient:
                raise InputError(str(bad)) from None
            _note(logging.WARNING, "%s", bad)
            skipped += 1
            i += bad.consumed
    return elements, skipped


def _drop_duplicates(elements: list[ElementSet], source: str) -> list[ElementSet]:
    """Keep, per NORAD id, the element set with the newest epoch (first on ties)."""
    best: dict[int, int] = {}
    for index, element in enumerate(elements):
        kept = best.get(element.norad_id)
        if kept is None or element.epoch > elements[kept].epoch:
            best[element.norad_id] = index
    if len(best) == len(elements):
        return elements
    dropped = len(elements) - len(best)
    _note(logging.INFO, "%s: dropped %d duplicate element set(s) (same NORAD id, older epoch)",
          source, dropped)
    return [elements[index] for index in sorted(best.values())]


def parse_tle(text: str, source: str = "<string>", *, lenient: bool = False) -> list[ElementSet]:
    """Parse TLE text into checked element sets, in order of appearance.

    Three-line records (name, line 1, line 2), CelesTrak 3LE records (name
    line starting with ``"0 "``) and bare two-line records may be mixed;
    CRLF or LF line ends, blank lines and trailing blanks do not matter.

    >>> [iss] = parse_tle(ISS_EXAMPLE)
    >>> iss.name, iss.norad_id, iss.epoch.isoformat(timespec="seconds")
    ('ISS (ZARYA)', 25544, '2026-06-13T20:02:44+00:00')

    Every record is checked: line lengths (69), checksums, the satellite
    number on both lines, the epoch, and that SGP4 accepts the elements.  By
    default the first bad record raises :class:`InputError` naming ``source``
    and the line; with ``lenient=True`` bad records are logged as warnings
    and skipped.  When a NORAD id occurs twice, the element set with the
    newest epoch is kept.

    >>> parse_tle(ISS_EXAMPLE.replace("9990", "9991"))
    Traceback (most recent call last):
    ...
    simulator.errors.InputError: <string>:2: checksum of line 1 is 1, expected 0 (ISS (ZARYA), NORAD 25544)
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    rows = [(number, line.rstrip()) for number, line in enumerate(text.split("\n"), start=1)]
    rows = [(number, line) for number, line in rows if line]
    elements, skipped = _records(rows, source, lenient)
    if not elements:
        what = f"no valid TLE records ({skipped} bad skipped)" if skipped else "no TLE records found"
        raise InputError(f"{source}: {what}")
    if skipped:
        _note(logging.WARNING, "%s: skipped %d bad record(s), kept %d", source, skipped,
              len(elements))
    return _drop_duplicates(elements, source)


#: Largest TLE file read: 16 times today's whole public catalog (about 30,000 objects).
MAX_TLE_BYTES = 64 << 20


def _read_bounded(path: Path) -> bytes:
    """The bytes of a TLE file, at most :data:`MAX_TLE_BYTES`; one line for every problem
    (missing, a folder, unreadable, too large -- ``/dev/zero`` included)."""
    try:
        with open(path.expanduser(), "rb") as handle:
            data = handle.read(MAX_TLE_BYTES + 1)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a TLE file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied (cannot read the file)") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if len(data) > MAX_TLE_BYTES:
        raise InputError(f"{path}: larger than {MAX_TLE_BYTES >> 20} MiB; expected a TLE "
                         "catalog (three lines of at most 69 characters per satellite)")
    return data


def read_tle_file(path: str | Path, *, lenient: bool = False) -> list[ElementSet]:
    """Read and parse one TLE file (see :func:`parse_tle`).

    Errors name the file as it was given: ``tle/foo.tle: no such file``.  A parse is cached
    in the process and on disk (``<cache>/tle``), keyed by the SHA-256 of the bytes, the
    name, ``lenient``, this code and sgp4's version; a cache hit logs its messages again.
    """
    path = Path(path)
    data = _read_bounded(path)
    if not data.strip():
        raise InputError(f"{path}: file is empty")
    if b"\0" in data:
        raise InputError(f"{path}: binary file, not TLE text")
    key = (hashlib.sha256(data).hexdigest(), str(path), bool(lenient))
    hit = _PARSED.pop(key, None) or _read_parsed(key)
    for level, message in hit[1] if hit else ():
        logger.log(level, "%s", message)
    if hit is None:
        _RECORDING.messages = messages = []
        try:
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                _note(logging.INFO, "%s: not UTF-8, reading as Latin-1", path)
                text = data.decode("latin-1")
            hit = (tuple(parse_tle(text, str(path), lenient=lenient)), tuple(messages))
        finally:
            _RECORDING.messages = None
        _write_parsed(key, hit)
    _PARSED[key] = hit  # the most recently used last; at most _PARSED_MAX
    if len(_PARSED) > _PARSED_MAX:
        _PARSED.pop(next(iter(_PARSED)))
    return list(hit[0])


#: Parsed files kept in the process: key -> (elements, logged messages).
_PARSED: dict[tuple, tuple[tuple[ElementSet, ...], tuple[tuple[int, str], ...]]] = {}
_PARSED_MAX, _RECORDING, _EPOCH0 = 4, threading.local(), datetime(1970, 1, 1, tzinfo=timezone.utc)


def _note(level: int, fmt: str, *args) -> None:
    """Log a parsing message (and record it for the parse cache while one is recorded)."""
    if getattr(_RECORDING, "messages", None) is not None:
        _RECORDING.messages.append((level, fmt % args))
    logger.log(level, fmt, *args)


def _read_parsed(key: tuple):
    """A parse :func:`_write_parsed` stored (Satrecs are built on first use), or None."""
    from simulator.paths import read_cache_json, source_digest

    def convert(data):
        return (tuple(ElementSet(str(name), int(norad), str(line1), str(line2),
                                 _EPOCH0 + timedelta(microseconds=int(us)), key[1], int(number))
                      for name, norad, line1, line2, us, number in data["elements"]),
                tuple((int(level), str(text)) for level, text in data["messages"]))
    return read_cache_json("tle", [list(key), source_digest(__file__), sgp4_version], convert,
                           what="parsed TLE")


def _write_parsed(key: tuple, hit) -> None:
    from simulator.paths import source_digest, write_cache_json

    rows = [[e.name, e.norad_id, e.line1, e.line2, (e.epoch - _EPOCH0) // timedelta(microseconds=1),
             e.line_number] for e in hit[0]]
    write_cache_json("tle", [list(key), source_digest(__file__), sgp4_version],
                     {"elements": rows, "messages": [list(m) for m in hit[1]]}, what="parsed TLE")


# ---------------------------------------------------------------------------
# Catalogs
# ---------------------------------------------------------------------------

def list_catalogs() -> dict[str, Path]:
    """Named catalogs -> their files under ``tle/``.

    Dated names (``starlink@2026-06-14``) come first, then bare family names
    (``starlink``), which mean the newest snapshot of that family.

    >>> list_catalogs()["starlink"].name
    'starlink.tle'
    """
    root = tle_dir()
    named = {name: root / relative for name, relative in _SNAPSHOTS.items()}
    named.update({alias: named[target] for alias, target in _ALIASES.items()})
    return named


def _looks_like_path(spec: str) -> bool:
    return "/" in spec or "\\" in spec or Path(spec).suffix.lower() in (".tle", ".txt", ".3le", ".2le")


def catalog_file(spec: str) -> Path:
    """The file a catalog spec names: a bundled snapshot's for a dated or family name,
    else the spec as a path (``~`` expanded); whether it exists is not checked.

    >>> catalog_file("starlink").name
    'starlink.tle'
    """
    key = spec.strip()
    if key in _SNAPSHOTS or key in _ALIASES:
        return tle_dir() / _SNAPSHOTS[_ALIASES.get(key, key)]
    return Path(key).expanduser()


def load_catalog(spec: str, *, lenient: bool = False,
                 names: Sequence[str] | None = None) -> Catalog:
    """Load a catalog by name (see :func:`list_catalogs`) or file path.

    A named catalog is called by its dated name (a bare family name resolves
    to the newest date); a file catalog by the path as given.  ``names``
    keeps only satellites matching the patterns (see :func:`filter_names`).
    """
    key = spec.strip()
    path = catalog_file(key)
    if key in _SNAPSHOTS or key in _ALIASES:
        name = _ALIASES.get(key, key)
        if not path.is_file():
            raise InputError(f"catalog '{name}': bundled file {path} is missing "
                             f"(is SPACEVERSE_HOME pointing at the repository?)")
    elif path.is_file() or _looks_like_path(key):
        # read_tle_file says precisely what is wrong with a path (missing, a folder, ...)
        name = key
    else:
        known = list(list_catalogs())
        close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise InputError(f"unknown catalog '{spec}': not a file{hint}; "
                         f"known catalogs: {', '.join(known)}")
    elements = read_tle_file(path, lenient=lenient)
    if names is not None:
        elements = filter_names(elements, names)
    catalog = Catalog(name, tuple(elements), (str(path),))
    if catalog.elements:
        oldest, newest = catalog.epoch_span()
        logger.info("catalog %s: %d element sets, epochs %s to %s", name, len(catalog),
                    f"{oldest:%Y-%m-%d %H:%M}", f"{newest:%Y-%m-%d %H:%M}")
    return catalog


def filter_names(elements: Iterable[ElementSet], patterns: Sequence[str] | str) -> list[ElementSet]:
    """The element sets whose name matches any of ``patterns``, in their order.

    Matching ignores case.  A pattern with ``*``, ``?`` or ``[`` is a shell
    glob over the whole name (``"STARLINK-1*"``); any other pattern matches
    as a substring (``"sentinel"``), and an all-digit pattern also matches
    the NORAD id.  A pattern that matches nothing is an error, because it is
    almost always a typo.

    >>> [iss] = parse_tle(ISS_EXAMPLE)
    >>> [e.name for e in filter_names([iss], ["iss*"])]
    ['ISS (ZARYA)']
    """
    if isinstance(patterns, str):
        patterns = [patterns]
    elements = list(elements)
    if not patterns:
        return elements
    upper_names = [e.name.upper() for e in elements]
    keep = [False] * len(elements)
    unmatched = []
    for pattern in patterns:
        wanted = pattern.strip().upper()
        if any(c in wanted for c in "*?["):
            hits = [fnmatch.fnmatchcase(name, wanted) for name in upper_names]
        else:
            number = int(wanted) if wanted.isdigit() else None
            hits = [wanted in name or e.norad_id == number
                    for name, e in zip(upper_names, elements)]
        if not any(hits):
            unmatched.append(pattern)
        keep = [k or h for k, h in zip(keep, hits)]
    if unmatched:
        where = elements[0].source if elements and elements[0].source else "catalog"
        raise InputError(f"{where}: no satellite name matches "
                         f"{', '.join(repr(p) for p in unmatched)} (case-insensitive globs "
                         f"like 'STARLINK-1*' or substrings)")
    return [e for e, k in zip(elements, keep) if k]


#: A real record (ISS, CelesTrak 2026-06-14) used by the examples above.
ISS_EXAMPLE = """ISS (ZARYA)
1 25544U 98067A   26164.83523427  .00008738  00000+0  16534-3 0  9990
2 25544  51.6333 316.6832 0004955 182.4672 177.6293 15.49214103571238
"""


from .epochs import epoch_warnings, microseconds  # noqa: E402  (they read Catalog)
