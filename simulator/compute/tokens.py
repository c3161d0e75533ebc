"""Visual tokens per image: Qwen2-VL's ``smart_resize``, vectorised over NumPy arrays.

``smart_resize`` (qwen-vl-utils and transformers' ``Qwen2VLImageProcessor``)
rounds each side to a multiple of ``factor`` (28 px: a 14 px patch x the 2 x 2
merge), then, if the pixel count exceeds ``max_pixels``, shrinks both sides by
the same factor (rounding down); if below ``min_pixels`` it grows them
(rounding up).  One visual token covers ``factor`` x ``factor`` pixels.

>>> smart_resize(256, 256, 28, 4 * 784, 16384 * 784)          # RSVQA-LR
(252, 252)
>>> smart_resize(4000, 4000, 28, 4 * 784, 16384 * 784)        # the processor's default cap
(3584, 3584)
>>> smart_resize(4000, 4000, 28, 4 * 784, 1280 * 784)         # the README's recommended cap
(980, 980)
>>> smart_resize(2000, 1000, 28, 4 * 784, 1280 * 784)
(1400, 700)
>>> smart_resize(20, 20, 28, 4 * 784, 1280 * 784)             # grown to the 4-token floor
(56, 56)
"""

from __future__ import annotations

from typing import Any

import numpy as np


def smart_resize(height: Any, width: Any, factor: float, min_pixels: float,
                 max_pixels: float) -> tuple[Any, Any]:
    """``(height, width)`` the processor resizes an image to (arrays broadcast).

    Follows qwen-vl-utils' ``smart_resize`` (QwenLM/Qwen2-VL, READ), with the
    later versions' guard that a side is never below ``factor`` (images of
    extreme aspect ratio).  Scalars in, Python ints out.
    """
    h = np.asarray(height, dtype=float)
    w = np.asarray(width, dtype=float)
    scalar = h.ndim == 0 and w.ndim == 0
    h, w = np.broadcast_arrays(h, w)
    f = float(factor)
    h_bar = np.maximum(f, np.round(h / f) * f)
    w_bar = np.maximum(f, np.round(w / f) * f)
    big = h_bar * w_bar > max_pixels
    small = ~big & (h_bar * w_bar < min_pixels)
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = np.sqrt(h * w / max_pixels)
        h_bar = np.where(big, np.maximum(f, np.floor(h / beta / f) * f), h_bar)
        w_bar = np.where(big, np.maximum(f, np.floor(w / beta / f) * f), w_bar)
        beta = np.sqrt(min_pixels / (h * w))
        h_bar = np.where(small, np.ceil(h * beta / f) * f, h_bar)
        w_bar = np.where(small, np.ceil(w * beta / f) * f, w_bar)
    if scalar:
        return int(round(float(h_bar))), int(round(float(w_bar)))
    return h_bar, w_bar


def resized_tokens(height: Any, width: Any, factor: float, min_pixels: float,
                   max_pixels: float) -> np.ndarray:
    """Visual tokens (``h_bar / factor * w_bar / factor``) as an int64 array.

    >>> resized_tokens(np.array([256, 800]), np.array([256, 800]), 28, 3136, 1280 * 784).tolist()
    [81, 841]
    """
    h_bar, w_bar = smart_resize(np.asarray(height, dtype=float), np.asarray(width, dtype=float),
                                factor, min_pixels, max_pixels)
    tokens = np.rint(np.asarray(h_bar) / factor) * np.rint(np.asarray(w_bar) / factor)
    return tokens.astype(np.int64)
