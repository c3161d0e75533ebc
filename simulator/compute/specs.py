"""The records the compute model is built from: a model, a device, an efficiency.

* :class:`ModelSpec` -- a vision-language model: parameter counts, shapes of its
  vision transformer (ViT) and language model (LLM), memory, visual tokenisation.
* :class:`DeviceProfile` -- an accelerator: memory, peak FLOP/s per data type,
  DRAM bandwidth, the data type its weights are held in, and a few time knobs.
* :class:`Efficiency` -- the fraction of peak a phase reaches, shared by all
  devices.

Each registry entry keeps the :class:`~.constants.Constant` records its
numbers came from (``constants``), and a ``source`` text built from them.

>>> from simulator.compute import get_device, get_model
>>> get_device("jetson-agx-xavier").peak_tflops("fp32")
1.41
>>> get_device("jetson-agx-xavier").peak_tflops("bf16")    # Volta has no BF16
0.0
>>> round(get_model("qwen2-vl-7b").llm_matmul_params_b, 3)  # LLM minus the input-embedding table
7.069
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from simulator.errors import InputError

from .constants import (BANDWIDTH_EFFICIENCY, COMPUTE_EFFICIENCY, DTYPE_BYTES, GIB, Constant)


def _unpack(name: str, kwargs: dict[str, Any]) -> tuple[dict[str, Any], tuple[Constant, ...]]:
    """Split ``kwargs`` into plain values and the :class:`Constant` records among them.

    A constant named ``"?"`` is the entry's own and is renamed ``"<entry>.<field>"``;
    a shared constant (e.g. ``shared.pass_overhead_s``) keeps its name.
    """
    values: dict[str, Any] = {}
    consts: list[Constant] = []
    for key, value in kwargs.items():
        if isinstance(value, Constant):
            if value.name == "?":  # a registry entry's own number: name it after the field
                value = Constant(f"{name}.{key}", value.value, value.unit, value.status,
                                 value.source)
            consts.append(value)
            value = value.value
        values[key] = value
    return values, tuple(consts)


def _source(summary: str, consts: tuple[Constant, ...]) -> str:
    return "; ".join([summary, *(c.note() for c in consts)])


@dataclass(frozen=True)
class ModelSpec:
    """A vision-language model: size, shapes, memory and visual tokenisation.

    ``visual_tokens_per_megapixel`` fixes the pixels per visual token
    (``token_side_px = sqrt(1e6 / visual_tokens_per_megapixel)``: 28 px for
    Qwen2-VL, 14 px for CLIP-based LLaVA).  Models with a fixed input size set
    ``min_visual_tokens == max_visual_tokens``.  The ViT sees
    ``vit_patches_per_token`` patches per visual token (Qwen2-VL merges 2 x 2
    patches of 14 px into one token: 4; CLIP: 1).
    """

    name: str
    params_b: float  #: all parameters, billions
    memory_gb: float  #: BF16/FP16 weights + runtime, GiB
    visual_tokens_per_megapixel: float
    max_visual_tokens: int
    min_visual_tokens: int
    source: str
    vision_params_b: float = 0.0  #: vision encoder (+ projector), billions
    memory_fp32_gb: float = 0.0  #: FP32 weights + runtime, GiB (0: derive)
    vit_layers: int = 1
    vit_width: int = 1
    vit_heads: int = 1
    vit_patches_per_token: int = 1
    llm_layers: int = 1
    llm_width: int = 1
    llm_heads: int = 1
    #: LLM parameters used only as a table look-up (an untied input embedding):
    #: no FLOPs, and a decode step reads one row of them, not all.
    embedding_lookup_params_b: float = 0.0
    constants: tuple[Constant, ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def build(cls, name: str, summary: str, **kwargs: Any) -> "ModelSpec":
        """A spec whose numeric fields may be :class:`Constant` records (kept in ``constants``)."""
        values, consts = _unpack(name, kwargs)
        return cls(name=name, source=_source(summary, consts), constants=consts, **values)

    @property
    def llm_params_b(self) -> float:
        """Language-model parameters (total minus vision encoder), billions."""
        return self.params_b - self.vision_params_b

    @property
    def llm_matmul_params_b(self) -> float:
        """LLM parameters in matrix multiplies: each costs 2 FLOP per token and is read per pass."""
        return self.llm_params_b - self.embedding_lookup_params_b

    @property
    def token_side_px(self) -> float:
        """Side of the square of input pixels one visual token covers."""
        return round(math.sqrt(1e6 / self.visual_tokens_per_megapixel), 6)

    @property
    def dynamic_resolution(self) -> bool:
        """Whether the visual-token count follows the image size (Qwen2-VL) or is fixed (LLaVA)."""
        return self.min_visual_tokens != self.max_visual_tokens

    def memory_for(self, dtype: str) -> float:
        """GiB for weights in ``dtype`` (``fp32``, ``fp16`` or ``bf16``) plus runtime.

        >>> from simulator.compute import get_model
        >>> get_model("qwen2-vl-2b").memory_for("bf16"), get_model("qwen2-vl-2b").memory_for("fp32")
        (4.68, 8.8)
        """
        if dtype == "fp32":
            if self.memory_fp32_gb:
                return self.memory_fp32_gb
            return self.memory_gb + 2 * self.params_b * 1e9 / GIB
        return self.memory_gb


@dataclass(frozen=True)
class DeviceProfile:
    """One accelerator: memory, peak FLOP/s per data type, DRAM bandwidth, time knobs.

    ``weights_dtype`` is the data type the model's weights are held *and
    computed* in: it selects both the bytes per parameter (memory, decode
    traffic) and the peak FLOP/s (encode, prefill).  A peak of 0 means the
    device cannot run that data type.  The ``*_time_scale`` fields multiply one
    stage's seconds (0 switches the stage off); ``pass_overhead_s`` is the
    shortest a forward pass can be (host-side framework time);
    ``encode_base_s`` a fixed cost per image (host pre-processing, 0 = not
    modelled).
    """

    name: str
    memory_gb: float  #: GiB the model may use
    source: str
    weights_dtype: str = "bf16"
    peak_tflops_fp32: float = 0.0  #: FP32 on CUDA cores (PyTorch's default: no TF32)
    peak_tflops_fp16: float = 0.0  #: FP16 tensor cores, FP32 accumulate (cuBLAS default)
    peak_tflops_bf16: float = 0.0  #: BF16 tensor cores, FP32 accumulate
    bandwidth_gb_per_s: float = 1.0  #: DRAM peak, 1e9 bytes per second
    pass_overhead_s: float = 0.0
    encode_base_s: float = 0.0
    encode_time_scale: float = 1.0
    prefill_time_scale: float = 1.0
    decode_time_scale: float = 1.0
    attention_score_copies: float = 1.0
    constants: tuple[Constant, ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def build(cls, name: str, summary: str, **kwargs: Any) -> "DeviceProfile":
        """A profile whose numeric fields may be :class:`Constant` records (in ``constants``)."""
        values, consts = _unpack(name, kwargs)
        return cls(name=name, source=_source(summary, consts), constants=consts, **values)

    def peak_tflops(self, dtype: str | None = None) -> float:
        """Peak TFLOP/s for ``dtype`` (default: the weights dtype); 0 if unsupported."""
        dtype = dtype or self.weights_dtype
        if dtype not in DTYPE_BYTES:
            raise InputError(f"unknown dtype {dtype!r}; expected one of {', '.join(DTYPE_BYTES)}")
        return float(getattr(self, f"peak_tflops_{dtype}"))

    @property
    def bytes_per_param(self) -> int:
        """Bytes per weight in ``weights_dtype``."""
        return DTYPE_BYTES[self.weights_dtype]


@dataclass(frozen=True)
class Efficiency:
    """Fractions of peak reached: ``compute`` (FLOP/s) and ``bandwidth`` (bytes/s).

    One instance applies to *every* device, so a faster device is faster only
    by its spec sheet.  :meth:`of` accepts ``None`` (the default), a number
    (both fractions), a mapping with ``compute`` / ``bandwidth`` keys (missing
    ones keep the default) or an instance.

    >>> Efficiency.of(None) == Efficiency()
    True
    >>> Efficiency.of(0.3)
    Efficiency(compute=0.3, bandwidth=0.3)
    >>> Efficiency.of({"compute": 0.25}).bandwidth == Efficiency().bandwidth
    True
    >>> Efficiency.of(1.5)
    Traceback (most recent call last):
    ...
    simulator.errors.InputError: efficiency compute=1.5; expected a fraction in (0, 1]
    """

    compute: float = COMPUTE_EFFICIENCY.value
    bandwidth: float = BANDWIDTH_EFFICIENCY.value

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            ok = isinstance(value, (int, float)) and math.isfinite(value) and 0 < value <= 1
            if not ok:
                raise InputError(f"efficiency {f.name}={value!r}; expected a fraction in (0, 1]")

    @classmethod
    def of(cls, value: "Efficiency | Mapping[str, float] | float | None") -> "Efficiency":
        """Coerce the ``efficiency`` argument of :func:`~simulator.compute.load_compute`."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, Mapping):
            unknown = set(value) - {"compute", "bandwidth"}
            if unknown:
                raise InputError(f"efficiency keys {sorted(unknown)}; expected compute, bandwidth")
            return cls(**{k: float(v) for k, v in value.items()})
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InputError(f"efficiency={value!r}; expected a number, a mapping with "
                             "compute/bandwidth, or None") from None
        return cls(compute=number, bandwidth=number)

    def as_dict(self) -> dict[str, float]:
        return {"compute": self.compute, "bandwidth": self.bandwidth}
