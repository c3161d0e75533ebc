"""Per-row work done once per distinct value.

A trace of a million samples repeats a few hundred answers ("yes", "no", the 45
scene classes), so the confidence network's inputs (embeddings, partial answers,
agreement bits) are computed once per distinct text and gathered back with
integer codes.  The result is exactly what the row-by-row computation gives: the
distinct values are the rows' own ``str()`` (a column that is not all strings is
converted row by row first, so ``1`` and ``True`` stay apart).

>>> codes, texts = distinct_texts(["yes", "no", "yes", None], none="")
>>> codes.tolist(), texts
([0, 1, 0, 2], ['yes', 'no', ''])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def _objects(values) -> np.ndarray:
    if isinstance(values, (pd.Series, pd.Index)):
        return values.to_numpy(dtype=object)
    if isinstance(values, np.ndarray) and values.dtype == object and values.ndim == 1:
        return values
    return np.fromiter(values, dtype=object, count=len(values))


def distinct_texts(values: Sequence, none: str | None = None) -> tuple[np.ndarray, list[str]]:
    """``(codes, texts)`` with ``texts[codes[i]] == str(values[i])`` for every row ``i``
    (``none`` in place of ``None`` when given); ``texts`` in order of first appearance."""
    arr = _objects(values)
    if len(arr) == 0:
        return np.zeros(0, dtype=np.int64), []
    if pd.api.types.infer_dtype(arr, skipna=False) != "string":
        arr = _objects([none if (none is not None and v is None) else str(v) for v in arr])
    codes, uniques = pd.factorize(arr)
    return codes.astype(np.int64, copy=False), [str(u) for u in uniques]


def distinct_values(values: Sequence) -> tuple[np.ndarray, list]:
    """``(codes, uniques)`` of a column of hashable values (numbers): ``uniques[codes[i]]``
    equals ``values[i]``."""
    codes, uniques = pd.factorize(np.asarray(values), use_na_sentinel=False)
    return codes.astype(np.int64, copy=False), list(uniques)


def combine(*codes: np.ndarray) -> np.ndarray:
    """One code per distinct tuple of codes (pairs folded in turn, so no product of the
    counts can overflow)."""
    out = codes[0]
    for more in codes[1:]:
        width = int(more.max()) + 1 if len(more) else 1
        out, _ = pd.factorize(out * width + more)
        out = out.astype(np.int64, copy=False)
    return out


def first_rows(codes: np.ndarray) -> np.ndarray:
    """For each code ``0..k-1``, the first row that has it."""
    if len(codes) == 0:
        return np.zeros(0, dtype=np.int64)
    _, first = np.unique(codes, return_index=True)
    return first
