"""A process started before ``spaceverse contacts`` reads its inputs, that loads the
compiled search kernel meanwhile and then runs the search.

Importing numba and loading the compiled kernel take 0.3-0.5 s, and the command's own
start (the stations, the catalogue read) about as long, one after the other on one
core.  The command therefore forks this process first thing -- this module imports
only the standard library, so that nothing delays the fork -- and it loads the kernel
on the other core while the command reads its inputs.  As soon as the catalogue is read
(before the cache is even looked up: a cached plan stops it) it receives the
satellites as TLE lines (sgp4 objects do not pickle; the same lines give the same
``Satrec``), forks the workers of :func:`~simulator.orbits.contact_workers.run_chunks`
-- which start with the kernel and build their chunks' ``Satrec`` objects -- and sends
the chunks' windows back in order.  If it is not needed (a cached plan, a small job),
it is stopped.  Nothing depends on it: if it fails or stops, the caller computes the
chunks it did not receive itself (:mod:`~simulator.orbits.contacts`).  Linux only,
where forking a single-threaded process is safe.
"""

from __future__ import annotations

import logging
import math
import os
import signal
from contextlib import contextmanager
from multiprocessing import get_context
from datetime import datetime
from typing import Iterator, NamedTuple

from ..processes import fork_is_safe
from .search_policy import AUTO_NUMBA_WORK, MIN_PARALLEL_SAMPLES, numba_installed

logger = logging.getLogger(__name__)


def preload_pays(tle_file, duration_s: float, step_s: float, n_stations: int,
                 workers: int | None) -> bool:
    """Whether a search of the satellites in ``tle_file`` (at most one per 140 bytes)
    would run on workers with the compiled kernel, as
    :func:`~simulator.orbits.contacts.find_contacts` decides: more than one worker, at
    least :data:`~.search_policy.MIN_PARALLEL_SAMPLES` satellite x grid-time samples and
    :data:`~.search_policy.AUTO_NUMBA_WORK` cells to screen."""
    if tle_file is None or (workers or os.cpu_count() or 1) <= 1:
        return False
    try:
        n_sats = os.stat(tle_file).st_size // 140
    except (OSError, ValueError):
        return False
    n_cells = max(1, math.ceil(duration_s / step_s - 1e-9))
    return (n_sats * (n_cells + 1) >= MIN_PARALLEL_SAMPLES
            and n_sats * n_cells * n_stations >= AUTO_NUMBA_WORK)


def preload_possible() -> bool:
    """Whether a :class:`PreloadedSearch` can start here: forking is safe
    (:func:`~simulator.processes.fork_is_safe`) and numba is installed."""
    return fork_is_safe() and numba_installed()


class SearchJob(NamedTuple):
    """A search handed to a :class:`PreloadedSearch`: the satellites as TLE lines, the
    station arrays, the interval and grid step, the kernel, the chunks and the workers
    (what :func:`~.contact_workers.run_chunks` takes, lines for ``Satrec`` objects)."""

    lines: list
    st: object
    start: datetime
    step_s: float
    duration_s: float
    kernel: str
    bounds: list
    workers: int


class PreloadedSearch:
    """A forked process that loads the compiled kernel now and runs one search later.

    Use :func:`preloaded_search`; :meth:`search` yields the chunks' windows in order
    and stops early (the caller computes the rest) if the process fails or stops.
    The process and the workers it forks form their own process group, stopped
    together (SIGKILL) by :meth:`close`: they hold no file and write nothing.
    """

    def __init__(self):
        parent, child = get_context("fork").Pipe(duplex=True)
        self._conn = parent
        self._sent: SearchJob | None = None  # the job handed over (one per process)
        self._failed: str | None = None
        self._process = get_context("fork").Process(target=_serve, args=(child, parent),
                                                    name="spaceverse-contact-search")
        self._process.start()
        child.close()
        try:  # the child does the same first thing: whichever runs first, no race
            os.setpgid(self._process.pid, self._process.pid)
        except OSError:
            pass

    def submit(self, job: SearchJob) -> None:
        """Start the search ``job`` (see :meth:`search`) now; :meth:`search` with the same
        job object then only receives its chunks."""
        if self._sent is not None:
            return
        logger.info("contact search: %d satellites in %d chunks, %d workers forked from the "
                    "process that loaded the kernel while the inputs were read", len(job.lines),
                    len(job.bounds), job.workers)
        self._sent = job
        try:
            self._conn.send(job)
        except OSError as exc:
            self._failed = f"{type(exc).__name__}"

    def search(self, job: SearchJob) -> Iterator:
        """The chunks of ``job`` in order: the same as :func:`~.contact_workers.run_chunks`
        on the ``Satrec`` objects of its lines.  Stops early (the caller computes the
        rest) if the process fails or stops, or was given another job."""
        self.submit(job)
        if self._sent is not job:
            logger.info("the preloaded contact search has another job; searching here")
            return
        try:
            if self._failed is not None:
                raise OSError(self._failed)
            for _ in job.bounds:
                kind, payload = self._conn.recv()
                if kind != "part":
                    logger.info("the preloaded contact search failed (%s); searching here",
                                payload)
                    return
                yield payload
        except (EOFError, OSError) as exc:
            logger.info("the preloaded contact search stopped (%s); searching here",
                        type(exc).__name__)

    def close(self) -> None:
        """Stop the process and its workers (at once; used or not)."""
        process, self._process = self._process, None
        if process is None:
            return
        for stop in (lambda: os.killpg(process.pid, signal.SIGKILL), process.kill):
            try:
                stop()
                break
            except OSError:  # not yet its own group (it has just started), or gone
                continue
        process.join(5.0)
        self._conn.close()


@contextmanager
def preloaded_search(wanted: bool) -> Iterator[PreloadedSearch | None]:
    """A :class:`PreloadedSearch` when ``wanted`` and :func:`preload_possible`, else None;
    stopped on leaving."""
    helper = None
    if wanted and preload_possible():
        try:
            helper = PreloadedSearch()
        except OSError as exc:  # cannot fork (memory, process limit): search here
            logger.info("no preloaded contact search (%s)", exc)
    try:
        yield helper
    finally:
        if helper is not None:
            helper.close()


def _serve(conn, callers_end) -> None:
    """The preloaded process: load the kernel, wait for one job, send its chunks."""
    try:
        os.setpgid(0, 0)
    except OSError:
        pass
    # Only the caller may hold its end of the pipe, and only this process ours (not the
    # workers it forks): then either side sees the other go (EOF, a broken pipe) at once.
    callers_end.close()
    os.register_at_fork(after_in_child=conn.close)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the caller decides, and stops us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    import threading

    # The job is read while the kernel loads: the caller's send (megabytes of TLE lines,
    # more than a pipe holds) never waits for the kernel (a first-ever compile: seconds).
    received: list = []
    reader = threading.Thread(target=_receive, args=(conn, received), daemon=True)
    reader.start()
    try:
        from . import contact_search
        from .contact_workers import run_chunks, search_clock
        from .frames import timescale

        contact_search.warm_up("numba")
        timescale()  # (the clock's UT1 table, read once)
    except Exception as exc:  # noqa: BLE001 - reported; the caller searches itself
        _send_or_stop(conn, ("failed", f"{type(exc).__name__}: {exc}"))
        return
    reader.join()  # (no thread left when the workers are forked)
    if not received:  # the caller is gone, or stopped us
        return
    job: SearchJob = received[0]
    try:
        satrecs = _SatrecsFromLines(job.lines)  # each worker builds its chunks' own
        clock = search_clock(job.start, job.step_s, job.duration_s)
        for part in run_chunks(satrecs, job.st, clock, job.step_s, job.duration_s, job.kernel,
                               job.bounds, job.workers):
            _send_or_stop(conn, ("part", part))
    except Exception as exc:  # noqa: BLE001 - the caller computes what is missing
        _send_or_stop(conn, ("failed", f"{type(exc).__name__}: {exc}"))


class _SatrecsFromLines:
    """``Satrec`` objects built from TLE lines when a chunk (a slice) is asked for."""

    def __init__(self, lines):
        self._lines = lines

    def __len__(self) -> int:
        return len(self._lines)

    def __getitem__(self, chunk: slice) -> list:
        from sgp4.api import Satrec

        return [Satrec.twoline2rv(line1, line2) for line1, line2 in self._lines[chunk]]


def _receive(conn, into: list) -> None:
    try:
        into.append(conn.recv())
    except (EOFError, OSError):
        pass


def _send_or_stop(conn, message) -> None:
    """Send ``message``; if the caller is gone, stop this process and its workers now."""
    try:
        conn.send(message)
    except OSError:
        if os.getpgrp() == os.getpid():  # our own group: this process and its workers
            os.killpg(0, signal.SIGKILL)
        os._exit(1)
