"""A sweep's table: one ``sweep.parquet`` row per point, the point's axis values in
their own columns (the columns and their dtypes: :mod:`simulator.results.sweeps`)."""

from __future__ import annotations

import json
from typing import Any, Callable, Sequence

import pandas as pd

from ..results import (BREAKDOWN_COLUMNS, SWEEP_COLUMNS as COLUMNS,
                       SWEEP_METRIC_COLUMNS as METRIC_COLUMNS, point_metrics)
from ..results import sweep_frame as _sweep_frame
from .points import Point

__all__ = ["BREAKDOWN_COLUMNS", "COLUMNS", "METRIC_COLUMNS", "axis_column", "axis_columns",
           "axis_encoders", "point_metrics", "point_row", "sweep_frame"]


def axis_column(axis: str) -> str | None:
    if axis == "seed":
        return None  # the seed column
    if axis in COLUMNS:
        return f"{axis} (axis)"
    return axis


def axis_encoders(axes: dict[str, list]) -> dict[str, Callable[[Any], Any]]:
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


def point_row(point: Point, encoders: dict, *, status: str, error: str = "",
         metrics: dict | None = None, wall_s: float = float("nan")) -> dict:
    row = {"point": point.index, "key": point.key, "status": status, "error": error,
           "run_dir": point.run_dir if status == "ok" else ""}
    for axis, value in point.values.items():
        column = axis_column(axis)
        if column is not None:
            row[column] = encoders[axis](value)
    s = point.scenario
    row.update({"seed": s.seed, "policy": s.policy.allocation,
                "compression": s.policy.compression.method})
    metrics = metrics or {}
    for col in METRIC_COLUMNS + ["warnings"]:
        row[col] = metrics.get(col)
    row["wall_s"] = wall_s
    return row


def axis_columns(axes: Sequence[str]) -> list[str]:
    """The ``sweep.parquet`` columns of the axes ``axes`` (the seed axis has none)."""
    return [c for c in (axis_column(a) for a in axes) if c is not None]


def sweep_frame(rows: Sequence[dict], axes: Sequence[str]) -> pd.DataFrame:
    """The ``sweep.parquet`` table of ``rows`` for a sweep over ``axes`` (axis names)."""
    return _sweep_frame(rows, axis_columns(axes))
