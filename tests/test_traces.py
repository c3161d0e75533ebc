"""Trace schema and files, the synthetic generator, and the cached backend."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from simulator.errors import InputError
from simulator.inference import (
    CachedBackend,
    InferenceBackend,
    Trace,
    generate_synthetic,
    list_traces,
    read_trace,
    write_trace,
)
from simulator.inference import synthetic as syn
from simulator.inference.metrics import normalize_label
from simulator.inference.synthetic import TASK_PROFILES, average_gain
from simulator.inference.traces import OPTIONAL_COLUMNS, REQUIRED_COLUMNS


def _real_trace(n: int = 4) -> Trace:
    table = pd.DataFrame(
        {
            "sample_id": [f"q{i}" for i in range(n)],
            "task": ["vqa"] * n,
            "image_width_px": [256] * n,
            "image_height_px": [256] * n,
            "image_bytes": [197191] * n,
            "prompt_tokens": [31] * n,
            "onboard_answer": ["yes", "no"] * (n // 2),
            "ground_answer": ["yes"] * n,
            "onboard_score": [1.0, 0.0] * (n // 2),
            "ground_score": [1.0] * n,
            "onboard_output_tokens": [2] * n,
            "ground_output_tokens": [2] * n,
            "onboard_wall_s": [0.4] * n,
        }
    )
    meta = {
        "name": "recorded-demo",
        "source": "test fixture",
        "models": {"onboard": "qwen2-vl-2b", "ground": "qwen2-vl-7b"},
        "task": "vqa",
        "licence": "CC0-1.0",
        "synthetic": False,
    }
    return Trace(table, meta)


@pytest.fixture(scope="module")
def big_traces():
    return {task: generate_synthetic(task, samples=20_000, seed=11, train_samples=0)
            for task in TASK_PROFILES}


def _auroc(score, label) -> float:
    """Mann-Whitney AUROC, ties counted half (independent of the code under test)."""
    score, label = np.asarray(score, float), np.asarray(label, bool)
    pos, neg = score[label], score[~label]
    order = np.sort(neg)
    below = np.searchsorted(order, pos, side="left")
    ties = np.searchsorted(order, pos, side="right") - below
    return float((below + 0.5 * ties).sum() / (len(pos) * len(neg)))


# --------------------------------------------------------------------------- files


def test_round_trip_synthetic(tmp_path):
    trace = generate_synthetic("mixed", samples=90, seed=3, train_samples=60)
    path = write_trace(trace, tmp_path / f"{trace.name}.parquet")
    assert path.with_suffix(".json").is_file()
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*"))
    back = read_trace(path)
    lists = ["features", "onboard_stage_confidence"]
    pd.testing.assert_frame_equal(
        back.table.drop(columns=lists), trace.table.drop(columns=lists), check_dtype=False
    )
    feats = np.stack(back.table["features"].to_numpy())
    assert feats.dtype == np.float32 and feats.shape == (150, 16)
    np.testing.assert_array_equal(feats, np.stack(trace.table["features"].to_numpy()))
    for a, b in zip(back.table["onboard_stage_confidence"], trace.table["onboard_stage_confidence"]):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert back.meta == json.loads(json.dumps(trace.meta))
    assert back.synthetic and back.name == "synthetic-mixed-90-train60-s3"
    assert back.meta["missing"] == ["onboard_wall_s", "ground_wall_s"]
    assert (back.meta["n_test"], back.meta["n_train"], back.meta["n_samples"]) == (90, 60, 150)


def test_round_trip_real_marks_missing(tmp_path):
    trace = _real_trace()
    path = write_trace(trace, tmp_path / "recorded-demo")  # suffix added
    assert path.name == "recorded-demo.parquet"
    back = read_trace(tmp_path / "recorded-demo")
    pd.testing.assert_frame_equal(back.table, trace.table, check_dtype=False)
    assert back.meta["n_samples"] == 4 and back.meta["created_utc"].endswith("Z")
    assert back.meta["missing"] == [c for c in OPTIONAL_COLUMNS if c != "onboard_wall_s"]
    assert not back.synthetic


def test_missing_sidecar_and_files(tmp_path):
    path = write_trace(_real_trace(), tmp_path / "demo.parquet")
    path.with_suffix(".json").unlink()
    with pytest.raises(InputError, match=r"demo\.parquet: metadata sidecar demo\.json is missing"):
        read_trace(path)
    with pytest.raises(InputError, match="no trace file"):
        read_trace(tmp_path / "nothing.parquet")
    (tmp_path / "junk.parquet").write_text("not parquet")
    (tmp_path / "junk.json").write_text(json.dumps(_real_trace().meta))
    with pytest.raises(InputError, match="cannot read as Parquet"):
        read_trace(tmp_path / "junk.parquet")


def _broken(column, row, value):
    trace = _real_trace()
    table = trace.table.copy()
    if isinstance(value, str) and value == "<drop>":
        table = table.drop(columns=column)
    else:
        kind = object if value is None or isinstance(value, str) else type(value)
        col = table[column].astype(kind)
        col.iloc[row] = value
        table[column] = col
    return Trace(table, trace.meta)


@pytest.mark.parametrize(
    "column, row, value, pattern",
    [
        ("onboard_score", 2, 1.5, r"column onboard_score row 2 \(sample_id 'q2'\): got 1\.5; expected numbers in \[0, 1\]"),
        ("ground_score", 1, -0.1, r"column ground_score row 1 .*expected numbers in \[0, 1\]"),
        ("onboard_output_tokens", 3, 0, r"column onboard_output_tokens row 3 .*expected integers >= 1"),
        ("image_bytes", 0, -5, r"column image_bytes row 0 .*expected integers >= 0"),
        ("sample_id", 3, "q1", r"column sample_id row 3: duplicate sample_id 'q1'"),
        ("onboard_answer", 1, None, r"column onboard_answer row 1 .*expected text"),
        ("prompt_tokens", 2, 3.5, r"column prompt_tokens row 0 .*dtype float64.*expected integers >= 0"),
        ("ground_answer", 0, "<drop>", r"missing required column\(s\) ground_answer"),
    ],
)
def test_validation_names_column_and_row(column, row, value, pattern):
    with pytest.raises(InputError, match=pattern) as err:
        _broken(column, row, value).validate()
    assert "trace 'recorded-demo'" in str(err.value)


def test_validation_names_the_file(tmp_path):
    path = write_trace(_real_trace(), tmp_path / "demo.parquet")
    table = pd.read_parquet(path)
    table.loc[1, "ground_score"] = 7.0
    table.to_parquet(path)
    with pytest.raises(InputError, match=re.escape(f"{path}: column ground_score row 1")):
        read_trace(path)


def test_validation_of_metadata_and_vectors():
    trace = _real_trace()
    bad = Trace(trace.table, {**trace.meta, "models": {"onboard": "x"}})
    with pytest.raises(InputError, match="metadata models"):
        bad.validate()
    bad = Trace(trace.table, {**trace.meta, "missing": ["onboard_wall_s"]})
    with pytest.raises(InputError, match="'missing' lists column\\(s\\) onboard_wall_s"):
        bad.validate()
    bad = Trace(trace.table, {**trace.meta, "n_samples": 9})
    with pytest.raises(InputError, match="n_samples is 9 but the table has 4 rows"):
        bad.validate()
    table = trace.table.assign(features=[np.zeros(3), np.zeros(3), np.zeros(2), np.zeros(3)])
    with pytest.raises(InputError, match="column features row 2 .*length 2 differs from row 0's 3"):
        Trace(table, trace.meta).validate()


def test_validation_of_the_new_optional_columns():
    trace = _real_trace()
    meta = {k: v for k, v in trace.meta.items() if k != "missing"}
    good = trace.table.assign(split=["test", "test", "train", "test"],
                              onboard_stage_confidence=[[0.5], [0.2, 0.9], [1.0], [0.0, 0.3, 0.7]],
                              ground_confidence=[0.9, 0.8, 0.7, 0.6],
                              second_opinion_answer=["yes", "no", "no", "yes"])
    Trace(good, meta).validate()  # stage lists may differ in length
    for column, value, pattern in [
        ("split", "val", r"column split row 1 .*got 'val'; expected 'test' or 'train'"),
        ("onboard_stage_confidence", [0.5, 1.2], r"column onboard_stage_confidence row 1 .*"
                                                 r"expected non-empty lists of numbers in \[0, 1\]"),
        ("onboard_stage_confidence", [], r"column onboard_stage_confidence row 1"),
        ("ground_confidence", 1.5, r"column ground_confidence row 1 .*numbers in \[0, 1\]"),
        ("second_opinion_answer", None, r"column second_opinion_answer row 1 .*expected text"),
    ]:
        bad = good.copy()
        col = bad[column].astype(float if isinstance(value, float) else object)
        col.iloc[1] = value
        bad[column] = col
        with pytest.raises(InputError, match=pattern):
            Trace(bad, meta).validate()
    assert {"split", "onboard_stage_confidence", "ground_confidence",
            "second_opinion_answer"} <= set(OPTIONAL_COLUMNS)


def test_synthetic_is_labelled_everywhere(tmp_path):
    trace = generate_synthetic("detection", samples=30, seed=5, train_samples=0)
    assert trace.name == "synthetic-detection-30-s5"
    assert generate_synthetic("detection", samples=30, seed=5).name == \
        "synthetic-detection-30-train2000-s5"
    assert trace.meta["synthetic"] is True
    assert trace.meta["source"] == "synthetic (spaceverse generator v2)"
    assert trace.meta["models"]["onboard"] == "synthetic qwen2-vl-2b-like"
    assert trace.meta["models"]["ground"] == "synthetic qwen2-vl-7b-like"
    assert all("synthetic" in v for v in trace.meta["models"].values())
    notes = trace.meta["notes"]
    assert notes.startswith("Synthetic") and "ASSUMPTION" in notes and "token probabilities" in notes
    assert "UC Merced" in notes and "ASSUMPTION" in trace.meta["onboard_confidence"]
    assert trace.meta["generator"]["params"]["seed"] == 5
    with pytest.raises(InputError, match="refusing to write synthetic trace .* containing 'synthetic'"):
        write_trace(trace, tmp_path / "rsvqa-results.parquet")
    with pytest.raises(InputError, match="refusing to write real"):
        write_trace(_real_trace(), tmp_path / "synthetic-looking.parquet")
    assert not list(tmp_path.iterdir())
    write_trace(trace, tmp_path / "my-synthetic-run.parquet")
    assert read_trace(tmp_path / "my-synthetic-run.parquet").meta["name"] == "my-synthetic-run"


def test_list_traces_and_bundled_names(tmp_path, monkeypatch):
    monkeypatch.setenv("SPACEVERSE_HOME", str(tmp_path))
    assert list_traces() == []
    folder = tmp_path / "models" / "traces"
    folder.mkdir(parents=True)
    synthetic = generate_synthetic("vqa", samples=20, seed=0, train_samples=0)
    write_trace(synthetic, folder / f"{synthetic.name}.parquet")
    write_trace(_real_trace(), folder / "recorded-demo.parquet")
    (folder / "orphan.parquet").write_bytes(b"")  # no sidecar: skipped
    listed = {t["name"]: t for t in list_traces()}
    assert set(listed) == {"synthetic-vqa-20-s0", "recorded-demo"}
    entry = listed["synthetic-vqa-20-s0"]
    assert entry["synthetic"] and entry["n_samples"] == 20 and entry["task"] == "vqa"
    assert entry["path"] == folder / "synthetic-vqa-20-s0.parquet"
    assert {"source", "models", "licence"} <= set(entry)
    assert read_trace("recorded-demo").name == "recorded-demo"  # bundled name
    with pytest.raises(InputError, match="did you mean 'recorded-demo'"):
        read_trace("recorded-dmo")


# --------------------------------------------------------------------------- generator


def test_generator_is_deterministic_per_seed():
    a = generate_synthetic("mixed", samples=300, seed=7, train_samples=100)
    b = generate_synthetic("mixed", samples=300, seed=7, train_samples=100)
    c = generate_synthetic("mixed", samples=300, seed=8, train_samples=100)
    pd.testing.assert_frame_equal(a.table.drop(columns="features"), b.table.drop(columns="features"))
    np.testing.assert_array_equal(np.stack(a.table.features), np.stack(b.table.features))
    assert not a.table["onboard_score"].equals(c.table["onboard_score"])
    assert not np.array_equal(a.table["difficulty"], c.table["difficulty"])


def _assert_same_rows(small: pd.DataFrame, big: pd.DataFrame) -> None:
    assert list(small.columns) == list(big.columns)
    lists = ["features", "onboard_stage_confidence"]
    pd.testing.assert_frame_equal(small.drop(columns=lists), big.drop(columns=lists))
    for column in lists:
        for x, y in zip(small[column], big[column]):
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.mark.parametrize("task", [*TASK_PROFILES, "mixed"])
def test_generator_is_prefix_stable(task):
    n = 2 * syn.BLOCK_ROWS + 77  # three blocks, the last one cut
    big = generate_synthetic(task, samples=n, seed=4, train_samples=0).table
    for k in (1, 5, syn.BLOCK_ROWS - 1, syn.BLOCK_ROWS, syn.BLOCK_ROWS + 1, n - 10, n):
        small = generate_synthetic(task, samples=k, seed=4, train_samples=0).table
        assert len(small) == k
        _assert_same_rows(small, big.iloc[:k].reset_index(drop=True))
    # the test rows do not depend on the training pool either
    with_pool = generate_synthetic(task, samples=n, seed=4, train_samples=50).table
    _assert_same_rows(with_pool.iloc[:n].reset_index(drop=True), big)


@pytest.mark.parametrize("task", ["classification", "mixed"])
def test_training_pool_is_apart_and_independent_of_samples(task):
    a = generate_synthetic(task, samples=40, seed=2, train_samples=700).table
    b = generate_synthetic(task, samples=900, seed=2, train_samples=700).table
    assert a["split"].tolist() == ["test"] * 40 + ["train"] * 700  # test rows first
    for t in (a, b):
        test, train = t[t.split == "test"], t[t.split == "train"]
        assert not set(test.sample_id) & set(train.sample_id)
        assert train.sample_id.str.contains("-train-").all()
        assert not test.sample_id.str.contains("train").any()
        # drawn from another stream: no test row's difficulty reappears in the pool
        assert not set(np.round(test.difficulty, 12)) & set(np.round(train.difficulty, 12))
    _assert_same_rows(a[a.split == "train"].reset_index(drop=True),
                      b[b.split == "train"].reset_index(drop=True))
    assert a[a.split == "test"].sample_id.tolist()[:3] == [
        f"{t}-{i:06d}" for i, t in enumerate(a.task[:3])]
    # the default pool: 2,000 rows
    assert (generate_synthetic(task, samples=10, seed=2).table.split == "train").sum() == \
        syn.DEFAULT_TRAIN_SAMPLES == 2000
    assert "split" in generate_synthetic(task, samples=10, seed=2, train_samples=0).table


def test_schema_and_ranges():
    t = generate_synthetic("mixed", samples=999, seed=2, train_samples=0).table
    assert set(REQUIRED_COLUMNS) <= set(t.columns)
    assert set(OPTIONAL_COLUMNS) - set(t.columns) == {"onboard_wall_s", "ground_wall_s"}
    counts = t["task"].value_counts()
    assert counts.sum() == 999 and (abs(counts - 333) <= 30).all()
    full = generate_synthetic("mixed", samples=900, seed=2, train_samples=0).table
    assert (full["task"].value_counts() == 300).all()  # whole blocks: exact thirds
    det = t[t.task == "detection"]
    assert det.image_width_px.between(800, 4000).all() and det.image_height_px.between(800, 4000).all()
    assert det.image_width_px.std() > 300
    vqa = t[t.task == "vqa"]
    assert (vqa.image_bytes == 197_191).all()  # RSVQA-LR TIFF size, measured
    assert set(vqa.onboard_answer) == {"yes", "no"} and set(vqa.second_opinion_answer) == {"yes", "no"}
    assert t.sample_id.is_unique and (t.onboard_output_tokens >= 1).all()
    # one cumulative token confidence per stage of stage_tokens; the last is onboard_confidence
    n_t = syn.DEFAULT_STAGE_TOKENS
    stages = t.onboard_stage_confidence
    assert (stages.map(len) == -(-t.onboard_output_tokens // n_t)).all()
    assert np.allclose(stages.map(lambda s: s[-1]), t.onboard_confidence)
    assert (det.onboard_stage_confidence.map(len) == 2).all()  # 20-32 tokens, N_t = 16
    assert t.ground_confidence.between(0, 1).all()
    other = generate_synthetic("detection", samples=30, seed=2, train_samples=0, stage_tokens=4).table
    assert (other.onboard_stage_confidence.map(len) == -(-other.onboard_output_tokens // 4)).all()
    assert generate_synthetic("vqa", samples=3, seed=2).meta["stage_tokens"] == n_t


def test_detection_boxes_realise_the_scores():
    t = generate_synthetic("detection", samples=200, seed=1, train_samples=0).table

    def box(s):
        return np.array(json.loads(s))

    def iou(a, b):
        ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        inter = ix * iy
        union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
        return inter / union if union > 0 else 1.0  # two empty boxes agree

    for _, row in t.iloc[::10].iterrows():
        ref, on, gr = box(row.reference_answer), box(row.onboard_answer), box(row.ground_answer)
        assert iou(ref, on) == pytest.approx(row.onboard_score, abs=1e-9)
        assert iou(on, gr) == pytest.approx(row.answer_similarity, abs=1e-9)
    # the second opinion is a box too; it agrees (IoU >= 0.5) about as often as calibrated
    # (boxes of a near-zero IoU round to empty ones, which trivially agree: left out)
    drawn = t.onboard_score > 0.01
    agree = [iou(box(a), box(b)) >= 0.5
             for a, b in zip(t.onboard_answer[drawn], t.second_opinion_answer[drawn])]
    assert np.mean(agree) == pytest.approx(syn.AGREE_IF_WRONG, abs=0.12)  # ~no IoU >= 0.5


@pytest.mark.parametrize("task", list(TASK_PROFILES))
def test_marginal_scores_match_targets(big_traces, task):
    t = big_traces[task].table
    p = TASK_PROFILES[task]
    assert t.onboard_score.mean() == pytest.approx(p.onboard_score, abs=0.02)
    assert t.ground_score.mean() == pytest.approx(p.ground_score, abs=0.02)
    assert t.onboard_score.mean() == pytest.approx(p.onboard_score, rel=0.05)
    assert t.ground_score.mean() == pytest.approx(p.ground_score, rel=0.05)
    if p.metric == "accuracy":
        assert set(np.unique(t.onboard_score)) == {0.0, 1.0}
    else:
        assert 0 < t.onboard_score.median() < p.onboard_score  # IoU-like: skewed to 0


def test_accuracy_override_is_hit():
    t = generate_synthetic("vqa", samples=20_000, seed=1, onboard_accuracy=0.3, ground_accuracy=0.9,
                           train_samples=0).table
    assert t.onboard_score.mean() == pytest.approx(0.3, abs=0.02)
    assert t.ground_score.mean() == pytest.approx(0.9, abs=0.02)
    # the edges are allowed (the scenario schema accepts [0, 1]): constant scores
    for task in ("vqa", "detection"):
        edge = generate_synthetic(task, samples=50, seed=1, onboard_accuracy=0, ground_accuracy=1).table
        assert (edge.onboard_score == 0).all() and (edge.ground_score == 1).all()
        assert edge.onboard_confidence.between(0, 1).all()


@pytest.mark.parametrize("task", list(TASK_PROFILES))
def test_signals_are_informative(big_traces, task):
    t = big_traces[task].table
    score = t.onboard_score.to_numpy()
    # harder samples score lower, for both models
    assert np.corrcoef(t.difficulty, score)[0, 1] < -0.2
    assert np.corrcoef(t.difficulty, t.ground_score)[0, 1] < -0.2
    # a linear read-out of the features, fitted on one half, predicts the other half
    X = np.c_[np.stack(t.features.to_numpy()), np.ones(len(t))]
    half = len(t) // 2
    beta = np.linalg.lstsq(X[:half], score[:half], rcond=None)[0]
    assert np.corrcoef(X[half:] @ beta, score[half:])[0, 1] > 0.2
    # and the two models agree more often than chance
    assert np.corrcoef(score, t.ground_score)[0, 1] > 0.1


@pytest.mark.parametrize("task", list(TASK_PROFILES))
def test_token_probabilities_have_the_documented_auroc(big_traces, task):
    # ASSUMPTION made explicit: AUROC of the mean token probability for correctness
    t = big_traces[task].table
    correct = t.onboard_score >= syn.CORRECT_SCORE
    assert syn.DEFAULT_TOKEN_PROB_AUROC == 0.78
    if task != "detection":  # IoU >= 0.5 is too rare for a tight estimate
        assert _auroc(t.onboard_confidence, correct) == pytest.approx(0.78, abs=0.015)
        assert _auroc(t.ground_confidence, t.ground_score >= 0.5) == pytest.approx(0.78, abs=0.015)
        # the first stage of a longer answer is noisier, never better
    first = t.onboard_stage_confidence.map(lambda s: s[0])
    assert _auroc(first, correct) <= _auroc(t.onboard_confidence, correct) + 0.01
    # it is a parameter
    strong = generate_synthetic(task, samples=6000, seed=3, train_samples=0, token_prob_auroc=0.9).table
    if task != "detection":
        assert _auroc(strong.onboard_confidence, strong.onboard_score >= 0.5) == \
            pytest.approx(0.9, abs=0.02)


def _agreement(table: pd.DataFrame) -> dict[str, float]:
    agree = np.array([normalize_label(a) == normalize_label(b)
                      for a, b in zip(table.onboard_answer, table.second_opinion_answer)])
    correct = table.onboard_score.to_numpy() == 1
    return {"p_agree": agree.mean(), "p_correct_agree": correct[agree].mean(),
            "p_correct_disagree": correct[~agree].mean(), "n_agree": agree.sum(),
            "n_disagree": (~agree).sum(), "n": len(agree)}


@pytest.mark.parametrize("trace_name", sorted(syn.SECOND_OPINION_CALIBRATION))
def test_second_opinion_reproduces_the_recorded_agreement(trace_name):
    # measured on the recorded trace itself (the numbers in the generator's table) ...
    recorded = _agreement(read_trace(trace_name).table)
    counts = syn.SECOND_OPINION_CALIBRATION[trace_name]
    assert recorded["n"] == counts["n"]
    assert recorded["p_agree"] == pytest.approx(
        (counts["agree_correct"] + counts["agree_wrong"]) / counts["n"])
    assert recorded["p_correct_agree"] == pytest.approx(
        counts["agree_correct"] / (counts["agree_correct"] + counts["agree_wrong"]))
    # ... and reproduced by the generator at that trace's onboard accuracy (default rates)
    generated = _agreement(generate_synthetic(
        "classification", samples=20_000, seed=9, train_samples=0,
        onboard_accuracy=counts["correct"] / counts["n"]).table)
    for key, n_rec, n_gen in (("p_agree", recorded["n"], generated["n"]),
                              ("p_correct_agree", recorded["n_agree"], generated["n_agree"]),
                              ("p_correct_disagree", recorded["n_disagree"], generated["n_disagree"])):
        p = recorded[key]
        sampling_error = np.sqrt(p * (1 - p) * (1 / n_rec + 1 / n_gen))
        assert abs(generated[key] - p) < 3 * sampling_error, (key, generated[key], p)


def test_second_opinion_rates_are_the_pooled_measurements():
    assert syn.AGREE_IF_CORRECT == pytest.approx(2370 / 2909)
    assert syn.AGREE_IF_WRONG == pytest.approx(1153 / 2191)
    assert syn.SECOND_RIGHT_IF_DISAGREE == pytest.approx(487 / 1038)
    t = generate_synthetic("vqa", samples=20_000, seed=1, train_samples=0).table
    agree = (t.onboard_answer == t.second_opinion_answer).to_numpy()
    correct = t.onboard_score.to_numpy() == 1
    assert agree[correct].mean() == pytest.approx(syn.AGREE_IF_CORRECT, abs=0.015)
    assert agree[~correct].mean() == pytest.approx(syn.AGREE_IF_WRONG, abs=0.015)


def test_average_gain_is_the_papers_82_7_percent():
    gains = {k: p.ground_score / p.onboard_score - 1 for k, p in TASK_PROFILES.items()}
    assert gains["vqa"] == pytest.approx(0.121 / 0.559)
    assert average_gain() == pytest.approx(0.827, abs=5e-4)
    assert sum(gains.values()) / 3 == pytest.approx(average_gain())


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"task": "segmentation"}, "unknown synthetic task 'segmentation'"),
        ({"samples": 0}, "samples=0"),
        ({"onboard_accuracy": 1.5}, r"onboard_accuracy=1\.5; expected a number in \[0, 1\]"),
        ({"feature_dims": 8}, "did you mean 'feature_dim'"),
        ({"train_samples": -1}, r"train_samples=-1; expected a whole number >= 0"),
        ({"token_prob_auroc": 1.0}, r"token_prob_auroc=1\.0; expected a number in \[0\.5, 1\)"),
        ({"second_opinion_agree_if_wrong": 2}, "second_opinion_agree_if_wrong=2"),
    ],
)
def test_generator_input_errors(kwargs, pattern):
    with pytest.raises(InputError, match=pattern):
        generate_synthetic(**kwargs)


# --------------------------------------------------------------------------- backend


def test_cached_backend_replays_rows():
    trace = _real_trace()
    backend = CachedBackend(trace)
    assert isinstance(backend, InferenceBackend)
    assert backend.sample_ids().tolist() == ["q0", "q1", "q2", "q3"]
    assert backend.onboard(1) == {"answer": "no", "score": 0.0, "output_tokens": 2, "wall_s": 0.4}
    assert backend.ground(1) == {"answer": "yes", "score": 1.0, "output_tokens": 2}
    assert backend.ground(1, compression={"ratio": 5})["compression_applied"] is False
    view = backend.columns()
    view.loc[0, "onboard_score"] = 0.5
    assert backend.onboard(0)["score"] == 1.0  # the view is not the backend's table
    with pytest.raises(IndexError):
        backend.onboard(4)


def test_cached_backend_sampling_is_reproducible():
    trace = generate_synthetic("vqa", samples=100, seed=0)
    a = CachedBackend(trace, samples=40, seed=9)
    b = CachedBackend(trace, samples=40, seed=9)
    c = CachedBackend(trace, samples=40, seed=10)
    assert a.sample_ids().tolist() == b.sample_ids().tolist()
    assert a.sample_ids().tolist() != c.sample_ids().tolist()
    assert len(set(a.sample_ids())) == 40  # without replacement
    assert a.sample_ids().tolist() == CachedBackend(trace, samples=60, seed=9).sample_ids()[:40].tolist()
    row = int(a.columns().trace_row[5])
    assert a.onboard(5)["answer"] == trace.table.onboard_answer[row]


def test_cached_backend_draws_with_replacement_beyond_length():
    trace = generate_synthetic("classification", samples=50, seed=0, train_samples=0)
    backend = CachedBackend(trace, samples=500, seed=1)
    rows = backend.columns().trace_row.to_numpy()
    assert len(backend) == 500 and rows.max() < 50
    assert np.bincount(rows).max() > 1  # some rows repeat ...
    assert len(np.unique(rows)) < 50 or np.bincount(rows, minlength=50).min() >= 1
    ids = backend.sample_ids()
    assert len(set(ids)) == 500  # ... under unique ids
    assert any(s.endswith("~r1") for s in ids)
    again = CachedBackend(trace, samples=500, seed=1).columns().trace_row.to_numpy()
    np.testing.assert_array_equal(rows, again)
    with pytest.raises(InputError, match="samples=0"):
        CachedBackend(trace, samples=0)


@pytest.mark.parametrize("task", ["vqa", "classification", "detection", "mixed"])
def test_every_generated_trace_validates(task):
    """generate_synthetic leaves validation to its users (the backend, write_trace): what it
    generates must pass it, with and without a training pool."""
    for train in (0, 301):
        trace = generate_synthetic(task, samples=617, seed=3, train_samples=train)
        trace.validate()
        assert len(trace) == 617 + train
