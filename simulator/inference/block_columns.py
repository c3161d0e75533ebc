"""Columns of the synthetic generator's blocks: joined and reordered as NumPy arrays, made
into pandas columns once per stream.

The generator draws a trace in blocks of a few hundred rows (:mod:`simulator.inference.
synthetic`).  A column of a block is a NumPy array, a Python list, or one of three compact
forms that stay NumPy until the whole stream is joined:

* :class:`Coded`: text drawn from a few values, as codes into ``labels`` (an answer, a
  question, the task), made an Arrow string column (:func:`~simulator.text_columns.
  labels_column`);
* :class:`Ragged`: lists of numbers of varying length, as one flat array and a length a
  row (stage confidences), made an Arrow list column;
* :class:`Rows`: vectors of one length, as an ``n x d`` array (image features), made an
  Arrow list column.

>>> a = join([Coded(("no", "yes"), np.array([1, 0])), Coded(("yes",), np.array([0]))])
>>> list(head(take(a, np.array([2, 0])), 2))
['yes', 'yes']
>>> r = take(Ragged(np.array([1.0, 2.0, 3.0]), np.array([1, 2])), np.array([1, 0]))
>>> r.flat.tolist(), r.lengths.tolist()
([2.0, 3.0, 1.0], [2, 1])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..text_columns import labels_column
from .list_columns import list_array, rows_array


@dataclass
class Coded:
    """Text as codes into ``labels``."""

    labels: tuple
    codes: np.ndarray

    def __post_init__(self):
        self.labels = tuple(self.labels)
        self.codes = np.asarray(self.codes, dtype=np.int64)   # (booleans pick no / yes)


@dataclass
class Ragged:
    """Lists of numbers: row ``i`` holds the next ``lengths[i]`` values of ``flat``."""

    flat: np.ndarray
    lengths: np.ndarray


@dataclass
class Rows:
    """Vectors of one length, a row of ``values`` each."""

    values: np.ndarray


def length(column) -> int:
    if isinstance(column, Coded):
        return len(column.codes)
    if isinstance(column, Ragged):
        return len(column.lengths)
    if isinstance(column, Rows):
        return len(column.values)
    return len(column)


def join(pieces: list):
    """Columns of consecutive blocks as one, of the same form (text as codes joined with
    plain text is plain text)."""
    if any(isinstance(p, Coded) for p in pieces) and not all(isinstance(p, Coded)
                                                             for p in pieces):
        pieces = [np.array(p.labels, dtype=object)[p.codes] if isinstance(p, Coded)
                  else np.asarray(p, dtype=object) for p in pieces]
    first = pieces[0]
    if isinstance(first, Coded):
        if all(p.labels == first.labels for p in pieces):
            return Coded(first.labels, np.concatenate([p.codes for p in pieces]))
        labels: dict = {}
        codes = []
        for piece in pieces:
            where = np.array([labels.setdefault(x, len(labels)) for x in piece.labels],
                             dtype=np.int64)
            codes.append(where[piece.codes])
        return Coded(tuple(labels), np.concatenate(codes))
    if isinstance(first, Ragged):
        return Ragged(np.concatenate([p.flat for p in pieces]),
                      np.concatenate([p.lengths for p in pieces]))
    if isinstance(first, Rows):
        return Rows(np.concatenate([p.values for p in pieces]))
    if all(isinstance(x, np.ndarray) for x in pieces):
        return np.concatenate(pieces)
    out = []
    for x in pieces:
        out.extend(x)
    return out


def take(column, rows: np.ndarray):
    """The rows ``rows`` of a column, in that order."""
    if isinstance(column, Coded):
        return Coded(column.labels, column.codes[rows])
    if isinstance(column, Ragged):
        starts = np.cumsum(column.lengths) - column.lengths
        lengths = column.lengths[rows]
        first = np.cumsum(lengths) - lengths   # where each taken row starts in the result
        index = np.repeat(starts[rows] - first, lengths) + np.arange(int(lengths.sum()))
        return Ragged(column.flat[index], lengths)
    if isinstance(column, Rows):
        return Rows(column.values[rows])
    if isinstance(column, np.ndarray):
        return column[rows]
    return [column[i] for i in rows.tolist()]


def head(column, rows: int):
    """The first ``rows`` rows as a pandas-ready column (an array; lists become object
    arrays whose cells stay whole)."""
    if isinstance(column, Coded):
        return labels_column(column.labels, column.codes[:rows])
    if isinstance(column, Ragged):
        lengths = column.lengths[:rows]
        return list_array(column.flat[:int(lengths.sum())], lengths)
    if isinstance(column, Rows):
        return rows_array(column.values[:rows])
    if isinstance(column, np.ndarray):
        return column[:rows]
    out = np.empty(rows, dtype=object)
    out[:] = column[:rows]
    return out
