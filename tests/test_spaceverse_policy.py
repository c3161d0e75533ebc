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
from simulator.inference.synthetic import generate_synthetic
from simulator.inference.traces import read_trace
from simulator.policies import confidence as c
from simulator.policies.allocation import REGISTRY, PolicyContext, get_policy

ROOT = Path(__file__).resolve().parent.parent
UCM = "ucm-llava15-7b-vs-geochat-7b"


@pytest.fixture(scope="module")
def trace() -> pd.DataFrame:
    return generate_synthetic("classification", samples=800, seed=2).table


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
    assert notes["training"]["n_train"] + notes["training"]["n_val"] == 400
    assert notes["training"]["best_val_loss"] is not None
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
    second = get_policy("spaceverse", {"tau": [0.0, 1.0]}).plan(ctx)
    assert second.offload.all() and (second.stage == 2).all()
    assert second.notes["offload_fraction_by_stage"] == {"point1": 0.0, "point2": 1.0, "final": 0.0}
    nothing = get_policy("spaceverse", {"tau": [0.0, 0.0]}).plan(ctx)
    assert not nothing.offload.any() and (nothing.stage == 3).all() and len(nothing.stage) == n
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


def test_g_decides_once_at_point_one(trace, tmp_path):
    ctx = context(trace, tmp_path)
    plan = get_policy("spaceverse-g", {"tau": [0.5, 0.4]}).plan(ctx)
    assert set(np.unique(plan.stage)) == {1, ctx.final_stage}
    assert np.array_equal(plan.offload, plan.stage == 1)
    assert plan.notes["variant"] == "g" and plan.notes["thresholds"] == [0.5]
    assert plan.notes["features"] == {"stage1": "features", "answers": None}
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


def test_small_scenario_end_to_end(tmp_path):
    from simulator.config import load_scenario
    from simulator.engine.world import run_scenario

    common = ["workload.train_fraction=0.1", "policy.params={stages: 2, tau: [0.5, 0.4]}"]
    acc = {}
    for name in ("satellite-only", "oracle", "spaceverse"):
        scenario = load_scenario(ROOT / "scenarios" / "small.yaml",
                                 [f"policy.allocation={name}", *common])
        result = run_scenario(scenario, out_dir=tmp_path / name)
        acc[name] = result.summary["accuracy"]
        if name == "spaceverse":
            summary = json.loads((result.folder / "summary.json").read_text())
            notes = summary["policy_notes"]
            assert notes["variant"] == "progressive" and summary["train_samples"] == 20
            assert 0 < notes["offload_fraction"] < 1
            assert len(result.samples) == 180
    assert acc["satellite-only"] < acc["spaceverse"] < acc["oracle"]
