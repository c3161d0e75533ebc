"""String columns built in Arrow: no Python string object a row.

A table of a million rows whose text columns repeat a few values (a satellite's name,
a status, a station) would otherwise make a million Python strings per column on the
way in, only for pandas to copy them into Arrow.  :func:`labels_column` gathers the
values by index in Arrow instead; the result has pandas' ``str`` dtype, the one a
column of Python strings gets.

>>> import pandas as pd
>>> column = labels_column(["onboard", "ground"], np.array([1, 0, 1]))
>>> pd.Series(column).tolist(), column.dtype == pd.Series(["x"]).dtype
(['ground', 'onboard', 'ground'], True)
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def str_dtype():
    """pandas' dtype for a column of Python strings (``str``, Arrow-backed)."""
    return pd.Series(np.array(["x"], dtype=object)).astype(str).dtype


def labels_column(labels, codes: np.ndarray):
    """``[labels[c] for c in codes]`` as a pandas string array (``codes`` >= 0)."""
    import pyarrow as pa

    taken = pa.array(list(labels), type=pa.large_string()).take(
        pa.array(np.asarray(codes, dtype=np.int64)))
    return pd.array(taken, dtype=str_dtype())
