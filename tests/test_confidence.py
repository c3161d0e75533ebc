"""The progressive confidence network g̃ (simulator.policies.confidence)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from simulator.errors import InputError
from simulator.inference.synthetic import generate_synthetic
from simulator.inference.traces import read_trace
from simulator.policies import confidence as c

UCM = "ucm-llava15-7b-vs-geochat-7b"


@pytest.fixture(scope="module")
def synthetic_cls() -> pd.DataFrame:
    # classification: the answers agree mostly when both models are right, so
    # Simi(y^s, y^g) falls with the difficulty that the features encode
    return generate_synthetic("classification", samples=2000, seed=5).table


# --------------------------------------------------------------------------- Eq. 1


def test_eq1_loss_on_hand_values():
    target = torch.tensor([1.0, 0.0, 0.5])
    p1 = torch.tensor([0.5, 0.5, 0.5])   # errors 0.5, 0.5, 0 -> MSE 0.5/3
    p2 = torch.tensor([1.0, 0.0, 0.5])   # exact -> 0
    p3 = torch.tensor([0.0, 1.0, 0.5])   # errors 1, 1, 0 -> MSE 2/3
    assert float(c.eq1_loss([p1], target)) == pytest.approx(0.5 / 3)
    assert float(c.eq1_loss([p1, p2], target)) == pytest.approx(0.5 / 3)
    assert float(c.eq1_loss([p1, p2, p3], target)) == pytest.approx(0.5 / 3 + 2 / 3)
    # it is a sum over stages, not a mean
    assert float(c.eq1_loss([p3, p3], target)) == pytest.approx(4 / 3)
    # differentiable
    p = torch.tensor([0.5, 0.5, 0.5], requires_grad=True)
    c.eq1_loss([p], target).backward()
    assert torch.allclose(p.grad, 2 * (p.detach() - target) / 3)


def test_eq1_loss_rejects_bad_shapes():
    with pytest.raises(ValueError, match="shape"):
        c.eq1_loss([torch.zeros(2)], torch.zeros(3))
    with pytest.raises(ValueError, match="at least one"):
        c.eq1_loss([], torch.zeros(3))


# --------------------------------------------------------------------------- network


def test_confidence_net_shapes_range_and_shared_mlp():
    torch.manual_seed(0)
    net = c.ConfidenceNet([16, 16 + c.EMBED_DIM, 16 + c.EMBED_DIM], hidden=32)
    assert net.stages == 3 and len(net.projections) == 3
    x1 = 100 * torch.randn(50, 16)
    x2 = 100 * torch.randn(7, 16 + c.EMBED_DIM)
    y1, y2 = net(1, x1), net(3, x2)
    assert y1.shape == (50,) and y2.shape == (7,)
    for y in (y1, y2):
        assert torch.all((y >= 0) & (y <= 1))
    # one shared MLP M: its parameters are reached by every stage's gradient
    for stage, x in ((1, x1), (2, x2)):
        net.zero_grad()
        net(stage, x).sum().backward()
        assert net.mlp[2].weight.grad is not None and net.mlp[2].weight.grad.abs().sum() > 0
        other = net.projections[2 if stage == 1 else 0].weight.grad
        assert other is None or float(other.abs().sum()) == 0.0
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert len(linears) == 3 + 2   # L_1..L_3 plus M's two layers
    with pytest.raises(ValueError, match="stage_index"):
        net(4, x1)
    with pytest.raises(ValueError, match="stage_index"):
        net(0, x1)


# --------------------------------------------------------------------------- inputs


def test_partial_answers_recorded_and_approximated():
    df = pd.DataFrame({
        "onboard_answer": ["one two three four", "yes"],
        "onboard_output_tokens": [8, 2],
    })
    assert c.partial_answers(df, 0, 4) == ["", ""]
    # 4 of 8 tokens -> half of the words; a finished answer is complete
    assert c.partial_answers(df, 1, 4) == ["one two", "yes"]
    assert c.partial_answers(df, 2, 4) == ["one two three four", "yes"]
    df["onboard_stage_answers"] = [["uno", "uno dos", "uno dos tres"], ["yes"]]
    assert c.partial_answers(df, 2, 4) == ["uno dos", "yes"]
    assert c.partial_answers(df, 9, 4) == ["uno dos tres", "yes"]
    assert c.partial_answers(df, 1, 4, use_recorded=False) == ["one two", "yes"]


def test_similarity_target_from_column_and_by_task():
    df = pd.DataFrame({
        "task": ["classification", "classification", "mcq", "mcq", "vqa", "vqa", "vqa", "vqa"],
        "onboard_answer": ["Dense Residential", "forest", "B", "(c) pond", "Yes, there is.", "two",
                           "A man riding a red bicycle along a river",
                           "A man riding a red bicycle along a river"],
        "ground_answer": ["dense_residential", "beach", "B.", "A", "yes", "2",
                          "Someone cycles on a red bike next to a river",
                          "Three cats sleeping on a sofa indoors"],
    })
    s, source = c.similarity_target(df)
    assert s[:6].tolist() == [1.0, 0.0, 1.0, 0.0, 1.0, 1.0]
    assert 0.5 < s[6] <= 1.0 and 0.0 <= s[7] < 0.3 and s[6] > s[7] + 0.3
    assert "semantic" in source and "label" in source
    df["answer_similarity"] = np.linspace(0, 1, len(df))
    s2, source2 = c.similarity_target(df)
    assert np.array_equal(s2, df["answer_similarity"].to_numpy()) and "column" in source2


def test_embeddings_do_not_depend_on_batch_companions():
    a = c.embed_texts(["dense residential area"]).copy()
    c._EMBED_CACHE.clear()
    b = c.embed_texts(["a much longer sentence that pads every other text in its batch",
                       "dense residential area", ""])
    assert np.array_equal(a[0], b[1])
    assert b.shape == (3, c.EMBED_DIM) and not b[2].any()
    assert np.linalg.norm(b[1]) == pytest.approx(1.0, abs=1e-5)


def test_feature_kinds_and_fallback_notes(synthetic_cls):
    ucm = read_trace(UCM).table.head(20)
    spec = c.FeatureSpec.for_table(ucm, variant="progressive", points=2, stage_tokens=16)
    assert spec.base_kind == "image-size" and spec.input_dims() == [3, 3 + c.EMBED_DIM]
    assert any(n.startswith("no image features") for n in spec.fallback_notes())
    assert spec.answer_kind == "truncated-final-answer"
    vqa = read_trace("vqav2-qwen2vl-2b-vs-7b").table.head(20)
    spec = c.FeatureSpec.for_table(vqa, variant="g", points=2, stage_tokens=16)
    assert spec.base_kind == "question+image-size"
    assert spec.input_dims() == [c.EMBED_DIM + 3]
    assert c.NO_FEATURES_QUESTION in spec.fallback_notes()
    spec = c.FeatureSpec.for_table(synthetic_cls, variant="g-prime", points=3, stage_tokens=16)
    assert spec.base_kind == "features" and spec.input_dims() == [16 + c.EMBED_DIM]
    assert spec.fallback_notes() == []
    spec = c.FeatureSpec.for_table(synthetic_cls, variant="progressive", points=3, stage_tokens=16)
    assert spec.input_dims() == [16, 16 + c.EMBED_DIM, 16 + c.EMBED_DIM]


# --------------------------------------------------------------------------- training


def test_training_is_deterministic_and_seeded(synthetic_cls):
    rows = synthetic_cls.head(300)
    state = torch.random.get_rng_state()
    a = c.train_confidence(rows, seed=3, epochs=15)
    assert torch.equal(torch.random.get_rng_state(), state)  # global generator untouched
    torch.rand(100)  # the weights must not depend on torch's global generator
    b = c.train_confidence(rows, seed=3, epochs=15)
    other = c.train_confidence(rows, seed=4, epochs=15)
    sa, sb, so = a.net.state_dict(), b.net.state_dict(), other.net.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], so[k]) for k in sa)
    assert a.metrics["val_loss"] == b.metrics["val_loss"]


def test_training_beats_the_constant_predictor(synthetic_cls):
    train, test = synthetic_cls.iloc[:1000], synthetic_cls.iloc[1000:]
    s = test["answer_similarity"].to_numpy()
    for variant in ("progressive", "g"):
        model = c.train_confidence(train, variant=variant, seed=0)
        m = model.metrics
        assert m["best_val_loss"] < 0.95 * m["constant_val_loss"]
        assert 1 <= m["best_epoch"] <= m["epochs_run"] <= 200
        assert len(m["train_loss"]) == len(m["val_loss"]) == m["epochs_run"]
        constant = np.mean((s - m["target_mean"]) ** 2)
        for pred in model.predict(test):
            assert np.mean((pred - s) ** 2) < 0.9 * constant
            assert pred.min() >= 0 and pred.max() <= 1


def test_early_stopping_stops_before_the_epoch_limit(synthetic_cls):
    model = c.train_confidence(synthetic_cls.head(200), seed=0, epochs=200, patience=3)
    m = model.metrics
    assert m["epochs_run"] < 200
    assert m["epochs_run"] - m["best_epoch"] == 3
    assert m["best_val_loss"] == min(m["val_loss"])


def test_training_input_errors(synthetic_cls):
    with pytest.raises(InputError, match="at least 2"):
        c.train_confidence(synthetic_cls.head(1))
    with pytest.raises(InputError, match="variant"):
        c.train_confidence(synthetic_cls.head(10), variant="h")
    with pytest.raises(InputError, match="epochs"):
        c.train_confidence(synthetic_cls.head(10), epochs=0)


def test_save_load_round_trip(tmp_path, synthetic_cls):
    model = c.train_confidence(synthetic_cls.head(200), variant="progressive", points=3,
                               seed=1, epochs=5, trace_name="synthetic-demo")
    path = model.save(tmp_path / "net")
    assert path == tmp_path / "net.pt" and path.is_file()
    meta = json.loads((tmp_path / "net.json").read_text())
    for key in ("trace", "n_train", "variant", "points", "stage_tokens", "feature_kinds",
                "metrics", "created_utc", "torch_version"):
        assert key in meta
    assert meta["trace"] == "synthetic-demo" and meta["n_train"] == 200 and meta["points"] == 3
    assert meta["metrics"]["val_loss"] == model.metrics["val_loss"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.json", "net.pt"]  # no temp files
    back = c.TrainedConfidence.load(tmp_path / "net.pt")
    rows = synthetic_cls.iloc[500:700]
    for x, y in zip(model.predict(rows), back.predict(rows)):
        assert np.array_equal(x, y)
    with pytest.raises(InputError, match="no such file"):
        c.TrainedConfidence.load(tmp_path / "missing")


def test_train_command_on_a_recorded_trace(tmp_path):
    path = c.train_command(UCM, 0.05, 1, tmp_path, points=2, stage_tokens=16, variant="progressive")
    assert path == tmp_path / f"{UCM}-progressive.pt" and path.is_file()
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["n_train"] == 105 and meta["trace"] == UCM  # 5 % of 2,100
    assert meta["feature_kinds"]["stage1"] == "image-size"
    back = c.TrainedConfidence.load(path)
    assert back.spec.points == 2 and back.variant == "progressive"
    # the split is the engine's for a scenario with the same seed
    from simulator.engine import world

    table = read_trace(UCM).table
    _, engine_train = world._split(table, 0.05, world._rngs(1)["split"])
    assert set(c.train_split(table, 0.05, 1)["sample_id"]) == set(engine_train["sample_id"])
