"""What happened when: transfers, buffer levels, compute, latencies, from a run's tables.

Everything here reads the run folder's tables (``samples.parquet``,
``transmissions.parquet``, ``contacts.parquet``) and nothing else:

* :func:`transfers` merges the transmitted pieces (one row per TCP round in
  ``transmissions.parquet``) into *transfers*: back-to-back pieces of one sample
  over one station.  A transfer cut by the end of a window and resumed in the
  next one is two transfers.  Each is ``raw`` or ``compressed``: compressed when
  the sample was sent smaller than it was captured (``bytes_sent < bytes_raw``).
* :func:`buffer_levels` is the downlink buffer of every satellite over time: a
  sample enters when its onboard stage and compression end, with ``bytes_sent``;
  its bytes leave as each transfer ends (the level between pieces of one transfer,
  a fraction of a second, is not kept).
* :func:`compute_intervals` gives the onboard and ground compute of every sample.
* :func:`latency_cdf` and :func:`breakdown` are the latency views.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Pieces of one sample closer than this (seconds) belong to one transfer.
MERGE_GAP_S = 1.0
#: The latencies of the CDF view: column, label.
LATENCIES = (("service_latency_s", "service"), ("in_contact_latency_s", "in contact"),
             ("end_to_end_latency_s", "end to end"))
#: The parts of a sample's end-to-end latency, in the order they happen: label, columns.
PARTS = (("onboard", ("onboard_queue_s", "onboard_s", "compress_s")),
         ("buffer", ("buffer_queue_s",)),
         ("wait for contact", ("wait_contact_s",)),
         ("transmission", ("tx_s",)),
         ("propagation", ("propagation_s",)),
         ("ground", ("ground_queue_s", "ground_s")))
FINISHED = ("onboard", "ground")


def sent_kind(samples: pd.DataFrame) -> np.ndarray:
    """``"compressed"`` where a sample went down smaller than captured, else ``"raw"``.

    >>> sent_kind(pd.DataFrame({"bytes_raw": [100, 100], "bytes_sent": [100, 40]})).tolist()
    ['raw', 'compressed']
    """
    smaller = samples["bytes_sent"].to_numpy(float) < samples["bytes_raw"].to_numpy(float)
    return np.where(smaller, "compressed", "raw")


def transfers(transmissions: pd.DataFrame, samples: pd.DataFrame) -> pd.DataFrame:
    """Merged transfers: ``sample, satellite, station, start_s, end_s, bytes, pieces, kind``.

    ``satellite``/``station`` are indexes (as in ``transmissions.parquet``); ``sample``
    is the row of ``samples.parquet``.
    """
    columns = ["sample", "satellite", "station", "start_s", "end_s", "bytes", "pieces", "kind"]
    if transmissions is None or not len(transmissions):
        return pd.DataFrame({c: [] for c in columns})
    t = transmissions.sort_values(["row", "start_s"], kind="stable").reset_index(drop=True)
    row = t["row"].to_numpy(int)
    station = t["station_index"].to_numpy(int)
    start, end = t["start_s"].to_numpy(float), t["end_s"].to_numpy(float)
    new = np.ones(len(t), dtype=bool)
    new[1:] = ((row[1:] != row[:-1]) | (station[1:] != station[:-1])
               | (start[1:] - end[:-1] > MERGE_GAP_S))
    group = np.cumsum(new) - 1
    first = np.flatnonzero(new)
    merged = pd.DataFrame({
        "sample": row[first],
        "satellite": t["satellite_index"].to_numpy(int)[first],
        "station": station[first],
        "start_s": start[first],
        "end_s": np.maximum.reduceat(end, first),
        "bytes": np.add.reduceat(t["bytes"].to_numpy(float), first),
        "pieces": np.bincount(group),
    })
    merged["kind"] = sent_kind(samples.iloc[merged["sample"].to_numpy()])
    return merged.sort_values("start_s", kind="stable").reset_index(drop=True)[columns]


def buffer_entry_s(samples: pd.DataFrame) -> np.ndarray:
    """When each sample enters its downlink buffer: capture + onboard queue, compute and
    compression."""
    return (samples["capture_s"] + samples["onboard_queue_s"].fillna(0)
            + samples["onboard_s"].fillna(0) + samples["compress_s"].fillna(0)).to_numpy(float)


def buffer_levels(samples: pd.DataFrame, merged: pd.DataFrame,
                  satellites: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per satellite (in ``satellites`` order), ``(t_s, bytes)``: the buffer's level after
    each change (starting at ``(0, 0)``); a step function."""
    names = {name: k for k, name in enumerate(satellites)}
    queued = samples[(samples["decision"] == "offload") & (samples["status"] != "dropped")]
    sat_in = queued["satellite"].map(names).to_numpy()
    t_in = buffer_entry_s(queued)
    b_in = queued["bytes_sent"].to_numpy(float)
    sat_out = merged["satellite"].to_numpy(int)
    t_out, b_out = merged["end_s"].to_numpy(float), merged["bytes"].to_numpy(float)
    out = []
    for k in range(len(satellites)):
        a, b = sat_in == k, sat_out == k
        times = np.r_[t_in[a], t_out[b]]
        delta = np.r_[b_in[a], -b_out[b]]
        order = np.lexsort((-delta, times))  # arrivals before departures at equal times
        level = np.clip(np.cumsum(delta[order]), 0.0, None)
        out.append((np.r_[0.0, times[order]], np.r_[0.0, level]))
    return out


def total_buffer(levels: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """The buffers of all satellites together, ``(t_s, bytes)``, from :func:`buffer_levels`.

    >>> total_buffer([(np.array([0, 1, 3.0]), np.array([0, 5, 0.0])),
    ...               (np.array([0, 2.0]), np.array([0, 7.0]))])
    (array([0., 1., 2., 3.]), array([ 0.,  5., 12.,  7.]))
    """
    times = np.concatenate([t[1:] for t, _ in levels]) if levels else np.empty(0)
    delta = np.concatenate([np.diff(b) for _, b in levels]) if levels else np.empty(0)
    order = np.argsort(times, kind="stable")
    t, total = times[order], np.clip(np.cumsum(delta[order]), 0.0, None)
    last = np.r_[t[1:] != t[:-1], True] if len(t) else np.empty(0, dtype=bool)
    return np.r_[0.0, t[last]], np.r_[0.0, total[last]]


def compute_intervals(samples: pd.DataFrame) -> dict[str, np.ndarray]:
    """Onboard and ground compute of every sample: ``onboard_start/end_s`` (nan when it
    ran nothing onboard) and ``ground_start/end_s`` (nan unless answered on the ground)."""
    start = (samples["capture_s"] + samples["onboard_queue_s"].fillna(0)).to_numpy(float)
    seconds = samples["onboard_s"].fillna(0).to_numpy(float)
    ran = (seconds > 0) & (samples["status"] != "unfinished").to_numpy()
    grounded = (samples["status"] == "ground").to_numpy()
    done = samples["done_s"].to_numpy(float)
    return {"onboard_start_s": np.where(ran, start, np.nan),
            "onboard_end_s": np.where(ran, start + seconds, np.nan),
            "ground_start_s": np.where(grounded, done - samples["ground_s"].to_numpy(float),
                                       np.nan),
            "ground_end_s": np.where(grounded, done, np.nan)}


def latency_cdf(values, points: int = 400) -> dict:
    """The empirical CDF of the finite ``values`` at most ``points`` quantiles:
    ``{"x": seconds, "p": probabilities, "n": count}``.

    >>> latency_cdf([3.0, 1.0, 2.0, float("nan")])
    {'x': [1.0, 2.0, 3.0], 'p': [0.3333, 0.6667, 1.0], 'n': 3}
    """
    v = np.sort(np.asarray(values, dtype=float))
    v = v[np.isfinite(v)]
    n = len(v)
    if n == 0:
        return {"x": [], "p": [], "n": 0}
    if n <= points:
        x, p = v, np.arange(1, n + 1) / n
    else:
        p = np.linspace(1.0 / n, 1.0, points)
        x = v[np.ceil(p * n).astype(int) - 1]
    return {"x": np.round(x, 4).tolist(), "p": np.round(p, 4).tolist(), "n": int(n)}


def breakdown(samples: pd.DataFrame, limit: int = 2000) -> dict:
    """The parts of the end-to-end latency of finished samples (:data:`PARTS`), at most
    ``limit`` of them (evenly spread over the end-to-end order when there are more):
    ``{"parts", "values": [[seconds per sample] per part], "ids", "samples", "finished",
    "shown"}``, samples in end-to-end order."""
    done = samples[samples["status"].isin(FINISHED)]
    finished = len(done)
    order = np.argsort(done["end_to_end_latency_s"].to_numpy(float), kind="stable")
    if len(order) > limit:
        order = order[np.round(np.linspace(0, len(order) - 1, limit)).astype(int)]
    done = done.iloc[order]
    values = [np.round(sum(done[c].fillna(0).to_numpy(float) for c in cols), 4).tolist()
              for _, cols in PARTS]
    return {"parts": [label for label, _ in PARTS], "values": values,
            "ids": done["sample_id"].astype(str).tolist(), "samples": int(len(samples)),
            "finished": int(finished), "shown": int(len(done))}
