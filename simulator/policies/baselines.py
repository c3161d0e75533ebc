"""Learning baselines of the paper's §4.1.5: Tabi and AI-RG.

Importing this module registers ``tabi`` and ``ai-rg`` in
:data:`simulator.policies.allocation.REGISTRY`.  Both learn from the training
split (``PolicyContext.train``, ``workload.train_fraction`` > 0) and never look
at the test samples' scores.

Tabi (``tabi``)
===============

Wang et al., "Tabi: an efficient multi-level inference system for large
language models", EuroSys'23, as SpaceVerse describes it: one calibrated
confidence from the onboard model's output-token probabilities; a sample whose
confidence is below ``threshold`` is re-routed to the ground model *after* the
full onboard inference (stage ``final``: it pays the whole onboard time, the
source of the paper's +69.9 % latency), with the full image (no compression:
``sends_full_image``); the two answers are then combined by a weighted ensemble.

* **Calibration (temperature scaling).**  For a recorded mean token probability
  ``p`` the calibrated confidence is ``c = sigmoid(logit(p) / T)``.  ``T`` is
  fitted on the training split by minimising the binary negative log-likelihood
  of correctness ``y = 1[onboard_score >= 0.5]`` given ``c``:
  ``NLL(T) = -sum y log c + (1 - y) log(1 - c)``.  With ``u = 1/T`` this is a
  logistic regression through the origin on the single feature ``logit(p)``,
  convex in ``u``, so the derivative ``sum (c - y) logit(p)`` is increasing in
  ``u`` and a bisection on it finds the minimum; ``T`` is kept in
  ``[0.05, 20]`` (``T = 20`` when the confidence is anti-correlated with
  correctness).  Token logits are not recorded, so the temperature acts on the
  sequence-level logit of the recorded mean token probability rather than on
  each token's softmax; for one-token closed answers the two coincide.
* **Routing.**  Offload if ``c < threshold``.  Default ``threshold = 0.5``: for a
  calibrated probability of being right, the point below which the onboard
  answer is more likely wrong than right.  (Grace, the SpaceVerse group's sister
  paper, uses 0.75 on the *uncalibrated* geometric mean of token probabilities;
  raw LLM probabilities are over-confident, so that cut is not transferable.)
* **Weighted ensemble** (research note ml-baselines.md §2.3.5).  For an
  offloaded sample both answers exist.  For closed answer sets (classification,
  multiple choice, short VQA answers) the combined distribution is
  ``P(a) = w P_s(a) + (1 - w) P_g(a)`` with the confidence weight
  ``w = c_s / (c_s + c_g)`` (or a fixed ``weight`` parameter) and the answer is
  its argmax.  With only each model's chosen answer and its confidence known
  (``P_s(a_s) = c_s``, ``P_g(a_g) = c_g``), the answers agree or the argmax is the
  onboard answer iff ``w c_s > (1 - w) c_g``.  ``c_g`` is the per-sample
  ``ground_confidence`` column (the ground model's token probability) when the
  trace has one, else a constant: the ground model's accuracy on the training
  split.  Free-text and box answers have no distribution to mix: the ground
  answer is used.  The chosen answer's score is returned as
  ``Plan.offload_score``.  Tabi's attention-based word pruning shortens the
  prompt only; it is left out (it changes no byte of the image downlink).
* **Fallbacks** when the trace has no token probabilities (``onboard_confidence``
  missing, or a 0/1 agreement signal as in the UCM/AID traces — detected from the
  metadata note "NOT a probability" or from values all in {0, 1}):

  1. ``second_opinion_answer`` present: the agreement of the two onboard answers
     (label / VQA normalisation), calibrated by histogram binning — the
     confidence of a sample is the training-split accuracy of the onboard model
     among samples with the same agreement value (smoothed towards the overall
     training accuracy with a pseudo-count of 2);
  2. otherwise: the training-split accuracy of the onboard model per
     (normalised) onboard answer, i.e. per predicted class, with the same
     smoothing; answers never seen in training get the overall accuracy.

  The plan's notes then say ``"tabi fallback": ...``.

AI-RG (``ai-rg``)
=================

A faithful simplified version of He et al., "Active inference for offloading
LLM inference tasks ...", IEEE TMC 23(12), 2024 ("active inference with
rewardless guidance"): per decision epoch, a cross-entropy-method (CEM) planner
searches over offload actions and scores them by an expected free energy made of
a hand-written preference over latency and accuracy (the "rewardless guidance",
He et al. Eq. 11, used instead of an environment reward) and an epistemic
(entropy) bonus.

* **Epochs.**  Samples are taken ``batch`` at a time in index order, which is the
  capture order of the engine's workload spread (uniform and Poisson arrivals
  are both in index order).
* **Action.**  A vector ``a`` in ``[0, 1]^m`` of offload probabilities, one per
  sample of the epoch; offloading happens at capture (stage 0), a kept sample is
  answered onboard (stage ``final``).
* **Expected free energy** (minimised)::

      G(a) = latency_weight * E[mean latency] - E[mean accuracy] - guidance_weight * mean H(a_i)

  - latency of sample i: kept, the full onboard time ``onboard_s_at_stage[i, final]``;
    offloaded, ``contact_wait_s`` (if ``count_contact_wait``) + ``tx_s[i]`` +
    ``ground_s[i]`` + the expected wait behind the epoch's earlier offloads on
    the downlink, ``sum_{j < i} a_j tx_s[j]`` (the computation/communication
    coupling of AI-RG's state);
  - accuracy is **per server, never per sample**: the onboard and the ground
    model's mean score on the training split (per task type when the task has at
    least 5 training samples, else overall).  This is the property SpaceVerse
    criticises ("its selection ignores sample difficulty");
  - ``H(a_i)`` is the Bernoulli entropy (nats) of each offload probability: the
    epistemic bonus on the action distribution.  With a separable cost the
    optimum is ``a_i = sigmoid(-dG_i / guidance_weight)``, the Boltzmann policy
    ``q(pi) ~ exp(-G / gamma)`` of active inference.
* **CEM.**  A diagonal Gaussian over ``a`` (mean 0.5, sd 0.5 at the start);
  ``population`` candidates clipped to ``[0, 1]``; the ``elite_fraction`` with
  the lowest ``G`` refit mean and sd; ``iterations`` rounds; all draws from
  ``ctx.rng``.  The mean of the final distribution is the offload probability;
  the action is drawn from it (``act = "sample"``, as Algorithm 1 acts with
  ``a ~ pi``) or thresholded at 0.5 (``act = "threshold"``).
* **Defaults.**  ``population = 500``, ``elite_fraction = 0.1`` (top 50): the CEM
  planner of Tschantz et al. 2020 (rl-inference), on which He et al. build (they
  give no values); ``iterations = 30`` instead of its 5, because rank-based CEM
  over a 32-sample action vector moves slowly: after 5 rounds about 17 % of the
  offload probability is still left where offloading is plainly worse (0.9 % after
  20, 0.02 % after 40).  ``latency_weight = 1/64`` accuracy per second:
  the slope of He et al.'s utility ``U = 1/L + P`` (Eq. 10) at their reported
  mean latency of about 8 s.  ``guidance_weight = 0.01`` and ``batch = 32`` are
  this simulator's choices.  The image goes down raw (``sends_full_image``), as
  for every baseline of the paper.

Register in :mod:`simulator.policies.allocation` (or anywhere before a run) with
``import simulator.policies.baselines  # noqa: F401``.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from .allocation import REGISTRY, AllocationPolicy, Plan, PolicyContext
from .registry import Param

logger = logging.getLogger(__name__)

#: Bounds of the fitted temperature.
T_MIN, T_MAX = 0.05, 20.0
_P_CLIP = 1e-6
#: Pseudo-count of the histogram-binning fallbacks (towards the overall accuracy).
SMOOTHING = 2.0
#: A task needs this many training samples for its own per-server accuracy in AI-RG.
MIN_TASK_SAMPLES = 5


# --------------------------------------------------------------------------- helpers


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), _P_CLIP, 1.0 - _P_CLIP)
    return np.log(p) - np.log1p(-p)


def calibrate(p: np.ndarray, temperature: float) -> np.ndarray:
    """Temperature-scaled confidence ``sigmoid(logit(p) / T)``.

    >>> calibrate(np.array([0.5, 0.9]), 1.0).round(3).tolist()
    [0.5, 0.9]
    >>> float(calibrate(np.array([0.9]), 2.0)[0].round(3))
    0.75
    """
    return _sigmoid(_logit(p) / float(temperature))


def binary_nll(c: np.ndarray, y: np.ndarray) -> float:
    """Mean negative log-likelihood of 0/1 outcomes ``y`` under probabilities ``c``."""
    c = np.clip(np.asarray(c, dtype=float), 1e-12, 1 - 1e-12)
    y = np.asarray(y, dtype=float)
    return float(-np.mean(y * np.log(c) + (1 - y) * np.log1p(-c)))


def fit_temperature(p: np.ndarray, correct: np.ndarray) -> float:
    """The temperature ``T`` in ``[T_MIN, T_MAX]`` minimising the NLL of ``correct``.

    ``p`` are raw confidences (mean token probabilities), ``correct`` 0/1.  The
    NLL is convex in ``u = 1/T``; its derivative ``sum (sigmoid(u s) - y) s``
    (``s = logit p``) is increasing, so a bisection on its sign converges.

    >>> rng = np.random.default_rng(0)
    >>> s = rng.normal(0, 2, 20000)
    >>> y = rng.random(20000) < 1 / (1 + np.exp(-s))
    >>> round(fit_temperature(1 / (1 + np.exp(-3 * s)), y), 1)
    3.0
    """
    s = _logit(p)
    y = np.asarray(correct, dtype=float)
    if s.size == 0:
        raise ValueError("no samples to fit a temperature on")

    def slope(u: float) -> float:
        return float(np.sum((_sigmoid(u * s) - y) * s))

    lo, hi = 1.0 / T_MAX, 1.0 / T_MIN
    if slope(lo) >= 0:      # the NLL grows with u from the start: flattest allowed
        return T_MAX
    if slope(hi) <= 0:      # still falling at the sharpest allowed
        return T_MIN
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if slope(mid) > 0:
            hi = mid
        else:
            lo = mid
        if hi - lo < 1e-10:
            break
    return 1.0 / (0.5 * (lo + hi))


def _correct(table: pd.DataFrame) -> np.ndarray:
    return (table["onboard_score"].to_numpy(float) >= 0.5).astype(float)


def _normalise_answers(table: pd.DataFrame, column: str) -> np.ndarray:
    """Answers in one canonical spelling: scene labels for classification, VQA otherwise."""
    from ..inference import metrics

    tasks = table["task"].astype(str).to_numpy() if "task" in table else np.full(len(table), "")
    out = []
    for task, text in zip(tasks, table[column].astype(str).to_numpy()):
        if task == "classification":
            out.append(metrics.normalize_label(text))
        else:
            out.append(metrics.normalize_vqa_answer(text))
    return np.array(out, dtype=object)


def _binned_accuracy(train_keys: np.ndarray, train_correct: np.ndarray,
                     keys: np.ndarray) -> tuple[np.ndarray, dict]:
    """Smoothed training accuracy per key (histogram-binning calibration)."""
    overall = float(train_correct.mean())
    frame = pd.DataFrame({"k": train_keys, "y": train_correct})
    grouped = frame.groupby("k")["y"].agg(["sum", "count"])
    table = ((grouped["sum"] + SMOOTHING * overall) / (grouped["count"] + SMOOTHING)).to_dict()
    conf = np.array([table.get(k, overall) for k in keys], dtype=float)
    return conf, {str(k): round(float(v), 4) for k, v in table.items()}


def _require_train(ctx: PolicyContext, name: str) -> pd.DataFrame:
    train = ctx.train
    if train is None or len(train) == 0:
        raise InputError(f"{name} needs workload.train_fraction > 0: it learns from a training "
                         "split of the trace (the paper uses 5 %, workload.train_fraction=0.05)")
    return train


def _number(params: dict, key: str, default: float, low: float | None = None,
            high: float | None = None, integer: bool = False) -> Any:
    value = params.get(key, default)
    try:
        number = int(value) if integer else float(value)
        if integer and number != float(value):
            raise ValueError
    except (TypeError, ValueError):
        kind = "an integer" if integer else "a number"
        raise InputError(f"policy.params.{key}: expected {kind}, got {value!r}") from None
    if (low is not None and number < low) or (high is not None and number > high):
        span = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise InputError(f"policy.params.{key}: expected a value {span}, got {value!r}")
    return number


# --------------------------------------------------------------------------- Tabi


def _is_agreement_signal(ctx: PolicyContext, values: np.ndarray) -> bool:
    """True when ``onboard_confidence`` is a 0/1 agreement flag, not a probability."""
    note = str((ctx.trace_meta or {}).get("onboard_confidence", ""))
    if "not a probability" in note.lower():
        return True
    finite = values[np.isfinite(values)]
    return finite.size > 0 and bool(np.isin(finite, (0.0, 1.0)).all())


class Tabi(AllocationPolicy):
    """Calibrated token-probability confidence, offload after full onboard inference.

    See the module docstring for the calibration, the ensemble and the fallbacks.
    """

    name = "tabi"
    sends_full_image = True
    validates_params = True

    DEFAULTS = {"threshold": 0.5, "weight": None}
    params_schema = {
        "threshold": Param("number", DEFAULTS["threshold"], "offload when the calibrated onboard "
                           "confidence is below it", low=0, high=1),
        "weight": Param("number", DEFAULTS["weight"], "fixed ensemble weight of the onboard "
                        "answer", low=0, high=1,
                        default_text="confidence-weighted c_s / (c_s + c_g)"),
    }

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.threshold = _number(self.params, "threshold", self.DEFAULTS["threshold"], 0.0, 1.0)
        self.weight = (None if self.params.get("weight") is None
                       else _number(self.params, "weight", 0.5, 0.0, 1.0))

    def describe(self) -> dict:
        return {"name": self.name, "threshold": self.threshold, "weight": self.weight}

    def confidence(self, ctx: PolicyContext) -> tuple[np.ndarray, dict]:
        """Calibrated onboard confidence of every test sample, and notes on how."""
        train = _require_train(ctx, "tabi")
        samples = ctx.samples
        y = _correct(train)
        missing = set((ctx.trace_meta or {}).get("missing", []))
        has_conf = ("onboard_confidence" in samples and "onboard_confidence" in train
                    and "onboard_confidence" not in missing)
        if has_conf:
            both = np.concatenate([train["onboard_confidence"].to_numpy(float),
                                   samples["onboard_confidence"].to_numpy(float)])
            if not _is_agreement_signal(ctx, both):
                t = fit_temperature(train["onboard_confidence"].to_numpy(float), y)
                raw_train = train["onboard_confidence"].to_numpy(float)
                notes = {"confidence": "calibrated mean token probability (temperature scaling)",
                         "temperature": round(t, 4),
                         "train_nll_raw": round(binary_nll(np.clip(raw_train, _P_CLIP,
                                                                    1 - _P_CLIP), y), 4),
                         "train_nll_calibrated": round(binary_nll(calibrate(raw_train, t), y), 4)}
                return calibrate(samples["onboard_confidence"].to_numpy(float), t), notes
        why = ("the trace's onboard_confidence is a 0/1 agreement signal, not token "
               "probabilities" if has_conf else "the trace has no token probabilities "
               "(onboard_confidence missing)")
        if "second_opinion_answer" in samples and "second_opinion_answer" in train:
            agree_train = (_normalise_answers(train, "onboard_answer")
                           == _normalise_answers(train, "second_opinion_answer"))
            agree = (_normalise_answers(samples, "onboard_answer")
                     == _normalise_answers(samples, "second_opinion_answer"))
            conf, table = _binned_accuracy(agree_train.astype(int), y, agree.astype(int))
            return conf, {"tabi fallback": f"{why}; confidence = training accuracy of the "
                                           "onboard model given whether its answer agrees with "
                                           "the second onboard opinion (second_opinion_answer)",
                          "confidence": "agreement, binned",
                          "confidence_by_agreement": {"disagree": table.get("0"),
                                                      "agree": table.get("1")}}
        keys_train = _normalise_answers(train, "onboard_answer")
        keys = _normalise_answers(samples, "onboard_answer")
        conf, table = _binned_accuracy(keys_train, y, keys)
        return conf, {"tabi fallback": f"{why}; confidence = training accuracy of the onboard "
                                       "model per onboard answer (class)",
                      "confidence": "per-answer training accuracy",
                      "answers_seen_in_training": len(table)}

    def plan(self, ctx: PolicyContext) -> Plan:
        conf, notes = self.confidence(ctx)
        samples = ctx.samples
        n = len(samples)
        offload = conf < self.threshold
        if "ground_confidence" in samples:
            c_ground = samples["ground_confidence"].to_numpy(float)
            notes["ground_confidence"] = "per sample (ground_confidence column)"
        else:
            acc = float(ctx.train["ground_score"].to_numpy(float).mean())
            c_ground = np.full(n, acc)
            notes["ground_confidence"] = f"constant: ground model's training accuracy {acc:.4f}"
        if self.weight is None:
            with np.errstate(invalid="ignore", divide="ignore"):
                w = np.where(conf + c_ground > 0, conf / (conf + c_ground), 0.5)
        else:
            w = np.full(n, self.weight)
        closed = _closed_answers(samples)
        keep_onboard_answer = closed & (w * conf > (1.0 - w) * c_ground)
        ensemble = np.where(keep_onboard_answer, samples["onboard_score"].to_numpy(float),
                            samples["ground_score"].to_numpy(float))
        notes.update({
            "threshold": self.threshold,
            "ensemble_weight": ("confidence-weighted c_s / (c_s + c_g)" if self.weight is None
                                else self.weight),
            "ensemble_closed_answer_share": round(float(closed.mean()) if n else 0.0, 4),
            "offload_fraction": round(float(offload.mean()) if n else 0.0, 4),
            "offloaded_answered_onboard_by_ensemble": int((offload & keep_onboard_answer).sum()),
            "train_samples": int(len(ctx.train)),
        })
        return Plan(offload.astype(bool), np.full(n, ctx.final_stage, dtype=int),
                    offload_score=ensemble, notes=notes)


def _closed_answers(table: pd.DataFrame) -> np.ndarray:
    """Rows whose answers come from a closed set (the ensemble can mix them).

    Classification and multiple choice always; VQA when both answers are short
    (at most three words, e.g. yes/no or a count); detection boxes and free text
    never.
    """
    tasks = (table["task"].astype(str).str.lower().to_numpy() if "task" in table
             else np.full(len(table), ""))
    short = np.array([len(str(a).split()) <= 3 and len(str(b).split()) <= 3
                      for a, b in zip(table["onboard_answer"], table["ground_answer"])],
                     dtype=bool) if len(table) else np.zeros(0, dtype=bool)
    return np.isin(tasks, ["classification", "mcq"]) | ((tasks == "vqa") & short)


# --------------------------------------------------------------------------- AI-RG


def _bernoulli_entropy(a: np.ndarray) -> np.ndarray:
    a = np.clip(a, 1e-12, 1 - 1e-12)
    return -(a * np.log(a) + (1 - a) * np.log1p(-a))


class ActiveInferenceRG(AllocationPolicy):
    """Active inference with rewardless guidance and CEM planning (see the module docstring)."""

    name = "ai-rg"
    sends_full_image = True
    validates_params = True

    DEFAULTS = {"latency_weight": 1.0 / 64.0, "guidance_weight": 0.01, "iterations": 30,
                "population": 500, "elite_fraction": 0.1, "batch": 32,
                "count_contact_wait": False, "act": "sample"}
    params_schema = {
        "latency_weight": Param("number", DEFAULTS["latency_weight"], "accuracy traded for one "
                                "second of latency in the free energy", low=0),
        "guidance_weight": Param("number", DEFAULTS["guidance_weight"], "weight of the entropy "
                                 "(epistemic) bonus", low=0),
        "iterations": Param("integer", DEFAULTS["iterations"], "CEM rounds per epoch", low=1),
        "population": Param("integer", DEFAULTS["population"], "CEM candidates per round",
                            low=2),
        "elite_fraction": Param("number", DEFAULTS["elite_fraction"], "share of the candidates "
                                "that refit the CEM distribution", low=0, high=1, low_open=True),
        "batch": Param("integer", DEFAULTS["batch"], "samples per decision epoch", low=1),
        "count_contact_wait": Param("boolean", DEFAULTS["count_contact_wait"], "count the mean "
                                    "wait for a contact in the offload latency"),
        "act": Param("choice", DEFAULTS["act"], "draw the action from the offload probability "
                     "(sample) or threshold it at 0.5", choices=("sample", "threshold")),
    }

    def __init__(self, **params: Any):
        super().__init__(**params)
        p, d = self.params, self.DEFAULTS
        self.latency_weight = _number(p, "latency_weight", d["latency_weight"], 0.0)
        self.guidance_weight = _number(p, "guidance_weight", d["guidance_weight"], 0.0)
        self.iterations = _number(p, "iterations", d["iterations"], 1, integer=True)
        self.population = _number(p, "population", d["population"], 2, integer=True)
        self.elite_fraction = _number(p, "elite_fraction", d["elite_fraction"], 0.0, 1.0)
        self.batch = _number(p, "batch", d["batch"], 1, integer=True)
        wait = p.get("count_contact_wait", d["count_contact_wait"])
        if not isinstance(wait, bool):
            raise InputError(f"policy.params.count_contact_wait: expected true or false, "
                             f"got {wait!r}")
        self.count_contact_wait = wait
        self.act = str(p.get("act", d["act"]))
        if self.act not in ("sample", "threshold"):
            raise InputError(f"policy.params.act: expected sample or threshold, got {self.act!r}")
        if self.elite_fraction <= 0:
            raise InputError("policy.params.elite_fraction: expected a value in (0, 1]")

    def describe(self) -> dict:
        return {"name": self.name, **{k: getattr(self, k) for k in self.DEFAULTS}}

    # per-server accuracy ------------------------------------------------------
    @staticmethod
    def server_accuracy(ctx: PolicyContext) -> tuple[np.ndarray, np.ndarray, dict]:
        """Per-sample arrays of the onboard and ground *server* accuracy, and a table.

        The accuracy of a server for a sample is its mean score on the training
        split over the sample's task type (overall when that task has fewer than
        ``MIN_TASK_SAMPLES`` training samples): the same value for every sample
        of a task, whatever the sample.
        """
        train = _require_train(ctx, "ai-rg")
        overall = (float(train["onboard_score"].mean()), float(train["ground_score"].mean()))
        by_task: dict[str, tuple[float, float]] = {}
        if "task" in train:
            for task, group in train.groupby(train["task"].astype(str)):
                if len(group) >= MIN_TASK_SAMPLES:
                    by_task[task] = (float(group["onboard_score"].mean()),
                                     float(group["ground_score"].mean()))
        tasks = (ctx.samples["task"].astype(str).to_numpy() if "task" in ctx.samples
                 else np.full(len(ctx.samples), ""))
        acc = np.array([by_task.get(t, overall) for t in tasks], dtype=float).reshape(-1, 2)
        table = {"overall": {"onboard": round(overall[0], 4), "ground": round(overall[1], 4)}}
        for task, (a_on, a_gr) in sorted(by_task.items()):
            table[task] = {"onboard": round(a_on, 4), "ground": round(a_gr, 4)}
        return acc[:, 0], acc[:, 1], table

    # expected free energy -----------------------------------------------------
    def free_energy(self, a: np.ndarray, lat_on: np.ndarray, lat_off: np.ndarray,
                    tx: np.ndarray, acc_on: np.ndarray, acc_off: np.ndarray) -> np.ndarray:
        """``G`` of each row of ``a`` (candidates x samples of one epoch); lower is better."""
        a = np.atleast_2d(a)
        # expected wait behind the epoch's earlier offloads on the downlink
        behind = np.cumsum(a * tx, axis=1) - a * tx
        latency = a * (lat_off + behind) + (1 - a) * lat_on
        accuracy = a * acc_off + (1 - a) * acc_on
        entropy = _bernoulli_entropy(a)
        return (self.latency_weight * latency.mean(axis=1) - accuracy.mean(axis=1)
                - self.guidance_weight * entropy.mean(axis=1))

    def cem(self, rng: np.random.Generator, *arrays: np.ndarray) -> np.ndarray:
        """Offload probabilities of one epoch: the mean of CEM's final distribution."""
        m = len(arrays[0])
        mean, sd = np.full(m, 0.5), np.full(m, 0.5)
        n_elite = max(1, int(math.ceil(self.elite_fraction * self.population)))
        for _ in range(self.iterations):
            cand = np.clip(mean + sd * rng.standard_normal((self.population, m)), 0.0, 1.0)
            g = self.free_energy(cand, *arrays)
            elite = cand[np.argsort(g, kind="stable")[:n_elite]]
            mean, sd = elite.mean(axis=0), elite.std(axis=0)
        return mean

    def plan(self, ctx: PolicyContext) -> Plan:
        acc_on, acc_off, table = self.server_accuracy(ctx)
        n = len(ctx.samples)
        est = ctx.estimates or {}
        try:
            lat_on = np.asarray(est["onboard_s_at_stage"], dtype=float)[:, ctx.final_stage]
            tx = np.asarray(est["tx_s"], dtype=float)
            ground = np.asarray(est["ground_s"], dtype=float)
        except KeyError as exc:
            raise InputError(f"ai-rg needs the cost estimate {exc.args[0]!r} in the policy "
                             "context") from None
        stage0 = np.asarray(est["onboard_s_at_stage"], dtype=float)[:, 0]
        wait = float(est.get("contact_wait_s", 0.0)) if self.count_contact_wait else 0.0
        lat_off = stage0 + wait + tx + ground
        prob = np.zeros(n)
        for start in range(0, n, self.batch):
            part = slice(start, min(n, start + self.batch))
            prob[part] = self.cem(ctx.rng, lat_on[part], lat_off[part], tx[part],
                                  acc_on[part], acc_off[part])
        if self.act == "sample":
            offload = ctx.rng.random(n) < prob
        else:
            offload = prob >= 0.5
        notes = {
            "server_accuracy": table,
            "offload_fraction": round(float(offload.mean()) if n else 0.0, 4),
            "mean_offload_probability": round(float(prob.mean()) if n else 0.0, 4),
            "epochs": int(math.ceil(n / self.batch)) if n else 0,
            "expected_latency_s": {"onboard": round(float(lat_on.mean()) if n else 0.0, 3),
                                   "offload": round(float(lat_off.mean()) if n else 0.0, 3)},
            "contact_wait_counted_s": round(wait, 3),
            "train_samples": int(len(ctx.train)),
        }
        # offloaded at capture (stage 0); kept samples run the full onboard inference
        return Plan(offload.astype(bool), np.where(offload, 0, ctx.final_stage).astype(int),
                    notes=notes)


for _cls in (Tabi, ActiveInferenceRG):
    REGISTRY[_cls.name] = _cls
