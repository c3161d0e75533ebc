"""Pluggable inference: what the onboard and ground VLMs answer for each sample.

The engine asks an :class:`InferenceBackend` for answers, scores and token
counts; how long each stage takes is :mod:`simulator.compute`'s business, not
the backend's.  Backends:

* :class:`~simulator.inference.cached.CachedBackend` replays a
  :class:`~simulator.inference.traces.Trace` (recorded or synthetic);
* synthetic traces come from
  :func:`~simulator.inference.synthetic.generate_synthetic`.

Example::

    >>> from simulator.inference import CachedBackend, generate_synthetic
    >>> backend = CachedBackend(generate_synthetic("vqa", samples=50, seed=1))
    >>> isinstance(backend, InferenceBackend), len(backend), backend.synthetic
    (True, 50, True)
    >>> sorted(backend.onboard(0))
    ['answer', 'confidence', 'output_tokens', 'score']
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd


@runtime_checkable
class InferenceBackend(Protocol):
    """What the engine needs from an inference source.

    Rows are positions ``0 .. len(backend) - 1`` in the backend's own sample
    order (which :meth:`sample_ids` and :meth:`columns` follow).
    """

    name: str
    synthetic: bool

    def __len__(self) -> int: ...

    def sample_ids(self) -> np.ndarray:
        """Unique sample ids, one per row."""
        ...

    def columns(self) -> pd.DataFrame:
        """The per-sample table the engine vectorises over (treat as read-only)."""
        ...

    def onboard(self, row: int) -> dict:
        """``answer``, ``score``, ``output_tokens`` and, if known, ``confidence``, ``wall_s``."""
        ...

    def ground(self, row: int, *, compression: dict | None = None) -> dict:
        """``answer``, ``score``, ``output_tokens`` and, if known, ``wall_s``."""
        ...


from simulator.inference.traces import Trace, list_traces, read_trace, write_trace  # noqa: E402
from simulator.inference.cached import CachedBackend  # noqa: E402
from simulator.inference.synthetic import SyntheticParams, generate_synthetic  # noqa: E402

__all__ = [
    "InferenceBackend",
    "CachedBackend",
    "Trace",
    "read_trace",
    "write_trace",
    "list_traces",
    "SyntheticParams",
    "generate_synthetic",
]
