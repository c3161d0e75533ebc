"""Parameter sweeps: many runs of one base scenario, resumable, local or on a cluster.

A *sweep file* names a base scenario and the values to try::

    name: fig9-policies            # optional; default: the file's stem
    description: ...               # optional free text
    base: ../default.yaml          # a scenario file, relative to the sweep file
    mode: grid                     # grid (every combination) | zip (axes paired element-wise)
    zip: [[policy.allocation, policy.compression.method]]   # optional: axes paired inside a grid
    set: ["workload.train_fraction=0.05"]   # optional fixed overrides (or a mapping key: value)
    axes:
      policy.allocation: [satellite-only, ground-only, spaceverse]
      seed: [1, 2, 3]
      constellation.walker.altitude_km: [400, 500, 600]   # any dotted path of the scenario
      policy.params.tau: [[0.5, 0.4], [0.6, 0.5]]         # values may be lists or mappings

Each *point* of the sweep is the base scenario with the ``set`` overrides, then
the command line's ``spaceverse sweep --set KEY=VALUE`` overrides, then one value
of every axis applied, exactly like ``spaceverse run --set``
(``dotted.key=value``, on the file's content before validation).  In ``grid``
mode the points are the cartesian product of the axes (the last axis varies
fastest); in ``zip`` mode the axes have equal lengths and point ``i`` takes the
``i``-th value of every axis.  A grid may pair some axes with ``zip`` groups:
the axes of a group have equal lengths, advance together, and count as one
dimension of the grid (where the group's first axis stands).

Loading
-------
:func:`load_sweep` reads and validates the sweep file *and every point's
scenario*, so a mistake anywhere is found before anything runs.  Errors are
one-line :class:`SweepError` s (an :class:`~simulator.errors.InputError`) in the
scenario style, ``FILE:LINE: FIELD.PATH: message``: unknown keys (with a
did-you-mean), an axis path or value the scenario schema rejects
(``fig9.yaml:7: axes.seed[0]: must be >= 0, got -1``), zip axes of unequal
length, empty axes, a missing base file, two points that are the same scenario.
:meth:`Sweep.points` gives the :class:`Point` s: ``index``, ``values`` (axis ->
value), ``overrides`` (the ``--set`` strings), ``scenario`` (validated, with
``output.run_id`` set to the key) and ``key``, the
:func:`~simulator.config.scenario_hash` of the point's scenario, which names its
run folder.

Running
-------
:func:`run_sweep` runs the points and writes, under the output folder
(default ``results/sweeps/<name>``):

* ``points/<key>/`` — one run folder per point, as ``spaceverse run`` writes it
  (``summary.json``, ``samples.parquet``, ``scenario.yaml``, ...);
* ``sweep.parquet`` — one row per point, rewritten atomically after every
  finished point (its columns: :mod:`simulator.results.sweeps`; the metrics:
  :data:`simulator.results.METRICS`);
* ``sweep.yaml`` — the sweep file as resolved (absolute base path, ``set`` as a
  list, the name filled in); :func:`load_sweep` reads it back.

Resuming: a point whose ``points/<key>/summary.json`` exists is not computed
again but read back (run folders are written atomically, so an existing one is
complete).  A killed sweep therefore resumes with nothing recomputed and nothing
lost.  A point that fails (any exception, e.g. an unknown policy name) is
recorded with status ``failed`` and its one-line error, the other points go on,
and the next run of the sweep tries it again.

Executors: ``workers=1`` runs the points one after another in this process;
``workers=N`` in ``N`` local processes (``concurrent.futures``; forked from this
process on Linux when it runs a single thread and has not imported torch, so a worker
starts with the package already imported, else spawned: see
:func:`~simulator.sweep.executors.start_method`); ``scheduler="tcp://host:8786"`` (or a
``distributed.Client`` / ``LocalCluster`` object) on a Dask distributed cluster.
On a cluster every worker must be able to import ``simulator`` and must see the
output folder and the files the scenarios name at the same paths (a shared file
system): each worker writes its point's run folder itself.  The task function
:func:`run_point` takes plain data (the point's resolved scenario as YAML text)
and returns plain data, so any executor gives the same rows: a sweep's table is
identical, except ``wall_s``, whatever the executor and worker count.  For that,
each point computes single-threaded (torch, BLAS; multi-threaded reductions give
slightly different numbers with different thread counts, e.g. a trained policy
network): the parallelism of a sweep is over its points.

``spaceverse compare`` is a sweep too: one point per policy (:func:`sweep_from_scenario`,
``kind: compare`` in its ``sweep.yaml``).

Modules
-------
=============  ===================================================================
``spec``       the sweep file's schema (:class:`SweepSpec`) and its errors
``points``     :class:`Sweep` and its :class:`Point` s, :func:`load_sweep`,
               :func:`parse_sweep`, :func:`sweep_from_scenario`
``table``      a point's ``sweep.parquet`` row (axis columns and their encoding)
``task``       :func:`run_point`, the task every executor runs
``executors``  local processes and Dask
``runner``     :func:`run_sweep` and :func:`sweep_command`
=============  ===================================================================
"""

from .executors import _dask_client
from .points import Point, Sweep, load_sweep, parse_sweep, sweep_from_scenario
from .runner import Progress, run_sweep, sweep_command
from .spec import MAX_POINTS, SweepError, SweepSpec
from .table import (BREAKDOWN_COLUMNS, COLUMNS, METRIC_COLUMNS, axis_column, axis_columns,
                    point_metrics, sweep_frame)
from .task import run_point

__all__ = ["SweepError", "Sweep", "Point", "load_sweep", "parse_sweep", "run_sweep",
           "run_point", "sweep_command", "COLUMNS", "METRIC_COLUMNS", "BREAKDOWN_COLUMNS",
           "MAX_POINTS", "Progress", "SweepSpec", "axis_column", "axis_columns",
           "point_metrics", "sweep_frame", "sweep_from_scenario"]
