"""SpaceVerse allocation: the progressive confidence network g̃ and its ablations g, g′.

Registered here (into :data:`simulator.policies.allocation.REGISTRY` on import):

``spaceverse``  (paper §3.1.3, Algorithm 1)
    At decision point 1 (right after vision encoding) g̃_1 scores every
    sample; those with g̃_1 < τ_1 are offloaded there (stage 1: onboard work is
    the vision encoding only).  The rest continue; at point i > 1 (after
    ``(i-1) * N_t`` generated tokens) g̃_i scores them with the partial answer
    ``A_{i-1}`` and those below τ_i are offloaded at stage i.  Survivors of
    the last point finish onboard (stage I + 1).
``spaceverse-g``  (ablation g, Fig. 11)
    One decision at point 1 from the stage-1 inputs only (image features, or
    their fallback); threshold ``threshold`` or τ_1.  Offloaded samples stop at
    stage 1, the rest finish onboard.
``spaceverse-g-prime``  (ablation g′, Fig. 11)
    One decision after complete onboard inference from ``Concat(V(x),
    e(y^s))``; threshold ``threshold`` or τ_I.  Every sample has stage I + 1:
    an offloaded g′ sample has paid the full onboard time before its image is
    sent.

Parameters (``policy.params``): ``tau`` (one threshold per decision point,
``stages`` of them; default the paper's (0.5, 0.4) for I = 2), ``target``
(the Eq. 1 target: ``agreement``, the paper's per-task Simi and the default, or
``minilm``; see
:mod:`simulator.policies.confidence`), ``checkpoint`` (a network saved by
:func:`~simulator.policies.confidence.train_command`; a relative path is
looked up in the working directory, then under the project root; without one
the network is trained on the run's training pool, ``PolicyContext.train``,
which the engine holds apart from the simulated samples), ``epochs`` (at
most; early stopping), ``hidden``, ``seed``; g and g′ also take
``threshold``.  Trained networks are cached in the run's policy cache folder,
keyed by a hash of the training rows (their sample ids and content, the
input columns present), the trace name, the variant, the layout, the target
and these parameters, so repeated runs reuse them.  A cached network (or a checkpoint) is
read and applied without torch (:meth:`~simulator.policies.confidence.TrainedConfidence.load`,
:func:`~simulator.policies.confidence.forward_numpy`), so a run that reuses it, and whose
answers' MiniLM embeddings are cached too, never imports torch.

Notes (``Plan.notes``, written to summary.json): thresholds, offload fraction
overall and per stage, the training (rows used, best epoch, validation loss
against the constant predictor, target), the inputs each stage read and their
fallbacks, and ``auroc_ground_better``: per network stage, the AUROC of
``1 - g̃_i`` for "the ground answer is better" (``ground_score >
onboard_score``) over all evaluated samples (never trained on).  Warnings
(logged and in ``warnings``): fewer than 1,000 training rows, or more than
95 % / fewer than 5 % of the samples offloaded.

The network and its inputs are described in :mod:`simulator.policies.confidence`
(imported lazily: registering these policies does not load torch).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from simulator.errors import InputError
from simulator.inference.metrics import release_sentence_model
from simulator.policies.allocation import (
    REGISTRY,
    AllocationPolicy,
    Plan,
    PolicyContext,
)
from simulator.policies.registry import Param

log = logging.getLogger(__name__)

#: The paper's thresholds for I = 2 (§4.1.4).
PAPER_TAU = (0.5, 0.4)
#: Eq. 1 targets, default first (the same as confidence.TARGETS, kept here so that
#: building a policy does not import torch).
TARGETS = ("agreement", "minilm")
DEFAULT_EPOCHS = 200
DEFAULT_HIDDEN = 64
DEFAULT_SEED = 0
#: 2: the target and the token-probability / second-opinion inputs are part of the key.
CACHE_VERSION = 2
#: Offload fractions outside [LOW, HIGH] are warned about (a policy doing (almost)
#: nothing or everything).
OFFLOAD_WARN_LOW, OFFLOAD_WARN_HIGH = 0.05, 0.95


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
            or not math.isfinite(float(value)):
        raise InputError(f"policy.params.{name}={value!r}; expected a number")
    return float(value)


def _whole(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise InputError(f"policy.params.{name}={value!r}; expected a whole number >= {low}")
    return int(value)


def _checkpoint_path(text: str | Path) -> Path:
    """A checkpoint path as given, or, if relative and absent, under the project root."""
    from simulator.paths import project_root

    path = Path(text).expanduser()
    stem = path.with_suffix("") if path.suffix in (".pt", ".json") else path
    if path.is_absolute() or stem.with_name(stem.name + ".pt").is_file():
        return path
    alt = project_root() / path
    alt_stem = alt.with_suffix("") if alt.suffix in (".pt", ".json") else alt
    return alt if alt_stem.with_name(alt_stem.name + ".pt").is_file() else path


class _ConfidencePolicy(AllocationPolicy):
    """Shared parts: parameters, training or loading the network, notes."""

    variant = "progressive"
    validates_params = True
    params_schema = {
        "tau": Param("numbers", None, "one threshold per decision point: offload where g~_i < "
                     "tau_i", low=0, high=1,
                     default_text=f"the paper's {list(PAPER_TAU)} for stages = 2"),
        "checkpoint": Param("path", None, "a saved network (spaceverse train confidence)",
                            default_text="trained on the run's training pool (cached)"),
        "epochs": Param("integer", DEFAULT_EPOCHS, "training epochs at most (early stopping)",
                        low=1),
        "hidden": Param("integer", DEFAULT_HIDDEN, "width of the shared MLP", low=1),
        "seed": Param("integer", DEFAULT_SEED, "training seed", low=0),
        "target": Param("choice", TARGETS[0], "Eq. 1 training target: agreement (the paper's "
                        "per-task Simi) or minilm", choices=TARGETS),
    }

    def __init__(self, **params: Any):
        super().__init__(**params)
        tau = self.params.get("tau")
        if tau is None:
            self.tau = None
        else:
            if isinstance(tau, (str, bytes)) or not hasattr(tau, "__len__") or len(tau) == 0:
                raise InputError(f"policy.params.tau={tau!r}; expected a list of thresholds "
                                 f"in [0, 1], one per decision point")
            self.tau = [_number("tau", t) for t in tau]
            bad = [t for t in self.tau if not 0 <= t <= 1]
            if bad:
                raise InputError(f"policy.params.tau={tau!r}: {bad[0]} is outside [0, 1]")
        self.epochs = _whole("epochs", self.params.get("epochs", DEFAULT_EPOCHS), 1)
        self.hidden = _whole("hidden", self.params.get("hidden", DEFAULT_HIDDEN), 1)
        self.seed = _whole("seed", self.params.get("seed", DEFAULT_SEED), 0)
        ckpt = self.params.get("checkpoint")
        if ckpt is not None and not isinstance(ckpt, (str, Path)):
            raise InputError(f"policy.params.checkpoint={ckpt!r}; expected a file path")
        self.checkpoint = ckpt
        target = self.params.get("target")
        if target is not None and target not in TARGETS:
            raise InputError(f"policy.params.target={target!r}; expected one of "
                             f"{', '.join(TARGETS)}")
        self.target_given = target is not None
        self.target = target if target is not None else TARGETS[0]
        self._stages_hint = params.get("stages")

    # ------------------------------------------------------------------ network

    def _thresholds(self, points: int) -> list[float]:
        return list(self.tau) if self.tau is not None else (
            list(PAPER_TAU) if points == len(PAPER_TAU) else None)

    def network(self, ctx: PolicyContext):
        """The trained network and notes on where it came from.

        A user-given ``policy.params.checkpoint`` that cannot be read is an error (one
        line naming the file).  The cache is best effort: a damaged, unreadable or
        unwritable cache entry is one warning, and the network is trained again.
        Once the network is in hand, the sentence embedder training needed (90 MB) is let
        go of: predictions load it again only for texts the training pool did not have
        (the pool's embeddings are cached).
        """
        trained, origin = self._trained_network(ctx)
        release_sentence_model()
        return trained, origin

    def _trained_network(self, ctx: PolicyContext):
        from simulator.paths import cache_warning
        from simulator.policies import confidence as conf

        recorded = ctx.trace_meta.get("stage_tokens") if ctx.trace_meta else None
        trace_name = (ctx.trace_meta or {}).get("name")
        if self.checkpoint is not None:
            try:
                path = _checkpoint_path(self.checkpoint)
            except OSError as exc:
                raise InputError(f"policy.params.checkpoint {self.checkpoint}: cannot read it "
                                 f"({exc.strerror or exc})") from None
            trained = conf.TrainedConfidence.load(path)
            self._check_checkpoint(trained, ctx)
            return trained, {"source": "checkpoint", "checkpoint": str(self.checkpoint)}
        if ctx.train is None or len(ctx.train) == 0:
            raise InputError(f"{self.name} needs workload.train_fraction > 0 or "
                             f"policy.params.checkpoint")
        hyper = {"epochs": self.epochs, "hidden": self.hidden, "seed": self.seed,
                 **conf.TRAIN_DEFAULTS, "format": conf.FORMAT_VERSION, "target": self.target}
        key = self._cache_key(ctx, trace_name, recorded, hyper, conf.content_digest(ctx.train))
        cached = Path(ctx.cache_dir) / f"confidence-{self.variant}-{key[:20]}" \
            if ctx.cache_dir is not None else None
        if cached is not None:
            try:
                present = cached.with_name(cached.name + ".pt").is_file()
            except OSError as exc:
                cache_warning(f"cannot read the policy cache {ctx.cache_dir} "
                              f"({exc.strerror or exc}); training the network again")
                present = False
            if present:
                try:
                    trained = conf.TrainedConfidence.load(cached)
                    log.info("%s: reusing the confidence network cached at %s", self.name,
                             cached)
                    return trained, {"source": "cache", "cache_key": key[:20]}
                except Exception as exc:  # noqa: BLE001 - a damaged cache entry: train again
                    log.warning("%s: ignoring a damaged cache entry (%s); training the network "
                                "again", self.name, exc)
        trained = conf.train_confidence(
            ctx.train, points=ctx.points, stage_tokens=ctx.stage_tokens, variant=self.variant,
            seed=self.seed, epochs=self.epochs, hidden=self.hidden,
            recorded_stage_tokens=recorded, trace_name=trace_name, target=self.target)
        if cached is not None:
            try:
                trained.save(cached)
            except (OSError, InputError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                cache_warning(f"cannot write to the policy cache {ctx.cache_dir} ({reason}); "
                              f"the network is not cached")
        return trained, {"source": "trained", "cache_key": key[:20]}

    def _cache_key(self, ctx, trace_name, recorded, hyper, digest) -> str:
        ids = sorted(str(s) for s in ctx.train["sample_id"])
        payload = {"version": CACHE_VERSION, "trace": trace_name, "variant": self.variant,
                   "columns": sorted(str(c) for c in ctx.train.columns),
                   "points": ctx.points, "stage_tokens": ctx.stage_tokens,
                   "recorded_stage_tokens": recorded, "hyper": hyper, "ids": ids,
                   "content": digest}
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()

    def _check_checkpoint(self, trained, ctx: PolicyContext) -> None:
        spec = trained.spec
        if self.target_given and spec.target != self.target:
            raise InputError(f"policy.params.checkpoint {self.checkpoint}: trained with target "
                             f"{spec.target!r}; policy.params.target is {self.target!r}")
        if spec.variant != self.variant:
            raise InputError(f"policy.params.checkpoint {self.checkpoint}: a {spec.variant!r} "
                             f"network; policy {self.name} needs a {self.variant!r} one")
        if self.variant == "progressive" and spec.points != ctx.points:
            raise InputError(f"policy.params.checkpoint {self.checkpoint}: trained for "
                             f"{spec.points} decision points; the scenario has {ctx.points} "
                             f"(policy.params.stages)")
        if spec.answer_kind is not None and spec.answer_kind != "final-answer" \
                and spec.stage_tokens != ctx.stage_tokens:
            raise InputError(f"policy.params.checkpoint {self.checkpoint}: trained with "
                             f"stage_tokens {spec.stage_tokens}; the scenario uses "
                             f"{ctx.stage_tokens} (policy.params.stage_tokens)")
        spec.check_table(ctx.samples)

    def _notes(self, ctx, trained, origin, thresholds, stage, offload, preds=None) -> dict:
        from simulator.policies import confidence as conf

        n = len(stage)
        by_stage = {ctx.stage_name(k): (float(np.mean(offload & (stage == k))) if n else 0.0)
                    for k in range(1, ctx.final_stage + 1)}
        spec = trained.spec
        training = {**trained.summary(), **origin}
        notes = {
            "variant": self.variant,
            "target": spec.target,
            "thresholds": [float(t) for t in thresholds],
            "offload_fraction": float(np.mean(offload)) if n else 0.0,
            "offload_fraction_by_stage": by_stage,
            "training": training,
            "features": {"stage1": spec.base_kind, "answers": spec.answer_kind,
                         "token_probabilities": spec.tokprob_kind,
                         "second_opinion": spec.agreement},
            "inputs": spec.input_notes(),
            "feature_fallbacks": spec.fallback_notes(),
        }
        if preds is not None and n and {"ground_score", "onboard_score"} <= set(ctx.samples):
            better = (ctx.samples["ground_score"].to_numpy(float)
                      > ctx.samples["onboard_score"].to_numpy(float))
            names = ([f"stage{i}" for i in range(1, len(preds) + 1)]
                     if self.variant == "progressive" else
                     ["stage1" if self.variant == "g" else "final"])
            notes["auroc_ground_better"] = {
                name: (None if (a := conf.auroc(1.0 - p, better)) is None else round(a, 4))
                for name, p in zip(names, preds)}
            notes["auroc_definition"] = (
                "AUROC of 1 - g~_i for ground_score > onboard_score over all evaluated samples "
                f"({n}, never trained on; {int(better.sum())} where the ground answer is better)")
        warnings = []
        rows = training.get("n_rows")
        if rows is not None and rows < conf.MIN_TRAIN_ROWS:
            warnings.append(f"the confidence network was trained on {rows} rows, fewer than "
                            f"{conf.MIN_TRAIN_ROWS}")
        frac = notes["offload_fraction"]
        if n and (frac > OFFLOAD_WARN_HIGH or frac < OFFLOAD_WARN_LOW):
            warnings.append(f"{self.name} offloads {100 * frac:.1f} % of the samples (outside "
                            f"{100 * OFFLOAD_WARN_LOW:.0f}-{100 * OFFLOAD_WARN_HIGH:.0f} %) with "
                            f"thresholds {notes['thresholds']} on the {spec.target} target")
        for w in warnings:
            log.warning("%s: %s", self.name, w)
        if warnings:
            notes["warnings"] = warnings
        return notes


class SpaceVersePolicy(_ConfidencePolicy):
    """The progressive confidence network g̃ (see the module docstring)."""

    name = "spaceverse"
    variant = "progressive"

    def __init__(self, **params: Any):
        super().__init__(**params)
        stages = self._stages_hint
        if self.tau is not None and stages is not None and not isinstance(stages, bool) \
                and isinstance(stages, (int, np.integer)) and len(self.tau) != int(stages):
            raise InputError(f"policy.params.tau has {len(self.tau)} thresholds; "
                             f"expected one per decision point (stages = {stages})")

    def plan(self, ctx: PolicyContext) -> Plan:
        thresholds = self._thresholds(ctx.points)
        if thresholds is None:
            raise InputError(f"policy.params.tau: no default for {ctx.points} decision points "
                             f"(the paper's is {list(PAPER_TAU)} for stages = 2); give "
                             f"{ctx.points} thresholds")
        if len(thresholds) != ctx.points:
            raise InputError(f"policy.params.tau has {len(thresholds)} thresholds; expected one "
                             f"per decision point (stages = {ctx.points})")
        trained, origin = self.network(ctx)
        n = len(ctx.samples)
        offload = np.zeros(n, dtype=bool)
        stage = np.full(n, ctx.final_stage, dtype=int)
        if n:
            preds = trained.predict(ctx.samples)
            undecided = np.ones(n, dtype=bool)
            for i, (p, tau) in enumerate(zip(preds, thresholds), start=1):
                low = undecided & (p < tau)
                offload[low] = True
                stage[low] = i
                undecided &= ~low
        else:
            preds = []
        return Plan(offload, stage, notes=self._notes(ctx, trained, origin, thresholds,
                                                      stage, offload, preds if n else None))


class SpaceVerseG(_ConfidencePolicy):
    """Ablation g: one decision at point 1 from the stage-1 inputs only."""

    name = "spaceverse-g"
    variant = "g"
    params_schema = {**_ConfidencePolicy.params_schema,
                     "threshold": Param("number", None, "offload at point 1 where g < threshold",
                                        low=0, high=1, default_text="tau_1")}

    def _threshold(self, points: int) -> float:
        if "threshold" in self.params:
            t = _number("threshold", self.params["threshold"])
            if not 0 <= t <= 1:
                raise InputError(f"policy.params.threshold={t}: expected a number in [0, 1]")
            return t
        return (self.tau or list(PAPER_TAU))[0]

    def plan(self, ctx: PolicyContext) -> Plan:
        thr = self._threshold(ctx.points)
        trained, origin = self.network(ctx)
        n = len(ctx.samples)
        preds = trained.predict(ctx.samples) if n else None
        offload = (preds[0] < thr) if n else np.zeros(0, dtype=bool)
        stage = np.where(offload, 1, ctx.final_stage).astype(int)
        return Plan(offload, stage, notes=self._notes(ctx, trained, origin, [thr], stage, offload,
                                                      preds))


class SpaceVerseGPrime(SpaceVerseG):
    """Ablation g′: one decision after the complete onboard answer (stage I + 1)."""

    name = "spaceverse-g-prime"
    variant = "g-prime"
    params_schema = {**SpaceVerseG.params_schema,
                     "threshold": Param("number", None, "offload after the full onboard answer "
                                        "where g' < threshold", low=0, high=1,
                                        default_text="tau_I (the last)")}

    def _threshold(self, points: int) -> float:
        if "threshold" in self.params:
            return super()._threshold(points)
        return (self.tau or list(PAPER_TAU))[-1]

    def plan(self, ctx: PolicyContext) -> Plan:
        thr = self._threshold(ctx.points)
        trained, origin = self.network(ctx)
        n = len(ctx.samples)
        preds = trained.predict(ctx.samples) if n else None
        offload = (preds[0] < thr) if n else np.zeros(0, dtype=bool)
        stage = np.full(n, ctx.final_stage, dtype=int)
        notes = self._notes(ctx, trained, origin, [thr], stage, offload, preds)
        notes["offloaded_after_full_onboard_inference"] = True
        return Plan(offload, stage, notes=notes)


for _cls in (SpaceVersePolicy, SpaceVerseG, SpaceVerseGPrime):
    REGISTRY[_cls.name] = _cls
