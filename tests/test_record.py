"""record_trace with two tiny Qwen2-VL models: a valid trace that round-trips and replays."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from simulator.errors import InputError
from simulator.inference.cached import CachedBackend
from simulator.inference.record import exact_match, record_trace, token_f1
from simulator.inference.tiny_models import build_tiny_qwen2vl
from simulator.inference.traces import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    read_trace,
    write_trace,
)
from simulator.inference.transformers_backend import QwenVLBackend


@pytest.fixture(scope="session")
def models(tmp_path_factory):
    onboard = QwenVLBackend(build_tiny_qwen2vl(tmp_path_factory.mktemp("onboard"), seed=0),
                            max_new_tokens=7, name="tiny-2b")
    ground = QwenVLBackend(build_tiny_qwen2vl(tmp_path_factory.mktemp("ground"), seed=1),
                           max_new_tokens=5, name="tiny-7b")
    return onboard, ground


@pytest.fixture(scope="session")
def samples(tmp_path_factory):
    rng = np.random.default_rng(3)
    pictures = [Image.fromarray((rng.random((h, w, 3)) * 255).astype(np.uint8))
                for h, w in ((24, 24), (40, 56), (30, 20))]
    path = tmp_path_factory.mktemp("images") / "third.png"
    pictures[2].save(path)
    return [
        ("s0", pictures[0], "Is there a ship?", "yes", "vqa"),
        ("s1", pictures[1], "How many airplanes?", "two", "vqa", 12345),
        {"sample_id": "s2", "image": path, "prompt": "Which class?", "reference": "harbour",
         "task": "classification"},
    ]


def half_scorer(task, answer, reference):
    """A deterministic scorer with non-trivial values."""
    return 0.5 if task == "vqa" else exact_match(task, answer, reference)


@pytest.fixture(scope="session")
def trace(models, samples):
    onboard, ground = models
    return record_trace(onboard, ground, samples, stage_tokens=3, scorer=half_scorer,
                        name="tiny-record", source="test images (random pixels)", licence="CC0-1.0")


def test_trace_validates_with_every_column(trace, models):
    trace.validate()
    t = trace.table
    assert t["sample_id"].tolist() == ["s0", "s1", "s2"]
    # every column a recording can hold (a training split and a second onboard model are not
    # something one recording of two models produces)
    recordable = set(OPTIONAL_COLUMNS) - {"difficulty", "split", "second_opinion_answer"}
    assert set(REQUIRED_COLUMNS) | recordable <= set(t.columns)
    stage_conf = t["onboard_stage_confidence"].tolist()
    assert all(len(c) == len(a) for c, a in zip(stage_conf, t["onboard_stage_answers"]))
    assert t["ground_confidence"].between(0, 1).all()
    assert trace.meta["missing"] == ["difficulty", "split", "second_opinion_answer"]
    assert trace.meta["synthetic"] is False
    assert trace.meta["models"] == {"onboard": models[0].model_dir.name, "ground": models[1].model_dir.name}
    assert trace.meta["task"] == "mixed" and trace.meta["device"].startswith("cpu")
    assert t["onboard_output_tokens"].between(1, 7).all() and t["ground_output_tokens"].between(1, 5).all()
    assert t["onboard_score"].tolist()[:2] == [0.5, 0.5]
    assert (t["onboard_wall_s"] > 0).all() and (t["ground_wall_s"] > 0).all()
    assert t["onboard_confidence"].between(0, 1).all() and t["answer_similarity"].between(0, 1).all()
    hidden = models[0].model.config.text_config.hidden_size
    assert all(len(f) == hidden for f in t["features"])


def test_image_sizes_and_bytes(trace, samples):
    t = trace.table
    assert t["image_width_px"].tolist() == [24, 56, 20] and t["image_height_px"].tolist() == [24, 40, 30]
    png = io.BytesIO()
    samples[0][1].save(png, format="PNG")
    assert t["image_bytes"].tolist()[:2] == [len(png.getvalue()), 12345]
    assert t["image_bytes"].iloc[2] == samples[2]["image"].stat().st_size


def test_stage_columns_follow_the_onboard_answer(trace, models, samples):
    t = trace.table
    for row in range(len(t)):
        answers = list(t["onboard_stage_answers"].iloc[row])
        n_tokens = int(t["onboard_output_tokens"].iloc[row])
        assert len(answers) == -(-n_tokens // 3)  # ceil(tokens / N_t)
        assert answers[-1] == t["onboard_answer"].iloc[row]
        assert len(t["onboard_stage_probs"].iloc[row]) == len(answers)
    # the recorded answer is what the backend answers again
    again = models[0].generate(samples[0][1], samples[0][2], stage_tokens=3)
    assert again.answer == t["onboard_answer"].iloc[0]
    assert again.mean_token_prob == pytest.approx(t["onboard_confidence"].iloc[0])


def test_round_trip_and_replay(trace, tmp_path):
    path = write_trace(trace, tmp_path / "tiny-record.parquet")
    back = read_trace(path)
    assert back.meta["devices"] == trace.meta["devices"]
    for column in trace.table.columns:
        if column == "onboard_stage_answers":
            assert [list(a) for a in back.table[column]] == [list(a) for a in trace.table[column]]
        elif hasattr(trace.table[column].iloc[0], "__len__") and not isinstance(
                trace.table[column].iloc[0], str):  # every numeric per-stage / vector column
            for a, b in zip(trace.table[column], back.table[column]):
                assert list(b) == pytest.approx(list(a), rel=1e-6), column
        else:
            assert back.table[column].tolist() == trace.table[column].tolist(), column
    cached = CachedBackend(back)
    assert not cached.synthetic and len(cached) == 3
    for row in range(3):
        on, gr = cached.onboard(row), cached.ground(row)
        assert on["answer"] == trace.table["onboard_answer"].iloc[row]
        assert gr["answer"] == trace.table["ground_answer"].iloc[row]
        assert on["score"] == trace.table["onboard_score"].iloc[row]
        assert gr["score"] == trace.table["ground_score"].iloc[row]
        assert on["confidence"] == pytest.approx(trace.table["onboard_confidence"].iloc[row])
        assert on["wall_s"] == pytest.approx(trace.table["onboard_wall_s"].iloc[row])


def test_token_f1():
    assert token_f1("Two ships.", "two ships") == 1.0
    assert token_f1("", "") == 1.0 and token_f1("yes", "") == 0.0
    assert token_f1("a b c d", "a b") == pytest.approx(2 * 0.5 * 1.0 / 1.5)


def test_mistakes(models, samples):
    onboard, ground = models
    with pytest.raises(InputError, match="sample 0: got str"):
        record_trace(onboard, ground, ["not a sample"], stage_tokens=3, name="x", source="y")
    with pytest.raises(InputError, match="scorer returned 2.0"):
        record_trace(onboard, ground, samples[:1], stage_tokens=3, scorer=lambda *a: 2.0,
                     name="x", source="y")
    with pytest.raises(InputError, match="no samples"):
        record_trace(onboard, ground, [], stage_tokens=3, name="x", source="y")
    with pytest.raises(InputError, match="missing key"):
        record_trace(onboard, ground, [{"sample_id": "a"}], stage_tokens=3, name="x", source="y")
