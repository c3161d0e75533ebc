"""Compute model: tokens, roofline stage times, symmetry, precision, memory fit, registry."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from simulator.compute import (
    DEFAULT_MAX_PIXELS,
    DEVICES,
    DTYPE_BYTES,
    MODELS,
    PASS_OVERHEAD_S,
    DeviceProfile,
    Efficiency,
    get_device,
    get_model,
    list_devices,
    list_models,
    load_compute,
    unverified_constants,
)
from simulator.errors import InputError

PROCESSOR_CAP = 16384 * 28 * 28  # Qwen2-VL preprocessor_config.json max_pixels
README_CAP = 1280 * 28 * 28  # the README's recommended setting, the default here
NO_FLOOR = {"pass_overhead_s": 0}


def reference_smart_resize(height, width, factor=28, min_pixels=4 * 28 * 28,
                           max_pixels=PROCESSOR_CAP):
    """qwen-vl-utils' smart_resize (QwenLM/Qwen2-VL), transcribed line by line, scalar."""
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = math.floor(height / beta / factor) * factor
        w_bar = math.floor(width / beta / factor) * factor
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


@pytest.fixture
def xavier_2b():
    return load_compute("jetson-agx-xavier", "qwen2-vl-2b")


@pytest.fixture
def ground_7b():
    return load_compute("rtx-3090", "qwen2-vl-7b")


# --------------------------------------------------------------------------- visual tokens


@pytest.mark.parametrize(
    "width, height, at_processor_cap, at_default_cap",
    [
        (256, 256, 81, 81),  # RSVQA-LR / RESISC45: 252 x 252 -> 9 x 9
        (448, 448, 256, 256),
        (800, 800, 841, 841),  # smallest DOTA: 812 x 812 -> 29 x 29
        (1024, 768, 37 * 27, 37 * 27),  # 1036 x 756, under both caps
        (2000, 1000, 71 * 36, 50 * 25),  # 1988 x 1008, or shrunk to 1400 x 700
        (4000, 4000, 16384, 35 * 35),  # 3584 x 3584, or 980 x 980
        (20, 20, 4, 4),  # grown to the 4-token floor
    ],
)
def test_qwen_visual_tokens_known_sizes(width, height, at_processor_cap, at_default_cap):
    assert load_compute("rtx-3090", "qwen2-vl-7b",
                        max_pixels=PROCESSOR_CAP).visual_tokens(width, height) == at_processor_cap
    assert load_compute("rtx-3090", "qwen2-vl-7b").visual_tokens(width, height) == at_default_cap


@pytest.mark.parametrize("cap", [PROCESSOR_CAP, README_CAP, 256 * 28 * 28])
def test_visual_tokens_match_qwen_smart_resize(cap):
    cm = load_compute("rtx-3090", "qwen2-vl-7b", max_pixels=cap)
    rng = np.random.default_rng(7)
    w = rng.integers(28, 9000, 300)
    h = rng.integers(28, 9000, 300)
    got = cm.visual_tokens(w, h)
    for i in range(300):
        hb, wb = reference_smart_resize(int(h[i]), int(w[i]), max_pixels=cap)
        assert got[i] == (hb // 28) * (wb // 28), (w[i], h[i])
        assert got[i] * 28 * 28 <= cap


def test_default_max_pixels_is_the_readme_setting_and_is_reported(ground_7b):
    assert DEFAULT_MAX_PIXELS.value == README_CAP and DEFAULT_MAX_PIXELS.status == "READ"
    assert ground_7b.max_pixels == README_CAP and ground_7b.max_visual_tokens == 1280
    assert ground_7b.describe()["max_pixels"] == README_CAP


def test_token_cap_override_and_fixed_input_models():
    capped = load_compute("rtx-3090", "qwen2-vl-7b", model_overrides={"max_visual_tokens": 1280},
                          max_pixels=PROCESSOR_CAP)
    assert capped.visual_tokens(4000, 4000) == 35 * 35  # 980 x 980, as the research notes
    llava = load_compute("rtx-3090", "llava-1.5-7b", max_pixels=PROCESSOR_CAP)
    assert llava.visual_tokens(4000, 1000) == 576 == llava.max_visual_tokens
    assert llava.describe()["max_pixels"] is None  # fixed input: the cap does not apply
    assert load_compute("rtx-3090", "geochat-7b").visual_tokens(256, 256) == 1296


def test_max_pixels_below_the_smallest_input_is_rejected():
    with pytest.raises(InputError, match="max_pixels=1000 is below qwen2-vl-2b's smallest input"):
        load_compute("jetson-agx-xavier", "qwen2-vl-2b", max_pixels=1000)


# --------------------------------------------------------------------------- roofline and attention


def test_encode_flops_hand_count_and_compute_bound_time():
    cm = load_compute("jetson-agx-xavier", "qwen2-vl-2b", NO_FLOOR)
    # Qwen2-VL-2B ViT from its module shapes: 32 blocks of qkv, proj, fc1, fc2, 2 LayerNorms;
    # a Conv3d patch embedding; a merger MLP 5120 -> 5120 -> 1536.
    block = ((1280 * 3840 + 3840) + (1280 * 1280 + 1280)
             + (1280 * 5120 + 5120) + (5120 * 1280 + 1280))
    params = 32 * (block + 4 * 1280) + 3 * 2 * 14 * 14 * 1280 + (2 * 1280 + 5120 * 5120 + 5120
                                                                 + 5120 * 1536 + 1536)
    assert MODELS["qwen2-vl-2b"].vision_params_b == pytest.approx(params / 1e9, abs=1e-4)
    tokens = cm.visual_tokens(4000, 4000)  # 1225 tokens at the default cap
    n = 4 * tokens  # 4900 patches of 14 px
    flops = 2 * params * n + 4 * n**2 * 1280 * 32
    assert cm.encode_flops(tokens) == pytest.approx(flops, rel=1e-4)
    assert flops == pytest.approx(10.45e12, rel=1e-3)
    # fp32 on the Xavier is compute-bound: seconds = FLOPs / (eta_c x 1.41 TFLOP/s)
    assert cm.encode_s(4000, 4000) == pytest.approx(flops / (0.5 * 1.41e12), rel=1e-4)


def test_encode_grows_super_linearly_with_pixels():
    cm = load_compute("jetson-agx-xavier", "qwen2-vl-2b", NO_FLOOR, max_pixels=PROCESSOR_CAP)
    sides = np.array([560, 1120, 2240])  # 400, 1600, 6400 tokens
    tokens = cm.visual_tokens(sides, sides)
    assert tokens.tolist() == [400, 1600, 6400]
    per_token = cm.encode_s(sides, sides) / tokens
    assert np.all(np.diff(per_token) > 0)
    assert cm.encode_s(2240, 2240) > 4 * cm.encode_s(1120, 1120)
    # the attention term is what makes it so: without it the cost would be linear
    attention = 4 * (4 * tokens) ** 2 * 1280 * 32
    assert np.all(cm.encode_flops(tokens) - 2 * cm.model.vision_params_b * 1e9 * 4 * tokens
                  == pytest.approx(attention, rel=1e-9))


def test_times_are_monotone(xavier_2b):
    sides = np.array([256, 512, 800, 1600, 3000])
    assert np.all(np.diff(xavier_2b.encode_s(sides, sides)[:4]) > 0)  # 1600 and 3000 hit the cap
    assert xavier_2b.encode_s(1600, 1600) == xavier_2b.encode_s(3000, 3000)
    assert np.all(np.diff(xavier_2b.prefill_s(np.array([10, 100, 1000]), 30)) > 0)
    assert np.all(np.diff(xavier_2b.decode_s(np.array([1, 2, 50]))) > 0)
    assert xavier_2b.decode_s(0) == 0.0
    assert xavier_2b.prefill_s(0, 0) == 0.0


def test_decode_is_memory_bound_and_floored(xavier_2b, ground_7b):
    # Xavier fp32: 1.545e9 LLM params x 4 B per token at 0.685 x 136.5 GB/s
    assert xavier_2b.decode_s_per_token == pytest.approx(1.545e9 * 4 / (0.685 * 136.5e9), rel=2e-3)
    # an edge board's decode scales with the weight bytes ...
    big = load_compute("jetson-agx-xavier", "qwen2-vl-7b", {"memory_gb": 64})
    ratio = MODELS["qwen2-vl-7b"].llm_matmul_params_b / MODELS["qwen2-vl-2b"].llm_matmul_params_b
    assert big.decode_s_per_token / xavier_2b.decode_s_per_token == pytest.approx(ratio)
    # ... while on the RTX 3090 both models hit the shared per-pass floor (Qwen README, A100)
    gpu2 = load_compute("rtx-3090", "qwen2-vl-2b")
    assert gpu2.decode_s_per_token == ground_7b.decode_s_per_token == PASS_OVERHEAD_S.value
    assert 1 / ground_7b.decode_s_per_token == pytest.approx(39.0, rel=1e-3)


def test_onboard_latency_within_the_paper_figure_ranges(xavier_2b, ground_7b):
    # Fig. 11 axis ticks: onboard ~0.5-2.5 s per RSVQA sample, ~20-100 s per DOTA sample
    rsvqa = xavier_2b.inference_s(256, 256, 35, 3)
    dota = xavier_2b.inference_s(2000, 2000, 45, 26)
    assert 0.5 <= rsvqa <= 2.5
    assert 20 <= dota <= 100
    # symmetric physics: the ground 7B on a 3090 is an order of magnitude faster
    assert ground_7b.inference_s(256, 256, 35, 3) < 0.2 * rsvqa


# --------------------------------------------------------------------------- symmetry, precision


def test_one_efficiency_for_every_device():
    assert not any("effic" in f.name for f in dataclasses.fields(DeviceProfile))
    pairs = [("jetson-agx-xavier", "qwen2-vl-2b"), ("rtx-3090", "qwen2-vl-7b"),
             ("jetson-agx-orin", "llava-1.5-7b"), ("a100-40gb", "qwen2-vl-7b")]
    base = [load_compute(d, m, NO_FLOOR) for d, m in pairs]
    assert len({cm.efficiency for cm in base}) == 1
    half = [load_compute(d, m, NO_FLOOR, efficiency={"compute": cm.efficiency.compute / 2,
                                                     "bandwidth": cm.efficiency.bandwidth / 2})
            for (d, m), cm in zip(pairs, base)]
    for b, h in zip(base, half):  # halving the shared efficiency doubles every time, everywhere
        assert h.encode_s(1000, 700) == pytest.approx(2 * b.encode_s(1000, 700))
        assert h.prefill_s(500, 40) == pytest.approx(2 * b.prefill_s(500, 40))
        assert h.decode_s_per_token == pytest.approx(2 * b.decode_s_per_token)
    # a plain number sets both fractions
    both = load_compute("rtx-3090", "qwen2-vl-7b", efficiency=0.3)
    assert both.efficiency == Efficiency(0.3, 0.3)
    with pytest.raises(InputError, match="expected a fraction in \\(0, 1\\]"):
        load_compute("rtx-3090", "qwen2-vl-7b", efficiency={"compute": 0})


@pytest.mark.parametrize("device", list(DEVICES))
def test_timing_peak_is_the_one_of_the_weights_dtype(device):
    dev = DEVICES[device]
    for dtype in DTYPE_BYTES:
        if dev.peak_tflops(dtype) <= 0 or MODELS["qwen2-vl-2b"].memory_for(dtype) > dev.memory_gb:
            continue
        cm = load_compute(device, "qwen2-vl-2b", {"weights_dtype": dtype})
        assert cm.peak_tflops == getattr(dev, f"peak_tflops_{dtype}")
        assert cm.device.bytes_per_param == DTYPE_BYTES[dtype]
        assert cm.memory_gb == MODELS["qwen2-vl-2b"].memory_for(dtype)


def test_xavier_memory_and_time_share_one_precision(xavier_2b):
    assert xavier_2b.device.weights_dtype == "fp32"
    assert xavier_2b.peak_tflops == 1.41 and xavier_2b.memory_gb == 8.80
    fused = {"attention_score_copies": 0, **NO_FLOOR}  # no score traffic: all compute-bound
    fp16 = load_compute("jetson-agx-xavier", "qwen2-vl-2b", {"weights_dtype": "fp16", **fused})
    fp32 = load_compute("jetson-agx-xavier", "qwen2-vl-2b", fused)
    assert fp16.peak_tflops == 11.3 and fp16.memory_gb == 4.68
    # compute-bound encode follows the peak; memory-bound decode follows the bytes
    assert fp32.encode_s(2000, 2000) / fp16.encode_s(2000, 2000) == pytest.approx(11.3 / 1.41)
    assert fp32.decode_s_per_token == pytest.approx(2 * fp16.decode_s_per_token)
    # with eager attention, FP16 tensor cores outrun the board's DRAM: the score traffic
    # (not the FLOPs) bounds the attention, so the speed-up is smaller than the peak ratio
    eager16 = load_compute("jetson-agx-xavier", "qwen2-vl-2b",
                           {"weights_dtype": "fp16", **NO_FLOOR})
    eager32 = load_compute("jetson-agx-xavier", "qwen2-vl-2b", NO_FLOOR)
    assert eager32.encode_s(2000, 2000) / eager16.encode_s(2000, 2000) < 0.9 * 11.3 / 1.41
    with pytest.raises(InputError, match="jetson-agx-xavier has no bf16 peak"):
        load_compute("jetson-agx-xavier", "qwen2-vl-2b", {"weights_dtype": "bf16"})


# --------------------------------------------------------------------------- memory


def test_7b_does_not_fit_the_xavier_and_2b_does():
    # paper 2.1.1 / Fig. 2b: the 7B needs 24.9 GB more than the 2B and exceeds 16 GB
    with pytest.raises(InputError) as err:
        load_compute("jetson-agx-xavier", "qwen2-vl-7b")
    msg = str(err.value)
    assert "qwen2-vl-7b" in msg and "jetson-agx-xavier" in msg
    assert "33.7 GB" in msg and "16 GB" in msg and "\n" not in msg
    gap = MODELS["qwen2-vl-7b"].memory_for("fp32") - MODELS["qwen2-vl-2b"].memory_for("fp32")
    assert gap == pytest.approx(24.9)
    assert MODELS["qwen2-vl-7b"].memory_gb > DEVICES["jetson-agx-xavier"].memory_gb  # BF16 neither
    with pytest.raises(InputError, match="16.1 GB \\(fp16"):
        load_compute("jetson-agx-xavier", "qwen2-vl-7b", {"weights_dtype": "fp16"})
    with pytest.raises(InputError, match="llava-1.5-13b needs 25.6 GB"):
        load_compute("rtx-3090", "llava-1.5-13b")


def test_processor_cap_of_16384_tokens_does_not_fit_a_16_gb_xavier():
    cm = load_compute("jetson-agx-xavier", "qwen2-vl-2b", max_pixels=PROCESSOR_CAP)
    with pytest.raises(InputError) as err:
        cm.check_fits(np.array([256, 4000, 800]), np.array([256, 4000, 800]))
    msg = str(err.value)
    assert "\n" not in msg
    assert "4000x4000 px image (16384 visual tokens, 65536 ViT patches" in msg
    # 8.80 GiB fp32 weights + runtime + 16 heads x 65536^2 x 4 B = 256 GiB of scores
    assert "needs 264.8 GB" in msg and "16 GB" in msg and "16 heads x 65536^2 x 4 B" in msg
    assert "lower max_pixels to at most 2747*28*28" in msg
    assert cm.peak_memory_gb(4000, 4000) == pytest.approx(8.80 + 16 * 65536**2 * 4 / 2**30)
    assert cm.max_fitting_visual_tokens == 2747
    cm.check_fits(800, 800)  # 841 tokens fit under the same cap
    # a fused attention kernel would fit it
    fused = load_compute("jetson-agx-xavier", "qwen2-vl-2b", {"attention_score_copies": 0},
                         max_pixels=PROCESSOR_CAP)
    assert fused.check_fits(4000, 4000) == pytest.approx(8.80)


def test_default_cap_fits_every_dota_size(xavier_2b, ground_7b):
    sides = np.array([256, 800, 2000, 4000, 20000])
    assert xavier_2b.check_fits(sides, sides) <= 16
    assert ground_7b.check_fits(sides, sides) <= 24
    assert xavier_2b.check_fits(4000, 4000) == pytest.approx(8.80 + 16 * 4900**2 * 4 / 2**30)


# --------------------------------------------------------------------------- knobs and overrides


def test_time_scale_multiplies_every_time():
    one = load_compute("rtx-3090", "qwen2-vl-7b")
    three = load_compute("rtx-3090", "qwen2-vl-7b", time_scale=3.0)
    assert three.encode_s(900, 700) == pytest.approx(3 * one.encode_s(900, 700))
    assert three.prefill_s(300, 45) == pytest.approx(3 * one.prefill_s(300, 45))
    assert three.decode_s(26) == pytest.approx(3 * one.decode_s(26))
    total = one.inference_s(900, 700, 45, 26)
    assert three.inference_s(900, 700, 45, 26) == pytest.approx(3 * total)
    assert three.describe()["time_scale"] == 3.0
    with pytest.raises(InputError, match="time_scale=-1.0"):
        load_compute("rtx-3090", "qwen2-vl-7b", time_scale=-1)


@pytest.mark.parametrize("field", ["pass_overhead_s", "encode_base_s", "encode_time_scale",
                                   "prefill_time_scale", "decode_time_scale"])
def test_time_like_overrides_may_be_zero_never_negative(field):
    assert getattr(get_device("jetson-agx-xavier", {field: 0}), field) == 0.0
    for bad in (-0.1, float("nan"), float("inf")):
        with pytest.raises(InputError, match=f"{field}=.*expected a finite number >= 0"):
            get_device("jetson-agx-xavier", {field: bad})


def test_switching_a_stage_off():
    cm = load_compute("jetson-agx-xavier", "qwen2-vl-2b", {"encode_time_scale": 0,
                                                           "decode_time_scale": 0})
    assert cm.encode_s(800, 800) == 0.0 and cm.decode_s(26) == 0.0
    assert cm.inference_s(800, 800, 45, 26) == cm.prefill_s(841, 45) > 0


def test_overrides_replace_fields_and_note_the_source():
    dev = get_device("jetson-agx-xavier", {"memory_gb": 64, "bandwidth_gb_per_s": 100})
    assert dev.memory_gb == 64 and dev.bandwidth_gb_per_s == 100
    assert "overridden" in dev.source and DEVICES["jetson-agx-xavier"].memory_gb == 16
    assert any(c.status == "OVERRIDE" and c.name.endswith("memory_gb") for c in dev.constants)


@pytest.mark.parametrize(
    "overrides, pattern",
    [
        ({"bandwidth_gb_per_sec": 1}, "did you mean 'bandwidth_gb_per_s'"),
        ({"memory_gb": -1}, "memory_gb=-1; expected a finite number > 0"),
        ({"memory_gb": 0}, "memory_gb=0; expected a finite number > 0"),
        ({"bandwidth_gb_per_s": 0}, "expected a finite number > 0"),
        ({"memory_gb": "lots"}, "expected a number"),
        ({"weights_dtype": "int4"}, "weights_dtype='int4'; expected one of fp32"),
        ({"attention_score_copies": -1}, "expected a finite number >= 0"),
    ],
)
def test_bad_overrides(overrides, pattern):
    with pytest.raises(InputError, match=pattern):
        get_device("rtx-3090", overrides)


def test_unknown_names_suggest_the_closest():
    with pytest.raises(InputError,
                       match="unknown device 'jetson-xavier'.*did you mean 'jetson-agx-xavier'"):
        get_device("jetson-xavier")
    with pytest.raises(InputError, match="unknown model 'qwen2vl-7b'.*did you mean 'qwen2-vl-7b'"):
        get_model("qwen2vl-7b")
    assert get_device("RTX_3090").name == "rtx-3090"  # case and underscores tolerated


# --------------------------------------------------------------------------- sources


def test_registry_lists_and_sources():
    assert {"jetson-agx-xavier", "jetson-agx-orin", "jetson-agx-orin-32gb", "rtx-3090",
            "a100-40gb"} == set(list_devices())
    assert set(list_models()) == {"qwen2-vl-2b", "qwen2-vl-7b", "llava-1.5-7b", "llava-1.5-13b",
                                  "geochat-7b"}
    sourced_device = {"memory_gb", "peak_tflops_fp32", "peak_tflops_fp16", "peak_tflops_bf16",
                      "bandwidth_gb_per_s", "pass_overhead_s", "attention_score_copies"}
    for dev in DEVICES.values():
        names = {c.name.rsplit(".", 1)[-1] for c in dev.constants}
        assert sourced_device <= names, dev.name
    for m in MODELS.values():
        names = {c.name.rsplit(".", 1)[-1] for c in m.constants}
        assert {"params_b", "memory_gb", "vit_layers", "vit_width", "vit_heads", "llm_layers",
                "llm_width", "llm_heads"} <= names, m.name
    for spec in [*DEVICES.values(), *MODELS.values()]:
        assert all(c.source and c.status for c in spec.constants)
        assert "UNVERIFIED" in DEVICES["jetson-agx-xavier"].source


def test_unverified_constants_are_listed_with_sources():
    rows = unverified_constants()
    assert rows
    for row in rows:
        assert set(row) == {"name", "value", "unit", "status", "source"}
        assert row["status"] in ("ASSUMPTION", "UNVERIFIED")
        assert len(row["source"]) > 15, row["name"]
    names = {r["name"] for r in rows}
    assert {"shared.compute_efficiency", "shared.pass_overhead_s",
            "shared.attention_score_copies", "jetson-agx-xavier.peak_tflops_fp32"} <= names
    assert len(names) == len(rows)  # shared constants appear once, not per device
    json.dumps(rows)


def test_describe_is_json_and_names_what_the_times_rest_on(xavier_2b, ground_7b):
    on, gs = xavier_2b.describe(), ground_7b.describe()
    json.dumps([on, gs])
    assert on["weights_dtype"] == "fp32" and on["peak_tflops"] == 1.41
    assert gs["weights_dtype"] == "bf16" and gs["peak_tflops"] == 71.0
    assert on["efficiency"] == gs["efficiency"]
    assert on["max_pixels"] == gs["max_pixels"] == README_CAP
    assert "jetson-agx-xavier.bandwidth_gb_per_s" in on["unverified"]
    assert on["sources"]["device"] and on["sources"]["model"]


# --------------------------------------------------------------------------- vectorisation


def test_vectorised_equals_scalar(xavier_2b):
    rng = np.random.default_rng(0)
    w = rng.integers(64, 5000, 200)
    h = rng.integers(64, 5000, 200)
    prompt = rng.integers(0, 300, 200)
    out = rng.integers(1, 60, 200)
    tokens = xavier_2b.visual_tokens(w, h)
    assert tokens.dtype == np.int64
    total = xavier_2b.inference_s(w, h, prompt, out)
    memory = xavier_2b.peak_memory_gb(w, h)
    for i in range(0, 200, 7):
        assert tokens[i] == xavier_2b.visual_tokens(int(w[i]), int(h[i]))
        scalar = xavier_2b.inference_s(int(w[i]), int(h[i]), int(prompt[i]), int(out[i]))
        assert isinstance(scalar, float)
        assert total[i] == pytest.approx(scalar, rel=1e-12)
        assert memory[i] == pytest.approx(xavier_2b.peak_memory_gb(int(w[i]), int(h[i])))
    assert xavier_2b.check_fits(w, h) == pytest.approx(memory.max())


def test_bad_stage_inputs(ground_7b):
    with pytest.raises(InputError, match="image width_px must be a finite number >= 1, got 0"):
        ground_7b.visual_tokens(np.array([10, 0]), 10)
    with pytest.raises(InputError, match="output_tokens"):
        ground_7b.decode_s(-1)
    with pytest.raises(InputError, match="image height_px"):
        ground_7b.check_fits(10, float("nan"))


def test_stage_seconds_in_slices_equal_whole_arrays(monkeypatch):
    """A large table's seconds are computed in slices of rows: the same numbers."""
    from types import SimpleNamespace

    from simulator.compute import build
    from simulator.inference.synthetic import generate_synthetic

    table = generate_synthetic("mixed", samples=500, seed=3, train_samples=0).table
    sat, ground = load_compute("jetson-agx-xavier", "qwen2-vl-2b"), \
        load_compute("rtx-3090", "qwen2-vl-7b")
    scenario = SimpleNamespace(compute=SimpleNamespace(timing="roofline"))
    stage = np.random.default_rng(0).integers(0, 4, len(table))
    whole = (build.onboard_seconds(table, sat, stage, 2, 16), build.ground_seconds(table, ground))
    monkeypatch.setattr(build, "ROOFLINE_ROWS", 37)
    sliced = build.stage_timer(scenario, table, None, sat, ground, 2, 16)(stage)
    for a, b in zip(whole, sliced):
        np.testing.assert_array_equal(a, b)
