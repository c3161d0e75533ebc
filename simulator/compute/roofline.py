"""FLOPs, bytes and the roofline: the arithmetic behind every stage time.

A transformer pass is a sum of kernels, each limited by compute or by memory
traffic (the *roofline*)::

    kernel_s = max(flops / (eta_c * peak_flops), bytes / (eta_b * bandwidth))

with ``eta_c`` / ``eta_b`` the shared :class:`~.specs.Efficiency`.  Two kernel
groups per pass:

* **linear layers** -- ``2 * params * tokens`` FLOPs (one multiply-add per
  weight per token), reading every weight once: ``params * bytes_per_param``;
* **attention** -- ``QK^T`` and ``AV`` each cost ``2 * n^2 * width`` per layer,
  so ``4 * n^2 * width * layers`` FLOPs over ``n`` tokens (full, unmasked:
  Qwen2-VL's ViT attends over all patches of an image, and eager code computes
  the full square for the causal LLM too).  Eager attention also moves the
  ``heads x n^2`` score tensor through DRAM (``passes`` times per materialised
  copy).

Decode reads every weight per generated token and is memory-bound on every
device here.  The per-pass floor (host-side framework time) is applied by the
caller.

Hand check, Qwen2-VL-2B ViT on a 256 x 256 image (81 tokens = 324 patches):

>>> float(linear_flops(0.665e9, 324)) / 1e9          # GFLOP
430.92
>>> round(float(attention_flops(324, 1280, 32)) / 1e9, 3)
17.199
>>> float(roofline_s(flops=2e12, bytes_moved=1e9, flops_per_s=1e12, bytes_per_s=1e11))
2.0
"""

from __future__ import annotations

from typing import Any

import numpy as np


def linear_flops(params: float, tokens: Any) -> Any:
    """FLOPs of the linear layers: ``2 * params * tokens``."""
    return 2.0 * params * np.asarray(tokens, dtype=float)


def attention_flops(tokens: Any, width: int, layers: int) -> Any:
    """FLOPs of full self-attention (``QK^T`` and ``AV``): ``4 * n^2 * width * layers``."""
    n = np.asarray(tokens, dtype=float)
    return 4.0 * n * n * width * layers


def score_bytes(tokens: Any, heads: int, layers: int, dtype_bytes: int, copies: float,
                passes: float) -> Any:
    """DRAM bytes eager attention moves through its ``heads x n^2`` scores, all layers.

    >>> round(float(score_bytes(324, 16, 32, 4, copies=1, passes=4)) / 1e9, 3)  # GB, fp32
    0.86
    """
    n = np.asarray(tokens, dtype=float)
    return passes * copies * heads * n * n * dtype_bytes * layers


def score_memory_bytes(tokens: Any, heads: int, dtype_bytes: int, copies: float) -> Any:
    """Peak bytes of the materialised score tensors of ONE layer (the largest activation)."""
    n = np.asarray(tokens, dtype=float)
    return copies * heads * n * n * dtype_bytes


def roofline_s(flops: Any, bytes_moved: Any, flops_per_s: float, bytes_per_s: float) -> Any:
    """Seconds of a kernel group: the slower of its compute and its memory traffic."""
    return np.maximum(np.asarray(flops, dtype=float) / flops_per_s,
                      np.asarray(bytes_moved, dtype=float) / bytes_per_s)
