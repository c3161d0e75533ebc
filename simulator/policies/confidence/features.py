"""The stage inputs of g̃ (:class:`FeatureSpec`), built from a trace table.

Stage inputs
------------
The input of stage ``i`` of the network (``g̃_i``, :mod:`.network`):

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
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from simulator.errors import InputError
from simulator.inference.list_columns import flat_and_lengths, matrix

from . import EMBED_DIM, embed_texts
from .distinct import combine, distinct_texts, distinct_values, first_rows
from .target import DEFAULT_TARGET

#: Image facts used when a trace has no ``features`` column.
IMAGE_FACTS = ("log_width_px", "log_height_px", "log1p_bytes")
VARIANTS = ("progressive", "g", "g-prime")
#: Boxes agree (second opinion) when their IoU is at least this.
BOX_AGREEMENT_IOU = 0.5
#: Width of the token-probability statistics p(A) and of the agreement input a(A).
TOKPROB_DIM = 2
AGREEMENT_DIM = 2

NO_FEATURES_QUESTION = "no image features: stage 1 used question/image-size features"
NO_FEATURES_SIZE = ("no image features: stage 1 used image-size features only "
                    "(the trace has no question column)")


def answers_agree(tasks: Sequence[str], answers: Sequence[str],
                  others: Sequence[str]) -> np.ndarray:
    """Whether two onboard answers agree: labels, boxes (IoU >= 0.5) or VQA-normalised text.

    >>> answers_agree(["classification", "detection", "vqa"],
    ...               ["Dense Residential", "[0, 0, 1, 1]", "Yes."],
    ...               ["dense_residential", "[0, 0, 1, 0.6]", "yes"]).tolist()
    [True, True, True]
    """
    from simulator.inference import metrics

    # Each distinct (task, answer, other answer) is compared once: a trace repeats a few
    # hundred answers.
    task_codes, task_texts = distinct_texts(tasks)
    a_codes, a_texts = distinct_texts(answers)
    b_codes, b_texts = distinct_texts(others)
    triple = combine(task_codes, a_codes, b_codes)
    first = first_rows(triple)
    label = functools.lru_cache(maxsize=None)(metrics.normalize_label)
    vqa_answer = functools.lru_cache(maxsize=None)(metrics.normalize_vqa_answer)
    agree = np.zeros(len(first), dtype=bool)
    for k, row in enumerate(first.tolist()):
        task = task_texts[task_codes[row]].strip().lower()
        a, b = a_texts[a_codes[row]], b_texts[b_codes[row]]
        if task == "detection":
            try:
                agree[k] = metrics.iou(a, b) >= BOX_AGREEMENT_IOU
            except (InputError, ValueError):
                agree[k] = False
        elif task == "classification":
            agree[k] = label(a) == label(b)
        else:
            agree[k] = vqa_answer(a) == vqa_answer(b)
    return agree[triple] if len(triple) else np.zeros(0, dtype=bool)


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
    # once per distinct (answer, token count)
    a_codes, a_texts = distinct_texts(df["onboard_answer"])
    t_codes, totals = distinct_values(df["onboard_output_tokens"])
    pair = combine(a_codes, t_codes)
    out = []
    for row in first_rows(pair).tolist():
        answer = a_texts[a_codes[row]]
        total = int(totals[t_codes[row]])
        if tokens >= total:
            out.append(answer)
            continue
        words = answer.split()
        keep = int(math.floor(len(words) * tokens / max(total, 1)))
        out.append(" ".join(words[:keep]))
    return _gather(out, pair)


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
        fast = _cumulative_pick(df["onboard_stage_confidence"], generated_stages)
        if fast is not None:
            return fast
        column = df["onboard_stage_confidence"].to_numpy(dtype=object)
        for i, values in enumerate(column):
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


def _cumulative_pick(column, generated_stages: int | None) -> np.ndarray | None:
    """:func:`stage_confidence`'s ``"stage-confidence"`` values in arrays: every row's
    list flattened once, then one index per row (value ``k`` of a row, ``k`` the stages
    generated capped by the row's length; 0 for an empty row).  None when a row is not
    a plain list or array of numbers (the row-by-row loop handles it)."""
    found = flat_and_lengths(column)
    if found is None:
        return None
    flat, lengths = found
    k = lengths if generated_stages is None else np.minimum(generated_stages, lengths)
    starts = np.cumsum(lengths) - lengths
    out = np.zeros(len(column))
    has = lengths > 0
    out[has] = flat[starts[has] + np.maximum(k[has], 1) - 1]
    return out


def _gather(values: list, codes: np.ndarray) -> list:
    """``[values[c] for c in codes]``, in C."""
    return np.fromiter(values, dtype=object, count=len(values))[codes].tolist()


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
            if not len(df):
                return np.zeros((0, self.feature_dim))
            try:  # one flat array of every row's numbers (rows of equal length)
                return matrix(df["features"], dtype=float)
            except ValueError:
                return np.stack([np.asarray(v, dtype=float) for v in df["features"]])
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
        parts = [] if self.variant == "g-prime" else [base.astype(np.float32)]
        width = base.shape[1]
        for index, k in enumerate(self._answer_stages()):
            # written into one float32 array (the values of a float64 concatenation
            # rounded to float32, without it)
            extra = self.extra(df, index, k)
            x = np.empty((len(df), width + EMBED_DIM + extra.shape[1]), dtype=np.float32)
            x[:, :width] = base
            x[:, width:width + EMBED_DIM] = embed_texts(self.answers(df, k))
            x[:, width + EMBED_DIM:] = extra
            parts.append(x)
        return parts
