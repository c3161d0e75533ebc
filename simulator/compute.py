"""How long a vision-language model takes on a given device, and whether it fits.

A VLM answers a query in three stages, and this module gives seconds for each:

1. **encode** -- the vision encoder (a ViT) turns the resized image into visual
   tokens.  Cost grows with the pixels the encoder actually sees.
2. **prefill** -- the language model reads the visual tokens and the prompt in
   one parallel pass.  Compute-bound: cost grows with tokens x parameters.
3. **decode** -- the language model writes the answer one token at a time.
   Memory-bandwidth-bound on edge boards (every token reads all weights), so
   cost per token grows with the weight size.

A :class:`DeviceProfile` stores seconds for *one reference model* on that
device (the one with a published or derived number); a :class:`ModelSpec`
describes a model; a :class:`ComputeModel` is a model on a device and scales
the device's numbers to the model:

* encode:  ``encode_base_s + encode_s_per_megapixel * MP_seen * vision_ratio``
  where ``MP_seen = visual_tokens * token_side_px**2 / 1e6`` (the resized image)
  and ``vision_ratio`` = vision-encoder parameters / the reference model's;
* prefill: ``(visual_tokens + prompt_tokens) * prefill_s_per_token * llm_ratio``;
* decode:  ``output_tokens * max(min_decode_s_per_token,
  decode_s_per_token * llm_ratio)``;

with ``llm_ratio`` = language-model parameters (total minus vision encoder) /
the reference model's.  Scaling decode with parameters is right where decoding
is memory-bandwidth bound (edge boards).  On data-centre GPUs running eager
HuggingFace decoding a per-token framework overhead dominates for small models
(the Qwen2-VL README measures the 2B decoding *no faster* than the 7B on an
A100), which ``min_decode_s_per_token`` captures.  The ViT's attention is
quadratic in patches; the linear-in-pixels encode rule ignores that (an
under-estimate for very large DOTA images).

Every number carries a ``source``: READ (from a primary source), DERIVED
(arithmetic shown), ASSUMPTION or UNVERIFIED.  The arithmetic is in the
registry entries below; ``/work/shared/research/ml-baselines.md`` (sections 4
and 9) is the research note they come from.

Memory and the paper's Fig. 2b ("paper mode")
--------------------------------------------
The paper (section 2.1.1) says the 7B consumes on average **24.9 GB more** than
the 2B and **exceeds the satellite's 16 GB** Jetson AGX Xavier.  Measured BF16
footprints (Qwen2-VL README, A100: 4.68 vs 16.07 GB) differ by only 11.4 GB;
24.9 GB matches **FP32** weights (2 more bytes per parameter), and the Xavier's
Volta GPU has no BF16.  So each device declares the ``weights_dtype`` it runs:
the Xavier runs ``fp32`` ("paper mode"): 2B = 4.68 + 2 x 2.21e9 B = 8.80 GB,
7B = 8.80 + 24.9 = 33.70 GB, so the 2B fits and the 7B does not.  (In BF16 the
7B would need 16.07 GB -- still over 16 GB, but only just.)  Ampere devices run
``bf16``.  GB here are the GiB PyTorch reports, as in the Qwen README (the 7B's
16.58e9 bytes of BF16 weights are 15.44 GiB, plus 0.63 GiB runtime = 16.07).

The Xavier's *timing* constants follow research section 9, which assumes
FP16-class tensor-core kernels; real FP32 on Volta (1.4 TFLOPS, no tensor
cores) would be about 3x slower in encode and prefill.  Override
``encode_s_per_megapixel`` / ``prefill_s_per_token`` to model that.

Example::

    >>> cm = load_compute("jetson-agx-xavier", "qwen2-vl-2b")
    >>> cm.visual_tokens(256, 256)        # 256 px -> 252 px = 9 x 28 px per side
    81
    >>> round(cm.encode_s(256, 256) + cm.prefill_s(81, 35), 2)   # research: 0.2-0.5 s
    0.31
    >>> round(1 / cm.decode_s_per_token, 1)                       # tokens per second
    8.0
    >>> load_compute("jetson-agx-xavier", "qwen2-vl-7b")
    Traceback (most recent call last):
    ...
    simulator.errors.InputError: model qwen2-vl-7b needs 33.7 GB (fp32 weights + runtime) but device jetson-agx-xavier has 16 GB; pick a smaller model (e.g. qwen2-vl-2b), a larger device, or override memory_gb / weights_dtype
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from simulator.errors import InputError

log = logging.getLogger(__name__)

#: Bytes per GiB; model memory is reported in GiB, like torch does.
GIB = 2**30
#: Runtime memory (activations, CUDA context) on top of BF16 weights, from the
#: Qwen2-VL README: 2B 4.68 - 4.12 = 0.56 GiB, 7B 16.07 - 15.44 = 0.63 GiB.
RUNTIME_GIB = 0.6
#: Weight data types a device may run, and their bytes per parameter.
DTYPE_BYTES = {"fp32": 4, "fp16": 2, "bf16": 2}


# --------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class ModelSpec:
    """A vision-language model: size, memory and visual tokenisation.

    ``visual_tokens_per_megapixel`` fixes the pixels per visual token
    (``token_side_px = sqrt(1e6 / visual_tokens_per_megapixel)``: 28 px for
    Qwen2-VL, 14 px for CLIP-based LLaVA).  Models with a fixed input size set
    ``min_visual_tokens == max_visual_tokens``.
    """

    name: str
    params_b: float  #: all parameters, billions
    memory_gb: float  #: BF16/FP16 weights + runtime, GiB
    visual_tokens_per_megapixel: float
    max_visual_tokens: int
    min_visual_tokens: int
    source: str
    vision_params_b: float = 0.0  #: vision encoder parameters, billions
    memory_fp32_gb: float = 0.0  #: FP32 weights + runtime, GiB (0: derive)

    @property
    def llm_params_b(self) -> float:
        """Language-model parameters (total minus vision encoder), billions."""
        return self.params_b - self.vision_params_b

    @property
    def token_side_px(self) -> float:
        """Side of the square of input pixels one visual token covers."""
        return round(math.sqrt(1e6 / self.visual_tokens_per_megapixel), 6)

    def memory_for(self, dtype: str) -> float:
        """GiB needed with weights in ``dtype`` (``fp32``, ``fp16`` or ``bf16``).

        >>> get_model("qwen2-vl-2b").memory_for("bf16")
        4.68
        """
        if dtype == "fp32":
            if self.memory_fp32_gb:
                return self.memory_fp32_gb
            return self.memory_gb + 2 * self.params_b * 1e9 / GIB
        return self.memory_gb


@dataclass(frozen=True)
class DeviceProfile:
    """One accelerator: memory and seconds for its ``reference_model``.

    The per-token and per-megapixel times are for ``reference_model`` (the
    model the numbers were measured or derived for); :class:`ComputeModel`
    scales them to other models.
    """

    name: str
    memory_gb: float
    encode_s_per_megapixel: float  #: vision encoder, per megapixel seen
    encode_base_s: float  #: fixed cost per image (pre-processing, launches)
    prefill_s_per_token: float
    decode_s_per_token: float
    source: str
    reference_model: str = "qwen2-vl-2b"
    min_decode_s_per_token: float = 0.0  #: per-token framework overhead floor
    weights_dtype: str = "bf16"


# --------------------------------------------------------------------------- registry

_QWEN_TPM = 1e6 / 28**2  # one token per 28x28 px after the 2x2 merge of 14 px patches
_CLIP14_TPM = 1e6 / 14**2  # CLIP ViT-L/14: one token per 14x14 px patch

_QWEN_TOKENS_SRC = (
    "tokens: qwen-vl-utils smart_resize (READ, QwenLM/Qwen2-VL): sides rounded to 28 px, "
    "pixels clamped to [4, 16384] x 28^2"
)

MODELS: dict[str, ModelSpec] = {
    m.name: m
    for m in [
        ModelSpec(
            name="qwen2-vl-2b",
            params_b=2.21,
            memory_gb=4.68,
            memory_fp32_gb=8.80,
            vision_params_b=0.675,
            visual_tokens_per_megapixel=_QWEN_TPM,
            min_visual_tokens=4,
            max_visual_tokens=16384,
            source=(
                "params 2.21 B: HF model size (READ); memory 4.68 GB: Qwen2-VL README speed table, "
                "A100 BF16, input length 1 (READ); fp32 8.80 = 4.68 + 2 x 2.21e9 B (DERIVED); "
                "vision encoder 675 M (UNVERIFIED); " + _QWEN_TOKENS_SRC
            ),
        ),
        ModelSpec(
            name="qwen2-vl-7b",
            params_b=8.29,
            memory_gb=16.07,
            memory_fp32_gb=8.80 + 24.9,
            vision_params_b=0.675,
            visual_tokens_per_megapixel=_QWEN_TPM,
            min_visual_tokens=4,
            max_visual_tokens=16384,
            source=(
                "params 8.29 B: HF model size (READ); memory 16.07 GB: Qwen2-VL README, A100 BF16 "
                "(READ); fp32 33.70 = 2B's 8.80 + 24.9 GB, the paper's Fig. 2b gap (paper mode; "
                "pure arithmetic would give 31.51); " + _QWEN_TOKENS_SRC
            ),
        ),
        ModelSpec(
            name="llava-1.5-7b",
            params_b=7.06,
            memory_gb=round(7.06e9 * 2 / GIB + RUNTIME_GIB, 2),
            vision_params_b=0.304,
            visual_tokens_per_megapixel=_CLIP14_TPM,
            min_visual_tokens=576,
            max_visual_tokens=576,
            source=(
                "params 7.06 B: HF safetensors model size (READ); memory = 2 B/param + 0.6 GiB "
                "runtime (DERIVED, runtime as Qwen's); CLIP ViT-L/14-336 encoder, 304 M params "
                "(UNVERIFIED); fixed 336 px input -> 24 x 24 = 576 visual tokens"
            ),
        ),
        ModelSpec(
            name="llava-1.5-13b",
            params_b=13.4,
            memory_gb=round(13.4e9 * 2 / GIB + RUNTIME_GIB, 2),
            vision_params_b=0.304,
            visual_tokens_per_megapixel=_CLIP14_TPM,
            min_visual_tokens=576,
            max_visual_tokens=576,
            source=(
                "params 13.4 B: HF safetensors model size (READ); memory = 2 B/param + 0.6 GiB "
                "(DERIVED); CLIP ViT-L/14-336, fixed 576 visual tokens"
            ),
        ),
        ModelSpec(
            name="geochat-7b",
            params_b=7.06,
            memory_gb=round(7.06e9 * 2 / GIB + RUNTIME_GIB, 2),
            vision_params_b=0.304,
            visual_tokens_per_megapixel=_CLIP14_TPM,
            min_visual_tokens=1296,
            max_visual_tokens=1296,
            source=(
                "GeoChat (Kuckreja et al., CVPR 2024): LLaVA-1.5-7B architecture with LoRA-tuned "
                "Vicuna-v1.5-7B, so params as llava-1.5-7b (DERIVED); CLIP position encoding "
                "interpolated to 504 x 504 px (READ via a secondary summary) -> 36 x 36 = 1296 tokens"
            ),
        ),
    ]
}

_XAVIER_EFF_TFLOPS = 3.0  # ASSUMPTION: 27 % of the 11.3 TFLOPS FP16 tensor-core peak
_VIT_TFLOP_PER_MP = 2 * 0.675 * 1e6 / 14**2 / 1e3  # 2 FLOP/param/patch, 196 px^2 per patch: 6.89
_LLM2B_GFLOP_PER_TOKEN = 2 * (2.21 - 0.675)  # 3.07
_LLM7B_GFLOP_PER_TOKEN = 2 * (8.29 - 0.675)  # 15.23
_RTX3090_EFF_TFLOPS = 25.0  # ASSUMPTION: 70 % of 35.6 TFLOPS dense BF16 (FP32 accumulate)
_A100_EFF_TFLOPS = 125.0  # ASSUMPTION: 40 % of 312 TFLOPS dense BF16
_HF_OVERHEAD_S_PER_TOKEN = 1 / 39.0  # Qwen README A100: 7B 39.0 tok/s, 2B 35.3 (not faster)

DEVICES: dict[str, DeviceProfile] = {
    d.name: d
    for d in [
        DeviceProfile(
            name="jetson-agx-xavier",
            memory_gb=16.0,
            weights_dtype="fp32",
            reference_model="qwen2-vl-2b",
            encode_base_s=0.05,
            encode_s_per_megapixel=round(_VIT_TFLOP_PER_MP / _XAVIER_EFF_TFLOPS, 3),
            prefill_s_per_token=round(_LLM2B_GFLOP_PER_TOKEN / (_XAVIER_EFF_TFLOPS * 1e3), 5),
            decode_s_per_token=1 / 8.0,
            min_decode_s_per_token=0.03,
            source=(
                "the paper's onboard board, 16 GB (paper 4.1.1, READ); fp32 weights = paper mode "
                "(Fig. 2b 24.9 GB gap; Volta has no BF16); decode 8 tok/s for the 2B (research 9, "
                "UNVERIFIED; bandwidth bound 137 GB/s -> <= 31 tok/s FP16); encode 2.30 s/MP = "
                "6.89 TFLOP/MP (675 M ViT) / 3 TFLOPS effective and prefill 1.02 ms/token = "
                "3.07 GFLOP / 3 TFLOPS (DERIVED; 3 TFLOPS = 27 % of the 11.3 TFLOPS FP16 peak, "
                "ASSUMPTION) -> 0.31 s encode+prefill for 256 px, research 9 says 0.2-0.5 s; "
                "encode base 0.05 s and decode floor 0.03 s/token ASSUMPTION"
            ),
        ),
        DeviceProfile(
            name="jetson-agx-orin",
            memory_gb=64.0,
            weights_dtype="bf16",
            reference_model="qwen2-vl-2b",
            encode_base_s=0.03,
            encode_s_per_megapixel=round(_VIT_TFLOP_PER_MP / (3 * _XAVIER_EFF_TFLOPS), 3),
            prefill_s_per_token=round(_LLM2B_GFLOP_PER_TOKEN / (3 * _XAVIER_EFF_TFLOPS * 1e3), 5),
            decode_s_per_token=round((1 / 8.0) * 136.5 / 204.8, 4),
            min_decode_s_per_token=0.02,
            source=(
                "Jetson AGX Orin 64 GB (Kodan's board); decode = Xavier's 0.125 s x 136.5/204.8 GB/s "
                "memory-bandwidth ratio = 12 tok/s (DERIVED from an UNVERIFIED number; NVIDIA: 3B "
                "FP16 <= 33 tok/s speed of light, TensorRT-Edge-LLM#60); encode and prefill = "
                "Xavier / 3 (ASSUMPTION: 85 vs 22.6 dense INT8 GPU TOPS, ratio 3.8, taken as 3)"
            ),
        ),
        DeviceProfile(
            name="jetson-agx-orin-32gb",
            memory_gb=32.0,
            weights_dtype="bf16",
            reference_model="qwen2-vl-2b",
            encode_base_s=0.03,
            encode_s_per_megapixel=round(_VIT_TFLOP_PER_MP / (3 * 0.63 * _XAVIER_EFF_TFLOPS), 3),
            prefill_s_per_token=round(
                _LLM2B_GFLOP_PER_TOKEN / (3 * 0.63 * _XAVIER_EFF_TFLOPS * 1e3), 5
            ),
            decode_s_per_token=round((1 / 8.0) * 136.5 / 204.8, 4),
            min_decode_s_per_token=0.02,
            source=(
                "Jetson AGX Orin 32 GB: same 204.8 GB/s as the 64 GB (decode as jetson-agx-orin); "
                "GPU 1792 cores / 56 tensor cores at 930 MHz vs 2048 / 64 at 1.3 GHz -> 0.63x "
                "the 64 GB's compute (DERIVED from spec sheets, UNVERIFIED here)"
            ),
        ),
        DeviceProfile(
            name="rtx-3090",
            memory_gb=24.0,
            weights_dtype="bf16",
            reference_model="qwen2-vl-7b",
            encode_base_s=0.02,
            encode_s_per_megapixel=round(_VIT_TFLOP_PER_MP / _RTX3090_EFF_TFLOPS, 4),
            prefill_s_per_token=round(_LLM7B_GFLOP_PER_TOKEN / (_RTX3090_EFF_TFLOPS * 1e3), 6),
            decode_s_per_token=1 / 30.0,
            min_decode_s_per_token=_HF_OVERHEAD_S_PER_TOKEN,
            source=(
                "the paper's ground GPUs (8x RTX 3090, 24 GB; paper 4.1.1, READ); 7B decode ~30 tok/s "
                "(research 9: A100 39 tok/s, 3090 has about half its bandwidth, DERIVED); prefill "
                "0.61 ms/token = 15.2 GFLOP / 25 TFLOPS effective, encode 0.28 s/MP = 6.89 / 25 "
                "(DERIVED; 25 TFLOPS = 70 % of the 35.6 TFLOPS dense BF16 peak, ASSUMPTION; research "
                "9's 'prefill < 0.1 s' assumed the FP16-accumulate peak); decode floor 1/39 s = "
                "HF per-token overhead, from the Qwen README A100 table where the 2B is not faster"
            ),
        ),
        DeviceProfile(
            name="a100-40gb",
            memory_gb=40.0,
            weights_dtype="bf16",
            reference_model="qwen2-vl-7b",
            encode_base_s=0.015,
            encode_s_per_megapixel=round(_VIT_TFLOP_PER_MP / _A100_EFF_TFLOPS, 4),
            prefill_s_per_token=round(_LLM7B_GFLOP_PER_TOKEN / (_A100_EFF_TFLOPS * 1e3), 6),
            decode_s_per_token=_HF_OVERHEAD_S_PER_TOKEN,
            min_decode_s_per_token=_HF_OVERHEAD_S_PER_TOKEN,
            source=(
                "decode 39.0 tok/s for the 7B: Qwen2-VL README, A100 80 GB, transformers BF16 "
                "(READ; the 2B measured 35.3 tok/s, here 39 via the overhead floor); 40 GB card "
                "assumed as fast (decoding is overhead-bound); encode/prefill: 125 TFLOPS "
                "effective = 40 % of 312 TFLOPS BF16 (ASSUMPTION)"
            ),
        ),
    ]
}


# --------------------------------------------------------------------------- lookup


def _canonical(name: str) -> str:
    return str(name).strip().lower().replace("_", "-")


def _lookup(kind: str, name: str, table: Mapping[str, Any]) -> Any:
    key = _canonical(name)
    if key in table:
        return table[key]
    close = difflib.get_close_matches(key, list(table), n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise InputError(f"unknown {kind} {name!r}; expected one of {', '.join(table)}{hint}")


def list_devices() -> list[str]:
    """Names of the registered devices.

    >>> list_devices()[:2]
    ['jetson-agx-xavier', 'jetson-agx-orin']
    """
    return list(DEVICES)


def list_models() -> list[str]:
    """Names of the registered models.

    >>> list_models()
    ['qwen2-vl-2b', 'qwen2-vl-7b', 'llava-1.5-7b', 'llava-1.5-13b', 'geochat-7b']
    """
    return list(MODELS)


#: Numeric fields an override may set to zero (all others must be positive).
_MAY_BE_ZERO = {"encode_base_s", "min_decode_s_per_token", "vision_params_b", "memory_fp32_gb"}


def _apply_overrides(kind: str, spec: Any, overrides: Mapping[str, Any] | None) -> Any:
    """A copy of the frozen dataclass ``spec`` with fields replaced by name."""
    if not overrides:
        return spec
    fields = {f.name: f for f in dataclasses.fields(spec) if f.name not in ("name", "source")}
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise InputError(
                f"unknown {kind} field {key!r} in overrides for {spec.name}; "
                f"expected one of {', '.join(fields)}{hint}"
            )
        default = getattr(spec, key)
        if isinstance(default, str):
            if key == "weights_dtype" and value not in DTYPE_BYTES:
                raise InputError(
                    f"{kind} override weights_dtype={value!r}; expected one of {', '.join(DTYPE_BYTES)}"
                )
            changes[key] = str(value)
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InputError(f"{kind} override {key}={value!r}; expected a number") from None
        floor_ok = key in _MAY_BE_ZERO
        if not math.isfinite(number) or number < 0 or (number == 0 and not floor_ok):
            expected = ">= 0" if floor_ok else "> 0"
            raise InputError(f"{kind} override {key}={value!r}; expected a finite number {expected}")
        if isinstance(default, int):
            if number != int(number):
                raise InputError(f"{kind} override {key}={value!r}; expected a whole number")
            number = int(number)
        changes[key] = number
    note = ", ".join(f"{k}={v}" for k, v in changes.items())
    log.debug("%s %s overridden: %s", kind, spec.name, note)
    return dataclasses.replace(spec, **changes, source=f"{spec.source}; overridden: {note}")


def get_device(name: str, overrides: Mapping[str, Any] | None = None) -> DeviceProfile:
    """The registered device ``name``, with ``overrides`` replacing fields by name.

    >>> get_device("rtx-3090", {"decode_s_per_token": 0.05}).decode_s_per_token
    0.05
    >>> get_device("rtx-3090", {"decode_s_per_tok": 0.05})
    Traceback (most recent call last):
    ...
    simulator.errors.InputError: unknown device field 'decode_s_per_tok' in overrides for rtx-3090; expected one of memory_gb, encode_s_per_megapixel, encode_base_s, prefill_s_per_token, decode_s_per_token, reference_model, min_decode_s_per_token, weights_dtype; did you mean 'decode_s_per_token'?
    """
    device = _lookup("device", name, DEVICES)
    device = _apply_overrides("device", device, overrides)
    _lookup("model", device.reference_model, MODELS)  # a typo in an override fails here
    return device


def get_model(name: str, overrides: Mapping[str, Any] | None = None) -> ModelSpec:
    """The registered model ``name``, with ``overrides`` replacing fields by name.

    >>> get_model("qwen2-vl-7b", {"max_visual_tokens": 1280}).max_visual_tokens
    1280
    """
    return _apply_overrides("model", _lookup("model", name, MODELS), overrides)


def load_compute(
    device: str,
    model: str,
    overrides: Mapping[str, Any] | None = None,
    model_overrides: Mapping[str, Any] | None = None,
) -> ComputeModel:
    """``model`` on ``device``; ``overrides`` apply to the device, ``model_overrides`` to the model.

    Raises :class:`InputError` when the model does not fit the device's memory.
    """
    return ComputeModel(get_device(device, overrides), get_model(model, model_overrides))


# --------------------------------------------------------------------------- model on device


def _result(value: np.ndarray, scalar: bool, kind: type = float) -> Any:
    return kind(value) if scalar else value


def _as_array(name: str, value: Any, minimum: float) -> tuple[np.ndarray, bool]:
    arr = np.asarray(value, dtype=float)
    if arr.size and (not np.all(np.isfinite(arr)) or np.any(arr < minimum)):
        bad = arr[~(np.isfinite(arr) & (arr >= minimum))].flat[0]
        raise InputError(f"{name} must be a finite number >= {minimum:g}, got {bad:g}")
    return arr, arr.ndim == 0


@dataclass(frozen=True)
class ComputeModel:
    """A model on a device: seconds per stage, scalar or vectorised.

    Every method takes scalars (and returns a Python number) or NumPy arrays
    (and returns an array), so the engine can precompute per-sample times::

        >>> cm = load_compute("rtx-3090", "qwen2-vl-7b")
        >>> cm.visual_tokens(np.array([256, 448, 800]), np.array([256, 448, 800])).tolist()
        [81, 256, 841]
    """

    device: DeviceProfile
    model: ModelSpec

    def __post_init__(self) -> None:
        need = self.memory_gb
        dev = self.device
        if need > dev.memory_gb:
            fitting = [
                m for m in MODELS.values() if m.memory_for(dev.weights_dtype) <= dev.memory_gb
            ]
            best = max(fitting, key=lambda m: m.params_b).name if fitting else None
            smaller = f"a smaller model (e.g. {best})" if best else "a smaller model"
            raise InputError(
                f"model {self.model.name} needs {need:.1f} GB ({dev.weights_dtype} weights "
                f"+ runtime) but device {dev.name} has {dev.memory_gb:g} GB; "
                f"pick {smaller}, a larger device, or override memory_gb / weights_dtype"
            )

    # ---- scaling factors

    @property
    def memory_gb(self) -> float:
        """GiB the model needs in the device's weight data type."""
        return self.model.memory_for(self.device.weights_dtype)

    @property
    def reference(self) -> ModelSpec:
        """The model the device's numbers are for."""
        return get_model(self.device.reference_model)

    @property
    def llm_ratio(self) -> float:
        """Language-model size relative to the device's reference model."""
        return self.model.llm_params_b / self.reference.llm_params_b

    @property
    def vision_ratio(self) -> float:
        """Vision-encoder size relative to the device's reference model."""
        ref = self.reference.vision_params_b
        return self.model.vision_params_b / ref if ref else 1.0

    @property
    def decode_s_per_token(self) -> float:
        """Seconds per generated token for this model on this device."""
        scaled = self.device.decode_s_per_token * self.llm_ratio
        return max(self.device.min_decode_s_per_token, scaled)

    # ---- stages

    def visual_tokens(self, width_px: Any, height_px: Any) -> Any:
        """Visual tokens for an image of ``width_px`` x ``height_px``.

        Follows Qwen2-VL's ``smart_resize``: each side is rounded to a multiple
        of ``token_side_px`` (28 px); if the pixel count then exceeds
        ``max_visual_tokens`` tokens, both sides shrink by the same factor
        (rounded down), if below ``min_visual_tokens`` they grow (rounded up).
        The count is finally clipped to ``[min_visual_tokens,
        max_visual_tokens]``, which makes fixed-input models (LLaVA: 576)
        constant.

        >>> cm = load_compute("rtx-3090", "qwen2-vl-7b")
        >>> cm.visual_tokens(4000, 4000), cm.visual_tokens(20, 20)
        (16384, 4)
        >>> load_compute("rtx-3090", "llava-1.5-7b").visual_tokens(4000, 3000)
        576
        """
        w, scalar = _as_array("image width_px", width_px, 1)
        h, _ = _as_array("image height_px", height_px, 1)
        w, h = np.broadcast_arrays(w, h)
        m = self.model
        f = m.token_side_px
        max_px = m.max_visual_tokens * f * f
        min_px = m.min_visual_tokens * f * f
        h_bar = np.maximum(f, np.round(h / f) * f)
        w_bar = np.maximum(f, np.round(w / f) * f)
        big = h_bar * w_bar > max_px
        small = ~big & (h_bar * w_bar < min_px)
        with np.errstate(divide="ignore", invalid="ignore"):
            beta = np.sqrt(h * w / max_px)
            h_bar = np.where(big, np.floor(h / beta / f) * f, h_bar)
            w_bar = np.where(big, np.floor(w / beta / f) * f, w_bar)
            beta = np.sqrt(min_px / (h * w))
            h_bar = np.where(small, np.ceil(h * beta / f) * f, h_bar)
            w_bar = np.where(small, np.ceil(w * beta / f) * f, w_bar)
        tokens = np.rint(h_bar / f) * np.rint(w_bar / f)
        tokens = np.clip(tokens, m.min_visual_tokens, m.max_visual_tokens).astype(np.int64)
        return _result(tokens, scalar, int)

    def encoder_megapixels(self, width_px: Any, height_px: Any) -> Any:
        """Megapixels the vision encoder processes after resizing."""
        tokens = np.asarray(self.visual_tokens(width_px, height_px), dtype=float)
        mp = tokens * self.model.token_side_px**2 / 1e6
        return _result(mp, mp.ndim == 0)

    def encode_s(self, width_px: Any, height_px: Any) -> Any:
        """Seconds for the vision encoder on one image.

        >>> cm = load_compute("jetson-agx-xavier", "qwen2-vl-2b")
        >>> cm.encode_s(256, 256) < cm.encode_s(1024, 1024)
        True
        """
        mp = np.asarray(self.encoder_megapixels(width_px, height_px), dtype=float)
        s = self.device.encode_base_s + self.device.encode_s_per_megapixel * mp * self.vision_ratio
        return _result(s, s.ndim == 0)

    def prefill_s(self, visual_tokens: Any, prompt_tokens: Any) -> Any:
        """Seconds for the prefill pass over visual plus prompt tokens."""
        v, scalar_v = _as_array("visual_tokens", visual_tokens, 0)
        p, scalar_p = _as_array("prompt_tokens", prompt_tokens, 0)
        s = (v + p) * self.device.prefill_s_per_token * self.llm_ratio
        return _result(s, scalar_v and scalar_p)

    def decode_s(self, output_tokens: Any) -> Any:
        """Seconds to generate ``output_tokens`` tokens."""
        n, scalar = _as_array("output_tokens", output_tokens, 0)
        s = n * self.decode_s_per_token
        return _result(s, scalar)

    def inference_s(
        self, width_px: Any, height_px: Any, prompt_tokens: Any, output_tokens: Any
    ) -> Any:
        """Encode + prefill + decode for one query (vectorised like the stages)."""
        tokens = self.visual_tokens(width_px, height_px)
        return (
            self.encode_s(width_px, height_px)
            + self.prefill_s(tokens, prompt_tokens)
            + self.decode_s(output_tokens)
        )
