"""Contact windows between many satellites and many ground stations, fast and exact.

A *contact window* is an interval during which a satellite stands at or above a
station's minimum elevation.  :func:`find_contacts` finds all of them for every
satellite x station pair in three vectorised steps:

1. **Coarse grid.**  All satellites are propagated at once with sgp4's
   ``SatrecArray`` on a grid (60 s by default) and rotated into the Earth-fixed
   frame (:mod:`simulator.orbits.frames`).  Satellites are processed in chunks so
   memory stays bounded whatever the constellation size; chunks run in parallel
   worker processes.
2. **Conservative pre-filter.**  A satellite at radius ``rho`` can be above
   elevation ``m`` only if the angle ``psi`` between its direction and the
   station's geocentric direction is at most ``lambda = acos(R cos m / rho) - m``.
   Over one grid cell of length ``h`` the angle changes by at most
   ``omega * h`` where ``omega`` bounds the satellite's angular rate, so a cell
   whose two end points both satisfy ``psi > lambda + omega h / 2`` provably holds
   no visibility.  Every other cell is a *candidate*: nothing is lost, however
   short or grazing the pass (the mask is widened by the geodetic/geocentric
   vertical difference, and ``rho`` and ``omega`` are bounded with margins).
3. **Root refinement.**  Inside candidate cells the position is the cubic Hermite
   interpolant of the SGP4 positions and velocities at the two cell ends (error
   below a metre for LEO at 60 s).  Extrema of the elevation are found by
   bisection on its time derivative, and every rise and set by bisection on the
   elevation itself, to microseconds.

The result is a :class:`pandas.DataFrame`, one row per window, with the columns
of :data:`WINDOW_COLUMNS`.  Windows already open at the start or still open at
the end of the interval are clipped to it and flagged (``open_at_start``,
``open_at_end``), never dropped.

Elevation is geometric (no refraction), relative to the WGS84 geodetic vertical,
computed the way Skyfield's ``EarthSatellite.find_events`` does, which the tests
use as the reference.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from sgp4.api import SatrecArray

from ..errors import InputError
from .frames import TimeGrid, as_utc, teme_to_ecef

logger = logging.getLogger(__name__)

#: Columns of a contact-window table, in order.
WINDOW_COLUMNS = [
    "satellite", "norad_id", "station", "rise_utc", "set_utc", "duration_s",
    "max_elevation_deg", "culmination_utc", "rise_s", "set_s", "culmination_s",
    "open_at_start", "open_at_end",
]

#: Bump when the algorithm changes in a way that changes results (invalidates caches).
ALGORITHM_VERSION = 1

_EARTH_ROTATION = 7.292115146706979e-5
_MU_KM3_S2 = 398600.8  # WGS72, as SGP4
_RE_KM = 6378.135
_MAX_ITERATIONS = 60
_TOLERANCE_S = 1e-6  # root bracket width in seconds


@dataclass(frozen=True)
class SatelliteOrbit:
    """What the contact search needs from a satellite: a name, an id and a Satrec."""

    name: str
    norad_id: int
    satrec: object


def as_orbits(satellites) -> list[SatelliteOrbit]:
    """Accept TLE element sets, ``(name, id, satrec)`` tuples or :class:`SatelliteOrbit`."""
    out = []
    for s in satellites:
        if isinstance(s, SatelliteOrbit):
            out.append(s)
        elif isinstance(s, tuple) and len(s) == 3:
            out.append(SatelliteOrbit(str(s[0]), int(s[1]), s[2]))
        else:  # an ElementSet-like object
            out.append(SatelliteOrbit(s.name, int(s.norad_id), s.satrec()))
    return out


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
# Geometry helpers on (n, 3) arrays


def _hermite(tau, h, r0, v0, r1, v1):
    """Cubic Hermite position and velocity at fraction ``tau`` (n,) of cells of length ``h``."""
    t = tau[:, None]
    t2 = t * t
    t3 = t2 * t
    hh = h[:, None]
    r = ((2 * t3 - 3 * t2 + 1) * r0 + (t3 - 2 * t2 + t) * hh * v0
         + (-2 * t3 + 3 * t2) * r1 + (t3 - t2) * hh * v1)
    v = ((6 * t2 - 6 * t) * r0 / hh + (3 * t2 - 4 * t + 1) * v0
         + (-6 * t2 + 6 * t) * r1 / hh + (3 * t2 - 2 * t) * v1)
    return r, v


def _g_and_slope(r, v, p, u, sin_mask):
    """``sin(elevation) - sin(mask)`` and its time derivative, for (n, 3) arrays."""
    d = r - p
    dn = np.sqrt(np.einsum("...i,...i->...", d, d))
    du = d @ u if d.ndim == 2 else np.einsum("...i,i->...", d, u)
    g = du / dn - sin_mask
    vu = v @ u if v.ndim == 2 else np.einsum("...i,i->...", v, u)
    dv = np.einsum("...i,...i->...", d, v)
    slope = vu / dn - du * dv / dn**3
    return g, slope


@dataclass
class _Cells:
    """Candidate cells of one (chunk, station): end-point states and values."""

    sat: np.ndarray
    k: np.ndarray
    t0: np.ndarray
    h: np.ndarray
    r0: np.ndarray
    v0: np.ndarray
    r1: np.ndarray
    v1: np.ndarray
    g0: np.ndarray
    g1: np.ndarray
    s0: np.ndarray
    s1: np.ndarray


def _solve(fun, lo, hi, f_lo, f_hi, h):
    """Vectorised bracketed root finding on [lo, hi] (cell fractions).

    The Illinois variant of regula falsi: superlinear on smooth functions, and it
    never leaves the bracket.  Iterates on the still-unconverged entries only,
    until the bracket (in seconds, cells of length ``h``) is below a microsecond
    or the function vanishes; falls back to halving when progress stalls.
    """
    lo, hi, f_lo, f_hi = lo.copy(), hi.copy(), f_lo.copy(), f_hi.copy()
    root = 0.5 * (lo + hi)
    active = np.arange(len(lo))
    side = np.zeros(len(lo), dtype=np.int8)
    for it in range(_MAX_ITERATIONS):
        if len(active) == 0:
            break
        a, b, fa, fb = lo[active], hi[active], f_lo[active], f_hi[active]
        with np.errstate(invalid="ignore", divide="ignore"):
            x = (a * fb - b * fa) / (fb - fa)
        # Every fourth step, or when the secant misbehaves, halve the bracket.
        bad = ~np.isfinite(x) | (x <= a) | (x >= b) | (it % 4 == 3)
        x = np.where(bad, 0.5 * (a + b), x)
        fx = fun(x, active)
        root[active] = x
        left = (fx < 0) == (fa < 0)  # the root lies in [x, b]
        s = side[active]
        # Illinois: halve the value kept at the end that did not move twice in a row.
        f_hi[active] = np.where(left & (s == 1), fb * 0.5, fb)
        f_lo[active] = np.where(~left & (s == -1), fa * 0.5, fa)
        lo[active] = np.where(left, x, a)
        f_lo[active] = np.where(left, fx, f_lo[active])
        hi[active] = np.where(left, b, x)
        f_hi[active] = np.where(left, f_hi[active], fx)
        side[active] = np.where(left, 1, -1)
        done = ((hi[active] - lo[active]) * h[active] < _TOLERANCE_S) | (fx == 0)
        active = active[~done]
    return root


def _refine(c: _Cells, p, u, sin_mask):
    """Rise/set roots and interior maxima inside candidate cells.

    Returns (rise_sat, rise_t), (set_sat, set_t), (max_sat, max_t, max_g).
    """
    n = len(c.sat)

    def values(cells, want_slope):
        def f(tau, active):
            idx = cells[active]
            r, v = _hermite(tau, c.h[idx], c.r0[idx], c.v0[idx], c.r1[idx], c.v1[idx])
            g, slope = _g_and_slope(r, v, p, u, sin_mask)
            return slope if want_slope else g
        return f

    # Interior extrema: the slope changes sign inside the cell.
    ext = np.nonzero((c.s0 > 0) != (c.s1 > 0))[0]
    tau_x = np.full(n, np.nan)
    g_x = np.full(n, np.nan)
    if len(ext):
        tau = _solve(values(ext, True), np.zeros(len(ext)), np.ones(len(ext)),
                     c.s0[ext], c.s1[ext], c.h[ext])
        tau_x[ext] = tau
        g_x[ext] = values(ext, False)(tau, np.arange(len(ext)))
    is_max = ~np.isnan(tau_x) & (c.s0 > 0)

    # Monotone pieces: [0, tau_x] and [tau_x, 1], or [0, 1] without an extremum.
    has_x = ~np.isnan(tau_x)
    a_tau = np.concatenate([np.zeros(n), tau_x[has_x]])
    b_tau = np.concatenate([np.where(has_x, tau_x, 1.0), np.ones(has_x.sum())])
    ga = np.concatenate([c.g0, g_x[has_x]])
    gb = np.concatenate([np.where(has_x, g_x, c.g1), c.g1[has_x]])
    cell = np.concatenate([np.arange(n), np.nonzero(has_x)[0]])
    crossing = np.nonzero((ga >= 0) != (gb >= 0))[0]
    idx = cell[crossing]
    tau = _solve(values(idx, False), a_tau[crossing], b_tau[crossing], ga[crossing],
                 gb[crossing], c.h[idx])
    t_root = c.t0[idx] + tau * c.h[idx]
    rising = gb[crossing] >= 0
    root_sat = c.sat[idx]
    mx = np.nonzero(is_max)[0]
    return (root_sat[rising], t_root[rising]), (root_sat[~rising], t_root[~rising]), \
        (c.sat[mx], c.t0[mx] + tau_x[mx] * c.h[mx], g_x[mx])


# ---------------------------------------------------------------------------
# One chunk of satellites against all stations


def _chunk_windows(orbits, stations, grid: TimeGrid, lo: int, hi: int) -> pd.DataFrame:
    sats = orbits[lo:hi]
    arr = SatrecArray([o.satrec for o in sats])
    err, r_teme, v_teme = arr.sgp4(grid.jd, grid.fr)
    failed = (err != 0).any(axis=1)
    if failed.any():
        # A satellite SGP4 cannot propagate over the whole interval (decayed, bad
        # elements) is left out entirely rather than given half windows.
        r_teme[failed] = np.nan
        v_teme[failed] = np.nan
        names = [sats[i].name for i in np.nonzero(failed)[0]]
        logger.warning("%d satellite(s) could not be propagated over the whole interval "
                       "(SGP4 error, e.g. decayed) and have no contacts: %s",
                       len(names), ", ".join(names[:5]) + (" ..." if len(names) > 5 else ""))
    r, v = teme_to_ecef(r_teme, v_teme, grid.gmst_rad)
    del r_teme, v_teme
    rho = np.sqrt(np.einsum("stk,stk->st", r, r))
    rhat = r / rho[..., None]
    t = grid.t_s
    h_cells = np.diff(t)
    h_max = float(h_cells.max())
    n_sat, n_t = rho.shape

    # Bounds per satellite over the interval, with margins (see module docstring).
    with np.errstate(invalid="ignore"):
        cross = np.cross(r, v)
        omega = np.sqrt(np.einsum("stk,stk->st", cross, cross)) / rho**2
        radial = np.abs(np.einsum("stk,stk->st", r, v)) / rho
    a_km = np.array([o.satrec.a for o in sats]) * _RE_KM
    ecc = np.array([o.satrec.ecco for o in sats])
    r_perigee = np.maximum(a_km * (1 - ecc), 6000.0)
    h_ang = np.sqrt(_MU_KM3_S2 * a_km * np.maximum(1 - ecc**2, 1e-12))
    omega_max = np.maximum(np.nanmax(omega, axis=1, initial=0.0) * 1.1,
                           1.05 * h_ang / r_perigee**2 + _EARTH_ROTATION)
    rho_max = np.nanmax(rho, axis=1, initial=0.0) + 2 * h_max * np.nanmax(radial, axis=1, initial=0.0) + 1.0

    pieces = []
    for j, st in enumerate(stations):
        p = st.itrs_km()
        u = st.up_unit()
        g_hat = p / np.linalg.norm(p)
        delta = float(np.arccos(np.clip(g_hat @ u, -1.0, 1.0)))
        mask = np.radians(st.min_elevation_deg)
        m_geo = mask - delta - 1e-6
        with np.errstate(invalid="ignore"):
            lam = np.arccos(np.clip(np.linalg.norm(p) * np.cos(m_geo) / rho_max, -1, 1)) - m_geo
        reach = np.minimum(lam + omega_max * h_max / 2 + 1e-6, np.pi)
        with np.errstate(invalid="ignore"):
            near = (rhat @ g_hat) >= np.cos(reach)[:, None]
        cand = near[:, :-1] | near[:, 1:]
        si, k = np.nonzero(cand)
        sin_mask = np.sin(mask)
        # g at the start and end of the interval decides clipped windows.
        g_first, _ = _g_and_slope(r[:, 0], v[:, 0], p, u, sin_mask)
        g_last, _ = _g_and_slope(r[:, -1], v[:, -1], p, u, sin_mask)
        vis_first = g_first >= 0
        vis_last = g_last >= 0
        if len(si) == 0 and not vis_first.any():
            continue
        # Values at candidate cell end points (computed once per grid point).
        need = np.zeros((n_sat, n_t), dtype=bool)
        need[si, k] = True
        need[si, k + 1] = True
        ps, pk = np.nonzero(need)
        g_pt = np.full((n_sat, n_t), np.nan)
        s_pt = np.full((n_sat, n_t), np.nan)
        g_pt[ps, pk], s_pt[ps, pk] = _g_and_slope(r[ps, pk], v[ps, pk], p, u, sin_mask)
        cells = _Cells(sat=si, k=k, t0=t[k], h=h_cells[k], r0=r[si, k], v0=v[si, k],
                       r1=r[si, k + 1], v1=v[si, k + 1], g0=g_pt[si, k], g1=g_pt[si, k + 1],
                       s0=s_pt[si, k], s1=s_pt[si, k + 1])
        (rs, rt), (ss, stt), (ms, mt, mg) = _refine(cells, p, u, sin_mask)
        # Clip windows open at the ends of the interval.
        first = np.nonzero(vis_first)[0]
        last = np.nonzero(vis_last)[0]
        rs = np.concatenate([rs, first])
        rt = np.concatenate([rt, np.full(len(first), t[0])])
        ss = np.concatenate([ss, last])
        stt = np.concatenate([stt, np.full(len(last), t[-1])])
        windows = _pair_windows(rs, rt, ss, stt, st.name)
        if windows is None:
            continue
        g_end = {"rise": np.where(windows["rise_s"].to_numpy() == t[0],
                                  g_first[windows["sat"].to_numpy()], 0.0),
                 "set": np.where(windows["set_s"].to_numpy() == t[-1],
                                 g_last[windows["sat"].to_numpy()], 0.0)}
        windows = _attach_culmination(windows, ms, mt, mg, g_end, sin_mask)
        windows["open_at_start"] = windows["rise_s"].to_numpy() == t[0]
        windows["open_at_end"] = windows["set_s"].to_numpy() == t[-1]
        pieces.append(windows)
    if not pieces:
        return pd.DataFrame()
    out = pd.concat(pieces, ignore_index=True)
    out["satellite"] = [sats[i].name for i in out["sat"]]
    out["norad_id"] = np.array([sats[i].norad_id for i in out["sat"]], dtype=np.int64)
    out["sat"] += lo
    return out


def _pair_windows(rs, rt, ss, stt, station):
    """Pair each rise with the next set of the same satellite."""
    if len(rs) == 0:
        return None
    ro = np.lexsort((rt, rs))
    so = np.lexsort((stt, ss))
    rs, rt, ss, stt = rs[ro], rt[ro], ss[so], stt[so]
    if len(rs) != len(ss) or not np.array_equal(rs, ss) or np.any(stt < rt):
        raise RuntimeError(f"contact search: unpaired rise/set events for station {station!r}; "
                           "please report this with the TLE and station")
    return pd.DataFrame({"sat": rs, "station": station, "rise_s": rt, "set_s": stt})


def _attach_culmination(windows, ms, mt, mg, g_end, sin_mask):
    """Highest point of each window: an interior maximum, or a clipped end."""
    windows = windows.reset_index(drop=True)
    windows["w"] = np.arange(len(windows))
    best_g = np.maximum(g_end["rise"], g_end["set"])
    best_t = np.where(g_end["rise"] >= g_end["set"], windows["rise_s"], windows["set_s"])
    if len(ms):
        maxima = pd.DataFrame({"sat": ms, "t": mt, "g": mg}).sort_values("t")
        left = windows[["sat", "rise_s", "set_s", "w"]].sort_values("rise_s")
        joined = pd.merge_asof(maxima, left, left_on="t", right_on="rise_s", by="sat",
                               direction="backward")
        joined = joined[joined["t"] <= joined["set_s"]].dropna(subset=["w"])
        if len(joined):
            top = joined.loc[joined.groupby("w")["g"].idxmax()]
            w = top["w"].to_numpy(dtype=int)
            better = top["g"].to_numpy() > best_g[w]
            best_g[w[better]] = top["g"].to_numpy()[better]
            best_t[w[better]] = top["t"].to_numpy()[better]
    windows["max_elevation_deg"] = np.degrees(np.arcsin(np.clip(best_g + sin_mask, -1, 1)))
    windows["culmination_s"] = best_t
    return windows.drop(columns="w")


# ---------------------------------------------------------------------------
# Public entry points

_JOB: tuple | None = None  # shared with forked workers (Satrec objects do not pickle)


def _run_chunk(bounds):
    orbits, stations, grid = _JOB
    return _chunk_windows(orbits, stations, grid, *bounds)


def _chunk_size(n_times: int, n_sats: int, workers: int) -> int:
    budget = 400_000  # satellite x time samples per chunk: ~10 MB per (N, T, 3) array
    size = max(1, budget // max(n_times, 1))
    if workers > 1:  # keep all workers busy
        size = min(size, max(1, -(-n_sats // (4 * workers))))
    return size


def find_contacts(
    satellites,
    stations: Sequence,
    start: datetime | str,
    duration_s: float,
    *,
    step_s: float = 60.0,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
    min_parallel_samples: int = 2_000_000,
) -> pd.DataFrame:
    """All contact windows of ``satellites`` x ``stations`` in ``[start, start + duration_s]``.

    ``satellites`` holds TLE element sets, ``(name, norad_id, Satrec)`` tuples or
    :class:`SatelliteOrbit`; ``stations`` holds ground stations with ``name``,
    ``min_elevation_deg``, ``itrs_km()`` and ``up_unit()``.  ``workers`` processes
    share the satellites (default: the number of CPUs, one for small jobs);
    ``progress`` is called with the number of satellites finished after each chunk.
    Jobs under ``min_parallel_samples`` satellite x time samples run in-process.
    Returns a table with :data:`WINDOW_COLUMNS`, sorted by rise time.
    """
    global _JOB
    orbits = as_orbits(satellites)
    stations = list(stations)
    if not orbits:
        raise InputError("contact search: no satellites given")
    if not stations:
        raise InputError("contact search: no ground stations given")
    if not 1.0 <= step_s <= 600.0:
        raise InputError(f"grid step must be within 1..600 s, got {step_s}")
    start = as_utc(start)
    grid = TimeGrid.build(start, duration_s, step_s)
    if workers is None:
        workers = os.cpu_count() or 1
    if len(orbits) * len(grid.t_s) < min_parallel_samples:
        workers = 1
    size = _chunk_size(len(grid.t_s), len(orbits), workers)
    bounds = [(lo, min(lo + size, len(orbits))) for lo in range(0, len(orbits), size)]
    parts = []
    if workers <= 1:
        for lo, hi in bounds:
            parts.append(_chunk_windows(orbits, stations, grid, lo, hi))
            if progress:
                progress(hi - lo)
    else:
        _JOB = (orbits, stations, grid)
        try:
            with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork")) as pool:
                for (lo, hi), part in zip(bounds, pool.map(_run_chunk, bounds)):
                    parts.append(part)
                    if progress:
                        progress(hi - lo)
        finally:
            _JOB = None
    parts = [p for p in parts if len(p)]
    if not parts:
        return _empty_table()
    table = pd.concat(parts, ignore_index=True)
    return _finish_table(table, grid)


def _empty_table() -> pd.DataFrame:
    table = pd.DataFrame({c: pd.Series(dtype=object) for c in WINDOW_COLUMNS})
    return _typed(table)


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    table = table.astype({"satellite": str, "station": str, "norad_id": "int64",
                          "duration_s": float, "max_elevation_deg": float, "rise_s": float,
                          "set_s": float, "culmination_s": float, "open_at_start": bool,
                          "open_at_end": bool})
    for col in ("rise_utc", "set_utc", "culmination_utc"):
        table[col] = pd.to_datetime(table[col], utc=True)
    return table


def _finish_table(table: pd.DataFrame, grid: TimeGrid) -> pd.DataFrame:
    table["duration_s"] = table["set_s"] - table["rise_s"]
    table["rise_utc"] = grid.utc(table["rise_s"].to_numpy())
    table["set_utc"] = grid.utc(table["set_s"].to_numpy())
    table["culmination_utc"] = grid.utc(table["culmination_s"].to_numpy())
    table = table.sort_values(["rise_s", "sat", "station"], kind="stable").reset_index(drop=True)
    return _typed(table[WINDOW_COLUMNS].copy())


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


def cached_contacts(satellites, stations, start, duration_s, *, step_s: float = 60.0,
                    cache_dir: Path | None = None, refresh: bool = False, **kwargs) -> pd.DataFrame:
    """:func:`find_contacts` with an on-disk cache keyed by the elements' content,
    the stations (position and mask), the interval and the grid step.

    The cache is best effort: a folder that cannot be created, read or written, or a
    damaged entry, is one warning and the plan is computed (again).  The warnings
    of the computation itself (a satellite SGP4 cannot propagate, dropped) are
    stored with the entry and logged again whenever it is read back.
    """
    orbits = as_orbits(satellites)
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
        table = find_contacts(orbits, stations, start, duration_s, step_s=step_s, **kwargs)
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
        table = arrow.to_pandas()
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
        pq.write_table(arrow.replace_schema_metadata(meta), tmp)
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
    """Records the warnings ``logger`` emits while it is attached -- in this process and in
    the worker processes :func:`find_contacts` forks (they write to a shared temporary
    file, opened for appending) -- so a cache entry can replay them."""

    def __init__(self, target: logging.Logger):
        super().__init__(logging.WARNING)
        self._target = target
        self._file = None

    def __enter__(self) -> "_WarningRecorder":
        import tempfile

        try:
            self._file = tempfile.TemporaryFile()
            try:
                import fcntl

                fd = self._file.fileno()
                fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_APPEND)
            except (ImportError, OSError):
                pass
        except OSError:  # no temporary folder: only this process's warnings are kept
            self._file = None
        self._lines: list[str] = []
        self._target.addHandler(self)
        return self

    def __exit__(self, *exc) -> None:
        self._target.removeHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = json.dumps(record.getMessage())
            if self._file is None:
                self._lines.append(line)
            else:
                os.write(self._file.fileno(), (line + "\n").encode())
        except Exception:  # noqa: BLE001 - never let recording break the computation
            self.handleError(record)

    def messages(self) -> list[str]:
        """The recorded warning messages, in the order they were written."""
        lines = list(self._lines)
        if self._file is not None:
            try:
                self._file.seek(0)
                lines += self._file.read().decode().splitlines()
            except OSError:
                pass
            finally:
                self._file.close()
        return [json.loads(line) for line in lines if line]


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
