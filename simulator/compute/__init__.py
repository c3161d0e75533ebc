"""How long a vision-language model takes on a given device, and whether it fits.

A VLM answers a query in three stages; this package gives seconds for each
from a *roofline* (the slower of compute and memory traffic) and nothing else:

1. **encode** -- the vision transformer (ViT) reads the resized image as
   patches (Qwen2-VL: 14 px, four per visual token).  Linear layers cost
   ``2 * params * patches`` FLOPs; full attention over all patches
   ``4 * patches^2 * width * layers`` -- quadratic, so large images cost far
   more than their pixel count suggests.
2. **prefill** -- the language model reads visual + prompt tokens in one pass:
   ``2 * params * tokens`` plus its own attention term.  Compute-bound.
3. **decode** -- one token at a time, every weight read per token:
   ``weight bytes / bandwidth``.  Memory-bound.

Everything is symmetric across devices: a device contributes only spec-sheet
numbers (peak FLOP/s of its ``weights_dtype``, DRAM bandwidth, memory), and one
shared :class:`Efficiency` (fractions of peak) and one per-pass framework floor
apply to all.  Memory and timing use the same precision: the Xavier holds the
weights in FP32 (the paper's Fig. 2b gap; Volta has no BF16) and so computes
on its FP32 CUDA cores (1.41 TFLOP/s), not its FP16 tensor cores.

The visual-token cap is a setting, ``max_pixels`` (default: the Qwen README's
recommended 1280 x 28^2, not the processor's 16384 x 28^2), and
:meth:`ComputeModel.check_fits` raises :class:`~simulator.errors.InputError`
when weights + runtime + the ViT's attention scores for the largest image do
not fit the device.

Every constant carries a status -- READ, DERIVED, ASSUMPTION, UNVERIFIED --
and a source (:mod:`.constants`, :mod:`.devices`, :mod:`.models`);
:func:`unverified_constants` lists the ones no primary source fixed.

>>> onboard = load_compute("jetson-agx-xavier", "qwen2-vl-2b")
>>> ground = load_compute("rtx-3090", "qwen2-vl-7b")
>>> round(onboard.inference_s(256, 256, 35, 3), 2), round(ground.inference_s(256, 256, 35, 3), 3)
(1.35, 0.149)
>>> onboard.check_fits(4000, 4000) < 16                       # default cap: fits
True

Modules: :mod:`.constants` (sourced numbers, shared assumptions),
:mod:`.specs` (records), :mod:`.models` and :mod:`.devices` (registries),
:mod:`.registry` (look-up, overrides), :mod:`.tokens` (``smart_resize``),
:mod:`.roofline` (FLOPs and bytes), :mod:`.model` (:class:`ComputeModel`).
"""

from __future__ import annotations

from .constants import (ATTENTION_SCORE_COPIES, BANDWIDTH_EFFICIENCY, COMPUTE_EFFICIENCY,
                        DEFAULT_MAX_PIXELS, DTYPE_BYTES, GIB, PASS_OVERHEAD_S,
                        PROCESSOR_MAX_PIXELS, Constant)
from .devices import DEVICES
from .model import ComputeModel, load_compute
from .models import MODELS
from .registry import (all_constants, get_device, get_model, list_devices, list_models,
                       may_be_zero, unverified_constants)
from .specs import DeviceProfile, Efficiency, ModelSpec
from .tokens import smart_resize

__all__ = [
    "ATTENTION_SCORE_COPIES", "BANDWIDTH_EFFICIENCY", "COMPUTE_EFFICIENCY", "DEFAULT_MAX_PIXELS",
    "DEVICES", "DTYPE_BYTES", "GIB", "MODELS", "PASS_OVERHEAD_S", "PROCESSOR_MAX_PIXELS",
    "ComputeModel", "Constant", "DeviceProfile", "Efficiency", "ModelSpec", "all_constants",
    "get_device", "get_model", "list_devices", "list_models", "load_compute", "may_be_zero",
    "smart_resize", "unverified_constants",
]
