"""A sweep's points: the base scenario with the ``set`` overrides, then one value of every
axis (see :mod:`simulator.sweep`), each validated and keyed by its scenario hash."""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
import os
from pathlib import Path
from typing import Any, Sequence

import yaml
from pydantic import ValidationError

from .. import config as _cfg
from ..config import Scenario, ScenarioError, scenario_hash, slug
from .spec import (MAX_POINTS, SweepError, SweepSpec, _as_sweep_error, _read_sweep_yaml,
                   _read_text, _sweep_message, _yaml_value)

logger = logging.getLogger("simulator.sweep")


@dataclasses.dataclass(frozen=True)
class _Origin:
    """Where one override of a point comes from in the sweep file."""

    label: str          # axes.seed[1], set[0], set.workload.train_fraction, seed (--set)
    key_label: str      # axes.seed, set[0]: for problems above the override's path
    line: int           # line of the value (-1: given on the command line with --set)
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
                 base_path: Path, base_source: str, base_text: str,
                 overrides: Sequence[str] = ()):
        self.spec = spec
        self.source = source
        self.path = path
        self.name: str = spec.name or (path.stem if path is not None else "sweep")
        self.description = spec.description
        self.mode = spec.mode
        self.kind = spec.kind
        self.axes: dict[str, list] = dict(spec.axes)
        self.base_path = base_path
        self.base_source = base_source
        self._lines = lines
        self._base_text = base_text
        self._set_origins = self._set_overrides(spec.set) + self._cli_overrides(overrides)
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

    def _cli_overrides(self, overrides: Sequence[str]) -> list[_Origin]:
        """``--set KEY=VALUE`` of the command line: applied to every point, after the
        file's ``set`` and before the axes."""
        out = []
        for text in overrides:
            key = str(text).partition("=")[0].strip()
            path = _cfg._parse_field_path(key) if "=" in str(text) and key else ()
            label = _cfg._format_path(path) if path else key
            out.append(_Origin(label, label, -1, -1, path, str(text).strip(), None, False))
        return out

    def _at(self, line: int) -> str:
        """``SOURCE:LINE``, or ``SOURCE (from --set)`` for a command-line override."""
        return f"{self.source} (from --set)" if line < 0 else f"{self.source}:{line}"

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
                    if origin.line < 0:  # the command line's own words, as `run` says them
                        return [("", "", message)]
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
                out.append((self._at(origin.line), origin.label, text))
                continue
            origin = next((o for o in reversed(origins)
                           if fpath and o.path[:len(fpath)] == fpath), None)
            if origin is not None:
                if origin.line < 0:  # --set of a longer path than the field: as `run` says it
                    out.append((self._at(-1), field, text))
                else:
                    out.append((self._at(origin.key_line), origin.key_label,
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
        """``results/sweeps/<name>`` (relative to the working directory); a compare folder
        is ``<output.dir>/compare/<scenario name>``."""
        if self.kind == "compare" and self._points:
            return Path(self._points[0].scenario.output.dir) / "compare" / slug(self.name)
        return Path("results") / "sweeps" / slug(self.name)

    def resolved_yaml(self) -> str:
        """The sweep as resolved (absolute base, ``set`` as a list); :func:`load_sweep` reads it."""
        from .. import __version__

        body = {"name": self.name}
        if self.kind != "sweep":
            body["kind"] = self.kind
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
                path: Path | None = None, overrides: Sequence[str] = ()) -> Sweep:
    """A :class:`Sweep` from YAML text; ``base`` is relative to ``base_dir`` (default: cwd).

    ``overrides`` (``KEY=VALUE``, as ``spaceverse sweep --set``) apply to every point,
    after the file's ``set`` and before the axes."""
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
                 base_source=base_source, base_text=base_text, overrides=overrides)


def load_sweep(path: str | Path, overrides: Sequence[str] = ()) -> Sweep:
    """Read and validate the sweep file ``path`` and every point's scenario.

    ``overrides`` (``KEY=VALUE``) apply to every point before the axes.  Raises
    :class:`SweepError` (an :class:`~simulator.errors.InputError`) with a one-line
    message for every problem.
    """
    source = str(path)
    file = Path(path).expanduser()
    text = _read_text(file, source, "sweep")
    sweep = parse_sweep(text, source, base_dir=file.parent, path=file, overrides=overrides)
    logger.debug("sweep %s from %s: %d point(s)", sweep.name, source, len(sweep))
    return sweep



def sweep_from_scenario(scenario_path, *, name: str, axes: dict[str, list],
                        mode: str = "zip", overrides: Sequence[str] = (), kind: str = "compare",
                        description: str = "") -> Sweep:
    """A sweep over ``axes`` of the scenario file ``scenario_path`` (with ``overrides`` on
    every point), as if written in a sweep file: what ``spaceverse compare`` runs."""
    file = Path(scenario_path).expanduser()
    body = {"name": name, "kind": kind, "description": description,
            "base": str(file.resolve()), "mode": mode, "axes": axes}
    text = yaml.safe_dump(body, sort_keys=False, allow_unicode=True)
    return parse_sweep(text, f"{scenario_path} [{kind}]", base_dir=file.parent,
                       overrides=overrides)
