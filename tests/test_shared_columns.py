"""Slices that share a trace's columns (no copies) give the tables copies gave, and writing
to them never reaches the trace."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.inference.cached import CachedBackend, _unique_ids
from simulator.inference.split import split_trace
from simulator.inference.synthetic import generate_synthetic


def _copies(table):
    is_train = table["split"].astype(str).to_numpy() == "train"
    return (table.loc[~is_train].reset_index(drop=True),
            table.loc[is_train].reset_index(drop=True))


def test_split_of_test_rows_then_pool_equals_the_masked_copies():
    table = generate_synthetic("mixed", samples=50, seed=2, train_samples=30).table
    test, train = split_trace(table)
    want_test, want_train = _copies(table)
    pd.testing.assert_frame_equal(test, want_test)
    pd.testing.assert_frame_equal(train, want_train)
    capped = split_trace(table, train_rows=7)[1]
    pd.testing.assert_frame_equal(capped, want_train.iloc[:7])


def test_split_with_interleaved_pool_rows():
    table = generate_synthetic("vqa", samples=20, seed=2, train_samples=10).table
    shuffled = table.iloc[np.random.default_rng(0).permutation(len(table))].reset_index(drop=True)
    test, train = split_trace(shuffled)
    want_test, want_train = _copies(shuffled)
    pd.testing.assert_frame_equal(test, want_test)
    pd.testing.assert_frame_equal(train, want_train)


def test_backend_over_every_row_leaves_the_trace_alone():
    trace = generate_synthetic("vqa", samples=40, seed=5, train_samples=0)
    before = trace.table.copy(deep=True)
    every = CachedBackend(trace, rows=np.arange(40))
    some = CachedBackend(trace, rows=np.arange(40)[::-1].copy())
    table = every.columns()
    table["image_bytes"] = 1
    table.loc[0, "onboard_answer"] = "changed"
    pd.testing.assert_frame_equal(trace.table, before)
    pd.testing.assert_frame_equal(every.columns().iloc[::-1].reset_index(drop=True)
                                  .drop(columns="trace_row"),
                                  some.columns().drop(columns="trace_row"))


def test_unique_ids_renames_repeats_only():
    ids = pd.Series(["a", "b"])
    kept = _unique_ids(ids, np.array([0, 1]))
    assert list(kept) == ["a", "b"] and kept is ids.array   # the column itself
    drawn = pd.Series(["a", "a", "b", "a"])   # rows 0, 0, 1, 0 of a trace with ids a, b
    assert list(_unique_ids(drawn, np.array([0, 0, 1, 0]))) == ["a", "a~r1", "b", "a~r2"]
