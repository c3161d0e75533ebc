"""The grid of image regions Eq. 2 scores and Eq. 3 acts on, and their score scale (numpy only).

Region ``r`` of the CLIP attention (:mod:`simulator.inference.clip_attention`) and of the
multi-scale preprocessing (:mod:`simulator.policies.multiscale`) is box ``r`` here: the
image cut into ``rows x cols`` near-equal cells, row by row.
"""

from __future__ import annotations

import numpy as np


def grid_edges(size: int, cells: int) -> np.ndarray:
    """Pixel edges of ``cells`` near-equal cells along a side of ``size`` px (``cells + 1`` ints)."""
    return np.round(np.linspace(0, size, cells + 1)).astype(int)


def region_boxes(width: int, height: int, grid: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """``(left, top, right, bottom)`` pixel boxes of the ``rows x cols`` grid, row by row.

    Region ``r`` of every method of :mod:`simulator.inference.clip_attention` is box ``r`` here.

    >>> region_boxes(100, 50, (2, 2))
    [(0, 0, 50, 25), (50, 0, 100, 25), (0, 25, 50, 50), (50, 25, 100, 50)]
    """
    rows, cols = grid
    ys, xs = grid_edges(height, rows), grid_edges(width, cols)
    return [(int(xs[c]), int(ys[r]), int(xs[c + 1]), int(ys[r + 1])) for r in range(rows) for c in range(cols)]


def minmax(scores) -> np.ndarray:
    """``scores`` rescaled to ``[0, 1]`` over their own range (all 1.0 if they are all equal).

    Equal scores carry no ranking; mapping them all to 1 keeps every region
    rather than discarding the whole image.
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.size == 0:
        return s
    low, high = float(np.min(s)), float(np.max(s))
    if not high > low:
        return np.ones_like(s)
    return (s - low) / (high - low)
