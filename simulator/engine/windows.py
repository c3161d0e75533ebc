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
    #: per satellite, the windows the service latency may use (a day further; arrays
    #: with an orbital link, :class:`WindowArrays`)
    service_windows: "WindowArrays | list[list[ContactWindow]]"


def contact_plan(scenario, orbits, stations, start, horizon_s: float) -> ContactPlan:
    """The scenario's :class:`ContactPlan` (``link.availability``, ``time.contact_step_s``)."""
    if scenario.link.availability == "always":
        windows = [[ContactWindow(0.0, math.inf, 0)] for _ in orbits]
        return ContactPlan(pd.DataFrame(), windows, windows)
    from ..orbits.contacts import cached_contacts

    ahead = cached_contacts(orbits, stations, start, horizon_s + SERVICE_LOOKAHEAD_S,
                            step_s=scenario.time.contact_step_s)
    service_windows = window_arrays(ahead, orbits, stations)
    rise = ahead["rise_s"]
    if rise.is_monotonic_increasing:  # (the search's order) a slice: no copy
        contacts = ahead.iloc[:int(np.searchsorted(rise.to_numpy(float), horizon_s))]
    else:
        contacts = ahead[rise < horizon_s]
    contacts = contacts.reset_index(drop=True)
    windows = service_windows.lists(before=horizon_s)
    return ContactPlan(contacts, windows, service_windows)


class WindowArrays:
    """Contact windows per satellite as flat arrays (a few bytes a window, where window
    objects take a hundred): satellite ``k``'s windows are rows ``bounds[k]:bounds[k + 1]``
    of ``station``, ``rise_s`` and ``set_s``, in rise order.

    Indexing or iterating gives each satellite's windows as a list of
    :class:`~simulator.engine.simulation.ContactWindow` (made on demand), so it reads
    like the list of lists the engine uses; :meth:`of` gives one satellite's arrays and
    :attr:`arrays` all of them, which is what the service latency and the slant-range
    table read.
    """

    def __init__(self, station: np.ndarray, rise_s: np.ndarray, set_s: np.ndarray,
                 bounds: np.ndarray) -> None:
        self.station = np.asarray(station, dtype=np.int64)
        self.rise_s = np.asarray(rise_s, dtype=float)
        self.set_s = np.asarray(set_s, dtype=float)
        self.bounds = np.asarray(bounds, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.bounds) - 1

    def __getitem__(self, k: int) -> list[ContactWindow]:
        lo, hi = self._span(k)
        return list(map(ContactWindow, self.rise_s[lo:hi].tolist(), self.set_s[lo:hi].tolist(),
                        self.station[lo:hi].tolist()))

    def __iter__(self):
        for k in range(len(self)):
            yield self[k]

    def _span(self, k: int) -> tuple[int, int]:
        k = range(len(self))[k]   # negative indices, IndexError
        return int(self.bounds[k]), int(self.bounds[k + 1])

    def of(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(rise_s, set_s, station)`` of satellite ``k``'s windows (views)."""
        lo, hi = self._span(k)
        return self.rise_s[lo:hi], self.set_s[lo:hi], self.station[lo:hi]

    @property
    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(satellite, station, rise_s, set_s)`` of every window, satellite by satellite."""
        sat = np.repeat(np.arange(len(self), dtype=np.int64), np.diff(self.bounds))
        return sat, self.station, self.rise_s, self.set_s

    def lists(self, before: float | None = None) -> list[list[ContactWindow]]:
        """Window objects per satellite (only those rising before ``before`` if given)."""
        keep = self.rise_s < before if before is not None else None
        rise, set_, st = self.rise_s, self.set_s, self.station
        bounds = self.bounds
        if keep is not None:
            rise, set_, st = rise[keep], set_[keep], st[keep]
            bounds = np.concatenate(([0], np.cumsum(keep)))[self.bounds]
        # Millions of small objects: the cyclic garbage collector, which would scan them all
        # again and again while they are made, is paused (they hold no cycles).
        paused = gc.isenabled()
        gc.disable()
        try:
            made = list(map(ContactWindow, rise.tolist(), set_.tolist(), st.tolist()))
        finally:
            if paused:
                gc.enable()
        cuts = bounds.tolist()
        return [made[cuts[k]:cuts[k + 1]] for k in range(len(self))]


def window_arrays(contacts: pd.DataFrame, orbits, stations) -> WindowArrays:
    """A contact table (``satellite``, ``station``, ``rise_s``, ``set_s``) as
    :class:`WindowArrays`: per satellite index, in rise order (ties as the table's stable
    sort leaves them), the station by index."""
    if not len(contacts):
        empty = np.zeros(0)
        return WindowArrays(empty.astype(np.int64), empty, empty,
                            np.zeros(len(orbits) + 1, dtype=np.int64))
    ordered = contacts.sort_values("rise_s")   # (the same stable order as before)
    sat_of = {o.name: i for i, o in enumerate(orbits)}
    st_of = {s.name: j for j, s in enumerate(stations)}
    sat = _codes(ordered["satellite"], sat_of)
    order = np.argsort(sat, kind="stable")       # satellite by satellite, in rise order
    bounds = np.searchsorted(sat[order], np.arange(len(orbits) + 1))
    return WindowArrays(_codes(ordered["station"], st_of)[order],
                        ordered["rise_s"].to_numpy(dtype=float)[order],
                        ordered["set_s"].to_numpy(dtype=float)[order], bounds)


def windows_by_satellite(contacts: pd.DataFrame, orbits, stations) -> list[list[ContactWindow]]:
    """A contact table (``satellite``, ``station``, ``rise_s``, ``set_s``) as windows per
    satellite index, each in rise order, naming its station by index."""
    return window_arrays(contacts, orbits, stations).lists()


def _codes(names: pd.Series, index: dict) -> np.ndarray:
    """``index[name]`` of every name (a KeyError names the first unknown one).  The names
    are hashed once (``pd.factorize``), and only the distinct ones looked up."""
    codes, uniques = pd.factorize(names, sort=False, use_na_sentinel=True)
    if (codes < 0).any():
        raise KeyError(names.iloc[int(np.flatnonzero(codes < 0)[0])])
    lookup = np.array([index[str(name)] for name in uniques], dtype=np.int64)
    return lookup[codes] if len(uniques) else np.zeros(0, dtype=np.int64)
