"""Contact windows between many satellites and many ground stations, fast and exact.

A *contact window* is an interval during which a satellite stands at or above a
station's minimum elevation.  :func:`find_contacts` finds all of them for every
satellite x station pair; the algorithm lives in :mod:`simulator.orbits.contact_search`:

1. **Coarse SGP4 grid** (360 s by default), anchored at the start, in blocks of
   whole cells at fixed multiples of the step: memory stays bounded for any span
   and constellation (chunks of satellites, in parallel worker processes).
2. **Provable cell pre-filter** on the geocentric angle to the station, with a
   bound on its second derivative.
3. **Cubic-Hermite screening** on ~20 s sub-steps with a provable bound between
   sub-steps (value, slope, a bound on the second derivative of the elevation and
   on the interpolation error), so a grazing pass -- shorter than a sub-step, or
   peaking just above the mask between two sub-steps -- is never missed.  Compiled
   with numba when installed; the numpy version gives identical windows.
4. **Exact refinement on SGP4**: rise, set and culmination are roots of the
   elevation (and of its rate) computed from SGP4 states at every iterate.

The result is a :class:`pandas.DataFrame`, one row per window, with the columns
of :data:`WINDOW_COLUMNS`, built once from arrays.  Windows already open at the
start or still open at the end of the interval are clipped to it and flagged
(``open_at_start``, ``open_at_end``), never dropped.  The windows found inside
``[0, T1]`` are bit for bit the same whatever the search horizon, chunking or
number of workers.

Elevation is geometric (no refraction), relative to the WGS84 geodetic vertical,
computed the way Skyfield's ``EarthSatellite.find_events`` does, which the tests
use as the reference.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from ..errors import InputError
from . import contact_search as _search
from . import contact_workers as _workers
from . import search_policy as _policy
from .frames import as_utc
from .tle import ElementSet

if TYPE_CHECKING:  # pandas is imported where a table is made: the search does not need it
    import pandas as pd

    from .preloaded_search import SearchJob

logger = logging.getLogger(__name__)

#: Columns of a contact-window table, in order.
WINDOW_COLUMNS = [
    "satellite", "norad_id", "station", "rise_utc", "set_utc", "duration_s",
    "max_elevation_deg", "culmination_utc", "rise_s", "set_s", "culmination_s",
    "open_at_start", "open_at_end",
]

#: Bump when the algorithm changes in a way that changes results (invalidates caches).
ALGORITHM_VERSION = 2

#: Default coarse SGP4 grid step (seconds); accuracy does not depend on it.
DEFAULT_STEP_S = 360.0


@dataclass(frozen=True)
class SatelliteOrbit:
    """What the contact search needs from a satellite: a name, an id and a Satrec."""

    name: str
    norad_id: int
    satrec: object
    #: The TLE lines ``satrec`` was built from, when it was (they travel to processes
    #: that were not forked from this one; sgp4 objects do not pickle).
    tle: tuple[str, str] | None = field(default=None, compare=False, repr=False)


def as_orbits(satellites) -> list[SatelliteOrbit]:
    """Accept TLE element sets, ``(name, id, satrec)`` tuples or :class:`SatelliteOrbit`."""
    out = []
    for s in satellites:
        if isinstance(s, SatelliteOrbit):
            out.append(s)
        elif isinstance(s, tuple) and len(s) == 3:
            out.append(SatelliteOrbit(str(s[0]), int(s[1]), s[2]))
        else:  # an ElementSet-like object
            out.append(SatelliteOrbit(s.name, int(s.norad_id), s.satrec(),
                                      _tle_lines(s)))
    return out


def _tle_lines(element) -> tuple[str, str] | None:
    """``(line1, line2)`` of an element set whose Satrec is built from them, else None."""
    return (element.line1, element.line2) if isinstance(element, ElementSet) else None


def orbit_fingerprint(orbits: Sequence[SatelliteOrbit]) -> str:
    """Hash of the orbital elements themselves (not file bytes or names order)."""
    h = hashlib.sha256()
    for o in orbits:
        s = o.satrec
        fields = (o.name, o.norad_id, s.jdsatepoch, s.jdsatepochF, s.no_kozai, s.ecco,
                  s.inclo, s.nodeo, s.argpo, s.mo, s.bstar, s.ndot, s.nddot)
        h.update(repr(fields).encode())
    return h.hexdigest()


def station_fingerprint(stations) -> list:
    return [(s.name, round(s.lat_deg, 9), round(s.lon_deg, 9), round(s.alt_m, 6),
             round(s.min_elevation_deg, 9)) for s in stations]


# ---------------------------------------------------------------------------
# Public entry points

def find_contacts(
    satellites,
    stations: Sequence,
    start: datetime | str,
    duration_s: float,
    *,
    step_s: float = DEFAULT_STEP_S,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
    min_parallel_samples: int = _policy.MIN_PARALLEL_SAMPLES,
    kernel: str | None = None,
    preloaded=None,
) -> pd.DataFrame:
    """All contact windows of ``satellites`` x ``stations`` in ``[start, start + duration_s]``.

    ``satellites`` holds TLE element sets, ``(name, norad_id, Satrec)`` tuples or
    :class:`SatelliteOrbit`; ``stations`` holds ground stations with ``name``,
    ``min_elevation_deg``, ``itrs_km()`` and ``up_unit()``.  ``step_s`` is the coarse
    SGP4 grid step (the answer does not depend on it beyond rounding).  ``workers``
    processes share the satellites (default: the number of CPUs, one for small jobs);
    ``progress`` is called with the number of satellites finished after each chunk.
    Jobs under ``min_parallel_samples`` satellite x grid-time samples run in-process.
    ``kernel`` picks the screening implementation ("numba" or "numpy"; by default
    numba for large jobs when installed, see :func:`search_policy.choose_kernel`) --
    both give identical windows.  ``preloaded`` (a
    :class:`~simulator.orbits.preloaded_search.PreloadedSearch`) runs a parallel search
    of satellites read from TLE lines in a process that loaded the kernel earlier.
    Returns a table with :data:`WINDOW_COLUMNS`, sorted by rise time.
    """
    orbits = as_orbits(satellites)
    plan = _plan(orbits, stations, start, duration_s, step_s, workers, min_parallel_samples,
                 kernel)
    return _search_and_build(orbits, plan, progress, preloaded)


@dataclass
class _Plan:
    """How a search runs: checked inputs, station arrays, chunks, workers, kernel."""

    start: datetime
    duration_s: float
    step_s: float
    kernel: str
    st: _search.StationArrays
    workers: int
    bounds: list

    job: SearchJob | None = field(default=None, init=False)

    def preloaded_job(self, orbits) -> SearchJob | None:
        """What a :class:`~.preloaded_search.PreloadedSearch` needs (the same object on
        every call), or None when the search runs here (one worker or one chunk, the
        numpy kernel, satellites not from TLEs)."""
        if self.job is None and not (self.workers <= 1 or len(self.bounds) <= 1
                                     or self.kernel != "numba"
                                     or any(o.tle is None for o in orbits)):
            from .preloaded_search import SearchJob

            self.job = SearchJob([o.tle for o in orbits], self.st, self.start, self.step_s,
                                 self.duration_s, self.kernel, self.bounds, self.workers)
        return self.job


def _plan(orbits, stations, start, duration_s, step_s, workers, min_parallel_samples,
          kernel) -> _Plan:
    stations = list(stations)
    if not orbits:
        raise InputError("contact search: no satellites given")
    if not stations:
        raise InputError("contact search: no ground stations given")
    if not 1.0 <= step_s <= 600.0:
        raise InputError(f"grid step must be within 1..600 s, got {step_s}")
    start = as_utc(start)
    if not duration_s > 0:
        raise InputError(f"duration must be positive, got {duration_s} s")
    duration_s = float(duration_s)
    step_s = float(step_s)
    n_cells = max(1, int(np.ceil(duration_s / step_s - 1e-9)))
    kernel = kernel or _policy.choose_kernel(len(orbits) * n_cells * len(stations))
    if not _policy.kernel_available(kernel):
        raise InputError(f"contact search kernel {kernel!r} is not available")
    if workers is None:
        workers = os.cpu_count() or 1
    if len(orbits) * (n_cells + 1) < min_parallel_samples:
        workers = 1
    return _Plan(start, duration_s, step_s, kernel, _search.StationArrays.of(stations), workers,
                 _workers.chunk_bounds(len(orbits), n_cells + 1, workers))


def _search_and_build(orbits, plan: _Plan, progress, preloaded) -> pd.DataFrame:
    bounds = plan.bounds
    parts = []

    def take(part):
        parts.append(part)
        if progress:
            lo, hi = bounds[len(parts) - 1]
            progress(hi - lo)

    job = plan.preloaded_job(orbits) if preloaded is not None else None
    if job is not None:
        preloaded.submit(job)
        _import_table_libraries()  # while the search runs in the other processes
        for part in preloaded.search(job):
            take(part)
    if len(parts) < len(bounds):
        clock = _workers.search_clock(plan.start, plan.step_s, plan.duration_s)
        for part in _workers.run_chunks([o.satrec for o in orbits], plan.st, clock, plan.step_s,
                                        plan.duration_s, plan.kernel, bounds[len(parts):],
                                        plan.workers):
            take(part)
    _log_excluded(orbits, parts)
    return _build_table(orbits, plan.st, plan.start, parts)


def _import_table_libraries() -> None:
    """Import what :func:`_build_table` and the cache entry need (pandas, pyarrow: 0.25 s
    or more), at a moment this process would otherwise wait."""
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    from .. import text_columns  # noqa: F401


def _log_excluded(orbits, parts) -> None:
    """One warning per reason for the satellites the search left out (in every chunk)."""
    excluded = sorted(x for p in parts for x in p.excluded)
    for reason, text in (("sgp4", "could not be propagated over the whole interval (SGP4 error, "
                                  "e.g. decayed)"),
                         ("bounds", "left the radius/speed bounds of their elements (the search "
                                    "cannot vouch for them)")):
        names = [orbits[i].name for i, why in excluded if why == reason]
        if names:
            # A satellite that cannot be propagated over the whole interval is left out
            # entirely rather than given half windows.
            logger.warning("%d satellite(s) %s and have no contacts: %s", len(names), text,
                           ", ".join(names[:5]) + (" ..." if len(names) > 5 else ""))


def _build_table(orbits, st, start, parts) -> pd.DataFrame:
    """The window table, built once from the chunks' arrays, one column at a time (so
    the peak memory is the table plus one column, whatever the span)."""
    import pandas as pd

    from ..text_columns import labels_column

    parts = [p for p in parts if len(p.sat)]
    if not parts:
        return _empty_table()

    def column(field):  # concatenated, and let go of in the parts
        out = np.concatenate([getattr(p, field) for p in parts])
        for p in parts:
            setattr(p, field, None)
        return out

    rise = column("rise")
    sat = column("sat")
    station = column("station")
    station_rank = np.argsort(np.argsort(np.array(st.names, dtype=object), kind="stable"),
                              kind="stable")
    order = np.lexsort((station_rank[station], sat, rise))
    rise = rise[order]
    sat = sat[order]
    station = station[order]
    t0 = pd.Timestamp(start)
    def utc(seconds):  # pandas' conversion, in slices (it makes several full-size temporaries)
        ns = np.empty(len(seconds), dtype=np.int64)
        for i in range(0, len(seconds), 1 << 17):
            ns[i:i + (1 << 17)] = (t0 + pd.to_timedelta(seconds[i:i + (1 << 17)], unit="s")).asi8
        return pd.array(ns.view("M8[ns]"), dtype=pd.DatetimeTZDtype("ns", "UTC"))

    data = {"satellite": labels_column([o.name for o in orbits], sat),
            "norad_id": np.array([o.norad_id for o in orbits], dtype=np.int64)[sat],
            "station": labels_column(list(st.names), station),
            "rise_utc": utc(rise)}
    del sat, station
    set_ = column("set")[order]
    data["set_utc"] = utc(set_)
    data["duration_s"] = set_ - rise
    data["max_elevation_deg"] = column("max_el_deg")[order]
    culm = column("culm")[order]
    data["culmination_utc"] = utc(culm)
    data["rise_s"] = rise
    data["set_s"] = set_
    data["culmination_s"] = culm
    data["open_at_start"] = column("open_start")[order]
    data["open_at_end"] = column("open_end")[order]
    return pd.DataFrame(data, copy=False)


def _empty_table() -> pd.DataFrame:
    import pandas as pd

    table = pd.DataFrame({c: pd.Series(dtype=object) for c in WINDOW_COLUMNS})
    return _typed(table)


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    table = table.astype({"satellite": str, "station": str, "norad_id": "int64",
                          "duration_s": float, "max_elevation_deg": float, "rise_s": float,
                          "set_s": float, "culmination_s": float, "open_at_start": bool,
                          "open_at_end": bool})
    for col in ("rise_utc", "set_utc", "culmination_utc"):
        table[col] = pd.to_datetime(table[col], utc=True)
    return table


# ---------------------------------------------------------------------------
# Cached contact plans


def contact_cache_key(orbits, stations, start, duration_s, step_s) -> str:
    payload = {
        "algorithm": ALGORITHM_VERSION,
        "orbits": orbit_fingerprint(orbits),
        "stations": station_fingerprint(stations),
        "start": as_utc(start).isoformat(),
        "duration_s": float(duration_s),
        "step_s": float(step_s),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]


def cached_contacts(satellites, stations, start, duration_s, *, step_s: float = DEFAULT_STEP_S,
                    cache_dir: Path | None = None, refresh: bool = False, **kwargs) -> pd.DataFrame:
    """:func:`find_contacts` with an on-disk cache keyed by the elements' content,
    the stations (position and mask), the interval and the grid step.

    The cache is best effort: a folder that cannot be created, read or written, or a
    damaged entry, is one warning and the plan is computed (again).  The warnings
    of the computation itself (a satellite SGP4 cannot propagate, dropped) are
    stored with the entry and logged again whenever it is read back.
    """
    orbits = as_orbits(satellites)
    progress = kwargs.pop("progress", None)
    preloaded = kwargs.pop("preloaded", None)
    plan = _plan(orbits, stations, start, duration_s, step_s, kwargs.pop("workers", None),
                 kwargs.pop("min_parallel_samples", _policy.MIN_PARALLEL_SAMPLES),
                 kwargs.pop("kernel", None))
    if kwargs:
        raise TypeError(f"cached_contacts: unexpected arguments {sorted(kwargs)}")
    job = plan.preloaded_job(orbits) if preloaded is not None else None
    if job is not None:  # it starts now, while the cache is looked up (stopped on a hit)
        preloaded.submit(job)
    folder = _contact_cache_folder(cache_dir)
    path = None
    if folder is not None:
        path = folder / f"{contact_cache_key(orbits, stations, start, duration_s, step_s)}.parquet"
    if path is not None and not refresh:
        entry = _read_cache_entry(path)
        if entry is not None:
            table, warnings = entry
            for message in warnings:
                logger.warning("%s", message)
            logger.info("contact windows from cache %s", path)
            return table
    with _WarningRecorder(logger) as recorder:
        table = _search_and_build(orbits, plan, progress, preloaded)
    if path is not None:
        _write_cache_entry(table, recorder.messages(), path)
    return table


#: Parquet schema-metadata key of a cache entry: ``{"warnings": [...]}`` as JSON.
_CACHE_META = b"spaceverse.contacts"


def _contact_cache_folder(cache_dir) -> Path | None:
    """The contact cache folder (created), or None after one warning if unusable."""
    from ..paths import cache_subdir, cache_warning

    if cache_dir is None:
        return cache_subdir("contacts")
    folder = Path(cache_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    except OSError as exc:
        cache_warning(f"cannot use the contact cache folder {folder} ({exc.strerror or exc}); "
                      f"going on without the cache")
        return None


def _read_cache_entry(path: Path) -> tuple[pd.DataFrame, list[str]] | None:
    """``(table, warnings)`` of a cache entry; None when there is none or it cannot be
    used (damaged, unreadable: one warning; written before warnings were stored: none)."""
    from ..paths import cache_warning

    try:
        if not path.exists():
            return None
    except OSError as exc:
        cache_warning(f"cannot read the contact cache folder {path.parent} "
                      f"({exc.strerror or exc}); computing the contacts")
        return None
    try:
        import pyarrow.parquet as pq

        arrow = pq.read_table(path)
        stored = (arrow.schema.metadata or {}).get(_CACHE_META)
        if stored is None:  # an entry of an earlier version: its warnings are unknown
            logger.info("contact cache entry %s has no stored warnings; recomputing", path)
            return None
        warnings = json.loads(stored)["warnings"]
        if not isinstance(warnings, list):
            raise ValueError("stored warnings are not a list")
        table = arrow.to_pandas(self_destruct=True, split_blocks=True)
        del arrow
        import pyarrow as pa

        pa.default_memory_pool().release_unused()  # the decoding's scratch (hundreds of MB)
        if list(table.columns) != WINDOW_COLUMNS:
            raise ValueError(f"columns {list(table.columns)}")
        return table, [str(w) for w in warnings]
    except Exception as exc:  # noqa: BLE001 - a damaged entry is recomputed, never fatal
        detail = " ".join(str(exc).split())[:160]
        cache_warning(f"ignoring a damaged contact cache entry {path} "
                      f"({type(exc).__name__}: {detail}); computing the contacts again")
        return None


def _write_cache_entry(table: pd.DataFrame, warnings: list[str], path: Path) -> None:
    """Store ``table`` and its ``warnings`` atomically at ``path``; a failure is one warning."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ..fileio import clean_leftovers, remove_path, temp_name
    from ..paths import cache_warning

    tmp = temp_name(path, "tmp", unique=True)
    try:
        arrow = pa.Table.from_pandas(table, preserve_index=False)
        meta = dict(arrow.schema.metadata or {})
        meta[_CACHE_META] = json.dumps({"warnings": list(warnings)}).encode()
        # dictionaries for the name columns only (on the unique floats they cost 60 % of
        # the write and save nothing)
        pq.write_table(arrow.replace_schema_metadata(meta), tmp,
                       use_dictionary=["satellite", "station"])
        os.replace(tmp, path)
        clean_leftovers(path.parent, name=path.name)  # what killed writers left
    except Exception as exc:  # noqa: BLE001 - a cache that cannot be written is skipped
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        cache_warning(f"cannot write to the contact cache folder {path.parent} ({reason}); "
                      f"contact plans are not cached")
    finally:
        try:
            remove_path(tmp)
        except OSError:
            pass


class _WarningRecorder(logging.Handler):
    """Records the warnings ``logger`` emits while it is attached (the search's workers
    log nothing: :func:`find_contacts` logs what they report), so a cache entry can
    replay them."""

    def __init__(self, target: logging.Logger):
        super().__init__(logging.WARNING)
        self._target = target
        self._messages: list[str] = []

    def __enter__(self) -> "_WarningRecorder":
        self._target.addHandler(self)
        return self

    def __exit__(self, *exc) -> None:
        self._target.removeHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._messages.append(record.getMessage())
        except Exception:  # noqa: BLE001 - never let recording break the computation
            self.handleError(record)

    def messages(self) -> list[str]:
        """The recorded warning messages, in the order they were logged."""
        return list(self._messages)


def write_table(table: pd.DataFrame, path: Path) -> Path:
    """Write parquet or CSV (by suffix) atomically: a temp file renamed into place."""
    from ..fileio import write_atomic

    path = Path(path)
    if path.suffix not in (".parquet", ".csv"):
        raise InputError(f"{path}: output must end in .csv or .parquet")

    def write(tmp: Path) -> None:
        if path.suffix == ".parquet":
            table.to_parquet(tmp, index=False)
            return
        out = table.copy()
        for col in ("rise_utc", "set_utc", "culmination_utc"):
            if col in out:
                out[col] = out[col].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        out.to_csv(tmp, index=False, float_format="%.6f")

    return write_atomic(path, write)
