"""Service latency: what one sample costs when it has the system to itself.

The SpaceVerse paper reports an "average per-sample inference latency" (§4.2):
the time one sample takes through onboard inference, the downlink and ground
inference, measured one sample at a time.  The simulation also knows *latency
under load* (samples queue behind each other for the onboard accelerator, the
buffer, the antenna and the ground GPUs, and wait for contact windows); this
module computes the paper's metric, which depends on nothing but the sample
itself:

* kept onboard: the onboard compute up to the final answer;
* offloaded: onboard compute up to the decision + compression + the transfer of
  its bytes on a fresh connection with nothing else on the link + the light
  time + the ground model's compute.

Waiting for a contact window is left out, as the paper leaves it out; the
transfer starts when the sample is ready if a window is open then (the window
the engine would pick: the one that stays open longest), else when the next
window opens, and the capacity, round-trip time and light time are those of
that moment.  An offloaded sample with no contact after it is ready has no
service latency (``nan``); the summary counts them.

>>> import numpy as np
>>> from simulator.engine.simulation import ContactWindow
>>> windows = [[ContactWindow(100.0, 400.0, 0), ContactWindow(300.0, 900.0, 1)]]
>>> st, start = first_contact(windows, np.array([0]), np.array([350.0]))
>>> st.tolist(), start.tolist()        # both open at 350 s: the one that stays open longest
([1], [350.0])
>>> first_contact(windows, np.array([0, 0]), np.array([50.0, 950.0]))[1].tolist()
[100.0, nan]
"""

from __future__ import annotations

import numpy as np


def first_contact(windows, satellite: np.ndarray, ready_s: np.ndarray):
    """Station index and start time of the first transfer opportunity of each sample.

    ``windows[sat]`` lists :class:`~simulator.engine.simulation.ContactWindow`, or
    ``windows`` is a :class:`~simulator.engine.windows.WindowArrays`.  Returns ``(station, start_s)``: -1 / ``nan`` where no window is open at or
    after ``ready_s``.
    """
    n = len(ready_s)
    satellite = np.asarray(satellite)
    ready_s = np.asarray(ready_s, dtype=float)
    station = np.full(n, -1, dtype=np.int64)
    start = np.full(n, np.nan)
    if not n:
        return station, start
    order = np.argsort(satellite, kind="stable")
    sats, cuts = np.unique(satellite[order], return_index=True)
    bounds = np.append(cuts, n)
    for sat, a, b in zip(sats.tolist(), bounds[:-1].tolist(), bounds[1:].tolist()):
        rows = order[a:b]
        if hasattr(windows, "of"):   # WindowArrays: no window objects
            rise, set_, st = windows.of(int(sat))
            by = np.lexsort((set_, rise))   # as sorted(key=(rise, set)): stable
            rise, set_, st = rise[by], set_[by], st[by]
        else:
            wins = sorted(windows[int(sat)], key=lambda w: (w.rise_s, w.set_s))
            rise = np.array([w.rise_s for w in wins], dtype=float)
            set_ = np.array([w.set_s for w in wins], dtype=float)
            st = np.array([w.station for w in wins], dtype=np.int64)
        m = len(rise)
        if not m:
            continue
        # among windows risen by t, the one that sets last (the first of equals): the
        # index where the running maximum of ``set`` was last raised
        raised = np.ones(m, dtype=bool)
        raised[1:] = set_[1:] > np.maximum.accumulate(set_)[:-1]
        best = np.maximum.accumulate(np.where(raised, np.arange(m), 0))
        t = ready_s[rows]
        k = np.searchsorted(rise, t, side="right") - 1
        risen = k >= 0
        open_idx = np.where(risen, best[np.maximum(k, 0)], 0)
        is_open = risen & (set_[open_idx] > t)
        nxt = np.minimum(k + 1, m - 1)
        has_next = (k + 1) < m
        station[rows] = np.where(is_open, st[open_idx], np.where(has_next, st[nxt], -1))
        start[rows] = np.where(is_open, t, np.where(has_next, rise[nxt], np.nan))
    return station, start


def alone_seconds_many(transport, satellite, station, t_s, size_bytes) -> np.ndarray:
    """``transport.alone_seconds`` of many transfers: vectorised where the transport
    allows it (a TCP connection over a constant capacity with per-transfer round
    trips computed together, an ideal pipe or a fixed goodput), one by one otherwise."""
    from ..errors import InputError
    from ..links.capacity import ConstantLink
    from ..links.transport import TcpTransport

    rtt_many = getattr(getattr(transport, "_rtt_fn", None), "many", None)
    if (rtt_many is not None and isinstance(transport, TcpTransport)
            and isinstance(transport.capacity, ConstantLink)):
        rtt = np.asarray(rtt_many(satellite, station, t_s), dtype=float)
        bad = np.flatnonzero(~(np.isfinite(rtt) & (rtt > 0.0)))
        if len(bad):   # as TcpTransport.rtt_at says it
            k = int(bad[0])
            raise InputError(f"tcp transport rtt_s callable must return a finite number > 0 s, "
                             f"got {float(rtt[k])!r} for sat {int(satellite[k])}, station "
                             f"{int(station[k])} at t = {float(t_s[k]):g} s")
        return transport.alone_seconds_array(size_bytes, rtt)
    fast = getattr(transport, "alone_seconds_many", None)
    if fast is not None:
        return np.asarray(fast(satellite, station, t_s, size_bytes), dtype=float)
    return np.array([transport.alone_seconds(int(a), int(b), float(t), float(n)) for a, b, t, n
                     in zip(satellite, station, t_s, size_bytes)], dtype=float)


def light_times(propagation_s, satellite, station, t_s) -> np.ndarray:
    """``propagation_s`` of many transfers (its ``many`` method if it has one)."""
    many = getattr(propagation_s, "many", None)
    if many is not None:
        return np.asarray(many(satellite, station, t_s), dtype=float)
    return np.array([propagation_s(int(a), int(b), float(t))
                     for a, b, t in zip(satellite, station, t_s)], dtype=float)


def service_latency(*, satellite: np.ndarray, capture_s: np.ndarray, offload: np.ndarray,
                    onboard_s: np.ndarray, compress_s: np.ndarray, bytes_sent: np.ndarray,
                    ground_s: np.ndarray, windows, transport, propagation_s) -> dict:
    """Per-sample service latency and its parts (arrays of length n).

    ``transport`` is the run's :class:`~simulator.links.transport.Transport`,
    ``propagation_s(sat, station, t)`` the light time.  Returns a dict with
    ``service_latency_s``, ``service_tx_s``, ``service_propagation_s`` and
    ``service_start_s`` (nan where not offloaded or no contact).
    """
    n = len(capture_s)
    offload = np.asarray(offload, dtype=bool)
    # Only the offloaded rows have a path to the ground: computed on those rows alone
    # (the same sums in the same order), written into whole-length results.
    latency = np.array(onboard_s, dtype=float)
    service_tx = np.zeros(n)
    service_prop = np.zeros(n)
    start = np.full(n, np.nan)
    rows = np.flatnonzero(offload)
    if len(rows):
        ready = capture_s[rows] + onboard_s[rows] + compress_s[rows]
        station, t0 = first_contact(windows, satellite[rows], ready)
        start[rows] = t0
        ok = station >= 0
        tx = np.full(len(rows), np.nan)
        prop = np.full(len(rows), np.nan)
        idx = rows[ok]
        if len(idx):
            sats = np.asarray(satellite[idx], dtype=np.int64)
            tx[ok] = alone_seconds_many(transport, sats, station[ok], t0[ok],
                                        np.asarray(bytes_sent[idx]).astype(float))
            prop[ok] = light_times(propagation_s, sats, station[ok], t0[ok] + tx[ok])
        latency[rows] = onboard_s[rows] + compress_s[rows] + tx + prop + ground_s[rows]
        service_tx[rows] = tx
        service_prop[rows] = prop
    return {"service_latency_s": latency, "service_tx_s": service_tx,
            "service_propagation_s": service_prop, "service_start_s": start}


def mean_or_none(values: np.ndarray) -> float | None:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(values.mean()) if len(values) else None

