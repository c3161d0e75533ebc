"""Seeded synthetic traces, for when no recorded trace exists.

Every synthetic trace is labelled: ``synthetic: true`` in its metadata,
``synthetic`` in its name (``synthetic-<task>-<samples>-s<seed>``) and
``synthetic qwen2-vl-2b-like`` as its model names.  Same parameters and seed
give the identical table.

The model
---------
Each sample gets a latent **difficulty** ``d ~ U(0, 1)``.  Both models do
worse on harder samples:

    P(correct | d) = sigmoid(a - k d)

with one slope ``k`` per task (``difficulty_slope``) and an intercept ``a``
per model solved numerically so that the *marginal* accuracy -- the mean of
``sigmoid(a - k d)`` over ``d`` -- equals the target exactly
(:func:`calibrate_intercept`).  Given ``d`` the two models err independently,
so their outcomes are correlated through ``d`` alone.

* VQA and classification scores are 0/1 draws with that probability.
* Detection scores are IoU-like: ``Beta(m kappa, (1 - m) kappa)`` with mean
  ``m = sigmoid(a - k d)`` (``iou_concentration`` kappa), so mostly near 0 for
  the 2B, as the paper's Fig. 11b IoU axis (0.05-0.15) suggests.
* ``features`` (16 floats, the V(x) a confidence network sees) are
  ``(d - 1/2) * feature_signal * w + noise`` plus a per-task offset, with a
  fixed unit vector ``w``.  ``w`` and the offsets do **not** depend on the
  seed, so a network trained on one seed's trace applies to another's.
* ``onboard_confidence`` is ``sigmoid(logit m_onboard + confidence_signal *
  z + noise)`` where ``z`` is the onboard score's standardised residual: it
  tracks difficulty *and* the actual outcome, like a token-probability
  confidence (not calibrated).  With the defaults it separates correct from
  wrong onboard answers with an AUROC of about 0.80, the features (through a
  linear fit) about 0.75: a design choice, not a measurement, so that neither
  signal is an oracle and the answer-aware stage g' has something to add.
* ``answer_similarity`` (the Eq. 1 target) is 1 when the two answers agree
  and ``mismatch_similarity`` (0: one-hot answer vectors) otherwise; for
  detection it is the IoU of the two boxes.

Answers are real strings: ``yes``/``no`` (RSVQA presence and comparison
questions), one of the 45 RESISC45 class names, or a box ``[x1, y1, x2, y2]``
in image-normalised coordinates that sits concentrically inside the reference
box with area fraction equal to the score, so its IoU with the reference *is*
the score (to rounding).

Default targets (:data:`TASK_PROFILES`)
---------------------------------------
=================  =======  =======  ==========  ============================
task               2B       7B       gain        basis
=================  =======  =======  ==========  ============================
vqa (RSVQA-LR)     0.559    0.680    +21.65 %    Grace (same group), zero-shot
classification     0.50     0.65     +30.0 %     ASSUMPTION ("similar" gap)
detection (IoU)    0.0506   0.150    +196.4 %    solved for the 82.7 % mean
=================  =======  =======  ==========  ============================

The paper (section 2.1.1) reports an **82.7 %** average gain of the 7B over
the 2B across the three tasks.  VQA alone gives 0.121 / 0.559 = 21.65 %;
with classification at 30 %, detection must supply
3 x 0.827 - 0.2165 - 0.300 = 1.9645, i.e. 7B IoU / 2B IoU = 2.9645; with the
7B at 0.15 IoU, the 2B gets 0.15 / 2.9645 = 0.0506.  Check::

    >>> round(average_gain(), 4)
    0.827

Example::

    >>> t = generate_synthetic("vqa", samples=200, seed=0)
    >>> t.name, t.synthetic, t.meta["models"]["onboard"]
    ('synthetic-vqa-200-s0', True, 'synthetic qwen2-vl-2b-like')
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from simulator.errors import InputError
from simulator.inference.traces import OPTIONAL_COLUMNS, Trace

log = logging.getLogger(__name__)

GENERATOR_VERSION = 1
SOURCE = "synthetic (spaceverse generator v1)"
TASKS = ("vqa", "classification", "detection")
#: Seed of the fixed feature direction and task offsets (independent of the trace seed).
FEATURE_BASIS_SEED = 20250708

RESISC45_CLASSES = (
    "airplane airport baseball_diamond basketball_court beach bridge chaparral church "
    "circular_farmland cloud commercial_area dense_residential desert forest freeway "
    "golf_course ground_track_field harbor industrial_area intersection island lake meadow "
    "medium_residential mobile_home_park mountain overpass palace parking_lot railway "
    "railway_station rectangular_farmland river roundabout runway sea_ice ship snowberg "
    "sparse_residential stadium storage_tank tennis_court terrace thermal_power_station wetland"
).split()
#: The six DOTA-v1.0 categories the paper evaluates (section 4.1.2).
DOTA_CLASSES = (
    "ground track field", "soccer ball field", "swimming pool",
    "baseball diamond", "basketball court", "tennis court",
)
_RSVQA_OBJECTS = ("building", "road", "water area", "farmland", "residential area", "commercial building")


@dataclass(frozen=True)
class TaskProfile:
    """Per-task defaults of the generator, each with its basis in ``source``."""

    task: str
    metric: str  #: "accuracy" (0/1 scores) or "iou" (scores in [0, 1])
    onboard_score: float  #: target mean score of the onboard (2B-like) model
    ground_score: float  #: target mean score of the ground (7B-like) model
    difficulty_slope: float  #: k in sigmoid(a - k d)
    image_side_px: tuple[int, int]  #: (min, max) side; equal for a fixed size
    aspect_max: float  #: width/height drawn log-uniformly in [1/aspect_max, aspect_max]
    bytes_per_px: float  #: mean stored bytes per pixel
    bytes_per_px_log_sd: float  #: per-image spread (log-normal sigma)
    header_bytes: int  #: fixed bytes per file
    prompt_tokens: tuple[int, int]  #: inclusive range, uniform
    output_tokens: tuple[int, int]  #: inclusive range, uniform, per model
    source: str


TASK_PROFILES: dict[str, TaskProfile] = {
    "vqa": TaskProfile(
        task="vqa",
        metric="accuracy",
        onboard_score=0.559,
        ground_score=0.680,
        difficulty_slope=5.0,
        image_side_px=(256, 256),
        aspect_max=1.0,
        bytes_per_px=3.0,
        bytes_per_px_log_sd=0.0,
        header_bytes=583,
        prompt_tokens=(30, 45),
        output_tokens=(2, 3),
        source=(
            "accuracy 2B 0.559 / 7B 0.680: Grace (arXiv 2510.24242, same group, same model pair), "
            "RSVQA-LR zero-shot; images 256x256 RGB (RSVQA-LR, paper 4.1.2); bytes: uncompressed "
            "TIFF, 3 B/px + 583 B header = 197,191 B, measured on 20 RSVQA-LR tiles; prompt: "
            "presence/comparison question + chat template (estimate); output: yes/no + end token"
        ),
    ),
    "classification": TaskProfile(
        task="classification",
        metric="accuracy",
        onboard_score=0.50,
        ground_score=0.65,
        difficulty_slope=5.0,
        image_side_px=(256, 256),
        aspect_max=1.0,
        bytes_per_px=1.66,
        bytes_per_px_log_sd=0.27,
        header_bytes=0,
        prompt_tokens=(180, 200),
        output_tokens=(2, 6),
        source=(
            "accuracy 0.50 / 0.65 (+30 %): ASSUMPTION -- Grace says RESISC45 'shows a similar "
            "result' to RSVQA without numbers; images 256x256 (RESISC45, paper 4.1.2); bytes: "
            "lossless PNG 1.66 B/px (log-sd 0.27), measured on 20 CHOICE scene-classification "
            "PNGs (RESISC45's own JPEGs average 13.6 KB = 0.21 B/px); prompt lists the 45 class "
            "names (estimate); output: a class name, 1-5 tokens + end token"
        ),
    ),
    "detection": TaskProfile(
        task="detection",
        metric="iou",
        onboard_score=0.0506,
        ground_score=0.150,
        difficulty_slope=5.0,
        image_side_px=(800, 4000),
        aspect_max=1.5,
        bytes_per_px=1.83,
        bytes_per_px_log_sd=0.10,
        header_bytes=0,
        prompt_tokens=(35, 50),
        output_tokens=(20, 32),
        source=(
            "mean IoU 7B 0.150 (top of the paper's Fig. 11b IoU axis, 0.05-0.15) and 2B 0.0506, "
            "solved so the 3-task mean 7B-over-2B gain is 82.7 % (paper 2.1.1); images: "
            "DOTA-v1.0, 800-4000 px per side (log-uniform side, aspect up to 1.5; the "
            "distribution is an ASSUMPTION); bytes: PNG 1.83 B/px (log-sd 0.10), measured on 6 "
            "DOTA-v1.0 PNGs; output: a Qwen2-VL grounding answer, one box, ~20-32 tokens"
        ),
    ),
}


def average_gain(profiles: dict[str, TaskProfile] | None = None) -> float:
    """Mean relative gain of the ground over the onboard model across tasks.

    >>> round(100 * average_gain(), 1)   # paper section 2.1.1: 82.7 %
    82.7
    """
    profiles = TASK_PROFILES if profiles is None else profiles
    gains = [p.ground_score / p.onboard_score - 1 for p in profiles.values()]
    return float(np.mean(gains))


@dataclass(frozen=True)
class SyntheticParams:
    """Everything that determines a synthetic trace (stored in its metadata).

    ``None`` means "the task's default from :data:`TASK_PROFILES`".  For
    ``task="mixed"`` (equal thirds of vqa, classification and detection) an
    accuracy given here applies to every task; for detection it is the mean
    IoU.  ``image_side_px`` fixes a square image side for every sample.
    """

    task: str = "vqa"
    samples: int = 1000
    seed: int = 0
    onboard_accuracy: float | None = None
    ground_accuracy: float | None = None
    image_side_px: int | None = None
    difficulty_slope: float | None = None
    feature_dim: int = 16
    feature_signal: float = 4.0  #: spread of the difficulty direction
    feature_noise_sd: float = 1.0
    confidence_signal: float = 0.3  #: weight of the actual outcome in the confidence
    confidence_noise_sd: float = 1.5
    iou_concentration: float = 4.0  #: kappa of the detection Beta
    mismatch_similarity: float = 0.0  #: answer_similarity of disagreeing categorical answers

    def validate(self) -> None:
        """Raise :class:`InputError` for the first out-of-range parameter."""
        if self.task not in (*TASKS, "mixed"):
            expected = ", ".join((*TASKS, "mixed"))
            raise InputError(f"unknown synthetic task {self.task!r}; expected one of {expected}")
        for key, (whole, low, high, inclusive, expected) in _PARAM_RULES.items():
            value = getattr(self, key)
            if value is None and key in _OPTIONAL_PARAMS:
                continue
            if not _within(value, whole, low, high, inclusive):
                raise InputError(f"synthetic {key}={value!r}; expected {expected}")

    @property
    def name(self) -> str:
        return f"synthetic-{self.task}-{self.samples}-s{self.seed}"

    def tasks(self) -> tuple[str, ...]:
        return TASKS if self.task == "mixed" else (self.task,)

    def profile(self, task: str) -> TaskProfile:
        """The task's profile with this object's overrides applied."""
        p = TASK_PROFILES[task]
        changes: dict[str, Any] = {}
        if self.onboard_accuracy is not None:
            changes["onboard_score"] = float(self.onboard_accuracy)
        if self.ground_accuracy is not None:
            changes["ground_score"] = float(self.ground_accuracy)
        if self.difficulty_slope is not None:
            changes["difficulty_slope"] = float(self.difficulty_slope)
        if self.image_side_px is not None:
            changes["image_side_px"] = (int(self.image_side_px), int(self.image_side_px))
            changes["aspect_max"] = 1.0
        return dataclasses.replace(p, **changes) if changes else p


# --------------------------------------------------------------------------- calibration


#: field -> (whole number?, lowest, highest, inclusive bounds?, what is expected).
_PARAM_RULES: dict[str, tuple[bool, float | None, float | None, bool, str]] = {
    "samples": (True, 1, None, True, "a whole number >= 1"),
    "seed": (True, 0, None, True, "a whole number >= 0"),
    "onboard_accuracy": (False, 0, 1, True, "a number in [0, 1]"),
    "ground_accuracy": (False, 0, 1, True, "a number in [0, 1]"),
    "image_side_px": (True, 1, None, True, "a whole number >= 1"),
    "difficulty_slope": (False, 0, None, True, "a number >= 0"),
    "feature_dim": (True, 1, None, True, "a whole number >= 1"),
    "feature_signal": (False, 0, None, True, "a number >= 0"),
    "feature_noise_sd": (False, 0, None, True, "a number >= 0"),
    "confidence_signal": (False, 0, None, True, "a number >= 0"),
    "confidence_noise_sd": (False, 0, None, True, "a number >= 0"),
    "iou_concentration": (False, 0, None, False, "a number > 0"),
    "mismatch_similarity": (False, 0, 1, True, "a number in [0, 1]"),
}
_OPTIONAL_PARAMS = {"onboard_accuracy", "ground_accuracy", "image_side_px", "difficulty_slope"}


def _within(value: Any, whole: bool, low: Any, high: Any, inclusive: bool) -> bool:
    numbers = (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, numbers) or not math.isfinite(value):
        return False
    if whole and not float(value).is_integer():
        return False
    if low is not None and (value < low or (value == low and not inclusive)):
        return False
    return high is None or value < high or (value == high and inclusive)


def _softplus(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def mean_success(intercept: float, slope: float) -> float:
    """Mean of ``sigmoid(intercept - slope * d)`` over ``d ~ U(0, 1)`` (closed form)."""
    if slope == 0:
        return float(_sigmoid(np.float64(intercept)))
    return (_softplus(intercept) - _softplus(intercept - slope)) / slope


def calibrate_intercept(target: float, slope: float) -> float:
    """The intercept ``a`` with ``mean_success(a, slope) == target``.

    >>> a = calibrate_intercept(0.559, 5.0)
    >>> round(mean_success(a, 5.0), 9)
    0.559
    """
    if not 0 < target < 1:
        raise InputError(f"target mean score {target!r}; expected a number strictly between 0 and 1")
    lo, hi = -60.0, 60.0 + slope
    for _ in range(200):  # mean_success is increasing in the intercept
        mid = 0.5 * (lo + hi)
        if mean_success(mid, slope) < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


# --------------------------------------------------------------------------- generation


def _success_probability(target: float, slope: float, d: np.ndarray) -> np.ndarray:
    """``sigmoid(a - slope d)`` calibrated to mean ``target``; constant for a target of 0 or 1."""
    if target <= 0 or target >= 1:
        return np.full(len(d), float(target))
    return _sigmoid(calibrate_intercept(target, slope) - slope * d)


def _beta_scores(mean: np.ndarray, kappa: float, rng: np.random.Generator) -> np.ndarray:
    """IoU-like scores: Beta(mean kappa, (1 - mean) kappa); exactly ``mean`` where it is 0 or 1."""
    inner = (mean > 0) & (mean < 1)
    m = np.clip(mean, 1e-9, 1 - 1e-9)
    return np.where(inner, np.clip(rng.beta(m * kappa, (1 - m) * kappa), 0.0, 1.0), mean)


def _feature_basis(dim: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    rng = np.random.default_rng(FEATURE_BASIS_SEED)
    w = rng.normal(size=dim)
    w /= np.linalg.norm(w)
    offsets = {task: rng.normal(scale=1.0, size=dim) for task in TASKS}
    return w, offsets


def _uniform_int(rng: np.random.Generator, bounds: tuple[int, int], n: int) -> np.ndarray:
    lo, hi = bounds
    return rng.integers(lo, hi + 1, size=n).astype(np.int64)


def _boxes(cx, cy, bw, bh) -> np.ndarray:
    """Boxes ``[x1, y1, x2, y2]`` (n x 4), rounded to the 6 decimals written out."""
    return np.round(np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1), 6)


def _iou(a: np.ndarray, b: np.ndarray, empty: float = 0.0) -> np.ndarray:
    """Row-wise intersection over union; ``empty`` where both boxes have no area."""
    ix = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    iy = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    inter = ix * iy
    area = lambda box: (box[:, 2] - box[:, 0]) * (box[:, 3] - box[:, 1])  # noqa: E731
    union = area(a) + area(b) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.clip(np.where(union > 0, inter / np.where(union > 0, union, 1.0), empty), 0.0, 1.0)


def _box_strings(boxes: np.ndarray) -> list[str]:
    return [f"[{a:.6f}, {b:.6f}, {c:.6f}, {d:.6f}]" for a, b, c, d in boxes]


def _generate_task(
    p: TaskProfile, params: SyntheticParams, n: int, rng: np.random.Generator
) -> pd.DataFrame:
    k = p.difficulty_slope
    d = rng.random(n)
    m_on = _success_probability(p.onboard_score, k, d)
    m_gr = _success_probability(p.ground_score, k, d)

    if p.metric == "accuracy":
        s_on = (rng.random(n) < m_on).astype(float)
        s_gr = (rng.random(n) < m_gr).astype(float)
        var_on = m_on * (1 - m_on)
    else:
        kappa = params.iou_concentration
        s_on, s_gr = _beta_scores(m_on, kappa, rng), _beta_scores(m_gr, kappa, rng)
        var_on = m_on * (1 - m_on) / (kappa + 1)

    # confidence: difficulty plus the realised outcome plus noise
    z = np.clip((s_on - m_on) / np.sqrt(np.maximum(var_on, 1e-12)), -3, 3)
    m_clip = np.clip(m_on, 1e-6, 1 - 1e-6)
    logit_on = np.log(m_clip) - np.log1p(-m_clip)
    noise = rng.normal(0, params.confidence_noise_sd, n)
    conf = _sigmoid(logit_on + params.confidence_signal * z + noise)

    # features: fixed direction w scaled by difficulty, task offset, noise
    w, offsets = _feature_basis(params.feature_dim)
    feats = (
        np.outer(d - 0.5, w) * params.feature_signal
        + offsets[p.task]
        + rng.normal(0, params.feature_noise_sd, (n, params.feature_dim))
    ).astype(np.float32)

    # image size and bytes
    lo, hi = p.image_side_px
    if lo == hi:
        width = np.full(n, lo, dtype=np.int64)
        height = width.copy()
    else:
        side = np.exp(rng.uniform(math.log(lo), math.log(hi), n))
        aspect = np.exp(rng.uniform(-math.log(p.aspect_max), math.log(p.aspect_max), n))
        width = np.clip(np.rint(side * np.sqrt(aspect)), lo, hi).astype(np.int64)
        height = np.clip(np.rint(side / np.sqrt(aspect)), lo, hi).astype(np.int64)
    sd = p.bytes_per_px_log_sd
    spread = np.exp(rng.normal(0, sd, n) - sd * sd / 2) if sd > 0 else np.ones(n)
    bpp = p.bytes_per_px * spread  # log-normal with mean bytes_per_px
    image_bytes = (np.rint(width * height * bpp) + p.header_bytes).astype(np.int64)

    prompt = _uniform_int(rng, p.prompt_tokens, n)
    out_on = _uniform_int(rng, p.output_tokens, n)
    out_gr = _uniform_int(rng, p.output_tokens, n)

    # answers
    if p.task == "vqa":
        obj = rng.integers(0, len(_RSVQA_OBJECTS), (n, 2))
        comparison = rng.random(n) < 0.5
        question = [
            f"Is the number of {_RSVQA_OBJECTS[i]}s greater than the number of {_RSVQA_OBJECTS[j]}s?"
            if c and i != j else f"Is there a {_RSVQA_OBJECTS[i]} in the image?"
            for (i, j), c in zip(obj, comparison)
        ]
        ref = rng.random(n) < 0.5
        labels = np.array(["no", "yes"], dtype=object)
        reference = labels[ref.astype(int)]
        answer_on = labels[np.where(s_on == 1, ref, ~ref).astype(int)]
        answer_gr = labels[np.where(s_gr == 1, ref, ~ref).astype(int)]
        similarity = np.where(answer_on == answer_gr, 1.0, params.mismatch_similarity)
    elif p.task == "classification":
        n_cls = len(RESISC45_CLASSES)
        classes = np.array(RESISC45_CLASSES, dtype=object)
        ref_idx = rng.integers(0, n_cls, n)
        wrong_on = (ref_idx + rng.integers(1, n_cls, n)) % n_cls
        wrong_gr = (ref_idx + rng.integers(1, n_cls, n)) % n_cls
        reference = classes[ref_idx]
        answer_on = classes[np.where(s_on == 1, ref_idx, wrong_on)]
        answer_gr = classes[np.where(s_gr == 1, ref_idx, wrong_gr)]
        question = [
            "Which of the 45 scene classes does this image show? Answer with one class name."
        ] * n
        similarity = np.where(answer_on == answer_gr, 1.0, params.mismatch_similarity)
    else:
        target = np.array(DOTA_CLASSES, dtype=object)[rng.integers(0, len(DOTA_CLASSES), n)]
        question = [f"Detect the {t} in the image; answer with its box [x1, y1, x2, y2]." for t in target]
        cx, cy = rng.uniform(0.2, 0.8, n), rng.uniform(0.2, 0.8, n)
        bw, bh = rng.uniform(0.05, 0.3, n), rng.uniform(0.05, 0.3, n)
        # a box concentric with the reference and inside it has IoU = its area
        # fraction; scores and similarity are then re-measured on the boxes as
        # written (6 decimals), so answers and scores agree exactly
        ref_box = _boxes(cx, cy, bw, bh)
        on_box = _boxes(cx, cy, bw * np.sqrt(s_on), bh * np.sqrt(s_on))
        gr_box = _boxes(cx, cy, bw * np.sqrt(s_gr), bh * np.sqrt(s_gr))
        s_on, s_gr = _iou(on_box, ref_box), _iou(gr_box, ref_box)
        similarity = _iou(on_box, gr_box, empty=1.0)
        reference, answer_on, answer_gr = (_box_strings(b) for b in (ref_box, on_box, gr_box))

    return pd.DataFrame(
        {
            "sample_id": "",
            "task": p.task,
            "image_width_px": width,
            "image_height_px": height,
            "image_bytes": image_bytes,
            "prompt_tokens": prompt,
            "onboard_answer": np.asarray(answer_on, dtype=object),
            "ground_answer": np.asarray(answer_gr, dtype=object),
            "onboard_score": s_on,
            "ground_score": s_gr,
            "onboard_output_tokens": out_on,
            "ground_output_tokens": out_gr,
            "question": question,
            "reference_answer": np.asarray(reference, dtype=object),
            "onboard_confidence": conf,
            "difficulty": d,
            "features": list(feats),
            "answer_similarity": similarity.astype(float),
        }
    )


def generate_synthetic(
    task: str = "vqa",
    samples: int = 1000,
    seed: int = 0,
    *,
    onboard_accuracy: float | None = None,
    ground_accuracy: float | None = None,
    image_side_px: int | None = None,
    **options: Any,
) -> Trace:
    """A synthetic trace named ``synthetic-<task>-<samples>-s<seed>``.

    ``task`` is ``vqa``, ``classification``, ``detection`` or ``mixed``;
    ``options`` are the other fields of :class:`SyntheticParams`.

    >>> a = generate_synthetic("mixed", samples=30, seed=4).table
    >>> b = generate_synthetic("mixed", samples=30, seed=4).table
    >>> a.drop(columns="features").equals(b.drop(columns="features")), sorted(a.task.unique())
    (True, ['classification', 'detection', 'vqa'])
    """
    known = {f.name for f in dataclasses.fields(SyntheticParams)}
    for key in options:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise InputError(f"unknown synthetic generator option {key!r}{hint}")
    params = SyntheticParams(
        task=task, samples=samples, seed=seed, onboard_accuracy=onboard_accuracy,
        ground_accuracy=ground_accuracy, image_side_px=image_side_px, **options,
    )
    params.validate()
    whole = {k: int(getattr(params, k)) for k in ("samples", "seed", "feature_dim")}
    if params.image_side_px is not None:
        whole["image_side_px"] = int(params.image_side_px)
    params = dataclasses.replace(params, **whole)
    rng = np.random.default_rng(params.seed)
    tasks = params.tasks()
    share, extra = divmod(params.samples, len(tasks))
    counts = [share + (i < extra) for i in range(len(tasks))]
    parts = [_generate_task(params.profile(t), params, c, rng) for t, c in zip(tasks, counts) if c]
    table = pd.concat(parts, ignore_index=True)
    if len(parts) > 1:
        table = table.iloc[rng.permutation(len(table))].reset_index(drop=True)
    table["sample_id"] = [f"{t}-{i:06d}" for i, t in enumerate(table["task"])]

    profiles = {t: dataclasses.asdict(params.profile(t)) for t in tasks}
    for t in tasks:
        p = params.profile(t)
        for who in ("onboard", "ground"):
            target = getattr(p, f"{who}_score")
            intercept = calibrate_intercept(target, p.difficulty_slope) if 0 < target < 1 else None
            profiles[t][f"{who}_intercept"] = intercept
    meta = {
        "name": params.name,
        "source": SOURCE,
        "models": {"onboard": "synthetic qwen2-vl-2b-like", "ground": "synthetic qwen2-vl-7b-like"},
        "task": params.task,
        "licence": "CC0-1.0 (generated data, no third-party content)",
        "synthetic": True,
        "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "generator": {
            "version": GENERATOR_VERSION,
            "params": dataclasses.asdict(params),
            "profiles": profiles,
            "feature_basis_seed": FEATURE_BASIS_SEED,
        },
        "n_samples": len(table),
        "notes": (
            "Synthetic: latent difficulty d ~ U(0,1) drives both models' scores through "
            "sigmoid(a - k d), calibrated to the per-task target means; not model outputs. "
            "Default targets: RSVQA 2B 0.559 / 7B 0.680 (Grace), classification 0.50 / 0.65 "
            "(assumption), detection IoU 0.0506 / 0.150 (solved for the paper's 82.7 % mean gain)."
        ),
        "schema_version": 1,
        "missing": [c for c in OPTIONAL_COLUMNS if c not in table.columns],
    }
    trace = Trace(table, meta)
    trace.validate()
    log.debug("generated %s", params.name)
    return trace
