"""Recorded VLM predictions -> traces.

Public benchmark runs left per-sample answers in GitHub repositories.  Each
converter here reads one set of those files **from a folder you pass** (the
original repository files; the project never looks for them by itself), joins
the two models' answers sample by sample, scores them with
:mod:`simulator.inference.metrics` and returns a
:class:`~simulator.inference.traces.Trace`; :func:`convert` writes it.
The traces built this way ship in ``models/traces/`` (``PROVENANCE.md``
there lists sources, commits, licences and the measured accuracies).

======================================  ======================  ===================  ========
converter                               onboard                 ground               samples
======================================  ======================  ===================  ========
``ucm-llava15-7b-vs-geochat-7b``        LLaVA-1.5-7B            GeoChat-7B           2,100
``aid-llava15-7b-vs-geochat-7b``        LLaVA-1.5-7B            GeoChat-7B           3,000
``vqav2-qwen2vl-2b-vs-7b``              Qwen2-VL-2B-Instruct    Qwen2-VL-7B-Instr.   1,000
``rsvqa-lr-earthdial-vs-geochat``       EarthDial (4B)          GeoChat-7B           10,004
``choice-qwen2vl-7b``                   (single model)          Qwen2-VL-7B-Instr.   440
``pope-llava15-7b-vs-13b``              LLaVA-1.5-7B            LLaVA-1.5-13B        5,712
``mme-llava15-7b-vs-13b``               LLaVA-1.5-7B            LLaVA-1.5-13B        2,366
======================================  ======================  ===================  ========

Finding the files
-----------------
Each converter lists the file names it expects (``CONVERTERS[name][2]``).  A
file is taken from ``input_dir/<name>`` if it is there, else found by name
anywhere below ``input_dir`` -- so both a checkout of the source repository and
a flat folder of the files work.  Where two sources use one file name
(``llava-v1.5-7b.jsonl`` for POPE and for MME) the folder must name the
benchmark (a ``pope`` or ``mme`` folder in the path).

What every trace records
------------------------
* **scores** by the benchmark's own rule, so the published accuracies come
  out exactly (see each converter);
* ``answer_similarity`` -- 1.0 when the two models' answers agree after the
  task's normalisation, else 0.0 (the one-hot target of the paper's Eq. 1, as
  in the synthetic generator);
* **image sizes and bytes** from the dataset specification, *nominal* where
  images vary, *measured* where the image file is at hand (CHOICE); the basis
  is in the metadata (``image_size_basis``);
* **token counts** estimated from text (no tokenizer is available offline):
  :func:`estimate_tokens` of the answer plus one end-of-sequence token for
  the output; of the prompt text the model received plus the onboard model's
  chat template (:data:`CHAT_TEMPLATE_TOKENS`) for ``prompt_tokens``.  Visual
  tokens are not included: the simulator adds them from the image size
  (:mod:`simulator.compute`);
* columns that were not recorded are missing, never invented: no source has
  token probabilities, wall times or image features.  The UCM/AID traces carry
  a real per-sample *agreement* signal as ``onboard_confidence`` instead.

Extra columns (beyond the trace schema): ``image_id`` (the dataset's image
file, for joining real images), ``category`` (question type where the source
has one), and per source ``second_opinion_answer``, ``human_answers``,
``join_certain``, ``image_size_basis``.

Example (a tiny hand-made POPE folder)::

    >>> import json, tempfile
    >>> folder = Path(tempfile.mkdtemp()) / "pope"
    >>> folder.mkdir()
    >>> q = {"question_id": 1, "image": "COCO_val2014_000000000042.jpg",
    ...      "text": "Is there a dog in the image?\\nAnswer the question using a single word or phrase.",
    ...      "category": "random"}
    >>> _ = (folder / "llava_pope_test.jsonl").write_text(json.dumps(q) + "\\n")
    >>> for model, text in (("7b", "No"), ("13b", "Yes")):
    ...     _ = (folder / f"llava-v1.5-{model}.jsonl").write_text(json.dumps({"question_id": 1, "text": text}) + "\\n")
    >>> for cat, lines in (("adversarial", []), ("popular", []), ("random", [
    ...         {"question_id": 1, "image": q["image"], "text": "Is there a dog in the image?", "label": "yes"}])):
    ...     _ = (folder / f"coco_pope_{cat}.json").write_text("".join(json.dumps(x) + "\\n" for x in lines))
    >>> t = build("pope-llava15-7b-vs-13b", folder)
    >>> t.table[["sample_id", "onboard_score", "ground_score", "reference_answer"]].values.tolist()
    [['pope-1', 0.0, 1.0, 'yes']]

Layout
------
One module per source: :mod:`.scenes` (UC Merced and AID, one GeoChat-Bench
format), :mod:`.vqav2`, :mod:`.rsvqa`, :mod:`.choice`, :mod:`.pope`,
:mod:`.mme`; what they share (token estimates, image specifications, file
reading, the trace table) is in :mod:`.common`.  This package re-exports the
public names and holds the registry (:data:`CONVERTERS`, :func:`build`,
:func:`convert`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simulator.errors import InputError, lookup
from simulator.inference.traces import Trace, write_trace

from .choice import convert_choice
from .common import (CHAT_TEMPLATE_TOKENS, CONVERTER_VERSION, IMAGE_SPECS, JPEG_BYTES_PER_PX,
                     TIFF_256_BYTES, ImageSpec, estimate_tokens, output_tokens, prompt_tokens,
                     summarise)
from .mme import MME_EXPECTED, convert_mme
from .pope import POPE_EXPECTED, convert_pope
from .rsvqa import _RSVQA_FILES, align_rsvqa, convert_rsvqa_lr
from .scenes import _SCENE_FILES, convert_aid, convert_ucm
from .vqav2 import _VQAV2_FILES, convert_vqav2

__all__ = [
    "CHAT_TEMPLATE_TOKENS", "CONVERTERS", "CONVERTER_VERSION", "IMAGE_SPECS", "JPEG_BYTES_PER_PX",
    "TIFF_256_BYTES", "ImageSpec", "align_rsvqa", "build", "convert", "convert_aid",
    "convert_choice", "convert_mme", "convert_pope", "convert_rsvqa_lr", "convert_ucm",
    "convert_vqav2", "estimate_tokens", "output_tokens", "prompt_tokens", "summarise",
]

# --------------------------------------------------------------------------- registry

#: name -> (builder(input_dir, **options) -> Trace, description, expected files).
CONVERTERS: dict[str, tuple[Callable[..., Trace], str, tuple[str, ...]]] = {
    "ucm-llava15-7b-vs-geochat-7b": (
        convert_ucm,
        ("UC Merced scene classification (GeoChat-Bench, 2,100): LLaVA-1.5-7B vs GeoChat-7B "
         "(+ LLaVA-1.6 agreement as onboard_confidence) [whu-pzhang/piechat]"),
        _SCENE_FILES["ucm"],
    ),
    "aid-llava15-7b-vs-geochat-7b": (
        convert_aid,
        ("AID scene classification (GeoChat-Bench, 3,000): LLaVA-1.5-7B vs GeoChat-7B "
         "(+ LLaVA-1.6 agreement as onboard_confidence) [whu-pzhang/piechat]"),
        _SCENE_FILES["aid"],
    ),
    "vqav2-qwen2vl-2b-vs-7b": (
        convert_vqav2,
        ("VQAv2 val (1,000): Qwen2-VL-2B vs Qwen2-VL-7B, VQA accuracy "
         "[duongtruongbinh/Improve_ViVQA-X_baseline]"),
        _VQAV2_FILES,
    ),
    "rsvqa-lr-earthdial-vs-geochat": (
        convert_rsvqa_lr,
        ("RSVQA-LR (10,004): EarthDial vs GeoChat-7B, APPROXIMATE join "
         "[hiyamdebary/EarthDial + whu-pzhang/piechat]"),
        _RSVQA_FILES,
    ),
    "choice-qwen2vl-7b": (
        convert_choice,
        ("CHOICE remote-sensing MCQ (440): Qwen2-VL-7B only, SINGLE-MODEL trace; image sizes "
         "measured where images are present [ShawnAn-WHU/CHOICE]"),
        ("CHOICE_output/qwen2_vl_7b_instruct/<task>/<subtask>/<name>.json (22 files, any layout)",
         "optional: CHOICE_subset/<image_path> images"),
    ),
    "pope-llava15-7b-vs-13b": (
        convert_pope,
        ("POPE yes/no (5,712): LLaVA-1.5-7B vs LLaVA-1.5-13B "
         "[haotian-liu/LLaVA + Haoming2000/VLM-Benchmarks]"),
        POPE_EXPECTED,
    ),
    "mme-llava15-7b-vs-13b": (
        convert_mme,
        ("MME yes/no (2,366): LLaVA-1.5-7B vs LLaVA-1.5-13B "
         "[haotian-liu/LLaVA + Haoming2000/VLM-Benchmarks]"),
        MME_EXPECTED,
    ),
}


def build(name: str, input_dir: str | os.PathLike, **options: Any) -> Trace:
    """The trace of converter ``name`` from the files under ``input_dir`` (not written)."""
    builder = lookup(CONVERTERS, name, "traces convert", "converter")[0]
    folder = Path(input_dir)
    if not folder.is_dir():
        raise InputError(f"converter {name}: input folder {folder} does not exist; "
                         "expected the folder holding the source's prediction files")
    return builder(folder, **options)


def convert(name: str, input_dir: str | os.PathLike, out_dir: str | os.PathLike,
            **options: Any) -> list[Path]:
    """Build converter ``name``'s trace from ``input_dir`` and write ``out_dir/<name>.parquet`` (+ .json).

    Returns the written ``.parquet`` paths.  ``options`` go to the converter
    (``images_dir`` for ``choice-qwen2vl-7b``).
    """
    trace = build(name, input_dir, **options)
    folder = Path(out_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create output folder {folder}: {exc.strerror or exc}") from None
    return [write_trace(trace, folder / f"{trace.name}.parquet")]
