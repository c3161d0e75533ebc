"""The synthetic generator's parameters: task profiles, their calibration, their checks.

What :func:`simulator.inference.synthetic.generate_synthetic` draws from: one
:class:`TaskProfile` per task (accuracies, answer lengths, image sizes, compute
times, with the source of each number), the measured second-opinion rates of the
recorded traces, and :class:`SyntheticParams` (a scenario's ``workload.synthetic``
block, checked field by field).  The generator's model is described in
:mod:`simulator.inference.synthetic`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulator.errors import InputError

GENERATOR_VERSION = 2
SOURCE = f"synthetic (spaceverse generator v{GENERATOR_VERSION})"
TASKS = ("vqa", "classification", "detection")
#: Seed of the fixed feature direction and task offsets (independent of the trace seed).
FEATURE_BASIS_SEED = 20250708
#: Rows per generation block (a multiple of 3, so a mixed block holds equal thirds).
BLOCK_ROWS = 300
#: Random streams: the test rows and the held-apart training pool.
TEST_STREAM, TRAIN_STREAM = 0, 1
#: Default size of the training pool: >= 1,000 rows (what a confidence network needs);
#: the paper's 5 % of RSVQA-LR's 57,223 training questions would be 2,861.
DEFAULT_TRAIN_SAMPLES = 2000
#: Default generated tokens per stage (N_t, as the engine's ``stage_tokens``).
DEFAULT_STAGE_TOKENS = 16
#: ASSUMPTION (no recorded trace has token probabilities): AUROC of the mean token
#: probability of a complete answer for its correctness.
DEFAULT_TOKEN_PROB_AUROC = 0.78
#: Logit of the mean token probability of a wrong answer before noise (sigmoid(1.5) = 0.82):
#: greedy VLM answers are confident whether right or wrong; a design choice.
CONFIDENCE_OFFSET = 1.5
#: A score at least this high counts as correct (accuracy 1; IoU >= 0.5 for boxes).
CORRECT_SCORE = 0.5
#: Boxes agree when their IoU is at least this.
BOX_AGREEMENT_IOU = 0.5

#: Measured on the recorded traces with a second onboard opinion (onboard LLaVA-1.5-7B,
#: second LLaVA-1.6-Vicuna-7B; agreement = equal metrics.normalize_label; correct =
#: onboard_score 1).  Counts from models/traces/<trace>.parquet (converter v1,
#: whu-pzhang/piechat@971468c56670), columns onboard_answer, second_opinion_answer,
#: onboard_score, reference_answer.
SECOND_OPINION_CALIBRATION: dict[str, dict[str, int]] = {
    "ucm-llava15-7b-vs-geochat-7b": {
        "n": 2100, "correct": 1393, "agree_correct": 1114, "agree_wrong": 372,
        "disagree_correct": 279, "disagree_wrong": 335, "disagree_wrong_second_right": 174},
    "aid-llava15-7b-vs-geochat-7b": {
        "n": 3000, "correct": 1516, "agree_correct": 1256, "agree_wrong": 781,
        "disagree_correct": 260, "disagree_wrong": 703, "disagree_wrong_second_right": 313},
}


def _pooled_rates() -> tuple[float, float, float]:
    tot = {k: sum(c[k] for c in SECOND_OPINION_CALIBRATION.values())
           for k in next(iter(SECOND_OPINION_CALIBRATION.values()))}
    wrong = tot["n"] - tot["correct"]
    return (tot["agree_correct"] / tot["correct"], tot["agree_wrong"] / wrong,
            tot["disagree_wrong_second_right"] / tot["disagree_wrong"])


#: Pooled UCM + AID: P(agree | correct) 2370/2909 = 0.8147, P(agree | wrong) 1153/2191 =
#: 0.5262, P(second right | disagree, onboard wrong) 487/1038 = 0.4692.
AGREE_IF_CORRECT, AGREE_IF_WRONG, SECOND_RIGHT_IF_DISAGREE = _pooled_rates()

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
    train_samples: int = DEFAULT_TRAIN_SAMPLES  #: rows of the held-apart training pool
    feature_dim: int = 16
    feature_signal: float = 4.0  #: spread of the difficulty direction
    feature_noise_sd: float = 1.0
    stage_tokens: int = DEFAULT_STAGE_TOKENS  #: N_t of onboard_stage_confidence
    token_prob_auroc: float = DEFAULT_TOKEN_PROB_AUROC  #: ASSUMPTION (see the module doc)
    ground_token_prob_auroc: float = DEFAULT_TOKEN_PROB_AUROC  #: ASSUMPTION
    second_opinion_agree_if_correct: float = AGREE_IF_CORRECT  #: measured, UCM + AID
    second_opinion_agree_if_wrong: float = AGREE_IF_WRONG  #: measured, UCM + AID
    second_opinion_correct_if_disagree: float = SECOND_RIGHT_IF_DISAGREE  #: measured
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
            if not _within(value, whole, low, high, inclusive) or (
                    key.endswith("auroc") and value >= 1):
                raise InputError(f"synthetic {key}={value!r}; expected {expected}")

    @property
    def name(self) -> str:
        pool = f"-train{self.train_samples}" if self.train_samples else ""
        return f"synthetic-{self.task}-{self.samples}{pool}-s{self.seed}"

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
    "train_samples": (True, 0, None, True, "a whole number >= 0"),
    "feature_dim": (True, 1, None, True, "a whole number >= 1"),
    "feature_signal": (False, 0, None, True, "a number >= 0"),
    "feature_noise_sd": (False, 0, None, True, "a number >= 0"),
    "stage_tokens": (True, 1, None, True, "a whole number >= 1"),
    "token_prob_auroc": (False, 0.5, 1, True, "a number in [0.5, 1)"),
    "ground_token_prob_auroc": (False, 0.5, 1, True, "a number in [0.5, 1)"),
    "second_opinion_agree_if_correct": (False, 0, 1, True, "a number in [0, 1]"),
    "second_opinion_agree_if_wrong": (False, 0, 1, True, "a number in [0, 1]"),
    "second_opinion_correct_if_disagree": (False, 0, 1, True, "a number in [0, 1]"),
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
