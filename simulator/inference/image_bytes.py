"""How many bytes a downlinked image weighs (``workload.image_bytes``).

The SpaceVerse paper downlinks *raw* remote-sensing data (§2.1.2: "transmitting
raw RS data to GS").  A raw image weighs exactly

    width x height x bands x bytes_per_sample

(an 8-bit RGB 256 x 256 tile, RSVQA-LR or UC Merced, is 196,608 B; a 4,000 px
DOTA-v1.0 scene 48 MB).  An encoded image weighs its measured bytes per pixel
times its pixels; the constants below were measured on the 24 bundled images
(``models/images``: 20 CHOICE scenes, 3 DeepForest crops, the SpaceNet tile) with
PIL's default PNG and JPEG at quality 90, and ``tests/test_image_bytes.py``
measures them again.  ``stored`` keeps the trace's own ``image_bytes`` column (what
the dataset's files weigh: TIFF, PNG or JPEG as distributed).

>>> import numpy as np
>>> image_bytes(np.array([256, 4000]), np.array([256, 4000]), "raw").tolist()
[196608, 48000000]
>>> int(image_bytes(256, 256, "png"))
113450
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError

#: Encodings a workload may send.
ENCODINGS = ("raw", "png", "jpeg", "stored")

#: Mean bytes per pixel of the bundled images (RGB), measured 2026-12-06 with
#: Pillow's PNG (default settings, lossless) and JPEG quality 90: see
#: :func:`measure_bytes_per_pixel`.  Per image 0.79-2.63 B/px (PNG) and
#: 0.13-0.60 B/px (JPEG).
ENCODED_BYTES_PER_PIXEL = {"png": 1.7311, "jpeg": 0.3330}


def image_bytes(width_px, height_px, encoding: str, *, bands: int = 3,
                bytes_per_sample: int = 1, stored=None):
    """Bytes of each image (int64 array, or an int for scalars) for ``encoding``."""
    if encoding not in ENCODINGS:
        raise InputError(f"workload.image_bytes {encoding!r}; expected one of {', '.join(ENCODINGS)}")
    w = np.asarray(width_px, dtype=np.int64)
    h = np.asarray(height_px, dtype=np.int64)
    if encoding != "stored":
        _check_size(w, h, encoding, bands, bytes_per_sample)
    if encoding == "stored":
        if stored is None:
            raise InputError("workload.image_bytes stored needs the trace's image_bytes column")
        out = np.asarray(stored, dtype=np.int64)
    elif encoding == "raw":
        out = w * h * int(bands) * int(bytes_per_sample)
    else:
        scale = ENCODED_BYTES_PER_PIXEL[encoding] * int(bands) / 3.0
        out = np.ceil(w * h * scale).astype(np.int64)
    return int(out) if out.ndim == 0 else out


#: Heaviest image accepted (1 TiB); sizes from the trace beyond it are errors, not int64
#: overflows.
MAX_IMAGE_BYTES = 1 << 40


def _check_size(w: np.ndarray, h: np.ndarray, encoding: str, bands, bytes_per_sample) -> None:
    """One line for an image whose size is not positive or would exceed
    :data:`MAX_IMAGE_BYTES` (computed in floating point, so nothing wraps around).

    >>> _check_size(np.array([256, 2**31]), np.array([256, 2**31]), "raw", 3, 1)
    Traceback (most recent call last):
    ...
    simulator.errors.InputError: workload.image_bytes raw: image 1 is 2147483648 x 2147483648 px, 1.4e+19 bytes; expected at most 1.1e+12 bytes (1 TiB) per image
    """
    per_pixel = (float(bands) * float(bytes_per_sample) if encoding == "raw"
                 else ENCODED_BYTES_PER_PIXEL[encoding] * float(bands) / 3.0)
    ws, hs = (np.atleast_1d(a).astype(float) for a in np.broadcast_arrays(w, h))
    size = ws * hs * per_pixel
    bad = np.flatnonzero(~((size > 0) & (size <= MAX_IMAGE_BYTES)))
    if len(bad):
        i = int(bad[0])
        raise InputError(f"workload.image_bytes {encoding}: image {i} is {ws[i]:.0f} x "
                         f"{hs[i]:.0f} px, {size[i]:.2g} bytes; expected at most "
                         f"{float(MAX_IMAGE_BYTES):.2g} bytes (1 TiB) per image")


def describe(encoding: str, *, bands: int = 3, bytes_per_sample: int = 1) -> dict:
    """What ``encoding`` means, for the run summary."""
    if encoding == "raw":
        return {"encoding": "raw", "bands": int(bands), "bytes_per_sample": int(bytes_per_sample),
                "rule": "width x height x bands x bytes_per_sample (paper §2.1.2: raw RS data)"}
    if encoding == "stored":
        return {"encoding": "stored", "rule": "the trace's image_bytes column"}
    return {"encoding": encoding, "bytes_per_pixel": ENCODED_BYTES_PER_PIXEL[encoding],
            "rule": "measured on the 24 bundled images (Pillow, JPEG quality 90)"}


def measure_bytes_per_pixel() -> dict[str, float]:
    """Measure :data:`ENCODED_BYTES_PER_PIXEL` again on the bundled images."""
    from ..policies.multiscale import encode
    from .images import list_image_sets, load_image_set

    ratios: dict[str, list[float]] = {"png": [], "jpeg": []}
    for name in sorted(list_image_sets()):
        for sample in load_image_set(name):
            image = sample.image.convert("RGB")
            pixels = image.size[0] * image.size[1]
            ratios["png"].append(len(encode(image, "PNG")) / pixels)
            ratios["jpeg"].append(len(encode(image, "JPEG", 90)) / pixels)
    return {k: float(np.mean(v)) for k, v in ratios.items()}
