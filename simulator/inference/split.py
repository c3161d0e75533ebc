"""Training pool and evaluated samples: which trace rows a learning policy may see.

The SpaceVerse paper trains its confidence network on "5 % train sets" and
evaluates on the test sets (§4.1.2): the two never overlap, and how many test
samples are evaluated does not change what is learnt.  This module makes the
same promise for every trace:

* a trace with a ``split`` column (synthetic traces generate one) has its
  ``"train"`` rows as the training pool and its ``"test"`` rows as the samples
  that may be simulated;
* any other trace is split by a **seeded hash order** of its unique sample ids:
  each id gets the key ``sha256(f"{seed}:{id}")`` and the ``n_train`` ids with the
  smallest keys form the pool.  An id's key depends on nothing but the seed and
  the id, so the pool does not depend on the row order, on how many samples are
  simulated, or on anything else in the scenario.

``n_train`` is ``train_rows`` when given, else ``round(train_fraction × ids)``.

>>> import pandas as pd
>>> t = pd.DataFrame({"sample_id": [f"s{i}" for i in range(10)], "x": range(10)})
>>> test, train = split_trace(t, train_rows=3, seed=1)
>>> len(test), len(train), sorted(set(test.sample_id) & set(train.sample_id))
(7, 3, [])
>>> split_trace(t.iloc[::-1], train_rows=3, seed=1)[1].sample_id.tolist() == train.sample_id.tolist()[::-1]
True

Evaluated samples are then drawn from the test rows by :func:`draw_rows`, which
is *prefix-stable*: the first ``k`` rows drawn for ``samples=n`` are the rows
drawn for ``samples=k``.
"""

from __future__ import annotations

import hashlib
import logging

import numpy as np
import pandas as pd

from ..errors import InputError

log = logging.getLogger(__name__)

#: Values of a trace's ``split`` column.
SPLITS = ("test", "train")


def _hash_key(seed: int, sample_id: str) -> bytes:
    return hashlib.sha256(f"{int(seed)}:{sample_id}".encode()).digest()


def train_count(n_ids: int, *, train_rows: int | None = None,
                train_fraction: float | None = None) -> int:
    """How many ids go to the training pool.

    >>> train_count(2100, train_rows=1000), train_count(2100, train_fraction=0.05)
    (1000, 105)
    """
    if train_rows is not None:
        if isinstance(train_rows, bool) or int(train_rows) != train_rows or train_rows < 0:
            raise InputError(f"train_rows={train_rows!r}; expected a whole number >= 0")
        return int(train_rows)
    if train_fraction is None:
        return 0
    fraction = float(train_fraction)
    if not 0 <= fraction < 1:
        raise InputError(f"train_fraction={train_fraction!r}; expected a number in [0, 1)")
    return int(round(fraction * n_ids))


def split_trace(table: pd.DataFrame, *, train_rows: int | None = None,
                train_fraction: float | None = None,
                seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(test, train)`` rows of a trace table (see the module docstring).

    Both keep the table's row order and get a fresh index.  With a ``split``
    column, ``train_rows`` caps the pool (its first rows) and ``train_fraction``
    is ignored.  Raises :class:`InputError` when the pool would leave nothing to
    simulate.
    """
    if "split" in table.columns:
        kind = table["split"].astype(str)   # (Arrow strings: no Python string a row)
        bad = sorted(set(kind.unique().tolist()) - set(SPLITS))
        if bad:
            raise InputError(f"trace column split: unknown value {bad[0]!r}; expected "
                             f"{' or '.join(SPLITS)}")
        is_train = (kind == "train").to_numpy()
        k = int(np.count_nonzero(~is_train))
        if not is_train[:k].any():  # test rows first, then the pool: slices share the data
            train, test = table.iloc[k:], table.iloc[:k]
        else:
            train, test = table.loc[is_train], table.loc[~is_train]
        if train_rows is not None:
            train = train.iloc[:train_count(len(train), train_rows=train_rows)]
        if len(test) == 0:
            raise InputError("the trace has no test rows (column split); nothing to simulate")
        return test.reset_index(drop=True), train.reset_index(drop=True)

    ids = table["sample_id"].astype(str).to_numpy()
    unique = pd.unique(ids)
    n_train = train_count(len(unique), train_rows=train_rows, train_fraction=train_fraction)
    if n_train == 0:
        return table.reset_index(drop=True), table.iloc[0:0].reset_index(drop=True)
    if n_train >= len(unique):
        what = (f"workload.train_rows {train_rows}" if train_rows is not None
                else f"workload.train_fraction {train_fraction}")
        raise InputError(f"{what} takes all {len(unique)} distinct samples of the trace for "
                         f"training; nothing is left to simulate")
    order = sorted(unique.tolist(), key=lambda s: _hash_key(seed, s))
    chosen = set(order[:n_train])
    mask = np.fromiter((s in chosen for s in ids), dtype=bool, count=len(ids))
    return (table.loc[~mask].reset_index(drop=True), table.loc[mask].reset_index(drop=True))


def draw_rows(n_pool: int, samples: int | None, seed: int) -> np.ndarray:
    """Indices of ``samples`` rows drawn from a pool of ``n_pool`` rows, prefix-stable.

    ``None`` takes every row once in pool order.  Otherwise rows come in cycles:
    each cycle is a fresh seeded permutation of the pool, so up to ``n_pool``
    samples are distinct, and the first ``k`` of any draw are the draw of ``k``.

    >>> draw_rows(10, 3, 7).tolist() == draw_rows(10, 25, 7)[:3].tolist()
    True
    >>> sorted(draw_rows(4, 8, 0)[:4].tolist())
    [0, 1, 2, 3]
    """
    if n_pool < 1:
        raise InputError("cannot draw samples from an empty trace; expected at least one row")
    if samples is None:
        return np.arange(n_pool)
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 1:
        raise InputError(f"samples={samples!r}; expected a whole number >= 1 (or None for all rows)")
    rng = np.random.default_rng(seed)
    cycles = -(-int(samples) // n_pool)
    if cycles > 1:
        log.info("drawing %d samples from %d trace rows: each row repeats up to %d times",
                 samples, n_pool, cycles)
    return np.concatenate([rng.permutation(n_pool) for _ in range(cycles)])[:samples]
