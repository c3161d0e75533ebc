"""Running a sweep: read back what is done, compute the rest, keep the table current."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd

from .. import config as _cfg
from ..errors import InputError
from ..fileio import clean_leftovers, write_atomic
from ..results import (POINTS_DIR, SWEEP_FILE, SWEEP_TABLE, read_point, read_sweep_table,
                       write_sweep_table)
from .executors import _dask_client, _run_dask, _run_processes
from .points import Point, Sweep, load_sweep
from .table import axis_encoders, point_row, sweep_frame
from .task import _exception_text, run_point

logger = logging.getLogger("simulator.sweep")

Progress = Callable[[int, int, str], None]


#: ``sweep.parquet`` is rewritten after a point when this long has passed since the last time.
TABLE_EVERY_S = 1.0


def run_sweep(sweep: Sweep | str | Path, *, out_dir: str | Path | None = None,
              workers: int = 1, scheduler: Any = None, progress: Progress | None = None,
              resume: bool = True, quiesce: Callable[[], Any] | None = None) -> pd.DataFrame:
    """Run every point of ``sweep``; return the ``sweep.parquet`` table.

    ``out_dir`` defaults to ``results/sweeps/<name>``.  ``workers`` local
    processes (1: in this process), or the Dask cluster ``scheduler`` (an
    address, a ``distributed.Client`` or a cluster object; ``workers`` is then
    ignored).  ``progress(done, total, key)`` is called after each point (points
    read back from an earlier run first).  With ``resume`` (default) points whose
    run folder is complete are read back, not recomputed; ``resume=False``
    recomputes everything.  The returned frame's ``attrs`` hold ``out_dir`` and
    the keys ``computed``, ``cached`` and ``failed`` of this call.  ``sweep.parquet``
    is written when the sweep starts, after a point at most every
    :data:`TABLE_EVERY_S` seconds, and when it ends or is interrupted.
    ``quiesce()``: a context manager entered while local worker processes start, for a
    caller that runs other threads (e.g. a progress bar's refresh thread): stopping
    them meanwhile lets the workers be forked (see
    :func:`~simulator.sweep.executors.start_method`).
    """
    if not isinstance(sweep, Sweep):
        sweep = load_sweep(sweep)
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise InputError(f"workers: expected an integer >= 1, got {workers!r}")
    out = Path(out_dir) if out_dir is not None else sweep.default_out_dir()
    points_dir = out / POINTS_DIR
    owned_client = None
    if scheduler is not None and not hasattr(scheduler, "submit"):
        # reach the cluster before anything is written: an unreachable scheduler leaves no
        # half-made sweep folder behind
        scheduler, owned = _dask_client(scheduler)
        owned_client = scheduler if owned else None
    try:
        points_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: cannot create the sweep folder ({exc.strerror or exc})") from None
    # What killed sweeps left: half-built point folders, temporary tables.
    clean_leftovers(out)
    clean_leftovers(points_dir)
    started = time.time()
    write_atomic(out / SWEEP_FILE, lambda p: p.write_text(sweep.resolved_yaml()),
                 what="sweep file")

    points = sweep.points()
    total = len(points)
    encoders = axis_encoders(sweep.axes)
    rows: dict[int, dict] = {}
    computed: list[str] = []
    cached: list[str] = []
    failed: list[str] = []
    table_path = out / SWEEP_TABLE

    saved = [0.0]

    def save() -> None:
        write_sweep_table(out, sweep_frame(list(rows.values()), list(sweep.axes)))
        saved[0] = time.monotonic()

    def tick(point: Point) -> None:
        if progress is not None:
            progress(len(rows), total, point.key)

    pending: list[Point] = []
    for point in points:
        metrics = read_point(points_dir / point.key, point.key) if resume else None
        if metrics is None:
            pending.append(point)
            continue
        rows[point.index] = point_row(point, encoders, status="ok", metrics=metrics)
        cached.append(point.key)
    save()
    for point in points:
        if point.index in rows:
            tick(point)
    if cached:
        logger.info("sweep %s: %d of %d point(s) read back from %s", sweep.name, len(cached),
                    total, points_dir)

    def finish(point: Point, result: dict) -> None:
        if result.get("ok"):
            rows[point.index] = point_row(point, encoders, status="ok", metrics=result["metrics"],
                                     wall_s=float(result["wall_s"]))
            computed.append(point.key)
            logger.info("sweep %s: point %d (%s) done in %.1f s", sweep.name, point.index,
                        point.describe(), result["wall_s"])
        else:
            error = sweep.point_error(point, result.get("error", ""), result.get("problems"))
            rows[point.index] = point_row(point, encoders, status="failed", error=error,
                                     wall_s=float(result.get("wall_s", float("nan"))))
            failed.append(point.key)
            logger.warning("sweep %s: point %d (%s) failed: %s", sweep.name, point.index,
                           point.describe(), error)
        # The table follows the points at most every TABLE_EVERY_S (and at the end, and
        # when interrupted): rewriting it costs more than a tiny point.  Resuming reads
        # the points' run folders, never the table.
        if time.monotonic() - saved[0] >= TABLE_EVERY_S:
            save()
        tick(point)

    def crashed(point: Point, exc: BaseException) -> dict:
        return {"ok": False, "error": f"the worker running this point failed: "
                                      f"{_exception_text(exc)}", "problems": [],
                "wall_s": float("nan")}

    def task(point: Point) -> tuple:
        return (_cfg.dump_resolved(point.scenario), str(sweep.base_path.parent),
                str(points_dir.resolve()), point.key,
                f"{sweep.base_source} [sweep {sweep.name} point {point.index}]")

    try:
        if pending:
            if scheduler is not None:
                _run_dask(scheduler, pending, task, finish, crashed)
            elif workers == 1 or len(pending) == 1:
                for point in pending:
                    finish(point, run_point(*task(point)))
            else:
                _run_processes(min(workers, len(pending)), pending, task, finish, crashed,
                               quiesce)
    except BaseException:
        # Interrupted (Ctrl-C, SIGTERM) or failed: the executor has stopped its workers
        # and handed over what it had; points whose run folder was completed meanwhile
        # are read back, so the table holds every finished point when this returns.
        for point, metrics in _finished_meanwhile(pending, rows, points_dir, started):
            rows[point.index] = point_row(point, encoders, status="ok", metrics=metrics)
            computed.append(point.key)
        save()
        raise
    finally:
        if owned_client is not None:
            owned_client.close()

    save()
    frame = read_sweep_table(table_path)  # exactly what the file holds
    frame.attrs.update({"out_dir": str(out), "computed": computed, "cached": cached,
                        "failed": failed})
    return frame


def _finished_meanwhile(pending: list[Point], rows: dict, points_dir: Path,
                        since: float) -> list[tuple[Point, dict]]:
    """``(point, metrics)`` of the points of ``pending`` without a row whose run folder
    is complete, was written after ``since`` (a folder of an earlier sweep does not
    count) and reads back."""
    found = []
    for point in pending:
        if point.index in rows:
            continue
        summary = points_dir / point.key / "summary.json"
        try:
            fresh = summary.stat().st_mtime >= since
        except OSError:
            continue
        metrics = read_point(points_dir / point.key, point.key) if fresh else None
        if metrics is not None:
            found.append((point, metrics))
    return found



def sweep_command(path: str | Path | Sweep, *, workers: int = 1, scheduler: Any = None,
                  out_dir: str | Path | None = None, progress: Progress | None = None,
                  resume: bool = True, overrides: Sequence[str] = (),
                  quiesce: Callable[[], Any] | None = None) -> tuple[pd.DataFrame, Path]:
    """For the command line: load (with ``overrides`` on every point), run; return the
    table and the sweep folder."""
    sweep = path if isinstance(path, Sweep) else load_sweep(path, overrides)
    out = Path(out_dir) if out_dir is not None else sweep.default_out_dir()
    frame = run_sweep(sweep, out_dir=out, workers=workers, scheduler=scheduler,
                      progress=progress, resume=resume, quiesce=quiesce)
    return frame, out
