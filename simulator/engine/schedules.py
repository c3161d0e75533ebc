"""Closed-form first-come-first-served schedules, exact to the last bit.

The event loop (:mod:`simulator.engine.simulation`) needs no event for a queue
whose service times are known when each job starts: the onboard accelerator and
the ground GPUs serve first come, first served, so their start and end times
follow from the arrivals.  Each function here returns what the event-by-event
recursion would give in floating point, bit for bit, vectorised where it can be.
"""

from __future__ import annotations

import heapq
import math

import numpy as np


def fifo_schedule(capture: np.ndarray, work: np.ndarray, slots: int):
    """Start and end times of FIFO service with ``slots`` servers (capture order).

    The result is exactly the recursion ``start_k = max(capture_k, end_{k-1})``,
    ``end_k = start_k + work_k`` evaluated in floating point, so a sample that
    does not wait has ``start == capture`` exactly (a wait of exactly 0, never
    -1e-11), ``start >= capture`` always and ``end == start + work`` always.

    With one server it is vectorised.  The closed form ``end_k = W_k +
    max_{j<=k}(capture_j - W_{j-1})`` (``W`` the cumulative work, one
    ``maximum.accumulate``) is right to rounding only: subtracting large
    cumulative sums leaves errors of ~1e-11 s, enough to turn "no wait" into a
    tiny negative or positive one.  So it only *guesses* the busy periods (runs
    of samples each starting when the previous ends).  Inside each period the
    recursion is a plain running sum from the period's first capture; periods
    of similar length are padded into one matrix and summed row by row with
    ``np.add.accumulate`` (sequential, hence the recursion's exact rounding).
    Then every guess is checked against the exact ends (``capture_k >=
    end_{k-1}`` starts a new period); a wrong guess can only be a near-tie and
    is corrected, which makes the first disagreement move strictly forward, so
    this ends -- in practice at once.  Short queues use the loop directly.

    >>> fifo_schedule(np.array([0., 1., 10.]), np.array([5., 5., 1.]), 1)
    (array([ 0.,  5., 10.]), array([ 5., 10., 11.]))
    """
    capture = np.asarray(capture, dtype=float)
    work = np.asarray(work, dtype=float)
    n = len(capture)

    def loop(servers: int):
        free = [-math.inf] * servers
        starts, ends = [], []
        for c, d in zip(capture.tolist(), work.tolist()):
            t = heapq.heappop(free)
            start = c if c > t else t
            heapq.heappush(free, start + d)
            starts.append(start)
            ends.append(start + d)
        return np.asarray(starts, dtype=float), np.asarray(ends, dtype=float)

    if slots != 1 or n < 512:  # a Python loop: exact, and quicker for short queues
        return loop(max(1, int(slots)))

    def periods(first: np.ndarray):
        """The recursion, given which samples start a busy period."""
        start = capture.copy()
        end = np.empty(n)
        lone = first & np.append(first[1:], True)  # periods of one sample
        end[lone] = capture[lone] + work[lone]
        heads = np.flatnonzero(first & ~lone)
        if len(heads) == 0:
            return start, end
        bounds = np.append(np.flatnonzero(first), n)
        lengths = bounds[np.searchsorted(bounds, heads, side="right")] - heads
        bucket = np.ceil(np.log2(lengths)).astype(np.int8)  # padded to a power of two
        for b in np.unique(bucket):
            sel = np.flatnonzero(bucket == b)
            h, size = heads[sel], lengths[sel]
            if len(sel) == 1:  # one long period: a plain running sum
                h0, k = int(h[0]), int(size[0])
                acc = np.add.accumulate(np.concatenate(([capture[h0]], work[h0:h0 + k])))
                start[h0 + 1:h0 + k] = acc[1:-1]
                end[h0:h0 + k] = acc[1:]
                continue
            width = (1 << int(b)) + 1  # column 0: the period's first capture
            rows = np.repeat(np.arange(len(sel)), size)
            offset = np.arange(int(size.sum())) - np.repeat(np.cumsum(size) - size, size)
            members = h[rows] + offset
            slot = rows * width + offset + 1
            table = np.zeros(len(sel) * width)
            table[np.arange(len(sel)) * width] = capture[h]
            table[slot] = work[members]
            table = np.add.accumulate(table.reshape(len(sel), width), axis=1).ravel()
            start[members] = table[slot - 1]
            end[members] = table[slot]
        return start, end

    total = np.cumsum(work)
    guess_end = total + np.maximum.accumulate(capture - (total - work))
    first = np.ones(n, dtype=bool)
    first[1:] = capture[1:] >= guess_end[:-1]
    for _ in range(32):
        start, end = periods(first)
        exact = np.ones(n, dtype=bool)
        exact[1:] = capture[1:] >= end[:-1]
        if np.array_equal(exact, first):
            return start, end
        first = exact
    return loop(1)  # pathological near-ties everywhere: the plain recursion

def timeout_chain(ends: np.ndarray) -> np.ndarray:
    """When a process that waits ``timeout(end - now)`` for each of ``ends`` in turn
    (non-decreasing, from time 0) resumes: ``t_k = t_{k-1} + (end_k - t_{k-1})`` if
    ``end_k > t_{k-1}``, else ``t_{k-1}``.

    Usually ``t_k == end_k`` exactly; rounding can leave an ulp of difference
    where ``end_k`` is more than twice ``t_{k-1}``.  Vectorised: the guess
    ``t = ends`` is corrected until it is a fixed point (each pass settles at
    least the first wrong element, in practice all at once).

    >>> timeout_chain(np.array([0.0, 0.1, 0.3, 0.3, 1e9 + 0.1])).tolist()
    [0.0, 0.1, 0.3, 0.3, 1000000000.1]
    """
    ends = np.asarray(ends, dtype=float)
    t = ends.copy()
    for _ in range(64):
        prev = np.concatenate(([0.0], t[:-1]))
        new = np.where(ends > prev, prev + (ends - prev), prev)
        if np.array_equal(new, t):
            return t
        t = new
    now, out = 0.0, []
    for e in ends.tolist():
        if e > now:
            now = now + (e - now)
        out.append(now)
    return np.asarray(out, dtype=float)

def gpu_schedule(arrival: np.ndarray, work: np.ndarray, gpus: int):
    """:func:`fifo_schedule` of sorted arrivals on ``gpus`` servers, at once where no
    arrival ever finds them all busy (then every sample starts when it arrives):
    with every ``end_j > arrival_j``, the samples in service when ``k`` arrives
    are the ends after ``arrival_k`` less those of ``k`` and later."""
    if gpus > 1 and len(arrival) > 64:
        end = arrival + work
        if (end > arrival).all():
            ends = np.sort(end)
            busy = (len(end) - np.searchsorted(ends, arrival, side="right")
                    - (len(end) - np.arange(len(end))))
            if busy.max() < gpus:
                return arrival.copy(), end
    return fifo_schedule(arrival, work, gpus)
