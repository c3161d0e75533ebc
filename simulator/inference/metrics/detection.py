"""Detection: boxes, their intersection over union and average precision.

Detection
---------
Boxes are axis-aligned ``(x1, y1, x2, y2)`` with ``x1 <= x2`` and ``y1 <= y2``.
:func:`iou` is intersection over union, :func:`match_boxes` a one-to-one
matching at an IoU threshold, :func:`average_precision` the PASCAL VOC
(2010+) all-point interpolated AP and :func:`mean_average_precision` its mean
over classes.

>>> iou((0, 0, 2, 2), (1, 0, 3, 2))
0.3333333333333333
>>> average_precision([(0.9, (0, 0, 1, 1)), (0.8, (5, 5, 6, 6))], [(0, 0, 1, 1)])
1.0
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from simulator.errors import InputError

# --------------------------------------------------------------------------- detection

_NUMBER_RE = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def parse_box(box: str | Sequence[float]) -> tuple[float, float, float, float]:
    """A box ``(x1, y1, x2, y2)`` from a sequence or from text holding its four numbers.

    Text such as ``"[0.1, 0.2, 0.5, 0.6]"`` or Qwen2-VL's
    ``"(100,200),(500,600)"`` gives the first four numbers in it.

    >>> parse_box("<|box_start|>(100,200),(500,600)<|box_end|>")
    (100.0, 200.0, 500.0, 600.0)
    """
    if isinstance(box, str):
        numbers = _NUMBER_RE.findall(box)
        if len(numbers) < 4:
            raise InputError(f"box {box!r}: found {len(numbers)} numbers; expected x1, y1, x2, y2")
        values = [float(v) for v in numbers[:4]]
    else:
        try:
            values = [float(v) for v in box]
        except (TypeError, ValueError):
            raise InputError(f"box {box!r}: expected four numbers x1, y1, x2, y2") from None
        if len(values) != 4:
            raise InputError(f"box {box!r}: {len(values)} values; expected four (x1, y1, x2, y2)")
    x1, y1, x2, y2 = values
    if not all(math.isfinite(v) for v in values) or x2 < x1 or y2 < y1:
        raise InputError(f"box {box!r}: expected finite x1 <= x2 and y1 <= y2")
    return x1, y1, x2, y2


def iou(box_a: Sequence[float] | str, box_b: Sequence[float] | str) -> float:
    """Intersection over union of two axis-aligned boxes ``(x1, y1, x2, y2)``; 0 if both are empty.

    >>> iou((0, 0, 1, 1), (0, 0, 1, 1)), iou((0, 0, 1, 1), (2, 2, 3, 3))
    (1.0, 0.0)
    """
    ax1, ay1, ax2, ay2 = parse_box(box_a)
    bx1, by1, bx2, by2 = parse_box(box_b)
    iw = max(0.0, min(ax2, bx2) - max(ax1, bx1))
    ih = max(0.0, min(ay2, by2) - max(ay1, by1))
    inter = iw * ih
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
    return float(min(1.0, inter / union)) if union > 0 else 0.0


def match_boxes(
    pred: Sequence[Sequence[float]], gt: Sequence[Sequence[float]], threshold: float = 0.5
) -> list[tuple[int, int, float]]:
    """One-to-one matches ``(pred index, gt index, IoU)`` with IoU >= ``threshold``.

    Greedy by IoU: the pair with the highest IoU is matched first, then the
    highest among the remaining boxes, and so on.  (For scored predictions use
    :func:`average_precision`, which matches in score order as VOC does.)

    >>> match_boxes([(0, 0, 2, 2), (10, 10, 12, 12)], [(10, 10, 12, 13), (0, 0, 2, 2)])
    [(0, 1, 1.0), (1, 0, 0.6666666666666666)]
    """
    pairs = sorted(
        ((iou(p, g), i, j) for i, p in enumerate(pred) for j, g in enumerate(gt)),
        key=lambda t: (-t[0], t[1], t[2]),
    )
    used_p: set[int] = set()
    used_g: set[int] = set()
    out = []
    for value, i, j in pairs:
        if value < threshold:
            break
        if i in used_p or j in used_g:
            continue
        used_p.add(i)
        used_g.add(j)
        out.append((i, j, value))
    return sorted(out)


def _detections(predictions, ground_truth) -> tuple[list[tuple[Any, float, tuple]], dict[Any, list]]:
    """Predictions as ``(image, score, box)`` and ground truth as ``{image: [boxes]}``."""
    if isinstance(ground_truth, Mapping):
        gts = {k: [parse_box(b) for b in v] for k, v in ground_truth.items()}
    else:
        gts = {None: [parse_box(b) for b in ground_truth]}
    preds = []
    for p in predictions:
        if len(p) == 2:
            image, (score_, box) = None, p
        elif len(p) == 3:
            image, score_, box = p
        else:
            raise InputError(f"prediction {p!r}: expected (score, box) or (image_id, score, box)")
        preds.append((image, float(score_), parse_box(box)))
    return preds, gts


def average_precision(predictions, ground_truth, iou_threshold: float = 0.5) -> float:
    """PASCAL VOC all-point interpolated average precision of one class.

    ``predictions``: ``(score, box)`` pairs for one image, or ``(image_id,
    score, box)`` triples; ``ground_truth``: a list of boxes (one image) or
    ``{image_id: [boxes]}``.  Predictions are taken in decreasing score order
    (ties keep their input order); each is a true positive if its best-IoU
    ground-truth box in the same image reaches ``iou_threshold`` and is not
    matched yet, else a false positive.  AP is the area under the precision
    envelope (precision made non-increasing from the right) over recall.
    Returns NaN when there is no ground-truth box.

    >>> gt = [(0, 0, 1, 1), (2, 2, 3, 3)]
    >>> average_precision([(0.9, (0, 0, 1, 1)), (0.8, (5, 5, 6, 6)), (0.7, (2, 2, 3, 3))], gt)
    0.8333333333333333
    """
    preds, gts = _detections(predictions, ground_truth)
    n_gt = sum(len(v) for v in gts.values())
    if n_gt == 0:
        return float("nan")
    order = sorted(range(len(preds)), key=lambda k: -preds[k][1])
    matched = {k: [False] * len(v) for k, v in gts.items()}
    tp = np.zeros(len(order))
    for rank, k in enumerate(order):
        image, _, box = preds[k]
        boxes = gts.get(image, [])
        if not boxes:
            continue
        overlaps = [iou(box, g) for g in boxes]
        best = int(np.argmax(overlaps))
        if overlaps[best] >= iou_threshold and not matched[image][best]:
            matched[image][best] = True
            tp[rank] = 1.0
    ctp = np.cumsum(tp)
    recall = ctp / n_gt
    precision = ctp / np.arange(1, len(order) + 1) if len(order) else np.zeros(0)
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    steps = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[steps + 1] - mrec[steps]) * mpre[steps + 1]))


def mean_average_precision(per_class: Mapping[str, tuple], iou_threshold: float = 0.5) -> float:
    """Mean of :func:`average_precision` over classes that have ground-truth boxes.

    ``per_class`` maps a class name to ``(predictions, ground_truth)`` in the
    forms :func:`average_precision` accepts.  NaN if no class has a box.

    >>> mean_average_precision({"car": ([(0.9, (0, 0, 1, 1))], [(0, 0, 1, 1)]),
    ...                         "ship": ([(0.5, (0, 0, 1, 1))], [(4, 4, 5, 5)]),
    ...                         "plane": ([(0.5, (0, 0, 1, 1))], [])})
    0.5
    """
    aps = [average_precision(p, g, iou_threshold) for p, g in per_class.values()]
    aps = [a for a in aps if not math.isnan(a)]
    return float(np.mean(aps)) if aps else float("nan")
