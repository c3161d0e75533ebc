"""The target of Eq. 1, ``s = Simi(y^s, y^g)``, and the AUROC of a confidence.

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
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from simulator.errors import InputError

from . import embed_texts

#: Answers of at most this many words compare by normalised equality (Eq. 1 target).
SHORT_ANSWER_WORDS = 3
#: Values of ``target`` (see the module docstring); the first is the default.
TARGETS = ("agreement", "minilm")
#: The paper's Simi: "semantic similarity in question answering or equality in
#: classification" (§3.1.1) -- see the module docstring for why not MiniLM everywhere.
DEFAULT_TARGET = "agreement"


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
