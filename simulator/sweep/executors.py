"""Executors: the points of a sweep in local processes or on a Dask cluster.

Each hands every result to ``finish(point, result)`` as it arrives; interrupted
(Ctrl-C, SIGTERM), it keeps what already arrived, stops its workers and re-raises.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid

from .. import config as _cfg
from ..errors import InputError
from ..processes import fork_is_safe, skip_final_collections
from .points import Point
from .task import run_point

logger = logging.getLogger("simulator.sweep")


def _dask_client(scheduler):
    """(client, owned) for a scheduler address, a Client or a cluster object."""
    try:
        import distributed
    except ImportError:  # pragma: no cover - a declared dependency
        raise InputError("scheduler: dask distributed is not installed "
                         "(pip install 'dask[distributed]')") from None
    if isinstance(scheduler, distributed.Client):
        return scheduler, False
    if isinstance(scheduler, (str, os.PathLike)):
        address = str(scheduler)
        try:
            return distributed.Client(address, timeout="15s", set_as_default=False), True
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(f"scheduler {address}: cannot connect "
                             f"({_cfg._one_line(str(exc)) or type(exc).__name__})") from None
    if hasattr(scheduler, "scheduler_address"):  # LocalCluster, SpecCluster, ...
        return distributed.Client(scheduler, set_as_default=False), True
    raise InputError(f"scheduler: expected an address like tcp://host:8786, a "
                     f"distributed.Client or a cluster, got {type(scheduler).__name__}")


def _ignore_interrupts() -> None:
    """Initializer of local worker processes: Ctrl-C reaches the whole process group,
    but only the parent decides what happens (it stops the workers itself).  SIGTERM
    ends the worker at once, whatever handler a forked worker inherited (the command
    line turns SIGTERM into an interrupt in its own process).  A spawned worker skips the
    collector's passes at exit (a forked one ends without the interpreter's shutdown)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    skip_final_collections()  # a spawned worker exits through the interpreter's shutdown


def start_method() -> str:
    """How local sweep workers are started: ``"fork"`` where it is safe
    (:func:`~simulator.processes.fork_is_safe`), else ``"spawn"``.

    A forked worker starts in milliseconds with everything this process imported (a
    spawned one starts a new interpreter and imports the package again, about a second
    of CPU per worker).  The command line stops its progress bar's refresh thread while
    the workers start (``run_sweep``'s ``quiesce``).  Results are the same either way: a
    point reads only its own inputs.
    """
    return "fork" if fork_is_safe() else "spawn"


def _stop_pool(pool, grace_s: float = 1.0) -> None:
    """Stop a process pool now: terminate its worker processes (SIGTERM, then SIGKILL
    after ``grace_s``) and cancel what has not started.  A point being computed is
    lost (the next run of the sweep computes it); a run folder being written stays
    a hidden temporary folder that the next command removes."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        try:
            process.terminate()
        except Exception:  # noqa: BLE001 - already gone
            pass
    deadline = time.monotonic() + grace_s
    for process in processes:
        try:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(1.0)
        except Exception:  # noqa: BLE001 - already gone
            pass
    pool.shutdown(wait=False, cancel_futures=True)


def _collect_done(futures: dict, handled: set, finish) -> None:
    """Hand ``finish`` the results that arrived but were not handled yet."""
    for future, point in futures.items():
        if future in handled or not future.done() or future.cancelled():
            continue
        try:
            result = future.result(timeout=0)
        except BaseException:  # noqa: BLE001 - a crashed point: the next run retries it
            continue
        handled.add(future)
        finish(point, result)


def _run_processes(workers: int, pending: list[Point], task, finish, crashed,
                   quiesce=None) -> None:
    """Points in ``workers`` local processes, forked where that is safe (see
    :func:`start_method`), else spawned.  When a worker process dies (killed,
    out of memory), the pool is rebuilt and the points it took down are tried once
    more; a point that takes a pool down twice is recorded as failed.

    When this process is interrupted (Ctrl-C, or SIGTERM through the command line)
    it keeps the results that already arrived, terminates the workers at once (they
    ignore SIGINT themselves) and re-raises: no worker is left running.

    ``quiesce()`` (optional) is a context manager entered while the worker processes
    start: one that stops the caller's other threads (a progress bar's refresh thread)
    lets them be forked."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    deaths: dict[int, int] = {}
    remaining = list(pending)
    while remaining:
        retry: list[Point] = []
        futures: dict = {}
        handled: set = set()
        pool = None
        try:
            with quiesce() if quiesce is not None else contextlib.nullcontext():
                # chosen for each pool: a pool rebuilt after a death may find threads running
                method = start_method()
                size = min(workers, len(remaining))
                pool = ProcessPoolExecutor(max_workers=size,
                                           mp_context=multiprocessing.get_context(method),
                                           initializer=_ignore_interrupts)
                logger.info("%d local worker process(es), %s", size,
                            "forked" if method == "fork" else "spawned")
                for point in remaining:  # (forked workers all start at the first submit)
                    try:
                        futures[pool.submit(run_point, *task(point))] = point
                    except BrokenProcessPool:
                        retry.append(point)  # never started: not its fault
            for future in as_completed(futures):
                point = futures[future]
                handled.add(future)
                try:
                    result = future.result()
                except BrokenProcessPool as exc:
                    deaths[point.index] = deaths.get(point.index, 0) + 1
                    if deaths[point.index] < 2:
                        retry.append(point)
                        continue
                    result = crashed(point, exc)
                except Exception as exc:  # noqa: BLE001 - e.g. a result that cannot be sent
                    result = crashed(point, exc)
                finish(point, result)
        except BaseException:
            try:
                _collect_done(futures, handled, finish)
            finally:
                if pool is not None:
                    _stop_pool(pool)
            raise
        pool.shutdown(wait=True)
        if retry:
            logger.warning("a sweep worker process died; %d point(s) are tried again in fresh "
                           "processes", len(retry))
        remaining = sorted(retry, key=lambda p: p.index)


def _run_dask(scheduler, pending: list[Point], task, finish, crashed) -> None:
    import distributed

    client, owned = _dask_client(scheduler)
    try:
        futures = {}
        for point in pending:
            future = client.submit(run_point, *task(point), pure=False,
                                   key=f"spaceverse-point-{point.index}-{point.key}-"
                                       f"{uuid.uuid4().hex[:8]}")
            futures[future] = point
        handled: set = set()
        try:
            for future in distributed.as_completed(list(futures), loop=client.loop):
                point = futures[future]
                handled.add(future)
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001 - KilledWorker, CancelledError, ...
                    result = crashed(point, exc)
                future.release()
                finish(point, result)
        except BaseException:  # interrupted: keep what arrived, cancel the rest
            try:
                _collect_done({f: p for f, p in futures.items() if f.status == "finished"},
                              handled, finish)
            finally:
                try:
                    client.cancel(list(futures))
                except Exception:  # noqa: BLE001 - the cluster may be gone
                    pass
            raise
    finally:
        if owned:
            client.close()

