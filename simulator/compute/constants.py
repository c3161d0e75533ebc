"""Sourced numbers: every constant the compute model uses, with where it comes from.

A :class:`Constant` is a value with a unit, a *status* and a *source*:

* ``READ`` -- copied from a primary source (a spec sheet, a whitepaper, a
  model's config, a README table);
* ``DERIVED`` -- arithmetic on READ numbers, the arithmetic shown in ``source``;
* ``ASSUMPTION`` -- a modelling choice that no source fixes;
* ``UNVERIFIED`` -- a number believed right but not checked against a primary
  source here.

The registries (:mod:`.devices`, :mod:`.models`) are built from constants, so
:func:`simulator.compute.unverified_constants` can list every ASSUMPTION and
UNVERIFIED number in one place.

This module also holds the constants *shared by all devices*: the efficiency
assumption (one for every device: the audit found a 27 % vs 70 % asymmetry)
and the per-pass framework overhead.

>>> c = Constant("x", 2.0, "s", ASSUMPTION, "a guess")
>>> c.as_dict()["status"]
'ASSUMPTION'
>>> round(BANDWIDTH_EFFICIENCY.value, 3), COMPUTE_EFFICIENCY.value
(0.685, 0.5)
>>> round(PASS_OVERHEAD_S.value * 1000, 1)   # ms per forward pass
25.6
"""

from __future__ import annotations

from dataclasses import dataclass

READ = "READ"
DERIVED = "DERIVED"
ASSUMPTION = "ASSUMPTION"
UNVERIFIED = "UNVERIFIED"
#: Status of a value a user set through ``overrides``.
OVERRIDE = "OVERRIDE"
STATUSES = (READ, DERIVED, ASSUMPTION, UNVERIFIED, OVERRIDE)
#: Statuses :func:`unverified_constants` reports.
UNCHECKED = (ASSUMPTION, UNVERIFIED)

#: Bytes per GiB.  Memory is in GiB, as torch and the Qwen README report it.
GIB = 2**30
#: Weight data types and their bytes per parameter.  ``fp16``/``bf16`` are the
#: 16-bit formats; ``fp32`` is what a Volta board without BF16 runs in "paper mode".
DTYPE_BYTES = {"fp32": 4, "fp16": 2, "bf16": 2}


@dataclass(frozen=True)
class Constant:
    """A number with its unit, status (READ/DERIVED/ASSUMPTION/UNVERIFIED) and source."""

    name: str
    value: float
    unit: str
    status: str
    source: str

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"constant {self.name}: status {self.status!r} not in {STATUSES}")
        if not self.source:
            raise ValueError(f"constant {self.name}: a source is required")

    def as_dict(self) -> dict:
        """``{"name", "value", "unit", "status", "source"}`` (JSON-serialisable)."""
        return {"name": self.name, "value": self.value, "unit": self.unit,
                "status": self.status, "source": self.source}

    def note(self) -> str:
        """One line for a registry entry's ``source`` text."""
        field = self.name.rsplit(".", 1)[-1]
        return f"{field}={self.value:g} {self.unit} ({self.status}: {self.source})"


# --------------------------------------------------------------------------- shared, all devices

#: Fraction of the dtype's peak FLOP rate a compute-bound phase (ViT encode,
#: LLM prefill) reaches.  ONE value for every device.
COMPUTE_EFFICIENCY = Constant(
    "shared.compute_efficiency", 0.5, "fraction of peak FLOP/s", ASSUMPTION,
    "one value for every device (the audit found 27 % on the Xavier vs 70 % on the 3090); "
    "large cuBLAS GEMMs reach 60-90 % of peak, eager PyTorch adds unfused element-wise "
    "kernels; cross-check: Qwen2-VL-2B in vLLM on an RTX 3080 Ti Laptop, 1,380 prompt tokens "
    "and 21 output tokens in 0.78 s (QwenLM/Qwen3-VL#507, READ): ~16.2 TFLOP of encode + "
    "prefill in 0.78 - 0.19 s of decode = 27 TFLOP/s, 0.58 of a 47 TFLOP/s FP16 "
    "FP32-accumulate peak at a 1.59 GHz boost (DERIVED, clock UNVERIFIED); eager "
    "transformers is slower than vLLM, hence 0.5")

#: Fraction of the peak DRAM bandwidth a memory-bound phase (decode) reaches.
BANDWIDTH_EFFICIENCY = Constant(
    "shared.bandwidth_efficiency", round(1397.31 / 2039.0, 4), "fraction of peak bytes/s",
    DERIVED,
    "gpt-fast README (pytorch-labs/gpt-fast, READ): Llama-2-7B batch-1 decode on an A100-80GB "
    "moves 1397.31 GB/s; / 2039 GB/s A100-80GB SXM peak (NVIDIA datasheet, READ) = 0.685; "
    "compiled kernels, so eager overhead is the separate pass floor; applied to every device "
    "(ASSUMPTION: LPDDR4x on a Jetson reaches the same fraction as HBM)")

#: Host-side framework time per forward pass (eager transformers): no pass --
#: ViT encode, prefill, one decode step -- is faster than this.
PASS_OVERHEAD_S = Constant(
    "shared.pass_overhead_s", round(1 / 39.0, 5), "s per forward pass", ASSUMPTION,
    "Qwen2-VL README speed table, A100 80GB, transformers BF16 (READ): 7B 39.0 tok/s, 2B "
    "35.3 tok/s, both far below their bandwidth bounds (2.039e12 B/s / 14.1e9 B = 144 tok/s, "
    "/ 3.1e9 B = 660 tok/s), so a decode step is host-bound at ~1/39 s (DERIVED); the same "
    "floor on every device is the ASSUMPTION (the Xavier's ARM host is slower: an "
    "under-estimate there)")

#: Largest image (pixels) the Qwen2-VL processor feeds the ViT unless told otherwise.
PROCESSOR_MAX_PIXELS = Constant(
    "qwen2-vl.processor_max_pixels", 16384 * 28 * 28, "pixels", READ,
    "Qwen2-VL preprocessor_config.json max_pixels 12845056 = 16384 x 28^2 and qwen-vl-utils "
    "MAX_PIXELS (QwenLM/Qwen2-VL); the README: 'default range ... is 4-16384' visual tokens")

#: The default cap here: the Qwen README's recommended setting.
DEFAULT_MAX_PIXELS = Constant(
    "shared.default_max_pixels", 1280 * 28 * 28, "pixels", READ,
    "Qwen2-VL README: 'a token count range of 256-1280, to balance speed and memory usage', "
    "max_pixels = 1280*28*28 (quoted in QwenLM/Qwen3-VL#277); also transformers' "
    "Qwen2VLImageProcessor smart_resize default 14*14*4*1280")

#: Heads x patches^2 score tensors eager ViT attention holds at once.
ATTENTION_SCORE_COPIES = Constant(
    "shared.attention_score_copies", 1.0, "copies of heads x patches^2 scores", ASSUMPTION,
    "eager attention (transformers VisionAttention: scores = q @ k^T, + mask, FP32 softmax, "
    "@ v) materialises heads x N^2 scores in the weights dtype; 1 copy is a lower bound (the "
    "mask and the FP32 softmax add 1-2 more), so a reported misfit is certain; 0 models a "
    "fused kernel (flash / memory-efficient SDPA) that never materialises them")

#: Passes over the score tensor per materialised copy (memory traffic of eager attention).
ATTENTION_SCORE_PASSES = Constant(
    "shared.attention_score_passes", 4.0, "reads+writes of the scores per copy", DERIVED,
    "eager attention writes q @ k^T, reads it into softmax, writes the probabilities, reads "
    "them for @ v: 4 passes (mask add and dtype casts ignored, a lower bound)")

SHARED_CONSTANTS = (COMPUTE_EFFICIENCY, BANDWIDTH_EFFICIENCY, PASS_OVERHEAD_S,
                    PROCESSOR_MAX_PIXELS, DEFAULT_MAX_PIXELS, ATTENTION_SCORE_COPIES,
                    ATTENTION_SCORE_PASSES)
