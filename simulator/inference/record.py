"""Record a real inference trace: run the onboard and ground VLMs on every sample.

The simulator replays traces (:class:`~simulator.inference.cached.CachedBackend`);
this module makes real ones.  :func:`record_trace` runs both
:class:`~simulator.inference.transformers_backend.QwenVLBackend` models on each
``(sample_id, image, prompt, reference, task)`` and fills every column of the
trace schema (:mod:`simulator.inference.traces`):

=========================  ==================================================
column                     recorded as
=========================  ==================================================
``image_width_px/height``  the image as given (before the VLM's resizing)
``image_bytes``            the sample's byte count if it carries one, else the
                           file's size for an image path, else the image
                           encoded as PNG (lossless: what a satellite would
                           store without a codec)
``prompt_tokens``          text tokens of the onboard model's templated prompt
``*_answer``               greedy answers
``*_score``                ``scorer(task, answer, reference)``, in [0, 1]
``*_output_tokens``        generated tokens, an ending end-of-sequence included
``onboard_confidence``     mean probability of the onboard answer's tokens
``features``               ``V(x)``: mean visual token of the onboard model
``answer_similarity``      token-level F1 of the two answers (:func:`token_f1`)
``*_wall_s``               measured encode + prefill + decode seconds
=========================  ==================================================

and, beyond the schema: ``onboard_stage_answers`` (list of the partial answers
``A_i`` after each stage of ``stage_tokens`` tokens), ``onboard_stage_probs``
(mean token probability of each stage), ``onboard_stage_seconds``,
``visual_tokens``, and per-phase seconds ``{onboard,ground}_{encode,prefill,decode}_s``.

``answer_similarity`` is the paper's training target ``Simi(y^s, y^g)``
(Eq. 1).  Token F1 is lexical (``"two"`` vs ``"2"`` scores 0); a semantic
similarity belongs to a separate step that can rewrite the column.

The trace is returned, not written; save it with
:func:`~simulator.inference.traces.write_trace`.  Timings are real but taken
on the recording machine, which the metadata names (``devices``).
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
import string
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulator.errors import InputError
from simulator.inference.traces import Trace
from simulator.inference.transformers_backend import QwenVLBackend, as_rgb

log = logging.getLogger(__name__)

Scorer = Callable[[str, str, str], float]

_PUNCT = re.compile(f"[{re.escape(string.punctuation)}]")


def normalize_answer(text: str) -> list[str]:
    """Lower-cased words with punctuation removed.

    >>> normalize_answer("Two ships, maybe.")
    ['two', 'ships', 'maybe']
    """
    return _PUNCT.sub(" ", str(text).lower()).split()


def token_f1(a: str, b: str) -> float:
    """Token-level F1 of two answers (bag of normalised words); 1.0 if both are empty.

    >>> token_f1("two ships", "Two ships.")
    1.0
    >>> round(token_f1("two large ships", "two ships"), 3)
    0.8
    >>> token_f1("yes", "no")
    0.0
    """
    ta, tb = normalize_answer(a), normalize_answer(b)
    if not ta and not tb:
        return 1.0
    common = sum((Counter(ta) & Counter(tb)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(ta), common / len(tb)
    return 2 * precision * recall / (precision + recall)


def exact_match(task: str, answer: str, reference: str) -> float:
    """1.0 if the normalised answer equals the normalised reference, else 0.0 (any task).

    >>> exact_match("vqa", "Yes.", "yes")
    1.0
    """
    return float(normalize_answer(answer) == normalize_answer(reference))


def _unpack(index: int, sample: Any) -> tuple[str, Any, str, str, str, int | None]:
    """``(sample_id, image, prompt, reference, task, image_bytes or None)`` from a tuple or mapping."""
    keys = ("sample_id", "image", "prompt", "reference", "task", "image_bytes")
    if isinstance(sample, dict):
        missing = [k for k in keys[:5] if k not in sample]
        if missing:
            raise InputError(f"sample {index}: missing key(s) {', '.join(missing)}; expected {', '.join(keys[:5])}"
                             " (and optionally image_bytes)")
        values = [sample.get(k) for k in keys]
    elif isinstance(sample, (tuple, list)) and len(sample) in (5, 6):
        values = list(sample) + [None] * (6 - len(sample))
    else:
        raise InputError(
            f"sample {index}: got {type(sample).__name__}; expected "
            "(sample_id, image, prompt, reference, task[, image_bytes])"
        )
    sid, image, prompt, reference, task, nbytes = values
    if not isinstance(prompt, str) or not isinstance(task, str):
        raise InputError(f"sample {index} ({sid!r}): prompt and task must be text")
    if nbytes is not None and (isinstance(nbytes, bool) or not isinstance(nbytes, (int, np.integer)) or nbytes < 0):
        raise InputError(f"sample {index} ({sid!r}): image_bytes={nbytes!r}; expected a whole number >= 0")
    return str(sid), image, prompt, "" if reference is None else str(reference), task, nbytes


def image_size_bytes(image: Any, given: int | None = None) -> int:
    """Bytes of the image as stored: ``given``, else the file's size, else its PNG encoding."""
    if given is not None:
        return int(given)
    if isinstance(image, (str, os.PathLike)):
        return Path(image).stat().st_size
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return len(buffer.getvalue())


def _score(scorer: Scorer, task: str, answer: str, reference: str, sid: str, side: str) -> float:
    value = scorer(task, answer, reference)
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise InputError(f"scorer returned {value!r} for sample {sid!r} ({side}); expected a number in [0, 1]") from None
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise InputError(
            f"scorer returned {value!r} for sample {sid!r} ({side}); expected a number in [0, 1]"
        )
    return value


def _cumulative_means(stages) -> list[float]:
    """Per stage, the mean probability of all tokens generated so far (in [0, 1])."""
    out, total, count = [], 0.0, 0
    for stage in stages:
        total += float(np.sum(stage.token_probs))
        count += len(stage.token_probs)
        out.append(min(1.0, max(0.0, total / count)) if count else 0.0)
    return out


def record_trace(
    onboard: QwenVLBackend,
    ground: QwenVLBackend,
    samples: Iterable,
    *,
    stage_tokens: int,
    scorer: Scorer = exact_match,
    name: str,
    source: str,
    licence: str = "unknown",
    notes: str = "",
) -> Trace:
    """Run ``onboard`` (in stages of ``stage_tokens``) and ``ground`` on every sample; return the trace.

    ``samples`` yields ``(sample_id, image, prompt, reference, task)`` tuples
    (optionally a sixth item, the stored image's byte count) or mappings with
    those keys; ``image`` is a PIL image or an image file path.  ``scorer``
    maps ``(task, answer, reference)`` to [0, 1] (default :func:`exact_match`).
    ``source`` cites the data set, ``licence`` is its licence.
    """
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    for index, sample in enumerate(samples):
        sid, image, prompt, reference, task, nbytes = _unpack(index, sample)
        pil = as_rgb(image)  # a PIL image or a readable image file, or InputError
        nbytes = image_size_bytes(image, nbytes)
        on = onboard.generate(pil, prompt, stage_tokens=stage_tokens)
        gr = ground.generate(pil, prompt)
        if gr.prompt_tokens != on.prompt_tokens:
            log.debug("sample %s: ground prompt has %d tokens, onboard %d (onboard recorded)",
                      sid, gr.prompt_tokens, on.prompt_tokens)
        rows.append({
            "sample_id": sid,
            "task": task,
            "image_width_px": pil.width,
            "image_height_px": pil.height,
            "image_bytes": nbytes,
            "prompt_tokens": on.prompt_tokens,
            "onboard_answer": on.answer,
            "ground_answer": gr.answer,
            "onboard_score": _score(scorer, task, on.answer, reference, sid, "onboard"),
            "ground_score": _score(scorer, task, gr.answer, reference, sid, "ground"),
            "onboard_output_tokens": on.output_tokens,
            "ground_output_tokens": gr.output_tokens,
            "question": prompt,
            "reference_answer": reference,
            "onboard_confidence": min(1.0, max(0.0, on.mean_token_prob)),
            "features": on.features.astype(np.float32),
            "answer_similarity": token_f1(on.answer, gr.answer),
            "onboard_wall_s": on.wall_s,
            "ground_wall_s": gr.wall_s,
            "onboard_stage_answers": [s.text for s in on.stages],
            "onboard_stage_probs": [s.mean_prob for s in on.stages],
            # mean probability of every token generated up to the end of each stage
            "onboard_stage_confidence": _cumulative_means(on.stages),
            "ground_confidence": min(1.0, max(0.0, gr.mean_token_prob)),
            "onboard_stage_seconds": [s.seconds for s in on.stages],
            "visual_tokens": on.visual_tokens,
            "onboard_encode_s": on.encode_s,
            "onboard_prefill_s": on.prefill_s,
            "onboard_decode_s": on.decode_s,
            "ground_encode_s": gr.encode_s,
            "ground_prefill_s": gr.prefill_s,
            "ground_decode_s": gr.decode_s,
        })
        log.debug("recorded sample %s: onboard %r (%.2f s), ground %r (%.2f s)",
                  sid, on.answer, on.wall_s, gr.answer, gr.wall_s)
    if not rows:
        raise InputError("no samples to record; expected at least one (sample_id, image, prompt, reference, task)")
    table = pd.DataFrame(rows)
    for column in ("image_width_px", "image_height_px", "image_bytes", "prompt_tokens",
                   "onboard_output_tokens", "ground_output_tokens", "visual_tokens"):
        table[column] = table[column].astype(np.int64)
    tasks = sorted(set(table["task"]))
    meta = {
        "name": name,
        "source": source,
        "models": {"onboard": onboard.model_dir.name, "ground": ground.model_dir.name},
        "task": tasks[0] if len(tasks) == 1 else "mixed",
        "licence": licence,
        "synthetic": False,
        "device": onboard.device_name,
        "devices": {"onboard": onboard.device_name, "ground": ground.device_name},
        "dtypes": {"onboard": str(onboard.dtype).removeprefix("torch."),
                   "ground": str(ground.dtype).removeprefix("torch.")},
        "stage_tokens": int(stage_tokens),
        "max_new_tokens": {"onboard": onboard.max_new_tokens, "ground": ground.max_new_tokens},
        "timings": "measured: wall-clock encode + prefill + decode seconds on the devices named, "
                   "preprocessing excluded",
        "decoding": "greedy, no repetition penalty",
        "answer_similarity": "token-level F1 of onboard vs ground answers (lower-cased, punctuation removed)",
        "onboard_confidence": "mean probability of the onboard answer's tokens",
        "features": "V(x): mean of the onboard vision tower's visual tokens",
        "notes": notes,
    }
    trace = Trace(table, meta)
    trace.validate()
    log.info("recorded %d samples with %s / %s in %.1f s", len(table), onboard.name, ground.name,
             time.perf_counter() - started)
    return trace
