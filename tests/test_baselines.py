"""Tabi and AI-RG baselines (simulator.policies.baselines)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simulator.policies.baselines as baselines
from simulator.errors import InputError
from simulator.policies.allocation import REGISTRY, PolicyContext, get_policy
from simulator.policies.baselines import ActiveInferenceRG, Tabi, calibrate, fit_temperature

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- fixtures


def _table(n: int, rng: np.random.Generator, *, temperature: float = 2.0,
           onboard_acc: float | None = None, ground_acc: float = 0.9) -> pd.DataFrame:
    """Samples whose recorded confidence is over-confident by ``temperature``.

    The true probability of a correct onboard answer is ``sigmoid(s)``; the
    recorded confidence is ``sigmoid(temperature * s)``.
    """
    s = rng.normal(0.5, 2.0, n)
    p_true = 1 / (1 + np.exp(-s))
    correct = rng.random(n) < (p_true if onboard_acc is None else onboard_acc)
    ground = rng.random(n) < ground_acc
    return pd.DataFrame({
        "sample_id": [f"s{i}" for i in range(n)],
        "task": "vqa",
        "onboard_answer": np.where(correct, "yes", "no"),
        "ground_answer": np.where(ground, "yes", "no"),
        "onboard_score": correct.astype(float),
        "ground_score": ground.astype(float),
        "onboard_confidence": 1 / (1 + np.exp(-temperature * s)),
    })


def _estimates(n: int, *, onboard_s: float = 2.0, ground_s: float = 0.5, tx_s: float = 0.01,
               wait_s: float = 0.0, points: int = 2) -> dict:
    stages = np.zeros((n, points + 2))
    stages[:, 1] = 0.1 * onboard_s
    for k in range(2, points + 2):
        stages[:, k] = onboard_s
    return {"onboard_s_at_stage": stages, "ground_s": np.full(n, ground_s),
            "tx_s": np.full(n, tx_s), "image_bytes": np.full(n, 2e5),
            "contact_wait_s": float(wait_s), "rate_bps": 1e8}


def _ctx(samples: pd.DataFrame, train: pd.DataFrame, *, seed: int = 0, meta: dict | None = None,
         **estimates) -> PolicyContext:
    return PolicyContext(samples=samples, points=2, stage_tokens=16,
                         rng=np.random.default_rng(seed), train=train,
                         estimates=_estimates(len(samples), **estimates),
                         trace_meta=meta or {"missing": []})


# --------------------------------------------------------------------------- registry


def test_registered():
    assert REGISTRY["tabi"] is Tabi and REGISTRY["ai-rg"] is ActiveInferenceRG
    assert isinstance(get_policy("tabi", {"threshold": 0.6}), Tabi)
    assert get_policy("ai_rg").name == "ai-rg"
    assert Tabi.sends_full_image and ActiveInferenceRG.sends_full_image


def test_bad_params():
    with pytest.raises(InputError, match="threshold"):
        Tabi(threshold=1.5)
    with pytest.raises(InputError, match="act"):
        ActiveInferenceRG(act="maybe")
    with pytest.raises(InputError, match="iterations"):
        ActiveInferenceRG(iterations=0)


# --------------------------------------------------------------------------- Tabi


@pytest.mark.parametrize("true_t", [0.5, 1.0, 2.5])
def test_temperature_fit_recovers_known_temperature(true_t):
    rng = np.random.default_rng(1)
    s = rng.normal(0.0, 1.5, 20000)
    y = rng.random(s.size) < 1 / (1 + np.exp(-s))
    p = 1 / (1 + np.exp(-true_t * s))         # recorded = true logit sharpened by T
    t = fit_temperature(p, y)
    assert t == pytest.approx(true_t, rel=0.08)
    c = calibrate(p, t)
    nll = lambda q: -np.mean(y * np.log(q) + (1 - y) * np.log(1 - q))  # noqa: E731
    assert nll(c) <= nll(np.clip(p, 1e-6, 1 - 1e-6)) + 1e-9


def test_temperature_fit_bounds_anticorrelated_confidence():
    rng = np.random.default_rng(2)
    s = rng.normal(0, 2, 2000)
    y = rng.random(s.size) < 1 / (1 + np.exp(s))   # confidence says the opposite
    assert fit_temperature(1 / (1 + np.exp(-s)), y) == baselines.T_MAX


def test_tabi_threshold_monotone_and_stage_final():
    rng = np.random.default_rng(3)
    train, samples = _table(400, rng), _table(600, rng)
    counts = []
    for threshold in (0.1, 0.3, 0.5, 0.7, 0.9):
        plan = Tabi(threshold=threshold).plan(_ctx(samples, train))
        counts.append(int(plan.offload.sum()))
        # every sample, offloaded or not, pays the full onboard inference
        assert (plan.stage == 3).all()
        assert "tabi fallback" not in plan.notes
    assert counts == sorted(counts) and counts[0] < counts[-1]
    assert 0 < counts[2] < len(samples)


def test_tabi_calibration_uses_train_temperature():
    rng = np.random.default_rng(4)
    train, samples = _table(3000, rng, temperature=3.0), _table(200, rng, temperature=3.0)
    plan = Tabi().plan(_ctx(samples, train))
    assert plan.notes["temperature"] == pytest.approx(3.0, rel=0.15)
    assert plan.notes["train_nll_calibrated"] < plan.notes["train_nll_raw"]


def test_tabi_ensemble_score_is_onboard_or_ground():
    rng = np.random.default_rng(5)
    train, samples = _table(300, rng), _table(500, rng)
    samples["onboard_score"] = rng.uniform(0, 1, len(samples))   # make the two scores differ
    samples["ground_score"] = rng.uniform(0, 1, len(samples))
    on, gr = samples["onboard_score"].to_numpy(), samples["ground_score"].to_numpy()
    for weight in (0.0, 0.5, 0.9, 1.0):
        plan = Tabi(threshold=0.6, weight=weight).plan(_ctx(samples, train))
        off = plan.offload
        assert off.any()
        score = plan.offload_score[off]
        assert np.all((score == on[off]) | (score == gr[off]))
        if weight == 0.0:
            assert np.array_equal(score, gr[off])
        if weight == 1.0:
            assert np.array_equal(score, on[off])
    # a high weight on the onboard model keeps some onboard answers among the offloaded
    plan = Tabi(threshold=0.6, weight=0.9).plan(_ctx(samples, train))
    assert plan.notes["offloaded_answered_onboard_by_ensemble"] > 0


def test_tabi_ground_confidence_column_is_used():
    rng = np.random.default_rng(6)
    train, samples = _table(300, rng), _table(100, rng)
    samples["ground_confidence"] = 0.0                 # ground never trusted
    plan = Tabi(threshold=0.99, weight=0.5).plan(_ctx(samples, train))
    off = plan.offload
    assert np.array_equal(plan.offload_score[off], samples["onboard_score"].to_numpy()[off])


def test_tabi_fallback_on_agreement_signal():
    from simulator.inference.traces import read_trace

    trace = read_trace("ucm-llava15-7b-vs-geochat-7b")
    table = trace.table
    rng = np.random.default_rng(7)
    is_train = np.zeros(len(table), dtype=bool)
    is_train[rng.choice(len(table), size=len(table) // 10, replace=False)] = True
    train = table[is_train].reset_index(drop=True)
    samples = table[~is_train].reset_index(drop=True)
    ctx = _ctx(samples, train, meta=trace.meta)
    plan = Tabi().plan(ctx)
    assert "tabi fallback" in plan.notes
    assert "agree" in plan.notes["tabi fallback"]
    conf, _ = Tabi().confidence(ctx)
    assert len(np.unique(conf)) == 2                    # one confidence per agreement value
    by = plan.notes["confidence_by_agreement"]
    assert by["agree"] > by["disagree"]
    # the disagreeing answers (the trace's 0/1 signal) are the less confident ones:
    # a threshold between the two bins sends down exactly those
    agree = samples["onboard_confidence"].to_numpy() == 1.0
    middle = Tabi(threshold=(by["agree"] + by["disagree"]) / 2).plan(ctx)
    assert np.array_equal(middle.offload, ~agree)
    assert (middle.stage == 3).all()

    # same 0/1 values without the metadata note: still detected
    plan2 = Tabi().plan(_ctx(samples, train, meta={"missing": []}))
    assert "tabi fallback" in plan2.notes

    # no second opinion and no confidence: per-answer training accuracy
    bare = {"missing": ["onboard_confidence"]}
    drop = ["second_opinion_answer", "onboard_confidence"]
    plan3 = Tabi().plan(_ctx(samples.drop(columns=drop), train.drop(columns=drop), meta=bare))
    assert "per onboard answer" in plan3.notes["tabi fallback"]
    assert (plan3.stage == 3).all()


def test_tabi_needs_train_split():
    rng = np.random.default_rng(8)
    samples = _table(50, rng)
    with pytest.raises(InputError, match="tabi needs workload.train_fraction > 0"):
        Tabi().plan(_ctx(samples, samples.iloc[0:0]))


# --------------------------------------------------------------------------- AI-RG


def _airg_tables(n: int, onboard_acc: float, ground_acc: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    return (_table(200, rng, onboard_acc=onboard_acc, ground_acc=ground_acc),
            _table(n, rng, onboard_acc=onboard_acc, ground_acc=ground_acc))


def test_airg_deterministic_under_seed():
    train, samples = _airg_tables(100, 0.6, 0.8)
    # close to indifference, so the draws matter
    a = ActiveInferenceRG(iterations=8).plan(_ctx(samples, train, seed=3, wait_s=12.0))
    b = ActiveInferenceRG(iterations=8).plan(_ctx(samples, train, seed=3, wait_s=12.0))
    assert np.array_equal(a.offload, b.offload) and np.array_equal(a.stage, b.stage)
    assert a.notes == b.notes


def test_airg_offloads_more_with_better_ground_and_cheap_link():
    train, samples = _airg_tables(96, 0.4, 0.95)
    cheap = ActiveInferenceRG().plan(_ctx(samples, train, tx_s=0.01, wait_s=0.0))
    # the wait for a contact counts only when asked (the reported service latency leaves it out)
    costly = ActiveInferenceRG(count_contact_wait=True).plan(
        _ctx(samples, train, tx_s=5.0, wait_s=5000.0))
    assert ActiveInferenceRG().plan(_ctx(samples, train, tx_s=5.0, wait_s=5000.0)).offload.mean() \
        > costly.offload.mean()
    assert cheap.offload.mean() > 0.9
    assert costly.offload.mean() < 0.1
    # the same link with the two models equally good: nothing worth sending
    train_eq, samples_eq = _airg_tables(96, 0.8, 0.8)
    equal = ActiveInferenceRG(count_contact_wait=True).plan(
        _ctx(samples_eq, train_eq, tx_s=0.01, wait_s=3.0))
    assert equal.offload.mean() < cheap.offload.mean()
    assert cheap.notes["server_accuracy"]["overall"]["ground"] > 0.85


def test_airg_decisions_at_capture():
    train, samples = _airg_tables(64, 0.5, 0.8)
    plan = ActiveInferenceRG(guidance_weight=1.0).plan(_ctx(samples, train, wait_s=8.0))
    assert plan.offload.any() and (~plan.offload).any()
    assert (plan.stage[plan.offload] == 0).all()
    assert (plan.stage[~plan.offload] == 3).all()
    assert plan.offload_score is None


def test_airg_ignores_per_sample_difficulty():
    """Accuracy is per server: shuffling the test samples' scores changes nothing."""
    train, samples = _airg_tables(64, 0.5, 0.8)
    shuffled = samples.copy()
    rng = np.random.default_rng(9)
    shuffled["onboard_score"] = rng.permutation(shuffled["onboard_score"].to_numpy())
    shuffled["onboard_confidence"] = rng.permutation(shuffled["onboard_confidence"].to_numpy())
    a = ActiveInferenceRG(iterations=10).plan(_ctx(samples, train, seed=1, wait_s=12.0))
    b = ActiveInferenceRG(iterations=10).plan(_ctx(shuffled, train, seed=1, wait_s=12.0))
    assert np.array_equal(a.offload, b.offload)


def test_airg_cem_reaches_boltzmann_optimum():
    """With a separable cost the optimum is sigmoid(-dG / guidance_weight)."""
    pol = ActiveInferenceRG(guidance_weight=0.05, latency_weight=0.01)
    m = 16
    lat_on, tx = np.full(m, 2.0), np.zeros(m)
    lat_off = np.full(m, 20.0)          # +18 s  -> +0.18 cost; accuracy gain 0.2
    acc_on, acc_off = np.full(m, 0.6), np.full(m, 0.8)
    mean = pol.cem(np.random.default_rng(0), lat_on, lat_off, tx, acc_on, acc_off)
    expected = 1 / (1 + np.exp((0.01 * 18 - 0.2) / 0.05))
    assert mean.mean() == pytest.approx(expected, abs=0.08)


def test_airg_needs_train_split():
    train, samples = _airg_tables(10, 0.5, 0.8)
    with pytest.raises(InputError, match="ai-rg needs workload.train_fraction > 0"):
        ActiveInferenceRG().plan(_ctx(samples, train.iloc[0:0]))


# --------------------------------------------------------------------------- end to end


@pytest.mark.parametrize("policy", ["tabi", "ai-rg"])
def test_end_to_end_small(policy, tmp_path):
    from simulator.config import load_scenario
    from simulator.engine.world import run_scenario

    scenario = load_scenario(ROOT / "scenarios" / "small.yaml",
                             [f"policy.allocation={policy}", "workload.train_rows=20"])
    result = run_scenario(scenario, out_dir=tmp_path)
    summary = result.summary
    assert summary["policy"]["name"] == policy
    assert summary["train_samples"] == 20
    assert sum(summary["status"].values()) == len(result.samples) == 200
    assert summary["policy_notes"]["train_samples"] == 20
    offloaded = result.samples["decision"] == "offload"
    # full images: nothing compressed for these baselines
    assert (result.samples.loc[offloaded, "bytes_sent"]
            == result.samples.loc[offloaded, "bytes_raw"]).all()
    if policy == "tabi":
        assert (result.samples["stage"] == "final").all()
        assert "temperature" in summary["policy_notes"]
    else:
        assert (result.samples.loc[offloaded, "stage"] == "capture").all()
        assert (result.samples.loc[~offloaded, "stage"] == "final").all()
