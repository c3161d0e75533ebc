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

Each *point* of the sweep is the base scenario with the ``set`` overrides and
then one value of every axis applied, exactly like ``spaceverse run --set``
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
* ``sweep.parquet`` — one row per point (columns below), rewritten atomically
  after every finished point;
* ``sweep.yaml`` — the sweep file as resolved (absolute base path, ``set`` as a
  list, the name filled in); :func:`load_sweep` reads it back.

Resuming: a point whose ``points/<key>/summary.json`` exists is not computed
again but read back (run folders are written atomically, so an existing one is
complete).  A killed sweep therefore resumes with nothing recomputed and nothing
lost.  A point that fails (any exception, e.g. an unknown policy name) is
recorded with status ``failed`` and its one-line error, the other points go on,
and the next run of the sweep tries it again.

Executors: ``workers=1`` runs the points one after another in this process;
``workers=N`` in ``N`` local processes (``concurrent.futures`` with the
``spawn`` start method); ``scheduler="tcp://host:8786"`` (or a
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
                                  named ``policy`` is ``policy (axis)``.
``seed``                          the scenario seed (int)
``policy``                        ``policy.allocation`` (str)
``compression``                   ``policy.compression.method`` (str)
``trace``                         the trace name from the summary (None if failed)
``synthetic``                     the trace is synthetic (nullable bool)
``score_modelled``                some scores were modelled, not measured (nullable bool)
``samples``                       simulated samples (Int64)
``finished``                      samples finished onboard or on the ground (Int64)
``offloaded``                     samples with decision ``offload`` (Int64)
``accuracy``                      mean score of the finished samples
``accuracy_all``                  mean score over all samples, unfinished = 0
                                  (``accuracy_all_samples`` of the summary)
``accuracy_service``              mean score of the answer every sample gets, finished in
                                  the run or not (the paper's accuracy, beside the service
                                  latency)
``preset``                        the scenario's model preset (physical / paper-calibrated)
``service_mean_s``                service latency (the paper's per-sample metric: each
``service_p50_s``                 sample alone, no queueing, no wait for contact) over all
``service_p95_s``                 samples: mean, median, p95
``service_tx_s_mean``             its transmission part, mean over offloaded samples
``service_offloaded_mean_s``      service latency of the offloaded samples (mean)
``in_contact_mean_s``             in-contact latency under load of finished samples: mean,
                                  median, p95
``in_contact_p50_s``
``in_contact_p95_s``
``end_to_end_mean_s``             end-to-end latency of finished samples: mean and p95
``end_to_end_p95_s``
``offload_fraction``              share of samples offloaded
``bytes_raw``                     raw image bytes of all samples (Int64)
``bytes_sent``                    bytes sent for the offloaded samples (Int64)
``compression_ratio``             raw bytes of the offloaded samples / bytes sent (NaN if
                                  nothing was sent)
``onboard_s_mean``                latency breakdown: means over the finished offloaded
``onboard_queue_s_mean``          samples of the ``samples.parquet`` columns of the same
``compress_s_mean``               name (NaN when there is no such sample)
``buffer_queue_s_mean``
``wait_contact_s_mean``
``tx_s_mean``
``propagation_s_mean``
``ground_queue_s_mean``
``ground_s_mean``
``onboard_only_latency_mean_s``   mean end-to-end latency of the samples finished onboard
                                  (decision ``onboard``; NaN when none)
``contact_windows``               contact windows of the run (Int64)
``satellites``                    satellites simulated (Int64)
``stations``                      ground stations (Int64)
``wall_s``                        seconds the point took to compute (NaN for a point read
                                  back from an earlier run)
================================  ==========================================================

Metrics of failed points are null/NaN.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import json
import logging
import math
import os
import re
import sys
import time
import traceback
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Callable, Literal, Sequence

import numpy as np
import pandas as pd
import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from . import config as _cfg
from .config import Scenario, ScenarioError, parse_scenario, scenario_hash, slug
from .errors import InputError
from .fileio import clean_leftovers, read_user_bytes, write_atomic

__all__ = ["SweepError", "Sweep", "Point", "load_sweep", "parse_sweep", "run_sweep",
           "run_point", "sweep_command", "COLUMNS", "METRIC_COLUMNS", "BREAKDOWN_COLUMNS"]

logger = logging.getLogger(__name__)

#: Latency breakdown columns of ``samples.parquet`` averaged over finished offloaded samples.
BREAKDOWN_COLUMNS = ["onboard_s", "onboard_queue_s", "compress_s", "buffer_queue_s",
                     "wait_contact_s", "tx_s", "propagation_s", "ground_queue_s", "ground_s"]

_LEAD = ["point", "key", "status", "error", "run_dir"]
_SCENARIO_COLUMNS = ["seed", "policy", "compression"]
#: Result columns of ``sweep.parquet`` (after the axis columns), in order.
METRIC_COLUMNS = (
    ["trace", "synthetic", "score_modelled", "preset", "samples", "finished", "offloaded",
     "accuracy", "accuracy_all", "accuracy_service", "service_mean_s", "service_p50_s", "service_p95_s",
     "service_tx_s_mean", "service_offloaded_mean_s", "in_contact_mean_s", "in_contact_p50_s", "in_contact_p95_s",
     "end_to_end_mean_s", "end_to_end_p95_s", "offload_fraction", "bytes_raw", "bytes_sent",
     "compression_ratio"]
    + [f"{c}_mean" for c in BREAKDOWN_COLUMNS]
    + ["onboard_only_latency_mean_s", "contact_windows", "satellites", "stations"])
#: Every column except the axis columns, in order (axes come after ``run_dir``).
COLUMNS = _LEAD + _SCENARIO_COLUMNS + METRIC_COLUMNS + ["wall_s"]

_INT_COLUMNS = {"samples", "finished", "offloaded", "bytes_raw", "bytes_sent",
                "contact_windows", "satellites", "stations"}
_BOOL_COLUMNS = {"synthetic", "score_modelled"}
_STR_COLUMNS = {"trace", "preset"}

_SAMPLE_NEEDS = ["status", "decision", "bytes_raw", "bytes_sent", "end_to_end_latency_s",
                 "service_latency_s", "service_tx_s", *BREAKDOWN_COLUMNS]

Progress = Callable[[int, int, str], None]


class SweepError(ScenarioError):
    """A sweep file that cannot be used; ``str(error)`` is the one-line message."""


# ---------------------------------------------------------------------------
# The sweep file's schema
# ---------------------------------------------------------------------------

#: Most points one sweep may have (each is a full run; beyond this, split the sweep).
MAX_POINTS = 100_000

_AXIS_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+|\[\d+\])*$")


class SweepSpec(_cfg._Model):
    """The content of a sweep file (see the module documentation)."""

    name: str | None = Field(
        None, min_length=1, description="Name of the sweep; its output folder is "
                                        "results/sweeps/<name> (default: the file's stem).")
    description: str = Field("", description="Free text about the sweep.")
    base: str = Field(
        ..., min_length=1, description="The base scenario file, relative to the sweep file.")
    mode: Literal["grid", "zip"] = Field(
        "grid", description="grid = every combination of the axes' values; zip = axes of equal "
                            "length, paired element-wise.")
    set: Any = Field(
        None, description="Fixed overrides for every point: a list of dotted.key=value strings "
                          "or a mapping dotted.key: value.")
    axes: dict[str, Annotated[list[Any], Field(min_length=1)]] = Field(
        ..., min_length=1, description="Dotted scenario path -> list of values to try.")
    zip: list[Annotated[list[str], Field(min_length=2)]] = Field(
        default_factory=list,
        description="Groups of axes that move together inside a grid (equal lengths, paired "
                    "element-wise), e.g. [[policy.allocation, policy.compression.method]].")

    @field_validator("set")
    @classmethod
    def _set_shape(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, dict):
            for key in value:
                if not isinstance(key, str) or not _AXIS_KEY.match(key.strip()):
                    raise _cfg._FieldProblem((key if isinstance(key, str) else str(key),),
                                             "not a dotted field path (expected e.g. "
                                             "workload.train_fraction)")
            return value
        if isinstance(value, list):
            for i, item in enumerate(value):
                if not isinstance(item, str):
                    raise _cfg._FieldProblem((i,), f"expected a KEY=VALUE string, got "
                                                   f"{_cfg._kind_of(item)}")
                if "=" not in item:
                    raise _cfg._FieldProblem((i,), f"expected KEY=VALUE, e.g. seed=3; got "
                                                   f"{_cfg._show(item)}")
            return value
        raise ValueError(f"expected a list of KEY=VALUE strings or a mapping KEY: VALUE, got "
                         f"{_cfg._kind_of(value)}")

    @field_validator("axes")
    @classmethod
    def _axis_keys(cls, value: dict) -> dict:
        for key in value:
            if not _AXIS_KEY.match(key):
                raise _cfg._FieldProblem((key,), "not a dotted field path (expected e.g. "
                                                 "policy.allocation or ground_stations.0.name)")
        return value

    @model_validator(mode="after")
    def _zip_lengths(self) -> "SweepSpec":
        seen: dict[str, int] = {}
        for g, group in enumerate(self.zip):
            if self.mode == "zip":
                raise _cfg._FieldProblem(("zip",), "groups are for mode: grid (in mode: zip "
                                                   "every axis is already paired)")
            for k, key in enumerate(group):
                if key not in self.axes:
                    raise _cfg._FieldProblem(("zip", g, k), f"{_cfg._show(key)} is not an axis "
                                                            f"(expected one of the keys of axes)")
                if key in seen:
                    raise _cfg._FieldProblem(("zip", g, k), f"axis {key} is already in group "
                                                            f"{seen[key]}")
                seen[key] = g
                if len(self.axes[key]) != len(self.axes[group[0]]):
                    raise _cfg._FieldProblem(
                        ("axes", key), f"has {len(self.axes[key])} value(s) but {group[0]}, "
                                       f"zipped with it, has {len(self.axes[group[0]])}; "
                                       f"zipped axes need equal lengths")
        if self.mode == "zip":
            lengths = {k: len(v) for k, v in self.axes.items()}
            first, n = next(iter(lengths.items()))
            for key, m in lengths.items():
                if m != n:
                    raise _cfg._FieldProblem(
                        ("axes", key), f"has {m} value(s) but {first} has {n}; zip mode pairs "
                                       f"the axes element-wise, so they need equal lengths "
                                       f"(mode: grid tries every combination)")
        return self


def _sweep_message(error: dict, path: tuple) -> tuple[tuple, str]:
    kind, value = error["type"], error.get("input")
    if kind == "extra_forbidden" and len(path) == 1:
        names = list(SweepSpec.model_fields)
        if path[0] in Scenario.model_fields:
            return path, (f"unknown key (a scenario setting: put it in the base scenario, under "
                          f"set, or under axes as {path[0]}: [...])")
        close = difflib.get_close_matches(str(path[0]), names, n=1, cutoff=0.6)
        if close:
            return path, f"unknown key (did you mean {close[0]!r}?)"
        return path, f"unknown key (expected one of: {', '.join(names)})"
    if kind == "list_type" and len(path) == 2 and path[0] == "axes":
        if isinstance(value, dict):
            return path, ("expected a list of values, got a mapping (write the axis as one "
                          "dotted path, e.g. policy.allocation: [a, b])")
        return path, (f"expected a list of values to try, got {_cfg._kind_of(value)} "
                      f"(a fixed value goes under set)")
    if kind == "too_short" and len(path) == 2 and path[0] == "axes":
        return path, "has no values (an axis needs at least one)"
    if kind == "too_short" and path == ("axes",):
        return path, "has no axes (give at least one, e.g. seed: [1, 2, 3])"
    return _cfg._message(error, path)


def _read_sweep_yaml(text: str, source: str) -> tuple[dict, dict]:
    """The sweep file's mapping and line map, parsed like a scenario file."""
    try:
        return _cfg._read_yaml(
            text, source,
            empty="the sweep file is empty (expected a mapping with base: and axes:)",
            top="a mapping at the top level (base: ..., axes: ...)")
    except ScenarioError as exc:
        raise _as_sweep_error(exc) from None


def _as_sweep_error(error: ScenarioError) -> SweepError:
    return SweepError(str(error), error.problems)


def _read_text(path: Path, source: str, what: str) -> str:
    """The UTF-8 text of a sweep or base scenario file, refused before reading if too big."""
    return _cfg._read_source_text(path, source, what, error=SweepError)


def _yaml_value(value: Any) -> str:
    """``value`` as the text after ``=`` of an override (reads back to an equal value)."""
    text = yaml.dump(value, Dumper=yaml.SafeDumper, default_flow_style=True, width=2 ** 31 - 1,
                     allow_unicode=True, sort_keys=False)
    text = text.removesuffix("\n...\n").strip()
    if "\n" in text:
        try:
            text = json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError):
            pass
    return text


# ---------------------------------------------------------------------------
# Sweep and points
# ---------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class _Origin:
    """Where one override of a point comes from in the sweep file."""

    label: str          # axes.seed[1], set[0], set.workload.train_fraction
    key_label: str      # axes.seed, set[0]: for problems above the override's path
    line: int           # line of the value
    key_line: int       # line of the axis key (or the set item)
    path: tuple
    text: str           # the override string
    value: Any
    axis: bool


@dataclasses.dataclass
class Point:
    """One run of a sweep."""

    index: int
    values: dict[str, Any]
    overrides: list[str]
    scenario: Scenario
    key: str
    _origins: list = dataclasses.field(default_factory=list, repr=False, compare=False)

    @property
    def run_dir(self) -> str:
        """The run folder, relative to the sweep's output folder."""
        return f"points/{self.key}"

    def describe(self) -> str:
        """``axis=value, ...`` of this point."""
        return ", ".join(f"{k}={_cfg._show(v)}" for k, v in self.values.items())


class Sweep:
    """A validated sweep file; :meth:`points` are its runs."""

    def __init__(self, spec: SweepSpec, *, source: str, path: Path | None, lines: dict,
                 base_path: Path, base_source: str, base_text: str):
        self.spec = spec
        self.source = source
        self.path = path
        self.name: str = spec.name or (path.stem if path is not None else "sweep")
        self.description = spec.description
        self.mode = spec.mode
        self.axes: dict[str, list] = dict(spec.axes)
        self.base_path = base_path
        self.base_source = base_source
        self._lines = lines
        self._base_text = base_text
        self._set_origins = self._set_overrides(spec.set)
        self.set: list[str] = [o.text for o in self._set_origins]
        self._points = self._expand()

    # -- building ----------------------------------------------------------
    def _line(self, path: tuple) -> int:
        for cut in range(len(path), -1, -1):
            if path[:cut] in self._lines:
                return self._lines[path[:cut]]
        return 0

    def _set_overrides(self, raw) -> list[_Origin]:
        out = []
        if isinstance(raw, dict):
            for key, value in raw.items():
                key = key.strip()
                line = self._line(("set", key))
                text = f"{key}={_yaml_value(value)}"
                out.append(_Origin(f"set.{key}", f"set.{key}", line, line,
                                   _cfg._parse_field_path(key), text, value, False))
        else:
            for i, text in enumerate(raw or []):
                key = text.partition("=")[0].strip()
                line = self._line(("set", i))
                out.append(_Origin(f"set[{i}]", f"set[{i}]", line, line,
                                   _cfg._parse_field_path(key), text.strip(), None, False))
        return out

    def _axis_origin(self, axis: str, j: int, value: Any) -> _Origin:
        text = f"{axis}={_yaml_value(value)}"
        try:
            back = yaml.load(text.partition("=")[2], Loader=_cfg._Loader)
        except yaml.YAMLError:
            back = object()
        if back != value and not (isinstance(value, float) and math.isnan(value)):
            raise SweepError(f"{self.source}:{self._line(('axes', axis, j))}: axes.{axis}[{j}]: "
                             f"cannot pass the value {_cfg._show(value)} as an override")
        return _Origin(f"axes.{axis}[{j}]", f"axes.{axis}", self._line(("axes", axis, j)),
                       self._line(("axes", axis)), _cfg._parse_field_path(axis), text, value,
                       True)

    def _combinations(self) -> list[tuple[int, ...]]:
        """Per point, the index into every axis (grid: last dimension fastest).

        In grid mode each ``zip`` group is one dimension (its axes advance
        together), placed where its first axis appears.
        """
        names = list(self.axes)
        sizes = [len(v) for v in self.axes.values()]
        if self.mode == "zip":
            return [tuple([i] * len(sizes)) for i in range(sizes[0])]
        grouped = {g: len(self.axes[group[0]]) for g, group in enumerate(self.spec.zip)}
        in_group = {a for group in self.spec.zip for a in group}
        total = math.prod([n for a, n in zip(names, sizes) if a not in in_group]
                          + list(grouped.values()))
        if total > MAX_POINTS:
            raise SweepError(f"{self.source}:{self._line(('axes',))}: axes: the grid has "
                             f"{total:,} points, more than {MAX_POINTS:,}; split the sweep "
                             f"or zip axes that move together")
        group_of = {a: g for g, group in enumerate(self.spec.zip) for a in group}
        dims: list[list[int]] = []
        placed: dict[int, int] = {}
        for k, name in enumerate(names):
            g = group_of.get(name)
            if g is None:
                dims.append([k])
            elif g in placed:
                dims[placed[g]].append(k)
            else:
                placed[g] = len(dims)
                dims.append([k])
        out = []
        for combo in itertools.product(*(range(sizes[d[0]]) for d in dims)):
            index = [0] * len(names)
            for d, j in zip(dims, combo):
                for k in d:
                    index[k] = j
            out.append(tuple(index))
        return out

    def _expand(self) -> list[Point]:
        data, lines = _cfg._read_yaml(self._base_text, self.base_source)
        self._base_line_map = lines
        base_dir = self.base_path.parent
        axis_origins = {axis: [self._axis_origin(axis, j, v) for j, v in enumerate(values)]
                        for axis, values in self.axes.items()}
        points: list[Point] = []
        problems: dict[tuple, list[int]] = {}
        combos = self._combinations()
        by_key: dict[str, Point] = {}
        for index, combo in enumerate(combos):
            origins = list(self._set_origins) + [axis_origins[axis][j]
                                                 for axis, j in zip(self.axes, combo)]
            values = {axis: self.axes[axis][j] for axis, j in zip(self.axes, combo)}
            overrides = [o.text for o in origins]
            try:
                scenario = _cfg._build(data, self.base_source, lines, overrides, base_dir,
                                       self.base_path)
            except ScenarioError as exc:
                for problem in self._relocate(exc, origins):
                    problems.setdefault(problem, []).append(index)
                continue
            key = scenario_hash(scenario)
            scenario = scenario.model_copy(update={"output": scenario.output.model_copy(
                update={"run_id": key})})
            point = Point(index, values, overrides, scenario, key, origins)
            if key in by_key:
                other = by_key[key]
                raise SweepError(
                    f"{self.source}:{self._line(('axes',))}: axes: points {other.index} "
                    f"({other.describe()}) and {index} ({point.describe()}) are the same "
                    f"scenario (key {key}); remove the duplicate value")
            by_key[key] = point
            points.append(point)
        if problems:
            listed = []
            for (where, field, text), indices in problems.items():
                if len(indices) < len(combos) and not where.startswith(self.source):
                    first = combos[indices[0]]
                    context = ", ".join(f"{axis}={_cfg._show(self.axes[axis][j])}"
                                        for axis, j in zip(self.axes, first))
                    text = f"{text} (sweep {self.source}, point {indices[0]}: {context})"
                listed.append((where, field, text))
            raise _as_sweep_error(_cfg._combine(listed))
        return points

    # -- error locations ------------------------------------------------------
    def _relocate(self, error: Exception | str, origins: Sequence[_Origin],
                  problems: Sequence[tuple] | None = None, *,
                  runtime: bool = False) -> list[tuple[str, str, str]]:
        """(location, field, message) triples for an error of a point, located in the
        sweep file when an axis or ``set`` override caused it, else in the base file."""
        if problems is None:
            problems = getattr(error, "problems", None) or []
        message = _cfg._one_line(str(error))
        if not problems:
            for origin in reversed(origins):
                shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in origin.text)
                prefix = f"--set {shown}: "
                if message.startswith(prefix):
                    return [(f"{self.source}:{origin.line}", origin.label,
                             message[len(prefix):])]
            return [("", "", message)]
        out = []
        for where, field, text in problems:
            fpath = _cfg._parse_field_path(field) if field else ()
            origin = next((o for o in reversed(origins) if fpath[:len(o.path)] == o.path), None)
            if origin is not None and fpath:
                rest = fpath[len(origin.path):]
                if rest:
                    text = f"{_cfg._format_path(rest)}: {text}"
                if origin.axis and not rest:
                    shown = _cfg._show(origin.value)
                    if shown not in text:
                        text = f"{text} (value {shown})"
                out.append((f"{self.source}:{origin.line}", origin.label, text))
                continue
            origin = next((o for o in reversed(origins)
                           if fpath and o.path[:len(fpath)] == fpath), None)
            if origin is not None:
                out.append((f"{self.source}:{origin.key_line}", origin.key_label,
                            f"{field}: {text}"))
                continue
            if runtime or where.endswith("(from --set)") or not where:
                where = _cfg._where(self.base_source, fpath, self._base_lines(), ())
            out.append((where, field, text))
        return out

    def _base_lines(self) -> dict:
        return self._base_line_map

    def point_error(self, point: Point, message: str, problems: Sequence[tuple] | None) -> str:
        """The one-line error of a point that failed at run time."""
        triples = self._relocate(message, point._origins, problems, runtime=True)
        parts = []
        for where, field, text in triples:
            if not where and not field:
                parts.append(text)
            elif not where.startswith(self.source) and len(self._points) > 1:
                parts.append(f"{where}: {field}: {text} (point {point.index}: "
                             f"{point.describe()})" if field else f"{where}: {text}")
            else:
                parts.append(f"{where}: {field}: {text}" if field else f"{where}: {text}")
        return "; ".join(dict.fromkeys(parts))

    # -- public -------------------------------------------------------------
    def points(self) -> list[Point]:
        """Every point, validated, in order (``grid``: the last axis varies fastest)."""
        return list(self._points)

    def __len__(self) -> int:
        return len(self._points)

    def default_out_dir(self) -> Path:
        """``results/sweeps/<name>`` (relative to the working directory)."""
        return Path("results") / "sweeps" / slug(self.name)

    def resolved_yaml(self) -> str:
        """The sweep as resolved (absolute base, ``set`` as a list); :func:`load_sweep` reads it."""
        from . import __version__

        body = {"name": self.name}
        if self.description:
            body["description"] = self.description
        body.update({"base": str(self.base_path), "mode": self.mode, "set": list(self.set),
                     "axes": {k: list(v) for k, v in self.axes.items()}})
        if self.spec.zip:
            body["zip"] = [list(g) for g in self.spec.zip]
        text = yaml.dump(body, Dumper=_cfg._Dumper, sort_keys=False, default_flow_style=False,
                         allow_unicode=True, width=100)
        origin = str(self.path.resolve()) if self.path else self.source
        return (f"# Resolved sweep (spaceverse {__version__}) from {origin}: {len(self)} "
                f"point(s), run folders points/<key>/\n{text}")


def parse_sweep(text: str, source: str = "<string>", *, base_dir: str | Path | None = None,
                path: Path | None = None) -> Sweep:
    """A :class:`Sweep` from YAML text; ``base`` is relative to ``base_dir`` (default: cwd)."""
    data, lines = _read_sweep_yaml(text, source)
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(p for p in error["loc"] if isinstance(p, (str, int)))
            loc, message = _sweep_message(error, loc)
            problems.append((_cfg._where(source, loc, lines, ()), _cfg._format_path(loc),
                             _cfg._one_line(message)))
        raise _as_sweep_error(_cfg._combine(problems)) from None
    folder = Path(base_dir) if base_dir is not None else Path(".")
    written = Path(spec.base).expanduser()
    base_file = written if written.is_absolute() else folder / written
    base_source = os.path.normpath(str(base_file))
    where = f"{source}:{lines.get(('base',), 0)}"
    if not base_file.exists():
        raise SweepError(f"{where}: base: no such scenario file {spec.base!r} (looked for "
                         f"{base_file.resolve()})")
    if base_file.is_dir():
        raise SweepError(f"{where}: base: {spec.base!r} is a folder, expected a scenario file")
    base_text = _read_text(base_file, base_source, "scenario")
    return Sweep(spec, source=source, path=path, lines=lines, base_path=base_file.resolve(),
                 base_source=base_source, base_text=base_text)


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate the sweep file ``path`` and every point's scenario.

    Raises :class:`SweepError` (an :class:`~simulator.errors.InputError`) with a
    one-line message for every problem.
    """
    source = str(path)
    file = Path(path).expanduser()
    text = _read_text(file, source, "sweep")
    sweep = parse_sweep(text, source, base_dir=file.parent, path=file)
    logger.debug("sweep %s from %s: %d point(s)", sweep.name, source, len(sweep))
    return sweep


# ---------------------------------------------------------------------------
# One point: the task function (runs in a worker)
# ---------------------------------------------------------------------------

def _nan(value) -> float:
    return float("nan") if value is None else float(value)


def _mean(samples: pd.DataFrame, column: str, rows: np.ndarray) -> float:
    if column not in samples:
        return float("nan")
    values = samples[column].to_numpy(float)[rows]
    values = values[np.isfinite(values)]
    return float(values.mean()) if len(values) else float("nan")


def point_metrics(summary: dict, samples: pd.DataFrame) -> dict:
    """The result columns of ``sweep.parquet`` for one run (summary + sample log)."""
    status = samples["status"].astype(str).to_numpy()
    offload = (samples["decision"].astype(str) == "offload").to_numpy()
    finished = np.isin(status, ["onboard", "ground"])
    fo = finished & offload
    fon = finished & ~offload
    ic, e2e = summary.get("in_contact_latency_s") or {}, summary.get("end_to_end_latency_s") or {}
    sv = summary.get("service_latency_s") or {}
    sent = int(samples["bytes_sent"].to_numpy(np.int64)[offload].sum())
    raw_off = int(samples["bytes_raw"].to_numpy(np.int64)[offload].sum())
    row = {
        "trace": (summary.get("trace") or {}).get("name"),
        "synthetic": bool(summary.get("synthetic", False)),
        "score_modelled": bool(summary.get("score_modelled", False)),
        "preset": str(summary.get("preset", "physical")),
        "samples": int(summary["samples"]),
        "finished": int(finished.sum()),
        "offloaded": int(offload.sum()),
        "accuracy": _nan(summary.get("accuracy")),
        "accuracy_all": _nan(summary.get("accuracy_all_samples")),
        "accuracy_service": _nan(summary.get("accuracy_service")),
        "service_mean_s": _nan(sv.get("mean")),
        "service_p50_s": _nan(sv.get("p50")),
        "service_p95_s": _nan(sv.get("p95")),
        "service_tx_s_mean": _mean(samples, "service_tx_s", offload),
        "service_offloaded_mean_s": _mean(samples, "service_latency_s", offload),
        "in_contact_mean_s": _nan(ic.get("mean")),
        "in_contact_p50_s": _nan(ic.get("p50")),
        "in_contact_p95_s": _nan(ic.get("p95")),
        "end_to_end_mean_s": _nan(e2e.get("mean")),
        "end_to_end_p95_s": _nan(e2e.get("p95")),
        "offload_fraction": _nan(summary.get("offload_fraction")),
        "bytes_raw": int(summary["bytes_raw"]),
        "bytes_sent": int(summary["bytes_sent"]),
        "compression_ratio": raw_off / sent if sent > 0 else float("nan"),
    }
    for col in BREAKDOWN_COLUMNS:
        values = samples[col].to_numpy(float)[fo]
        row[f"{col}_mean"] = float(values.mean()) if len(values) else float("nan")
    onboard = samples["end_to_end_latency_s"].to_numpy(float)[fon]
    row["onboard_only_latency_mean_s"] = float(onboard.mean()) if len(onboard) else float("nan")
    row["contact_windows"] = int(summary.get("contact_windows", 0))
    row["satellites"] = len(summary.get("satellites", []))
    row["stations"] = len(summary.get("stations", []))
    return row


def _exception_text(exc: BaseException) -> str:
    text = _cfg._one_line(str(exc))
    if isinstance(exc, InputError):
        return text
    frames = traceback.extract_tb(exc.__traceback__)
    where = ""
    if frames:
        last = frames[-1]
        where = f" (at {Path(last.filename).name}:{last.lineno} in {last.name})"
    return f"{type(exc).__name__}: {text}{where}" if text else f"{type(exc).__name__}{where}"


_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@contextmanager
def _one_thread():
    """Numeric libraries on one thread while a point runs, in any executor.

    Results must not depend on where a point ran, and multi-threaded reductions
    (a policy network trained with torch, BLAS) give slightly different numbers
    with different thread counts.  So every point computes single-threaded: the
    sweep's parallelism is over points.  Settings are restored afterwards.
    """
    saved = {name: os.environ.get(name) for name in _THREAD_VARS}
    os.environ.update({name: "1" for name in _THREAD_VARS})  # for libraries loaded now
    torch = sys.modules.get("torch")
    torch_threads = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits
        limits = threadpool_limits(limits=1)
    except Exception:  # noqa: BLE001 - optional; torch and the variables still apply
        limits = None
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if limits is not None:
            limits.restore_original_limits()
        torch = sys.modules.get("torch")
        if torch is not None:
            if torch_threads is None:  # imported during the point: its usual default
                given = saved.get("OMP_NUM_THREADS")
                torch_threads = int(given) if given and given.isdigit() else (os.cpu_count() or 1)
            torch.set_num_threads(max(1, torch_threads))


def run_point(scenario_yaml: str, base_dir: str | None, out_dir: str, key: str,
              source: str = "<sweep point>") -> dict:
    """Run one point: the task function every executor calls (plain data in and out).

    ``scenario_yaml`` is the point's resolved scenario (:func:`~simulator.config.dump_resolved`),
    ``base_dir`` the folder relative paths in it are looked up in, ``out_dir`` the folder that
    receives the run folder ``<key>/``.  Never raises for a failing point: returns
    ``{"key", "ok", "summary", "metrics", "error", "problems", "wall_s"}``.
    """
    from .engine.world import run_scenario

    begin = time.perf_counter()
    try:
        scenario = parse_scenario(scenario_yaml, source=source, base_dir=base_dir)
        got = scenario_hash(scenario)
        if got != key:
            raise InputError(f"{source}: the point's scenario reads back with hash {got}, not "
                             f"{key} (do the files it names differ on this worker?)")
        with _one_thread():
            result = run_scenario(scenario, out_dir=out_dir)
        metrics = point_metrics(result.summary, result.samples)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded, the sweep goes on
        problems = [tuple(p) for p in getattr(exc, "problems", None) or []]
        return {"key": key, "ok": False, "summary": None, "metrics": None,
                "error": _exception_text(exc), "problems": problems,
                "wall_s": time.perf_counter() - begin}
    return {"key": key, "ok": True, "summary": json.loads(json.dumps(
                result.summary, default=_json_default)), "metrics": metrics, "error": "",
            "problems": [], "wall_s": time.perf_counter() - begin}


def _json_default(value):
    from .results import _json_default as default

    return default(value)


def _read_back(folder: Path, key: str) -> dict | None:
    """Metrics of a finished run folder, or None when it is missing or unreadable."""
    summary_path = folder / "summary.json"
    if not summary_path.exists():
        return None
    try:
        summary = json.loads(summary_path.read_text())
        if summary.get("run_id") not in (None, key):
            logger.warning("%s: run id %s is not the point key %s; recomputing", folder,
                           summary.get("run_id"), key)
            return None
        import pyarrow.parquet as pq

        have = set(pq.read_schema(folder / "samples.parquet").names)
        samples = pd.read_parquet(folder / "samples.parquet",
                                  columns=[c for c in _SAMPLE_NEEDS if c in have])
        return point_metrics(summary, samples)
    except Exception as exc:  # noqa: BLE001 - an unreadable folder is recomputed
        logger.warning("%s: cannot read the finished run (%s); recomputing", folder, exc)
        return None


# ---------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------

def _axis_column(axis: str) -> str | None:
    if axis == "seed":
        return None  # the seed column
    if axis in COLUMNS:
        return f"{axis} (axis)"
    return axis


def _axis_encoders(axes: dict[str, list]) -> dict[str, Callable[[Any], Any]]:
    def as_json(value):
        return json.dumps(value, default=str, ensure_ascii=False)

    encoders = {}
    for axis, values in axes.items():
        kinds = set()
        for v in values:
            if isinstance(v, bool):
                kinds.add("bool")
            elif isinstance(v, (int, float)):
                kinds.add("number")
            elif isinstance(v, str):
                kinds.add("str")
            else:
                kinds.add("json")
        encoders[axis] = (lambda v: v) if len(kinds) == 1 and "json" not in kinds else as_json
    return encoders


def _row(point: Point, encoders: dict, *, status: str, error: str = "",
         metrics: dict | None = None, wall_s: float = float("nan")) -> dict:
    row = {"point": point.index, "key": point.key, "status": status, "error": error,
           "run_dir": point.run_dir if status == "ok" else ""}
    for axis, value in point.values.items():
        column = _axis_column(axis)
        if column is not None:
            row[column] = encoders[axis](value)
    s = point.scenario
    row.update({"seed": s.seed, "policy": s.policy.allocation,
                "compression": s.policy.compression.method})
    metrics = metrics or {}
    for col in METRIC_COLUMNS:
        row[col] = metrics.get(col)
    row["wall_s"] = wall_s
    return row


def sweep_frame(rows: Sequence[dict], axes: Sequence[str]) -> pd.DataFrame:
    """The ``sweep.parquet`` table of ``rows`` (sorted by point), with fixed dtypes."""
    axis_cols = [c for c in (_axis_column(a) for a in axes) if c is not None]
    columns = _LEAD + axis_cols + _SCENARIO_COLUMNS + METRIC_COLUMNS + ["wall_s"]
    frame = pd.DataFrame(sorted(rows, key=lambda r: r["point"]), columns=columns)
    frame["point"] = frame["point"].astype("int64")
    frame["seed"] = frame["seed"].astype("int64")
    for col in ("key", "status", "error", "run_dir", "policy", "compression"):
        frame[col] = frame[col].astype(object)
    for col in METRIC_COLUMNS + ["wall_s"]:
        if col in _INT_COLUMNS:
            frame[col] = frame[col].astype("Int64")
        elif col in _BOOL_COLUMNS:
            frame[col] = frame[col].astype("boolean")
        elif col in _STR_COLUMNS:
            frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
        else:
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    return frame.reset_index(drop=True)


def _write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    write_atomic(path, write)


# ---------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------

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


def run_sweep(sweep: Sweep | str | Path, *, out_dir: str | Path | None = None,
              workers: int = 1, scheduler: Any = None, progress: Progress | None = None,
              resume: bool = True) -> pd.DataFrame:
    """Run every point of ``sweep``; return the ``sweep.parquet`` table.

    ``out_dir`` defaults to ``results/sweeps/<name>``.  ``workers`` local
    processes (1: in this process), or the Dask cluster ``scheduler`` (an
    address, a ``distributed.Client`` or a cluster object; ``workers`` is then
    ignored).  ``progress(done, total, key)`` is called after each point (points
    read back from an earlier run first).  With ``resume`` (default) points whose
    run folder is complete are read back, not recomputed; ``resume=False``
    recomputes everything.  The returned frame's ``attrs`` hold ``out_dir`` and
    the keys ``computed``, ``cached`` and ``failed`` of this call.
    """
    if not isinstance(sweep, Sweep):
        sweep = load_sweep(sweep)
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise InputError(f"workers: expected an integer >= 1, got {workers!r}")
    out = Path(out_dir) if out_dir is not None else sweep.default_out_dir()
    points_dir = out / "points"
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
    _write_atomic(out / "sweep.yaml", lambda p: p.write_text(sweep.resolved_yaml()))

    points = sweep.points()
    total = len(points)
    encoders = _axis_encoders(sweep.axes)
    rows: dict[int, dict] = {}
    computed: list[str] = []
    cached: list[str] = []
    failed: list[str] = []
    table_path = out / "sweep.parquet"

    def save() -> None:
        frame = sweep_frame(list(rows.values()), list(sweep.axes))
        _write_atomic(table_path, lambda p: frame.to_parquet(p, index=False))

    def tick(point: Point) -> None:
        if progress is not None:
            progress(len(rows), total, point.key)

    pending: list[Point] = []
    for point in points:
        metrics = _read_back(points_dir / point.key, point.key) if resume else None
        if metrics is None:
            pending.append(point)
            continue
        rows[point.index] = _row(point, encoders, status="ok", metrics=metrics)
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
            rows[point.index] = _row(point, encoders, status="ok", metrics=result["metrics"],
                                     wall_s=float(result["wall_s"]))
            computed.append(point.key)
            logger.info("sweep %s: point %d (%s) done in %.1f s", sweep.name, point.index,
                        point.describe(), result["wall_s"])
        else:
            error = sweep.point_error(point, result.get("error", ""), result.get("problems"))
            rows[point.index] = _row(point, encoders, status="failed", error=error,
                                     wall_s=float(result.get("wall_s", float("nan"))))
            failed.append(point.key)
            logger.warning("sweep %s: point %d (%s) failed: %s", sweep.name, point.index,
                           point.describe(), error)
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
                _run_processes(min(workers, len(pending)), pending, task, finish, crashed)
    except BaseException:
        # Interrupted (Ctrl-C, SIGTERM) or failed: the executor has stopped its workers
        # and handed over what it had; points whose run folder was completed meanwhile
        # are read back, so the table holds every finished point when this returns.
        for point, metrics in _finished_meanwhile(pending, rows, points_dir, started):
            rows[point.index] = _row(point, encoders, status="ok", metrics=metrics)
            computed.append(point.key)
        save()
        raise
    finally:
        if owned_client is not None:
            owned_client.close()

    save()
    frame = pd.read_parquet(table_path)  # exactly what the file holds
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
        metrics = _read_back(points_dir / point.key, point.key) if fresh else None
        if metrics is not None:
            found.append((point, metrics))
    return found


def _ignore_interrupts() -> None:
    """Initializer of local worker processes: Ctrl-C reaches the whole process group,
    but only the parent decides what happens (it stops the workers itself)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


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


def _run_processes(workers: int, pending: list[Point], task, finish, crashed) -> None:
    """Points in ``workers`` spawned processes.  When a worker process dies (killed,
    out of memory), the pool is rebuilt and the points it took down are tried once
    more; a point that takes a pool down twice is recorded as failed.

    When this process is interrupted (Ctrl-C, or SIGTERM through the command line)
    it keeps the results that already arrived, terminates the workers at once (they
    ignore SIGINT themselves) and re-raises: no worker is left running."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("spawn")
    deaths: dict[int, int] = {}
    remaining = list(pending)
    while remaining:
        pool = ProcessPoolExecutor(max_workers=min(workers, len(remaining)), mp_context=context,
                                   initializer=_ignore_interrupts)
        retry: list[Point] = []
        futures: dict = {}
        handled: set = set()
        try:
            for point in remaining:
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


def sweep_command(path: str | Path, *, workers: int = 1, scheduler: Any = None,
                  out_dir: str | Path | None = None, progress: Progress | None = None,
                  resume: bool = True) -> tuple[pd.DataFrame, Path]:
    """For the command line: load, run; return the table and the sweep folder."""
    sweep = load_sweep(path)
    out = Path(out_dir) if out_dir is not None else sweep.default_out_dir()
    frame = run_sweep(sweep, out_dir=out, workers=workers, scheduler=scheduler,
                      progress=progress, resume=resume)
    return frame, out
