"""Statistics of a contact-window table: how often, how long, how far apart.

All functions take the table returned by
:func:`simulator.orbits.contacts.find_contacts` plus the length of the searched
interval, and return small :class:`pandas.DataFrame` summaries.

* :func:`per_pair` — for each satellite x station: passes, total and mean
  duration, fraction of the interval in contact, mean and longest gap between
  passes.
* :func:`per_station` — passes, mean pass duration, mean per-satellite contact
  fraction, and *coverage*: the fraction of time at least one satellite is in view.
* :func:`per_satellite` — fraction of time each satellite sees at least one
  station (overlapping windows to several stations are counted once).
* :func:`overhead_pass_fraction` — the analytic share of one orbital period spent
  above the mask on an overhead pass, the quantity behind the SpaceVerse paper's
  "4.33 % of the orbital period" (Fig. 4a).

>>> import math
>>> round(100 * overhead_pass_fraction(570.0, 28.0), 2)
4.36
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

EARTH_RADIUS_KM = 6378.137


def _union_seconds(starts: np.ndarray, ends: np.ndarray) -> float:
    """Total length of the union of intervals."""
    if len(starts) == 0:
        return 0.0
    order = np.argsort(starts)
    s, e = starts[order], ends[order]
    reach = np.maximum.accumulate(e)
    # A new block starts where an interval begins after everything before it ended.
    new = np.empty(len(s), dtype=bool)
    new[0] = True
    new[1:] = s[1:] > reach[:-1]
    block = np.cumsum(new) - 1
    block_start = s[new]
    block_end = pd.Series(reach).groupby(block).max().to_numpy()
    return float(np.sum(block_end - block_start))


def per_pair(windows: pd.DataFrame, duration_s: float) -> pd.DataFrame:
    """Passes, durations, contact fraction and gaps for every satellite x station."""
    cols = ["satellite", "station", "passes", "contact_s", "mean_pass_s", "contact_fraction",
            "mean_gap_s", "max_gap_s"]
    if len(windows) == 0:
        return pd.DataFrame(columns=cols)
    w = windows.sort_values(["satellite", "station", "rise_s"])
    gaps = w.groupby(["satellite", "station"])["rise_s"].shift(-1) - w["set_s"]
    w = w.assign(gap_s=gaps)
    out = w.groupby(["satellite", "station"], sort=True).agg(
        passes=("duration_s", "size"), contact_s=("duration_s", "sum"),
        mean_pass_s=("duration_s", "mean"), mean_gap_s=("gap_s", "mean"),
        max_gap_s=("gap_s", "max")).reset_index()
    out["contact_fraction"] = out["contact_s"] / duration_s
    return out[cols]


def per_satellite(windows: pd.DataFrame, duration_s: float) -> pd.DataFrame:
    """Fraction of the interval each satellite is in contact with *any* station."""
    rows = []
    for sat, grp in windows.groupby("satellite", sort=True):
        union = _union_seconds(grp["rise_s"].to_numpy(), grp["set_s"].to_numpy())
        rows.append((sat, len(grp), union, union / duration_s))
    return pd.DataFrame(rows, columns=["satellite", "passes", "contact_s", "contact_fraction"])


def per_station(windows: pd.DataFrame, duration_s: float, n_satellites: int) -> pd.DataFrame:
    """Summary per station.

    ``mean_sat_contact_fraction`` averages over all ``n_satellites`` searched,
    including those that never came into view; ``coverage_fraction`` is the share
    of time at least one satellite is above the mask.
    """
    rows = []
    for station, grp in windows.groupby("station", sort=False):
        union = _union_seconds(grp["rise_s"].to_numpy(), grp["set_s"].to_numpy())
        rows.append({
            "station": station,
            "passes": len(grp),
            "satellites_seen": grp["satellite"].nunique(),
            "mean_pass_s": float(grp["duration_s"].mean()),
            "mean_sat_contact_fraction": float(grp["duration_s"].sum()) / (duration_s * n_satellites),
            "coverage_fraction": union / duration_s,
        })
    return pd.DataFrame(rows, columns=["station", "passes", "satellites_seen", "mean_pass_s",
                                       "mean_sat_contact_fraction", "coverage_fraction"])


def visibility_half_angle(altitude_km: float, min_elevation_deg: float) -> float:
    """Earth-central half-angle (rad) of the region that sees a satellite above the mask."""
    m = math.radians(min_elevation_deg)
    r = EARTH_RADIUS_KM + altitude_km
    return math.acos(EARTH_RADIUS_KM * math.cos(m) / r) - m


def orbital_period_s(altitude_km: float) -> float:
    """Keplerian period of a circular orbit at ``altitude_km``.

    >>> round(orbital_period_s(570.0) / 60, 1)
    96.1
    """
    a = EARTH_RADIUS_KM + altitude_km
    return 2 * math.pi * math.sqrt(a**3 / 398600.4418)


def overhead_pass_fraction(altitude_km: float, min_elevation_deg: float) -> float:
    """Share of one orbit spent above the mask on a pass straight overhead.

    The satellite sweeps ``2 * lambda`` of its ``2 pi`` orbit while in view
    (spherical Earth, Earth rotation neglected), so the share is ``lambda / pi``.
    """
    return visibility_half_angle(altitude_km, min_elevation_deg) / math.pi


def contact_fraction_by_altitude(altitudes_km, stations, *, inclination_deg: float = 53.0,
                                 planes: int = 24, per_plane: int = 12, duration_s: float = 86400.0,
                                 step_s: float = 360.0, workers: int | None = None,
                                 progress=None) -> pd.DataFrame:
    """Contact statistics of Walker-delta shells at several altitudes (paper Fig. 4a).

    For each altitude a synthetic ``planes x per_plane`` shell is searched against
    ``stations`` over ``duration_s`` from the shell epoch.  Columns:
    ``mean_contact_fraction`` (share of time an average satellite sees at least one
    station), ``mean_pass_s``, ``passes_per_sat_day``, ``pass_fraction_of_period``
    (mean pass duration over the orbital period: the paper's Fig. 4a quantity) and
    the analytic ``overhead_pass_fraction`` at the strictest station mask.
    """
    from .contacts import find_contacts
    from .shells import WalkerShell

    rows = []
    mask = max(s.min_elevation_deg for s in stations)
    for alt in altitudes_km:
        shell = WalkerShell(altitude_km=float(alt), inclination_deg=inclination_deg,
                            planes=planes, sats_per_plane=per_plane,
                            phasing=1 % planes)
        windows = find_contacts(shell.satrecs(), stations, shell.epoch, duration_s,
                                step_s=step_s, workers=workers)
        sat = per_satellite(windows, duration_s)
        total = float(sat["contact_s"].sum()) if len(sat) else 0.0
        rows.append({
            "altitude_km": float(alt),
            "satellites": shell.size,
            "passes": len(windows),
            "mean_contact_fraction": total / (duration_s * shell.size),
            "mean_pass_s": float(windows["duration_s"].mean()) if len(windows) else 0.0,
            "passes_per_sat_day": len(windows) / shell.size * 86400.0 / duration_s,
            "pass_fraction_of_period": (float(windows["duration_s"].mean()) if len(windows)
                                        else 0.0) / orbital_period_s(float(alt)),
            "overhead_pass_fraction": overhead_pass_fraction(float(alt), mask),
            "synthetic": True,
        })
        if progress:
            progress(1)
    return pd.DataFrame(rows)
