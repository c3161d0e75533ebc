"""The progressive confidence network g̃ of SpaceVerse (paper §3.1, Fig. 6, Eq. 1).

g̃ estimates, at each decision point, how similar the onboard model's answer
will be to the ground model's: ``Simi(y^s, y^g)`` in [0, 1].  A low estimate
means the onboard answer is unreliable and the sample should be offloaded.

Network (:class:`ConfidenceNet`)
--------------------------------
``I`` input projections ``L_i`` (``Linear(d_i, hidden)``) feed **one** shared
MLP ``M``: ReLU, dropout, ``Linear(hidden, hidden)``, ReLU, dropout,
``Linear(hidden, 1)``, sigmoid.  ``g̃_i = [L_i; M]``.  Stage inputs:

* stage 1: ``V(x)``;
* stage i > 1: ``Concat(V(x), e(A_{i-1}), p(A_{i-1}), a(A_{i-1}))``, where
  ``A_{i-1}`` is the partial onboard answer after ``(i-1) * N_t`` generated
  tokens and ``e(A)`` is its all-MiniLM-L6-v2 sentence embedding: the model's
  **mean-pooled token embeddings**, L2-normalised (384-d; the same model as
  :func:`simulator.inference.metrics.semantic_similarity`).  An empty partial
  answer embeds as the zero vector.  What a real partial answer carries
  besides its text, when the trace has it:

  - ``p(A)``, token-probability statistics (2 numbers: the mean token
    probability of the tokens generated so far and its logit), from the
    trace's ``onboard_stage_confidence`` (cumulative, one value per stage) or
    a recording's ``onboard_stage_probs`` (per-stage means, accumulated here
    weighting each stage by its tokens); only when the trace's
    ``stage_tokens`` is the run's ``N_t``;
  - ``a(A)``, an agreement bit with a second onboard opinion (2 numbers:
    agree, known) from ``second_opinion_answer``: labels compared by
    :func:`~simulator.inference.metrics.normalize_label` (classification),
    boxes by IoU >= 0.5 (detection), other answers by VQA normalisation.  It
    is *known* only once ``A`` is the complete answer (a partial box cannot
    be compared); before that both numbers are 0.  (The engine does not
    charge the second onboard model's compute.)

  These extra inputs are standardised with the training rows' statistics.
  Without the columns the stage has ``Concat(V(x), e(A_{i-1}))`` only.

Ablations (paper §4.4.1, Fig. 11): variant ``"g"`` is one stage with input
``V(x)`` only; ``"g-prime"`` is one stage with input ``Concat(V(x), e(y^s),
p(y^s), a(y^s))``, the full onboard answer (a decision after complete onboard
inference).  :meth:`FeatureSpec.input_notes` lists the inputs a network used.

``V(x)`` and its fallbacks
--------------------------
``V(x)`` is the trace's ``features`` column (image features recorded by the
onboard model's vision encoder, or synthetic ones).  Most recorded traces have
none.  Then stage 1 uses only what is known before onboard inference: the
question's MiniLM embedding (if the trace has a ``question`` column) plus the
image facts ``log(width), log(height), log(1 + bytes)``; without a question,
the image facts alone (a constant for a benchmark of equal-sized images, so
stage 1 then predicts the training mean).  Every base input is standardised
with the training rows' mean and standard deviation (a constant column becomes
0).  The fallback is reported by :attr:`FeatureSpec.fallback_notes`.

Partial answers
---------------
From ``onboard_stage_answers`` (the cumulative partial answers a real backend
recorded after each stage of ``N_t`` tokens) when the trace has them and was
recorded with the same ``N_t``.  Otherwise they are *approximated* from the
complete onboard answer: after ``k`` generated tokens the answer's first
``floor(W * k / T)`` whitespace-separated words, where ``W`` is its word count
and ``T`` its recorded ``onboard_output_tokens`` (the complete answer once
``k >= T``).  Model tokens are not words, so the proportional rule keeps the
partial answer consistent with the token counts the engine charges for.

Target of Eq. 1 (``target``)
----------------------------
``s = Simi(y^s, y^g)``, computed from the two answers (a trace's
``answer_similarity`` column is not read), one of :data:`TARGETS`:

``agreement`` (default: the paper's Simi)
    the task metric between the two answers, as the paper defines Simi
    ("semantic similarity in question answering or equality in
    classification", §3.1.1; Eq. 1's cosine of one-hot answer vectors is
    equality): classification, normalised label equality
    (:func:`~simulator.inference.metrics.normalize_label`); mcq, equality of
    the option letters; detection, IoU of the two boxes; vqa / yesno /
    anything else, exact match after VQA normalisation (yes/no by first word)
    when both answers are short (at most 3 words), else the MiniLM cosine.
``minilm``
    the cosine of the MiniLM embeddings of the two answers (1 when they are
    equal after lower-casing and trimming), clipped to [0, 1]; for box answers
    (task ``detection``) the IoU of the two boxes instead, since MiniLM cosines
    of coordinate strings are meaningless (two very different boxes score
    0.91).  **Why it is not the default**: its scale does not fit the paper's
    thresholds.  ``cos("yes", "no") = 0.733`` and ``cos("airport",
    "airplane") = 0.614``, so on yes/no answers the target never falls below
    τ₁ = 0.5 or τ₂ = 0.4 and g̃ never offloads (measured: 0 % offloaded on
    synthetic VQA, UC Merced and AID with τ = (0.5, 0.4), i.e. SpaceVerse
    becomes satellite-only; 29 % / 21 % at stage 2 with ``agreement`` on UC
    Merced / AID).

Training (:func:`train_confidence`)
-----------------------------------
Adam on Eq. 1 (:func:`eq1_loss`: the sum over stages of the MSE between g̃_i
and s), mini-batches, early stopping on a held-out validation part of the
training rows (patience in epochs), the best epoch's weights kept.  Defaults
(:data:`TRAIN_DEFAULTS`): hidden width 64, dropout 0.1, learning rate 1e-3,
weight decay 1e-4, batches of 32, at most 200 epochs, patience 10, 20 % of the
rows for validation.  Seeded: the split, the initial weights, the batch order
and dropout all derive from ``seed`` (torch's global generator is restored
afterwards), so the same data and seed give bit-identical weights on the CPU
(checked across processes too).  MiniLM embeddings are cached
per text within the process and on disk (keyed by the model's identity and the
text) and computed in groups of equal token length, so an embedding does not
depend on which other texts were embedded with it; the model is loaded lazily,
on the first text that no cache holds.

Applying a network needs no torch: :meth:`TrainedConfidence.load` reads the
``.pt`` state dict itself and :meth:`TrainedConfidence.predict` runs the
forward pass in numpy (:func:`forward_numpy`, with its tie rule); torch is
imported for training only (and ``ConfidenceNet``, the torch module, is
defined on first use).

Training rows
-------------
The rows come from the engine's held-apart training pool
(:func:`simulator.inference.split.split_trace`: a trace's ``split == "train"``
rows, else a seeded hash order of its sample ids), never from the simulated
samples.  :func:`train_split` and :func:`train_command` use the same split.
Fewer than :data:`MIN_TRAIN_ROWS` rows rarely train anything useful; the
policies warn.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulator.errors import InputError

log = logging.getLogger(__name__)

#: Width of the MiniLM sentence embedding e(A).
EMBED_DIM = 384
#: Image facts used when a trace has no ``features`` column.
IMAGE_FACTS = ("log_width_px", "log_height_px", "log1p_bytes")
VARIANTS = ("progressive", "g", "g-prime")
#: Answers of at most this many words compare by normalised equality (Eq. 1 target).
SHORT_ANSWER_WORDS = 3
#: Values of ``target`` (see the module docstring); the first is the default.
TARGETS = ("agreement", "minilm")
#: The paper's Simi: "semantic similarity in question answering or equality in
#: classification" (§3.1.1) -- see the module docstring for why not MiniLM everywhere.
DEFAULT_TARGET = "agreement"
#: Fewer training rows than this trigger a warning (the audit's minimum).
MIN_TRAIN_ROWS = 1000
#: Boxes agree (second opinion) when their IoU is at least this.
BOX_AGREEMENT_IOU = 0.5
#: Width of the token-probability statistics p(A) and of the agreement input a(A).
TOKPROB_DIM = 2
AGREEMENT_DIM = 2
#: 2: target choice, token-probability and agreement inputs (format 1 checkpoints, which
#: had none of them and read the answer_similarity column, still load).
FORMAT_VERSION = 2
#: Training settings of :func:`train_confidence` not set by the policies' parameters.
TRAIN_DEFAULTS: dict[str, Any] = {"patience": 10, "val_fraction": 0.2, "lr": 1e-3,
                                  "batch_size": 32, "dropout": 0.1, "weight_decay": 1e-4}

NO_FEATURES_QUESTION = "no image features: stage 1 used question/image-size features"
NO_FEATURES_SIZE = ("no image features: stage 1 used image-size features only "
                    "(the trace has no question column)")


# --------------------------------------------------------------------------- loss


def eq1_loss(preds: Sequence[torch.Tensor], target: torch.Tensor) -> torch.Tensor:
    """Eq. 1: ``sum_i MSE(g̃_i(x), s)`` (each MSE a mean over the batch).

    ``preds`` holds one tensor per stage, each shaped like ``target``.

    >>> import torch
    >>> t = torch.tensor([1.0, 0.0])
    >>> float(eq1_loss([torch.tensor([0.5, 0.5]), torch.tensor([1.0, 0.0])], t))
    0.25
    """
    if len(preds) == 0:
        raise ValueError("eq1_loss needs at least one stage prediction")
    import torch

    total = None
    for i, p in enumerate(preds):
        if p.shape != target.shape:
            raise ValueError(f"stage {i + 1} prediction has shape {tuple(p.shape)}; "
                             f"target has {tuple(target.shape)}")
        term = torch.mean((p - target) ** 2)
        total = term if total is None else total + term
    return total


# --------------------------------------------------------------------------- network


# ``ConfidenceNet`` is a torch module, built on first use (``confidence.ConfidenceNet``):
# importing this module, and applying a trained network (numpy, below), need no torch.
_NET_CLASS: Any = None


def _net_class():
    global _NET_CLASS
    if _NET_CLASS is not None:
        return _NET_CLASS
    import torch
    from torch import nn

    class ConfidenceNet(nn.Module):
        """g̃: projections ``L_i`` into one shared MLP ``M`` with a sigmoid output.

        ``ConfidenceNet([16, 400], hidden=8)(1, torch.zeros(5, 16))`` has shape ``(5,)``.
        """

        def __init__(self, input_dims: Sequence[int], hidden: int = 64, dropout: float = 0.1):
            super().__init__()
            dims, hidden = _check_architecture(input_dims, hidden)
            self.input_dims = dims
            self.hidden = hidden
            self.dropout = float(dropout)
            self.projections = nn.ModuleList(nn.Linear(d, self.hidden) for d in dims)
            self.mlp = nn.Sequential(
                nn.ReLU(), nn.Dropout(self.dropout),
                nn.Linear(self.hidden, self.hidden), nn.ReLU(), nn.Dropout(self.dropout),
                nn.Linear(self.hidden, 1),
            )

        @property
        def stages(self) -> int:
            return len(self.projections)

        def forward(self, stage_index: int, x: torch.Tensor) -> torch.Tensor:
            """Confidence ``g̃_i(x)`` in [0, 1], one per row; ``stage_index`` counts from 1."""
            if not 1 <= stage_index <= self.stages:
                raise ValueError(f"stage_index {stage_index}; this network has stages "
                                 f"1..{self.stages}")
            return torch.sigmoid(self.mlp(self.projections[stage_index - 1](x))).squeeze(-1)

    ConfidenceNet.__module__ = __name__
    _NET_CLASS = ConfidenceNet
    return ConfidenceNet


def __getattr__(name: str) -> Any:
    if name == "ConfidenceNet":  # the torch module, defined when first asked for
        cls = _net_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _check_architecture(input_dims: Sequence[int], hidden: int) -> tuple[list[int], int]:
    dims = [int(d) for d in input_dims]
    if not dims or any(d < 1 for d in dims):
        raise ValueError(f"input_dims {input_dims!r}: expected one or more sizes >= 1")
    if hidden < 1:
        raise ValueError(f"hidden={hidden!r}: expected a whole number >= 1")
    return dims, int(hidden)


def weight_shapes(input_dims: Sequence[int], hidden: int) -> dict[str, tuple[int, ...]]:
    """The state dict of a :class:`ConfidenceNet`: parameter name -> shape.

    >>> weight_shapes([3, 5], 4)["projections.1.weight"], weight_shapes([3], 4)["mlp.5.weight"]
    ((4, 5), (1, 4))
    """
    shapes: dict[str, tuple[int, ...]] = {}
    for i, d in enumerate(input_dims):
        shapes[f"projections.{i}.weight"] = (hidden, int(d))
        shapes[f"projections.{i}.bias"] = (hidden,)
    shapes.update({"mlp.2.weight": (hidden, hidden), "mlp.2.bias": (hidden,),
                   "mlp.5.weight": (1, hidden), "mlp.5.bias": (1,)})
    return shapes


def check_weights(state: dict[str, Any], input_dims: Sequence[int],
                  hidden: int) -> dict[str, np.ndarray]:
    """``state`` (a state dict: tensors or arrays) as float32 arrays, after checking that it
    has exactly the parameters and shapes of ``ConfidenceNet(input_dims, hidden)``."""
    want = weight_shapes(input_dims, hidden)
    if set(state) != set(want):
        missing, unexpected = sorted(set(want) - set(state)), sorted(set(state) - set(want))
        raise ValueError(f"weights do not match the network: missing {missing}, "
                         f"unexpected {unexpected}")
    out = {}
    for name, shape in want.items():
        value = state[name]
        if hasattr(value, "detach"):  # a torch tensor
            value = value.detach().cpu().numpy()
        array = np.array(value, dtype=np.float32)
        if array.shape != shape:
            raise ValueError(f"{name} has shape {array.shape}; the network needs {shape}")
        out[name] = array
    return out


def forward_numpy(weights: dict[str, np.ndarray], stage_index: int, x: np.ndarray) -> np.ndarray:
    """``g̃_i(x)`` from a network's weights, in numpy: what ``ConfidenceNet.forward`` gives
    (in eval mode: dropout off), one value per row of ``x``.

    The arithmetic is float64 and the result is rounded to float32, the type torch
    returns.  Torch computes in float32 with its own summation order, so the two differ
    by up to about 1e-6 (measured: at most 1.2e-7 with the bundled checkpoints on their
    traces, 6.3e-7 over random networks of the policy's shapes; ``tests/test_caches.py``).
    **Tie rule**: decisions compare *this* value with the thresholds (``g̃_i < τ_i``
    offloads); torch is used only for training.  So a sample whose g̃ lies within about
    1e-6 of a threshold may be decided differently than a torch forward pass would have
    decided it; elsewhere the two agree.
    """
    stages = sum(1 for k in weights if k.endswith(".weight") and k.startswith("projections."))
    if not 1 <= stage_index <= stages:
        raise ValueError(f"stage_index {stage_index}; this network has stages 1..{stages}")

    def linear(h: np.ndarray, name: str) -> np.ndarray:
        w = weights[name + ".weight"].astype(np.float64)
        return h @ w.T + weights[name + ".bias"].astype(np.float64)

    h = np.maximum(linear(np.asarray(x, dtype=np.float64), f"projections.{stage_index - 1}"), 0)
    h = np.maximum(linear(h, "mlp.2"), 0.0)
    z = linear(h, "mlp.5")[:, 0]
    p = np.exp(-np.logaddexp(0.0, -z))  # sigmoid, without overflow
    return p.astype(np.float32).astype(float)


# --------------------------------------------------------------------------- text embeddings

_EMBED_CACHE: dict[str, np.ndarray] = {}


def _embedding_store():
    """The on-disk embedding cache: one SQLite file, ``<cache>/embeddings/minilm.sqlite``,
    keyed by the model's identity and the text (:class:`simulator.paths.BlobStore`)."""
    from simulator.inference.metrics import sentence_model_identity
    from simulator.paths import BlobStore

    return BlobStore("embeddings", "minilm.sqlite", namespace=sentence_model_identity(),
                     what="MiniLM embedding")


def embed_texts(texts: Sequence[str]) -> np.ndarray:
    """MiniLM sentence embeddings (n x 384, float32); ``""`` gives zeros.

    Cached per text for the life of the process and on disk (:func:`_embedding_store`:
    keyed by the model's identity and the text; best effort), so texts embedded by an
    earlier run load neither the model nor sentence-transformers.  New texts are
    embedded in groups of equal token length (no padding), so a text's embedding is
    the same whatever else is embedded alongside it.
    """
    texts = ["" if t is None else str(t) for t in texts]
    new = sorted({t for t in texts if t.strip() and t not in _EMBED_CACHE})
    store = _embedding_store() if new else None
    if new:
        for text, blob in store.get_many(new).items():
            vec = np.frombuffer(blob, dtype="<f4")
            if vec.shape == (EMBED_DIM,) and np.isfinite(vec).all():
                _EMBED_CACHE[text] = vec.astype(np.float32)
        new = [t for t in new if t not in _EMBED_CACHE]
    if new:
        from simulator.inference.metrics import _sentence_model

        model = _sentence_model()
        limit = getattr(model, "max_seq_length", 256) or 256
        ids = model.tokenizer(new, truncation=True, max_length=limit)["input_ids"]
        groups: dict[int, list[str]] = {}
        for text, tok in zip(new, ids):
            groups.setdefault(len(tok), []).append(text)
        for _, group in sorted(groups.items()):
            emb = model.encode(group, batch_size=64, convert_to_numpy=True,
                               normalize_embeddings=True, show_progress_bar=False)
            for text, vec in zip(group, emb):
                _EMBED_CACHE[text] = np.asarray(vec, dtype=np.float32)
        store.put_many({t: _EMBED_CACHE[t].astype("<f4").tobytes() for t in new})
    out = np.zeros((len(texts), EMBED_DIM), dtype=np.float32)
    for i, t in enumerate(texts):
        if t.strip():
            out[i] = _EMBED_CACHE[t]
    return out


# --------------------------------------------------------------------------- target


def _box_iou(a: str, b: str) -> float:
    from simulator.inference.metrics import score

    try:
        return float(score("detection", a, b))
    except InputError:
        return 0.0


def _check_target(target: str) -> str:
    if target not in TARGETS:
        raise InputError(f"confidence target {target!r}; expected one of {', '.join(TARGETS)}")
    return target


def minilm_cosine(texts_a: Sequence[str], texts_b: Sequence[str]) -> np.ndarray:
    """Cosine of the MiniLM embeddings, pair by pair, clipped to [0, 1] (cached per text).

    Equal texts (after lower-casing and trimming) give exactly 1; an empty text 0.
    """
    a = [str(t).strip() for t in texts_a]
    b = [str(t).strip() for t in texts_b]
    out = np.ones(len(a))
    differ = [i for i, (x, y) in enumerate(zip(a, b)) if x.lower() != y.lower()]
    if differ:
        ea = embed_texts([a[i] for i in differ]).astype(float)
        eb = embed_texts([b[i] for i in differ]).astype(float)
        out[differ] = np.sum(ea * eb, axis=1)
    return np.clip(out, 0.0, 1.0)


def similarity_target(df: pd.DataFrame, target: str = DEFAULT_TARGET) -> tuple[np.ndarray, str]:
    """``Simi(y^s, y^g)`` per row (float in [0, 1]) and a word on how it was computed.

    ``target`` is ``"minilm"`` or ``"agreement"`` (see the module docstring).
    """
    from simulator.inference import metrics

    _check_target(target)
    on = [str(a) for a in df["onboard_answer"]]
    gr = [str(a) for a in df["ground_answer"]]
    tasks = [str(t).strip().lower() for t in df["task"]]
    s = np.zeros(len(df))
    semantic: list[int] = []
    kinds: set[str] = set()
    for i, (a, b, task) in enumerate(zip(on, gr, tasks)):
        if task == "detection":
            s[i] = _box_iou(a, b)
            kinds.add("box IoU (MiniLM on coordinates is meaningless)" if target == "minilm"
                      else "box IoU")
        elif target == "minilm":
            semantic.append(i)
        elif task == "classification":
            s[i] = float(metrics.normalize_label(a) == metrics.normalize_label(b))
            kinds.add("label equality")
        elif task == "mcq":
            la, lb = metrics.choice_letter(a), metrics.choice_letter(b)
            if la is None or lb is None:
                la, lb = metrics.normalize_vqa_answer(a), metrics.normalize_vqa_answer(b)
            s[i] = float(la == lb)
            kinds.add("option-letter equality")
        elif len(a.split()) <= SHORT_ANSWER_WORDS and len(b.split()) <= SHORT_ANSWER_WORDS:
            s[i] = metrics.exact_match(a, b)
            kinds.add("normalised exact match")
        else:
            semantic.append(i)
    if semantic:
        s[semantic] = minilm_cosine([on[i] for i in semantic], [gr[i] for i in semantic])
        kinds.add("MiniLM cosine")
    return np.clip(s, 0.0, 1.0), f"{target}: " + ", ".join(sorted(kinds))


def answers_agree(tasks: Sequence[str], answers: Sequence[str],
                  others: Sequence[str]) -> np.ndarray:
    """Whether two onboard answers agree: labels, boxes (IoU >= 0.5) or VQA-normalised text.

    >>> answers_agree(["classification", "detection", "vqa"],
    ...               ["Dense Residential", "[0, 0, 1, 1]", "Yes."],
    ...               ["dense_residential", "[0, 0, 1, 0.6]", "yes"]).tolist()
    [True, True, True]
    """
    from simulator.inference import metrics

    out = np.zeros(len(answers), dtype=bool)
    for i, (task, a, b) in enumerate(zip(tasks, answers, others)):
        task = str(task).strip().lower()
        a, b = str(a), str(b)
        if task == "detection":
            try:
                out[i] = metrics.iou(a, b) >= BOX_AGREEMENT_IOU
            except (InputError, ValueError):
                out[i] = False
        elif task == "classification":
            out[i] = metrics.normalize_label(a) == metrics.normalize_label(b)
        else:
            out[i] = metrics.normalize_vqa_answer(a) == metrics.normalize_vqa_answer(b)
    return out


def auroc(score: np.ndarray, label: np.ndarray) -> float | None:
    """Area under the ROC curve of ``score`` for the binary ``label`` (ties count half).

    ``None`` when ``label`` has only one class.

    >>> auroc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1]))
    0.75
    """
    y = np.asarray(label, dtype=bool)
    x = np.asarray(score, dtype=float)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return None
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x))
    sorted_x = x[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_x, return_index=True, return_counts=True)
    avg = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


# --------------------------------------------------------------------------- features


def partial_answers(df: pd.DataFrame, generated_stages: int, stage_tokens: int,
                    use_recorded: bool = True) -> list[str]:
    """The partial onboard answer ``A_k`` after ``k = generated_stages`` stages of ``N_t`` tokens.

    >>> df = pd.DataFrame({"onboard_answer": ["a b c d"], "onboard_output_tokens": [8]})
    >>> partial_answers(df, 1, 2, use_recorded=False), partial_answers(df, 4, 2)
    (['a'], ['a b c d'])
    """
    if generated_stages <= 0:
        return [""] * len(df)
    if use_recorded and "onboard_stage_answers" in df.columns:
        out = []
        for stages, full in zip(df["onboard_stage_answers"], df["onboard_answer"]):
            stages = list(stages) if stages is not None else []
            if not stages:
                out.append(str(full))
            else:
                out.append(str(stages[min(generated_stages, len(stages)) - 1]))
        return out
    tokens = generated_stages * stage_tokens
    out = []
    for answer, total in zip(df["onboard_answer"], df["onboard_output_tokens"]):
        answer = str(answer)
        total = int(total)
        if tokens >= total:
            out.append(answer)
            continue
        words = answer.split()
        keep = int(math.floor(len(words) * tokens / max(total, 1)))
        out.append(" ".join(words[:keep]))
    return out


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=float), 1e-4, 1 - 1e-4)
    return np.log(q) - np.log1p(-q)


def stage_confidence(df: pd.DataFrame, generated_stages: int | None, stage_tokens: int,
                     kind: str) -> np.ndarray:
    """Mean token probability of the first ``generated_stages`` stages (``None``: all).

    ``kind`` ``"stage-confidence"`` reads the cumulative ``onboard_stage_confidence``;
    ``"stage-probs"`` accumulates a recording's per-stage ``onboard_stage_probs``,
    weighting each stage by its tokens (``stage_tokens``, the last stage the rest of
    ``onboard_output_tokens``).

    >>> df = pd.DataFrame({"onboard_stage_probs": [[0.9, 0.6]], "onboard_output_tokens": [6]})
    >>> round(float(stage_confidence(df, 2, 4, "stage-probs")[0]), 4)   # (4*0.9 + 2*0.6) / 6
    0.8
    """
    out = np.zeros(len(df))
    if kind == "stage-confidence":
        for i, values in enumerate(df["onboard_stage_confidence"]):
            values = list(values) if values is not None else []
            if values:
                k = len(values) if generated_stages is None else min(generated_stages, len(values))
                out[i] = float(values[max(k, 1) - 1])
        return out
    for i, (values, total) in enumerate(zip(df["onboard_stage_probs"], df["onboard_output_tokens"])):
        values = [float(v) for v in (values if values is not None else [])]
        if not values:
            continue
        k = len(values) if generated_stages is None else min(max(generated_stages, 1), len(values))
        weights = [min(stage_tokens, max(int(total) - j * stage_tokens, 1)) for j in range(k)]
        out[i] = float(np.dot(values[:k], weights) / sum(weights))
    return out


def answer_complete(df: pd.DataFrame, generated_stages: int | None, stage_tokens: int,
                    recorded: bool) -> np.ndarray:
    """Whether ``A_k`` is already the complete onboard answer."""
    n = len(df)
    if generated_stages is None:
        return np.ones(n, dtype=bool)
    if recorded and "onboard_stage_answers" in df.columns:
        return np.array([generated_stages >= max(len(list(s)) if s is not None else 0, 1)
                         for s in df["onboard_stage_answers"]], dtype=bool)
    return generated_stages * stage_tokens >= df["onboard_output_tokens"].to_numpy(int)


@dataclass
class FeatureSpec:
    """How the stage inputs are built from a trace table (fixed at training time)."""

    variant: str
    points: int
    stage_tokens: int
    base_kind: str  #: "features", "question+image-size" or "image-size"
    feature_dim: int  #: length of the features column (0 without one)
    answer_kind: str | None  #: "recorded-stage-answers", "truncated-final-answer", "final-answer"
    recorded_stage_tokens: int | None = None
    base_mean: list[float] = field(default_factory=list)
    base_std: list[float] = field(default_factory=list)
    #: "stage-confidence", "stage-probs" or None (no token probabilities)
    tokprob_kind: str | None = None
    #: whether the answer stages also see agreement with ``second_opinion_answer``
    agreement: bool = False
    #: Eq. 1 target the network was trained on (format 1 checkpoints: the trace's column)
    target: str = "answer_similarity column (format 1)"
    #: standardisation of the extra inputs [p(A), a(A)], one list per answer stage
    extra_mean: list[list[float]] = field(default_factory=list)
    extra_std: list[list[float]] = field(default_factory=list)

    @property
    def base_dim(self) -> int:
        if self.base_kind == "features":
            return self.feature_dim
        extra = EMBED_DIM if self.base_kind == "question+image-size" else 0
        return extra + len(IMAGE_FACTS)

    @property
    def extra_dim(self) -> int:
        return (TOKPROB_DIM if self.tokprob_kind else 0) + (AGREEMENT_DIM if self.agreement else 0)

    @property
    def stages(self) -> int:
        return self.points if self.variant == "progressive" else 1

    def input_dims(self) -> list[int]:
        answer = self.base_dim + EMBED_DIM + self.extra_dim
        if self.variant == "g":
            return [self.base_dim]
        if self.variant == "g-prime":
            return [answer]
        return [self.base_dim] + [answer] * (self.points - 1)

    def _answer_stages(self) -> list[int | None]:
        """Generated stages behind each answer-aware network stage (``None``: complete answer)."""
        if self.variant == "g":
            return []
        if self.variant == "g-prime":
            return [None]
        return list(range(1, self.points))

    def input_notes(self) -> dict[str, Any]:
        """Which inputs each network stage reads (for the run notes)."""
        base = {"features": "V(x) (features column)",
                "question+image-size": "question embedding + image size (no features column)",
                "image-size": "image size only (no features column, no question)"}[self.base_kind]
        answer = [base, "e(A) MiniLM embedding"]
        source = {"recorded-stage-answers": "recorded partial answers",
                  "truncated-final-answer": "partial answers approximated from the final one",
                  "final-answer": "complete onboard answer"}.get(self.answer_kind or "", "")
        if self.tokprob_kind:
            column = ("onboard_stage_confidence" if self.tokprob_kind == "stage-confidence"
                      else "onboard_stage_probs")
            answer.append(f"token-probability statistics of A ({column})")
        if self.agreement:
            answer.append("agreement of A with second_opinion_answer (known once A is complete)")
        out: dict[str, Any] = {"stage1" if self.variant != "g-prime" else "final": (
            answer if self.variant == "g-prime" else [base])}
        for i in range(2, self.points + 1) if self.variant == "progressive" else ():
            out[f"stage{i}"] = answer
        if source:
            out["answers"] = source
        return out

    def fallback_notes(self) -> list[str]:
        notes = []
        if self.base_kind == "question+image-size":
            notes.append(NO_FEATURES_QUESTION)
        elif self.base_kind == "image-size":
            notes.append(NO_FEATURES_SIZE)
        if self.answer_kind == "truncated-final-answer":
            notes.append("partial answers A_i approximated by the first words of the complete "
                         "onboard answer, in proportion to the tokens generated (the trace has "
                         "no onboard_stage_answers for this stage_tokens)")
        if self.answer_kind is not None and not self.tokprob_kind:
            notes.append("no token probabilities for the partial answers (the trace has no "
                         "onboard_stage_confidence / onboard_stage_probs for this stage_tokens)")
        if self.answer_kind is not None and not self.agreement:
            notes.append("no second onboard opinion (the trace has no second_opinion_answer)")
        return notes

    # ------------------------------------------------------------------ building

    @classmethod
    def for_table(cls, df: pd.DataFrame, *, variant: str, points: int, stage_tokens: int,
                  recorded_stage_tokens: int | None = None,
                  target: str = DEFAULT_TARGET) -> FeatureSpec:
        if "features" in df.columns and len(df):
            base_kind = "features"
            dim = len(np.asarray(df["features"].iloc[0], dtype=float))
        else:
            base_kind = "question+image-size" if "question" in df.columns else "image-size"
            dim = 0
        needs_answers = variant == "g-prime" or (variant == "progressive" and points > 1)
        same_stages = recorded_stage_tokens is None or int(recorded_stage_tokens) == stage_tokens
        tokprob_kind = None
        agreement = False
        if not needs_answers:
            answer_kind = None
        else:
            if variant == "g-prime":
                answer_kind = "final-answer"
            elif "onboard_stage_answers" in df.columns and same_stages:
                answer_kind = "recorded-stage-answers"
            else:
                answer_kind = "truncated-final-answer"
            # the complete answer's mean token probability does not depend on N_t
            if "onboard_stage_confidence" in df.columns and (same_stages or variant == "g-prime"):
                tokprob_kind = "stage-confidence"
            elif "onboard_stage_probs" in df.columns and (same_stages or variant == "g-prime"):
                tokprob_kind = "stage-probs"
            agreement = "second_opinion_answer" in df.columns
        return cls(variant=variant, points=points, stage_tokens=stage_tokens,
                   base_kind=base_kind, feature_dim=dim, answer_kind=answer_kind,
                   recorded_stage_tokens=recorded_stage_tokens, tokprob_kind=tokprob_kind,
                   agreement=agreement, target=target)

    def check_table(self, df: pd.DataFrame) -> None:
        """Raise :class:`InputError` when ``df`` lacks what this spec was trained on."""
        if self.base_kind == "features":
            if "features" not in df.columns:
                raise InputError("the confidence network was trained on image features; "
                                 "this trace has no features column")
            dim = len(np.asarray(df["features"].iloc[0], dtype=float)) if len(df) else self.feature_dim
            if dim != self.feature_dim:
                raise InputError(f"the confidence network was trained on {self.feature_dim}-d "
                                 f"features; this trace has {dim}-d ones")
        elif self.base_kind == "question+image-size" and "question" not in df.columns:
            raise InputError("the confidence network was trained with questions; "
                             "this trace has no question column")
        column = {"stage-confidence": "onboard_stage_confidence",
                  "stage-probs": "onboard_stage_probs"}.get(self.tokprob_kind or "")
        if column and column not in df.columns:
            raise InputError(f"the confidence network was trained with token probabilities; "
                             f"this trace has no {column} column")
        if self.agreement and "second_opinion_answer" not in df.columns:
            raise InputError("the confidence network was trained with a second onboard opinion; "
                             "this trace has no second_opinion_answer column")

    def raw_base(self, df: pd.DataFrame) -> np.ndarray:
        """Unnormalised stage-1 inputs (n x base_dim, float64)."""
        if self.base_kind == "features":
            return np.stack([np.asarray(v, dtype=float) for v in df["features"]]) if len(df) \
                else np.zeros((0, self.feature_dim))
        facts = np.column_stack([
            np.log(df["image_width_px"].to_numpy(float)),
            np.log(df["image_height_px"].to_numpy(float)),
            np.log1p(df["image_bytes"].to_numpy(float)),
        ]) if len(df) else np.zeros((0, len(IMAGE_FACTS)))
        if self.base_kind == "question+image-size":
            q = embed_texts(df["question"].tolist()).astype(float)
            return np.hstack([q, facts])
        return facts

    def raw_extra(self, df: pd.DataFrame, generated_stages: int | None) -> np.ndarray:
        """Unnormalised extra inputs ``[p(A), a(A)]`` of ``A_k`` (n x extra_dim)."""
        cols: list[np.ndarray] = []
        if self.tokprob_kind:
            recorded = int(self.recorded_stage_tokens or self.stage_tokens)
            c = stage_confidence(df, generated_stages, recorded, self.tokprob_kind)
            cols += [c, _logit(c)]
        if self.agreement:
            done = answer_complete(df, generated_stages, self.stage_tokens,
                                   self.answer_kind == "recorded-stage-answers")
            agree = answers_agree(df["task"].tolist(), df["onboard_answer"].tolist(),
                                  df["second_opinion_answer"].tolist())
            cols += [(agree & done).astype(float), done.astype(float)]
        return np.column_stack(cols) if cols else np.zeros((len(df), 0))

    def fit(self, df: pd.DataFrame) -> None:
        """Set the normalisation statistics from the training rows ``df``."""
        def stats(raw: np.ndarray) -> tuple[list[float], list[float]]:
            mean = raw.mean(axis=0) if len(raw) else np.zeros(raw.shape[1])
            std = raw.std(axis=0) if len(raw) else np.ones(raw.shape[1])
            std = np.where(std > 1e-8, std, 1.0)
            return [float(v) for v in mean], [float(v) for v in std]

        self.base_mean, self.base_std = stats(self.raw_base(df))
        self.extra_mean, self.extra_std = [], []
        if self.extra_dim:
            for k in self._answer_stages():
                mean, std = stats(self.raw_extra(df, k))
                self.extra_mean.append(mean)
                self.extra_std.append(std)

    def base(self, df: pd.DataFrame) -> np.ndarray:
        raw = self.raw_base(df)
        return (raw - np.asarray(self.base_mean)) / np.asarray(self.base_std)

    def extra(self, df: pd.DataFrame, index: int, generated_stages: int | None) -> np.ndarray:
        raw = self.raw_extra(df, generated_stages)
        if not self.extra_dim:
            return raw
        return (raw - np.asarray(self.extra_mean[index])) / np.asarray(self.extra_std[index])

    def answers(self, df: pd.DataFrame, generated_stages: int | None) -> list[str]:
        """``A_k`` for ``k = generated_stages``; the complete answer for ``None``."""
        if generated_stages is None:
            return [str(a) for a in df["onboard_answer"]]
        return partial_answers(df, generated_stages, self.stage_tokens,
                               use_recorded=self.answer_kind == "recorded-stage-answers")

    def stage_inputs(self, df: pd.DataFrame) -> list[np.ndarray]:
        """One float32 array per network stage (see the module docstring)."""
        self.check_table(df)
        base = self.base(df)
        parts = [] if self.variant == "g-prime" else [base]
        for index, k in enumerate(self._answer_stages()):
            parts.append(np.hstack([base, embed_texts(self.answers(df, k)),
                                    self.extra(df, index, k)]))
        return [np.ascontiguousarray(p, dtype=np.float32) for p in parts]


# --------------------------------------------------------------------------- training


class TrainedConfidence:
    """A trained g̃ (or g, g′) with everything needed to apply it to a trace table.

    Built from a torch network (``net``, as training gives) or from its weights alone
    (``weights``: parameter name -> float32 array, as :meth:`load` gives without torch).
    :meth:`predict` runs in numpy (:func:`forward_numpy`) either way; ``net`` builds the
    torch module from the weights when first asked for.
    """

    def __init__(self, net: Any = None, spec: FeatureSpec | None = None,
                 metrics: dict[str, Any] | None = None, meta: dict[str, Any] | None = None, *,
                 weights: dict[str, np.ndarray] | None = None,
                 architecture: dict[str, Any] | None = None):
        if spec is None:
            raise TypeError("TrainedConfidence needs a FeatureSpec (spec=...)")
        if net is None and weights is None:
            raise TypeError("TrainedConfidence needs a network (net=...) or its weights")
        self.spec = spec
        self.metrics = {} if metrics is None else metrics
        self.meta = {} if meta is None else meta
        self._net = net
        if net is not None:
            architecture = {"input_dims": list(net.input_dims), "hidden": net.hidden,
                            "dropout": net.dropout}
        elif architecture is None:
            raise TypeError("TrainedConfidence(weights=...) needs its architecture")
        self.architecture = architecture
        self._weights = None if net is not None else check_weights(
            weights, architecture["input_dims"], architecture["hidden"])

    @property
    def variant(self) -> str:
        return self.spec.variant

    @property
    def net(self):
        """The torch module (built from the weights, importing torch, when first asked for)."""
        if self._net is None:
            import torch

            arch = self.architecture
            net = _net_class()(arch["input_dims"], hidden=arch["hidden"], dropout=arch["dropout"])
            net.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in self._weights.items()})
            net.eval()
            self._net = net
        return self._net

    @net.setter
    def net(self, value) -> None:
        self._net = value

    def weights(self) -> dict[str, np.ndarray]:
        """The network's parameters as float32 arrays (read from ``net`` when there is one)."""
        if self._net is not None:
            arch = self.architecture
            return check_weights(self._net.state_dict(), arch["input_dims"], arch["hidden"])
        return self._weights

    def predict(self, df: pd.DataFrame) -> list[np.ndarray]:
        """Confidence per row, one array per network stage (numpy: :func:`forward_numpy`)."""
        inputs = self.spec.stage_inputs(df)
        weights = self.weights()
        return [forward_numpy(weights, i + 1, x) for i, x in enumerate(inputs)]

    def predict_torch(self, df: pd.DataFrame) -> list[np.ndarray]:
        """:meth:`predict` with the torch module (for comparison; imports torch)."""
        import torch

        inputs = self.spec.stage_inputs(df)
        net = self.net
        net.eval()
        with torch.no_grad():
            return [net(i + 1, torch.from_numpy(x)).numpy().astype(float)
                    for i, x in enumerate(inputs)]

    def summary(self) -> dict[str, Any]:
        """What the run notes record about the training."""
        m = self.metrics
        out = {k: m.get(k) for k in ("n_rows", "n_train", "n_val", "best_epoch", "epochs_run",
                                     "best_val_loss", "constant_val_loss", "target",
                                     "target_mean", "train_seconds")}
        best, const = m.get("best_val_loss"), m.get("constant_val_loss")
        out["val_loss_vs_constant"] = (round(best / const, 4) if best is not None and const
                                       else None)
        if out.get("n_rows") is None:  # format 1 metrics
            out["n_rows"] = self.meta.get("n_train")
        return out

    # ------------------------------------------------------------------ files

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``<path>.pt`` (state_dict) and ``<path>.json`` (metadata), each atomically."""
        import torch

        stem = _stem(path)
        stem.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "format_version": FORMAT_VERSION,
            **self.meta,
            "variant": self.spec.variant,
            "points": self.spec.points,
            "stage_tokens": self.spec.stage_tokens,
            "feature_kinds": {"stage1": self.spec.base_kind, "answers": self.spec.answer_kind,
                              "token_probabilities": self.spec.tokprob_kind,
                              "second_opinion": self.spec.agreement},
            "inputs": self.spec.input_notes(),
            "target": self.spec.target,
            "spec": asdict(self.spec),
            "net": dict(self.architecture),
            "metrics": self.metrics,
            "torch_version": torch.__version__,
        }
        meta.setdefault("created_utc", datetime.now(timezone.utc).isoformat(timespec="seconds"))
        pt, js = stem.with_name(stem.name + ".pt"), stem.with_name(stem.name + ".json")
        _atomic_write(pt, lambda f: torch.save(self.net.state_dict(), f))
        _atomic_write(js, lambda f: f.write(json.dumps(meta, indent=2, sort_keys=True).encode()))
        return pt

    @classmethod
    def load(cls, path: str | os.PathLike) -> TrainedConfidence:
        """Read what :meth:`save` wrote (``path`` with or without ``.pt``).

        The ``.pt`` file is read without torch where its format allows
        (:func:`read_state_dict`: what :meth:`save` writes), else with ``torch.load``, so
        that applying a saved network (:meth:`predict`) never needs torch.

        Any problem -- a missing, empty, truncated or garbage file, one that does
        not match its metadata -- is one :class:`InputError` naming the file.  A
        damaged file can make ``json``/``torch.load`` raise nearly anything
        (``EOFError``, pickle and zip errors, ``RuntimeError``, ``KeyError``,
        ``UnicodeDecodeError``, ``OSError``, ...), so every exception is caught.
        """
        stem = _stem(path)
        pt, js = stem.with_name(stem.name + ".pt"), stem.with_name(stem.name + ".json")
        for f in (pt, js):
            try:
                present = f.is_file()
            except OSError as exc:
                raise InputError(f"confidence checkpoint {f}: cannot read it "
                                 f"({exc.strerror or exc})") from None
            if not present:
                raise InputError(f"confidence checkpoint {f}: no such file; expected "
                                 f"{pt.name} and {js.name} side by side")
        reading = js
        try:
            meta = json.loads(js.read_text(encoding="utf-8"))
            spec = FeatureSpec(**meta["spec"])
            arch = meta["net"]
            dims, hidden = _check_architecture(arch["input_dims"], arch["hidden"])
            arch = {"input_dims": dims, "hidden": hidden, "dropout": float(arch["dropout"])}
            reading = pt
            try:
                state = read_state_dict(pt)
            except Exception:  # noqa: BLE001 - not a format read here: torch's turn
                import torch

                state = torch.load(pt, map_location="cpu", weights_only=True)
            weights = check_weights(state, dims, hidden)
        except Exception as exc:  # noqa: BLE001 - see the docstring
            detail = " ".join(str(exc).split())
            if len(detail) > 160:
                detail = detail[:157] + "..."
            raise InputError(f"confidence checkpoint {reading}: cannot read it "
                             f"({type(exc).__name__}{': ' + detail if detail else ''})") from None
        metrics = meta.pop("metrics", {})
        return cls(spec=spec, metrics=metrics, meta=meta, weights=weights, architecture=arch)


#: ``torch.<name>Storage`` -> numpy dtype, for :func:`read_state_dict`.
_STORAGE_DTYPES = {"FloatStorage": "<f4", "DoubleStorage": "<f8", "HalfStorage": "<f2",
                   "LongStorage": "<i8", "IntStorage": "<i4", "ShortStorage": "<i2",
                   "CharStorage": "i1", "ByteStorage": "u1", "BoolStorage": "?"}


def read_state_dict(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """A state dict that ``torch.save`` wrote (its zip format), as numpy arrays, without torch.

    Only what a state dict of plain CPU tensors holds is understood (an ordered dict of
    tensors of the dtypes in :data:`_STORAGE_DTYPES`); anything else raises, and the
    caller falls back to ``torch.load``.
    """
    import pickle
    import zipfile
    from collections import OrderedDict

    class Storage:
        def __init__(self, dtype: str):
            self.dtype = dtype

    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pkl = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pkl) != 1:
            raise ValueError("not a torch zip checkpoint (no single <archive>/data.pkl)")
        root = pkl[0].rsplit("/", 1)[0]
        order = f"{root}/byteorder"
        if order in names and archive.read(order).decode().strip() != "little":
            raise ValueError("big-endian checkpoint")

        def rebuild(storage, offset, size, stride, *rest):
            size, stride = tuple(int(v) for v in size), tuple(int(v) for v in stride)
            offset = int(offset)
            if len(size) != len(stride) or min((*size, *stride, offset), default=0) < 0:
                raise ValueError(f"tensor of size {size}, stride {stride}, offset {offset}")
            last = offset + sum((n - 1) * st for n, st in zip(size, stride)) if all(size) else -1
            if last >= storage.size:
                raise ValueError(f"tensor of size {size} runs past its storage")
            if not all(size):
                return np.zeros(size, dtype=storage.dtype)
            return np.array(np.lib.stride_tricks.as_strided(
                storage[offset:], shape=size,
                strides=tuple(st * storage.itemsize for st in stride)))

        class Reader(pickle.Unpickler):
            def find_class(self, module, name):
                if (module, name) == ("collections", "OrderedDict"):
                    return OrderedDict
                if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
                    return rebuild
                if module == "torch" and name in _STORAGE_DTYPES:
                    return Storage(_STORAGE_DTYPES[name])
                raise pickle.UnpicklingError(f"{module}.{name} is not read without torch")

            def persistent_load(self, pid):
                if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                        and isinstance(pid[1], Storage) and pid[3] == "cpu"):
                    raise pickle.UnpicklingError(f"storage {pid!r} is not read without torch")
                data = np.frombuffer(archive.read(f"{root}/data/{pid[2]}"), dtype=pid[1].dtype)
                if data.size < int(pid[4]):
                    raise ValueError(f"storage {pid[2]} holds {data.size} values; "
                                     f"expected {pid[4]}")
                return data

        import io

        state = Reader(io.BytesIO(archive.read(pkl[0]))).load()
    if not isinstance(state, dict) or not all(isinstance(v, np.ndarray) for v in state.values()):
        raise ValueError("not a state dict of tensors")
    return dict(state)


def _stem(path: str | os.PathLike) -> Path:
    p = Path(path)
    return p.with_suffix("") if p.suffix in (".pt", ".json") else p


def _atomic_write(target: Path, write) -> None:
    """Write ``target`` by calling ``write(f)`` on a new binary file beside it (a hidden
    temporary name), then renaming it into place.

    The file is created like any ordinary file, with mode ``0666 & ~umask`` (not
    ``mkstemp``'s private 0600), so checkpoints and cached networks in a shared
    folder are as readable as the rest of it.  Temporary files that killed writers
    left for the same target are removed.
    """
    from simulator.fileio import clean_leftovers, temp_name

    tmp = temp_name(target, "tmp", unique=True)
    try:
        with open(tmp, "xb") as f:
            write(f)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    clean_leftovers(target.parent, name=target.name)  # what killed writers left


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise InputError(f"{name}={value!r}; expected a whole number >= {low}")
    return int(value)


def train_confidence(
    train_df: pd.DataFrame,
    *,
    points: int = 2,
    stage_tokens: int = 16,
    variant: str = "progressive",
    seed: int = 0,
    epochs: int = 200,
    patience: int = TRAIN_DEFAULTS["patience"],
    val_fraction: float = TRAIN_DEFAULTS["val_fraction"],
    lr: float = TRAIN_DEFAULTS["lr"],
    batch_size: int = TRAIN_DEFAULTS["batch_size"],
    hidden: int = 64,
    dropout: float = TRAIN_DEFAULTS["dropout"],
    weight_decay: float = TRAIN_DEFAULTS["weight_decay"],
    recorded_stage_tokens: int | None = None,
    trace_name: str | None = None,
    target: str = DEFAULT_TARGET,
) -> TrainedConfidence:
    """Train g̃ (``variant="progressive"``), g or g′ on ``train_df`` by Eq. 1.

    ``val_fraction`` of the rows (seeded, at least one when there are two or
    more rows) is held out for early stopping: training stops after
    ``patience`` epochs without a lower validation loss, and the best epoch's
    weights are kept.  ``metrics`` records the per-epoch losses, the best epoch
    and the validation loss of the constant predictor (the training mean of s)
    for comparison.  ``target`` is the Eq. 1 target (:data:`TARGETS`).
    """
    _check_target(target)
    if variant not in VARIANTS:
        raise InputError(f"confidence variant {variant!r}; expected one of {', '.join(VARIANTS)}")
    points = _check_int("points", points, 1)
    stage_tokens = _check_int("stage_tokens", stage_tokens, 1)
    epochs = _check_int("epochs", epochs, 1)
    patience = _check_int("patience", patience, 1)
    batch_size = _check_int("batch_size", batch_size, 1)
    hidden = _check_int("hidden", hidden, 1)
    seed = _check_int("seed", seed, 0)
    if not 0 <= float(val_fraction) < 1:
        raise InputError(f"val_fraction={val_fraction!r}; expected a number in [0, 1)")
    if not float(lr) > 0:
        raise InputError(f"lr={lr!r}; expected a number > 0")
    n = len(train_df)
    if n < 2:
        raise InputError(f"the confidence network needs at least 2 training samples; got {n}")
    started = time.perf_counter()
    df = train_df.reset_index(drop=True)
    s, target_source = similarity_target(df, target)

    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    n_val = int(round(float(val_fraction) * n))
    if val_fraction > 0:
        n_val = min(max(n_val, 1), n - 1)
    val_idx, fit_idx = np.sort(order[:n_val]), np.sort(order[n_val:])

    spec = FeatureSpec.for_table(df, variant=variant, points=points, stage_tokens=stage_tokens,
                                 recorded_stage_tokens=recorded_stage_tokens, target=target)
    spec.fit(df.iloc[fit_idx])
    import torch

    inputs = [torch.from_numpy(x) for x in spec.stage_inputs(df)]
    y = torch.from_numpy(s.astype(np.float32))
    x_fit = [x[fit_idx] for x in inputs]
    x_val = [x[val_idx] for x in inputs]
    y_fit, y_val = y[fit_idx], y[val_idx]
    const = float(y_fit.mean())
    constant_val = (float(eq1_loss([torch.full_like(y_val, const)] * spec.stages, y_val))
                    if n_val else None)

    train_losses: list[float] = []
    val_losses: list[float] = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = _net_class()(spec.input_dims(), hidden=hidden, dropout=dropout)
        opt = torch.optim.Adam(net.parameters(), lr=float(lr), weight_decay=float(weight_decay))
        best_loss, best_epoch, best_state, stale = math.inf, 0, copy.deepcopy(net.state_dict()), 0
        m = len(fit_idx)
        for epoch in range(1, epochs + 1):
            net.train()
            perm = torch.from_numpy(rng.permutation(m))
            total = 0.0
            for start in range(0, m, batch_size):
                b = perm[start:start + batch_size]
                preds = [net(i + 1, x[b]) for i, x in enumerate(x_fit)]
                loss = eq1_loss(preds, y_fit[b])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(b)
            train_losses.append(total / m)
            if n_val:
                net.eval()
                with torch.no_grad():
                    current = float(eq1_loss([net(i + 1, x) for i, x in enumerate(x_val)], y_val))
                val_losses.append(current)
            else:
                current = train_losses[-1]
            if current < best_loss:
                best_loss, best_epoch, stale = current, epoch, 0
                best_state = copy.deepcopy(net.state_dict())
            else:
                stale += 1
                if stale >= patience:
                    break
        net.load_state_dict(best_state)
        net.eval()
    seconds = time.perf_counter() - started
    metrics = {
        "n_train": int(len(fit_idx)), "n_val": int(n_val), "n_rows": int(n),
        "train_loss": train_losses, "val_loss": val_losses,
        "best_epoch": int(best_epoch), "epochs_run": len(train_losses),
        "best_val_loss": float(best_loss) if n_val else None,
        "constant_val_loss": constant_val, "target": target_source,
        "target_mean": float(s.mean()), "target_kind": target,
        "train_seconds": round(seconds, 3),
        "hyper": {"seed": seed, "epochs": epochs, "patience": patience,
                  "val_fraction": float(val_fraction), "lr": float(lr),
                  "batch_size": batch_size, "hidden": hidden, "dropout": float(dropout),
                  "weight_decay": float(weight_decay)},
    }
    meta = {"trace": trace_name, "n_train": int(n), "variant": variant, "points": points,
            "stage_tokens": stage_tokens, "target": target,
            "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "torch_version": torch.__version__}
    log.info("trained confidence network %s (target %s) on %d rows in %.1f s: best epoch %d, "
             "val loss %s (constant %s)", variant, target, n, seconds, best_epoch,
             metrics["best_val_loss"], constant_val)
    return TrainedConfidence(net=net, spec=spec, metrics=metrics, meta=meta)


# --------------------------------------------------------------------------- command line


def train_split(table: pd.DataFrame, fraction: float | None = None, seed: int = 1, *,
                train_rows: int | None = None) -> pd.DataFrame:
    """The training pool the engine holds apart from the simulated samples.

    :func:`simulator.inference.split.split_trace` with the same arguments: a
    trace's ``split == "train"`` rows when it has that column (``train_rows``
    caps them), else ``train_rows`` (or ``round(fraction * n)``) sample ids
    picked by a seeded hash order.  With ``seed`` equal to a scenario's split
    seed the rows are exactly those the engine keeps out of the simulation.
    """
    from simulator.inference.split import split_trace

    if train_rows is None and "split" not in table.columns:
        if fraction is None or not 0 < float(fraction) < 1:
            raise InputError(f"train fraction {fraction!r}; expected a number in (0, 1)")
    _, train = split_trace(table.reset_index(drop=True), train_rows=train_rows,
                           train_fraction=None if train_rows is not None else fraction,
                           seed=int(seed))
    return train


def default_checkpoint(trace_name: str, variant: str) -> Path:
    from simulator.paths import project_root

    return project_root() / "models" / "confidence" / f"{trace_name}-{variant}.pt"


def train_command(trace: str, train_fraction: float = 0.05, seed: int = 1,
                  out: Path | str | None = None, points: int = 2, stage_tokens: int = 16,
                  variant: str = "progressive", train_rows: int | None = None,
                  target: str = DEFAULT_TARGET, **train_kwargs: Any) -> Path:
    """``spaceverse train confidence``: train on the training pool of ``trace``; return the ``.pt`` path.

    The pool is :func:`train_split`: ``train_rows`` rows when given (``spaceverse
    train confidence --train-rows N``), else ``train_fraction`` of the sample ids;
    a trace with a ``split`` column uses its ``"train"`` rows.

    ``out`` is a file path (``.pt`` added if missing), a folder (existing, or
    written with a trailing ``/``; the file is ``<trace>-<variant>.pt`` inside
    it) or ``None``
    (``models/confidence/<trace>-<variant>.pt``).  The split is
    :func:`train_split` (the engine's, for a scenario with this ``seed``).
    """
    from simulator.inference.traces import read_trace

    t = read_trace(trace)
    train = train_split(t.table, train_fraction, seed, train_rows=train_rows)
    what = f"train_rows {train_rows}" if train_rows is not None else \
        f"train fraction {train_fraction}"
    if len(train) < 2:
        raise InputError(f"{what} of {len(t)} samples leaves {len(train)} for training; "
                         f"expected at least 2")
    if len(train) < MIN_TRAIN_ROWS:
        log.warning("training the confidence network on %d rows (%s); fewer than %d rarely "
                    "learn anything", len(train), what, MIN_TRAIN_ROWS)
    trained = train_confidence(train, points=points, stage_tokens=stage_tokens, variant=variant,
                               seed=seed, recorded_stage_tokens=t.meta.get("stage_tokens"),
                               trace_name=t.name, target=target, **train_kwargs)
    trained.meta["train_fraction"] = None if train_rows is not None else float(train_fraction)
    trained.meta["train_rows"] = None if train_rows is None else int(train_rows)
    trained.meta["split_seed"] = int(seed)
    trained.meta["split"] = ("the trace's split == 'train' rows" if "split" in t.table.columns
                             else "simulator.inference.split.split_trace: seeded hash order of "
                                  "the sample ids")
    if out is None:
        path = default_checkpoint(t.name, variant)
    else:
        path = Path(out)
        if path.is_dir() or str(out).endswith(("/", os.sep)):
            path = path / f"{t.name}-{variant}.pt"
        elif path.suffix != ".pt":
            path = path.with_name(path.name + ".pt")
    return trained.save(path)


def content_digest(df: pd.DataFrame) -> str:
    """A hash of the columns the confidence network reads (for cache keys)."""
    h = hashlib.sha256()
    cols = [c for c in ("sample_id", "task", "image_width_px", "image_height_px", "image_bytes",
                        "onboard_answer", "ground_answer", "onboard_output_tokens",
                        "question", "second_opinion_answer") if c in df.columns]
    lists = [c for c in ("features", "onboard_stage_answers", "onboard_stage_confidence",
                         "onboard_stage_probs") if c in df.columns]
    h.update(json.dumps([cols, lists]).encode())
    for c in cols:
        h.update(json.dumps([str(v) for v in df[c].tolist()]).encode())
    for name in lists:
        for v in df[name]:
            if name == "onboard_stage_answers":
                h.update(json.dumps([str(x) for x in v]).encode())
            else:
                h.update(np.asarray(v, dtype=np.float32).tobytes())
                h.update(b"|")
    return h.hexdigest()
