"""A model on a device: seconds per stage (roofline), memory fit, a description.

:func:`load_compute` pairs a :class:`~.specs.DeviceProfile` with a
:class:`~.specs.ModelSpec` under the shared :class:`~.specs.Efficiency`, a
``max_pixels`` cap on the image the processor feeds the ViT, and a plain
``time_scale``.  The stage formulas (``n`` = ViT patches = 4 per Qwen2-VL
token, ``T`` = visual + prompt tokens, ``b`` = bytes per parameter of the
device's ``weights_dtype``, ``F`` = eta_c x the dtype's peak FLOP/s, ``B`` =
eta_b x the DRAM bandwidth, ``floor`` = the per-pass framework time)::

    encode  = max(floor, rl(2 P_vit n, P_vit b) + rl(4 n^2 w_vit L_vit, score traffic))
    prefill = max(floor, rl(2 P_llm T, P_llm b) + rl(4 T^2 w_llm L_llm, score traffic))
    decode  = output_tokens * max(floor, rl(2 P_llm, P_llm b))
    rl(flops, bytes) = max(flops / F, bytes / B)

every one times ``time_scale`` (and the device's per-stage ``*_time_scale``).

>>> cm = load_compute("jetson-agx-xavier", "qwen2-vl-2b")
>>> cm.visual_tokens(256, 256)                  # 256 px -> 252 px = 9 x 28 px per side
81
>>> round(cm.encode_s(256, 256), 3), round(cm.prefill_s(81, 35), 3)
(0.636, 0.512)
>>> round(1 / cm.decode_s_per_token, 1)           # tokens per second: 6.18 GB of fp32 weights
15.1
>>> load_compute("jetson-agx-xavier", "qwen2-vl-7b")
Traceback (most recent call last):
...
simulator.errors.InputError: model qwen2-vl-7b needs 33.7 GB (fp32 weights + runtime) but device jetson-agx-xavier has 16 GB; pick a smaller model (e.g. qwen2-vl-2b), a larger device, or override memory_gb / weights_dtype
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from simulator.errors import InputError

from . import roofline as rl
from .constants import (ATTENTION_SCORE_PASSES, BANDWIDTH_EFFICIENCY, COMPUTE_EFFICIENCY,
                        DEFAULT_MAX_PIXELS, GIB, UNCHECKED)
from .models import MODELS
from .registry import get_device, get_model
from .specs import DeviceProfile, Efficiency, ModelSpec
from .tokens import resized_tokens

log = logging.getLogger(__name__)


def _result(value: np.ndarray, scalar: bool, kind: type = float) -> Any:
    return kind(value) if scalar else value


def _as_array(name: str, value: Any, minimum: float) -> tuple[np.ndarray, bool]:
    arr = np.asarray(value, dtype=float)
    if arr.size and (not np.all(np.isfinite(arr)) or np.any(arr < minimum)):
        bad = arr[~(np.isfinite(arr) & (arr >= minimum))].flat[0]
        raise InputError(f"{name} must be a finite number >= {minimum:g}, got {bad:g}")
    return arr, arr.ndim == 0


def _pixels_text(pixels: float, side: float) -> str:
    """``1280*28*28`` when ``pixels`` is a whole number of tokens, else the number."""
    tokens = pixels / side**2
    if side and abs(tokens - round(tokens)) < 1e-9:
        return f"{int(round(tokens))}*{side:g}*{side:g}"
    return f"{pixels:g}"


@dataclass(frozen=True)
class ComputeModel:
    """A model on a device: seconds per stage, scalar or vectorised.

    Every method takes scalars (and returns a Python number) or NumPy arrays
    (and returns an array), so the engine can precompute per-sample times::

        >>> cm = load_compute("rtx-3090", "qwen2-vl-7b")
        >>> sides = np.array([256, 448, 800, 4000])
        >>> cm.visual_tokens(sides, sides).tolist()
        [81, 256, 841, 1225]
    """

    device: DeviceProfile
    model: ModelSpec
    max_pixels: int = DEFAULT_MAX_PIXELS.value
    efficiency: Efficiency = field(default_factory=Efficiency)
    time_scale: float = 1.0

    def __post_init__(self) -> None:
        dev, m = self.device, self.model
        if self.peak_tflops <= 0:
            raise InputError(
                f"device {dev.name} has no {dev.weights_dtype} peak (peak_tflops_"
                f"{dev.weights_dtype} = 0: the hardware lacks that data type); override "
                f"weights_dtype to one it runs (fp32 or fp16) or set "
                f"peak_tflops_{dev.weights_dtype}")
        if not (math.isfinite(self.time_scale) and self.time_scale >= 0):
            raise InputError(f"time_scale={self.time_scale!r}; expected a finite number >= 0")
        floor_px = m.min_visual_tokens * m.token_side_px**2
        if not (math.isfinite(self.max_pixels) and self.max_pixels >= 1):
            raise InputError(f"max_pixels={self.max_pixels!r}; expected a number >= 1")
        if m.dynamic_resolution and self.max_pixels < floor_px:
            raise InputError(
                f"max_pixels={self.max_pixels:g} is below {m.name}'s smallest input "
                f"({_pixels_text(floor_px, m.token_side_px)} = {floor_px:g} px); raise it")
        need = self.memory_gb
        if need > dev.memory_gb:
            fitting = [x for x in MODELS.values()
                       if x.memory_for(dev.weights_dtype) <= dev.memory_gb]
            best = max(fitting, key=lambda x: x.params_b).name if fitting else None
            smaller = f"a smaller model (e.g. {best})" if best else "a smaller model"
            raise InputError(
                f"model {m.name} needs {need:.1f} GB ({dev.weights_dtype} weights "
                f"+ runtime) but device {dev.name} has {dev.memory_gb:g} GB; "
                f"pick {smaller}, a larger device, or override memory_gb / weights_dtype")
        log.debug("compute %s on %s: %s, %.3g TFLOP/s x %.2f, %.4g GB/s x %.3f, max_pixels %s",
                  m.name, dev.name, dev.weights_dtype, self.peak_tflops, self.efficiency.compute,
                  dev.bandwidth_gb_per_s, self.efficiency.bandwidth, self.max_pixels)

    # ---- rates

    @property
    def memory_gb(self) -> float:
        """GiB the weights (in the device's ``weights_dtype``) and runtime need."""
        return self.model.memory_for(self.device.weights_dtype)

    @property
    def peak_tflops(self) -> float:
        """Peak TFLOP/s of the device in its ``weights_dtype`` (the timing precision)."""
        return self.device.peak_tflops(self.device.weights_dtype)

    @property
    def flops_per_s(self) -> float:
        """Sustained FLOP/s: the dtype's peak x the shared compute efficiency."""
        return self.peak_tflops * 1e12 * self.efficiency.compute

    @property
    def bytes_per_s(self) -> float:
        """Sustained DRAM bytes/s: the peak bandwidth x the shared bandwidth efficiency."""
        return self.device.bandwidth_gb_per_s * 1e9 * self.efficiency.bandwidth

    @property
    def max_visual_tokens(self) -> int:
        """The most visual tokens one image can give under ``max_pixels``."""
        m = self.model
        if not m.dynamic_resolution:
            return m.max_visual_tokens
        return int(min(m.max_visual_tokens, self.max_pixels // m.token_side_px**2))

    def _scale(self, stage_scale: float) -> float:
        return self.time_scale * stage_scale

    # ---- tokens

    def visual_tokens(self, width_px: Any, height_px: Any) -> Any:
        """Visual tokens for an image of ``width_px`` x ``height_px``.

        Qwen2-VL: ``smart_resize`` (see :mod:`.tokens`) with ``max_pixels`` and
        the processor's ``min_pixels`` (4 tokens), clipped to
        ``[min_visual_tokens, max_visual_tokens]``.  Fixed-input models (LLaVA:
        576) give a constant.

        >>> cm = load_compute("rtx-3090", "qwen2-vl-7b")
        >>> cm.visual_tokens(4000, 4000), cm.visual_tokens(20, 20)
        (1225, 4)
        >>> big = load_compute("rtx-3090", "qwen2-vl-7b", max_pixels=16384 * 28 * 28)
        >>> big.visual_tokens(4000, 4000)
        16384
        >>> load_compute("rtx-3090", "llava-1.5-7b").visual_tokens(4000, 3000)
        576
        """
        w, scalar = _as_array("image width_px", width_px, 1)
        h, _ = _as_array("image height_px", height_px, 1)
        w, h = np.broadcast_arrays(w, h)
        m = self.model
        if not m.dynamic_resolution:
            return _result(np.full(w.shape, m.min_visual_tokens, dtype=np.int64), scalar, int)
        f = m.token_side_px
        cap = min(self.max_pixels, m.max_visual_tokens * f * f)  # a model override caps too
        tokens = resized_tokens(h, w, f, m.min_visual_tokens * f * f, cap)
        tokens = np.clip(tokens, m.min_visual_tokens, self.max_visual_tokens).astype(np.int64)
        return _result(tokens, scalar, int)

    def vit_patches(self, width_px: Any, height_px: Any) -> Any:
        """Patches the ViT attends over: visual tokens x ``vit_patches_per_token``."""
        tokens = self.visual_tokens(width_px, height_px)
        return tokens * self.model.vit_patches_per_token

    def encoder_megapixels(self, width_px: Any, height_px: Any) -> Any:
        """Megapixels the vision encoder processes after resizing."""
        tokens = np.asarray(self.visual_tokens(width_px, height_px), dtype=float)
        mp = tokens * self.model.token_side_px**2 / 1e6
        return _result(mp, mp.ndim == 0)

    # ---- FLOPs (for inspection and tests)

    def encode_flops(self, visual_tokens: Any) -> Any:
        """ViT FLOPs for ``visual_tokens``: ``2 P_vit n + 4 n^2 width layers``, n = patches."""
        m = self.model
        n = np.asarray(visual_tokens, dtype=float) * m.vit_patches_per_token
        return (rl.linear_flops(m.vision_params_b * 1e9, n)
                + rl.attention_flops(n, m.vit_width, m.vit_layers))

    def prefill_flops(self, visual_tokens: Any, prompt_tokens: Any) -> Any:
        """LLM FLOPs of the prefill: ``2 P_llm T + 4 T^2 width layers``."""
        m = self.model
        t = np.asarray(visual_tokens, dtype=float) + np.asarray(prompt_tokens, dtype=float)
        return (rl.linear_flops(m.llm_matmul_params_b * 1e9, t)
                + rl.attention_flops(t, m.llm_width, m.llm_layers))

    # ---- stages

    def _pass_s(self, params_b: float, tokens: np.ndarray, width: int, heads: int,
                layers: int) -> np.ndarray:
        """One forward pass over ``tokens``: linear + attention rooflines, at least the floor."""
        dev, b = self.device, self.device.bytes_per_param
        params = params_b * 1e9
        linear = rl.roofline_s(rl.linear_flops(params, tokens), params * b,
                               self.flops_per_s, self.bytes_per_s)
        traffic = rl.score_bytes(tokens, heads, layers, b, dev.attention_score_copies,
                                 ATTENTION_SCORE_PASSES.value)
        attention = rl.roofline_s(rl.attention_flops(tokens, width, layers), traffic,
                                  self.flops_per_s, self.bytes_per_s)
        return np.where(tokens > 0, np.maximum(dev.pass_overhead_s, linear + attention), 0.0)

    def encode_s_for_tokens(self, visual_tokens: Any) -> Any:
        """Seconds of the vision encoder for an image that gives ``visual_tokens``."""
        v, scalar = _as_array("visual_tokens", visual_tokens, 0)
        m, dev = self.model, self.device
        if m.vision_params_b <= 0:
            return _result(np.zeros_like(v), scalar)
        n = v * m.vit_patches_per_token
        s = self._pass_s(m.vision_params_b, n, m.vit_width, m.vit_heads, m.vit_layers)
        s = (s + dev.encode_base_s) * self._scale(dev.encode_time_scale)
        return _result(s, scalar)

    def encode_s(self, width_px: Any, height_px: Any) -> Any:
        """Seconds for the vision encoder on one image (grows super-linearly: attention).

        >>> cm = load_compute("jetson-agx-xavier", "qwen2-vl-2b")
        >>> cm.encode_s(256, 256) < cm.encode_s(1024, 1024)
        True
        """
        return self.encode_s_for_tokens(self.visual_tokens(width_px, height_px))

    def prefill_s(self, visual_tokens: Any, prompt_tokens: Any) -> Any:
        """Seconds for the prefill pass over visual plus prompt tokens."""
        v, scalar_v = _as_array("visual_tokens", visual_tokens, 0)
        p, scalar_p = _as_array("prompt_tokens", prompt_tokens, 0)
        m = self.model
        s = self._pass_s(m.llm_matmul_params_b, v + p, m.llm_width, m.llm_heads, m.llm_layers)
        s = s * self._scale(self.device.prefill_time_scale)
        return _result(s, scalar_v and scalar_p)

    @property
    def decode_s_per_token(self) -> float:
        """Seconds per generated token: all LLM weights read once, at least the floor."""
        params = self.model.llm_matmul_params_b * 1e9
        step = float(rl.roofline_s(2 * params, params * self.device.bytes_per_param,
                                   self.flops_per_s, self.bytes_per_s))
        return max(self.device.pass_overhead_s, step) * self._scale(self.device.decode_time_scale)

    def decode_s(self, output_tokens: Any) -> Any:
        """Seconds to generate ``output_tokens`` tokens."""
        n, scalar = _as_array("output_tokens", output_tokens, 0)
        return _result(n * self.decode_s_per_token, scalar)

    def inference_s(self, width_px: Any, height_px: Any, prompt_tokens: Any,
                    output_tokens: Any) -> Any:
        """Encode + prefill + decode for one query (vectorised like the stages)."""
        tokens = self.visual_tokens(width_px, height_px)
        return (self.encode_s_for_tokens(tokens) + self.prefill_s(tokens, prompt_tokens)
                + self.decode_s(output_tokens))

    # ---- memory

    def peak_memory_gb(self, width_px: Any, height_px: Any) -> Any:
        """GiB at the largest activation for this image: weights + runtime + ViT scores.

        The largest activation is eager ViT attention's ``heads x n^2`` score
        tensor of one layer, in the weights dtype, ``attention_score_copies``
        at once (1 by default: a lower bound, see :mod:`.constants`).
        """
        n = np.asarray(self.vit_patches(width_px, height_px), dtype=float)
        m, dev = self.model, self.device
        scores = rl.score_memory_bytes(n, m.vit_heads, dev.bytes_per_param,
                                       dev.attention_score_copies)
        gb = self.memory_gb + scores / GIB
        return _result(gb, gb.ndim == 0)

    @property
    def max_fitting_visual_tokens(self) -> int | None:
        """The most visual tokens per image that fit in memory (None: no limit, fused attention)."""
        m, dev = self.model, self.device
        per_n2 = dev.attention_score_copies * m.vit_heads * dev.bytes_per_param
        if per_n2 <= 0:
            return None
        free = max(0.0, (dev.memory_gb - self.memory_gb) * GIB)
        return int(math.isqrt(int(free / per_n2)) // m.vit_patches_per_token)

    def check_fits(self, width_px: Any, height_px: Any) -> float:
        """GiB the largest of these images needs; :class:`InputError` if over the device's memory.

        >>> cm = load_compute("jetson-agx-xavier", "qwen2-vl-2b")
        >>> round(cm.check_fits(4000, 4000), 2)          # 1225 tokens at the default cap
        10.23
        >>> big = load_compute("jetson-agx-xavier", "qwen2-vl-2b", max_pixels=16384 * 28 * 28)
        >>> big.check_fits(4000, 4000)
        Traceback (most recent call last):
        ...
        simulator.errors.InputError: qwen2-vl-2b on jetson-agx-xavier: a 4000x4000 px image (16384 visual tokens, 65536 ViT patches at max_pixels=16384*28*28) needs 264.8 GB = 8.8 GB fp32 weights + runtime + 256.0 GB of eager ViT attention scores (16 heads x 65536^2 x 4 B, 1 copy assumed) but the device has 16 GB; lower max_pixels to at most 2747*28*28 (the default 1280*28*28 fits), use a fused attention kernel (override attention_score_copies=0) or a larger device
        """
        w, _ = _as_array("image width_px", width_px, 1)
        h, _ = _as_array("image height_px", height_px, 1)
        w, h = np.broadcast_arrays(w, h)
        if w.size == 0:
            return self.memory_gb
        need = np.atleast_1d(np.asarray(self.peak_memory_gb(w, h), dtype=float))
        i = int(np.argmax(need))
        worst = float(need[i])
        dev, m = self.device, self.model
        if worst <= dev.memory_gb:
            return worst
        wi, hi = float(np.atleast_1d(w)[i]), float(np.atleast_1d(h)[i])
        tokens = int(self.visual_tokens(wi, hi))
        n = tokens * m.vit_patches_per_token
        side = m.token_side_px
        fit_tokens = self.max_fitting_visual_tokens or 0
        default_ok = (m.dynamic_resolution and fit_tokens * side**2 >= DEFAULT_MAX_PIXELS.value)
        if m.dynamic_resolution and fit_tokens >= m.min_visual_tokens:
            lower = (f"lower max_pixels to at most {fit_tokens}*{side:g}*{side:g}"
                     + (f" (the default {_pixels_text(DEFAULT_MAX_PIXELS.value, side)} fits)"
                        if default_ok else ""))
        else:
            lower = "use a smaller model"
        copies = dev.attention_score_copies
        raise InputError(
            f"{m.name} on {dev.name}: a {wi:g}x{hi:g} px image ({tokens} visual tokens, {n} ViT "
            f"patches at max_pixels={_pixels_text(self.max_pixels, side)}) needs {worst:.1f} GB "
            f"= {self.memory_gb:.1f} GB {dev.weights_dtype} weights + runtime + "
            f"{worst - self.memory_gb:.1f} GB of eager ViT attention scores ({m.vit_heads} heads "
            f"x {n}^2 x {dev.bytes_per_param} B, {copies:g} cop{'y' if copies == 1 else 'ies'} "
            f"assumed) but the device has {dev.memory_gb:g} GB; {lower}, use a fused attention "
            f"kernel (override attention_score_copies=0) or a larger device")

    # ---- description

    def describe(self) -> dict:
        """A JSON-serialisable summary for the run's metadata: what the times rest on.

        >>> d = load_compute("rtx-3090", "qwen2-vl-7b").describe()
        >>> d["weights_dtype"], d["peak_tflops"], d["max_pixels"], d["time_scale"]
        ('bf16', 71.0, 1003520, 1.0)
        """
        dev, m = self.device, self.model
        used = {*(c.name for c in dev.constants), *(c.name for c in m.constants)}
        unchecked = sorted(c.name for c in (*dev.constants, *m.constants) if c.status in UNCHECKED)
        return {
            "device": dev.name,
            "model": m.name,
            "weights_dtype": dev.weights_dtype,
            "bytes_per_param": dev.bytes_per_param,
            "peak_tflops": self.peak_tflops,
            "bandwidth_gb_per_s": dev.bandwidth_gb_per_s,
            "efficiency": self.efficiency.as_dict(),
            "sustained_tflops": self.flops_per_s / 1e12,
            "sustained_gb_per_s": self.bytes_per_s / 1e9,
            "pass_overhead_s": dev.pass_overhead_s,
            "attention_score_copies": dev.attention_score_copies,
            "max_pixels": int(self.max_pixels) if m.dynamic_resolution else None,
            "max_visual_tokens": self.max_visual_tokens,
            "time_scale": self.time_scale,
            "stage_time_scales": {"encode": dev.encode_time_scale,
                                  "prefill": dev.prefill_time_scale,
                                  "decode": dev.decode_time_scale},
            "decode_s_per_token": self.decode_s_per_token,
            "memory_gb": self.memory_gb,
            "device_memory_gb": dev.memory_gb,
            "max_fitting_visual_tokens": self.max_fitting_visual_tokens,
            "sources": {"device": dev.source, "model": m.source,
                        "efficiency": (f"{COMPUTE_EFFICIENCY.note()}; {BANDWIDTH_EFFICIENCY.note()}"
                                       if self.efficiency == Efficiency()
                                       else "given by the caller (load_compute efficiency=)"),
                        "max_pixels": (DEFAULT_MAX_PIXELS.note()
                                       if self.max_pixels == DEFAULT_MAX_PIXELS.value
                                       else "given by the caller (load_compute max_pixels=)")},
            "constants": sorted(used),
            "unverified": unchecked,
        }


def load_compute(
    device: str,
    model: str,
    overrides: Mapping[str, Any] | None = None,
    model_overrides: Mapping[str, Any] | None = None,
    *,
    max_pixels: float | None = None,
    efficiency: Efficiency | Mapping[str, float] | float | None = None,
    time_scale: float = 1.0,
) -> ComputeModel:
    """``model`` on ``device``; ``overrides`` apply to the device, ``model_overrides`` to the model.

    ``max_pixels`` caps the image the processor feeds the ViT (None: the Qwen
    README's recommended 1280 x 28^2); ``efficiency`` replaces the shared
    efficiency (a fraction for both, or ``{"compute": .., "bandwidth": ..}``);
    ``time_scale`` multiplies every time (a calibrated preset's "model input").
    Raises :class:`InputError` when the weights do not fit the device's memory;
    :meth:`ComputeModel.check_fits` checks the images a workload sends.
    """
    cap = DEFAULT_MAX_PIXELS.value if max_pixels is None else max_pixels
    try:
        cap = float(cap)
        scale = float(time_scale)
    except (TypeError, ValueError):
        raise InputError(f"max_pixels={max_pixels!r} / time_scale={time_scale!r}; expected "
                         "numbers") from None
    if math.isfinite(cap) and cap == int(cap):
        cap = int(cap)
    return ComputeModel(get_device(device, overrides), get_model(model, model_overrides),
                        max_pixels=cap, efficiency=Efficiency.of(efficiency), time_scale=scale)
