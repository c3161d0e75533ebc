"""Replay a trace as an inference backend.

:class:`CachedBackend` answers from a :class:`~simulator.inference.traces.Trace`
row by row.  It can also draw a different number of samples than the trace
holds, reproducibly:

* ``samples=None``: every trace row once, in trace order;
* ``samples <= len(trace)``: the first ``samples`` rows of a seeded random
  permutation -- a subset without replacement.  With one seed a smaller
  subset is a prefix of a larger one, so sweeps over ``samples`` are nested;
* ``samples > len(trace)``: rows come in cycles, each a fresh seeded
  permutation of the trace (:func:`simulator.inference.split.draw_rows`), so
  every row repeats about equally often and a smaller draw is still a prefix of
  a larger one.  Repeated rows get unique ids: the second occurrence of ``"a"``
  is ``"a~r1"``, the third ``"a~r2"``; the column ``trace_row`` keeps the
  original row index;
* ``rows``: exactly these trace row indices (the engine draws them itself).

A trace with a ``split`` column (synthetic traces hold a training pool) replays
only its ``test`` rows unless ``rows`` says otherwise.

::

    >>> from simulator.inference.synthetic import generate_synthetic
    >>> trace = generate_synthetic("vqa", samples=5, seed=0)
    >>> CachedBackend(trace).sample_ids().tolist()
    ['vqa-000000', 'vqa-000001', 'vqa-000002', 'vqa-000003', 'vqa-000004']
    >>> big = CachedBackend(trace, samples=12, seed=3)
    >>> len(big), big.columns()["trace_row"].nunique() <= 5, len(set(big.sample_ids())) == 12
    (12, True, True)

A trace records the ground model on the *uncompressed* image.  ``ground()``
accepts the compression settings the engine used but cannot replay their
effect; it returns the recorded answer with ``compression_applied: False`` so
the caller's compression model can adjust the score.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from simulator.errors import InputError
from simulator.inference.traces import Trace

log = logging.getLogger(__name__)


def select_rows(n_trace: int, samples: int | None, seed: int) -> np.ndarray:
    """Trace row indices for ``samples`` samples (see the module docstring).

    >>> select_rows(4, None, 0).tolist()
    [0, 1, 2, 3]
    >>> select_rows(10, 3, 7).tolist() == select_rows(10, 5, 7)[:3].tolist()
    True
    """
    from simulator.inference.split import draw_rows

    if n_trace < 1:
        raise InputError("cannot replay an empty trace; expected at least one sample")
    return draw_rows(n_trace, samples, seed)


def _unique_ids(ids: pd.Series, rows: np.ndarray):
    """The ids with repeats renamed ``ID~r1``, ``ID~r2``, ... (a row drawn again).

    A validated trace's ids are unique, so they repeat only where ``rows`` does: the
    column is kept as it is otherwise (no Python string a row).
    """
    if pd.Index(rows).is_unique:
        return ids.array
    ids = ids.to_numpy(dtype=object)
    seen: dict[str, int] = {}
    out = []
    for sid in ids:
        k = seen.get(sid, 0)
        seen[sid] = k + 1
        out.append(sid if k == 0 else f"{sid}~r{k}")
    return np.array(out, dtype=object)


class CachedBackend:
    """An :class:`~simulator.inference.InferenceBackend` that replays a trace."""

    def __init__(self, trace: Trace, *, samples: int | None = None, seed: int = 0,
                 rows: np.ndarray | None = None) -> None:
        trace.validate()
        self.trace = trace
        self.name = trace.name
        self.synthetic = trace.synthetic
        self.seed = seed
        if rows is None:
            # a trace with a training pool (column split) replays its test rows only
            pool = (np.flatnonzero(trace.table["split"].astype(str).to_numpy() != "train")
                    if "split" in trace.table.columns else np.arange(len(trace)))
            rows = pool[select_rows(len(pool), samples, seed)]
        rows = np.asarray(rows, dtype=np.int64)
        every_row = len(rows) == len(trace.table) and bool((rows == np.arange(len(rows))).all())
        # every row in order (a synthetic trace's test rows): the trace's columns are shared
        # (pandas copies a column only when it is written to)
        table = (trace.table if every_row else trace.table.iloc[rows]).reset_index(drop=True)
        table = table.drop(columns=["trace_row"], errors="ignore")
        table.insert(0, "trace_row", rows.astype(np.int64))
        table["sample_id"] = _unique_ids(table["sample_id"], rows)
        self._table = table
        self._has_conf = "onboard_confidence" in table.columns
        self._has_onboard_wall = "onboard_wall_s" in table.columns
        self._has_ground_wall = "ground_wall_s" in table.columns
        self._compression_noted = False

    def __len__(self) -> int:
        return len(self._table)

    @property
    def meta(self) -> dict[str, Any]:
        """The replayed trace's metadata (results record it)."""
        return self.trace.meta

    def __repr__(self) -> str:
        kind = "synthetic" if self.synthetic else "recorded"
        return f"CachedBackend({self.name!r}, {kind}, {len(self)} samples)"

    def sample_ids(self) -> np.ndarray:
        return self._table["sample_id"].to_numpy(dtype=object)

    def columns(self) -> pd.DataFrame:
        """The selected rows; a shallow copy, so edits never reach the backend."""
        return self._table.copy(deep=False)

    def _row(self, row: int) -> int:
        if isinstance(row, bool) or not isinstance(row, (int, np.integer)) or not 0 <= row < len(self):
            raise IndexError(f"row {row!r} out of range for {len(self)} samples")
        return int(row)

    def onboard(self, row: int) -> dict[str, Any]:
        r = self._row(row)
        t = self._table
        out: dict[str, Any] = {
            "answer": t["onboard_answer"].iat[r],
            "score": float(t["onboard_score"].iat[r]),
            "output_tokens": int(t["onboard_output_tokens"].iat[r]),
        }
        if self._has_conf:
            out["confidence"] = float(t["onboard_confidence"].iat[r])
        if self._has_onboard_wall:
            out["wall_s"] = float(t["onboard_wall_s"].iat[r])
        return out

    def ground(self, row: int, *, compression: dict | None = None) -> dict[str, Any]:
        r = self._row(row)
        t = self._table
        out: dict[str, Any] = {
            "answer": t["ground_answer"].iat[r],
            "score": float(t["ground_score"].iat[r]),
            "output_tokens": int(t["ground_output_tokens"].iat[r]),
        }
        if self._has_ground_wall:
            out["wall_s"] = float(t["ground_wall_s"].iat[r])
        if compression:
            out["compression_applied"] = False
            if not self._compression_noted:
                log.debug("trace %s holds uncompressed ground answers; compression %s not replayed",
                          self.name, compression)
                self._compression_noted = True
        return out
