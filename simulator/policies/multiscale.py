"""Attention-based multi-scale preprocessing on real images: the paper's §3.2, Eq. 3.

SpaceVerse cuts an image into ``N`` regions (``N = 100`` in §4.1.4, a 10 x 10
grid), scores each region's relevance ``K`` to the task prompt (Eq. 2, see
:mod:`simulator.inference.clip_attention`) and then, per region (Eq. 3)::

    K <  alpha           drop the region (nothing is sent)
    alpha <= K < beta    send it downsampled by c = (beta - alpha) / (K - alpha)
    beta <= K            send it at full resolution

with ``alpha = 0.35`` and ``beta = 0.55`` (§4.1.4).  Everything here is a pure
function of its arguments (randomness only through a ``numpy`` generator that
the caller passes).

Ambiguities of the paper, resolved here and exposed as options
---------------------------------------------------------------

* **Scale of K** (``normalize``).  Eq. 2 is a sum of cosines whose range grows
  with the prompt length, and the proxies below have their own units, while
  ``alpha``/``beta`` only make sense on ``[0, 1]``.  ``normalize="minmax"``
  (default) rescales the image's region scores to ``[0, 1]`` (the most relevant
  region 1, the least 0; all-equal scores become all 1, so a featureless image
  is kept rather than discarded); ``normalize="none"`` uses ``K`` as given.
* **The factor near alpha** (``max_factor``).  ``(beta - alpha) / (K - alpha)``
  grows without bound as ``K -> alpha``; it is capped at ``max_factor``
  (default 8).  At ``K = beta`` the region is kept (factor 1), so the factor is
  continuous at ``beta``; at ``K = alpha`` it is ``max_factor`` (the region is
  downsampled, not dropped: Eq. 3's first case is ``K < alpha``, strict).
* **What "downsampling by c" means.**  ``c`` is a *linear* factor: each side of
  the region is divided by ``c`` (rounded, at least 1 px), so the region sends
  about ``1 / c**2`` of its pixels.  Downsampling is an area average (PIL
  ``BOX``); the ground side upsamples back with ``BILINEAR``.
* **Region grid.**  ``N = rows * cols`` as square as possible (10 x 10 for 100);
  the longer image side gets the larger count.  Cell edges are rounded pixel
  positions (:func:`simulator.inference.regions.region_boxes`).

Transmitted bytes are real
--------------------------

:func:`apply_multiscale` encodes every region that is sent as its own tile
with PIL (PNG, lossless, or JPEG at ``quality``) and counts
``IMAGE_HEADER_BYTES`` (16: image size, grid, format) plus, per tile,
``REGION_HEADER_BYTES`` (8: region index, 4-byte length prefix, spare) plus the
encoded tile.  Tiling costs something real (per-tile file headers, no
compression context across tiles), so keeping every region costs slightly
*more* than the whole image encoded once (``stats["full_bytes"]``, the
reference of ``bytes_ratio``).  The image the ground model sees is rebuilt from
the *decoded* tiles (JPEG artefacts included), downsampled regions upsampled
back to their box, dropped regions filled with ``fill``.

Region scores
-------------

:func:`region_scores` gives ``K`` from one of three scorers, and always says
which (``SCORER_LABELS``):

* ``"clip"`` -- Eq. 2 with a real CLIP checkpoint from a local folder
  (:class:`~simulator.inference.clip_attention.ClipRegionScorer`, pooled mode);
* ``"boxes"`` -- **oracle attention**: the fraction of each region covered by
  ground-truth target boxes (:func:`box_coverage_scores`), the paper's "ideal
  masking" of Fig. 3, which keeps the targets and drops the rest;
* ``"proxy"`` -- a task-agnostic saliency proxy, the mean gradient magnitude of
  each region (:func:`saliency_scores`): textured regions score high.  It ignores
  the prompt, so it is *not* Eq. 2; it only stands in when neither a CLIP model
  nor ground truth is available.

Baselines with the same ``(image, bytes_sent, stats)`` result:
:func:`random_mask`, :func:`attention_only` and :func:`uniform_downsample`.

Example on a synthetic image (left half textured, right half flat)::

    >>> import numpy as np
    >>> from PIL import Image
    >>> rng = np.random.default_rng(0)
    >>> pixels = np.zeros((100, 100), np.uint8)
    >>> pixels[:, :50] = rng.integers(0, 256, (100, 50))
    >>> image = Image.fromarray(pixels)
    >>> grid = region_grid(100, 100, regions=4)
    >>> grid
    [(0, 0, 50, 50), (50, 0, 100, 50), (0, 50, 50, 100), (50, 50, 100, 100)]
    >>> K = saliency_scores(image, grid)
    >>> eq3_actions(K, 0.35, 0.55)[0].tolist()      # textured regions kept, flat ones dropped
    [2, 0, 2, 0]
    >>> seen, sent, stats = apply_multiscale(image, K, 0.35, 0.55)
    >>> seen.size, stats["kept"], stats["dropped"], sent < stats["full_bytes"]
    ((100, 100), 2, 2, True)
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence

import numpy as np
from PIL import Image

from simulator.errors import InputError

ACTION_DROP, ACTION_DOWNSAMPLE, ACTION_KEEP = 0, 1, 2
ACTION_NAMES = ("drop", "downsample", "keep")

#: Bytes of the per-image header of the tiled transmission: width and height
#: (2 x 2 B), grid rows and columns (2 x 2 B), format and mode (2 B), spare (6 B).
IMAGE_HEADER_BYTES = 16
#: Bytes of each tile's header: region index (2 B), tile length (4 B), spare (2 B).
REGION_HEADER_BYTES = 8

FORMATS = {"png": "PNG", "jpeg": "JPEG", "jpg": "JPEG", "raw": "RAW"}
NORMALIZE = ("minmax", "none")
SCORERS = ("clip", "boxes", "proxy")
SCORER_LABELS = {
    "clip": "Eq. 2 text-image attention with CLIP (pooled region features)",
    "boxes": "oracle attention: ground-truth box coverage per region (the paper's ideal masking, Fig. 3)",
    "proxy": "proxy: per-region mean gradient magnitude (task-agnostic saliency, not Eq. 2)",
}

DEFAULT_MAX_FACTOR = 8.0


# --------------------------------------------------------------------------- checks


def _finite(value, what: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} is {value!r}; expected a number") from None
    if not math.isfinite(out) or isinstance(value, bool):
        raise InputError(f"{what} is {value!r}; expected a finite number")
    return out


def check_format(fmt: str) -> str:
    """``"png"``/``"jpeg"``/``"jpg"``/``"raw"`` (any case) -> ``"PNG"``, ``"JPEG"`` or ``"RAW"``.

    ``RAW`` sends the pixels as they are (bands x 8 bit), as the paper's raw RS data.
    """
    key = str(fmt).strip().lower()
    if key not in FORMATS:
        raise InputError(f"format is {fmt!r}; expected png, jpeg or raw")
    return FORMATS[key]


def check_normalize(normalize: str) -> str:
    key = str(normalize).strip().lower()
    if key not in NORMALIZE:
        raise InputError(f"normalize is {normalize!r}; expected minmax or none")
    return key


def check_thresholds(alpha, beta, max_factor=DEFAULT_MAX_FACTOR) -> tuple[float, float, float]:
    """``alpha <= beta`` (``alpha == beta``: no downsampling band) and ``max_factor >= 1``."""
    alpha, beta = _finite(alpha, "alpha"), _finite(beta, "beta")
    max_factor = _finite(max_factor, "max_factor")
    if alpha > beta:
        raise InputError(f"alpha {alpha} is above beta {beta}; expected alpha <= beta")
    if max_factor < 1:
        raise InputError(f"max_factor is {max_factor}; expected a number >= 1")
    return alpha, beta, max_factor


def _scores(K) -> np.ndarray:
    try:
        scores = np.asarray(K, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError("region scores K: expected numbers") from None
    if scores.ndim != 1 or scores.size == 0:
        raise InputError(f"region scores K have shape {scores.shape}; expected one score per region")
    if not np.all(np.isfinite(scores)):
        raise InputError(f"region scores K: region {int(np.flatnonzero(~np.isfinite(scores))[0])} "
                         "is not finite; expected finite numbers")
    return scores


def normalize_scores(K, normalize: str = "minmax") -> np.ndarray:
    """``K`` min-max rescaled to ``[0, 1]`` over the image's regions, or as given (``"none"``).

    >>> normalize_scores([2.0, 4.0, 3.0]).tolist()
    [0.0, 1.0, 0.5]
    >>> normalize_scores([5.0, 5.0]).tolist()      # no ranking: keep everything
    [1.0, 1.0]
    """
    from simulator.inference.regions import minmax

    scores = _scores(K)
    return minmax(scores) if check_normalize(normalize) == "minmax" else scores


# --------------------------------------------------------------------------- grid


def grid_shape(width: int, height: int, regions: int = 100) -> tuple[int, int]:
    """``(rows, cols)`` with ``rows * cols == regions``, as square as possible.

    The longer image side gets the larger count.

    >>> grid_shape(512, 512, 100), grid_shape(800, 400, 50), grid_shape(400, 800, 50), grid_shape(9, 9, 7)
    ((10, 10), (5, 10), (10, 5), (1, 7))
    """
    if isinstance(regions, bool) or not isinstance(regions, (int, np.integer)) or regions < 1:
        raise InputError(f"regions is {regions!r}; expected a whole number >= 1")
    n = int(regions)
    small = max(d for d in range(1, math.isqrt(n) + 1) if n % d == 0)
    large = n // small
    rows, cols = (small, large) if width >= height else (large, small)
    if width < cols or height < rows:
        raise InputError(f"image of {width} x {height} px is smaller than the {rows} x {cols} "
                         f"region grid ({n} regions); expected at least 1 px per region")
    return rows, cols


def region_grid(width: int, height: int, regions: int = 100) -> list[tuple[int, int, int, int]]:
    """``(left, top, right, bottom)`` pixel boxes of the ``regions`` regions, row by row.

    >>> boxes = region_grid(512, 512)
    >>> len(boxes), boxes[0], boxes[-1]
    (100, (0, 0, 51, 51), (461, 461, 512, 512))
    """
    from simulator.inference.regions import region_boxes

    return region_boxes(int(width), int(height), grid_shape(int(width), int(height), regions))


def _grid_for(image: Image.Image, n: int) -> list[tuple[int, int, int, int]]:
    return region_grid(image.size[0], image.size[1], n)


# --------------------------------------------------------------------------- Eq. 3


def eq3_actions(K, alpha: float, beta: float, max_factor: float = DEFAULT_MAX_FACTOR, *,
                normalize: str = "minmax") -> tuple[np.ndarray, np.ndarray]:
    """Eq. 3 per region: ``(actions, factors)``.

    ``actions`` (int8): ``0`` drop (``K < alpha``), ``1`` downsample
    (``alpha <= K < beta``), ``2`` keep (``K >= beta``), after ``normalize``
    (``"minmax"`` or ``"none"``).  ``factors`` (float): the linear downscale
    ``min((beta - alpha) / (K - alpha), max_factor)`` for downsampled regions,
    ``1.0`` for kept ones and ``inf`` for dropped ones.

    >>> actions, factors = eq3_actions([0.1, 0.35, 0.45, 0.55, 0.9], 0.35, 0.55, normalize="none")
    >>> actions.tolist(), factors.tolist()
    ([0, 1, 1, 2, 2], [inf, 8.0, 2.0, 1.0, 1.0])
    """
    alpha, beta, max_factor = check_thresholds(alpha, beta, max_factor)
    scores = normalize_scores(K, normalize)
    actions = np.full(scores.shape, ACTION_DOWNSAMPLE, dtype=np.int8)
    actions[scores < alpha] = ACTION_DROP
    actions[scores >= beta] = ACTION_KEEP
    factors = np.ones(scores.shape)
    band = actions == ACTION_DOWNSAMPLE
    gap = scores[band] - alpha
    with np.errstate(divide="ignore"):
        raw = np.where(gap > 0, (beta - alpha) / np.where(gap > 0, gap, 1.0), np.inf)
    factors[band] = np.clip(raw, 1.0, max_factor)
    factors[actions == ACTION_DROP] = np.inf
    return actions, factors


# --------------------------------------------------------------------------- transmission


def _as_codec_image(image: Image.Image) -> Image.Image:
    """Greyscale stays ``L``, colour ``RGB``; other modes are converted to ``RGB``."""
    if not isinstance(image, Image.Image):
        raise InputError(f"image is a {type(image).__name__}; expected a PIL image")
    return image if image.mode in ("L", "RGB") else image.convert("RGB")


def encode(image: Image.Image, fmt: str = "PNG", quality: int = 90) -> bytes:
    """``image`` encoded with PIL: ``PNG`` (default settings, lossless), ``JPEG`` at
    ``quality``, or ``RAW`` (the pixel bytes, no encoding)."""
    buffer = io.BytesIO()
    kind = check_format(fmt)
    if kind == "RAW":
        return image.tobytes()
    if kind == "JPEG":
        image.save(buffer, "JPEG", quality=int(quality))
    else:
        image.save(buffer, "PNG")
    return buffer.getvalue()


def _encoded_sizes(tiles: list, fmt: str, quality: int) -> list[int]:
    """``len(encode(tile))`` of every tile, on a few threads (Pillow's encoders release
    the GIL); the sizes do not depend on how the work is shared.  The threads end with
    the call: a thread left running would keep this process from forking its workers
    later (sweeps, the contact search), which is safe only with a single thread."""
    workers = min(4, os.cpu_count() or 1)
    if workers < 2 or len(tiles) < 8:
        return [len(encode(t, fmt, quality)) for t in tiles]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="encode") as encoders:
        return list(encoders.map(lambda t: len(encode(t, fmt, quality)), tiles))


def _check_quality(quality) -> int:
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)) or not 1 <= quality <= 100:
        raise InputError(f"quality is {quality!r}; expected a whole number from 1 to 100")
    return int(quality)


def transmit_regions(image: Image.Image, boxes: Sequence[tuple[int, int, int, int]], actions,
                     factors, *, fmt: str = "PNG", quality: int = 90, fill=0,
                     reconstruct: bool = True, full_bytes: int | None = None):
    """Send ``image`` region by region: ``(image as received, bytes_sent, stats)``.

    ``actions``/``factors`` as from :func:`eq3_actions` (a factor is only read for
    downsampled regions).  ``full_bytes`` (the whole image encoded once in
    ``fmt``) is computed unless given.  With ``reconstruct=False`` the returned
    image is ``None`` (cheaper, for calibration).
    """
    image = _as_codec_image(image)
    fmt, quality = check_format(fmt), _check_quality(quality)
    actions = np.asarray(actions)
    factors = np.asarray(factors, dtype=float)
    if not (len(boxes) == len(actions) == len(factors)):
        raise InputError(f"{len(boxes)} regions but {len(actions)} actions and {len(factors)} factors")
    width, height = image.size
    canvas = Image.new(image.mode, image.size, fill) if reconstruct else None
    sent = []   # (box, tile as sent) of every region not dropped
    for box, action, factor in zip(boxes, actions, factors):
        if action == ACTION_DROP:
            continue
        tile = image.crop(box)
        w, h = tile.size
        if action == ACTION_DOWNSAMPLE and factor > 1:
            size = (max(1, round(w / factor)), max(1, round(h / factor)))
            if size != (w, h):
                tile = tile.resize(size, Image.Resampling.BOX)
        sent.append((box, tile))
    sent_px = sum(tile.size[0] * tile.size[1] for _, tile in sent)
    total = IMAGE_HEADER_BYTES
    if canvas is None:  # only the byte counts: the encodes run side by side
        tiles = [tile for _, tile in sent]
        if full_bytes is None:  # the largest encode first, while the tiles share the rest
            tiles.insert(0, image)
        sizes = _encoded_sizes(tiles, fmt, quality)
        if full_bytes is None:
            full_bytes = sizes.pop(0)
        total += sum(REGION_HEADER_BYTES + n for n in sizes)
    else:  # each region as the ground receives it, pasted back in place
        for box, tile in sent:
            data = encode(tile, fmt, quality)
            total += REGION_HEADER_BYTES + len(data)
            received = tile
            if fmt == "JPEG":
                with Image.open(io.BytesIO(data)) as decoded:
                    received = decoded.convert(image.mode)
            region = (box[2] - box[0], box[3] - box[1])   # the crop's size
            if received.size != region:
                received = received.resize(region, Image.Resampling.BILINEAR)
            canvas.paste(received, box[:2])
    if full_bytes is None:
        full_bytes = len(encode(image, fmt, quality))
    counts = [int(np.sum(actions == a)) for a in (ACTION_DROP, ACTION_DOWNSAMPLE, ACTION_KEEP)]
    band = actions == ACTION_DOWNSAMPLE
    sent_fraction = sent_px / float(width * height)
    stats = {
        "regions": len(boxes),
        "dropped": counts[0], "downsampled": counts[1], "kept": counts[2],
        "mean_factor": float(factors[band].mean()) if band.any() else None,
        "actions": actions.astype(np.int8), "factors": factors,
        "format": fmt, "quality": quality if fmt == "JPEG" else None,
        "bytes_sent": int(total), "full_bytes": int(full_bytes),
        "header_bytes": IMAGE_HEADER_BYTES + REGION_HEADER_BYTES * (len(boxes) - counts[0]),
        "bytes_ratio": total / full_bytes if full_bytes else float("nan"),
        "compression_ratio": full_bytes / total if total else float("inf"),
        "pixels_sent_fraction": sent_fraction,
        "info_removed": 1.0 - sent_fraction,
    }
    return canvas, int(total), stats


def apply_multiscale(image: Image.Image, K, alpha: float, beta: float, *, fmt: str = "PNG",
                     quality: int = 90, max_factor: float = DEFAULT_MAX_FACTOR, fill=0,
                     normalize: str = "minmax", reconstruct: bool = True,
                     full_bytes: int | None = None):
    """Eq. 3 on ``image`` with region scores ``K`` (one per region of :func:`region_grid`).

    Returns ``(image as the ground model receives it, bytes_sent, stats)``; the
    bytes are the real encoded size of what is sent (module docstring).
    ``stats`` has the action counts, ``actions``/``factors`` per region, the
    normalised ``scores``, ``full_bytes``, ``bytes_ratio`` (sent / full),
    ``compression_ratio`` (full / sent), ``pixels_sent_fraction`` and
    ``info_removed`` (``1 -`` that fraction).
    """
    image = _as_codec_image(image)
    scores = _scores(K)
    actions, factors = eq3_actions(scores, alpha, beta, max_factor, normalize=normalize)
    seen, sent, stats = transmit_regions(image, _grid_for(image, scores.size), actions, factors,
                                         fmt=fmt, quality=quality, fill=fill,
                                         reconstruct=reconstruct, full_bytes=full_bytes)
    stats.update(method="multi-scale", scores=normalize_scores(scores, normalize))
    return seen, sent, stats


# --------------------------------------------------------------------------- baselines


def random_mask(image: Image.Image, ratio: float, rng: np.random.Generator, *, regions: int = 100,
                fmt: str = "PNG", quality: int = 90, fill=0, reconstruct: bool = True,
                full_bytes: int | None = None):
    """Drop ``round(ratio * regions)`` regions chosen by ``rng``; keep the rest at full size.

    The paper's random-masking baseline (§2.2 Fig. 3, §4.4.2 "GS-only").
    """
    ratio = _finite(ratio, "ratio")
    if not 0 <= ratio <= 1:
        raise InputError(f"ratio is {ratio}; expected a fraction in [0, 1]")
    image = _as_codec_image(image)
    boxes = _grid_for(image, regions)
    actions = np.full(len(boxes), ACTION_KEEP, dtype=np.int8)
    drop = rng.choice(len(boxes), size=round(ratio * len(boxes)), replace=False)
    actions[drop] = ACTION_DROP
    factors = np.where(actions == ACTION_DROP, np.inf, 1.0)
    seen, sent, stats = transmit_regions(image, boxes, actions, factors, fmt=fmt, quality=quality,
                                         fill=fill, reconstruct=reconstruct, full_bytes=full_bytes)
    stats.update(method="random-mask", ratio=ratio)
    return seen, sent, stats


def attention_only(image: Image.Image, K, threshold: float, *, normalize: str = "minmax",
                   fmt: str = "PNG", quality: int = 90, fill=0, reconstruct: bool = True,
                   full_bytes: int | None = None):
    """Drop regions with ``K < threshold``, keep the rest at full size (no multi-scale).

    The paper's ablation "text-image attention K without f" (§4.4.2); the same
    as Eq. 3 with ``alpha = beta = threshold``.
    """
    threshold = _finite(threshold, "threshold")
    image = _as_codec_image(image)
    scores = _scores(K)
    actions, factors = eq3_actions(scores, threshold, threshold, normalize=normalize)
    seen, sent, stats = transmit_regions(image, _grid_for(image, scores.size), actions, factors,
                                         fmt=fmt, quality=quality, fill=fill,
                                         reconstruct=reconstruct, full_bytes=full_bytes)
    stats.update(method="attention-only", threshold=threshold,
                 scores=normalize_scores(scores, normalize))
    return seen, sent, stats


def uniform_downsample(image: Image.Image, factor: float, *, fmt: str = "PNG", quality: int = 90,
                       reconstruct: bool = True, full_bytes: int | None = None):
    """The whole image downsampled by the linear ``factor`` (>= 1) and encoded once.

    No tiling, so no headers: the file is sent as is.
    """
    factor = _finite(factor, "factor")
    if factor < 1:
        raise InputError(f"factor is {factor}; expected a number >= 1")
    image = _as_codec_image(image)
    fmt, quality = check_format(fmt), _check_quality(quality)
    width, height = image.size
    size = (max(1, round(width / factor)), max(1, round(height / factor)))
    small = image.resize(size, Image.Resampling.BOX) if size != image.size else image
    data = encode(small, fmt, quality)
    if full_bytes is None:
        full_bytes = len(encode(image, fmt, quality))
    seen = None
    if reconstruct:
        received = small
        if fmt == "JPEG":
            with Image.open(io.BytesIO(data)) as decoded:
                received = decoded.convert(image.mode)
        seen = received.resize(image.size, Image.Resampling.BILINEAR) if size != image.size else received
    sent_fraction = size[0] * size[1] / float(width * height)
    stats = {
        "method": "uniform-downsample", "factor": factor, "regions": 1,
        "dropped": 0, "downsampled": int(size != image.size), "kept": int(size == image.size),
        "format": fmt, "quality": quality if fmt == "JPEG" else None,
        "bytes_sent": len(data), "full_bytes": int(full_bytes), "header_bytes": 0,
        "bytes_ratio": len(data) / full_bytes if full_bytes else float("nan"),
        "compression_ratio": full_bytes / len(data) if data else float("inf"),
        "pixels_sent_fraction": sent_fraction, "info_removed": 1.0 - sent_fraction,
    }
    return seen, len(data), stats


# --------------------------------------------------------------------------- scorers


def box_coverage_scores(boxes, grid: Sequence[tuple[int, int, int, int]]) -> np.ndarray:
    """Oracle attention: the fraction of each grid region covered by the union of ``boxes``.

    ``boxes`` are ``(x1, y1, x2, y2[, label])`` in pixels; a pixel counts as
    covered when its centre lies inside a box (``x1 <= x + 0.5 < x2``).  This is
    the paper's "ideal masking" (§2.2, Fig. 3): targets are kept, the rest goes.

    >>> box_coverage_scores([(0, 0, 5, 10)], region_grid(20, 10, regions=2)).tolist()
    [0.5, 0.0]
    """
    width = max(int(b[2]) for b in grid)
    height = max(int(b[3]) for b in grid)
    mask = np.zeros((height, width), dtype=bool)
    for box in boxes:
        try:
            x1, y1, x2, y2 = (float(v) for v in tuple(box)[:4])
        except (TypeError, ValueError):
            raise InputError(f"box {box!r}: expected (x1, y1, x2, y2[, label]) in pixels") from None
        left, right = (min(max(math.ceil(v - 0.5), 0), width) for v in (x1, x2))
        top, bottom = (min(max(math.ceil(v - 0.5), 0), height) for v in (y1, y2))
        mask[top:bottom, left:right] = True
    return _region_means(mask.astype(np.float64), grid)


def _region_means(values: np.ndarray, grid) -> np.ndarray:
    """Mean of ``values`` (H, W) over each box of ``grid``, via an integral image."""
    integral = np.zeros((values.shape[0] + 1, values.shape[1] + 1))
    integral[1:, 1:] = values.cumsum(0).cumsum(1)
    out = np.empty(len(grid))
    for r, (left, top, right, bottom) in enumerate(grid):
        total = (integral[bottom, right] - integral[top, right]
                 - integral[bottom, left] + integral[top, left])
        out[r] = total / max(1, (right - left) * (bottom - top))
    return out


def saliency_scores(image: Image.Image, grid: Sequence[tuple[int, int, int, int]]) -> np.ndarray:
    """Proxy attention: each region's mean gradient magnitude on the greyscale image.

    Central differences (``numpy.gradient``) of the 8-bit luminance; flat
    regions (water, bare fields, sky) score low and textured ones (buildings,
    trees, roads) high.  Task-agnostic: the prompt plays no part.
    """
    grey = np.asarray(_as_codec_image(image).convert("L"), dtype=np.float64)
    if grey.shape[0] < 2 or grey.shape[1] < 2:
        return np.zeros(len(grid))
    gy, gx = np.gradient(grey)
    return _region_means(np.hypot(gx, gy), grid)


_CLIP_SCORERS: dict = {}


def clip_scorer(model_dir, grid: tuple[int, int], mode: str = "pooled"):
    """A cached :class:`~simulator.inference.clip_attention.ClipRegionScorer` (CPU)."""
    from simulator.inference.clip_attention import ClipRegionScorer

    key = (os.path.abspath(os.fspath(model_dir)), tuple(grid), mode)
    if key not in _CLIP_SCORERS:
        _CLIP_SCORERS[key] = ClipRegionScorer(model_dir, grid=tuple(grid), mode=mode)
    return _CLIP_SCORERS[key]


def region_scores(image: Image.Image, scorer: str = "proxy", *, regions: int = 100,
                  prompt: str | None = None, boxes=None, clip_model_dir=None,
                  clip_mode: str = "pooled") -> tuple[np.ndarray, str]:
    """``(K, label)``: one raw score per region of :func:`region_grid` and what produced it.

    ``scorer`` is ``"clip"`` (needs ``clip_model_dir`` and ``prompt``; raw Eq. 2
    scores), ``"boxes"`` (needs ground-truth ``boxes``) or ``"proxy"``.
    """
    key = str(scorer).strip().lower()
    if key not in SCORERS:
        raise InputError(f"scorer is {scorer!r}; expected one of {', '.join(SCORERS)}")
    image = _as_codec_image(image)
    width, height = image.size
    grid = region_grid(width, height, regions)
    if key == "clip":
        if not clip_model_dir:
            raise InputError("scorer clip needs clip_model_dir, a local CLIP checkpoint folder")
        if not isinstance(prompt, str) or not prompt:
            raise InputError("scorer clip needs the sample's prompt")
        shape = grid_shape(width, height, regions)
        return clip_scorer(clip_model_dir, shape, clip_mode).attention(image, prompt), SCORER_LABELS[key]
    if key == "boxes":
        if boxes is None:
            raise InputError("scorer boxes needs the image's ground-truth boxes (detection sets only)")
        return box_coverage_scores(boxes, grid), SCORER_LABELS[key]
    return saliency_scores(image, grid), SCORER_LABELS[key]


# --------------------------------------------------------------------------- calibration cache


def calibration_cache_name(method_key: tuple) -> str | None:
    """File name of the on-disk calibration of a compression method on the bundled images
    (:meth:`simulator.policies.compression.ImageCompression.calibration`), keyed by its
    inputs: the method and its parameters (``method_key``), the bundled images (every file
    under ``models/images``, by content), the code that compresses them (this module,
    ``compression.py``, the region grid and the image-set reader, by content) and the
    libraries that encode (Pillow, zlib, numpy).  None for the CLIP scorer, whose scores
    depend on a model folder outside the key.
    """
    import zlib

    from PIL import __version__ as pil_version

    from simulator.inference.images import images_dir
    from simulator.paths import cache_digest, source_digest

    if dict(method_key[1:]).get("scorer") == "clip":
        return None
    here = os.path.dirname(os.path.abspath(__file__))
    inference = os.path.join(os.path.dirname(here), "inference")
    code = source_digest(__file__, os.path.join(here, "compression.py"),
                         os.path.join(inference, "clip_attention.py"),
                         os.path.join(inference, "images.py"))
    libraries = [pil_version, zlib.ZLIB_RUNTIME_VERSION, np.__version__]
    key = cache_digest("calibration", 1, [str(k) for k in method_key], _images_digest(images_dir()),
                       code, libraries)
    return f"{method_key[0]}-{key[:24]}.json"


_IMAGES_DIGESTS: dict[str, str] = {}


def _images_digest(folder) -> str:
    """SHA-256 of every file under ``folder`` (names and contents), once per process."""
    import hashlib
    from pathlib import Path

    folder = Path(folder)
    if str(folder) not in _IMAGES_DIGESTS:
        digest = hashlib.sha256()
        files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
        for path in files:
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        _IMAGES_DIGESTS[str(folder)] = digest.hexdigest()
    return _IMAGES_DIGESTS[str(folder)]


_CALIBRATION_ARRAYS = {"bytes_ratio": float, "info_removed": float, "full_bytes": np.int64,
                       "bytes_sent": np.int64}


def write_calibration(path, fields: dict) -> None:
    """Store a calibration's fields (``sample_ids``, ``scorer`` and its per-image arrays)
    as JSON; floats round-trip exactly."""
    import json

    data = {"sample_ids": list(fields["sample_ids"]), "scorer": fields["scorer"],
            **{k: np.asarray(fields[k]).tolist() for k in _CALIBRATION_ARRAYS}}
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle)


def read_calibration(path) -> dict:
    """The fields :func:`write_calibration` stored (raises on anything malformed)."""
    import json

    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    ids = tuple(str(i) for i in data["sample_ids"])
    arrays = {k: np.array(data[k], dtype=t) for k, t in _CALIBRATION_ARRAYS.items()}
    if not ids or any(a.shape != (len(ids),) for a in arrays.values()):
        raise ValueError("per-image columns of different lengths")
    scorer = data["scorer"]
    if scorer is not None and not isinstance(scorer, str):
        raise ValueError(f"scorer {scorer!r}")
    return {"sample_ids": ids, "scorer": scorer, **arrays}
