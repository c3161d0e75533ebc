"""Lean trace and log columns: Arrow lists and Arrow strings give what object columns gave."""

import numpy as np
import pandas as pd
import pytest

from simulator.errors import InputError
from simulator.inference.list_columns import flat_and_lengths, list_array, matrix, rows_array
from simulator.inference.synthetic import generate_synthetic
from simulator.inference.traces import Trace
from simulator.policies.confidence.features import FeatureSpec, stage_confidence
from simulator.text_columns import labels_column


def _as_objects(table: pd.DataFrame) -> pd.DataFrame:
    """The same table with its list columns as a NumPy array a cell (as files read back)."""
    out = table.copy()
    for name in ("features", "onboard_stage_confidence"):
        out[name] = pd.Series([np.asarray(v) for v in table[name]], dtype=object,
                              index=table.index)
    return out


def test_generated_lists_are_arrow_and_read_like_objects():
    table = generate_synthetic("mixed", samples=300, seed=5, train_samples=40).table
    assert isinstance(table["features"].dtype, pd.ArrowDtype)
    assert isinstance(table["onboard_stage_confidence"].dtype, pd.ArrowDtype)
    objects = _as_objects(table)
    for name in ("features", "onboard_stage_confidence"):
        flat_a, len_a = flat_and_lengths(table[name])
        flat_o, len_o = flat_and_lengths(objects[name])
        np.testing.assert_array_equal(flat_a, flat_o)
        np.testing.assert_array_equal(len_a, len_o)
    np.testing.assert_array_equal(matrix(table["features"]), np.stack(objects["features"]))
    # a slice (the test rows of a trace) reads only its own rows
    part = table.iloc[100:150]
    np.testing.assert_array_equal(matrix(part["features"]),
                                  np.stack(objects["features"].iloc[100:150]))
    for k in (None, 1, 2, 5):
        np.testing.assert_array_equal(
            stage_confidence(table, k, 16, "stage-confidence"),
            stage_confidence(objects, k, 16, "stage-confidence"))


def test_g_tilde_inputs_do_not_depend_on_the_list_storage():
    table = generate_synthetic("vqa", samples=200, seed=2, train_samples=0).table
    objects = _as_objects(table)
    spec = FeatureSpec.for_table(table, variant="g-tilde", points=2, stage_tokens=16)
    assert spec.base_kind == "features" and spec.feature_dim == 16
    np.testing.assert_array_equal(spec.raw_base(table), spec.raw_base(objects))
    for k in (None, 1):
        np.testing.assert_array_equal(spec.raw_extra(table, k), spec.raw_extra(objects, k))


def test_validation_names_the_bad_row_in_arrow_lists():
    good = generate_synthetic("vqa", samples=20, seed=1, train_samples=0)
    Trace(good.table, dict(good.meta)).validate()
    feats = matrix(good.table["features"]).astype(np.float32)
    feats[7, 3] = np.nan
    bad = good.table.copy()
    bad["features"] = rows_array(feats)
    with pytest.raises(InputError, match="column features row 7"):
        Trace(bad, dict(good.meta)).validate()
    conf = flat_and_lengths(good.table["onboard_stage_confidence"])
    flat, lengths = conf[0].copy(), conf[1]
    flat[int(lengths[:4].sum())] = 1.5   # the first value of row 4
    bad = good.table.copy()
    bad["onboard_stage_confidence"] = list_array(flat, lengths)
    with pytest.raises(InputError, match="column onboard_stage_confidence row 4"):
        Trace(bad, dict(good.meta)).validate()


def test_labels_column_equals_a_column_of_python_strings():
    labels = ["onboard", "ground", "dropped", "unfinished"]
    codes = np.random.default_rng(0).integers(0, 4, 1000)
    lean = pd.Series(labels_column(labels, codes))
    plain = pd.Series(np.array(labels, dtype=object)[codes])
    assert lean.dtype == plain.dtype
    assert lean.equals(plain)
