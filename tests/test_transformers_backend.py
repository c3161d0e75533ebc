"""QwenVLBackend on a tiny real Qwen2-VL checkpoint built offline (tiny_models)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from simulator.errors import InputError
from simulator.inference.tiny_models import build_tiny_clip, build_tiny_qwen2vl
from simulator.inference.transformers_backend import (
    QwenVLBackend,
    StageOutput,
    VLMResult,
)

PROMPT = "How many ships are in the harbour?"


@pytest.fixture(scope="session")
def tiny_qwen_dir(tmp_path_factory):
    return build_tiny_qwen2vl(tmp_path_factory.mktemp("tiny-qwen2vl"), seed=0)


@pytest.fixture(scope="session")
def backend(tiny_qwen_dir):
    return QwenVLBackend(tiny_qwen_dir, max_new_tokens=8)


@pytest.fixture(scope="session")
def image():
    pixels = (np.random.default_rng(0).random((40, 56, 3)) * 255).astype(np.uint8)
    return Image.fromarray(pixels)


def test_result_shapes_and_counts(backend, image):
    out = backend.generate(image, PROMPT, stage_tokens=3)
    assert isinstance(out, VLMResult) and all(isinstance(s, StageOutput) for s in out.stages)
    hidden = backend.model.config.text_config.hidden_size
    assert out.features.shape == (hidden,) and out.features.dtype == np.float32
    assert np.isfinite(out.features).all()
    assert out.output_tokens == sum(len(s.tokens) for s in out.stages) == len(out.tokens)
    # 56 x 40 px is over the 32 x 32 px budget: resized to 32 x 24 px (multiples of
    # 4 px patches x 2 merge) -> 8 x 6 patches -> 4 x 3 merged visual tokens
    assert out.visual_tokens == 12
    assert out.prompt_tokens > 0
    assert min(out.encode_s, out.prefill_s, out.decode_s) >= 0
    assert out.wall_s == pytest.approx(out.encode_s + out.prefill_s + out.decode_s)


def test_stage_boundaries_multiples_of_stage_tokens(backend, image):
    out = backend.generate(image, PROMPT, stage_tokens=3)
    ended_early = out.tokens[-1] in backend.eos_token_ids
    if not ended_early:
        assert [len(s.tokens) for s in out.stages] == [3, 3, 2]
    assert all(len(s.tokens) == 3 for s in out.stages[:-1])
    assert [s.finished for s in out.stages] == [False] * (len(out.stages) - 1) + [True]
    # each stage's text is the cumulative partial answer A_i
    assert out.stages[-1].text == out.answer
    for i, stage in enumerate(out.stages):
        upto = sum(len(s.tokens) for s in out.stages[: i + 1])
        assert stage.text == backend.tokenizer.decode(out.tokens[:upto], skip_special_tokens=True).strip()


def test_probabilities_in_unit_interval(backend, image):
    out = backend.generate(image, PROMPT, stage_tokens=3)
    probs = [p for s in out.stages for p in s.token_probs]
    assert len(probs) == out.output_tokens
    assert all(0.0 <= p <= 1.0 for p in probs)
    assert out.mean_token_prob == pytest.approx(np.mean(probs))


def test_greedy_is_deterministic(backend, image):
    a = backend.generate(image, PROMPT, stage_tokens=3)
    b = backend.generate(image, PROMPT, stage_tokens=3)
    assert a.tokens == b.tokens and a.answer == b.answer
    probs = [[p for s in r.stages for p in s.token_probs] for r in (a, b)]
    assert probs[0] == pytest.approx(probs[1])
    np.testing.assert_array_equal(a.features, b.features)


def test_staged_loop_matches_model_generate(backend, image):
    out = backend.generate(image, PROMPT, stage_tokens=3)
    inputs = backend._inputs(image, PROMPT)
    with torch.inference_mode():
        ids = backend.model.generate(**inputs, do_sample=False, max_new_tokens=8)
    assert ids[0, inputs["input_ids"].shape[1]:].tolist() == out.tokens
    # one stage (stage_tokens=None) gives the same tokens
    assert backend.generate(image, PROMPT).tokens == out.tokens


def test_vision_features_is_v_of_x(backend, image):
    v = backend.vision_features(image, PROMPT)
    np.testing.assert_allclose(v, backend.generate(image, PROMPT, stage_tokens=4).features, rtol=1e-5, atol=1e-6)


def test_max_stages_stops_early(backend, image):
    out = backend.generate(image, PROMPT, stage_tokens=3, max_stages=1)
    assert len(out.stages) == 1 and out.output_tokens <= 3
    full = backend.generate(image, PROMPT, stage_tokens=3)
    assert out.tokens == full.tokens[: out.output_tokens]
    if not out.stages[0].finished:
        assert not out.finished


def test_end_of_sequence_stops_generation(backend, image, monkeypatch):
    first = backend.generate(image, PROMPT).tokens[0]
    monkeypatch.setattr(backend, "eos_token_ids", backend.eos_token_ids | {first})
    out = backend.generate(image, PROMPT, stage_tokens=3)
    assert out.tokens == [first] and out.output_tokens == 1
    assert len(out.stages) == 1 and out.stages[0].finished


def test_device_name_and_bfloat16(tiny_qwen_dir, image):
    vlm = QwenVLBackend(tiny_qwen_dir, dtype="bf16", max_new_tokens=2, name="tiny-bf16")
    assert vlm.model.dtype == torch.bfloat16 and vlm.name == "tiny-bf16"
    assert vlm.device_name.startswith("cpu")
    out = vlm.generate(image, PROMPT)
    assert out.features.dtype == np.float32 and 1 <= out.output_tokens <= 2


# --------------------------------------------------------------------------- mistakes


def test_missing_directory(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(InputError, match=f"{missing}.*does not exist"):
        QwenVLBackend(missing)


def test_directory_without_config(tmp_path):
    with pytest.raises(InputError, match=f"{tmp_path}: no config.json"):
        QwenVLBackend(tmp_path)


def test_wrong_model_type(tmp_path_factory):
    clip = build_tiny_clip(tmp_path_factory.mktemp("tiny-clip-for-qwen"))
    with pytest.raises(InputError, match=f"{clip}: model_type is 'clip'; expected 'qwen2_vl'"):
        QwenVLBackend(clip)


def test_config_without_weights(tmp_path, tiny_qwen_dir):
    shutil.copy(tiny_qwen_dir / "config.json", tmp_path / "config.json")
    with pytest.raises(InputError, match=f"{tmp_path}: no weights"):
        QwenVLBackend(tmp_path)


def test_corrupt_weights(tmp_path, tiny_qwen_dir):
    shutil.copy(tiny_qwen_dir / "config.json", tmp_path / "config.json")
    (tmp_path / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(InputError, match=f"{tmp_path}: cannot load the model"):
        QwenVLBackend(tmp_path)


def test_broken_config(tmp_path):
    (tmp_path / "config.json").write_text("[1, 2", encoding="utf-8")
    with pytest.raises(InputError, match=f"{tmp_path}: config.json is not a JSON object"):
        QwenVLBackend(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}), encoding="utf-8")
    with pytest.raises(InputError, match="model_type is 'llama'"):
        QwenVLBackend(tmp_path)


def test_unknown_dtype(tiny_qwen_dir):
    with pytest.raises(InputError, match=f"{tiny_qwen_dir}: dtype 'float8' unknown"):
        QwenVLBackend(tiny_qwen_dir, dtype="float8")


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA present")
def test_cuda_absent(tiny_qwen_dir):
    with pytest.raises(InputError, match="CUDA is not available"):
        QwenVLBackend(tiny_qwen_dir, device="cuda")


def test_bad_arguments(backend, tiny_qwen_dir, image):
    with pytest.raises(InputError, match="stage_tokens=0"):
        backend.generate(image, PROMPT, stage_tokens=0)
    with pytest.raises(InputError, match="max_stages"):
        backend.generate(image, PROMPT, max_stages=0)
    with pytest.raises(InputError, match="expected a PIL image"):
        backend.generate(np.zeros((4, 4, 3)), PROMPT)
    with pytest.raises(InputError, match="max_new_tokens"):
        QwenVLBackend(tiny_qwen_dir, max_new_tokens=0)
