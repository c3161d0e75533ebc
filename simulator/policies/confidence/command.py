"""The training pool, ``spaceverse train confidence``, and the cache key of a table.

Training rows
-------------
The rows come from the engine's held-apart training pool
(:func:`simulator.inference.split.split_trace`: a trace's ``split == "train"``
rows, else a seeded hash order of its sample ids), never from the simulated
samples.  :func:`train_split` and :func:`train_command` use the same split.
Fewer than :data:`MIN_TRAIN_ROWS` rows rarely train anything useful; the
policies warn.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulator.errors import InputError

from .target import DEFAULT_TARGET
from .training import train_confidence

#: The package's logger (the one this code logged to before the package was split).
log = logging.getLogger("simulator.policies.confidence")

#: Fewer training rows than this trigger a warning (the audit's minimum).
MIN_TRAIN_ROWS = 1000


def train_split(table: pd.DataFrame, fraction: float | None = None, seed: int = 1, *,
                train_rows: int | None = None) -> pd.DataFrame:
    """The training pool the engine holds apart from the simulated samples.

    :func:`simulator.inference.split.split_trace` with the same arguments: a
    trace's ``split == "train"`` rows when it has that column (``train_rows``
    caps them), else ``train_rows`` (or ``round(fraction * n)``) sample ids
    picked by a seeded hash order.  With ``seed`` equal to a scenario's split
    seed the rows are exactly those the engine keeps out of the simulation.
    """
    from simulator.inference.split import split_trace

    if train_rows is None and "split" not in table.columns:
        if fraction is None or not 0 < float(fraction) < 1:
            raise InputError(f"train fraction {fraction!r}; expected a number in (0, 1)")
    _, train = split_trace(table.reset_index(drop=True), train_rows=train_rows,
                           train_fraction=None if train_rows is not None else fraction,
                           seed=int(seed))
    return train


def default_checkpoint(trace_name: str, variant: str) -> Path:
    from simulator.paths import project_root

    return project_root() / "models" / "confidence" / f"{trace_name}-{variant}.pt"


def train_command(trace: str, train_fraction: float = 0.05, seed: int = 1,
                  out: Path | str | None = None, points: int = 2, stage_tokens: int = 16,
                  variant: str = "progressive", train_rows: int | None = None,
                  target: str = DEFAULT_TARGET, **train_kwargs: Any) -> Path:
    """``spaceverse train confidence``: train on the training pool of ``trace``; return the ``.pt`` path.

    The pool is :func:`train_split`: ``train_rows`` rows when given (``spaceverse
    train confidence --train-rows N``), else ``train_fraction`` of the sample ids;
    a trace with a ``split`` column uses its ``"train"`` rows.

    ``out`` is a file path (``.pt`` added if missing), a folder (existing, or
    written with a trailing ``/``; the file is ``<trace>-<variant>.pt`` inside
    it) or ``None``
    (``models/confidence/<trace>-<variant>.pt``).  The split is
    :func:`train_split` (the engine's, for a scenario with this ``seed``).
    """
    from simulator.inference.traces import read_trace

    t = read_trace(trace)
    train = train_split(t.table, train_fraction, seed, train_rows=train_rows)
    what = f"train_rows {train_rows}" if train_rows is not None else \
        f"train fraction {train_fraction}"
    if len(train) < 2:
        raise InputError(f"{what} of {len(t)} samples leaves {len(train)} for training; "
                         f"expected at least 2")
    if len(train) < MIN_TRAIN_ROWS:
        log.warning("training the confidence network on %d rows (%s); fewer than %d rarely "
                    "learn anything", len(train), what, MIN_TRAIN_ROWS)
    trained = train_confidence(train, points=points, stage_tokens=stage_tokens, variant=variant,
                               seed=seed, recorded_stage_tokens=t.meta.get("stage_tokens"),
                               trace_name=t.name, target=target, **train_kwargs)
    trained.meta["train_fraction"] = None if train_rows is not None else float(train_fraction)
    trained.meta["train_rows"] = None if train_rows is None else int(train_rows)
    trained.meta["split_seed"] = int(seed)
    trained.meta["split"] = ("the trace's split == 'train' rows" if "split" in t.table.columns
                             else "simulator.inference.split.split_trace: seeded hash order of "
                                  "the sample ids")
    if out is None:
        path = default_checkpoint(t.name, variant)
    else:
        path = Path(out)
        if path.is_dir() or str(out).endswith(("/", os.sep)):
            path = path / f"{t.name}-{variant}.pt"
        elif path.suffix != ".pt":
            path = path.with_name(path.name + ".pt")
    return trained.save(path)


def content_digest(df: pd.DataFrame) -> str:
    """A hash of the columns the confidence network reads (for cache keys)."""
    h = hashlib.sha256()
    cols = [c for c in ("sample_id", "task", "image_width_px", "image_height_px", "image_bytes",
                        "onboard_answer", "ground_answer", "onboard_output_tokens",
                        "question", "second_opinion_answer") if c in df.columns]
    lists = [c for c in ("features", "onboard_stage_answers", "onboard_stage_confidence",
                         "onboard_stage_probs") if c in df.columns]
    h.update(json.dumps([cols, lists]).encode())
    for c in cols:
        h.update(json.dumps([str(v) for v in df[c].tolist()]).encode())
    for name in lists:
        for v in df[name]:
            if name == "onboard_stage_answers":
                h.update(json.dumps([str(x) for x in v]).encode())
            else:
                h.update(np.asarray(v, dtype=np.float32).tobytes())
                h.update(b"|")
    return h.hexdigest()
