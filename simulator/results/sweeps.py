"""Sweep folders: ``sweep.parquet``, ``sweep.yaml`` and one run folder per point.

A sweep folder (``spaceverse sweep``, ``spaceverse compare``) holds

* ``points/<key>/`` — one run folder per point (:mod:`simulator.results.runs`);
* ``sweep.parquet`` — one row per point, the columns :data:`COLUMNS` with one column
  per swept axis after ``run_dir``; rewritten atomically after every finished point;
* ``sweep.yaml`` — the sweep as resolved (``kind: compare`` for ``spaceverse compare``).

``sweep.parquet`` columns
-------------------------
================================  ==========================================================
``point``                         index of the point in the sweep (int)
``key``                           the point's scenario hash = its run folder name (str)
``status``                        ``ok`` or ``failed`` (a point read back from an earlier
                                  run is ``ok``; its ``wall_s`` is NaN)
``error``                         the one-line error of a failed point, ``""`` if ok
``run_dir``                       ``points/<key>``, relative to the sweep folder (``""`` if
                                  failed)
``<axis>``                        one column per axis, named by its dotted path (e.g.
                                  ``policy.allocation``): the point's value; lists and
                                  mappings (and axes of mixed types) JSON-encoded as text.
                                  An axis named ``seed`` is the ``seed`` column; an axis
                                  named like another column (``policy``) is ``policy (axis)``.
``seed``                          the scenario seed (int)
``policy``                        ``policy.allocation`` (str)
``compression``                   ``policy.compression.method`` (str)
``trace``                         the trace name from the summary (None if failed)
``synthetic``                     the trace is synthetic (nullable bool)
``score_modelled``                some scores were modelled, not measured (nullable bool)
``preset``                        the scenario's model preset (physical / paper-calibrated)
every metric                      :data:`simulator.results.METRICS`, in its order: name,
                                  what it counts and unit there (counts are Int64, the
                                  rest float64)
``pareto``                        the point's policy setting is on the accuracy-latency
                                  Pareto front (``accuracy_every_answer`` vs
                                  ``service_mean_s``) of its group: the points that share
                                  every other swept axis, averaged over seeds (nullable bool)
``warnings``                      degenerate results of the point, ``; ``-separated
                                  (:mod:`simulator.results.degenerate`), ``""`` if none
``wall_s``                        seconds the point took to compute (NaN for a point read
                                  back from an earlier run)
================================  ==========================================================

Metrics of failed points are null/NaN.  Tables written before the metrics had
their names now (``accuracy``, ``accuracy_all``, ``accuracy_service``) are read
with the names mapped (:func:`read_sweep_table`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..fileio import write_atomic
from .metrics import COLUMN_LEGACY, METRIC_LIST, SAMPLE_NEEDS, canonical_columns, point_metrics
from .pareto import annotate_sweep
from .runs import read_samples, read_summary, read_table_file

logger = logging.getLogger("simulator.results")

SWEEP_TABLE, SWEEP_FILE, POINTS_DIR = "sweep.parquet", "sweep.yaml", "points"

LEAD = ["point", "key", "status", "error", "run_dir"]
SCENARIO_COLUMNS = ["seed", "policy", "compression"]
#: Result columns of ``sweep.parquet`` (after the axis and scenario columns), in order.
METRIC_COLUMNS = (["trace", "synthetic", "score_modelled", "preset"]
                  + [m.name for m in METRIC_LIST])
#: What is said about a point beside its metrics.
VERDICT_COLUMNS = ["pareto", "warnings"]
#: Every column except the axis columns, in order (axes come after ``run_dir``).
COLUMNS = LEAD + SCENARIO_COLUMNS + METRIC_COLUMNS + VERDICT_COLUMNS + ["wall_s"]

INT_COLUMNS = {"samples", "training_pool_rows", "finished", "offloaded", "bytes_raw",
               "bytes_sent", "contact_windows", "satellites", "stations"}
BOOL_COLUMNS = {"synthetic", "score_modelled", "pareto"}
STR_COLUMNS = {"trace", "preset", "warnings"}


def is_sweep_folder(folder) -> bool:
    return (Path(folder) / SWEEP_TABLE).is_file()


def sweep_axes(frame: pd.DataFrame) -> list[str]:
    """The swept-axis columns of a sweep table (``seed`` not counted: it is a column
    of every table); columns starting with ``_`` are working columns, not axes."""
    known = set(COLUMNS) | set(COLUMN_LEGACY)
    return [c for c in frame.columns if c not in known and not str(c).startswith("_")]


def sweep_frame(rows: Sequence[dict], axis_columns: Sequence[str]) -> pd.DataFrame:
    """The ``sweep.parquet`` table of ``rows`` (sorted by point), with fixed dtypes, its
    ``pareto`` column set and the Pareto-noise sentences added to ``warnings``."""
    axis_columns = list(axis_columns)
    columns = LEAD + axis_columns + SCENARIO_COLUMNS + METRIC_COLUMNS + VERDICT_COLUMNS \
        + ["wall_s"]
    frame = pd.DataFrame(sorted(rows, key=lambda r: r["point"]), columns=columns)
    frame["point"] = frame["point"].astype("int64")
    frame["seed"] = frame["seed"].astype("int64")
    for col in ("key", "status", "error", "run_dir", "policy", "compression"):
        frame[col] = frame[col].astype(object)
    for col in METRIC_COLUMNS + VERDICT_COLUMNS + ["wall_s"]:
        if col in INT_COLUMNS:
            frame[col] = frame[col].astype("Int64")
        elif col in BOOL_COLUMNS:
            frame[col] = frame[col].astype("boolean")
        elif col in STR_COLUMNS:
            frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
        else:
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    frame["warnings"] = [w if isinstance(w, str) else ("" if s == "ok" else None)
                         for w, s in zip(frame["warnings"], frame["status"])]
    frame = frame.reset_index(drop=True)
    return annotate_sweep(frame, axis_columns)


def write_sweep_table(folder, frame: pd.DataFrame) -> Path:
    """Write ``sweep.parquet`` into the sweep folder atomically."""
    return write_atomic(Path(folder) / SWEEP_TABLE,
                        lambda p: frame.to_parquet(p, index=False), what="sweep table")


def read_sweep_table(path) -> pd.DataFrame:
    """A sweep folder's ``sweep.parquet`` (or the table file itself) with today's column
    names (older ones mapped); a damaged table is a one-line
    :class:`~simulator.errors.InputError`."""
    path = Path(path)
    if path.is_dir() and not path.name.endswith(".parquet"):
        path = path / SWEEP_TABLE
    return canonical_columns(read_table_file(path, "sweep table"))


def read_point(folder, key: str) -> dict | None:
    """Metrics of a finished point's run folder, or None when it is missing, unreadable
    or not the point ``key`` (the point is then computed again)."""
    folder = Path(folder)
    if not (folder / "summary.json").exists():
        return None
    try:
        summary = read_summary(folder)
        if summary.get("run_id") not in (None, key):
            logger.warning("%s: run id %s is not the point key %s; recomputing", folder,
                           summary.get("run_id"), key)
            return None
        return point_metrics(summary, read_samples(folder, SAMPLE_NEEDS))
    except Exception as exc:  # noqa: BLE001 - an unreadable folder is recomputed
        logger.warning("%s: cannot read the finished run (%s); recomputing", folder, exc)
        return None


def sweep_kind(folder) -> str:
    """``compare`` for a folder ``spaceverse compare`` wrote, else ``sweep``."""
    path = Path(folder) / SWEEP_FILE
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            head = handle.read(65536)
    except OSError:
        return "sweep"
    for line in head.splitlines():
        if line.strip() == "kind: compare":
            return "compare"
    return "sweep"
