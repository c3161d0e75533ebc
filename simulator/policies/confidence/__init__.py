"""The progressive confidence network g̃ of SpaceVerse (paper §3.1, Fig. 6, Eq. 1).

g̃ estimates, at each decision point, how similar the onboard model's answer
will be to the ground model's: ``Simi(y^s, y^g)`` in [0, 1].  A low estimate
means the onboard answer is unreliable and the sample should be offloaded.

Modules
-------
===============  ==================================================================
``network``      the network :class:`ConfidenceNet` (torch, built on first use), its
                 weights' shapes and checks, and :func:`forward_numpy`, the forward
                 pass in numpy that decisions use
``features``     the stage inputs: :class:`FeatureSpec` (``V(x)`` and its
                 fallbacks, the partial answers ``A_i``, their token-probability
                 statistics ``p(A)`` and agreement ``a(A)``), the ablations g, g′
``target``       the target of Eq. 1, ``Simi(y^s, y^g)`` (:func:`similarity_target`),
                 and :func:`auroc`
``training``     Eq. 1 (:func:`eq1_loss`) and :func:`train_confidence`
``checkpoints``  :class:`TrainedConfidence`: applying a trained network, its
                 ``.pt`` / ``.json`` files, read without torch
``command``      the training pool (:func:`train_split`), ``spaceverse train
                 confidence`` (:func:`train_command`) and :func:`content_digest`
===============  ==================================================================

This package holds the text embeddings ``e(A)`` itself (below).  Every name of
the modules above is importable from ``simulator.policies.confidence``.

Text embeddings (:func:`embed_texts`)
-------------------------------------
``e(A)`` and a question's embedding are all-MiniLM-L6-v2 sentence embeddings
(384-d, L2-normalised; the model of
:func:`simulator.inference.metrics.semantic_similarity`).  MiniLM embeddings are cached
per text within the process and on disk (keyed by the model's identity and the
text) and computed in groups of equal token length, so an embedding does not
depend on which other texts were embedded with it; the model is loaded lazily,
on the first text that no cache holds.  The process cache is this package's
``_EMBED_CACHE`` (tests replace it), which is why :func:`embed_texts` is defined
here rather than in a module of its own; the modules that embed text import it
from the package, so it is defined before they are imported.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: Width of the MiniLM sentence embedding e(A).
EMBED_DIM = 384

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
    the same whatever else is embedded alongside it.  Each distinct text is looked up
    once and its row copied to every place it occurs.
    """
    from .distinct import distinct_texts

    codes, distinct = distinct_texts(texts, none="")
    new = sorted({t for t in distinct if t.strip() and t not in _EMBED_CACHE})
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
    table = np.zeros((len(distinct), EMBED_DIM), dtype=np.float32)
    for i, t in enumerate(distinct):
        if t.strip():
            table[i] = _EMBED_CACHE[t]
    return table[codes] if len(codes) else np.zeros((0, EMBED_DIM), dtype=np.float32)


# --------------------------------------------------------------------------- the modules
# Imported after embed_texts, which features and target import from this package; the
# private names are those other modules and the tests use at this path.

from .checkpoints import (FORMAT_VERSION, _STORAGE_DTYPES, TrainedConfidence,  # noqa: E402, F401
                          _atomic_write, _stem, read_state_dict)
from .command import (MIN_TRAIN_ROWS, content_digest, default_checkpoint,  # noqa: E402, F401
                      train_command, train_split)
from .features import (AGREEMENT_DIM, BOX_AGREEMENT_IOU, IMAGE_FACTS,  # noqa: E402, F401
                       NO_FEATURES_QUESTION, NO_FEATURES_SIZE, TOKPROB_DIM, VARIANTS,
                       FeatureSpec, _logit, answer_complete, answers_agree, partial_answers,
                       stage_confidence)
from .network import (_check_architecture, _net_class, check_weights,  # noqa: E402, F401
                      forward_numpy, weight_shapes)
from .target import (DEFAULT_TARGET, SHORT_ANSWER_WORDS, TARGETS, _box_iou,  # noqa: E402, F401
                     _check_target, auroc, minilm_cosine, similarity_target)
from .training import TRAIN_DEFAULTS, _check_int, eq1_loss, train_confidence  # noqa: E402, F401


def __getattr__(name: str) -> Any:
    if name == "ConfidenceNet":  # the torch module, defined when first asked for
        cls = _net_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AGREEMENT_DIM", "BOX_AGREEMENT_IOU", "DEFAULT_TARGET", "EMBED_DIM", "FORMAT_VERSION",
    "IMAGE_FACTS", "MIN_TRAIN_ROWS", "NO_FEATURES_QUESTION", "NO_FEATURES_SIZE",
    "SHORT_ANSWER_WORDS", "TARGETS", "TOKPROB_DIM", "TRAIN_DEFAULTS", "VARIANTS",
    "FeatureSpec", "TrainedConfidence", "answer_complete", "answers_agree",
    "auroc", "check_weights", "content_digest", "default_checkpoint", "embed_texts",
    "eq1_loss", "forward_numpy", "minilm_cosine", "partial_answers", "read_state_dict",
    "similarity_target", "stage_confidence", "train_command", "train_confidence",
    "train_split", "weight_shapes",
]
