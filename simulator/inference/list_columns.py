"""Trace columns whose cells are lists of numbers (``features``, ``onboard_stage_confidence``).

A generated trace holds them as Arrow list arrays: one flat buffer of numbers and one
offset a row, instead of a Python list or NumPy array object a row (16 float32
features and one stage confidence: 80 bytes a row instead of about 280).  Traces read from files or recorded from live
models may hold them as object columns (a list or array a cell); every reader here takes
both, so code that needs the numbers asks for them in one of two shapes:

* :func:`flat_and_lengths`: every row's numbers in one array, and each row's count;
* :func:`matrix`: rows of equal length as an ``n x d`` array.

>>> column = pd.Series(list_array(np.array([0.1, 0.2, 0.3]), np.array([1, 0, 2])))
>>> column.iloc[2]
[0.2, 0.3]
>>> flat, lengths = flat_and_lengths(column)
>>> flat.tolist(), lengths.tolist()
([0.1, 0.2, 0.3], [1, 0, 2])
>>> matrix(pd.Series([np.ones(2), np.zeros(2)])).tolist()
[[1.0, 1.0], [0.0, 0.0]]
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd


def list_array(flat: np.ndarray, lengths: np.ndarray):
    """A pandas column of lists: row ``i`` holds the next ``lengths[i]`` values of ``flat``
    (an Arrow ``list<float>`` or ``list<double>`` after ``flat``'s dtype)."""
    import pyarrow as pa

    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    kind = pa.int32() if offsets[-1] < 2**31 else pa.int64()
    lists = (pa.ListArray if kind == pa.int32() else pa.LargeListArray).from_arrays(
        pa.array(offsets, type=kind), pa.array(np.ascontiguousarray(flat)))
    return pd.arrays.ArrowExtensionArray(lists)


def rows_array(rows: np.ndarray):
    """A pandas column of lists, one row of the 2-d array ``rows`` each."""
    rows = np.asarray(rows)
    return list_array(rows.reshape(-1), np.full(len(rows), rows.shape[1], dtype=np.int64))


def arrow_lists(values):
    """The Arrow list array behind a column, or None when it is not one."""
    dtype = getattr(values, "dtype", None)
    if not isinstance(dtype, pd.ArrowDtype):
        return None
    import pyarrow as pa

    if not (pa.types.is_list(dtype.pyarrow_dtype) or pa.types.is_large_list(dtype.pyarrow_dtype)
            or pa.types.is_fixed_size_list(dtype.pyarrow_dtype)):
        return None
    array = pa.array(values)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def flat_and_lengths(values) -> tuple[np.ndarray, np.ndarray] | None:
    """Every row's numbers in one array and each row's count (a missing row counts 0);
    None when a cell is not a list or array of numbers.  Arrow lists give their numbers
    as stored (``float32`` features stay ``float32``), object columns as ``float``."""
    lists = arrow_lists(values)
    if lists is not None:
        return lists_flat_and_lengths(lists)
    cells = values.to_numpy(dtype=object) if hasattr(values, "to_numpy") else values
    try:
        lengths = np.fromiter((0 if v is None else len(v) for v in cells), dtype=np.int64,
                              count=len(cells))
        flat = np.fromiter(itertools.chain.from_iterable(v for v in cells if v is not None),
                           dtype=float, count=int(lengths.sum()))
    except (TypeError, ValueError):
        return None
    return flat, lengths


def lists_flat_and_lengths(lists) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`flat_and_lengths` of an Arrow list array (from :func:`arrow_lists`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pa.types.is_integer(lists.type.value_type) and \
            not pa.types.is_floating(lists.type.value_type):
        return None
    lengths = pc.list_value_length(lists).fill_null(0).to_numpy().astype(np.int64)
    flat = pc.list_flatten(lists)
    if flat.null_count:
        return None
    return flat.to_numpy(zero_copy_only=False), lengths


def matrix(values, dtype=float) -> np.ndarray:
    """Rows of equal length as an ``n x d`` array (raises ValueError when they differ)."""
    found = flat_and_lengths(values)
    if found is None:
        raise ValueError("cells that are not lists of numbers")
    flat, lengths = found
    if not len(lengths):
        return np.zeros((0, 0), dtype=dtype)
    if (lengths != lengths[0]).any():
        raise ValueError("rows of different lengths")
    return flat.reshape(len(lengths), int(lengths[0])).astype(dtype, copy=False)
