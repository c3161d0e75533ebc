"""The generator's compact block columns join, reorder and cut like plain lists."""

import numpy as np
import pandas as pd

from simulator.inference.block_columns import Coded, Ragged, Rows, head, join, length, take


def _plain(column) -> list:
    """A block column as the Python list it stands for."""
    if isinstance(column, Coded):
        return [column.labels[c] for c in column.codes]
    if isinstance(column, Ragged):
        ends = np.cumsum(column.lengths)
        return [column.flat[e - k:e].tolist() for e, k in zip(ends, column.lengths)]
    if isinstance(column, Rows):
        return column.values.tolist()
    return list(column)


def test_forms_join_take_and_cut_like_lists():
    rng = np.random.default_rng(3)
    pieces = {
        "coded": [Coded(("no", "yes"), rng.random(5) < 0.5), Coded(("yes", "maybe"), [1, 0, 1])],
        "ragged": [Ragged(rng.random(6), np.array([1, 2, 0, 3, 0])),
                   Ragged(rng.random(2), np.array([2, 0, 0]))],
        "rows": [Rows(rng.random((5, 3))), Rows(rng.random((3, 3)))],
        "array": [rng.random(5), rng.random(3)],
        "mixed text": [Coded(("a", "b"), [0, 1, 1, 0, 0]), np.array(["x", "y", "z"], dtype=object)],
    }
    order = rng.permutation(8)
    for name, parts in pieces.items():
        joined = join(parts)
        expected = [v for p in parts for v in _plain(p)]
        assert length(joined) == 8, name
        assert _plain(joined) == expected, name
        taken = take(joined, order)
        assert _plain(taken) == [expected[i] for i in order], name
        cut = head(taken, 6)
        values = [list(v) if isinstance(v, (list, np.ndarray)) else v for v in pd.Series(cut)]
        want = [expected[i] for i in order[:6]]
        if name in ("ragged", "rows"):
            np.testing.assert_allclose(np.concatenate([np.asarray(v, float) for v in values]),
                                       np.concatenate([np.asarray(v, float) for v in want]))
            assert [len(v) for v in values] == [len(v) for v in want]
        else:
            assert values == want, name


def test_text_becomes_pandas_strings_once():
    column = head(Coded(("vqa",), np.zeros(4, dtype=np.int64)), 3)
    assert pd.Series(column).dtype == pd.Series(["x"]).dtype
    assert list(column) == ["vqa"] * 3
