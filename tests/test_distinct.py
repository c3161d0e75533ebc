"""g̃'s inputs computed once per distinct value equal the row-by-row computation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from simulator.inference import metrics
from simulator.policies import confidence as conf
from simulator.policies.confidence import features
from simulator.policies.confidence.distinct import combine, distinct_texts, first_rows


def _agree_rows(tasks, answers, others):
    out = []
    for task, a, b in zip(tasks, answers, others):
        task, a, b = str(task).strip().lower(), str(a), str(b)
        if task == "detection":
            try:
                out.append(metrics.iou(a, b) >= 0.5)
            except Exception:  # noqa: BLE001 - what the old loop caught
                out.append(False)
        elif task == "classification":
            out.append(metrics.normalize_label(a) == metrics.normalize_label(b))
        else:
            out.append(metrics.normalize_vqa_answer(a) == metrics.normalize_vqa_answer(b))
    return out


def _partial_rows(answers, totals, tokens):
    out = []
    for answer, total in zip(answers, totals):
        answer, total = str(answer), int(total)
        if tokens >= total:
            out.append(answer)
        else:
            words = answer.split()
            out.append(" ".join(words[:int(math.floor(len(words) * tokens / max(total, 1)))]))
    return out


def test_distinct_texts_keep_values_of_different_types_apart():
    codes, texts = distinct_texts([1, True, 1.0, "1", None, float("nan"), None])
    assert [texts[c] for c in codes] == ["1", "True", "1.0", "1", "None", "nan", "None"]
    codes, texts = distinct_texts(["a", None, "a"], none="")
    assert [texts[c] for c in codes] == ["a", "", "a"]
    assert distinct_texts([])[0].shape == (0,)


def test_combine_and_first_rows():
    a = np.array([0, 1, 0, 1, 0])
    b = np.array([2, 2, 2, 0, 1])
    pair = combine(a, b)
    assert len(set(zip(a.tolist(), b.tolist()))) == pair.max() + 1
    for i in range(5):
        for j in range(5):
            assert (pair[i] == pair[j]) == ((a[i], b[i]) == (a[j], b[j]))
    assert first_rows(pair).tolist() == [0, 1, 3, 4]


def test_answers_agree_equals_the_row_by_row_rule():
    rng = np.random.default_rng(3)
    pool = ["yes", "Yes.", "no", " NO ", "Dense Residential", "dense_residential", "[0, 0, 1, 1]",
            "[0, 0, 1, 0.6]", "not a box", None, float("nan"), 7, ""]
    tasks = rng.choice(["vqa", "classification", "detection", " Detection "], 400).tolist()
    a = [pool[i] for i in rng.integers(0, len(pool), 400)]
    b = [pool[i] for i in rng.integers(0, len(pool), 400)]
    assert features.answers_agree(tasks, a, b).tolist() == _agree_rows(tasks, a, b)


@pytest.mark.parametrize("tokens", [0, 1, 3, 50])
def test_partial_answers_equal_the_row_by_row_rule(tokens):
    rng = np.random.default_rng(tokens)
    pool = ["yes", "a b c d e f", "the tennis court near the road", "x"]
    df = pd.DataFrame({"onboard_answer": [pool[i] for i in rng.integers(0, 4, 300)],
                       "onboard_output_tokens": rng.integers(1, 9, 300)})
    if tokens == 0:
        assert features.partial_answers(df, 0, 1, use_recorded=False) == [""] * 300
        return
    got = features.partial_answers(df, 1, tokens, use_recorded=False)
    assert got == _partial_rows(df["onboard_answer"], df["onboard_output_tokens"], tokens)


def test_stage_confidence_arrays_equal_the_loop():
    rows = [[0.9, 0.8, 0.7], None, [], np.array([0.5, 0.25], dtype=np.float32), [0.1], (0.3, 0.2)]
    df = pd.DataFrame({"onboard_stage_confidence": pd.Series(rows, dtype=object)})
    for stages in (None, -1, 0, 1, 2, 5):
        want = [0.0 if not len(r) else
                float(list(r)[max(len(r) if stages is None else min(stages, len(r)), 1) - 1])
                for r in [x if x is not None else [] for x in rows]]
        got = features.stage_confidence(df, stages, 4, "stage-confidence")
        assert got.tolist() == want


def test_stage_confidence_falls_back_on_rows_that_are_not_lists():
    df = pd.DataFrame({"onboard_stage_confidence": pd.Series([[0.5], float("nan")],
                                                             dtype=object)})
    with pytest.raises(TypeError):
        features.stage_confidence(df, 1, 4, "stage-confidence")


def test_embeddings_are_gathered_per_distinct_text(monkeypatch):
    vectors = {t: np.full(conf.EMBED_DIM, i + 1, dtype=np.float32)
               for i, t in enumerate(["yes", "no"])}
    monkeypatch.setattr(conf, "_EMBED_CACHE", dict(vectors))
    out = conf.embed_texts(["yes", "no", "", None, "yes", "  "])
    assert out.dtype == np.float32 and out.shape == (6, conf.EMBED_DIM)
    assert out[:, 0].tolist() == [1, 2, 0, 0, 1, 0]
    assert conf.embed_texts([]).shape == (0, conf.EMBED_DIM)
