"""Where the contact search's chunks run: in this process, in forked workers, or in a
process started early (:mod:`~simulator.orbits.preloaded_search`).

:func:`run_chunks` is the plain way: the satellites are cut into chunks
(:func:`chunk_bounds`) and :func:`contact_search.search_chunk` runs on each, here or in
worker processes forked from here (the compiled kernel is loaded first, so they start
with it).  Either way the chunks come back in order and give the same windows.

The process that runs them for ``spaceverse contacts``, started before its inputs are
read, is :mod:`simulator.orbits.preloaded_search`.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from multiprocessing import get_context
from typing import Iterator, Sequence

import numpy as np

from . import contact_search as _search
from .frames import EarthClock

_JOB: tuple | None = None  # shared with forked workers (Satrec objects do not pickle)


def search_clock(start: datetime, step_s: float, duration_s: float) -> EarthClock:
    """The Earth-rotation clock of a search over ``[0, duration_s]`` on ``step_s`` cells."""
    n_cells = max(1, int(np.ceil(duration_s / step_s - 1e-9)))
    clock = EarthClock(start)
    clock.prepare(-step_s, (n_cells + 2) * step_s)
    return clock


def chunk_bounds(n_sats: int, n_times: int, workers: int) -> list[tuple[int, int]]:
    """``(lo, hi)`` satellite ranges of the chunks (memory per chunk does not depend on
    the span: time is processed in blocks of :data:`contact_search.BLOCK_CELLS`)."""
    size = chunk_size(n_times, n_sats, workers)
    return [(lo, min(lo + size, n_sats)) for lo in range(0, n_sats, size)]


def chunk_size(n_times: int, n_sats: int, workers: int) -> int:
    """Satellites per chunk: 256, fewer when that would leave a worker idle."""
    size = 256
    if workers > 1:  # keep all workers busy
        size = min(size, max(1, -(-n_sats // (4 * workers))))
    return size


def chunk_windows(satrecs, st, clock, step_s, duration_s, kernel, lo, hi) -> _search.ChunkWindows:
    """The windows of satellites ``lo:hi``, their indices (``sat``, ``excluded``) global."""
    out = _search.search_chunk(satrecs[lo:hi], st, clock, step_s, duration_s, kernel)
    out.sat = out.sat + lo
    out.excluded = [(i + lo, why) for i, why in out.excluded]
    return out


def _run_chunk(bounds) -> _search.ChunkWindows:
    satrecs, st, clock, step_s, duration_s, kernel = _JOB
    return chunk_windows(satrecs, st, clock, step_s, duration_s, kernel, *bounds)


def run_chunks(satrecs: Sequence, st, clock: EarthClock, step_s: float, duration_s: float,
               kernel: str, bounds: Sequence[tuple[int, int]],
               workers: int) -> Iterator[_search.ChunkWindows]:
    """The chunks ``bounds`` in order, in this process (one worker or one chunk) or in
    ``workers`` processes forked from it."""
    global _JOB
    if workers <= 1 or len(bounds) <= 1:
        for lo, hi in bounds:
            yield chunk_windows(satrecs, st, clock, step_s, duration_s, kernel, lo, hi)
        return
    # The compiled kernel is loaded here, once, before the workers are forked: they
    # start with it (loading it in each worker took as long on each of two busy cores
    # as once here, and twice the CPU and memory).
    _search.warm_up(kernel)
    _JOB = (satrecs, st, clock, step_s, duration_s, kernel)
    try:
        with ProcessPoolExecutor(max_workers=min(workers, len(bounds)),
                                 mp_context=get_context("fork")) as pool:
            yield from pool.map(_run_chunk, bounds)
    finally:
        _JOB = None
