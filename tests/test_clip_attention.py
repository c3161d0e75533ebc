"""Eq. 2 text-image attention: the pure math on hand inputs, and ClipRegionScorer on a tiny CLIP."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from simulator.errors import InputError
from simulator.inference.clip_attention import (
    ClipRegionScorer,
    eq2_scores,
    minmax,
    overlap_weights,
    region_boxes,
)
from simulator.inference.tiny_models import build_tiny_clip

PROMPT = "is there a ship in the harbour?"


@pytest.fixture(scope="session")
def tiny_clip_dir(tmp_path_factory):
    return build_tiny_clip(tmp_path_factory.mktemp("tiny-clip"), seed=0)


@pytest.fixture(scope="session")
def pooled(tiny_clip_dir):
    return ClipRegionScorer(tiny_clip_dir, grid=(10, 10), mode="pooled")


@pytest.fixture(scope="session")
def image():
    pixels = (np.random.default_rng(1).random((90, 120, 3)) * 255).astype(np.uint8)
    return Image.fromarray(pixels)


# --------------------------------------------------------------------------- Eq. 2 on hand inputs


def test_region_along_prompt_direction_scores_highest():
    prompt = np.array([[3.0, 1.0, 0.0]])
    regions = np.array([[0.0, 0.0, 1.0], [3.0, 1.0, 0.0], [1.0, 1.0, 1.0], [-3.0, -1.0, 0.0]])
    k = eq2_scores(regions, prompt)
    assert k.shape == (4,)
    assert int(np.argmax(k)) == 1 and k[1] == pytest.approx(1.0)
    assert k[0] == pytest.approx(0.0) and k[3] == pytest.approx(-1.0)


def test_eq2_is_a_double_sum_of_cosines():
    rng = np.random.default_rng(0)
    regions = rng.normal(size=(5, 3, 8))  # N = 5 regions of N_V = 3 tokens
    prompt = rng.normal(size=(4, 8))      # N_E = 4 tokens
    expected = [
        sum(
            v @ e / (np.linalg.norm(v) * np.linalg.norm(e))
            for v in regions[r]
            for e in prompt
        )
        for r in range(5)
    ]
    np.testing.assert_allclose(eq2_scores(regions, prompt), expected)
    # cosines ignore lengths; one token per region is the (N, D) form
    np.testing.assert_allclose(eq2_scores(regions * 7.0, prompt * 0.1), expected)
    np.testing.assert_allclose(eq2_scores(regions[:, 0], prompt), eq2_scores(regions[:, :1], prompt))


def test_eq2_zero_vectors_and_shape_errors():
    assert eq2_scores(np.zeros((2, 3)), np.ones((1, 3))).tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="expected"):
        eq2_scores(np.ones((2, 3)), np.ones((1, 4)))


def test_minmax():
    scores = minmax([-3.0, 1.0, 5.0])
    assert scores.tolist() == [0.0, 0.5, 1.0]
    assert minmax([2.0, 2.0]).tolist() == [1.0, 1.0]


def test_region_boxes_partition_the_image():
    boxes = region_boxes(101, 37, (3, 4))
    assert len(boxes) == 12
    area = sum((r - left) * (b - t) for left, t, r, b in boxes)
    assert area == 101 * 37
    assert boxes[0][:2] == (0, 0) and boxes[-1][2:] == (101, 37)


def test_overlap_weights_spread_every_patch():
    w = overlap_weights(np.array([0, 3, 7, 10]), 10, 4)  # 3 cells over 4 patches
    np.testing.assert_allclose(w.sum(axis=0), 1.0)       # each patch fully assigned
    np.testing.assert_allclose(w.sum(axis=1), [1.2, 1.6, 1.2])  # cell widths in patches


# --------------------------------------------------------------------------- the scorer


def test_shapes_and_eq2(pooled, image):
    regions = pooled.region_features(image)
    prompt = pooled.prompt_features(PROMPT)
    dim = pooled.model.config.projection_dim
    assert regions.shape == (100, dim) and regions.dtype == np.float32
    n_tokens = len(pooled.processor.tokenizer(PROMPT).input_ids)
    assert prompt.shape == (n_tokens - 1, dim)  # start token dropped
    k = pooled.attention(image, PROMPT)
    assert k.shape == (100,)
    np.testing.assert_allclose(k, eq2_scores(regions, prompt), rtol=1e-6)
    assert np.all(np.abs(k) <= prompt.shape[0] + 1e-6)


def test_normalized_scores_in_unit_interval(pooled, image):
    k = pooled.attention(image, PROMPT, normalize=True)
    assert k.min() == 0.0 and k.max() == 1.0
    assert np.all((k >= 0) & (k <= 1))
    raw = pooled.attention(image, PROMPT)
    assert np.argmax(raw) == np.argmax(k) and np.argmin(raw) == np.argmin(k)


def test_pooled_cells_on_the_patch_grid_are_single_patches(tiny_clip_dir):
    # a 32 x 32 image, an 8 x 8 grid on 8 x 8 patches: cell r is patch r
    scorer = ClipRegionScorer(tiny_clip_dir, grid=(8, 8), mode="pooled")
    picture = Image.fromarray((np.random.default_rng(2).random((32, 32, 3)) * 255).astype(np.uint8))
    with torch.inference_mode():
        pixels = scorer._pixels([picture])
        hidden = scorer.model.vision_model(pixel_values=pixels).last_hidden_state[0, 1:]
        direct = scorer.model.visual_projection(scorer.model.vision_model.post_layernorm(hidden))
    np.testing.assert_allclose(scorer.region_features(picture), direct.numpy(), rtol=1e-5, atol=1e-6)


def test_crops_mode(tiny_clip_dir, image):
    scorer = ClipRegionScorer(tiny_clip_dir, grid=(3, 4), mode="crops", batch_size=5)
    regions = scorer.region_features(image)
    assert regions.shape == (12, scorer.model.config.projection_dim)
    # region 5 alone, encoded as its own image
    crop = image.crop(scorer.boxes(image)[5])
    with torch.inference_mode():
        alone = scorer.model.get_image_features(pixel_values=scorer._pixels([crop]))
    alone = getattr(alone, "pooler_output", alone)
    np.testing.assert_allclose(regions[5], alone[0].numpy(), rtol=1e-5, atol=1e-6)
    assert scorer.attention(image, PROMPT, normalize=True).shape == (12,)


def test_deterministic(pooled, image):
    np.testing.assert_array_equal(pooled.attention(image, PROMPT), pooled.attention(image, PROMPT))


def test_mistakes(tmp_path, tiny_clip_dir, pooled):
    with pytest.raises(InputError, match="does not exist"):
        ClipRegionScorer(tmp_path / "none")
    with pytest.raises(InputError, match=f"{tmp_path}: no config.json"):
        ClipRegionScorer(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "qwen2_vl"}), encoding="utf-8")
    with pytest.raises(InputError, match=f"{tmp_path}: model_type is 'qwen2_vl'; expected 'clip'"):
        ClipRegionScorer(tmp_path)
    with pytest.raises(InputError, match="mode='patches'"):
        ClipRegionScorer(tiny_clip_dir, mode="patches")
    with pytest.raises(InputError, match="grid"):
        ClipRegionScorer(tiny_clip_dir, grid=(0, 3))
    with pytest.raises(InputError, match="smaller than the 10 x 10 region grid"):
        pooled.region_features(Image.new("RGB", (8, 40)))
