"""SpaceVerse allocation policies: g̃ (spaceverse) and the ablations g, g′."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simulator.policies.spaceverse as sv  # registers the policies
from simulator.compute import load_compute
from simulator.errors import InputError
from simulator.inference.split import split_trace
from simulator.inference.synthetic import generate_synthetic
from simulator.inference.traces import read_trace
from simulator.policies import confidence as c
from simulator.policies.allocation import REGISTRY, PolicyContext, get_policy

ROOT = Path(__file__).resolve().parent.parent
UCM = "ucm-llava15-7b-vs-geochat-7b"


@pytest.fixture(scope="module")
def trace() -> pd.DataFrame:
    # small and fast, for the mechanics (the network is trained on 400 rows: warned about)
    return generate_synthetic("classification", samples=800, seed=2, train_samples=0).table


def context(trace, tmp_path, *, points=2, stage_tokens=2, n_train=400, meta=None):
    train = trace.iloc[:n_train].reset_index(drop=True)
    samples = trace.iloc[n_train:].reset_index(drop=True)
    return PolicyContext(samples, points, stage_tokens, np.random.default_rng(0), train=train,
                         trace_meta=meta or {"name": "synthetic-test"}, cache_dir=tmp_path)


def test_registered_and_built_by_name():
    for name, cls in (("spaceverse", sv.SpaceVersePolicy), ("spaceverse-g", sv.SpaceVerseG),
                      ("spaceverse-g-prime", sv.SpaceVerseGPrime)):
        assert REGISTRY[name] is cls
        assert isinstance(get_policy(name, {"seed": 1}), cls)
    assert get_policy("spaceverse").describe()["name"] == "spaceverse"


def test_tau_must_have_one_threshold_per_point(trace, tmp_path):
    with pytest.raises(InputError, match="tau has 1 thresholds.*stages = 2"):
        get_policy("spaceverse", {"stages": 2, "tau": [0.5]})
    with pytest.raises(InputError, match=r"outside \[0, 1\]"):
        get_policy("spaceverse", {"tau": [0.5, 1.5]})
    with pytest.raises(InputError, match="tau"):
        get_policy("spaceverse", {"tau": "0.5"})
    # checked against the context's layout too (when the scenario leaves stages out)
    policy = get_policy("spaceverse", {"tau": [0.5, 0.4]})
    with pytest.raises(InputError, match="stages = 3"):
        policy.plan(context(trace, tmp_path, points=3))
    # no paper default for I != 2
    with pytest.raises(InputError, match="no default"):
        get_policy("spaceverse").plan(context(trace, tmp_path, points=3))


def test_missing_training_data_is_an_error(trace, tmp_path):
    ctx = context(trace, tmp_path)
    ctx.train = ctx.train.iloc[0:0]
    for name in ("spaceverse", "spaceverse-g", "spaceverse-g-prime"):
        with pytest.raises(InputError, match="needs workload.train_fraction > 0 or "
                                             "policy.params.checkpoint"):
            get_policy(name).plan(ctx)


def test_stagewise_offloading_follows_the_thresholds(trace, tmp_path):
    ctx = context(trace, tmp_path)
    plan = get_policy("spaceverse", {"tau": [0.5, 0.4], "epochs": 60}).plan(ctx)
    assert set(np.unique(plan.stage)) <= {1, 2, 3}
    assert np.array_equal(plan.offload, plan.stage <= ctx.points)
    # recompute g̃_1, g̃_2 with the cached network: the plan is Algorithm 1
    cached = list(Path(tmp_path).glob("confidence-progressive-*.pt"))
    assert len(cached) == 1
    g1, g2 = c.TrainedConfidence.load(cached[0]).predict(ctx.samples)
    assert np.array_equal(plan.stage == 1, g1 < 0.5)
    assert np.array_equal(plan.stage == 2, (g1 >= 0.5) & (g2 < 0.4))
    assert np.array_equal(plan.stage == 3, (g1 >= 0.5) & (g2 >= 0.4))
    assert (plan.stage == 1).any() and (plan.stage == 3).any()
    notes = plan.notes
    assert notes["variant"] == "progressive" and notes["thresholds"] == [0.5, 0.4]
    fractions = notes["offload_fraction_by_stage"]
    assert fractions["point1"] == pytest.approx(np.mean(plan.stage == 1))
    assert fractions["point2"] == pytest.approx(np.mean(plan.stage == 2))
    assert fractions["final"] == 0.0
    training = notes["training"]
    assert training["n_train"] + training["n_val"] == training["n_rows"] == 400
    assert training["best_val_loss"] is not None and training["best_epoch"] >= 1
    assert training["val_loss_vs_constant"] == pytest.approx(
        training["best_val_loss"] / training["constant_val_loss"], abs=1e-4)
    assert notes["target"] == "agreement" and training["target"].startswith("agreement")
    # held-out AUROC per stage for "the ground answer is better", on the evaluated samples
    better = ctx.samples["ground_score"].to_numpy() > ctx.samples["onboard_score"].to_numpy()
    assert notes["auroc_ground_better"] == {"stage1": round(c.auroc(1 - g1, better), 4),
                                            "stage2": round(c.auroc(1 - g2, better), 4)}
    assert "400" in notes["auroc_definition"]
    assert notes["inputs"]["stage2"][:2] == ["V(x) (features column)", "e(A) MiniLM embedding"]
    assert any("onboard_stage_confidence" in x for x in notes["inputs"]["stage2"])
    # 400 training rows: below the 1,000 the audit asks for, so warned about
    assert any("trained on 400 rows, fewer than 1000" in w for w in notes["warnings"])
    json.dumps(notes)  # goes into summary.json
    # offloaded at stage 1 = vision encoding only, no decoding (the engine's cost model)
    from simulator.engine.world import _onboard_seconds

    compute = load_compute("jetson-agx-orin", "llava-1.5-7b")
    table = ctx.samples
    seconds = _onboard_seconds(table, compute, plan.stage, ctx.points, ctx.stage_tokens)
    encode = compute.encode_s(table["image_width_px"].to_numpy(), table["image_height_px"].to_numpy())
    first = plan.stage == 1
    assert np.allclose(seconds[first], np.asarray(encode)[first])
    assert np.all(seconds[~first] > np.asarray(encode)[~first])


def test_extreme_thresholds_place_every_sample(trace, tmp_path):
    ctx = context(trace, tmp_path)
    n = len(ctx.samples)
    everything = get_policy("spaceverse", {"tau": [1.0, 1.0]}).plan(ctx)
    assert everything.offload.all() and (everything.stage == 1).all()
    assert any("offloads 100.0 % of the samples" in w for w in everything.notes["warnings"])
    second = get_policy("spaceverse", {"tau": [0.0, 1.0]}).plan(ctx)
    assert second.offload.all() and (second.stage == 2).all()
    assert second.notes["offload_fraction_by_stage"] == {"point1": 0.0, "point2": 1.0, "final": 0.0}
    nothing = get_policy("spaceverse", {"tau": [0.0, 0.0]}).plan(ctx)
    assert not nothing.offload.any() and (nothing.stage == 3).all() and len(nothing.stage) == n
    assert any("offloads 0.0 % of the samples" in w for w in nothing.notes["warnings"])
    # the three plans reused one trained network
    assert len(list(Path(tmp_path).glob("confidence-progressive-*.pt"))) == 1
    assert nothing.notes["training"]["source"] == "cache"


def test_networks_are_cached_by_training_data_and_params(trace, tmp_path):
    ctx = context(trace, tmp_path)
    first = get_policy("spaceverse", {"seed": 1}).plan(ctx)
    again = get_policy("spaceverse", {"seed": 1}).plan(ctx)
    assert first.notes["training"]["source"] == "trained"
    assert again.notes["training"]["source"] == "cache"
    assert np.array_equal(first.stage, again.stage)
    get_policy("spaceverse", {"seed": 2}).plan(ctx)
    other = context(trace, tmp_path, n_train=300)
    assert get_policy("spaceverse", {"seed": 1}).plan(other).notes["training"]["source"] == "trained"
    assert len(list(Path(tmp_path).glob("confidence-progressive-*.pt"))) == 3
    # the target is part of the key
    other_target = get_policy("spaceverse", {"seed": 1, "target": "minilm"}).plan(ctx)
    assert other_target.notes["training"]["source"] == "trained"
    assert other_target.notes["target"] == "minilm"
    assert len(list(Path(tmp_path).glob("confidence-progressive-*.pt"))) == 4
    # and so are the input columns: without the second opinion, another network
    fewer = context(trace.drop(columns="second_opinion_answer"), tmp_path)
    assert get_policy("spaceverse", {"seed": 1}).plan(fewer).notes["training"]["source"] == "trained"


def test_g_decides_once_at_point_one(trace, tmp_path):
    ctx = context(trace, tmp_path)
    plan = get_policy("spaceverse-g", {"tau": [0.5, 0.4]}).plan(ctx)
    assert set(np.unique(plan.stage)) == {1, ctx.final_stage}
    assert np.array_equal(plan.offload, plan.stage == 1)
    assert plan.notes["variant"] == "g" and plan.notes["thresholds"] == [0.5]
    assert plan.notes["features"] == {"stage1": "features", "answers": None,
                                      "token_probabilities": None, "second_opinion": False}
    assert plan.notes["inputs"] == {"stage1": ["V(x) (features column)"]}
    assert list(plan.notes["auroc_ground_better"]) == ["stage1"]
    high = get_policy("spaceverse-g", {"threshold": 1.0}).plan(ctx)
    assert high.offload.all() and (high.stage == 1).all()


def test_g_prime_decides_after_full_onboard_inference(trace, tmp_path):
    ctx = context(trace, tmp_path)
    plan = get_policy("spaceverse-g-prime", {"tau": [0.5, 0.4]}).plan(ctx)
    assert (plan.stage == ctx.final_stage).all()
    assert plan.offload.any() and not plan.offload.all()
    assert plan.notes["thresholds"] == [0.4]  # tau_I: the decision with the whole answer
    assert plan.notes["offload_fraction_by_stage"]["final"] == pytest.approx(plan.offload.mean())
    assert plan.notes["features"]["answers"] == "final-answer"
    assert plan.notes["features"]["token_probabilities"] == "stage-confidence"
    assert plan.notes["features"]["second_opinion"] is True
    assert list(plan.notes["auroc_ground_better"]) == ["final"]


def test_recorded_trace_without_features_notes_the_fallback(tmp_path):
    table = read_trace(UCM).table
    rng = np.random.default_rng(0)
    rows = table.iloc[rng.permutation(len(table))[:260]].reset_index(drop=True)
    ctx = PolicyContext(rows.iloc[60:].reset_index(drop=True), 2, 16, rng,
                        train=rows.iloc[:60].reset_index(drop=True),
                        trace_meta={"name": UCM, "missing": ["question", "features"]},
                        cache_dir=tmp_path)
    plan = get_policy("spaceverse").plan(ctx)
    fallbacks = plan.notes["feature_fallbacks"]
    assert any(f.startswith("no image features: stage 1 used") for f in fallbacks)
    assert any("partial answers" in f for f in fallbacks)
    assert plan.notes["features"]["stage1"] == "image-size"
    # stage 1 sees only constant image facts on UC Merced (all 256 x 256): no early offload
    # unless the training mean of Simi itself is below tau_1
    assert plan.notes["offload_fraction_by_stage"]["point1"] in (0.0, 1.0)


def test_checkpoint_replaces_training(trace, tmp_path):
    model = c.train_confidence(trace.iloc[:400], seed=0, stage_tokens=2, epochs=20)
    path = model.save(tmp_path / "ckpt")
    ctx = context(trace, tmp_path / "cache")
    ctx.train = ctx.train.iloc[0:0]
    plan = get_policy("spaceverse", {"checkpoint": str(path)}).plan(ctx)
    assert plan.notes["training"]["source"] == "checkpoint"
    g1, _ = model.predict(ctx.samples)
    assert np.array_equal(plan.stage == 1, g1 < 0.5)
    with pytest.raises(InputError, match="'progressive' network"):
        get_policy("spaceverse-g", {"checkpoint": str(path)}).plan(ctx)
    with pytest.raises(InputError, match="decision points"):
        get_policy("spaceverse", {"checkpoint": str(path), "tau": [0.5, 0.4, 0.3]}).plan(
            context(trace, tmp_path / "cache", points=3))
    ucm = read_trace(UCM).table.head(30)
    with pytest.raises(InputError, match="no features column"):
        get_policy("spaceverse", {"checkpoint": str(path)}).plan(
            PolicyContext(ucm, 2, 2, np.random.default_rng(0), cache_dir=tmp_path))
    with pytest.raises(InputError, match="trained with target 'agreement'"):
        get_policy("spaceverse", {"checkpoint": str(path), "target": "minilm"}).plan(ctx)
    with pytest.raises(InputError, match="no second_opinion_answer column"):
        get_policy("spaceverse", {"checkpoint": str(path)}).plan(
            context(trace.drop(columns="second_opinion_answer"), tmp_path / "cache"))


def test_target_parameter(trace, tmp_path):
    assert sv.TARGETS == c.TARGETS  # kept in step (spaceverse does not import torch)
    with pytest.raises(InputError, match="policy.params.target='cos'; expected one of agreement, "
                                         "minilm"):
        get_policy("spaceverse", {"target": "cos"})
    ctx = context(trace, tmp_path)
    for target in c.TARGETS:
        for name in ("spaceverse", "spaceverse-g", "spaceverse-g-prime"):
            plan = get_policy(name, {"target": target, "epochs": 20}).plan(ctx)
            assert plan.notes["target"] == target
            assert plan.notes["training"]["target"].startswith(target)
            assert len(plan.offload) == len(ctx.samples)


def _accuracy(samples: pd.DataFrame, offload: np.ndarray) -> float:
    return float(np.where(offload, samples["ground_score"], samples["onboard_score"]).mean())


@pytest.mark.parametrize("target", c.TARGETS)
def test_trained_on_the_pool_it_beats_random_offloading(tmp_path, target):
    """g̃ on >= 1,000 informative training rows vs offloading as many samples at random."""
    gains = []
    for seed in (1, 2, 3):
        t = generate_synthetic("classification", samples=600, seed=seed, train_samples=1200)
        test, train = split_trace(t.table, seed=seed)
        assert len(train) == 1200 and not set(train.sample_id) & set(test.sample_id)
        ctx = PolicyContext(test, 2, 16, np.random.default_rng(0), train=train,
                            trace_meta=t.meta, cache_dir=tmp_path)
        plan = get_policy("spaceverse", {"tau": [0.5, 0.4], "target": target}).plan(ctx)
        k = int(plan.offload.sum())
        assert 0.05 * len(test) < k < 0.95 * len(test)
        assert "warnings" not in plan.notes
        rng = np.random.default_rng(seed)
        randoms = []
        for _ in range(20):
            chosen = np.zeros(len(test), dtype=bool)
            chosen[rng.choice(len(test), size=k, replace=False)] = True
            randoms.append(_accuracy(test, chosen))
        gains.append(_accuracy(test, plan.offload) - np.mean(randoms))
        aurocs = plan.notes["auroc_ground_better"]
        assert aurocs["stage2"] > 0.6 and aurocs["stage2"] > aurocs["stage1"]
    assert np.mean(gains) > 0.01, gains


def test_small_scenario_end_to_end(tmp_path):
    from simulator.config import load_scenario
    from simulator.engine.world import run_scenario

    # target agreement: with the default MiniLM target, yes/no answers never fall below
    # tau_1 = 0.5 (cos("yes", "no") = 0.73), so g~ would offload nothing on VQA
    common = ["policy.params={stages: 2, tau: [0.5, 0.4], target: agreement}"]
    acc = {}
    for name in ("satellite-only", "oracle", "spaceverse"):
        scenario = load_scenario(ROOT / "scenarios" / "small.yaml",
                                 [f"policy.allocation={name}", *common])
        result = run_scenario(scenario, out_dir=tmp_path / name)
        acc[name] = result.summary["accuracy"]
        if name == "spaceverse":
            summary = json.loads((result.folder / "summary.json").read_text())
            notes = summary["policy_notes"]
            assert notes["variant"] == "progressive" and summary["train_samples"] >= 1000
            assert notes["training"]["n_rows"] >= 1000
            assert 0 < notes["offload_fraction"] < 1
            assert set(notes["auroc_ground_better"]) == {"stage1", "stage2"}
            assert len(result.samples) == 200
    assert acc["satellite-only"] < acc["spaceverse"] < acc["oracle"]
