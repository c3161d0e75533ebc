"""When each satellite can downlink: the run's contact plan as simulation windows.

With ``link.availability: orbital`` the contact windows come from the contact
search (:func:`simulator.orbits.contacts.cached_contacts`) over the run's
horizon and a day past it (:data:`SERVICE_LOOKAHEAD_S`): a sample's *service*
latency needs the first contact after it is ready, even when that comes after
the run ends.  With ``availability: always`` every satellite has one endless
window to station 0.
"""

from __future__ import annotations

import gc
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .simulation import ContactWindow

#: Contacts are searched this far past the horizon, for the service latency only.
SERVICE_LOOKAHEAD_S = 24 * 3600.0


@dataclass
class ContactPlan:
    """The contact plan of a run."""

    #: the contact windows that rise before the horizon (empty when always connected)
    contacts: pd.DataFrame
    #: per satellite, the windows the simulation uses (rising before the horizon)
    windows: list[list[ContactWindow]]
    #: per satellite, the windows the service latency may use (a day further)
    service_windows: list[list[ContactWindow]]


def contact_plan(scenario, orbits, stations, start, horizon_s: float) -> ContactPlan:
    """The scenario's :class:`ContactPlan` (``link.availability``, ``time.contact_step_s``)."""
    if scenario.link.availability == "always":
        windows = [[ContactWindow(0.0, math.inf, 0)] for _ in orbits]
        return ContactPlan(pd.DataFrame(), windows, windows)
    from ..orbits.contacts import cached_contacts

    ahead = cached_contacts(orbits, stations, start, horizon_s + SERVICE_LOOKAHEAD_S,
                            step_s=scenario.time.contact_step_s)
    service_windows = windows_by_satellite(ahead, orbits, stations)
    contacts = ahead[ahead["rise_s"] < horizon_s].reset_index(drop=True)
    windows = [[w for w in ws if w.rise_s < horizon_s] for ws in service_windows]
    return ContactPlan(contacts, windows, service_windows)


def windows_by_satellite(contacts: pd.DataFrame, orbits, stations) -> list[list[ContactWindow]]:
    """A contact table (``satellite``, ``station``, ``rise_s``, ``set_s``) as windows per
    satellite index, each in rise order, naming its station by index."""
    windows: list[list[ContactWindow]] = [[] for _ in orbits]
    if not len(contacts):
        return windows
    ordered = contacts.sort_values("rise_s")   # (the same stable order as before)
    sat_of = {o.name: i for i, o in enumerate(orbits)}
    st_of = {s.name: j for j, s in enumerate(stations)}
    sat = _codes(ordered["satellite"], sat_of)
    order = np.argsort(sat, kind="stable")       # satellite by satellite, in rise order
    bounds = np.searchsorted(sat[order], np.arange(len(orbits) + 1)).tolist()
    st = _codes(ordered["station"], st_of)[order].tolist()
    rise = ordered["rise_s"].to_numpy(dtype=float)[order].tolist()
    set_ = ordered["set_s"].to_numpy(dtype=float)[order].tolist()
    # Millions of small objects: the cyclic garbage collector, which would scan them all
    # again and again while they are made, is paused (they hold no cycles).
    paused = gc.isenabled()
    gc.disable()
    try:
        made = list(map(ContactWindow, rise, set_, st))
    finally:
        if paused:
            gc.enable()
    for k in range(len(orbits)):
        windows[k] = made[bounds[k]:bounds[k + 1]]
    return windows


def _codes(names: pd.Series, index: dict) -> np.ndarray:
    """``index[name]`` of every name (a KeyError names the first unknown one).  The names
    are hashed once (``pd.factorize``), and only the distinct ones looked up."""
    codes, uniques = pd.factorize(names, sort=False, use_na_sentinel=True)
    if (codes < 0).any():
        raise KeyError(names.iloc[int(np.flatnonzero(codes < 0)[0])])
    lookup = np.array([index[str(name)] for name in uniques], dtype=np.int64)
    return lookup[codes] if len(uniques) else np.zeros(0, dtype=np.int64)
