"""The sweep file: its schema (:class:`SweepSpec`), how it is read, and its errors.

Errors are one-line :class:`SweepError` s (an :class:`~simulator.errors.InputError`)
in the scenario style, ``FILE:LINE: FIELD.PATH: message``.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, field_validator, model_validator

from .. import config as _cfg
from ..config import Scenario, ScenarioError

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
    kind: Literal["sweep", "compare"] = Field(
        "sweep", description="compare: written by spaceverse compare (one point per policy); "
                             "sweep otherwise.")

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

