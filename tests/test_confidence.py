"""The progressive confidence network g̃ (simulator.policies.confidence)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from simulator.errors import InputError
from simulator.inference.split import split_trace
from simulator.inference.synthetic import generate_synthetic
from simulator.inference.traces import read_trace
from simulator.policies import confidence as c

UCM = "ucm-llava15-7b-vs-geochat-7b"


@pytest.fixture(scope="module")
def synthetic_cls() -> pd.DataFrame:
    # classification: the answers agree mostly when both models are right, so
    # Simi(y^s, y^g) falls with the difficulty that the features encode
    return generate_synthetic("classification", samples=2000, seed=5, train_samples=0).table


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


def _target_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "task": ["classification", "classification", "mcq", "mcq", "vqa", "vqa", "vqa", "vqa",
                 "vqa", "detection"],
        "onboard_answer": ["Dense Residential", "forest", "B", "(c) pond", "Yes, there is.", "two",
                           "A man riding a red bicycle along a river",
                           "A man riding a red bicycle along a river", "yes",
                           "[0.1, 0.2, 0.3, 0.4]"],
        "ground_answer": ["dense_residential", "beach", "B.", "A", "yes", "2",
                          "Someone cycles on a red bike next to a river",
                          "Three cats sleeping on a sofa indoors", "no",
                          "[0.5, 0.6, 0.7, 0.8]"],
        "answer_similarity": 0.5,  # no longer read: the target comes from the answers
    })


def test_agreement_target_is_the_task_metric():
    s, source = c.similarity_target(_target_frame(), "agreement")
    assert s[:6].tolist() == [1.0, 0.0, 1.0, 0.0, 1.0, 1.0]
    assert 0.5 < s[6] <= 1.0 and 0.0 <= s[7] < 0.3 and s[6] > s[7] + 0.3
    assert s[8] == 0.0 and s[9] == 0.0  # yes vs no; disjoint boxes: IoU 0
    assert source.startswith("agreement:") and "semantic" not in source
    assert "label equality" in source and "MiniLM cosine" in source and "box IoU" in source


def test_minilm_target_is_the_cosine_except_for_boxes():
    df = _target_frame()
    s, source = c.similarity_target(df, "minilm")
    assert c.DEFAULT_TARGET == "agreement" and source.startswith("minilm:")
    assert s[8] == pytest.approx(0.733, abs=0.01)  # cos("yes", "no"): never below tau_1 = 0.5
    assert s[4] < 1.0 and s[0] > 0.8  # "Yes, there is." vs "yes" is not equal text
    same = pd.DataFrame({"task": ["vqa"], "onboard_answer": ["Dense residential"],
                         "ground_answer": ["dense residential "]})
    assert c.similarity_target(same, "minilm")[0].tolist() == [1.0]  # equal up to case: 1
    assert s[9] == 0.0  # boxes: IoU, not MiniLM (which gives these two boxes 0.91)
    assert "box IoU (MiniLM on coordinates is meaningless)" in source
    assert c.minilm_cosine(["[0.1, 0.2, 0.3, 0.4]"], ["[0.5, 0.6, 0.7, 0.8]"])[0] > 0.85
    assert c.minilm_cosine(["airport"], ["airplane"])[0] == pytest.approx(0.614, abs=0.01)
    with pytest.raises(InputError, match="target 'cosine'; expected one of agreement, minilm"):
        c.similarity_target(df, "cosine")


def test_answers_agree_and_auroc():
    agree = c.answers_agree(["classification", "classification", "vqa", "vqa", "detection",
                             "detection", "detection"],
                            ["Dense Residential", "forest", "Yes.", "2", "[0, 0, 1, 1]",
                             "[0, 0, 1, 1]", "[0, 0"],
                            ["dense_residential", "beach", "yes", "two", "[0, 0, 1, 0.5]",
                             "[0, 0, 1, 0.4]", "[0, 0, 1, 1]"])
    assert agree.tolist() == [True, False, True, True, True, False, False]
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=300).round(1), rng.random(300) < 0.4
    pos, neg = x[y], x[~y]
    brute = np.mean([(p > q) + 0.5 * (p == q) for p in pos for q in neg])
    assert c.auroc(x, y) == pytest.approx(brute)
    assert c.auroc(x, np.ones(300, bool)) is None


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
    # UC Merced: no features, no question, no token probabilities; a second opinion
    assert spec.base_kind == "image-size" and spec.input_dims() == [3, 3 + c.EMBED_DIM + 2]
    assert spec.tokprob_kind is None and spec.agreement
    notes = spec.fallback_notes()
    assert any(n.startswith("no image features") for n in notes)
    assert any(n.startswith("no token probabilities") for n in notes)
    assert spec.answer_kind == "truncated-final-answer"
    assert spec.input_notes()["stage2"][-1].startswith("agreement of A with second_opinion_answer")
    vqa = read_trace("vqav2-qwen2vl-2b-vs-7b").table.head(20)
    spec = c.FeatureSpec.for_table(vqa, variant="g", points=2, stage_tokens=16)
    assert spec.base_kind == "question+image-size"
    assert spec.input_dims() == [c.EMBED_DIM + 3]
    assert c.NO_FEATURES_QUESTION in spec.fallback_notes()
    spec = c.FeatureSpec.for_table(vqa, variant="g-prime", points=2, stage_tokens=16)
    assert spec.input_dims() == [2 * c.EMBED_DIM + 3]  # no token probabilities, no second opinion
    assert "no second onboard opinion (the trace has no second_opinion_answer)" in spec.fallback_notes()
    # synthetic: features, token probabilities and a second opinion at every answer stage
    spec = c.FeatureSpec.for_table(synthetic_cls, variant="g-prime", points=3, stage_tokens=16)
    assert spec.base_kind == "features" and spec.input_dims() == [16 + c.EMBED_DIM + 4]
    assert spec.fallback_notes() == []
    spec = c.FeatureSpec.for_table(synthetic_cls, variant="progressive", points=3, stage_tokens=16)
    assert spec.input_dims() == [16, 16 + c.EMBED_DIM + 4, 16 + c.EMBED_DIM + 4]
    assert spec.tokprob_kind == "stage-confidence"
    notes = spec.input_notes()
    assert notes["stage1"] == ["V(x) (features column)"]
    assert any("onboard_stage_confidence" in n for n in notes["stage3"])
    # recorded with another N_t: the partial answers' token probabilities do not apply
    spec = c.FeatureSpec.for_table(synthetic_cls, variant="progressive", points=2, stage_tokens=8,
                                   recorded_stage_tokens=16)
    assert spec.tokprob_kind is None and spec.input_dims() == [16, 16 + c.EMBED_DIM + 2]
    assert c.FeatureSpec.for_table(synthetic_cls, variant="g", points=2,
                                   stage_tokens=16).input_dims() == [16]


def test_partial_answer_extras_see_only_what_was_generated():
    det = generate_synthetic("detection", samples=40, seed=3, train_samples=0).table
    spec = c.FeatureSpec.for_table(det, variant="progressive", points=3, stage_tokens=16,
                                   recorded_stage_tokens=16)
    # after 16 tokens of a 20-32 token box: token probability of the first stage, the
    # agreement unknown (a partial box cannot be compared)
    first = spec.raw_extra(det, 1)
    assert np.allclose(first[:, 0], [s[0] for s in det.onboard_stage_confidence])
    assert np.allclose(first[:, 1], np.log(first[:, 0] / (1 - first[:, 0])))
    assert (first[:, 2:] == 0).all()
    # after 32 tokens the answer is complete: the whole answer's confidence, agreement known
    second = spec.raw_extra(det, 2)
    assert np.allclose(second[:, 0], det.onboard_confidence) and (second[:, 3] == 1).all()
    agree = c.answers_agree(det.task, det.onboard_answer, det.second_opinion_answer)
    assert np.array_equal(second[:, 2] == 1, agree)
    # a recording's per-stage means are accumulated, weighted by each stage's tokens
    rec = pd.DataFrame({"onboard_stage_probs": [[0.9, 0.6], [0.5]],
                        "onboard_output_tokens": [20, 3]})
    assert c.stage_confidence(rec, 1, 16, "stage-probs").tolist() == [0.9, 0.5]
    assert c.stage_confidence(rec, 2, 16, "stage-probs")[0] == pytest.approx((16 * 0.9 + 4 * 0.6) / 20)
    assert c.stage_confidence(rec, None, 16, "stage-probs")[1] == 0.5


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


def test_training_runs_on_one_thread_and_restores_the_count(synthetic_cls, monkeypatch):
    """g̃'s weights must not depend on the machine's core count: training always runs
    on one torch thread, and the caller's thread count is restored afterwards."""
    from simulator.policies.confidence import training

    seen = []
    real = training._fit

    def spy(torch_module, *args, **kwargs):
        seen.append(torch_module.get_num_threads())
        return real(torch_module, *args, **kwargs)

    monkeypatch.setattr(training, "_fit", spy)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        c.train_confidence(synthetic_cls.head(200), seed=1, epochs=3)
        assert seen == [1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("target", c.TARGETS)
def test_training_beats_the_constant_predictor(synthetic_cls, target):
    train, test = synthetic_cls.iloc[:1000], synthetic_cls.iloc[1000:]
    s, _ = c.similarity_target(test, target)
    for variant in ("progressive", "g"):
        model = c.train_confidence(train, variant=variant, seed=0, target=target)
        m = model.metrics
        assert m["target"].startswith(target) and model.spec.target == target
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
    with pytest.raises(InputError, match="target"):
        c.train_confidence(synthetic_cls.head(10), target="cosine")


def test_save_load_round_trip(tmp_path, synthetic_cls):
    model = c.train_confidence(synthetic_cls.head(200), variant="progressive", points=3,
                               seed=1, epochs=5, trace_name="synthetic-demo")
    path = model.save(tmp_path / "net")
    assert path == tmp_path / "net.pt" and path.is_file()
    meta = json.loads((tmp_path / "net.json").read_text())
    for key in ("trace", "n_train", "variant", "points", "stage_tokens", "feature_kinds",
                "metrics", "created_utc", "torch_version", "target", "inputs"):
        assert key in meta
    assert meta["trace"] == "synthetic-demo" and meta["n_train"] == 200 and meta["points"] == 3
    assert meta["format_version"] == c.FORMAT_VERSION == 2 and meta["target"] == "agreement"
    assert meta["feature_kinds"]["token_probabilities"] == "stage-confidence"
    assert meta["feature_kinds"]["second_opinion"] is True
    assert meta["metrics"]["val_loss"] == model.metrics["val_loss"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.json", "net.pt"]  # no temp files
    back = c.TrainedConfidence.load(tmp_path / "net.pt")
    rows = synthetic_cls.iloc[500:700]
    for x, y in zip(model.predict(rows), back.predict(rows)):
        assert np.array_equal(x, y)
    with pytest.raises(InputError, match="no such file"):
        c.TrainedConfidence.load(tmp_path / "missing")
    # a format 1 checkpoint (no target, no extra inputs) still loads
    g = c.train_confidence(synthetic_cls.head(100), variant="g", seed=1, epochs=2)
    g.save(tmp_path / "old")
    old = json.loads((tmp_path / "old.json").read_text())
    old["format_version"] = 1
    for key in ("tokprob_kind", "agreement", "target", "extra_mean", "extra_std"):
        del old["spec"][key]
    (tmp_path / "old.json").write_text(json.dumps(old))
    back = c.TrainedConfidence.load(tmp_path / "old")
    assert back.spec.target.startswith("answer_similarity column")
    assert np.array_equal(back.predict(rows)[0], g.predict(rows)[0])


def test_train_command_on_a_recorded_trace(tmp_path):
    path = c.train_command(UCM, seed=1, out=tmp_path, points=2, stage_tokens=16,
                           variant="progressive", train_rows=1000, epochs=30)
    assert path == tmp_path / f"{UCM}-progressive.pt" and path.is_file()
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["n_train"] == 1000 and meta["trace"] == UCM and meta["train_rows"] == 1000
    assert meta["split_seed"] == 1 and meta["target"] == "agreement"
    assert meta["feature_kinds"]["stage1"] == "image-size"
    assert meta["feature_kinds"]["second_opinion"] is True
    back = c.TrainedConfidence.load(path)
    assert back.spec.points == 2 and back.variant == "progressive"
    # the pool is the engine's: split_trace with the same seed
    table = read_trace(UCM).table
    _, pool = split_trace(table, train_rows=1000, seed=1)
    assert set(c.train_split(table, seed=1, train_rows=1000)["sample_id"]) == set(pool["sample_id"])
    # a fraction still works (5 % of 2,100 = 105 rows)
    assert len(c.train_split(table, 0.05, 1)) == 105
    with pytest.raises(InputError, match="train fraction"):
        c.train_split(table, None, 1)
    # a trace with a split column: its training pool
    syn = generate_synthetic("vqa", samples=50, seed=1, train_samples=300).table
    assert (c.train_split(syn, 0.05, 1)["split"] == "train").all()
    assert len(c.train_split(syn, 0.05, 1)) == 300


def test_confidence_does_not_import_the_engine():
    import ast
    import inspect
    import subprocess
    import sys

    tree = ast.parse(inspect.getsource(c))
    modules = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    modules += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in modules if "engine" in m]
    code = ("import sys, simulator.policies.confidence as c; "
            "import pandas as pd; "
            "c.train_split(pd.DataFrame({'sample_id': list('abcd')}), 0.5, 1); "
            "print(sorted(m for m in sys.modules if m.startswith('simulator.engine')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_adam_is_torch_adam_bit_for_bit():
    """g̃'s optimiser (simulator.policies.confidence.adam) against torch.optim.Adam."""
    import torch

    from simulator.policies.confidence.adam import Adam

    def train(make_optimizer):
        torch.manual_seed(3)
        net = torch.nn.Sequential(torch.nn.Linear(7, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
        opt = make_optimizer(net.parameters())
        gen = torch.Generator().manual_seed(5)
        for _ in range(300):
            x = torch.randn(32, 7, generator=gen)
            loss = torch.mean((net(x).squeeze(1) - x[:, 0]) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()
        return [p.detach().clone() for p in net.parameters()]

    for wd in (0.0, 1e-4):
        ours = train(lambda ps: Adam(ps, lr=1e-3, weight_decay=wd))
        theirs = train(lambda ps: torch.optim.Adam(ps, lr=1e-3, weight_decay=wd))
        assert all(torch.equal(a, b) for a, b in zip(ours, theirs)), wd
        assert not torch.equal(ours[0], train(lambda ps: Adam(ps, lr=2e-3, weight_decay=wd))[0])


def test_predict_in_slices_gives_every_row_the_same_value(synthetic_cls, monkeypatch):
    """Large tables are predicted in slices of rows (bounded memory): each row's g̃ is
    the same bit for bit, whatever the slices."""
    from simulator.policies.confidence import checkpoints

    model = c.train_confidence(synthetic_cls.head(300), variant="progressive", points=3,
                               seed=2, epochs=3)
    rows = synthetic_cls.iloc[300:]
    whole = model.predict(rows)
    for size in (1000, 997, 64):
        monkeypatch.setattr(checkpoints, "PREDICT_ROWS", size)
        sliced = model.predict(rows)
        assert len(sliced) == len(whole) == 3
        assert all(np.array_equal(a, b) for a, b in zip(whole, sliced)), size
