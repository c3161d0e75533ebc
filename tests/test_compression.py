"""Compression: Eq. 3 on hand-made scores, real byte accounting on the bundled images,
the baselines, the paper-calibrated accuracy model and the policies in a whole run."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from simulator.config import load_scenario
from simulator.engine.world import run_scenario
from simulator.errors import InputError
from simulator.inference.images import load_image_set
from simulator.inference.synthetic import generate_synthetic
from simulator.policies import multiscale as ms
from simulator.policies.compression import (
    ACCURACY_MODEL,
    REGISTRY,
    Compressed,
    NoCompression,
    apply_accuracy_model,
    get_compression,
    relative_drop,
)

ROOT = Path(__file__).resolve().parent.parent
DROP, DOWN, KEEP = ms.ACTION_DROP, ms.ACTION_DOWNSAMPLE, ms.ACTION_KEEP


@pytest.fixture(scope="module")
def spacenet():
    return load_image_set("spacenet-buildings")[0]


@pytest.fixture(scope="module")
def trace_table():
    return generate_synthetic(seed=3, task="vqa", samples=120).table


# --------------------------------------------------------------------------- Eq. 3


def test_eq3_keeps_matching_region_drops_unrelated_one():
    # Region 0 matches the prompt (high K), region 1 does not (low K).
    actions, factors = ms.eq3_actions([0.95, 0.05, 0.5], 0.35, 0.55, normalize="none")
    assert actions.tolist() == [KEEP, DROP, DOWN]
    assert factors[0] == 1.0 and np.isinf(factors[1])
    assert factors[2] == pytest.approx((0.55 - 0.35) / (0.5 - 0.35))


@pytest.mark.parametrize("normalize", ["none", "minmax"])
def test_eq3_boundaries(normalize):
    # 0 and 1 included, so min-max rescaling leaves these scores as they are.
    K = np.array([0.0, 0.2, 0.35, 0.35 + 1e-9, 0.45, 0.55 - 1e-9, 0.55, 0.8, 1.0])
    actions, factors = ms.eq3_actions(K, 0.35, 0.55, max_factor=6.0, normalize=normalize)
    assert actions.tolist() == [DROP, DROP, DOWN, DOWN, DOWN, DOWN, KEEP, KEEP, KEEP]
    assert factors[2] == 6.0                  # K = alpha: unbounded factor, capped
    assert factors[3] == 6.0                  # just above alpha: still capped
    assert factors[4] == pytest.approx(2.0)   # half-way: (beta - alpha) / (K - alpha)
    assert factors[5] == pytest.approx(1.0)   # just below beta: -> 1, continuous at beta
    assert factors[6] == 1.0                  # K = beta: kept at full resolution
    assert np.isinf(factors[:2]).all()
    # Every region gets exactly one action, and factors never fall below 1.
    assert np.isin(actions, [DROP, DOWN, KEEP]).all() and len(actions) == len(K)
    assert (factors[actions != DROP] >= 1).all()


def test_eq3_normalisation_changes_the_scale_not_the_ranking():
    raw = np.array([10.0, 12.0, 14.0, 20.0])  # Eq. 2 sums are not in [0, 1]
    none, _ = ms.eq3_actions(raw, 0.35, 0.55, normalize="none")
    assert none.tolist() == [KEEP] * 4
    scaled, factors = ms.eq3_actions(raw, 0.35, 0.55, normalize="minmax")  # -> 0, .2, .4, 1
    assert scaled.tolist() == [DROP, DROP, DOWN, KEEP]
    assert factors[2] == pytest.approx(0.2 / 0.05)
    # All-equal scores carry no ranking: everything is kept.
    assert ms.eq3_actions([3.0] * 5, 0.35, 0.55)[0].tolist() == [KEEP] * 5


def test_eq3_mistakes():
    with pytest.raises(InputError, match="alpha 0.6 is above beta 0.55"):
        ms.eq3_actions([0.1], 0.6, 0.55)
    with pytest.raises(InputError, match="max_factor is 0.5"):
        ms.eq3_actions([0.1], 0.35, 0.55, max_factor=0.5)
    with pytest.raises(InputError, match="region 1 is not finite"):
        ms.eq3_actions([0.1, float("nan")], 0.35, 0.55)
    with pytest.raises(InputError, match="normalize is 'zscore'"):
        ms.eq3_actions([0.1], 0.35, 0.55, normalize="zscore")


def test_region_grid():
    boxes = ms.region_grid(512, 384)
    assert len(boxes) == 100 and ms.grid_shape(512, 384, 100) == (10, 10)
    mask = np.zeros((384, 512), int)
    for left, top, right, bottom in boxes:
        mask[top:bottom, left:right] += 1
    assert (mask == 1).all()  # a partition of the image
    assert ms.grid_shape(800, 400, 50) == (5, 10) and ms.grid_shape(400, 800, 50) == (10, 5)
    with pytest.raises(InputError, match="smaller than the 10 x 10 region grid"):
        ms.region_grid(8, 8)
    with pytest.raises(InputError, match="regions is 0"):
        ms.region_grid(8, 8, 0)


# --------------------------------------------------------------------------- real bytes


def test_multiscale_on_a_bundled_image_sends_real_bytes(spacenet):
    image = spacenet.image
    K, label = ms.region_scores(image, "proxy")
    assert label.startswith("proxy")
    seen, sent, stats = ms.apply_multiscale(image, K, 0.35, 0.55)
    full_png = len(ms.encode(image, "PNG"))
    assert stats["full_bytes"] == full_png
    assert sent == stats["bytes_sent"] < full_png
    assert stats["kept"] + stats["downsampled"] + stats["dropped"] == 100
    assert stats["kept"] > 0 and stats["downsampled"] > 0 and stats["dropped"] > 0
    # Headers are counted: 16 B per image and 8 B per region sent.
    assert stats["header_bytes"] == 16 + 8 * (100 - stats["dropped"])
    # What the ground model sees: same size; kept regions exact (PNG), dropped ones filled.
    assert seen.size == image.size and seen.mode == image.mode
    boxes = ms.region_grid(*image.size)
    original, received = np.asarray(image), np.asarray(seen)
    for r in np.flatnonzero(stats["actions"] == KEEP)[:5]:
        left, top, right, bottom = boxes[r]
        assert (received[top:bottom, left:right] == original[top:bottom, left:right]).all()
    for r in np.flatnonzero(stats["actions"] == DROP)[:5]:
        left, top, right, bottom = boxes[r]
        assert (received[top:bottom, left:right] == 0).all()


def test_encoding_leaves_no_thread_running(spacenet, monkeypatch):
    """Tiles are encoded on a few threads that end with the call: a thread left running
    keeps the process from forking its sweep or contact-search workers later."""
    import threading

    monkeypatch.setattr(ms.os, "cpu_count", lambda: 2)  # threads even on one CPU
    before = {t.ident for t in threading.enumerate()}
    K, _ = ms.region_scores(spacenet.image, "proxy")
    _, sent, stats = ms.apply_multiscale(spacenet.image, K, 0.35, 0.55, reconstruct=False)
    assert stats["kept"] + stats["downsampled"] >= 8  # enough tiles to use the threads
    assert {t.ident for t in threading.enumerate()} <= before


def test_compression_ratio_grows_with_beta(spacenet):
    K, _ = ms.region_scores(spacenet.image, "proxy")
    full = len(ms.encode(spacenet.image, "PNG"))
    ratios, removed = [], []
    for beta in (0.4, 0.55, 0.7, 0.9):
        _, _, stats = ms.apply_multiscale(spacenet.image, K, 0.35, beta, reconstruct=False,
                                          full_bytes=full)
        ratios.append(stats["compression_ratio"])
        removed.append(stats["info_removed"])
    assert ratios == sorted(ratios) and len(set(ratios)) == len(ratios)
    assert removed == sorted(removed)


def test_jpeg_tiles_and_oracle_boxes(spacenet):
    K, label = ms.region_scores(spacenet.image, "boxes", boxes=spacenet.reference)
    assert label.startswith("oracle")
    assert K.min() == 0.0 and 0 < K.max() <= 1.0
    seen, sent, stats = ms.apply_multiscale(spacenet.image, K, 0.35, 0.55, fmt="jpeg", quality=80)
    assert stats["format"] == "JPEG" and seen.size == spacenet.image.size
    assert 0 < sent < stats["full_bytes"]
    # Every region that holds a building centre is sent (oracle attention keeps targets).
    boxes = ms.region_grid(*spacenet.image.size)
    for x1, y1, x2, y2, _ in spacenet.reference:
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        r = next(i for i, (left, top, right, bottom) in enumerate(boxes)
                 if left <= cx < right and top <= cy < bottom)
        assert K[r] > 0


def test_box_coverage_by_hand():
    grid = ms.region_grid(4, 4, regions=4)  # four 2 x 2 cells
    K = ms.box_coverage_scores([(0, 0, 3, 1, "car"), (0, 0, 1, 1, "car")], grid)
    assert K.tolist() == [0.5, 0.25, 0.0, 0.0]  # union, not sum


def test_random_mask_drops_the_ratio_and_is_reproducible(spacenet):
    image = spacenet.image
    _, sent, stats = ms.random_mask(image, 0.4, np.random.default_rng(7))
    assert stats["dropped"] == 40 and stats["kept"] == 60 and stats["downsampled"] == 0
    assert stats["info_removed"] == pytest.approx(0.4, abs=0.01)
    again = ms.random_mask(image, 0.4, np.random.default_rng(7))
    assert again[1] == sent and (again[2]["actions"] == stats["actions"]).all()
    other = ms.random_mask(image, 0.4, np.random.default_rng(8))
    assert not (other[2]["actions"] == stats["actions"]).all()
    with pytest.raises(InputError, match="ratio is 1.5"):
        ms.random_mask(image, 1.5, np.random.default_rng(0))


def test_attention_only_and_uniform_downsample(spacenet):
    image = spacenet.image
    K, _ = ms.region_scores(image, "proxy")
    _, sent, stats = ms.attention_only(image, K, 0.35)
    assert stats["downsampled"] == 0
    assert (stats["actions"] == ms.eq3_actions(K, 0.35, 0.35)[0]).all()
    _, ms_sent, _ = ms.apply_multiscale(image, K, 0.35, 0.55, reconstruct=False)
    assert ms_sent < sent < stats["full_bytes"]  # multi-scale also shrinks the middle band
    seen, small, ustats = ms.uniform_downsample(image, 2.0)
    assert seen.size == image.size and small < ustats["full_bytes"]
    assert ustats["pixels_sent_fraction"] == pytest.approx(0.25, abs=0.01)
    with pytest.raises(InputError, match="factor is 0.5"):
        ms.uniform_downsample(image, 0.5)


def test_clip_scorer_with_a_tiny_local_model(tmp_path, spacenet):
    from simulator.inference.tiny_models import build_tiny_clip

    folder = build_tiny_clip(tmp_path / "clip", seed=0)
    K, label = ms.region_scores(spacenet.image, "clip", prompt=spacenet.prompt,
                                clip_model_dir=folder)
    assert label.startswith("Eq. 2") and K.shape == (100,) and np.isfinite(K).all()
    _, _, stats = ms.apply_multiscale(spacenet.image, K, 0.35, 0.55, reconstruct=False)
    assert stats["kept"] + stats["downsampled"] + stats["dropped"] == 100
    with pytest.raises(InputError, match="needs clip_model_dir"):
        ms.region_scores(spacenet.image, "clip", prompt="x")
    with pytest.raises(InputError, match="needs the image's ground-truth boxes"):
        ms.region_scores(spacenet.image, "boxes")


# --------------------------------------------------------------------------- accuracy model


def test_accuracy_model_passes_through_the_paper_anchors():
    unguided = relative_drop([0.0, 0.4, 0.8, 1.0], guided=False)
    assert unguided == pytest.approx([0.0, 0.0692, 0.727, 1.0], abs=1e-9)
    guided = relative_drop([0.0, 0.8, 1.0], guided=True)
    assert guided == pytest.approx([0.0, 0.041, 1.0], abs=1e-9)
    f = np.linspace(0, 1, 201)
    for curve in (relative_drop(f, guided=False), relative_drop(f, guided=True)):
        assert (np.diff(curve) >= 0).all()
    inner = f[1:-1]
    assert (relative_drop(inner, guided=True) < relative_drop(inner, guided=False)).all()
    assert ACCURACY_MODEL["name"] and ACCURACY_MODEL["version"] == 1


def test_accuracy_model_flips_binary_scores_and_scales_continuous_ones():
    scores = np.array([1.0, 0.0] * 5000)
    after = apply_accuracy_model(scores, 0.3, np.random.default_rng(0))
    assert set(np.unique(after)) <= {0.0, 1.0}
    assert (after[scores == 0] == 0).all()
    assert after[scores == 1].mean() == pytest.approx(0.7, abs=0.02)
    again = apply_accuracy_model(scores, 0.3, np.random.default_rng(0))
    assert (again == after).all()
    continuous = apply_accuracy_model(np.array([0.5, 0.8, 1.0]), 0.25, np.random.default_rng(0))
    assert continuous.tolist() == pytest.approx([0.375, 0.6, 0.75])


# --------------------------------------------------------------------------- policies


def test_registry_and_none():
    assert {"none", "multi-scale", "random-mask", "attention-only",
            "uniform-downsample"} <= set(REGISTRY)
    assert isinstance(get_compression("none"), NoCompression)
    assert isinstance(get_compression("Multi_Scale"), REGISTRY["multi-scale"])


def test_multiscale_policy_on_a_replayed_trace(trace_table):
    policy = get_compression("multi-scale", {"alpha": 0.35, "beta": 0.55, "regions": 100})
    out = policy.apply(trace_table, np.random.default_rng(1))
    assert isinstance(out, Compressed) and out.modelled
    raw = trace_table["image_bytes"].to_numpy()
    assert (out.bytes_sent <= raw).all() and out.bytes_sent.sum() < raw.sum()
    assert (out.compress_s > 0).all()
    assert out.ground_score.sum() <= trace_table["ground_score"].sum()
    info = policy.describe()
    assert info["bytes"] == "bytes ratio calibrated on 24 bundled images"
    assert info["scorer"] == "proxy" and info["scorer_label"].startswith("proxy")
    assert info["accuracy_model"]["name"] == ACCURACY_MODEL["name"]
    assert info["accuracy_model"]["curve"] == "guided"
    assert 0 < info["calibrated_bytes_ratio"]["mean"] < 1
    # Reproducible with the same seed; a different seed draws differently.
    again = policy.apply(trace_table, np.random.default_rng(1))
    assert (again.bytes_sent == out.bytes_sent).all() and (again.ground_score == out.ground_score).all()
    other = policy.apply(trace_table, np.random.default_rng(2))
    assert not (other.bytes_sent == out.bytes_sent).all()


def test_baseline_policies_on_a_replayed_trace(trace_table):
    raw = trace_table["image_bytes"].to_numpy()
    rng = np.random.default_rng
    light = get_compression("random-mask", {"ratio": 0.4})
    out = light.apply(trace_table, rng(0))
    assert out.bytes_sent.mean() / raw.mean() == pytest.approx(0.6, abs=0.1)
    assert light.describe()["mean_relative_drop"] == pytest.approx(0.0692, abs=0.002)
    heavy = get_compression("random-mask", {"ratio": 0.8})
    out = heavy.apply(trace_table, rng(0))
    assert heavy.describe()["mean_relative_drop"] == pytest.approx(0.727, abs=0.005)
    assert out.ground_score.mean() < trace_table["ground_score"].mean()
    boxes = get_compression("multi-scale", {"scorer": "boxes"})
    boxes.apply(trace_table, rng(0))
    assert boxes.describe()["bytes"] == "bytes ratio calibrated on 4 bundled images"
    for method in ("attention-only", "uniform-downsample"):
        policy = get_compression(method)
        out = policy.apply(trace_table, rng(0))
        assert out.modelled and out.bytes_sent.sum() < raw.sum()


def test_samples_with_their_own_images(spacenet, trace_table):
    table = trace_table.head(3).copy()
    table["image_path"] = [str(spacenet.path.relative_to(ROOT)), str(spacenet.path), None]
    policy = get_compression("multi-scale")
    out = policy.apply(table, np.random.default_rng(0))
    K, _ = ms.region_scores(spacenet.image, "proxy")
    _, sent, _ = ms.apply_multiscale(spacenet.image, K, 0.35, 0.55, reconstruct=False)
    assert out.bytes_sent[:2].tolist() == [sent, sent]
    assert policy.describe()["bytes_measured"].startswith("bytes measured on 2 samples")
    table["image_path"] = ["no/such.png", None, None]
    with pytest.raises(InputError, match="cannot read"):
        policy.apply(table, np.random.default_rng(0))


@pytest.mark.parametrize("method, params, message", [
    ("zip", {}, "unknown method 'zip'"),
    ("multi-scale", {"alpha": 0.6, "beta": 0.5}, "alpha: 0.6 is above beta 0.5"),
    ("multi-scale", {"aplha": 0.3}, "unknown parameter 'aplha'.*did you mean 'alpha'"),
    ("multi-scale", {"scorer": "clip"}, "clip_model_dir"),
    ("multi-scale", {"scorer": "saliency"}, "scorer: 'saliency'"),
    ("multi-scale", {"format": "gif"}, "format: 'gif'; expected png, jpeg or raw"),
    ("multi-scale", {"regions": 0}, "regions: 0"),
    ("multi-scale", {"max_factor": 0.5}, "max_factor: 0.5"),
    ("random-mask", {"ratio": 1.5}, r"ratio: 1.5; expected a number in \[0.0, 1.0\]"),
    ("uniform-downsample", {"factor": "big"}, "factor: 'big' is not a finite number"),
])
def test_get_compression_mistakes(method, params, message):
    with pytest.raises(InputError, match=message):
        get_compression(method, params)


def test_parameters_of_other_methods_are_noted(caplog):
    with caplog.at_level(logging.INFO, logger="simulator.policies.compression"):
        get_compression("none", {"alpha": 0.35, "beta": 0.55, "regions": 100})
        get_compression("random-mask", {"alpha": 0.35})
    assert "alpha, beta, regions not used by compression 'none'" in caplog.text
    assert "alpha not used by compression 'random-mask'" in caplog.text


def test_whole_run_sends_fewer_bytes_with_multiscale(tmp_path):
    runs = {}
    for method in ("none", "multi-scale"):
        scenario = load_scenario(ROOT / "scenarios" / "small.yaml",
                                 ["policy.allocation=ground-only",
                                  f"policy.compression.method={method}"])
        runs[method] = run_scenario(scenario, out_dir=tmp_path / method).summary
    none, multi = runs["none"], runs["multi-scale"]
    assert multi["bytes_sent"] < none["bytes_sent"]
    assert multi["score_modelled"] is True and none["score_modelled"] is False
    assert multi["compression"]["method"] == "multi-scale"
    assert multi["compression"]["bytes"] == "bytes ratio calibrated on 24 bundled images"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_byte_counts_do_not_depend_on_reconstructing(spacenet, fmt):
    """The counts-only path (encodes on threads) sends what the reconstructing one sends."""
    K, _ = ms.region_scores(spacenet.image, "proxy")
    fast = ms.apply_multiscale(spacenet.image, K, 0.35, 0.55, fmt=fmt, reconstruct=False)
    full = ms.apply_multiscale(spacenet.image, K, 0.35, 0.55, fmt=fmt, reconstruct=True)
    assert fast[0] is None and full[0].size == spacenet.image.size
    assert fast[1] == full[1]
    for key in ("bytes_sent", "full_bytes", "pixels_sent_fraction", "kept", "dropped"):
        assert fast[2][key] == full[2][key], key
